package dev.berth.testkit.contract;

import static org.assertj.core.api.Assertions.assertThat;

import dev.berth.jobs.ClaimedJob;
import dev.berth.jobs.Job;
import dev.berth.jobs.JobFilter;
import dev.berth.jobs.JobState;
import dev.berth.jobs.Lease;
import dev.berth.jobs.NewJob;
import dev.berth.jobs.Schedule;
import dev.berth.jobs.Scheduler;
import dev.berth.jobs.Worker;
import dev.berth.jobs.sql.SqlJobQueue;
import dev.berth.metadata.Database;
import java.time.Clock;
import java.time.Duration;
import java.time.Instant;
import java.time.ZoneOffset;
import java.util.ArrayList;
import java.util.HashSet;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.Set;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ConcurrentLinkedQueue;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.concurrent.atomic.AtomicLong;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

/**
 * The behaviour of the job queue, the scheduler and the worker over a metadata backend: claims are
 * exclusive across threads and nodes, a dead node's job is taken over when its lease expires,
 * failures are retried and then given up, unique keys admit one pending job, and a schedule fires
 * once per period however many nodes run it.
 *
 * <p>A backend passes by subclassing with an {@link #openDatabase()} that returns a new, empty,
 * migrated database, and, where several processes can share it, an {@link #openNode()} that opens
 * another connection set to the same database (another "node"). After each test the suite checks
 * that a write and a read still complete (no transaction or connection left held).
 */
public abstract class JobQueueContract {
  private static final Duration LEASE = Duration.ofSeconds(30);

  protected Database database;
  private final List<Database> nodes = new ArrayList<>();
  private final TestClock clock = new TestClock(Instant.parse("2026-01-01T00:00:00Z"));

  /** A new, empty database with the schema migrated; called before each test. */
  protected abstract Database openDatabase();

  /**
   * Another node's view of {@link #database}: a second {@code Database} on the same data where the
   * backend allows several processes (PostgreSQL). SQLite has one owning process, so by default
   * every node shares {@link #database}.
   */
  protected Database openNode() {
    return database;
  }

  /** Releases what {@link #openDatabase()} set up; called after each test, once it is closed. */
  protected void cleanup() {}

  @BeforeEach
  final void open() {
    database = openDatabase();
  }

  @AfterEach
  final void checkNothingLeftBehind() throws Exception {
    try {
      CompletableFuture<Boolean> probe = CompletableFuture.supplyAsync(() -> {
        new SqlJobQueue(database, clock).enqueue(NewJob.of("probe", "{}"));
        return database.isHealthy();
      });
      assertThat(probe.get(10, TimeUnit.SECONDS))
          .as("a write and a read complete after the test (no transaction or connection held)")
          .isTrue();
    } finally {
      try {
        for (Database node : nodes) {
          node.close();
        }
        database.close();
      } finally {
        cleanup();
      }
    }
  }

  private Database node() {
    Database node = openNode();
    if (node != database) {
      nodes.add(node);
    }
    return node;
  }

  private SqlJobQueue queue() {
    return new SqlJobQueue(database, clock);
  }

  // --- the queue
  // -----------------------------------------------------------------------------------

  @Test
  void jobIsEnqueuedClaimedAndCompleted() {
    SqlJobQueue queue = queue();
    long id = queue.enqueue(NewJob.of("scan", "{\"repository\":\"library/alpine\"}"));

    Job queued = queue.get(id).orElseThrow();
    assertThat(queued.state()).isEqualTo(JobState.QUEUED);
    assertThat(queued.payload()).isEqualTo("{\"repository\":\"library/alpine\"}");
    assertThat(queued.attempts()).isZero();

    ClaimedJob claimed = queue.claim("node-1", List.of("scan"), LEASE).orElseThrow();
    assertThat(claimed.job().id()).isEqualTo(id);
    assertThat(claimed.job().state()).isEqualTo(JobState.RUNNING);
    assertThat(claimed.job().attempts()).isEqualTo(1);
    assertThat(claimed.job().leaseOwner()).hasValue("node-1");
    assertThat(claimed.lease().expiresAt()).isEqualTo(clock.instant().plus(LEASE));
    assertThat(queue.claim("node-2", List.of("scan"), LEASE))
        .as("a running job is not claimed twice")
        .isEmpty();

    assertThat(queue.complete(claimed.lease(), "{\"vulnerabilities\":0}")).isTrue();
    Job done = queue.get(id).orElseThrow();
    assertThat(done.state()).isEqualTo(JobState.SUCCEEDED);
    assertThat(done.result()).hasValue("{\"vulnerabilities\":0}");
    assertThat(done.leaseExpiresAt()).isEmpty();
    assertThat(queue.complete(claimed.lease(), "again"))
        .as("a finished job is not completed twice")
        .isFalse();
    assertThat(queue.claim("node-1", List.of("scan"), LEASE)).isEmpty();
    assertThat(queue.get(id + 1000)).isEmpty();
  }

