package dev.berth.server;

import static org.assertj.core.api.Assertions.assertThat;

import dev.berth.audit.ActorType;
import dev.berth.audit.AuditAction;
import dev.berth.audit.AuditEvent;
import dev.berth.audit.AuditOutcome;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.concurrent.atomic.AtomicLong;
import org.junit.jupiter.api.Test;

/**
 * Manifest pulls per second with and without a pull audit record, on one in-process server
 * (decision 013 asks for at most 5% less). Not a unit test (its name does not end in Test, so
 * the build does not run it); run it with
 * {@code mvn -o -q test -pl berth-server -am -Dtest=PullAuditThroughputBench
 * -Dsurefire.failIfNoSpecifiedTests=false}.
 *
 * <p>Written before the request paths were wired: "audit on" calls {@link
 * dev.berth.audit.AuditLog#recordAsync} from the client's thread right after each answered pull,
 * in the same JVM. The figures that count come from real servers and clients since: {@code
 * bench/auth/audit-pulls.sh} and {@code bench/auth/audit-harness.sh} (docs/benchmarks.md). Rounds
 * alternate off/on so that load from other processes on the machine falls on both.
 */
class PullAuditThroughputBench {
  private static final int CLIENTS = 16;
  private static final Duration ROUND = Duration.ofSeconds(5);
  private static final int ROUNDS = Integer.getInteger("rounds", 8);

  @Test
  void pullThroughputWithAndWithoutAudit() throws Exception {
    Path dataDir = Files.createTempDirectory("berth-pull-bench-");
    InProcessBerth berth = new InProcessBerth(Map.of(), dataDir);
    berth.start();
    try {
      String digest = berth.pushImage("bench/app", "1");
      URI uri = berth.uri("/v2/bench/app/manifests/1");
      // Warm-up: the JIT settles after some 100,000 pulls on this machine.
      for (int i = 0; i < 3; i++) {
        run(berth, uri, digest, false, Duration.ofSeconds(5));
        run(berth, uri, digest, true, Duration.ofSeconds(5));
      }
      long off = 0;
      long on = 0;
      List<String> rounds = new ArrayList<>();
      for (int round = 0; round < ROUNDS; round++) {
        boolean audit = round % 2 == 1;
        long dropped = berth.audit().dropped();
        long pulls = run(berth, uri, digest, audit, ROUND);
        rounds.add((audit ? "on " : "off ")
            + pulls * 1000 / ROUND.toMillis()
            + "/s"
            + (audit ? " (dropped " + (berth.audit().dropped() - dropped) + ")" : ""));
        if (audit) {
          on += pulls;
        } else {
          off += pulls;
        }
      }
      double ratio = (double) on / off;
      System.out.printf(
          "pull throughput, %d clients, %s rounds: %s; audit on/off = %.3f; dropped %d%n",
          CLIENTS, ROUND, rounds, ratio, berth.audit().dropped());
      assertThat(on).isPositive();
    } finally {
      berth.close();
      InProcessBerth.deleteRecursively(dataDir);
    }
  }

  private static long run(
      InProcessBerth berth, URI uri, String digest, boolean audit, Duration length)
      throws Exception {
    AtomicLong pulls = new AtomicLong();
    long end = System.nanoTime() + length.toNanos();
    List<Thread> threads = new ArrayList<>();
    try (HttpClient http =
        HttpClient.newBuilder().version(HttpClient.Version.HTTP_1_1).build()) {
      HttpRequest request = HttpRequest.newBuilder(uri)
          .header("Accept", Content.OCI_MANIFEST)
          .GET()
          .build();
      for (int i = 0; i < CLIENTS; i++) {
        threads.add(Thread.ofVirtual().start(() -> {
          while (System.nanoTime() < end) {
            try {
              HttpResponse<byte[]> response =
                  http.send(request, HttpResponse.BodyHandlers.ofByteArray());
              if (response.statusCode() != 200) {
                throw new IllegalStateException("status " + response.statusCode());
              }
              if (audit) {
                berth
                    .audit()
                    .recordAsync(AuditEvent.of(
                            AuditAction.MANIFEST_PULL,
                            ActorType.ANONYMOUS,
                            "",
                            AuditOutcome.SUCCESS)
                        .withSource("127.0.0.1", "Java-http-client/25")
                        .withResource("bench", "bench/app", "1", digest));
              }
              pulls.incrementAndGet();
            } catch (Exception e) {
              throw new IllegalStateException(e);
            }
          }
        }));
      }
      for (Thread thread : threads) {
        thread.join();
      }
    }
    return pulls.get();
  }
}
