package dev.berth.jobs;

import java.time.Duration;
import java.time.Instant;
import java.util.Objects;

/**
 * A cluster-wide schedule: every {@code interval} one job of {@code jobType} with {@code payload}
 * is enqueued, by one node. The spec is a fixed interval (a {@link Duration}), not a calendar
 * expression: {@code @hourly} is one hour, {@code @daily} one day, counted from when the schedule
 * was first defined. A calendar spec ("at 03:00") would change only how the next firing time is
 * computed; nothing needs it yet.
 *
 * @param nextRunAt when it fires next; the job it enqueues has this as its {@code runAfter}
 */
public record Schedule(
    String name, String jobType, String payload, Duration interval, Instant nextRunAt) {
  public Schedule {
    Objects.requireNonNull(name, "name");
    Objects.requireNonNull(jobType, "jobType");
    Objects.requireNonNull(payload, "payload");
    Objects.requireNonNull(interval, "interval");
    Objects.requireNonNull(nextRunAt, "nextRunAt");
    if (name.isBlank() || name.length() > 200) {
      throw new IllegalArgumentException("schedule name must be 1 to 200 characters");
    }
    if (interval.toMillis() < 1) {
      throw new IllegalArgumentException(
          "schedule interval must be at least 1 ms, got " + interval);
    }
  }
}