  @Test
  void claimTakesTheFirstEnqueuedRunnableJobOfTheAskedTypes() {
    SqlJobQueue queue = queue();
    Instant now = clock.instant();
    long later = queue.enqueue(NewJob.of("gc", "{}").withRunAfter(now.plusSeconds(60)));
    long first = queue.enqueue(NewJob.of("gc", "{\"n\":1}").withRunAfter(now));
    long second = queue.enqueue(NewJob.of("gc", "{\"n\":2}"));
    long third = queue.enqueue(NewJob.of("gc", "{\"n\":3}"));
    long otherType = queue.enqueue(NewJob.of("replicate", "{}"));

    assertThat(claimId(queue, "gc")).hasValue(first);
    assertThat(claimId(queue, "gc")).hasValue(second);
    assertThat(claimId(queue, "gc")).hasValue(third);
    assertThat(claimId(queue, "gc")).as("not before its runAfter").isEmpty();
    clock.advance(Duration.ofSeconds(60));
    assertThat(claimId(queue, "gc")).hasValue(later);
    assertThat(claimId(queue, "scan", "replicate")).hasValue(otherType);
    assertThat(queue.claim("node-1", List.of(), LEASE)).isEmpty();
  }

  private Optional<Long> claimId(SqlJobQueue queue, String... types) {
    return queue.claim("node-1", List.of(types), LEASE).map(c -> c.job().id());
  }

  @Test
  void concurrentClaimersNeverGetTheSameJob() throws Exception {
    int jobs = 60;
    SqlJobQueue queue = queue();
    for (int i = 0; i < jobs; i++) {
      queue.enqueue(NewJob.of("scan", "{\"n\":" + i + "}"));
    }
    // Eight claimers over two nodes (on SQLite both are the one process's database).
    List<SqlJobQueue> queues = List.of(queue, new SqlJobQueue(node(), clock));
    ConcurrentLinkedQueue<Long> claimed = new ConcurrentLinkedQueue<>();
    CountDownLatch start = new CountDownLatch(1);
    ExecutorService threads = Executors.newFixedThreadPool(8);
    try {
      List<Future<?>> futures = new ArrayList<>();
      for (int t = 0; t < 8; t++) {
        SqlJobQueue mine = queues.get(t % 2);
        String nodeId = "node-" + (t % 2) + "-thread-" + t;
        futures.add(threads.submit(() -> {
          start.await();
          for (Optional<ClaimedJob> c;
              (c = mine.claim(nodeId, List.of("scan"), LEASE)).isPresent(); ) {
            claimed.add(c.get().job().id());
          }
          return null;
        }));
      }
      start.countDown();
      for (Future<?> future : futures) {
        future.get(30, TimeUnit.SECONDS);
      }
    } finally {
      threads.shutdownNow();
    }
    assertThat(claimed).hasSize(jobs).doesNotHaveDuplicates();
    assertThat(queue.list(JobFilter.ALL.withState(JobState.RUNNING), 0, 1000)).hasSize(jobs);
  }

