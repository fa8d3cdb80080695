package dev.berth.it;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import com.google.cloud.tools.jib.api.Containerizer;
import com.google.cloud.tools.jib.api.Jib;
import com.google.cloud.tools.jib.api.JibContainer;
import com.google.cloud.tools.jib.api.RegistryImage;
import com.google.cloud.tools.jib.api.buildplan.AbsoluteUnixPath;
import dev.berth.testkit.BerthProcess;
import dev.berth.testkit.ContainerTools;
import dev.berth.testkit.OciLayout;
import dev.berth.testkit.TestCertificate;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * Jib pushes with credentials over HTTPS (issue 4 §3): Berth serves TLS from a test certificate
 * with access control on; Jib logs in through the token protocol and pushes, and skopeo reads
 * the image back over TLS with the same credentials. Wrong credentials fail the push.
 */
class JibTlsIT {
  private static final String PASSWORD = "jib-tls-admin-password";

  @TempDir
  static Path work;

  private static BerthProcess berth;
  private static ContainerTools tools;

  @BeforeAll
  static void start() throws Exception {
    TestCertificate certificate = TestCertificate.create(work);
    Path cert = certificate.cert();
    Path key = certificate.key();
    berth = BerthProcess.builder(work.resolve("data"))
        .env("BERTH_AUTH_ENABLED", "true")
        .env("BERTH_ADMIN_PASSWORD", PASSWORD)
        .env("BERTH_SERVER_TLS_CERT_FILE", cert.toString())
        .env("BERTH_SERVER_TLS_KEY_FILE", key.toString())
        .start();
    tools = new ContainerTools(work.resolve("tools"));
  }

  @AfterAll
  static void stop() {
    if (berth != null) {
      berth.close();
    }
    if (tools != null) {
      tools.close();
    }
  }

  @Test
  void jibPushesWithCredentialsOverHttps() throws Exception {
    Path jar = Files.writeString(work.resolve("app.txt"), "served over TLS");
    JibContainer container = Jib.fromScratch()
        .addLayer(List.of(jar), AbsoluteUnixPath.get("/app"))
        .containerize(containerizer("jib-tls/app:v1", "admin", PASSWORD));
    String digest = container.getDigest().toString();

    byte[] manifest = tools
        .skopeo(
            "inspect",
            "--raw",
            "--tls-verify=false",
            "--creds",
            "admin:" + PASSWORD,
            "docker://" + berth.hostPort() + "/jib-tls/app:v1")
        .getBytes(StandardCharsets.UTF_8);
    assertThat(OciLayout.sha256(manifest)).isEqualTo(digest);
    assertThat(berth.url()).startsWith("https://");

    assertThatThrownBy(() -> Jib.fromScratch()
            .addLayer(List.of(jar), AbsoluteUnixPath.get("/app"))
            .containerize(containerizer("jib-tls/app:v2", "admin", "wrong-password")))
        .hasMessageContaining("Unauthorized");
  }

  private static Containerizer containerizer(String repositoryAndTag, String user, String password)
      throws Exception {
    Path cache = Files.createDirectories(work.resolve("jib-cache"));
    return Containerizer.to(RegistryImage.named(berth.hostPort() + "/" + repositoryAndTag)
            .addCredential(user, password))
        // A self-signed test certificate: Jib then skips verifying it (still HTTPS).
        .setAllowInsecureRegistries(true)
        .setBaseImageLayersCache(cache.resolve("base"))
        .setApplicationLayersCache(cache.resolve("application"))
        .setToolName("berth-it");
  }
}
