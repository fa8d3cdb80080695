package dev.berth.metadata;

import static org.assertj.core.api.Assertions.assertThat;

import dev.berth.jobs.ClaimedJob;
import dev.berth.jobs.NewJob;
import dev.berth.jobs.sql.SqlJobQueue;
import dev.berth.testkit.PostgresServer;
import dev.berth.testkit.contract.JobQueueContract;
import java.time.Clock;
import java.time.Duration;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;

/**
 * The job queue, scheduler and worker on a real PostgreSQL, a new database for each test; each
 * extra node is a second {@code Database} (its own pool) on that database.
 */
class PostgresJobQueueTest extends JobQueueContract {
  private final PostgresServer server = PostgresServer.shared();
  private String url;

  @Override
  protected Database openDatabase() {
    url = server.createDatabase();
    return Database.open(url, PostgresServer.USER, PostgresServer.PASSWORD, 8);
  }

  @Override
  protected Database openNode() {
    return Database.open(url, PostgresServer.USER, PostgresServer.PASSWORD, 4);
  }

  @Override
  protected void cleanup() {
    server.dropDatabase(url);
  }

  /**
   * SKIP LOCKED: while one node's claim transaction holds the first job's row, another node takes
   * the next job at once instead of waiting for it (only PostgreSQL has concurrent writers).
   */
  @Test
  void aClaimPassesOverAJobAnotherNodeIsClaiming() throws Exception {
    Clock clock = Clock.systemUTC();
    SqlJobQueue nodeOne = new SqlJobQueue(database, clock);
    long first = nodeOne.enqueue(NewJob.of("scan", "{}"));
    long second = nodeOne.enqueue(NewJob.of("scan", "{}"));
    CountDownLatch claimed = new CountDownLatch(1);
    CountDownLatch release = new CountDownLatch(1);
    ExecutorService threads = Executors.newFixedThreadPool(2);
    CompletableFuture<ClaimedJob> held = CompletableFuture.supplyAsync(
        () -> database.write(c -> {
          // Joins this transaction, so the row lock lasts until release.
          ClaimedJob job =
              nodeOne.claim("node-1", List.of("scan"), Duration.ofSeconds(30)).orElseThrow();
          claimed.countDown();
          try {
            release.await(10, TimeUnit.SECONDS);
          } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
          }
          return job;
        }),
        threads);
    try (Database other = openNode()) {
      assertThat(claimed.await(10, TimeUnit.SECONDS)).isTrue();
      SqlJobQueue nodeTwo = new SqlJobQueue(other, clock);
      CompletableFuture<Long> next = CompletableFuture.supplyAsync(
          () -> nodeTwo
              .claim("node-2", List.of("scan"), Duration.ofSeconds(30))
              .orElseThrow()
              .job()
              .id(),
          threads);
      assertThat(next.get(5, TimeUnit.SECONDS))
          .as("not blocked by node 1's open claim")
          .isEqualTo(second);
    } finally {
      release.countDown();
    }
    try {
      assertThat(held.get(10, TimeUnit.SECONDS).job().id()).isEqualTo(first);
    } finally {
      threads.shutdownNow();
    }
  }
}