  @Test
  void aJobWhoseLeaseExpiredIsTakenOverByAnotherNode() {
    SqlJobQueue nodeOne = queue();
    SqlJobQueue nodeTwo = new SqlJobQueue(node(), clock);
    long id = nodeOne.enqueue(NewJob.of("replicate", "{}"));
    Lease lease =
        nodeOne.claim("node-1", List.of("replicate"), LEASE).orElseThrow().lease();

    // A heartbeat keeps it: past the first expiry, node 2 still finds nothing.
    clock.advance(Duration.ofSeconds(20));
    lease = nodeOne.heartbeat(lease, LEASE).orElseThrow();
    assertThat(lease.expiresAt()).isEqualTo(clock.instant().plus(LEASE));
    clock.advance(Duration.ofSeconds(20));
    assertThat(nodeTwo.claim("node-2", List.of("replicate"), LEASE)).isEmpty();

    // Node 1 dies: no more heartbeats. Once the lease has run out node 2 takes the job over.
    clock.advance(LEASE);
    ClaimedJob takenOver = nodeTwo.claim("node-2", List.of("replicate"), LEASE).orElseThrow();
    assertThat(takenOver.job().id()).isEqualTo(id);
    assertThat(takenOver.job().attempts()).isEqualTo(2);
    assertThat(takenOver.job().leaseOwner()).hasValue("node-2");
    assertThat(takenOver.job().error()).hasValueSatisfying(e -> assertThat(e).contains("node-1"));

    // Node 1 comes back: its lease is fenced off.
    assertThat(nodeOne.heartbeat(lease, LEASE)).isEmpty();
    assertThat(nodeOne.complete(lease, "stale")).isFalse();
    assertThat(nodeOne.fail(lease, "stale", Optional.of(clock.instant()))).isEmpty();
    assertThat(nodeTwo.complete(takenOver.lease(), "done")).isTrue();
    assertThat(nodeOne.get(id).orElseThrow().result()).hasValue("done");
  }

  @Test
  void aJobWhoseLeaseExpiredOnItsLastAttemptFails() {
    SqlJobQueue queue = queue();
    long id = queue.enqueue(NewJob.of("scan", "{}").withMaxAttempts(1));
    queue.claim("node-1", List.of("scan"), LEASE).orElseThrow();
    clock.advance(LEASE.plusMillis(1));

    assertThat(queue.claim("node-2", List.of("scan"), LEASE)).isEmpty();
    Job failed = queue.get(id).orElseThrow();
    assertThat(failed.state()).isEqualTo(JobState.FAILED);
    assertThat(failed.error())
        .hasValueSatisfying(e -> assertThat(e).contains("lease of node-1 expired"));
  }

  @Test
  void aFailedJobIsRetriedAfterItsRetryTimeThenGivenUp() {
    SqlJobQueue queue = queue();
    long id = queue.enqueue(NewJob.of("scan", "{}").withMaxAttempts(2));

    Lease first = queue.claim("node-1", List.of("scan"), LEASE).orElseThrow().lease();
    assertThat(
            queue.fail(first, "scanner unreachable", Optional.of(clock.instant().plusSeconds(10))))
        .hasValue(JobState.QUEUED);
    Job waiting = queue.get(id).orElseThrow();
    assertThat(waiting.state()).isEqualTo(JobState.QUEUED);
    assertThat(waiting.error()).hasValue("scanner unreachable");
    assertThat(queue.claim("node-1", List.of("scan"), LEASE))
        .as("not before the retry time")
        .isEmpty();

    clock.advance(Duration.ofSeconds(10));
    Lease second = queue.claim("node-1", List.of("scan"), LEASE).orElseThrow().lease();
    assertThat(second.attempt()).isEqualTo(2);
    assertThat(queue.fail(second, "scanner unreachable again", Optional.of(clock.instant())))
        .as("no attempt left")
        .hasValue(JobState.FAILED);
    Job failed = queue.get(id).orElseThrow();
    assertThat(failed.state()).isEqualTo(JobState.FAILED);
    assertThat(failed.attempts()).isEqualTo(2);
    assertThat(failed.error()).hasValue("scanner unreachable again");
    assertThat(queue.claim("node-1", List.of("scan"), LEASE)).isEmpty();

    // Without a retry time the job is given up at once, whatever attempts it has left.
    long other = queue.enqueue(NewJob.of("scan", "{}").withMaxAttempts(5));
    Lease lease = queue.claim("node-1", List.of("scan"), LEASE).orElseThrow().lease();
    assertThat(queue.fail(lease, "bad payload", Optional.empty())).hasValue(JobState.FAILED);
    assertThat(queue.get(other).orElseThrow().state()).isEqualTo(JobState.FAILED);
  }

