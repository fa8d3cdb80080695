package dev.berth.auth;

import dev.berth.jobs.Job;
import dev.berth.jobs.Scheduler;
import dev.berth.jobs.Task;
import java.time.Duration;
import java.util.Map;

/**
 * Deletes ended browser sessions every hour, on the job queue (decision 010), so that sessions
 * never presented again do not pile up; lookups delete the ended sessions they meet anyway.
 */
public final class PurgeSessionsJob {
  /** The job type. */
  public static final String PURGE = "session.purge";
  /** The schedule's name in {@code schedules}. */
  public static final String SCHEDULE = "session-purge";

  private final SessionService sessions;

  public PurgeSessionsJob(SessionService sessions) {
    this.sessions = sessions;
  }

  /** The task to register with a {@link dev.berth.jobs.Worker}. */
  public Map<String, Task> tasks() {
    return Map.of(PURGE, this::run);
  }

  /** Defines the hourly schedule; the scheduler itself is the caller's to start. */
  public void schedule(Scheduler scheduler) {
    scheduler.define(SCHEDULE, PURGE, "{}", Duration.ofHours(1));
  }

  private String run(Job job) {
    return "{\"deleted\":" + sessions.purgeExpired() + "}";
  }
}
