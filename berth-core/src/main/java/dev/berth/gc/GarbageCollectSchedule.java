package dev.berth.gc;

import dev.berth.config.ConfigLoader;
import java.time.Duration;
import java.time.Instant;
import java.time.ZoneOffset;
import java.time.ZonedDateTime;
import java.time.temporal.ChronoUnit;
import java.util.Optional;

/**
 * When scheduled runs happen ({@code gc.schedule}): {@code off} (or empty), {@code @hourly} (at
 * minute 0), {@code @daily} (at 00:00 UTC), or an interval such as {@code 6h} (the first run one
 * interval after start-up). A subset of cron on purpose: these cover what operators ask of a
 * collector. On the job scheduler (decision 010) each is a fixed interval ({@link
 * GarbageCollectJob#interval}): {@code @hourly} one hour and {@code @daily} one day from when the
 * schedule was first defined; {@link #next} is the calendar form, kept for when schedules get one.
 */
public sealed interface GarbageCollectSchedule {
  record Off() implements GarbageCollectSchedule {}

  record Hourly() implements GarbageCollectSchedule {}

  record Daily() implements GarbageCollectSchedule {}

  record Every(Duration interval) implements GarbageCollectSchedule {
    public Every {
      if (interval.isNegative() || interval.isZero()) {
        throw new IllegalArgumentException("interval must be positive");
      }
    }
  }

  /** Parses the setting; IllegalArgumentException naming what is accepted otherwise. */
  static GarbageCollectSchedule parse(String text) {
    String value = text == null ? "" : text.strip();
    return switch (value) {
      case "", "off" -> new Off();
      case "@hourly" -> new Hourly();
      case "@daily", "@midnight" -> new Daily();
      default -> {
        try {
          yield new Every(ConfigLoader.parseDuration(value));
        } catch (RuntimeException e) {
          throw new IllegalArgumentException(
              "must be off, @hourly, @daily or an interval such as 6h, got '" + text + "'");
        }
      }
    };
  }

  /** The next run strictly after {@code after}; empty when off. */
  default Optional<Instant> next(Instant after) {
    return switch (this) {
      case Off off -> Optional.empty();
      case Hourly hourly ->
        Optional.of(after.truncatedTo(ChronoUnit.HOURS).plus(1, ChronoUnit.HOURS));
      case Daily daily ->
        Optional.of(ZonedDateTime.ofInstant(after, ZoneOffset.UTC)
            .toLocalDate()
            .plusDays(1)
            .atStartOfDay(ZoneOffset.UTC)
            .toInstant());
      case Every(Duration interval) -> Optional.of(after.plus(interval));
    };
  }
}
