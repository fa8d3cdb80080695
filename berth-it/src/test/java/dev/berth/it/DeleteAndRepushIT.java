package dev.berth.it;

import static org.assertj.core.api.Assertions.assertThat;

import com.fasterxml.jackson.databind.JsonNode;
import dev.berth.testkit.BerthExtension;
import dev.berth.testkit.ContainerTools;
import dev.berth.testkit.OciImages;
import dev.berth.testkit.OciLayout;
import dev.berth.testkit.OciLayout.Image;
import dev.berth.testkit.RegistryClient;
import dev.berth.testkit.RegistryClient.Response;
import java.nio.file.Path;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.RegisterExtension;

/**
 * A manifest and one of its layers are deleted over HTTP; skopeo then pushes the identical image
 * again. skopeo HEADs every blob first and skips those answering 200, so a registry that still
 * answered 200 for the deleted layer would end up serving an image it cannot deliver.
 */
class DeleteAndRepushIT {

  @RegisterExtension
  static final BerthExtension BERTH = new BerthExtension();

  private final ContainerTools tools = BERTH.tools();
  private final RegistryClient client = BERTH.client();

  @Test
  void deletedManifestAndLayerCanBePushedAgain() {
    Path source = BERTH.directory("source");
    Image image = OciImages.singleImage(source, "v1", 3, 31);
    String manifestDigest = image.manifest().digest();
    String deletedLayer = image.layers().get(1).digest();
    tools.copy("oci:" + source + ":v1", BERTH.docker("delete/first:v1"));

    Response deleteManifest = client.delete("/v2/delete/first/manifests/" + manifestDigest);
    assertThat(deleteManifest.status()).as("%s", deleteManifest).isEqualTo(202);

    Response byDigest = client.get(
        "/v2/delete/first/manifests/" + manifestDigest, "Accept", RegistryClient.ACCEPT_MANIFESTS);
    assertThat(byDigest.status()).as("%s", byDigest).isEqualTo(404);
    Response headByDigest = client.head(
        "/v2/delete/first/manifests/" + manifestDigest, "Accept", RegistryClient.ACCEPT_MANIFESTS);
    assertThat(headByDigest.status()).as("%s", headByDigest).isEqualTo(404);
    Response byTag =
        client.get("/v2/delete/first/manifests/v1", "Accept", RegistryClient.ACCEPT_MANIFESTS);
    assertThat(byTag.status())
        .as("the tag must go with its manifest: %s", byTag)
        .isEqualTo(404);
    Response tags = client.get("/v2/delete/first/tags/list");
    if (tags.status() == 200) {
      JsonNode list = tags.json().path("tags");
      assertThat(list).extracting(JsonNode::asText).doesNotContain("v1");
    } else {
      assertThat(tags.status()).as("%s", tags).isEqualTo(404);
    }

    Response deleteLayer = client.delete("/v2/delete/first/blobs/" + deletedLayer);
    assertThat(deleteLayer.status()).as("%s", deleteLayer).isEqualTo(202);
    Response headLayer = client.head("/v2/delete/first/blobs/" + deletedLayer);
    assertThat(headLayer.status()).as("%s", headLayer).isEqualTo(404);
    Response getLayer = client.get("/v2/delete/first/blobs/" + deletedLayer);
    assertThat(getLayer.status()).as("%s", getLayer).isEqualTo(404);

    tools.copy("oci:" + source + ":v1", BERTH.docker("delete/first:v1"));
    tools.copy("oci:" + source + ":v1", BERTH.docker("delete/second:v1"));

    // One layout per pull, so skopeo cannot skip blobs it already has locally.
    for (String repository : new String[] {"first", "second"}) {
      Path back = BERTH.directory("back-" + repository);
      tools.copy(BERTH.docker("delete/" + repository + ":v1"), "oci:" + back + ":v1");
      OciLayout pulled = OciLayout.open(back);
      pulled.verifyComplete("v1");
      Image pulledImage = pulled.readImage("v1");
      assertThat(pulledImage.manifest().digest()).as(repository).isEqualTo(manifestDigest);
      assertThat(pulledImage.layerDigests()).as(repository).isEqualTo(image.layerDigests());
    }
    Response headAgain = client.head("/v2/delete/first/blobs/" + deletedLayer);
    assertThat(headAgain.status()).as("%s", headAgain).isEqualTo(200);
    assertThat(headAgain.header("Content-Length"))
        .contains(Long.toString(image.layers().get(1).size()));
  }
}
