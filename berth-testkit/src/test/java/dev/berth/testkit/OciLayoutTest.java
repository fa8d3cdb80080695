package dev.berth.testkit;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import dev.berth.testkit.OciLayout.Image;
import dev.berth.testkit.OciLayout.Index;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class OciLayoutTest {

  @TempDir
  Path directory;

  @Test
  void sameSeedGivesSameDigests() {
    Image first = OciImages.singleImage(directory.resolve("a"), "v1", 2, 5);
    Image second = OciImages.singleImage(directory.resolve("b"), "v1", 2, 5);
    Image other = OciImages.singleImage(directory.resolve("c"), "v1", 2, 6);

    assertThat(second).isEqualTo(first);
    assertThat(other.manifest().digest()).isNotEqualTo(first.manifest().digest());
  }

  @Test
  void writtenImageReadsBackAndVerifies() {
    Image image = OciImages.singleImage(directory, "v1", 3, 1);
    OciLayout layout = OciLayout.open(directory);

    assertThat(layout.readImage("v1")).isEqualTo(image);
    assertThat(layout.verifyComplete("v1"))
        .containsExactly(
            image.manifest().digest(),
            image.config().digest(),
            image.layers().get(0).digest(),
            image.layers().get(1).digest(),
            image.layers().get(2).digest());
    assertThat(layout.readLayerFiles(image.layers().get(0)))
        .containsKeys("layer-1000/seed.txt", "layer-1000/file-0.bin", "layer-1000/file-1.bin")
        .hasEntrySatisfying(
            "layer-1000/seed.txt",
            content ->
                assertThat(new String(content, StandardCharsets.UTF_8)).isEqualTo("seed 1000\n"));
  }

  @Test
  void configListsTheUncompressedLayerDigests() {
    OciLayout layout = OciLayout.create(directory);
    OciLayout.Layer layer =
        layout.writeLayer(Map.of("hello.txt", "hi\n".getBytes(StandardCharsets.UTF_8)));
    Image image = layout.writeImage("v1", "linux", "amd64", List.of(layer));

    assertThat(layout
            .readJson(image.config())
            .path("rootfs")
            .path("diff_ids")
            .get(0)
            .asText())
        .isEqualTo(layer.diffId())
        .isNotEqualTo(layer.blob().digest());
    assertThat(layout.readLayerFiles(layer.blob())).containsOnlyKeys("hello.txt");
  }

  @Test
  void indexListsBothPlatforms() {
    Index index = OciImages.multiPlatformIndex(directory, "multi", 3);
    OciLayout layout = OciLayout.open(directory);

    Index read = layout.readIndex(layout.resolve("multi"));
    assertThat(read).isEqualTo(index);
    assertThat(read.images()).extracting(Image::architecture).containsExactly("amd64", "arm64");
    // the index, two manifests, two configs, and three layers (one shared)
    assertThat(layout.verifyComplete("multi")).hasSize(1 + 2 + 2 + 3);
  }

  @Test
  void damagedOrMissingBlobFailsVerification() throws IOException {
    Image image = OciImages.singleImage(directory, "v1", 2, 9);
    OciLayout layout = OciLayout.open(directory);
    Path layer = layout.blobPath(image.layers().get(1).digest());
    byte[] bytes = Files.readAllBytes(layer);
    bytes[bytes.length / 2] ^= 1;
    Files.write(layer, bytes);

    assertThatThrownBy(() -> layout.verifyComplete("v1"))
        .isInstanceOf(AssertionError.class)
        .hasMessageContaining(image.layers().get(1).digest());

    Files.delete(layer);
    assertThatThrownBy(() -> layout.verifyComplete("v1"))
        .isInstanceOf(AssertionError.class)
        .hasMessageContaining("missing");
  }

  @Test
  void largeLayerIsStreamedAndValid() throws IOException {
    long size = 3L * 1024 * 1024 + 17;
    Image image = OciImages.largeLayerImage(directory, "large", size, 4);
    OciLayout layout = OciLayout.open(directory);

    layout.verifyComplete("large");
    Map<String, byte[]> files = layout.readLayerFiles(image.layers().get(1));
    assertThat(files).containsOnlyKeys("large/random-4001.bin");
    assertThat(files.get("large/random-4001.bin")).hasSize((int) size);
  }
}
