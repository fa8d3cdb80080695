package dev.berth.server;

import static java.util.Map.entry;
import static org.assertj.core.api.Assertions.assertThat;

import dev.berth.testkit.PostgresServer;
import dev.berth.testkit.S3Server;
import java.net.URI;
import java.net.http.HttpResponse;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.MessageDigest;
import java.util.HashMap;
import java.util.HexFormat;
import java.util.Map;
import java.util.Random;
import org.junit.jupiter.api.Test;

/**
 * What it costs when an upload's chunks land on different nodes (decision 015): a 512 MiB blob in
 * 8 MiB chunks, every chunk to the same node (the SHA-256 state stays in memory) or alternately
 * to two nodes (each chunk finds the state missing from memory; since the hybrid it resumes the
 * state saved in the session row, before it re-read the prefix), on a shared filesystem and on
 * S3 (s3proxy), metadata on PostgreSQL. Not part of the build (the name is no test's): run it
 * with {@code -Dtest=HashStateBenchmark}.
 */
class HashStateBenchmark {
  private static final int CHUNK = 8 << 20;
  private static final int CHUNKS = Integer.getInteger("benchmark.chunks", 64);

  @Test
  void filesystem() throws Exception {
    Path root = Files.createTempDirectory("berth-bench-blobs-");
    run(
        "filesystem",
        Map.of("storage.driver", "filesystem", "storage.filesystem.root", root.toString()));
  }

  @Test
  void s3() throws Exception {
    try (S3Server s3 = S3Server.start()) {
      run(
          "s3",
          Map.ofEntries(
              entry("storage.driver", "s3"),
              entry("storage.s3.endpoint", s3.endpoint()),
              entry("storage.s3.bucket", "bench"),
              entry("storage.s3.access-key", S3Server.ACCESS_KEY),
              entry("storage.s3.secret-key", S3Server.SECRET_KEY),
              entry("storage.s3.path-style", "true"),
              entry("storage.s3.create-bucket", "true")));
    }
  }

  private void run(String backend, Map<String, String> storage) throws Exception {
    String databaseUrl = PostgresServer.shared().createDatabase();
    Map<String, String> settings = new HashMap<>(storage);
    settings.put("metadata.url", databaseUrl);
    settings.put("metadata.username", PostgresServer.USER);
    settings.put("metadata.password", PostgresServer.PASSWORD);
    InProcessBerth one = new InProcessBerth(settings);
    InProcessBerth two = new InProcessBerth(settings);
    try {
      one.start();
      two.start();
      push(backend, "one node", one, one, 1);
      push(backend, "alternating", one, two, 2);
      push(backend, "one node", one, one, 3);
      push(backend, "alternating", one, two, 4);
    } finally {
      one.close();
      two.close();
      PostgresServer.shared().dropDatabase(databaseUrl);
    }
  }

  private static void push(
      String backend, String mode, InProcessBerth even, InProcessBerth odd, int seed)
      throws Exception {
    String repository = "bench/" + backend;
    HttpResponse<byte[]> started = even.post("/v2/" + repository + "/blobs/uploads/", new byte[0]);
    URI returned = URI.create(started.headers().firstValue("Location").orElseThrow());
    String location = returned.getRawPath();
    MessageDigest sha256 = MessageDigest.getInstance("SHA-256");
    Random random = new Random(seed);
    byte[] chunk = new byte[CHUNK];
    long[] millis = new long[CHUNKS];
    long begin = System.nanoTime();
    for (int i = 0; i < CHUNKS; i++) {
      random.nextBytes(chunk);
      sha256.update(chunk);
      long offset = (long) i * CHUNK;
      long t0 = System.nanoTime();
      HttpResponse<byte[]> patched = (i % 2 == 0 ? even : odd)
          .patch(
              location,
              chunk,
              "Content-Type",
              "application/octet-stream",
              "Content-Range",
              offset + "-" + (offset + CHUNK - 1));
      millis[i] = (System.nanoTime() - t0) / 1_000_000;
      assertThat(patched.statusCode()).as(new String(patched.body())).isEqualTo(202);
    }
    String digest = "sha256:" + HexFormat.of().formatHex(sha256.digest());
    long t0 = System.nanoTime();
    HttpResponse<byte[]> finished = odd.put(location + "?digest=" + digest, new byte[0]);
    long finishMillis = (System.nanoTime() - t0) / 1_000_000;
    long totalMillis = (System.nanoTime() - begin) / 1_000_000;
    assertThat(finished.statusCode()).as(new String(finished.body())).isEqualTo(201);
    long patchMillis = 0;
    for (long m : millis) {
      patchMillis += m;
    }
    System.out.printf(
        "| %s | %s | %d x %d MiB | %d | %d | %d | %d | %d | %d |%n",
        backend,
        mode,
        CHUNKS,
        CHUNK >> 20,
        millis[0],
        millis[CHUNKS / 2],
        millis[CHUNKS - 1],
        patchMillis / CHUNKS,
        finishMillis,
        totalMillis);
    even.delete("/v2/" + repository + "/blobs/" + digest);
  }
}
