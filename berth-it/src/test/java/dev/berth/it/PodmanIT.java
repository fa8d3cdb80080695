package dev.berth.it;

import static org.assertj.core.api.Assertions.assertThat;

import dev.berth.testkit.BerthExtension;
import dev.berth.testkit.ContainerTools;
import dev.berth.testkit.OciImages;
import dev.berth.testkit.OciLayout;
import dev.berth.testkit.OciLayout.Image;
import dev.berth.testkit.OciLayout.Index;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.RegisterExtension;

/** podman pushes an image from its local store to Berth and pulls it back. */
class PodmanIT {

  @RegisterExtension
  static final BerthExtension BERTH = new BerthExtension();

  private final ContainerTools tools = BERTH.tools();

  @Test
  void podmanPushThenPullBackGivesTheSameImage() throws IOException {
    Path source = BERTH.directory("podman");
    Image image = OciImages.singleImage(source, "v1", 2, 11);
    String imageId = lastLine(tools.podman("pull", "-q", "oci:" + source + ":v1"));
    assertThat("sha256:" + imageId).isEqualTo(image.config().digest());

    String target = BERTH.hostPort() + "/podman/app:v1";
    tools.podman("tag", imageId, target);
    Path digestFile = BERTH.directory("podman-out").resolve("digest");
    tools.podman("push", "--tls-verify=false", "--digestfile", digestFile.toString(), target);
    String pushedDigest = Files.readString(digestFile).strip();

    byte[] served = tools.rawManifest("docker://" + target);
    assertThat(OciLayout.sha256(served)).isEqualTo(pushedDigest);

    tools.podman("rmi", "--force", imageId);
    assertThat(tools.podman("images", "--quiet", "--no-trunc")).doesNotContain(imageId);

    String pulledId = lastLine(tools.podman("pull", "-q", "--tls-verify=false", target));
    assertThat(pulledId).isEqualTo(imageId);
    assertThat(
            tools.podman("image", "inspect", "--format", "{{.Digest}}", target).strip())
        .isEqualTo(pushedDigest);
    // Pull by digest too, the way deployments pin images.
    String byDigest = BERTH.hostPort() + "/podman/app@" + pushedDigest;
    assertThat(lastLine(tools.podman("pull", "-q", "--tls-verify=false", byDigest)))
        .isEqualTo(imageId);
  }

  @Test
  void podmanPicksItsPlatformFromAMultiPlatformIndex() {
    Path source = BERTH.directory("podman-multi");
    Index index = OciImages.multiPlatformIndex(source, "multi", 12);
    tools.copy("oci:" + source + ":multi", BERTH.docker("podman/multi:v1"), "--all");
    String reference = BERTH.hostPort() + "/podman/multi:v1";

    String amd64 = lastLine(
        tools.podman("pull", "-q", "--tls-verify=false", "--platform", "linux/amd64", reference));
    String arm64 = lastLine(
        tools.podman("pull", "-q", "--tls-verify=false", "--platform", "linux/arm64", reference));

    assertThat("sha256:" + amd64).isEqualTo(index.images().get(0).config().digest());
    assertThat("sha256:" + arm64).isEqualTo(index.images().get(1).config().digest());
  }

  private static String lastLine(String output) {
    String[] lines = output.strip().split("\n");
    return lines[lines.length - 1].strip();
  }
}
