package dev.berth.jobs;

/**
 * The code behind one job type, run by a {@link Worker} on whichever node claims the job. A task
 * may run more than once for the same job (a node that dies mid-run loses its lease and another
 * node starts the job again), so it must be safe to repeat.
 */
@FunctionalInterface
public interface Task {
  /**
   * Runs the job; the returned text (JSON, or empty) is stored as its result. Throwing fails this
   * attempt: the job is retried after a back-off while it has attempts left. An interrupt means
   * the worker is stopping and the task should return or throw promptly.
   */
  String run(Job job) throws Exception;
}
