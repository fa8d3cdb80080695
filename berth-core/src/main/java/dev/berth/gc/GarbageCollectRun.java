package dev.berth.gc;

/**
 * One garbage-collection run as recorded in {@code gc_runs}: what it deleted (for a dry run:
 * what a real run at that moment would have deleted) and how it ended.
 *
 * @param finishedAt null while running
 * @param trigger {@code api}, {@code schedule} or {@code cli}
 * @param status {@code running}, {@code succeeded} (possibly with {@code errors} for single
 *     items, each left for the next run), {@code failed} (stopped early) or {@code interrupted}
 *     (the process stopped during the run)
 * @param report JSON: the digests, {@code repository@digest}s, upload ids and storage keys
 *     deleted, and the incomplete writes aborted ({@code incompleteWrites}: the keys they were
 *     writing), each list capped at {@value GarbageCollectService#REPORT_LIMIT} entries
 */
public record GarbageCollectRun(
    long id,
    long startedAt,
    Long finishedAt,
    boolean dryRun,
    boolean deleteUntagged,
    String trigger,
    String status,
    long blobsDeleted,
    long manifestsDeleted,
    long uploadsDeleted,
    long orphansDeleted,
    long bytesFreed,
    int errors,
    String errorMessage,
    String report) {

  public static final String RUNNING = "running";
  public static final String SUCCEEDED = "succeeded";
  public static final String FAILED = "failed";
  public static final String INTERRUPTED = "interrupted";

  public boolean finished() {
    return finishedAt != null;
  }
}
