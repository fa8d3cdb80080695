package dev.berth.it;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import com.fasterxml.jackson.databind.JsonNode;
import dev.berth.testkit.BerthExtension;
import dev.berth.testkit.ContainerTools;
import dev.berth.testkit.OciImages;
import dev.berth.testkit.OciLayout;
import dev.berth.testkit.OciLayout.Image;
import dev.berth.testkit.RegistryClient;
import dev.berth.testkit.RegistryClient.Response;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.util.Base64;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.RegisterExtension;

/**
 * Real clients against Berth with access control on (issue 4 §3): skopeo, podman and buildah log
 * in and push and pull (the Docker token protocol: a 401 challenge, a token from {@code
 * /service/token}, bearer requests), anonymous pulls of a public project, a refused push with a
 * clear error, and a robot account pushing into its project.
 */
class AuthIT {
  private static final String ADMIN_PASSWORD = "it-admin-password";

  @RegisterExtension
  static final BerthExtension BERTH = new BerthExtension(builder ->
      builder.env("BERTH_AUTH_ENABLED", "true").env("BERTH_ADMIN_PASSWORD", ADMIN_PASSWORD));

  private static ContainerTools tools;
  private static RegistryClient client;
  private static Path authFile;

  @BeforeAll
  static void users() {
    tools = BERTH.tools();
    client = BERTH.client();
    authFile = tools.temporaryDirectory().resolve("auth.json");
    Response created = client.post(
        "/api/v1/users",
        utf8("{\"username\":\"bob\",\"password\":\"bob-password\"}"),
        "Authorization",
        basic("admin", ADMIN_PASSWORD),
        "Content-Type",
        "application/json");
    assertThat(created.status()).as("%s", created).isEqualTo(201);
  }

  @Test
  void skopeoLogsInPushesAndPullsWithTheTokenProtocol() {
    Path source = BERTH.directory("skopeo-auth");
    Image image = OciImages.singleImage(source, "v1", 2, 401);

    tools.skopeo(
        "login",
        "--tls-verify=false",
        "--authfile",
        authFile.toString(),
        "-u",
        "admin",
        "-p",
        ADMIN_PASSWORD,
        BERTH.hostPort());
    tools.copy(
        "oci:" + source + ":v1", BERTH.docker("team/app:v1"), "--authfile", authFile.toString());

    Path back = BERTH.directory("skopeo-auth-back");
    tools.copy(
        BERTH.docker("team/app:v1"), "oci:" + back + ":v1", "--authfile", authFile.toString());
    OciLayout pulled = OciLayout.open(back);
    pulled.verifyComplete("v1");
    assertThat(pulled.readImage("v1").manifest().digest())
        .isEqualTo(image.manifest().digest());

    // Without credentials the private project is out of reach.
    assertThatThrownBy(() -> tools.copy(
            BERTH.docker("team/app:v1"),
            "oci:" + BERTH.directory("anon-back") + ":v1",
            "--src-no-creds"))
        .isInstanceOf(AssertionError.class);
  }

  @Test
  void anonymousClientsPullAPublicProject() {
    Path source = BERTH.directory("public");
    Image image = OciImages.singleImage(source, "v1", 1, 402);
    // One-component names belong to "library", public from the first start.
    tools.copy(
        "oci:" + source + ":v1",
        BERTH.docker("base:v1"),
        "--dest-creds",
        "admin:" + ADMIN_PASSWORD);

    Path back = BERTH.directory("public-back");
    tools.copy(BERTH.docker("base:v1"), "oci:" + back + ":v1", "--src-no-creds");
    assertThat(OciLayout.open(back).readImage("v1").manifest().digest())
        .isEqualTo(image.manifest().digest());
  }

