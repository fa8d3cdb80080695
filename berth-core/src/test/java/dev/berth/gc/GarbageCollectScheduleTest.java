package dev.berth.gc;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.time.Duration;
import java.time.Instant;
import org.junit.jupiter.api.Test;

class GarbageCollectScheduleTest {
  private static final Instant AT = Instant.parse("2026-11-28T05:42:17Z");

  @Test
  void offMeansNoScheduledRun() {
    assertThat(GarbageCollectSchedule.parse("off").next(AT)).isEmpty();
    assertThat(GarbageCollectSchedule.parse("").next(AT)).isEmpty();
  }

  @Test
  void hourlyAndDailyRunAtTheTopOfTheHourAndAtMidnightUtc() {
    assertThat(GarbageCollectSchedule.parse("@hourly").next(AT))
        .hasValue(Instant.parse("2026-11-28T06:00:00Z"));
    assertThat(GarbageCollectSchedule.parse("@daily").next(AT))
        .hasValue(Instant.parse("2026-11-29T00:00:00Z"));
    assertThat(GarbageCollectSchedule.parse("@daily").next(Instant.parse("2026-11-29T00:00:00Z")))
        .hasValue(Instant.parse("2026-11-30T00:00:00Z"));
  }

  @Test
  void anIntervalCountsFromTheLastRun() {
    assertThat(GarbageCollectSchedule.parse("6h").next(AT)).hasValue(AT.plus(Duration.ofHours(6)));
    assertThat(GarbageCollectSchedule.parse("90m").next(AT))
        .hasValue(AT.plus(Duration.ofMinutes(90)));
  }

  @Test
  void anythingElseIsRefusedWithWhatIsAccepted() {
    assertThatThrownBy(() -> GarbageCollectSchedule.parse("0 3 * * *"))
        .hasMessageContaining("@hourly, @daily or an interval");
    assertThatThrownBy(() -> GarbageCollectSchedule.parse("0s"))
        .isInstanceOf(IllegalArgumentException.class);
  }
}
