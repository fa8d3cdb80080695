package dev.berth.it;

import static org.assertj.core.api.Assertions.assertThat;

import com.fasterxml.jackson.databind.JsonNode;
import dev.berth.testkit.BerthProcess;
import dev.berth.testkit.ContainerTools;
import dev.berth.testkit.OciImages;
import dev.berth.testkit.OciLayout;
import dev.berth.testkit.OciLayout.Image;
import dev.berth.testkit.RegistryClient;
import dev.berth.testkit.RegistryClient.Response;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.MessageDigest;
import java.time.Duration;
import java.util.ArrayList;
import java.util.HexFormat;
import java.util.List;
import java.util.Map;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * Garbage collection against a real server process: skopeo's delete-then-re-push with a
 * collection in between (started with {@code berth gc --server URL --wait}, as an operator
 * would), and a server killed with SIGKILL in the middle of a collection.
 */
class GarbageCollectIT {
  @TempDir
  Path work;

  @Test
  void skopeoRePushesAnImageWhoseBlobsWereCollected() throws Exception {
    try (BerthProcess berth = start(work.resolve("data"));
        ContainerTools tools = new ContainerTools(work.resolve("tools"))) {
      RegistryClient client = berth.client();
      Path source = Files.createDirectories(work.resolve("source"));
      Image image = OciImages.singleImage(source, "v1", 3, 53);
      String target = "docker://" + berth.hostPort() + "/gc/app:v1";
      tools.copy("oci:" + source + ":v1", target);

      assertThat(
              client.delete("/v2/gc/app/manifests/" + image.manifest().digest()).status())
          .isEqualTo(202);
      // Only the manifest is deleted, as an operator does: the run prunes the layers' links
      // and deletes the layers (decision 012).
      CliResult gc = cli(berth, "gc", "--server", berth.url(), "--wait");
      assertThat(gc.status()).as(gc.output()).isZero();
      assertThat(gc.output())
          .contains("succeeded")
          .doesNotContain(" 0 repository links")
          .doesNotContain(" 0 blobs");
      for (String layer : image.layerDigests()) {
        assertThat(client.head("/v2/gc/app/blobs/" + layer).status()).isEqualTo(404);
      }

      tools.copy("oci:" + source + ":v1", target);

      Path back = Files.createDirectories(work.resolve("back"));
      tools.copy(target, "oci:" + back + ":v1");
      OciLayout pulled = OciLayout.open(back);
      pulled.verifyComplete("v1");
      assertThat(pulled.readImage("v1").manifest().digest())
          .isEqualTo(image.manifest().digest());
      assertThat(pulled.readImage("v1").layerDigests()).isEqualTo(image.layerDigests());
    }
  }

  @Test
  void aCollectionKilledMidwayIsFinishedByTheNextRun() throws Exception {
    Path data = work.resolve("data");
    BerthProcess berth = start(data);
    try {
      RegistryClient client = berth.client();
      List<String> kept = new ArrayList<>();
      for (int i = 0; i < 20; i++) {
        kept.add(pushBlob(client, "crash/kept", ("kept " + i).getBytes(StandardCharsets.UTF_8)));
      }
      // Many small blobs whose links are then deleted: a run long enough to be killed in.
      for (int i = 0; i < 1500; i++) {
        String digest =
            pushBlob(client, "crash/doomed", ("doomed " + i).getBytes(StandardCharsets.UTF_8));
        assertThat(client.delete("/v2/crash/doomed/blobs/" + digest).status()).isEqualTo(202);
      }
      Response started = client.post(
          "/api/v1/gc/runs",
          "{\"dryRun\":false}".getBytes(StandardCharsets.UTF_8),
          "Content-Type",
          "application/json");
      assertThat(started.status()).as("%s", started).isEqualTo(202);
      long id = started.json().path("id").asLong();
      Thread.sleep(300);
      berth.kill9();

      berth.start();
      client = berth.client();
      JsonNode interrupted = client.get("/api/v1/gc/runs/" + id).json();
      assertThat(interrupted.path("status").asText())
          .as("%s", interrupted)
          .isEqualTo("interrupted");
      System.out.println(
          "gc crash: the killed run is " + interrupted.path("status").asText());
      CliResult again = cli(berth, "gc", "--server", berth.url(), "--wait");
      assertThat(again.status()).as(again.output()).isZero();
      System.out.println(
          "gc crash: the run after the restart: " + again.output().strip());
      for (String digest : kept) {
        Response blob = client.get("/v2/crash/kept/blobs/" + digest);
        assertThat(blob.status()).isEqualTo(200);
        assertThat(sha256(blob.body())).isEqualTo(digest);
      }
      berth.stop();

      CliResult verify = cli(berth, "gc", "--verify", "--data", data.toString());
      assertThat(verify.status()).as(verify.output()).isZero();
      assertThat(verify.output()).contains("consistent: 20 blobs checked, 0 orphans, 0 missing");
    } finally {
      berth.close();
    }
  }

  private static BerthProcess start(Path data) {
    return BerthProcess.builder(data)
        .env("BERTH_GC_GRACE_PERIOD", "0s")
        .env("BERTH_LOG_ACCESS_LOG", "false")
        .start();
  }

  private static String pushBlob(RegistryClient client, String repository, byte[] content)
      throws Exception {
    String digest = sha256(content);
    Response response = client.post(
        "/v2/" + repository + "/blobs/uploads/?digest=" + digest,
        content,
        "Content-Type",
        "application/octet-stream");
    assertThat(response.status()).as("%s", response).isEqualTo(201);
    return digest;
  }

  private static String sha256(byte[] content) throws Exception {
    return "sha256:"
        + HexFormat.of().formatHex(MessageDigest.getInstance("SHA-256").digest(content));
  }

  private record CliResult(int status, String output) {}

  /** {@code berth ARGS…} from the same jar, with credentials in the environment as documented. */
  private CliResult cli(BerthProcess berth, String... arguments)
      throws IOException, InterruptedException {
    List<String> command = new ArrayList<>();
    command.add(Path.of(System.getProperty("java.home"), "bin", "java").toString());
    command.add("-jar");
    command.add(System.getProperty("berth.jar"));
    command.addAll(List.of(arguments));
    ProcessBuilder builder = new ProcessBuilder(command).redirectErrorStream(true);
    builder.environment().putAll(Map.of("BERTH_USER", "admin", "BERTH_PASSWORD", "secret"));
    Process process = builder.start();
    String output = new String(process.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
    assertThat(process.waitFor(Duration.ofMinutes(2).toSeconds(), TimeUnit.SECONDS))
        .isTrue();
    return new CliResult(process.exitValue(), output);
  }
}
