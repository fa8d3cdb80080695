package dev.berth.it;

import static org.assertj.core.api.Assertions.assertThat;

import dev.berth.testkit.BerthProcess;
import dev.berth.testkit.OciLayout;
import dev.berth.testkit.PostgresServer;
import dev.berth.testkit.RegistryClient;
import dev.berth.testkit.RegistryClient.Response;
import java.io.IOException;
import java.net.ServerSocket;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.DisplayName;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.CleanupMode;
import org.junit.jupiter.api.io.TempDir;

/**
 * Issue 3: how a node of a cluster fails. At start-up, a wrong database password or an
 * unreachable bucket stops it with exit status 1 and one line saying why; at run time, a node
 * whose PostgreSQL goes away answers 503 UNAVAILABLE and serves again, without a restart, once
 * PostgreSQL is back.
 */
class ClusterFailureIT {
  @TempDir(cleanup = CleanupMode.ON_SUCCESS)
  Path directory;

  @Test
  @DisplayName("a wrong database password: exit status 1 and one line naming metadata.url")
  void wrongDatabasePasswordStopsStartUp() throws Exception {
    PostgresServer postgres = PostgresServer.shared();
    String url = postgres.createDatabase();
    try {
      Exit exit = serve(Map.of(
          "BERTH_METADATA_URL",
          url,
          "BERTH_METADATA_USERNAME",
          PostgresServer.USER,
          "BERTH_METADATA_PASSWORD",
          "not-the-password"));

      System.out.println(
          "wrong password: exit " + exit.status() + ", " + exit.output().strip());
      assertThat(exit.status()).as(exit.output()).isEqualTo(1);
      assertThat(exit.berthLines())
          .as(exit.output())
          .singleElement()
          .asString()
          .startsWith("berth: cannot start: metadata.url " + url + ": ")
          .contains("password authentication failed for user \"berth\"");
      assertThat(exit.output()).doesNotContain("not-the-password").doesNotContain("\tat ");
    } finally {
      postgres.dropDatabase(url);
    }
  }

  @Test
  @DisplayName("an unreachable S3 endpoint: exit status 1 and one line naming the endpoint")
  void unreachableBucketStopsStartUp() throws Exception {
    int closedPort;
    try (ServerSocket socket = new ServerSocket(0)) {
      closedPort = socket.getLocalPort();
    }
    Exit exit = serve(Map.of(
        "BERTH_STORAGE_DRIVER", "s3",
        "BERTH_STORAGE_S3_ENDPOINT", "http://127.0.0.1:" + closedPort,
        "BERTH_STORAGE_S3_BUCKET", "registry",
        "BERTH_STORAGE_S3_ACCESS_KEY", "berth",
        "BERTH_STORAGE_S3_SECRET_KEY", "a-secret-key",
        "BERTH_STORAGE_S3_PATH_STYLE", "true"));

    System.out.println(
        "unreachable bucket: exit " + exit.status() + ", " + exit.output().strip());
    assertThat(exit.status()).as(exit.output()).isEqualTo(1);
    assertThat(exit.berthLines())
        .as(exit.output())
        .singleElement()
        .asString()
        .startsWith("berth: cannot start: cannot reach S3 at http://127.0.0.1:" + closedPort + ": ")
        .contains("Connection refused");
    assertThat(exit.output()).doesNotContain("a-secret-key").doesNotContain("\tat ");
  }

