package dev.berth.jobs;

import java.time.Duration;
import java.util.function.BooleanSupplier;

/**
 * Keeps background work (garbage collection) behind client requests: while the node is busy,
 * each piece of work is followed by a rest long enough that the work takes at most {@code
 * sharePercent} of the time, and callers that work in parallel work one piece at a time. While
 * the node is idle nothing is slowed down. Decision 016.
 */
public final class Pacer {
  /** Never rests: for tools and tests that want background work at full speed. */
  public static final Pacer UNPACED = new Pacer(() -> false, 100);

  /** The longest single rest, so that a slow piece of work does not stall a run for minutes. */
  static final Duration MAX_REST = Duration.ofSeconds(5);

  private final BooleanSupplier busy;
  private final int sharePercent;

  /**
   * @param busy whether clients are being served now
   * @param sharePercent the share of time (1–100) background work may take while they are
   */
  public Pacer(BooleanSupplier busy, int sharePercent) {
    if (sharePercent < 1 || sharePercent > 100) {
      throw new IllegalArgumentException("share must be 1..100 percent, got " + sharePercent);
    }
    this.busy = busy;
    this.sharePercent = sharePercent;
  }

  /** Whether background work should give way now. */
  public boolean busy() {
    return sharePercent < 100 && busy.getAsBoolean();
  }

  /** How long to rest after work that took {@code workNanos}, while busy. */
  long restNanos(long workNanos) {
    long rest = workNanos / sharePercent * (100 - sharePercent);
    return Math.min(Math.max(rest, 0), MAX_REST.toNanos());
  }

  /** After a piece of work that took {@code workNanos}: rests if clients are being served. */
  public void rest(long workNanos) {
    if (!busy()) {
      return;
    }
    long rest = restNanos(workNanos);
    if (rest <= 0) {
      return;
    }
    try {
      Thread.sleep(Duration.ofNanos(rest));
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
    }
  }

  /** Runs {@code work}, then {@link #rest}s for it. */
  public <T, E extends Exception> T paced(Work<T, E> work) throws E {
    long started = System.nanoTime();
    try {
      return work.run();
    } finally {
      rest(System.nanoTime() - started);
    }
  }

  /** A piece of background work. */
  @FunctionalInterface
  public interface Work<T, E extends Exception> {
    T run() throws E;
  }
}
