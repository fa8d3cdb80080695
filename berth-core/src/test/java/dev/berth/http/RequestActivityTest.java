package dev.berth.http;

import static org.assertj.core.api.Assertions.assertThat;

import java.time.Duration;
import org.junit.jupiter.api.Test;

class RequestActivityTest {
  @Test
  void busyWhileARequestIsInFlightAndForTheQuietPeriodAfter() throws InterruptedException {
    RequestActivity activity = new RequestActivity(Duration.ofMillis(200));
    assertThat(activity.getAsBoolean()).as("before any request").isFalse();

    activity.started();
    assertThat(activity.getAsBoolean()).as("in flight").isTrue();
    activity.started();
    activity.ended();
    assertThat(activity.getAsBoolean()).as("one still in flight").isTrue();
    activity.ended();
    assertThat(activity.getAsBoolean()).as("just ended").isTrue();

    Thread.sleep(Duration.ofMillis(300));
    assertThat(activity.getAsBoolean()).as("after the quiet period").isFalse();
  }
}
