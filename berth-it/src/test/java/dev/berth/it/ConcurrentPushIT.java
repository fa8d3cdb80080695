package dev.berth.it;

import static org.assertj.core.api.Assertions.assertThat;

import dev.berth.testkit.BerthExtension;
import dev.berth.testkit.ContainerTools;
import dev.berth.testkit.OciImages;
import dev.berth.testkit.OciLayout;
import dev.berth.testkit.OciLayout.Image;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.RegisterExtension;

/** Eight skopeo processes push images with common layers into eight repositories at once. */
class ConcurrentPushIT {

  private static final int PUSHES = 8;

  @RegisterExtension
  static final BerthExtension BERTH = new BerthExtension();

  private final ContainerTools tools = BERTH.tools();

  @Test
  void concurrentPushesOfImagesSharingLayersAllPullBack() throws Exception {
    Path source = BERTH.directory("source");
    List<Image> images = OciImages.imagesSharingLayers(source, PUSHES, 3, 41);

    runConcurrently(n ->
        tools.copy("oci:" + source + ":image-" + n, BERTH.docker("concurrent/app-" + n + ":v1")));

    Path back = BERTH.directory("back");
    runConcurrently(n -> tools.copy(
        BERTH.docker("concurrent/app-" + n + ":v1"), "oci:" + back.resolve("app-" + n) + ":v1"));

    for (int n = 0; n < PUSHES; n++) {
      OciLayout pulled = OciLayout.open(back.resolve("app-" + n));
      pulled.verifyComplete("v1");
      Image pulledImage = pulled.readImage("v1");
      assertThat(pulledImage.manifest().digest())
          .as("app-%d", n)
          .isEqualTo(images.get(n).manifest().digest());
      assertThat(pulledImage.layerDigests())
          .as("app-%d", n)
          .isEqualTo(images.get(n).layerDigests());
    }
  }

  private interface Push {
    void run(int n) throws Exception;
  }

  /** Runs {@code push} for 0…PUSHES-1 in parallel; rethrows the first failure with the others. */
  private static void runConcurrently(Push push) throws Exception {
    ExecutorService executor = Executors.newFixedThreadPool(PUSHES);
    try {
      List<Future<?>> futures = new ArrayList<>();
      for (int n = 0; n < PUSHES; n++) {
        int index = n;
        futures.add(executor.submit(() -> {
          push.run(index);
          return null;
        }));
      }
      AssertionError failure = null;
      for (Future<?> future : futures) {
        try {
          future.get();
        } catch (java.util.concurrent.ExecutionException e) {
          if (failure == null) {
            failure = new AssertionError("a concurrent skopeo copy failed", e.getCause());
          } else {
            failure.addSuppressed(e.getCause());
          }
        }
      }
      if (failure != null) {
        throw failure;
      }
    } finally {
      executor.shutdownNow();
    }
  }
}