  @Test
  void aUniqueKeyAdmitsOnePendingJob() {
    SqlJobQueue queue = queue();
    NewJob gc = NewJob.of("gc", "{}").withUniqueKey("gc:full");
    long id = queue.enqueue(gc);
    assertThat(queue.enqueue(gc)).as("while queued").isEqualTo(id);
    assertThat(queue.enqueue(NewJob.of("gc", "{\"other\":true}").withUniqueKey("gc:full")))
        .isEqualTo(id);
    long unkeyed = queue.enqueue(NewJob.of("gc", "{}"));
    assertThat(unkeyed).isNotEqualTo(id);

    Lease lease = queue.claim("node-1", List.of("gc"), LEASE).orElseThrow().lease();
    assertThat(lease.jobId()).isEqualTo(id);
    assertThat(queue.enqueue(gc)).as("while running").isEqualTo(id);
    assertThat(queue.list(JobFilter.ALL.withType("gc"), 0, 100)).hasSize(2);

    assertThat(queue.complete(lease, "")).isTrue();
    long next = queue.enqueue(gc);
    assertThat(next).as("once finished, the key is free again").isNotIn(id, unkeyed);
  }

  @Test
  void concurrentEnqueuesWithOneKeyMakeOneJob() throws Exception {
    List<SqlJobQueue> queues = List.of(queue(), new SqlJobQueue(node(), clock));
    ExecutorService threads = Executors.newFixedThreadPool(8);
    Set<Long> ids = new HashSet<>();
    try {
      List<Future<Long>> futures = new ArrayList<>();
      for (int t = 0; t < 8; t++) {
        SqlJobQueue mine = queues.get(t % 2);
        futures.add(
            threads.submit(() -> mine.enqueue(NewJob.of("gc", "{}").withUniqueKey("gc:once"))));
      }
      for (Future<Long> future : futures) {
        ids.add(future.get(30, TimeUnit.SECONDS));
      }
    } finally {
      threads.shutdownNow();
    }
    assertThat(ids).hasSize(1);
    assertThat(queue().list(JobFilter.ALL, 0, 100)).hasSize(1);
  }

  @Test
  void listFiltersByTypeAndStateAndPagesById() {
    SqlJobQueue queue = queue();
    List<Long> scans = new ArrayList<>();
    for (int i = 0; i < 5; i++) {
      scans.add(queue.enqueue(NewJob.of("scan", "{}")));
      queue.enqueue(NewJob.of("gc", "{}"));
    }
    List<Job> page1 = queue.list(JobFilter.ALL.withType("scan"), 0, 2);
    List<Job> page2 = queue.list(JobFilter.ALL.withType("scan"), page1.getLast().id(), 2);
    List<Job> page3 = queue.list(JobFilter.ALL.withType("scan"), page2.getLast().id(), 2);
    assertThat(page1).extracting(Job::id).containsExactly(scans.get(0), scans.get(1));
    assertThat(page2).extracting(Job::id).containsExactly(scans.get(2), scans.get(3));
    assertThat(page3).extracting(Job::id).containsExactly(scans.get(4));

    Lease lease = queue.claim("node-1", List.of("scan"), LEASE).orElseThrow().lease();
    queue.complete(lease, "ok");
    assertThat(queue.list(JobFilter.ALL.withType("scan").withState(JobState.SUCCEEDED), 0, 10))
        .extracting(Job::id)
        .containsExactly(scans.get(0));
    assertThat(queue.list(JobFilter.ALL.withState(JobState.QUEUED), 0, 100)).hasSize(9);
    assertThat(queue.list(JobFilter.ALL, 0, 100)).hasSize(10);
  }

  // --- the worker
  // ----------------------------------------------------------------------------------