  @Test
  @DisplayName("PostgreSQL goes away: 503 UNAVAILABLE; it comes back: 200, without a restart")
  void nodeRecoversWhenPostgresComesBack() throws Exception {
    try (PostgresServer postgres = PostgresServer.start()) {
      String url = postgres.createDatabase();
      try (BerthProcess berth = BerthProcess.builder(directory.resolve("node"))
          .readyTimeout(Duration.ofSeconds(90))
          .env("BERTH_METADATA_URL", url)
          .env("BERTH_METADATA_USERNAME", PostgresServer.USER)
          .env("BERTH_METADATA_PASSWORD", PostgresServer.PASSWORD)
          .start()) {
        RegistryClient client = berth.client();
        String manifest = pushImage(client, "outage/app", "v1");
        assertThat(client.get(manifest).status()).isEqualTo(200);

        postgres.stop();
        long stopped = System.nanoTime();
        Response down = client.get(manifest);
        long answeredMillis = (System.nanoTime() - stopped) / 1_000_000;
        Response ready = client.get("/readyz");
        long readyMillis = (System.nanoTime() - stopped) / 1_000_000 - answeredMillis;
        System.out.printf(
            "database outage: GET manifest -> %d after %d ms %s; /readyz -> %d after %d ms%n",
            down.status(), answeredMillis, down.bodyText().strip(), ready.status(), readyMillis);
        assertThat(down.status()).as("%s", down).isEqualTo(503);
        assertThat(down.json().path("errors").path(0).path("code").asText())
            .isEqualTo("UNAVAILABLE");
        assertThat(ready.status()).isEqualTo(503);
        // Within the pool's connection timeout (5 s), not after HikariCP's default 30 s.
        assertThat(answeredMillis).isLessThan(10_000);
        assertThat(readyMillis).isLessThan(10_000);

        postgres.restart();
        long restarted = System.nanoTime();
        Response back = awaitStatus(client, manifest, 200, Duration.ofSeconds(60));
        long recoveredMillis = (System.nanoTime() - restarted) / 1_000_000;
        System.out.printf(
            "database outage: PostgreSQL back; GET manifest -> %d %d ms later%n",
            back.status(), recoveredMillis);
        assertThat(back.status()).as("%s", back).isEqualTo(200);
        assertThat(client.get("/readyz").status()).isEqualTo(200);
        // Writes work again too.
        pushImage(client, "outage/app", "v2");
        assertThat(berth.isAlive()).isTrue();
      } finally {
        postgres.restart(); // for dropDatabase, should the test have failed while it was down
        postgres.dropDatabase(url);
      }
    }
  }

  /** Pushes a one-layer image with monolithic uploads; returns its manifest's path by tag. */
  private static String pushImage(RegistryClient client, String repository, String tag) {
    byte[] layer = ("layer of " + repository + ":" + tag).getBytes(StandardCharsets.UTF_8);
    byte[] config =
        "{\"architecture\":\"amd64\",\"os\":\"linux\"}".getBytes(StandardCharsets.UTF_8);
    for (byte[] blob : List.of(layer, config)) {
      Response pushed = client.post(
          "/v2/" + repository + "/blobs/uploads/?digest=" + OciLayout.sha256(blob),
          blob,
          "Content-Type",
          "application/octet-stream");
      assertThat(pushed.status()).as("%s", pushed).isEqualTo(201);
    }
    String manifest = "{\"schemaVersion\":2,\"mediaType\":\"" + OciLayout.OCI_MANIFEST + "\","
        + "\"config\":{\"mediaType\":\"" + OciLayout.OCI_CONFIG + "\",\"digest\":\""
        + OciLayout.sha256(config) + "\",\"size\":" + config.length + "},"
        + "\"layers\":[{\"mediaType\":\"" + OciLayout.OCI_LAYER_GZIP + "\",\"digest\":\""
        + OciLayout.sha256(layer) + "\",\"size\":" + layer.length + "}]}";
    String path = "/v2/" + repository + "/manifests/" + tag;
    Response put = client.put(
        path, manifest.getBytes(StandardCharsets.UTF_8), "Content-Type", OciLayout.OCI_MANIFEST);
    assertThat(put.status()).as("%s", put).isEqualTo(201);
    return path;
  }

  private static Response awaitStatus(
      RegistryClient client, String path, int status, Duration timeout)
      throws InterruptedException {
    long deadline = System.nanoTime() + timeout.toNanos();
    Response last = client.get(path);
    while (last.status() != status && System.nanoTime() < deadline) {
      Thread.sleep(100);
      last = client.get(path);
    }
    return last;
  }

  private record Exit(int status, String output) {
    /** The lines Berth itself printed (JVM warnings aside). */
    List<String> berthLines() {
      return output.lines().filter(line -> line.startsWith("berth")).toList();
    }
  }

  /** {@code berth serve} with this environment, until it exits (within two minutes). */
  private Exit serve(Map<String, String> environment) throws IOException, InterruptedException {
    List<String> command = new ArrayList<>();
    command.add(Path.of(System.getProperty("java.home"), "bin", "java").toString());
    command.add("--enable-native-access=ALL-UNNAMED");
    command.addAll(List.of("-jar", System.getProperty("berth.jar"), "serve"));
    command.addAll(
        List.of("--addr", "127.0.0.1:0", "--data", directory.resolve("data").toString()));
    Files.createDirectories(directory);
    Path log = Files.createTempFile(directory, "serve-", ".log");
    ProcessBuilder builder =
        new ProcessBuilder(command).redirectErrorStream(true).redirectOutput(log.toFile());
    builder.environment().putAll(environment);
    Process process = builder.start();
    if (!process.waitFor(2, TimeUnit.MINUTES)) {
      process.destroyForcibly().waitFor();
      throw new AssertionError("berth serve did not exit:\n" + Files.readString(log));
    }
    return new Exit(process.exitValue(), Files.readString(log));
  }
}
