package dev.berth.it;

import static org.assertj.core.api.Assertions.assertThat;

import dev.berth.testkit.BerthExtension;
import dev.berth.testkit.OciImages;
import dev.berth.testkit.OciLayout;
import dev.berth.testkit.OciLayout.Blob;
import dev.berth.testkit.OciLayout.Image;
import dev.berth.testkit.RegistryClient.Response;
import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.channels.FileChannel;
import java.nio.file.Path;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.RegisterExtension;

/** An image with a 256 MiB layer: pushed once by skopeo, pulled back whole and read by Range. */
class LargeLayerIT {

  private static final long LAYER_BYTES = 256L << 20;

  @RegisterExtension
  static final BerthExtension BERTH = new BerthExtension();

  private static Path source;
  private static Image image;

  @BeforeAll
  static void pushLargeImage() {
    source = BERTH.directory("large");
    image = OciImages.largeLayerImage(source, "large", LAYER_BYTES, 7);
    BERTH.tools().copy("oci:" + source + ":large", BERTH.docker("large/image:v1"));
  }

  @Test
  void largeLayerPullsBackIntact() {
    Blob large = image.layers().get(1);
    Response head = BERTH.client().head("/v2/large/image/blobs/" + large.digest());
    assertThat(head.status()).as("%s", head).isEqualTo(200);
    assertThat(head.header("Content-Length")).contains(Long.toString(large.size()));

    Path back = BERTH.directory("large-back");
    BERTH.tools().copy(BERTH.docker("large/image:v1"), "oci:" + back + ":large");
    OciLayout pulled = OciLayout.open(back);
    pulled.verifyComplete("large");
    assertThat(pulled.readImage("large").manifest().digest())
        .isEqualTo(image.manifest().digest());
    assertThat(pulled.readImage("large").layerDigests()).isEqualTo(image.layerDigests());
  }

  @Test
  void rangeRequestReturnsTheMiddleOfTheLargeLayer() throws IOException {
    Blob large = image.layers().get(1);
    long start = large.size() / 2 - 12_345;
    long end = start + (1 << 20) + 99; // inclusive

    Response partial = BERTH
        .client()
        .get("/v2/large/image/blobs/" + large.digest(), "Range", "bytes=" + start + "-" + end);

    assertThat(partial.status()).as("%s", partial).isEqualTo(206);
    assertThat(partial.header("Content-Range"))
        .contains("bytes " + start + "-" + end + "/" + large.size());
    assertThat(partial.body().length).isEqualTo(end - start + 1);
    assertThat(partial.body())
        .as("bytes %d-%d of the layer", start, end)
        .isEqualTo(readRegion(OciLayout.open(source).blobPath(large.digest()), start, end));
  }

  private static byte[] readRegion(Path file, long start, long endInclusive) throws IOException {
    ByteBuffer buffer = ByteBuffer.allocate((int) (endInclusive - start + 1));
    try (FileChannel channel = FileChannel.open(file)) {
      while (buffer.hasRemaining()) {
        if (channel.read(buffer, start + buffer.position()) < 0) {
          throw new IOException("file ends before byte " + endInclusive);
        }
      }
    }
    return buffer.array();
  }
}