  @Test
  void workerRunsTasksKeepsTheirLeaseAliveRetriesFailuresAndStops() throws Exception {
    Clock real = Clock.systemUTC();
    SqlJobQueue queue = new SqlJobQueue(database, real);
    AtomicInteger flakyRuns = new AtomicInteger();
    Duration lease = Duration.ofMillis(500);
    Worker worker = new Worker(
        queue,
        "node-1",
        Map.of(
            // Runs for longer than its lease: only heartbeats keep another node off it.
            "slow",
                job -> {
                  Thread.sleep(1200);
                  return "{\"slept\":1200}";
                },
            "flaky",
                job -> {
                  if (flakyRuns.incrementAndGet() == 1) {
                    throw new IllegalStateException("first run fails");
                  }
                  return "{\"run\":" + flakyRuns.get() + "}";
                }),
        real,
        new Worker.Settings(lease, Duration.ofMillis(20), Duration.ZERO, 2, Duration.ofSeconds(5)));
    SqlJobQueue otherNode = new SqlJobQueue(node(), real);
    long slow = queue.enqueue(NewJob.of("slow", "{}"));
    long flaky = queue.enqueue(NewJob.of("flaky", "{}"));
    worker.start();
    try {
      long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(10);
      while (System.nanoTime() < deadline
          && queue.get(slow).orElseThrow().state() == JobState.QUEUED) {
        Thread.sleep(5);
      }
      while (System.nanoTime() < deadline
          && !(queue.get(slow).orElseThrow().state().isFinal()
              && queue.get(flaky).orElseThrow().state().isFinal())) {
        assertThat(otherNode.claim("node-2", List.of("slow"), lease))
            .as("a job whose node is alive is never taken over")
            .isEmpty();
        Thread.sleep(50);
      }
    } finally {
      worker.close();
    }
    Job slowJob = queue.get(slow).orElseThrow();
    assertThat(slowJob.state()).isEqualTo(JobState.SUCCEEDED);
    assertThat(slowJob.attempts()).isEqualTo(1);
    assertThat(slowJob.result()).hasValue("{\"slept\":1200}");
    Job flakyJob = queue.get(flaky).orElseThrow();
    assertThat(flakyJob.state()).isEqualTo(JobState.SUCCEEDED);
    assertThat(flakyJob.attempts()).isEqualTo(2);
    assertThat(flakyJob.result()).hasValue("{\"run\":2}");
  }

  @Test
  void aWorkerOnAnotherNodeFinishesTheJobOfANodeThatDied() throws Exception {
    Clock real = Clock.systemUTC();
    SqlJobQueue deadNode = new SqlJobQueue(database, real);
    long id = deadNode.enqueue(NewJob.of("replicate", "{}"));
    // Node 1 claims the job and dies: it never heartbeats nor completes.
    deadNode.claim("node-1", List.of("replicate"), Duration.ofMillis(300)).orElseThrow();

    SqlJobQueue live = new SqlJobQueue(node(), real);
    Worker worker = new Worker(
        live,
        "node-2",
        Map.of("replicate", job -> "{\"attempt\":" + job.attempts() + "}"),
        real,
        new Worker.Settings(
            Duration.ofSeconds(30),
            Duration.ofMillis(20),
            Duration.ZERO,
            1,
            Duration.ofSeconds(5)));
    worker.start();
    try {
      long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(10);
      while (System.nanoTime() < deadline && !live.get(id).orElseThrow().state().isFinal()) {
        Thread.sleep(20);
      }
    } finally {
      worker.close();
    }
    Job job = live.get(id).orElseThrow();
    assertThat(job.state()).isEqualTo(JobState.SUCCEEDED);
    assertThat(job.leaseOwner()).hasValue("node-2");
    assertThat(job.result()).hasValue("{\"attempt\":2}");
  }

  @Test
  void stoppingWorkerInterruptsTasksPastTheGraceAndRequeuesThem() throws Exception {
    Clock real = Clock.systemUTC();
    SqlJobQueue queue = new SqlJobQueue(database, real);
    CountDownLatch started = new CountDownLatch(1);
    Worker worker = new Worker(
        queue,
        "node-1",
        Map.of("forever", job -> {
          started.countDown();
          Thread.sleep(Long.MAX_VALUE);
          return "";
        }),
        real,
        new Worker.Settings(
            Duration.ofSeconds(30),
            Duration.ofMillis(20),
            Duration.ofSeconds(60),
            1,
            Duration.ofMillis(200)));
    long id = queue.enqueue(NewJob.of("forever", "{}"));
    worker.start();
    assertThat(started.await(10, TimeUnit.SECONDS)).isTrue();
    long before = System.nanoTime();
    worker.close();
    assertThat(Duration.ofNanos(System.nanoTime() - before)).isLessThan(Duration.ofSeconds(5));

    Job job = queue.get(id).orElseThrow();
    assertThat(job.state())
        .as("back in the queue for another node, at once")
        .isEqualTo(JobState.QUEUED);
    assertThat(job.runAfter()).isBeforeOrEqualTo(real.instant());
    assertThat(job.error()).hasValueSatisfying(e -> assertThat(e).contains("Interrupted"));
  }

  // --- the scheduler
  // -------------------------------------------------------------------------------

