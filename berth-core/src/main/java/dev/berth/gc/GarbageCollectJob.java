package dev.berth.gc;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ObjectNode;
import dev.berth.jobs.Job;
import dev.berth.jobs.JobFilter;
import dev.berth.jobs.JobState;
import dev.berth.jobs.Lease;
import dev.berth.jobs.NewJob;
import dev.berth.jobs.Task;
import dev.berth.jobs.sql.SqlJobQueue;
import dev.berth.metadata.Database;
import dev.berth.oci.ErrorCode;
import dev.berth.oci.RegistryException;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.time.Duration;
import java.time.Instant;
import java.util.Map;
import java.util.Optional;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Garbage collection as jobs on the database job queue (decisions 008, 010): the thin adapter
 * between the queue and {@link GarbageCollectService}, which it leaves unchanged.
 *
 * <ul>
 *   <li>{@link #submit} records the run ({@link GarbageCollectService#start}) and enqueues a {@value
 *       #COLLECT} job naming it, with the unique key {@value #UNIQUE_KEY}, in one transaction. The
 *       key admits one queued or running GC job cluster-wide: when one is pending, the transaction
 *       rolls back (no run is recorded) and the request is refused ({@code 409}, naming the
 *       pending run), as a second pass would find almost nothing the first one leaves.
 *   <li>The {@value #COLLECT} task, on whichever node's worker claims the job, calls {@link
 *       GarbageCollectService#collect} on that run. A retry (the node died and the lease expired)
 *       re-uses the same run row: {@code collect} overwrites its outcome with the retry's own
 *       counts, so nothing is counted twice.
 *   <li>{@code gc.schedule} is a cluster-wide {@link dev.berth.jobs.Schedule} ({@value
 *       #SCHEDULE}) that enqueues a {@value #SCHEDULED} job; its task {@link #submit}s a run with
 *       trigger {@code schedule}, and is skipped when a run is pending. (Schedules enqueue jobs
 *       without a unique key, hence the small trigger job.)
 * </ul>
 */
public final class GarbageCollectJob {
  private static final Logger log = LoggerFactory.getLogger(GarbageCollectJob.class);

  /** The job that executes one recorded run; payload {@code {"run":id,"dryRun":…,"deleteUntagged":…}}. */
  public static final String COLLECT = "gc.collect";
  /** The job a schedule firing enqueues; payload {@code {"deleteUntagged":…}}. */
  public static final String SCHEDULED = "gc.schedule";
  /** Held by the one queued or running {@value #COLLECT} job. */
  public static final String UNIQUE_KEY = "gc";
  /** The name of the GC schedule in {@code schedules}. */
  public static final String SCHEDULE = "gc";

  private final GarbageCollectService service;
  private final Database database;
  private final SqlJobQueue queue;
  private final ObjectMapper json = new ObjectMapper();

  public GarbageCollectJob(GarbageCollectService service, Database database, SqlJobQueue queue) {
    this.service = service;
    this.database = database;
    this.queue = queue;
  }

  /** {@link #start(String)} for a caller with no worker of its own (nothing of its to release). */
  public GarbageCollectJob start() {
    return start(null);
  }

  /**
   * Cleans up after a stopped process, before this node's worker starts. GC jobs still running
   * under {@code nodeId} were held by this node's previous process (one process per data
   * directory, and the node id is kept there), which died: they are failed for good now rather
   * than retried when their lease expires, so their runs count as interrupted and the next run
   * finishes their work, as on a single node before the queue. Then runs left running are marked
   * interrupted unless a GC job is still pending (its retry finishes its run, and it marks the
   * others when it starts).
   *
   * @param nodeId this node's id on the queue, null for none
   */
  public GarbageCollectJob start(String nodeId) {
    if (nodeId != null) {
      for (Job job : queue.list(JobFilter.ALL.withState(JobState.RUNNING), 0, 1000)) {
        if (tasks().containsKey(job.type()) && job.leaseOwner().equals(Optional.of(nodeId))) {
          queue.fail(
              new Lease(
                  job.id(), nodeId, job.attempts(), job.leaseExpiresAt().orElse(Instant.EPOCH)),
              "node " + nodeId + " stopped during the job",
              Optional.empty());
        }
      }
    }
    int interrupted = service.markInterruptedWithoutJob(COLLECT);
    if (interrupted > 0) {
      log.warn(
          "{} garbage collection run(s) were interrupted by a stop; the next run finishes their work",
          interrupted);
    }
    return this;
  }

  /** The tasks to register with a {@link dev.berth.jobs.Worker}. */
  public Map<String, Task> tasks() {
    return Map.of(COLLECT, this::collect, SCHEDULED, this::scheduled);
  }

  /** The payload of the schedule's {@value #SCHEDULED} jobs. */
  public String schedulePayload(boolean deleteUntagged) {
    return json.createObjectNode().put("deleteUntagged", deleteUntagged).toString();
  }

  /**
   * The fixed interval of a {@code gc.schedule} setting on the job scheduler: {@code @hourly} is
   * one hour, {@code @daily} one day, an interval itself; empty when off.
   */
  public static Optional<Duration> interval(String schedule) {
    return switch (GarbageCollectSchedule.parse(schedule)) {
      case GarbageCollectSchedule.Off off -> Optional.empty();
      case GarbageCollectSchedule.Hourly hourly -> Optional.of(Duration.ofHours(1));
      case GarbageCollectSchedule.Daily daily -> Optional.of(Duration.ofDays(1));
      case GarbageCollectSchedule.Every every -> Optional.of(every.interval());
    };
  }

  /**
   * Records a run and enqueues its job; returns the run's id at once.
   *
   * @throws RegistryException CONFLICT while a GC job is queued or running on any node
   */
  public long submit(GarbageCollectService.Options options, String trigger) {
    return database.write(c -> {
      long run = service.start(c, options, trigger);
      ObjectNode payload = json.createObjectNode()
          .put("run", run)
          .put("dryRun", options.dryRun())
          .put("deleteUntagged", options.deleteUntagged());
      long jobId =
          queue.enqueue(c, NewJob.of(COLLECT, payload.toString()).withUniqueKey(UNIQUE_KEY));
      Optional<Long> pending = queue.get(c, jobId).map(this::runOf);
      if (pending.isPresent() && pending.get() == run) {
        return run;
      }
      // Another run holds the key: roll back this one's row and name that run.
      throw conflict(pending);
    });
  }

  /** The run queued or in progress (on any node), if any. */
  public Optional<Long> runningRun() {
    // Queued first: a job moves from queued to running, so it cannot slip between the two looks.
    for (JobState state : new JobState[] {JobState.QUEUED, JobState.RUNNING}) {
      for (Job job : queue.list(JobFilter.ALL.withType(COLLECT).withState(state), 0, 1)) {
        return Optional.of(runOf(job));
      }
    }
    return Optional.empty();
  }

  private static RegistryException conflict(Optional<Long> run) {
    return new RegistryException(
        ErrorCode.CONFLICT,
        "a garbage collection run is in progress"
            + run.map(id -> " (run " + id + ")").orElse(""),
        run.<Map<String, Object>>map(id -> Map.of("running", id)).orElse(null));
  }

  private String collect(Job job) {
    JsonNode payload = parse(job);
    long run = payload.path("run").asLong();
    GarbageCollectService.Options options = new GarbageCollectService.Options(
        payload.path("dryRun").asBoolean(), payload.path("deleteUntagged").asBoolean());
    if (job.attempts() > 1) {
      log.info("garbage collection run {} is retried (attempt {})", run, job.attempts());
    }
    // This job holds the only GC key: any other run still marked running was left by a stop.
    service.markInterruptedExcept(run);
    GarbageCollectRun finished = service.collect(run, options);
    return json.createObjectNode()
        .put("run", run)
        .put("status", finished.status())
        .toString();
  }

  private String scheduled(Job job) {
    boolean deleteUntagged = parse(job).path("deleteUntagged").asBoolean();
    try {
      long run = submit(new GarbageCollectService.Options(false, deleteUntagged), "schedule");
      return json.createObjectNode().put("run", run).toString();
    } catch (RegistryException e) {
      if (e.code() != ErrorCode.CONFLICT) {
        throw e;
      }
      log.info("scheduled garbage collection skipped: {}", e.getMessage());
      return json.createObjectNode().put("skipped", e.getMessage()).toString();
    }
  }

  private long runOf(Job job) {
    return parse(job).path("run").asLong();
  }

  private JsonNode parse(Job job) {
    try {
      return json.readTree(job.payload());
    } catch (IOException e) {
      throw new UncheckedIOException(e);
    }
  }
}
