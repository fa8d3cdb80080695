package dev.berth.server;

import static org.assertj.core.api.Assertions.assertThat;

import java.net.http.HttpResponse;
import java.nio.charset.StandardCharsets;

/** Browser session logins ({@code /api/v1/session}) for the session and settings tests. */
final class Sessions {
  private Sessions() {}

  /** A logged-in browser: the cookie's session id and the CSRF token. */
  record Browser(String id, String csrfToken) {
    String[] cookie() {
      return new String[] {"Cookie", "berth_session=" + id};
    }

    /** The cookie and the CSRF header, as the web UI sends them with a change. */
    String[] cookieAndToken() {
      return new String[] {"Cookie", "berth_session=" + id, "X-CSRF-Token", csrfToken};
    }
  }

  static HttpResponse<byte[]> login(
      InProcessBerth berth, String user, String password, String... headers) {
    return berth.post(
        "/api/v1/session",
        ("{\"username\":\"" + user + "\",\"password\":\"" + password + "\"}")
            .getBytes(StandardCharsets.UTF_8),
        Logins.with(headers, "Content-Type", "application/json"));
  }

  /** Logs in, which must succeed. */
  static Browser browser(InProcessBerth berth, String user, String password) {
    HttpResponse<byte[]> response = login(berth, user, password);
    assertThat(response.statusCode()).as(Logins.text(response)).isEqualTo(200);
    return new Browser(
        sessionId(response), InProcessBerth.json(response).path("csrfToken").asText());
  }

  /** The session id a response sets, or null. */
  static String sessionId(HttpResponse<byte[]> response) {
    for (String header : response.headers().allValues("Set-Cookie")) {
      if (header.startsWith("berth_session=")) {
        return header.substring("berth_session=".length(), header.indexOf(';'));
      }
    }
    return null;
  }

  static String errorCode(HttpResponse<byte[]> response) {
    return InProcessBerth.json(response).path("errors").path(0).path("code").asText();
  }
}
