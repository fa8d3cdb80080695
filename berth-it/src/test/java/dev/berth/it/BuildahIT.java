package dev.berth.it;

import static org.assertj.core.api.Assertions.assertThat;

import dev.berth.testkit.BerthExtension;
import dev.berth.testkit.ContainerTools;
import dev.berth.testkit.OciLayout;
import dev.berth.testkit.OciLayout.Image;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.RegisterExtension;

/** buildah builds an image from scratch and pushes it to Berth. */
class BuildahIT {

  @RegisterExtension
  static final BerthExtension BERTH = new BerthExtension();

  private final ContainerTools tools = BERTH.tools();

  @Test
  void buildahBuildsFromScratchAndPushes() throws IOException {
    Path work = BERTH.directory("buildah");
    byte[] greeting =
        ("hello from buildah " + System.nanoTime() + "\n").getBytes(StandardCharsets.UTF_8);
    Path file = Files.write(work.resolve("hello.txt"), greeting);

    String container = tools.buildah("from", "scratch").strip();
    tools.buildah("add", container, file.toString(), "/hello.txt");
    tools.buildah("config", "--cmd", "/hello.txt", container);
    tools.buildah("commit", "--quiet", container, "localhost/buildah/hello:v1");
    tools.buildah("rm", container);

    Path digestFile = work.resolve("digest");
    tools.buildah(
        "push",
        "--tls-verify=false",
        "--digestfile",
        digestFile.toString(),
        "localhost/buildah/hello:v1",
        BERTH.docker("buildah/hello:v1"));
    String pushedDigest = Files.readString(digestFile).strip();
    assertThat(OciLayout.sha256(tools.rawManifest(BERTH.docker("buildah/hello:v1"))))
        .isEqualTo(pushedDigest);

    Path back = BERTH.directory("buildah-back");
    tools.copy(BERTH.docker("buildah/hello@" + pushedDigest), "oci:" + back + ":hello");
    OciLayout pulled = OciLayout.open(back);
    pulled.verifyComplete("hello");
    Image image = pulled.readImage("hello");
    assertThat(image.manifest().digest()).isEqualTo(pushedDigest);
    assertThat(image.layers()).hasSize(1);
    assertThat(pulled.readLayerFiles(image.layers().get(0)))
        .hasEntrySatisfying("hello.txt", content -> assertThat(content).isEqualTo(greeting));
  }
}
