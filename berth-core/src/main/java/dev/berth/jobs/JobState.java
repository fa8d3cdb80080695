package dev.berth.jobs;

import java.util.Locale;

/**
 * Where a job is in its life. The transitions, each made by one {@link JobQueue} call in one
 * transaction:
 *
 * <pre>
 *   enqueue ──► QUEUED ──claim──► RUNNING ──complete──► SUCCEEDED
 *                 ▲                 │  │
 *                 │                 │  └──fail, no attempt left (or no retry asked)──► FAILED
 *                 └──fail, retry────┤
 *                 └──lease expired──┘  (attempts left; none left: FAILED)
 * </pre>
 *
 * <ul>
 *   <li>{@code QUEUED}: waiting; claimable once its {@code runAfter} has passed.
 *   <li>{@code RUNNING}: one node holds a lease on it until {@code leaseExpiresAt} and extends it
 *       by heartbeats. A node that dies stops heartbeating; the next claim on any node finds the
 *       lease expired and puts the job back to {@code QUEUED} (so another node takes it), or to
 *       {@code FAILED} when it has used all its attempts. A lease is fenced by the claim's attempt
 *       number: a node whose lease was taken over can no longer complete, fail or extend it.
 *   <li>{@code SUCCEEDED}, {@code FAILED}: final, with the task's result or the last error.
 * </ul>
 *
 * A job's unique key (if any) admits one {@code QUEUED} or {@code RUNNING} job at a time.
 */
public enum JobState {
  QUEUED,
  RUNNING,
  SUCCEEDED,
  FAILED;

  /** The value stored in {@code jobs.state}. */
  public String column() {
    return name().toLowerCase(Locale.ROOT);
  }

  public static JobState ofColumn(String value) {
    return valueOf(value.toUpperCase(Locale.ROOT));
  }

  /** True for the states a job never leaves. */
  public boolean isFinal() {
    return this == SUCCEEDED || this == FAILED;
  }
}
