package dev.berth.jobs;

import java.time.Duration;
import java.time.Instant;
import java.util.Collection;
import java.util.List;
import java.util.Optional;

/**
 * Background work any node can take (the SPI; {@code JobQueueContract} is its behaviour). Jobs are
 * durable rows; a node claims one for a lease, keeps the lease alive by heartbeats while its task
 * runs, and completes or fails it. A node that dies loses its lease when it expires, and the job
 * becomes claimable by any other node. States and transitions: {@link JobState}.
 *
 * <p>Delivery is at least once: a job whose node died, or which failed and is retried, runs again.
 * Two claims never hold the same job at the same time.
 */
public interface JobQueue {
  /**
   * Adds a job, or, when its unique key is held by a queued or running job, returns that job's id
   * and adds nothing.
   */
  long enqueue(NewJob job);

  /**
   * Claims the oldest runnable job (the first enqueued) of one of these types, for {@code lease}.
   * Runnable: queued with {@code runAfter} passed, which includes running jobs whose lease expired
   * (they are put back to queued, or failed if no attempt is left, by this call). Exclusive across
   * threads and nodes. A retried job keeps its place: once its retry time has passed it goes before
   * jobs enqueued after it.
   *
   * @return empty when nothing of these types is runnable now
   */
  Optional<ClaimedJob> claim(String nodeId, Collection<String> types, Duration lease);

  /**
   * Extends a lease to {@code duration} from now.
   *
   * @return the extended lease, or empty when it was lost (the job was claimed again or finished)
   */
  Optional<Lease> heartbeat(Lease lease, Duration duration);

  /**
   * Marks the job succeeded with its result.
   *
   * @return false when the lease was lost (another claim holds the job now; nothing is changed)
   */
  boolean complete(Lease lease, String result);

  /**
   * Records a failed attempt: the job is queued again to run after {@code retryAt} if it has
   * attempts left, else it is failed for good.
   *
   * @param retryAt when to try again; empty gives up now whatever the attempts left
   * @return the job's new state, or empty when the lease was lost (nothing is changed)
   */
  Optional<JobState> fail(Lease lease, String error, Optional<Instant> retryAt);

  Optional<Job> get(long id);

  /**
   * Jobs matching the filter, by id, after {@code afterId} (0 for the first page), at most {@code
   * limit}: pass the last id of a page to get the next.
   */
  List<Job> list(JobFilter filter, long afterId, int limit);
}