  @Test
  void aPushTheUserMayNotDoFailsWithAClearError() {
    Path source = BERTH.directory("denied");
    OciImages.singleImage(source, "v1", 1, 403);
    tools.copy(
        "oci:" + source + ":v1",
        BERTH.docker("locked/app:v1"),
        "--dest-creds",
        "admin:" + ADMIN_PASSWORD);

    assertThatThrownBy(() -> tools.copy(
            "oci:" + source + ":v1",
            BERTH.docker("locked/app:v2"),
            "--dest-creds",
            "bob:bob-password"))
        .isInstanceOf(AssertionError.class)
        .hasMessageContaining("denied");
    assertThatThrownBy(() -> tools.copy(
            "oci:" + source + ":v1",
            BERTH.docker("locked/app:v2"),
            "--dest-creds",
            "bob:wrong-password"))
        .isInstanceOf(AssertionError.class)
        .hasMessageContaining("invalid username or password");
  }

  @Test
  void aRobotAccountPushesIntoItsProject() {
    Path source = BERTH.directory("robot");
    Image image = OciImages.singleImage(source, "v1", 2, 404);
    tools.copy(
        "oci:" + source + ":v1",
        BERTH.docker("ci-project/app:v0"),
        "--dest-creds",
        "admin:" + ADMIN_PASSWORD);
    Response robot = client.post(
        "/api/v1/robots",
        utf8("{\"name\":\"builder\",\"project\":\"ci-project\","
            + "\"permissions\":{\"ci-project\":[\"pull\",\"push\"]}}"),
        "Authorization",
        basic("admin", ADMIN_PASSWORD));
    assertThat(robot.status()).as("%s", robot).isEqualTo(201);
    JsonNode created = robot.json();
    String credentials =
        created.path("name").asText() + ":" + created.path("secret").asText();

    tools.copy(
        "oci:" + source + ":v1", BERTH.docker("ci-project/app:v1"), "--dest-creds", credentials);
    Path back = BERTH.directory("robot-back");
    tools.copy(
        BERTH.docker("ci-project/app:v1"), "oci:" + back + ":v1", "--src-creds", credentials);
    assertThat(OciLayout.open(back).readImage("v1").manifest().digest())
        .isEqualTo(image.manifest().digest());
  }

  @Test
  void podmanAndBuildahLogInPushAndPull() {
    Path source = BERTH.directory("podman-auth");
    OciImages.singleImage(source, "v1", 1, 405);
    Path podmanAuth = tools.temporaryDirectory().resolve("podman-auth.json");
    String imageId = lastLine(tools.podman("pull", "-q", "oci:" + source + ":v1"));
    String target = BERTH.hostPort() + "/podman-team/app:v1";
    tools.podman("tag", imageId, target);

    tools.podman(
        "login",
        "--tls-verify=false",
        "--authfile",
        podmanAuth.toString(),
        "-u",
        "admin",
        "-p",
        ADMIN_PASSWORD,
        BERTH.hostPort());
    tools.podman("push", "--tls-verify=false", "--authfile", podmanAuth.toString(), target);
    tools.podman("rmi", "--force", imageId);
    String pulled = lastLine(tools.podman(
        "pull", "-q", "--tls-verify=false", "--authfile", podmanAuth.toString(), target));
    assertThat(pulled).isEqualTo(imageId);

    tools.buildah(
        "push",
        "--tls-verify=false",
        "--creds",
        "admin:" + ADMIN_PASSWORD,
        imageId,
        BERTH.docker("podman-team/copy:v1"));
    Response manifest = client.get(
        "/v2/podman-team/copy/manifests/v1",
        "Accept",
        RegistryClient.ACCEPT_MANIFESTS,
        "Authorization",
        basic("admin", ADMIN_PASSWORD));
    assertThat(manifest.status()).as("%s", manifest).isEqualTo(200);
  }

  private static String lastLine(String output) {
    String[] lines = output.strip().split("\n");
    return lines[lines.length - 1].strip();
  }

  private static String basic(String user, String password) {
    return "Basic "
        + Base64.getEncoder()
            .encodeToString((user + ":" + password).getBytes(StandardCharsets.UTF_8));
  }

  private static byte[] utf8(String text) {
    return text.getBytes(StandardCharsets.UTF_8);
  }
}
