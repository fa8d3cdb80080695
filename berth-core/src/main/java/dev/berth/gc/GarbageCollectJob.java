package dev.berth.gc;

import dev.berth.oci.ErrorCode;
import dev.berth.oci.RegistryException;
import java.time.Clock;
import java.time.Duration;
import java.time.Instant;
import java.util.Map;
import java.util.Optional;
import java.util.concurrent.atomic.AtomicLong;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Runs garbage collection in the background: on demand ({@link #submit}) and on the schedule,
 * one run at a time per process, each on a virtual thread of its own. A request while a run is in
 * progress is refused ({@code 409}, naming the running run) rather than queued: a queued run
 * would find almost nothing the running one leaves, and a client can poll and retry.
 *
 * <p>This is the stand-in for the database job queue (issue 3): it only decides when {@link
 * GarbageCollectService#start} and {@link GarbageCollectService#collect} are called, so the queue
 * can replace it without changing the service. Several nodes on one PostgreSQL database each run
 * their own; that is safe (every deletion is claimed under the digest's lock), only redundant.
 */
public final class GarbageCollectJob implements AutoCloseable {
  private static final Logger log = LoggerFactory.getLogger(GarbageCollectJob.class);

  private final GarbageCollectService service;
  private final GarbageCollectSchedule schedule;
  private final boolean scheduledDeleteUntagged;
  private final Clock clock;
  /** The id of the run in progress, 0 when none. */
  private final AtomicLong running = new AtomicLong();

  private volatile Thread scheduler;
  private volatile boolean closed;

  public GarbageCollectJob(
      GarbageCollectService service,
      String schedule,
      boolean scheduledDeleteUntagged,
      Clock clock) {
    this.service = service;
    this.schedule = GarbageCollectSchedule.parse(schedule);
    this.scheduledDeleteUntagged = scheduledDeleteUntagged;
    this.clock = clock;
  }

  /** Marks runs a stopped process left behind, and starts the schedule (if any). */
  public GarbageCollectJob start() {
    int interrupted = service.markInterrupted();
    if (interrupted > 0) {
      log.warn(
          "{} garbage collection run(s) were interrupted by a stop; the next run finishes their work",
          interrupted);
    }
    if (!(schedule instanceof GarbageCollectSchedule.Off)) {
      scheduler = Thread.ofVirtual().name("berth-gc-schedule").start(this::scheduleLoop);
    }
    return this;
  }

  /**
   * Starts a run in the background and returns its id at once.
   *
   * @throws RegistryException CONFLICT while another run of this process is in progress
   */
  public long submit(GarbageCollectService.Options options, String trigger) {
    if (closed) {
      throw new RegistryException(ErrorCode.UNAVAILABLE, "shutting down");
    }
    if (!running.compareAndSet(0, -1)) {
      long current = running.get();
      throw new RegistryException(
          ErrorCode.CONFLICT,
          "a garbage collection run is in progress" + (current > 0 ? " (run " + current + ")" : ""),
          current > 0 ? Map.of("running", current) : null);
    }
    long id;
    try {
      id = service.start(options, trigger);
    } catch (RuntimeException e) {
      running.set(0);
      throw e;
    }
    running.set(id);
    Thread.ofVirtual().name("berth-gc-" + id).start(() -> {
      try {
        service.collect(id, options);
      } catch (RuntimeException e) {
        log.error("garbage collection run {} could not be recorded", id, e);
      } finally {
        running.set(0);
      }
    });
    return id;
  }

  /** The run in progress, if any. */
  public Optional<Long> runningRun() {
    long id = running.get();
    return id > 0 ? Optional.of(id) : Optional.empty();
  }

  private void scheduleLoop() {
    Instant next = schedule.next(clock.instant()).orElseThrow();
    while (!closed) {
      try {
        Duration wait = Duration.between(clock.instant(), next);
        if (wait.isPositive()) {
          Thread.sleep(wait);
          continue;
        }
        try {
          submit(new GarbageCollectService.Options(false, scheduledDeleteUntagged), "schedule");
        } catch (RegistryException e) {
          log.info("scheduled garbage collection skipped: {}", e.getMessage());
        }
        next = schedule.next(clock.instant()).orElseThrow();
      } catch (InterruptedException e) {
        return;
      }
    }
  }

  /** Stops the schedule; a run in progress stops with the process (the next run resumes it). */
  @Override
  public void close() {
    closed = true;
    Thread thread = scheduler;
    if (thread != null) {
      thread.interrupt();
    }
  }
}
