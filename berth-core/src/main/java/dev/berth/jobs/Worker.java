package dev.berth.jobs;

import java.time.Clock;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Objects;
import java.util.Optional;
import java.util.Set;
import java.util.concurrent.CancellationException;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.FutureTask;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.TimeoutException;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * A node's workers: loops that claim jobs of the registered types from a {@link JobQueue} and run
 * their {@link Task}s, keeping each job's lease alive while its task runs, then completing it or
 * recording the failure (retried after an exponential back-off while attempts remain).
 *
 * <p>Each task runs on a virtual thread of its own while the loop that claimed it waits for it and
 * heartbeats the lease every third of the lease duration. So an interrupt only ever reaches task
 * code: the loop's own database calls are never interrupted (an interrupt can close a connection
 * mid-statement). If a heartbeat finds the lease lost (this node stalled past it and another node
 * took the job over), the task is interrupted and its outcome discarded.
 *
 * <p>{@link #close} stops gracefully: no new claims, running tasks get {@link Settings#stopGrace}
 * to finish; then they are interrupted, and a task that ends by throwing is queued again to run at
 * once on another node (the attempt counts).
 */
public final class Worker implements AutoCloseable {
  private static final Logger log = LoggerFactory.getLogger(Worker.class);
  private static final Duration MAX_BACKOFF = Duration.ofHours(1);
  private static final int MAX_ERROR_LENGTH = 2000;

  /**
   * @param lease how long a claim holds a job without a heartbeat; a dead node's job waits this
   *     long before another node takes it
   * @param pollInterval how long an idle loop waits before it looks for work again
   * @param retryBackoff the wait before the first retry of a failed job, doubled for each further one
   * @param concurrency jobs this node runs at once
   * @param stopGrace how long {@link #close} lets running tasks finish before interrupting them
   */
  public record Settings(
      Duration lease,
      Duration pollInterval,
      Duration retryBackoff,
      int concurrency,
      Duration stopGrace) {
    public static final Settings DEFAULT = new Settings(
        Duration.ofSeconds(30),
        Duration.ofSeconds(1),
        Duration.ofSeconds(10),
        2,
        Duration.ofSeconds(30));

    public Settings {
      for (Duration d : List.of(lease, pollInterval, stopGrace)) {
        if (d.isNegative() || d.isZero()) {
          throw new IllegalArgumentException("worker durations must be positive, got " + d);
        }
      }
      if (retryBackoff.isNegative()) {
        throw new IllegalArgumentException(
            "retryBackoff must not be negative, got " + retryBackoff);
      }
      if (concurrency < 1) {
        throw new IllegalArgumentException("concurrency must be at least 1, got " + concurrency);
      }
    }
  }

  private final JobQueue queue;
  private final String nodeId;
  private final Map<String, Task> tasks;
  private final Clock clock;
  private final Settings settings;
  private final CountDownLatch stopping = new CountDownLatch(1);
  private final Set<Thread> running = ConcurrentHashMap.newKeySet();
  private final List<Thread> loops = new ArrayList<>();

  public Worker(
      JobQueue queue, String nodeId, Map<String, Task> tasks, Clock clock, Settings settings) {
    this.queue = Objects.requireNonNull(queue, "queue");
    this.nodeId = Objects.requireNonNull(nodeId, "nodeId");
    this.tasks = Map.copyOf(tasks);
    this.clock = Objects.requireNonNull(clock, "clock");
    this.settings = Objects.requireNonNull(settings, "settings");
    if (this.tasks.isEmpty()) {
      throw new IllegalArgumentException("a worker needs at least one task type");
    }
  }

  /** Starts {@link Settings#concurrency} loops on virtual threads. */
  public synchronized void start() {
    if (!loops.isEmpty()) {
      throw new IllegalStateException("worker already started");
    }
    for (int i = 0; i < settings.concurrency(); i++) {
      loops.add(Thread.ofVirtual().name("berth-worker-" + nodeId + "-" + i).start(this::loop));
    }
  }

  private void loop() {
    try {
      while (stopping.getCount() > 0) {
        boolean ran;
        try {
          ran = runOnce();
        } catch (RuntimeException e) {
          log.warn("claiming a job failed: {}", e.getMessage());
          ran = false;
        }
        if (!ran && stopping.await(settings.pollInterval().toMillis(), TimeUnit.MILLISECONDS)) {
          return;
        }
      }
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
    }
  }

  /**
   * Claims one job and runs it to its end on this thread's watch.
   *
   * @return false when there was nothing to run
   */
  public boolean runOnce() {
    Optional<ClaimedJob> claimed = queue.claim(nodeId, tasks.keySet(), settings.lease());
    if (claimed.isEmpty()) {
      return false;
    }
    execute(claimed.get());
    return true;
  }

  private void execute(ClaimedJob claimed) {
    Job job = claimed.job();
    Lease lease = claimed.lease();
    Task task = tasks.get(job.type());
    FutureTask<String> run = new FutureTask<>(() -> task.run(job));
    Thread thread = Thread.ofVirtual().name("berth-job-" + job.id()).unstarted(run);
    running.add(thread);
    thread.start();
    long heartbeatMillis = Math.max(1, settings.lease().toMillis() / 3);
    try {
      while (true) {
        try {
          String result = run.get(heartbeatMillis, TimeUnit.MILLISECONDS);
          if (!queue.complete(lease, result == null ? "" : result)) {
            log.warn(
                "job {} finished on {} after its lease was lost; its result is dropped",
                job.id(),
                nodeId);
          }
          return;
        } catch (TimeoutException e) {
          Optional<Lease> extended = heartbeat(lease);
          if (extended.isPresent()) {
            lease = extended.get();
            continue;
          }
          log.warn("lease of job {} lost by {}: interrupting its task", job.id(), nodeId);
          thread.interrupt();
          thread.join(settings.stopGrace());
          return;
        } catch (ExecutionException e) {
          failed(job, lease, e.getCause());
          return;
        } catch (CancellationException e) {
          failed(job, lease, e);
          return;
        }
      }
    } catch (InterruptedException e) {
      // Loops are not interrupted; if one is anyway, leave the job to its lease.
      thread.interrupt();
      Thread.currentThread().interrupt();
    } finally {
      running.remove(thread);
    }
  }

  /** Extends the lease; a database error is retried at the next beat while the lease lasts. */
  private Optional<Lease> heartbeat(Lease lease) {
    try {
      return queue.heartbeat(lease, settings.lease());
    } catch (RuntimeException e) {
      log.warn("heartbeat of job {} failed: {}", lease.jobId(), e.getMessage());
      return clock.instant().isBefore(lease.expiresAt()) ? Optional.of(lease) : Optional.empty();
    }
  }

  private void failed(Job job, Lease lease, Throwable cause) {
    Instant retryAt;
    if (stopping.getCount() == 0) {
      retryAt = clock.instant(); // stopped, not broken: another node may take it at once
    } else {
      Duration backoff = settings
          .retryBackoff()
          .multipliedBy(1L << Math.min(20, Math.max(0, lease.attempt() - 1)));
      retryAt = clock.instant().plus(backoff.compareTo(MAX_BACKOFF) > 0 ? MAX_BACKOFF : backoff);
    }
    String message = cause.getClass().getName() + ": " + cause.getMessage();
    if (message.length() > MAX_ERROR_LENGTH) {
      message = message.substring(0, MAX_ERROR_LENGTH);
    }
    Optional<JobState> state = queue.fail(lease, message, Optional.of(retryAt));
    if (state.isEmpty()) {
      log.warn("job {} failed on {} after its lease was lost: {}", job.id(), nodeId, message);
    } else if (state.get() == JobState.FAILED) {
      log.warn(
          "job {} ({}) failed for good after {} attempts: {}",
          job.id(),
          job.type(),
          lease.attempt(),
          message);
    } else {
      log.info(
          "job {} ({}) failed attempt {}, retrying at {}: {}",
          job.id(),
          job.type(),
          lease.attempt(),
          retryAt,
          message);
    }
  }

  /** Stops claiming, lets running tasks finish within the grace period, then interrupts them. */
  @Override
  public synchronized void close() {
    stopping.countDown();
    try {
      long deadline = System.nanoTime() + settings.stopGrace().toNanos();
      for (Thread loop : loops) {
        loop.join(Duration.ofNanos(Math.max(1, deadline - System.nanoTime())));
      }
      running.forEach(Thread::interrupt);
      for (Thread loop : loops) {
        loop.join(Duration.ofSeconds(10));
      }
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
    }
  }
}