  @Test
  void aScheduleFiresOncePerPeriodAcrossThreeNodes() throws Exception {
    Clock real = Clock.systemUTC();
    Duration interval = Duration.ofMillis(200);
    List<Scheduler> schedulers = new ArrayList<>();
    for (int i = 0; i < 3; i++) {
      Database node = i == 0 ? database : node();
      schedulers.add(new Scheduler(node, new SqlJobQueue(node, real), real, Duration.ofMillis(10)));
    }
    // Every node defines it at start-up, as Main would; the first definition wins the timing.
    for (Scheduler scheduler : schedulers) {
      scheduler.define("tick", "tick", "{\"schedule\":\"tick\"}", interval);
    }
    Instant first = schedulers.getFirst().get("tick").orElseThrow().nextRunAt();
    schedulers.forEach(Scheduler::start);
    Thread.sleep(interval.multipliedBy(7).toMillis() + 100);
    schedulers.forEach(Scheduler::close);
    Instant next = schedulers.getFirst().get("tick").orElseThrow().nextRunAt();

    List<Job> ticks = queue().list(JobFilter.ALL.withType("tick"), 0, 1000);
    List<Instant> fired = ticks.stream().map(Job::runAfter).sorted().toList();
    long periods = Duration.between(first, next).toMillis() / interval.toMillis();
    assertThat(fired).as("one job per firing time").doesNotHaveDuplicates();
    assertThat(fired)
        .as("every firing is a point of the schedule's grid")
        .allSatisfy(at -> assertThat(Duration.between(first, at).toMillis() % interval.toMillis())
            .isZero());
    assertThat(fired).first().isEqualTo(first);
    assertThat(fired).last().satisfies(at -> assertThat(at).isBefore(next));
    assertThat(periods).isGreaterThanOrEqualTo(5);
    // A firing is skipped only if no node looked at the schedule for a whole interval.
    assertThat((long) fired.size()).isBetween(periods - 1, periods);
  }

  @Test
  void aSchedulerCoalescesMissedPeriodsAndKeepsItsGrid() {
    Scheduler scheduler = new Scheduler(database, queue(), clock, Duration.ofSeconds(1));
    Instant start = clock.instant();
    Schedule defined = scheduler.define("daily-gc", "gc", "{}", Duration.ofMinutes(1));
    assertThat(defined.nextRunAt()).isEqualTo(start.plus(Duration.ofMinutes(1)));
    assertThat(scheduler.fireDue()).as("not due yet").isZero();

    // Every node was down for five and a half periods: one firing, and the grid is kept.
    clock.advance(Duration.ofSeconds(330));
    assertThat(scheduler.fireDue()).isEqualTo(1);
    assertThat(scheduler.fireDue()).isZero();
    assertThat(scheduler.get("daily-gc").orElseThrow().nextRunAt())
        .isEqualTo(start.plus(Duration.ofMinutes(6)));
    List<Job> jobs = queue().list(JobFilter.ALL.withType("gc"), 0, 10);
    assertThat(jobs)
        .singleElement()
        .satisfies(j -> assertThat(j.runAfter()).isEqualTo(start.plus(Duration.ofMinutes(1))));

    // Defining it again (another node starting) keeps the agreed firing time.
    clock.advance(Duration.ofSeconds(10));
    Schedule again =
        scheduler.define("daily-gc", "gc", "{\"deleteUntagged\":true}", Duration.ofMinutes(1));
    assertThat(again.nextRunAt()).isEqualTo(start.plus(Duration.ofMinutes(6)));
    assertThat(again.payload()).isEqualTo("{\"deleteUntagged\":true}");
    assertThat(scheduler.list()).extracting(Schedule::name).containsExactly("daily-gc");
    assertThat(scheduler.remove("daily-gc")).isTrue();
    assertThat(scheduler.get("daily-gc")).isEmpty();
  }

  /** A clock the tests move by hand, so that leases and retry times pass without waiting. */
  private static final class TestClock extends Clock {
    private final AtomicLong millis;

    TestClock(Instant start) {
      this.millis = new AtomicLong(start.toEpochMilli());
    }

    void advance(Duration duration) {
      millis.addAndGet(duration.toMillis());
    }

    @Override
    public java.time.ZoneId getZone() {
      return ZoneOffset.UTC;
    }

    @Override
    public Clock withZone(java.time.ZoneId zone) {
      throw new UnsupportedOperationException();
    }

    @Override
    public long millis() {
      return millis.get();
    }

    @Override
    public Instant instant() {
      return Instant.ofEpochMilli(millis.get());
    }
  }
}
