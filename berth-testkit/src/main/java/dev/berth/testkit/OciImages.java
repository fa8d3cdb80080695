package dev.berth.testkit;

import dev.berth.testkit.OciLayout.Image;
import dev.berth.testkit.OciLayout.Index;
import dev.berth.testkit.OciLayout.Layer;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;

/**
 * Ready-made test images, each written as an OCI layout that skopeo and podman read with {@code
 * oci:DIR:TAG}. Content is random but seeded, so the digests are the same on every run.
 */
public final class OciImages {

  /** Size of each random file in the small layers. */
  private static final int FILE_SIZE = 48 * 1024;

  private OciImages() {}

  /** One linux/amd64 image with {@code layers} small layers, tagged {@code tag}. */
  public static Image singleImage(Path directory, String tag, int layers, long seed) {
    OciLayout layout = OciLayout.create(directory);
    List<Layer> written = new ArrayList<>();
    for (int i = 0; i < layers; i++) {
      written.add(layout.writeLayer(seed * 1000 + i, 2, FILE_SIZE));
    }
    return layout.writeImage(tag, "linux", "amd64", written);
  }

  /**
   * {@code images} images in one layout, tagged {@code image-0 … image-(n-1)}: each has the same
   * {@code sharedLayers} base layers and then one layer of its own.
   */
  public static List<Image> imagesSharingLayers(
      Path directory, int images, int sharedLayers, long seed) {
    OciLayout layout = OciLayout.create(directory);
    List<Layer> shared = new ArrayList<>();
    for (int i = 0; i < sharedLayers; i++) {
      shared.add(layout.writeLayer(seed * 1000 + i, 2, FILE_SIZE));
    }
    List<Image> result = new ArrayList<>();
    for (int n = 0; n < images; n++) {
      List<Layer> layers = new ArrayList<>(shared);
      layers.add(layout.writeLayer(seed * 1000 + 500 + n, 1, FILE_SIZE));
      result.add(layout.writeImage("image-" + n, "linux", "amd64", layers));
    }
    return List.copyOf(result);
  }

  /**
   * An image whose second layer holds one file of {@code largeLayerBytes} random bytes (written
   * streaming; 256 MiB takes a couple of seconds); its first layer is small.
   */
  public static Image largeLayerImage(Path directory, String tag, long largeLayerBytes, long seed) {
    OciLayout layout = OciLayout.create(directory);
    Layer small = layout.writeLayer(seed * 1000, 1, FILE_SIZE);
    Layer large = layout.writeLargeLayer(seed * 1000 + 1, largeLayerBytes);
    return layout.writeImage(tag, "linux", "amd64", List.of(small, large));
  }

  /**
   * An OCI image index tagged {@code tag} over a linux/amd64 and a linux/arm64 image; they share
   * one layer and have one of their own each.
   */
  public static Index multiPlatformIndex(Path directory, String tag, long seed) {
    OciLayout layout = OciLayout.create(directory);
    Layer shared = layout.writeLayer(seed * 1000, 1, FILE_SIZE);
    Image amd64 = layout.writeImage(
        null, "linux", "amd64", List.of(shared, layout.writeLayer(seed * 1000 + 1, 1, FILE_SIZE)));
    Image arm64 = layout.writeImage(
        null, "linux", "arm64", List.of(shared, layout.writeLayer(seed * 1000 + 2, 1, FILE_SIZE)));
    return layout.writeIndex(tag, List.of(amd64, arm64));
  }
}
