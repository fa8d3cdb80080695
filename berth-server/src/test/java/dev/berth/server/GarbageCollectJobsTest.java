package dev.berth.server;

import static org.assertj.core.api.Assertions.assertThat;

import com.fasterxml.jackson.databind.JsonNode;
import java.net.http.HttpResponse;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.Map;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

/** Garbage collection on the job queue: one pending run at a time, and a schedule on its own. */
class GarbageCollectJobsTest {
  private static Path dataDir;
  private static InProcessBerth berth;

  @BeforeAll
  static void start() throws Exception {
    dataDir = Files.createTempDirectory("berth-gc-jobs-");
    berth = new InProcessBerth(Map.of("gc.grace-period", "0s", "gc.schedule", "300ms"), dataDir);
    berth.start();
  }

  @AfterAll
  static void stop() throws Exception {
    try {
      berth.close();
    } finally {
      InProcessBerth.deleteRecursively(dataDir);
    }
  }

  @Test
  void twoRequestsInQuickSuccessionAreAcceptedThenRefused() {
    long deadline = System.nanoTime() + Duration.ofSeconds(30).toNanos();
    HttpResponse<byte[]> first;
    HttpResponse<byte[]> second;
    do {
      // A scheduled run may hold the queue: wait for a moment with none pending.
      first = post();
      second = post();
      assertThat(System.nanoTime()).as("a run is accepted").isLessThan(deadline);
    } while (first.statusCode() != 202);

    long id = InProcessBerth.json(first).path("id").asLong();
    assertThat(second.statusCode()).isEqualTo(409);
    JsonNode error = InProcessBerth.json(second).path("errors").path(0);
    assertThat(error.path("code").asText()).isEqualTo("CONFLICT");
    assertThat(error.path("detail").path("running").asLong()).isEqualTo(id);
    assertThat(error.path("message").asText()).contains("run " + id);
  }

  @Test
  void aScheduleOfThreeHundredMillisecondsStartsRuns() throws Exception {
    long deadline = System.nanoTime() + Duration.ofSeconds(30).toNanos();
    int scheduled;
    do {
      Thread.sleep(100);
      scheduled = 0;
      for (JsonNode run : InProcessBerth.json(berth.get("/api/v1/gc/runs")).path("runs")) {
        if (run.path("trigger").asText().equals("schedule")
            && run.path("status").asText().equals("succeeded")) {
          scheduled++;
        }
      }
    } while (scheduled < 2 && System.nanoTime() < deadline);
    assertThat(scheduled).as("scheduled runs that succeeded").isGreaterThanOrEqualTo(2);
  }

  private static HttpResponse<byte[]> post() {
    return berth.post(
        "/api/v1/gc/runs",
        "{\"dryRun\":true}".getBytes(StandardCharsets.UTF_8),
        "Content-Type",
        "application/json");
  }
}
