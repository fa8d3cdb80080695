package dev.berth.jobs;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.io.IOException;
import java.time.Duration;
import java.util.concurrent.atomic.AtomicBoolean;
import org.junit.jupiter.api.Test;

class PacerTest {
  @Test
  void restsSoThatWorkTakesItsShareOfTheTime() {
    Pacer tenPercent = new Pacer(() -> true, 10);
    assertThat(tenPercent.restNanos(Duration.ofMillis(10).toNanos()))
        .isEqualTo(Duration.ofMillis(90).toNanos());
    Pacer half = new Pacer(() -> true, 50);
    assertThat(half.restNanos(Duration.ofMillis(10).toNanos()))
        .isEqualTo(Duration.ofMillis(10).toNanos());
  }

  @Test
  void aRestIsAtMostFiveSeconds() {
    Pacer pacer = new Pacer(() -> true, 1);
    assertThat(pacer.restNanos(Duration.ofSeconds(10).toNanos()))
        .isEqualTo(Pacer.MAX_REST.toNanos());
  }

  @Test
  void restsOnlyWhileTheNodeIsBusy() {
    AtomicBoolean busy = new AtomicBoolean(false);
    Pacer pacer = new Pacer(busy::get, 10);

    long idle = timed(() -> pacer.rest(Duration.ofMillis(20).toNanos()));
    busy.set(true);
    long busyRest = timed(() -> pacer.rest(Duration.ofMillis(20).toNanos()));

    assertThat(pacer.busy()).isTrue();
    assertThat(Duration.ofNanos(idle)).isLessThan(Duration.ofMillis(50));
    assertThat(Duration.ofNanos(busyRest)).isGreaterThanOrEqualTo(Duration.ofMillis(180));
  }

  @Test
  void aFullShareNeverGivesWay() {
    Pacer pacer = new Pacer(() -> true, 100);

    assertThat(pacer.busy()).isFalse();
    assertThat(Duration.ofNanos(timed(() -> pacer.rest(Duration.ofSeconds(1).toNanos()))))
        .isLessThan(Duration.ofMillis(50));
  }

  @Test
  void pacedReturnsTheResultAndPassesTheFailureOn() {
    Pacer pacer = new Pacer(() -> false, 10);

    assertThat(pacer.paced(() -> 42)).isEqualTo(42);
    assertThatThrownBy(() -> pacer.paced(() -> {
          throw new IOException("storage down");
        }))
        .isInstanceOf(IOException.class)
        .hasMessage("storage down");
  }

  @Test
  void rejectsAShareOutsideOneToAHundred() {
    assertThatThrownBy(() -> new Pacer(() -> true, 0)).isInstanceOf(IllegalArgumentException.class);
    assertThatThrownBy(() -> new Pacer(() -> true, 101))
        .isInstanceOf(IllegalArgumentException.class);
  }

  private static long timed(Runnable work) {
    long started = System.nanoTime();
    work.run();
    return System.nanoTime() - started;
  }
}
