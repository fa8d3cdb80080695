package dev.berth.server;

import static dev.berth.server.Logins.basic;
import static dev.berth.server.Logins.text;
import static dev.berth.server.Logins.with;
import static dev.berth.server.Sessions.browser;
import static org.assertj.core.api.Assertions.assertThat;

import java.net.http.HttpResponse;
import java.util.Map;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

/**
 * A browser session's two ends, with short times ({@code auth.session-idle-timeout: 2s}, {@code
 * auth.session-max-age: 5s}): unused for the idle timeout, or the maximum age after login however
 * busy; and both changed at runtime through the settings API.
 */
class SessionExpiryTest {
  private static final String ADMIN_PASSWORD = "Admin-Secret-1";
  private static InProcessBerth berth;

  @BeforeAll
  static void start() throws Exception {
    berth = InProcessBerth.withAuth(
        ADMIN_PASSWORD, Map.of("auth.session-idle-timeout", "2s", "auth.session-max-age", "5s"));
    berth.start();
  }

  @AfterAll
  static void stop() throws Exception {
    berth.close();
  }

  @Test
  void anIdleSessionEnds() throws Exception {
    Sessions.Browser admin = browser(berth, "admin", ADMIN_PASSWORD);
    Thread.sleep(1000);
    assertThat(status(admin)).as("used within the idle timeout").isEqualTo(200);
    Thread.sleep(2500);
    assertThat(status(admin)).as("idle longer than 2s").isEqualTo(401);
  }

  @Test
  void aBusySessionEndsAtItsMaximumAge() throws Exception {
    long start = System.nanoTime();
    Sessions.Browser admin = browser(berth, "admin", ADMIN_PASSWORD);
    while (seconds(start) < 4.0) {
      assertThat(status(admin)).as("in use at %.1fs", seconds(start)).isEqualTo(200);
      Thread.sleep(700);
    }
    // Used less than the idle timeout ago, but older than the maximum age.
    Thread.sleep(Math.max(0, (long) ((5.4 - seconds(start)) * 1000)));
    assertThat(status(admin)).as("at %.1fs", seconds(start)).isEqualTo(401);
  }

  @Test
  void theIdleTimeoutSetAtRuntimeCountsAtOnce() throws Exception {
    putSetting("auth.session-idle-timeout", "1m");
    try {
      Sessions.Browser admin = browser(berth, "admin", ADMIN_PASSWORD);
      Thread.sleep(2500);
      assertThat(status(admin)).as("idle 2.5s of 1m").isEqualTo(200);
    } finally {
      putSetting("auth.session-idle-timeout", "2s");
    }
  }

  @Test
  void theMaximumAgeSetAtRuntimeCountsForSessionsStartedAfterIt() throws Exception {
    // A long idle timeout for this test, so that only the maximum age can end a session.
    putSetting("auth.session-idle-timeout", "1m");
    Sessions.Browser before = browser(berth, "admin", ADMIN_PASSWORD);
    putSetting("auth.session-max-age", "2s");
    try {
      long start = System.nanoTime();
      Sessions.Browser after = browser(berth, "admin", ADMIN_PASSWORD);
      assertThat(status(after)).as("at %.1fs", seconds(start)).isEqualTo(200);
      Thread.sleep(Math.max(0, (long) ((2.5 - seconds(start)) * 1000)));
      assertThat(status(after))
          .as("started after the change, at %.1fs", seconds(start))
          .isEqualTo(401);
      assertThat(status(before)).as("started under the 5s maximum age").isEqualTo(200);
    } finally {
      putSetting("auth.session-max-age", "5s");
      putSetting("auth.session-idle-timeout", "2s");
    }
  }

  private static void putSetting(String key, String value) {
    HttpResponse<byte[]> put = berth.put(
        "/api/v1/system/settings",
        Content.utf8("{\"" + key + "\":\"" + value + "\"}"),
        with(basic("admin", ADMIN_PASSWORD), "Content-Type", "application/json"));
    assertThat(put.statusCode()).as(text(put)).isEqualTo(200);
  }

  private static int status(Sessions.Browser browser) {
    return berth.get("/api/v1/session", browser.cookie()).statusCode();
  }

  private static double seconds(long since) {
    return (System.nanoTime() - since) / 1e9;
  }
}
