package dev.berth.auth;

import static org.assertj.core.api.Assertions.assertThatCode;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import dev.berth.oci.ErrorCode;
import dev.berth.oci.RegistryException;
import java.time.Clock;
import java.time.Duration;
import java.time.Instant;
import java.time.ZoneOffset;
import java.util.concurrent.atomic.AtomicReference;
import org.junit.jupiter.api.Test;

class LoginThrottleTest {
  private final AtomicReference<Instant> now =
      new AtomicReference<>(Instant.parse("2026-11-28T10:00:00Z"));
  private final Clock clock = new Clock() {
    @Override
    public java.time.ZoneId getZone() {
      return ZoneOffset.UTC;
    }

    @Override
    public Clock withZone(java.time.ZoneId zone) {
      return this;
    }

    @Override
    public Instant instant() {
      return now.get();
    }
  };
  private final LoginThrottle throttle = new LoginThrottle(clock, false);

  @Test
  void repeatedFailuresOfAPairAreRefusedThenForgivenAfterTheWindow() {
    for (int i = 0; i < LoginThrottle.BLOCK_AFTER; i++) {
      throttle.beforeAttempt("admin", "10.0.0.1");
      throttle.failed("admin", "10.0.0.1");
    }

    assertThatThrownBy(() -> throttle.beforeAttempt("admin", "10.0.0.1"))
        .isInstanceOf(RegistryException.class)
        .extracting(e -> ((RegistryException) e).code())
        .isEqualTo(ErrorCode.TOOMANYREQUESTS);
    // The real admin from another address is not locked out.
    assertThatCode(() -> throttle.beforeAttempt("admin", "10.0.0.2")).doesNotThrowAnyException();

    now.set(now.get().plus(LoginThrottle.WINDOW).plus(Duration.ofSeconds(1)));
    assertThatCode(() -> throttle.beforeAttempt("admin", "10.0.0.1")).doesNotThrowAnyException();
  }

  @Test
  void sprayingManyUsersFromOneAddressIsRefused() {
    for (int i = 0; i < LoginThrottle.ADDRESS_BLOCK_AFTER; i++) {
      throttle.failed("user" + i, "10.0.0.9");
    }
    assertThatThrownBy(() -> throttle.beforeAttempt("someone-else", "10.0.0.9"))
        .isInstanceOf(RegistryException.class);
    assertThatCode(() -> throttle.beforeAttempt("someone-else", "10.0.0.10"))
        .doesNotThrowAnyException();
  }

  @Test
  void aSuccessClearsItsPair() {
    for (int i = 0; i < LoginThrottle.BLOCK_AFTER - 1; i++) {
      throttle.failed("alice", "10.0.0.3");
    }
    throttle.succeeded("alice", "10.0.0.3");
    for (int i = 0; i < LoginThrottle.BLOCK_AFTER - 1; i++) {
      throttle.failed("alice", "10.0.0.3");
    }
    assertThatCode(() -> throttle.beforeAttempt("alice", "10.0.0.3"))
        .as("nine failures since the success: not blocked")
        .doesNotThrowAnyException();
  }
}
