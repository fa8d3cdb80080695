package dev.berth.it;

import static org.assertj.core.api.Assertions.assertThat;

import com.fasterxml.jackson.databind.JsonNode;
import dev.berth.testkit.BerthExtension;
import dev.berth.testkit.ContainerTools;
import dev.berth.testkit.OciImages;
import dev.berth.testkit.OciLayout;
import dev.berth.testkit.OciLayout.Image;
import dev.berth.testkit.OciLayout.Index;
import dev.berth.testkit.RegistryClient;
import dev.berth.testkit.RegistryClient.Response;
import java.nio.file.Path;
import java.util.List;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.RegisterExtension;

/** skopeo pushes OCI layouts to Berth and pulls them back byte for byte. */
class SkopeoIT {

  @RegisterExtension
  static final BerthExtension BERTH = new BerthExtension();

  private final ContainerTools tools = BERTH.tools();
  private final RegistryClient client = BERTH.client();

  @Test
  void pushedImagePullsBackWithTheSameDigests() {
    Path source = BERTH.directory("single");
    Image image = OciImages.singleImage(source, "v1", 3, 1);

    tools.copy("oci:" + source + ":v1", BERTH.docker("skopeo/single:v1"));

    Response manifest =
        client.get("/v2/skopeo/single/manifests/v1", "Accept", RegistryClient.ACCEPT_MANIFESTS);
    assertThat(manifest.status()).as("%s", manifest).isEqualTo(200);
    assertThat(manifest.header("Docker-Content-Digest"))
        .contains(image.manifest().digest());
    assertThat(manifest.header("Content-Type")).contains(OciLayout.OCI_MANIFEST);
    assertThat(OciLayout.sha256(manifest.body())).isEqualTo(image.manifest().digest());

    Path back = BERTH.directory("single-back");
    tools.copy(BERTH.docker("skopeo/single:v1"), "oci:" + back + ":v1");
    OciLayout pulled = OciLayout.open(back);
    pulled.verifyComplete("v1");
    Image pulledImage = pulled.readImage("v1");
    assertThat(pulledImage.manifest().digest()).isEqualTo(image.manifest().digest());
    assertThat(pulledImage.config().digest()).isEqualTo(image.config().digest());
    assertThat(pulledImage.layerDigests()).isEqualTo(image.layerDigests());
  }

  @Test
  void imagesSharingLayersPushAndPullBackFromTwoRepositories() {
    Path source = BERTH.directory("shared");
    List<Image> images = OciImages.imagesSharingLayers(source, 2, 2, 2);
    Image first = images.get(0);
    Image second = images.get(1);

    tools.copy("oci:" + source + ":image-0", BERTH.docker("skopeo/shared-a:v1"));
    tools.copy("oci:" + source + ":image-1", BERTH.docker("skopeo/shared-b:v1"));
    // Same repository, second tag: skopeo finds the shared layers there already.
    tools.copy("oci:" + source + ":image-1", BERTH.docker("skopeo/shared-a:v2"));

    for (String sharedLayer : first.layerDigests().subList(0, 2)) {
      for (String repository : List.of("skopeo/shared-a", "skopeo/shared-b")) {
        Response head = client.head("/v2/" + repository + "/blobs/" + sharedLayer);
        assertThat(head.status()).as("%s", head).isEqualTo(200);
      }
    }
    Response tags = client.get("/v2/skopeo/shared-a/tags/list");
    assertThat(tags.status()).as("%s", tags).isEqualTo(200);
    assertThat(tags.json().path("tags"))
        .extracting(JsonNode::asText)
        .containsExactlyInAnyOrder("v1", "v2");

    // One layout per pull, so skopeo cannot skip blobs it already has locally.
    assertPullsBack("skopeo/shared-a:v1", first);
    assertPullsBack("skopeo/shared-b:v1", second);
    assertPullsBack("skopeo/shared-a:v2", second);
  }

  private static void assertPullsBack(String repositoryAndTag, Image expected) {
    Path back = BERTH.directory("back-" + repositoryAndTag.replaceAll("[/:]", "-"));
    BERTH.tools().copy(BERTH.docker(repositoryAndTag), "oci:" + back + ":pulled");
    OciLayout pulled = OciLayout.open(back);
    pulled.verifyComplete("pulled");
    Image image = pulled.readImage("pulled");
    assertThat(image.manifest().digest())
        .as(repositoryAndTag)
        .isEqualTo(expected.manifest().digest());
    assertThat(image.layerDigests()).as(repositoryAndTag).isEqualTo(expected.layerDigests());
  }

  @Test
  void multiPlatformIndexPushesAndPullsBackWithAll() {
    Path source = BERTH.directory("multi");
    Index index = OciImages.multiPlatformIndex(source, "multi", 3);

    tools.copy("oci:" + source + ":multi", BERTH.docker("skopeo/multi:v1"), "--all");

    Response served =
        client.get("/v2/skopeo/multi/manifests/v1", "Accept", RegistryClient.ACCEPT_MANIFESTS);
    assertThat(served.status()).as("%s", served).isEqualTo(200);
    assertThat(served.header("Content-Type")).contains(OciLayout.OCI_INDEX);
    assertThat(served.header("Docker-Content-Digest")).contains(index.index().digest());
    for (String child : index.manifestDigests()) {
      Response head = client.head(
          "/v2/skopeo/multi/manifests/" + child, "Accept", RegistryClient.ACCEPT_MANIFESTS);
      assertThat(head.status()).as("%s", head).isEqualTo(200);
      assertThat(head.header("Docker-Content-Digest")).contains(child);
    }

    Path back = BERTH.directory("multi-back");
    tools.copy(BERTH.docker("skopeo/multi:v1"), "oci:" + back + ":multi", "--all");
    OciLayout pulled = OciLayout.open(back);
    pulled.verifyComplete("multi");
    Index pulledIndex = pulled.readIndex(pulled.resolve("multi"));
    assertThat(pulledIndex.index().digest()).isEqualTo(index.index().digest());
    assertThat(pulledIndex.manifestDigests()).isEqualTo(index.manifestDigests());
    assertThat(pulledIndex.images())
        .extracting(Image::architecture)
        .containsExactly("amd64", "arm64");
    for (int i = 0; i < 2; i++) {
      assertThat(pulledIndex.images().get(i).layerDigests())
          .isEqualTo(index.images().get(i).layerDigests());
    }
  }
}
