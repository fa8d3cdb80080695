package dev.berth.jobs;

import java.time.Instant;
import java.util.Objects;

/**
 * A node's hold on a running job, returned by {@link JobQueue#claim}. The attempt number fences it:
 * once the lease expired and the job was claimed again (by any node), this lease no longer
 * completes, fails or extends the job.
 */
public record Lease(long jobId, String nodeId, int attempt, Instant expiresAt) {
  public Lease {
    Objects.requireNonNull(nodeId, "nodeId");
    Objects.requireNonNull(expiresAt, "expiresAt");
  }
}
