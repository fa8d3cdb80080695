package dev.berth.jobs;

import java.util.Objects;

/** A job a node has just claimed ({@link JobState#RUNNING}), and the lease it holds on it. */
public record ClaimedJob(Job job, Lease lease) {
  public ClaimedJob {
    Objects.requireNonNull(job, "job");
    Objects.requireNonNull(lease, "lease");
  }
}
