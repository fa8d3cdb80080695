package dev.berth.it;

import static org.assertj.core.api.Assertions.assertThat;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.google.cloud.tools.jib.api.Containerizer;
import com.google.cloud.tools.jib.api.Jib;
import com.google.cloud.tools.jib.api.JibContainer;
import com.google.cloud.tools.jib.api.JibContainerBuilder;
import com.google.cloud.tools.jib.api.RegistryImage;
import com.google.cloud.tools.jib.api.buildplan.AbsoluteUnixPath;
import com.google.cloud.tools.jib.api.buildplan.ImageFormat;
import dev.berth.testkit.BerthExtension;
import dev.berth.testkit.OciImages;
import dev.berth.testkit.OciLayout;
import dev.berth.testkit.OciLayout.Image;
import java.io.IOException;
import java.io.OutputStream;
import java.io.UncheckedIOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.jar.Attributes;
import java.util.jar.JarEntry;
import java.util.jar.JarOutputStream;
import java.util.jar.Manifest;
import javax.tools.JavaCompiler;
import javax.tools.ToolProvider;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.RegisterExtension;

/** Jib (the library behind the Maven and Gradle plugins) pushes Java images to Berth. */
class JibIT {

  @RegisterExtension
  static final BerthExtension BERTH = new BerthExtension();

  private static Path jar;

  @BeforeAll
  static void buildApplicationJar() throws Exception {
    Path work = BERTH.directory("jib-app");
    Path sourceFile = Files.writeString(
        work.resolve("Hello.java"),
        "public class Hello { public static void main(String[] a) {"
            + " System.out.println(\"hello from berth\"); } }");
    JavaCompiler compiler = ToolProvider.getSystemJavaCompiler();
    int status = compiler.run(
        null, null, null, "--release", "17", "-d", work.toString(), sourceFile.toString());
    assertThat(status).as("javac exit status").isZero();

    Manifest manifest = new Manifest();
    manifest.getMainAttributes().put(Attributes.Name.MANIFEST_VERSION, "1.0");
    manifest.getMainAttributes().put(Attributes.Name.MAIN_CLASS, "Hello");
    jar = work.resolve("hello.jar");
    try (OutputStream file = Files.newOutputStream(jar);
        JarOutputStream out = new JarOutputStream(file, manifest)) {
      out.putNextEntry(new JarEntry("Hello.class"));
      out.write(Files.readAllBytes(work.resolve("Hello.class")));
      out.closeEntry();
    }
  }

  @Test
  void jibPushesFromScratchInDockerFormat() throws Exception {
    JibContainer container = Jib.fromScratch()
        .addLayer(List.of(jar), AbsoluteUnixPath.get("/app"))
        .setEntrypoint("java", "-jar", "/app/hello.jar")
        .containerize(containerizer("jib/scratch:v1"));

    String digest = container.getDigest().toString();
    byte[] served = BERTH.tools().rawManifest(BERTH.docker("jib/scratch:v1"));
    assertThat(OciLayout.sha256(served)).isEqualTo(digest);
    assertThat(new String(served, StandardCharsets.UTF_8)).contains(OciLayout.DOCKER_MANIFEST);

    // Pulled back with skopeo's dir: transport, which keeps the Docker manifest as it is (an OCI
    // layout would make skopeo convert it).
    Path back = BERTH.directory("jib-scratch-back");
    BERTH.tools().copy(BERTH.docker("jib/scratch@" + digest), "dir:" + back);
    byte[] manifest = Files.readAllBytes(back.resolve("manifest.json"));
    assertThat(OciLayout.sha256(manifest)).isEqualTo(digest);
    JsonNode json = new ObjectMapper().readTree(manifest);
    String config = json.path("config").path("digest").asText();
    assertThat(config).isEqualTo(container.getImageId().toString());
    assertThat(OciLayout.sha256(dirBlob(back, config))).isEqualTo(config);
    assertThat(json.path("layers")).hasSize(1);
    String layer = json.path("layers").get(0).path("digest").asText();
    byte[] layerBytes = dirBlob(back, layer);
    assertThat(OciLayout.sha256(layerBytes)).isEqualTo(layer);
    assertThat(OciLayout.tarFiles(layerBytes))
        .hasEntrySatisfying(
            "app/hello.jar", content -> assertThat(content).isEqualTo(readAllBytes(jar)));
  }

  @Test
  void jibBuildsOnABaseImageStoredInBerth() throws Exception {
    Path baseLayout = BERTH.directory("jib-base");
    Image base = OciImages.singleImage(baseLayout, "base", 2, 21);
    BERTH.tools().copy("oci:" + baseLayout + ":base", BERTH.docker("jib/base:v1"));

    JibContainerBuilder builder = Jib.from(RegistryImage.named(BERTH.hostPort() + "/jib/base:v1"))
        .addLayer(List.of(jar), AbsoluteUnixPath.get("/app"))
        .setEntrypoint("java", "-jar", "/app/hello.jar")
        .setFormat(ImageFormat.OCI);
    JibContainer container = builder.containerize(containerizer("jib/app:v1"));
    String digest = container.getDigest().toString();

    Path back = BERTH.directory("jib-app-back");
    BERTH.tools().copy(BERTH.docker("jib/app:v1"), "oci:" + back + ":app");
    OciLayout pulled = OciLayout.open(back);
    pulled.verifyComplete("app");
    Image image = pulled.readImage("app");
    assertThat(image.manifest().digest()).isEqualTo(digest);
    assertThat(image.config().digest()).isEqualTo(container.getImageId().toString());
    assertThat(image.layerDigests())
        .hasSize(3)
        .startsWith(base.layerDigests().toArray(String[]::new));
    assertThat(pulled.readLayerFiles(image.layers().get(2)))
        .hasEntrySatisfying(
            "app/hello.jar", content -> assertThat(content).isEqualTo(readAllBytes(jar)));
  }

  private static Containerizer containerizer(String repositoryAndTag) throws Exception {
    Path cache = BERTH.directory("jib-cache");
    return Containerizer.to(RegistryImage.named(BERTH.hostPort() + "/" + repositoryAndTag))
        .setAllowInsecureRegistries(true)
        .setBaseImageLayersCache(cache.resolve("base"))
        .setApplicationLayersCache(cache.resolve("application"))
        .setToolName("berth-it");
  }

  /** A blob in a skopeo {@code dir:} directory, where files are named by the digest's hex part. */
  private static byte[] dirBlob(Path directory, String digest) throws IOException {
    return Files.readAllBytes(directory.resolve(digest.substring("sha256:".length())));
  }

  private static byte[] readAllBytes(Path file) {
    try {
      return Files.readAllBytes(file);
    } catch (IOException e) {
      throw new UncheckedIOException(e);
    }
  }
}
