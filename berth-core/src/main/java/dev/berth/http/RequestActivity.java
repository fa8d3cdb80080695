package dev.berth.http;

import java.time.Duration;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.function.BooleanSupplier;

/**
 * Whether this node is serving registry requests: some in flight, or one ended within the quiet
 * period. Background work ({@link dev.berth.jobs.Pacer}) asks it to give way to clients.
 */
public final class RequestActivity implements BooleanSupplier {
  private final AtomicInteger inFlight = new AtomicInteger();
  private final long quietNanos;
  private volatile long lastEnded;

  public RequestActivity(Duration quietPeriod) {
    this.quietNanos = quietPeriod.toNanos();
    this.lastEnded = System.nanoTime() - quietNanos;
  }

  public void started() {
    inFlight.incrementAndGet();
  }

  public void ended() {
    lastEnded = System.nanoTime();
    inFlight.decrementAndGet();
  }

  /** Requests in flight now, or one ended less than the quiet period ago. */
  @Override
  public boolean getAsBoolean() {
    return inFlight.get() > 0 || System.nanoTime() - lastEnded < quietNanos;
  }
}
