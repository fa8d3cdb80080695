import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.security.MessageDigest;
import java.time.Duration;
import java.util.HexFormat;
import java.util.SplittableRandom;
import java.util.concurrent.Executors;
import java.util.concurrent.Semaphore;
import java.util.concurrent.atomic.AtomicLong;

/**
 * Puts garbage into a registry for the GC benchmark (bench/gc/gc-bench.sh). Run from source:
 *
 * <pre>
 *   java bench/gc/GcLoad.java URL [--repos 1000] [--blobs 100] [--size 1024] [--concurrency 16]
 *       [--seed 1] [--prefix gcbench] [--unlink]
 * </pre>
 *
 * Pushes {@code repos × blobs} distinct blobs of {@code size} random bytes, blob j of repository
 * i being a function of (seed, i, j) only, so two registries get byte-identical content. Each is
 * one monolithic {@code POST /v2/<prefix>/rNNNN/blobs/uploads/?digest=…} carrying the body (201);
 * where the registry answers that with 202 and a session (Distribution 2.8 has no monolithic
 * POST), the body goes in one {@code PUT <Location>&digest=…}.
 * No manifest is pushed, so every blob is garbage for Distribution's collector. With {@code
 * --unlink} each blob is then unlinked from its repository ({@code DELETE
 * /v2/<repo>/blobs/<digest>}, 202), which makes it garbage for Berth's collector too.
 */
public final class GcLoad {
  public static void main(String[] args) throws Exception {
    if (args.length < 1) {
      System.err.println("usage: java GcLoad.java URL [--repos N] [--blobs N] [--size BYTES]"
          + " [--concurrency N] [--seed N] [--prefix NAME] [--unlink]");
      System.exit(2);
    }
    String url = args[0].replaceAll("/+$", "");
    int repos = 1000, blobs = 100, size = 1024, concurrency = 16;
    long seed = 1;
    String prefix = "gcbench";
    boolean unlink = false;
    for (int i = 1; i < args.length; i++) {
      switch (args[i]) {
        case "--repos" -> repos = Integer.parseInt(args[++i]);
        case "--blobs" -> blobs = Integer.parseInt(args[++i]);
        case "--size" -> size = Integer.parseInt(args[++i]);
        case "--concurrency" -> concurrency = Integer.parseInt(args[++i]);
        case "--seed" -> seed = Long.parseLong(args[++i]);
        case "--prefix" -> prefix = args[++i];
        case "--unlink" -> unlink = true;
        default -> throw new IllegalArgumentException("unknown argument " + args[i]);
      }
    }
    HttpClient client = HttpClient.newBuilder()
        .version(HttpClient.Version.HTTP_1_1)
        .connectTimeout(Duration.ofSeconds(10))
        .build();
    Semaphore permits = new Semaphore(concurrency);
    AtomicLong pushed = new AtomicLong();
    AtomicLong unlinked = new AtomicLong();
    AtomicLong errors = new AtomicLong();
    long started = System.nanoTime();
    final int fRepos = repos, fBlobs = blobs, fSize = size;
    final long fSeed = seed;
    final String fPrefix = prefix;
    final boolean fUnlink = unlink;
    try (var executor = Executors.newVirtualThreadPerTaskExecutor()) {
      for (int r = 0; r < fRepos; r++) {
        for (int b = 0; b < fBlobs; b++) {
          permits.acquire();
          final int repo = r, blob = b;
          executor.submit(() -> {
            try {
              String name = String.format("%s/r%04d", fPrefix, repo);
              byte[] body = content(fSeed, repo, blob, fSize);
              String digest = "sha256:" + HexFormat.of().formatHex(
                  MessageDigest.getInstance("SHA-256").digest(body));
              HttpResponse<String> put = send(client, HttpRequest.newBuilder(
                      URI.create(url + "/v2/" + name + "/blobs/uploads/?digest=" + digest))
                  .header("Content-Type", "application/octet-stream")
                  .POST(HttpRequest.BodyPublishers.ofByteArray(body))
                  .build());
              if (put.statusCode() == 202) {
                // No monolithic POST (Distribution 2.8 starts a session and ignores the body):
                // PUT the body to the session's Location.
                String location = put.headers().firstValue("Location").orElseThrow();
                URI session = URI.create(url + "/").resolve(location);
                String query = session.getRawQuery();
                put = send(client, HttpRequest.newBuilder(URI.create(session.toString()
                        + (query == null ? "?" : "&") + "digest=" + digest))
                    .header("Content-Type", "application/octet-stream")
                    .PUT(HttpRequest.BodyPublishers.ofByteArray(body))
                    .build());
              }
              if (put.statusCode() != 201) {
                throw new IllegalStateException("push " + name + " " + digest + ": "
                    + put.statusCode() + " " + put.body());
              }
              pushed.incrementAndGet();
              if (fUnlink) {
                HttpResponse<String> delete = send(client, HttpRequest.newBuilder(
                        URI.create(url + "/v2/" + name + "/blobs/" + digest))
                    .DELETE()
                    .build());
                if (delete.statusCode() != 202) {
                  throw new IllegalStateException("unlink " + name + " " + digest + ": "
                      + delete.statusCode() + " " + delete.body());
                }
                unlinked.incrementAndGet();
              }
            } catch (Exception e) {
              if (errors.incrementAndGet() <= 5) {
                System.err.println("error: " + e);
              }
            } finally {
              permits.release();
            }
            return null;
          });
        }
      }
    }
    double seconds = (System.nanoTime() - started) / 1e9;
    System.out.printf("pushed %d, unlinked %d, errors %d in %.1f s (%.0f blobs/s)%n",
        pushed.get(), unlinked.get(), errors.get(), seconds, pushed.get() / seconds);
    System.exit(errors.get() == 0 ? 0 : 1);
  }

  /** Blob {@code blob} of repository {@code repo}: random bytes determined by the three numbers. */
  static byte[] content(long seed, int repo, int blob, int size) {
    SplittableRandom random = new SplittableRandom(seed * 1_000_003L ^ ((long) repo << 24) ^ blob);
    byte[] bytes = new byte[size];
    for (int i = 0; i < size; i += 8) {
      long v = random.nextLong();
      for (int k = 0; k < 8 && i + k < size; k++) {
        bytes[i + k] = (byte) (v >>> (8 * k));
      }
    }
    // The position is written in too, so no two blobs can be equal whatever the random stream.
    String header = seed + "/" + repo + "/" + blob + "\n";
    byte[] h = header.getBytes(java.nio.charset.StandardCharsets.US_ASCII);
    System.arraycopy(h, 0, bytes, 0, Math.min(h.length, size));
    return bytes;
  }

  /** Sends, retrying a connection failure a few times (a busy loopback may refuse briefly). */
  static HttpResponse<String> send(HttpClient client, HttpRequest request) throws Exception {
    for (int attempt = 1; ; attempt++) {
      try {
        return client.send(request, HttpResponse.BodyHandlers.ofString());
      } catch (java.io.IOException e) {
        if (attempt >= 3) {
          throw e;
        }
        Thread.sleep(100L * attempt);
      }
    }
  }
}
