package dev.berth.server;

import static dev.berth.server.Logins.basic;
import static dev.berth.server.Logins.text;
import static dev.berth.server.Logins.with;
import static dev.berth.server.Sessions.browser;
import static dev.berth.server.Sessions.errorCode;
import static dev.berth.server.Sessions.login;
import static dev.berth.server.Sessions.sessionId;
import static org.assertj.core.api.Assertions.assertThat;

import com.fasterxml.jackson.databind.JsonNode;
import java.net.http.HttpResponse;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

/**
 * Browser sessions of the management API (issue 4 §4, decision 014): login, logout and the
 * current user; session fixation; CSRF tokens on changes; the cookie refused outside {@code
 * /api/v1}; sessions ended by a new password or a disabled user; bad input.
 */
class SessionTest {
  private static final String ADMIN_PASSWORD = "Admin-Secret-1";
  private static InProcessBerth berth;

  @BeforeAll
  static void start() throws Exception {
    berth = InProcessBerth.withAuth(ADMIN_PASSWORD, Map.of());
    berth.start();
    for (String name : List.of("alice", "bob", "carol", "dave", "trent")) {
      createUser(name, name + "-password");
    }
  }

  @AfterAll
  static void stop() throws Exception {
    berth.close();
  }

  @Test
  void aLoginSetsAnHttpOnlyCookieAndLogoutEndsTheSessionOnTheServer() {
    HttpResponse<byte[]> response = login(berth, "alice", "alice-password");

    assertThat(response.statusCode()).as(text(response)).isEqualTo(200);
    JsonNode body = InProcessBerth.json(response);
    assertThat(body.path("username").asText()).isEqualTo("alice");
    assertThat(body.path("admin").asBoolean()).isFalse();
    String csrf = body.path("csrfToken").asText();
    assertThat(csrf).matches("[A-Za-z0-9_-]{43}");
    String setCookie = response.headers().firstValue("Set-Cookie").orElseThrow();
    assertThat(setCookie)
        .matches("berth_session=[A-Za-z0-9_-]{43}; Path=/; HttpOnly; SameSite=Lax");
    assertThat(response.headers().firstValue("Cache-Control")).hasValue("no-store");
    Sessions.Browser alice = new Sessions.Browser(sessionId(response), csrf);

    // Also among other cookies, in one Cookie field or several (as HTTP/2 clients send them).
    assertThat(berth
            .get("/api/v1/session", "Cookie", "a=b; berth_session=" + alice.id() + "; c=d")
            .statusCode())
        .isEqualTo(200);
    assertThat(berth
            .get("/api/v1/session", "Cookie", "a=b", "Cookie", "berth_session=" + alice.id())
            .statusCode())
        .isEqualTo(200);

    HttpResponse<byte[]> me = berth.get("/api/v1/session", alice.cookie());
    assertThat(me.statusCode()).isEqualTo(200);
    assertThat(InProcessBerth.json(me).path("username").asText()).isEqualTo("alice");
    assertThat(InProcessBerth.json(me).path("csrfToken").asText()).isEqualTo(csrf);
    // The session authenticates the rest of the API: the user's own record.
    assertThat(berth.get("/api/v1/users/alice", alice.cookie()).statusCode()).isEqualTo(200);

    HttpResponse<byte[]> logout = berth.delete("/api/v1/session", alice.cookieAndToken());
    assertThat(logout.statusCode()).isEqualTo(204);
    assertThat(logout.headers().firstValue("Set-Cookie").orElseThrow())
        .startsWith("berth_session=; Path=/; Max-Age=0");

    // Replaying the cookie after logout: the session is gone on the server, not only the cookie.
    assertThat(berth.get("/api/v1/session", alice.cookie()).statusCode()).isEqualTo(401);
    assertThat(berth.get("/api/v1/users/alice", alice.cookie()).statusCode()).isEqualTo(401);
    assertThat(berth.get("/api/v1/session").statusCode()).isEqualTo(401);

    List<String> methods = new ArrayList<>();
    audit("actor=alice&action=login&outcome=success")
        .forEach(record -> methods.add(record.path("detail").path("method").asText()));
    assertThat(methods).contains("session");
    assertThat(audit("actor=alice&action=logout").size()).isEqualTo(1);
  }

  @Test
  void formFieldsLogInToo() {
    HttpResponse<byte[]> response = berth.post(
        "/api/v1/session",
        Content.utf8("username=bob&password=bob-password"),
        "Content-Type",
        "application/x-www-form-urlencoded");

    assertThat(response.statusCode()).as(text(response)).isEqualTo(200);
    assertThat(InProcessBerth.json(response).path("username").asText()).isEqualTo("bob");
  }

  @Test
  void overTlsTheCookieIsSecure() {
    HttpResponse<byte[]> response =
        login(berth, "bob", "bob-password", "X-Forwarded-Proto", "https");

    assertThat(response.headers().firstValue("Set-Cookie").orElseThrow()).endsWith("; Secure");
  }

  @Test
  void aWrongPasswordIs401AndAuditedAsAFailedLogin() {
    HttpResponse<byte[]> response = login(berth, "bob", "not-bobs");

    assertThat(response.statusCode()).isEqualTo(401);
    assertThat(errorCode(response)).isEqualTo("UNAUTHORIZED");
    assertThat(sessionId(response)).isNull();
    JsonNode failures = audit("actor=bob&action=login&outcome=failure");
    assertThat(failures.size()).isGreaterThanOrEqualTo(1);
    assertThat(failures.path(0).path("detail").path("method").asText()).isEqualTo("session");
    assertThat(login(berth, "nobody-here", "whatever").statusCode()).isEqualTo(401);
  }

  @Test
  void theLoginThrottleAppliesToSessionLogins() throws Exception {
    // Ten failures at once (so that the throttle's delays, which grow from the third failure on,
    // mostly overlap), then even the right password is refused from this address for a while.
    try (ExecutorService threads = Executors.newVirtualThreadPerTaskExecutor()) {
      List<Future<Integer>> attempts = new ArrayList<>();
      for (int i = 0; i < 10; i++) {
        attempts.add(threads.submit(() -> login(berth, "trent", "wrong").statusCode()));
      }
      for (Future<Integer> attempt : attempts) {
        assertThat(attempt.get()).isIn(401, 429);
      }
    }

    HttpResponse<byte[]> blocked = login(berth, "trent", "trent-password");
    assertThat(blocked.statusCode()).isEqualTo(429);
    assertThat(errorCode(blocked)).isEqualTo("TOOMANYREQUESTS");
    assertThat(sessionId(blocked)).isNull();
  }

  @Test
  void aRobotAccountGetsNoBrowserSession() {
    HttpResponse<byte[]> created = berth.post(
        "/api/v1/robots",
        Content.utf8("{\"name\":\"browser\",\"permissions\":{\"*\":[\"pull\"]}}"),
        with(basic("admin", ADMIN_PASSWORD), "Content-Type", "application/json"));
    assertThat(created.statusCode()).as(text(created)).isEqualTo(201);
    String secret = InProcessBerth.json(created).path("secret").asText();

    HttpResponse<byte[]> response = login(berth, "robot$browser", secret);
    assertThat(response.statusCode()).isEqualTo(403);
    assertThat(sessionId(response)).isNull();
  }

  @Test
  void aLoginAlwaysIssuesANewIdAndDiscardsThePresentedOne() {
    // An id an attacker planted in the victim's browser is never adopted.
    String planted = "attacker-chosen-session-id-0123456789abcdef";
    HttpResponse<byte[]> response =
        login(berth, "bob", "bob-password", "Cookie", "berth_session=" + planted);
    assertThat(response.statusCode()).isEqualTo(200);
    String issued = sessionId(response);
    assertThat(issued).isNotEqualTo(planted);
    assertThat(
            berth.get("/api/v1/session", "Cookie", "berth_session=" + planted).statusCode())
        .isEqualTo(401);
    assertThat(berth.get("/api/v1/session", "Cookie", "berth_session=" + issued).statusCode())
        .isEqualTo(200);

    // Logging in again with a valid session: a new id, and the old one ends.
    HttpResponse<byte[]> again =
        login(berth, "bob", "bob-password", "Cookie", "berth_session=" + issued);
    String second = sessionId(again);
    assertThat(second).isNotEqualTo(issued);
    assertThat(berth.get("/api/v1/session", "Cookie", "berth_session=" + issued).statusCode())
        .isEqualTo(401);
    assertThat(berth.get("/api/v1/session", "Cookie", "berth_session=" + second).statusCode())
        .isEqualTo(200);
  }

  @Test
  void aChangeByCookieNeedsTheCsrfTokenAndBasicCredentialsDoNot() {
    Sessions.Browser alice = browser(berth, "alice", "alice-password");
    byte[] project = Content.utf8("{\"name\":\"csrf-one\",\"public\":false}");

    HttpResponse<byte[]> without = berth.post(
        "/api/v1/projects", project, with(alice.cookie(), "Content-Type", "application/json"));
    assertThat(without.statusCode()).isEqualTo(403);
    assertThat(errorCode(without)).isEqualTo("DENIED");
    assertThat(text(without)).contains("X-CSRF-Token");
    HttpResponse<byte[]> wrong = berth.post(
        "/api/v1/projects",
        project,
        with(
            with(alice.cookie(), "X-CSRF-Token", alice.csrfToken() + "x"),
            "Content-Type",
            "application/json"));
    assertThat(wrong.statusCode()).isEqualTo(403);
    // Nothing was made.
    assertThat(berth
            .get("/api/v1/projects/csrf-one", basic("admin", ADMIN_PASSWORD))
            .statusCode())
        .isEqualTo(404);
    // Another session's token does not fit either.
    Sessions.Browser bob = browser(berth, "bob", "bob-password");
    assertThat(berth
            .post(
                "/api/v1/projects",
                project,
                with(
                    with(alice.cookie(), "X-CSRF-Token", bob.csrfToken()),
                    "Content-Type",
                    "application/json"))
            .statusCode())
        .isEqualTo(403);

    HttpResponse<byte[]> right = berth.post(
        "/api/v1/projects",
        project,
        with(alice.cookieAndToken(), "Content-Type", "application/json"));
    assertThat(right.statusCode()).as(text(right)).isEqualTo(201);
    assertThat(berth.get("/api/v1/projects/csrf-one", alice.cookie()).statusCode())
        .isEqualTo(200);
    assertThat(audit("actor=alice&action=project.create&project=csrf-one").size())
        .isEqualTo(1);

    HttpResponse<byte[]> byBasic = berth.post(
        "/api/v1/projects",
        Content.utf8("{\"name\":\"csrf-two\",\"public\":false}"),
        with(basic("alice", "alice-password"), "Content-Type", "application/json"));
    assertThat(byBasic.statusCode()).as(text(byBasic)).isEqualTo(201);

    // Logout is a change too: not without the token.
    assertThat(berth.delete("/api/v1/session", alice.cookie()).statusCode()).isEqualTo(403);
    assertThat(berth.get("/api/v1/session", alice.cookie()).statusCode()).isEqualTo(200);
  }

  @Test
  void aSessionHasTheUsersPermissionsAndNoMore() {
    Sessions.Browser bob = browser(berth, "bob", "bob-password");
    assertThat(berth.get("/api/v1/users", bob.cookie()).statusCode()).isEqualTo(403);
    assertThat(berth.get("/api/v1/system/settings", bob.cookie()).statusCode()).isEqualTo(403);
    assertThat(berth.get("/api/v1/audit-logs", bob.cookie()).statusCode()).isEqualTo(403);

    Sessions.Browser admin = browser(berth, "admin", ADMIN_PASSWORD);
    assertThat(berth.get("/api/v1/users", admin.cookie()).statusCode()).isEqualTo(200);
    assertThat(berth.get("/api/v1/system/settings", admin.cookie()).statusCode())
        .isEqualTo(200);
  }

  @Test
  void theCookieIsNoCredentialForTheRegistryOrTheTokenEndpoint() {
    assertThat(Logins.pushImage(berth, "alice-private/app", "v1", basic("alice", "alice-password")))
        .isEqualTo(201);
    Sessions.Browser alice = browser(berth, "alice", "alice-password");

    HttpResponse<byte[]> pull = berth.get("/v2/alice-private/app/manifests/v1", alice.cookie());
    assertThat(pull.statusCode()).isEqualTo(401);
    assertThat(pull.headers().firstValue("WWW-Authenticate").orElseThrow())
        .startsWith("Bearer realm=");
    assertThat(berth.get("/v2/", alice.cookie()).statusCode()).isEqualTo(401);
    // Not even with the CSRF token: /v2 reads no cookie at all.
    assertThat(berth
            .put(
                "/v2/alice-private/app/manifests/v2",
                Content.utf8("{}"),
                with(alice.cookieAndToken(), "Content-Type", Content.OCI_MANIFEST))
            .statusCode())
        .isEqualTo(401);

    // The token endpoint treats the request as anonymous: a token that grants nothing private.
    HttpResponse<byte[]> token = berth.get(
        "/service/token?service=berth&scope=repository:alice-private/app:pull", alice.cookie());
    assertThat(token.statusCode()).isEqualTo(200);
    String bearer = "Bearer " + InProcessBerth.json(token).path("token").asText();
    assertThat(berth
            .get("/v2/alice-private/app/manifests/v1", "Authorization", bearer)
            .statusCode())
        .isEqualTo(401);

    assertThat(berth
            .get("/v2/alice-private/app/manifests/v1", basic("alice", "alice-password"))
            .statusCode())
        .isEqualTo(200);
  }

  @Test
  void aNewPasswordOrADisabledUserEndsTheSessions() {
    Sessions.Browser carol = browser(berth, "carol", "carol-password");
    assertThat(berth.get("/api/v1/session", carol.cookie()).statusCode()).isEqualTo(200);
    HttpResponse<byte[]> reset = berth.put(
        "/api/v1/users/carol/password",
        Content.utf8("{\"password\":\"carol-new-password\"}"),
        with(basic("admin", ADMIN_PASSWORD), "Content-Type", "application/json"));
    assertThat(reset.statusCode()).as(text(reset)).isEqualTo(204);
    assertThat(berth.get("/api/v1/session", carol.cookie()).statusCode()).isEqualTo(401);
    assertThat(berth.get("/api/v1/users/carol", carol.cookie()).statusCode()).isEqualTo(401);
    browser(berth, "carol", "carol-new-password");

    Sessions.Browser dave = browser(berth, "dave", "dave-password");
    HttpResponse<byte[]> disabled = berth.put(
        "/api/v1/users/dave/disabled",
        Content.utf8("{\"disabled\":true}"),
        with(basic("admin", ADMIN_PASSWORD), "Content-Type", "application/json"));
    assertThat(disabled.statusCode()).as(text(disabled)).isEqualTo(204);
    assertThat(berth.get("/api/v1/session", dave.cookie()).statusCode()).isEqualTo(401);
    // Enabled again, the old session stays ended: the credential version moved on.
    berth.put(
        "/api/v1/users/dave/disabled",
        Content.utf8("{\"disabled\":false}"),
        with(basic("admin", ADMIN_PASSWORD), "Content-Type", "application/json"));
    assertThat(berth.get("/api/v1/session", dave.cookie()).statusCode()).isEqualTo(401);
  }

  @Test
  void oddOrHugeInputIsAClientErrorNeverAServerError() {
    String huge = "a".repeat(100_000);
    for (String[] pair : List.of(
        new String[] {"alice' OR '1'='1", "x' OR '1'='1"},
        new String[] {"alice\"; DROP TABLE sessions; --", "p"},
        new String[] {"a".repeat(5000), "p"},
        new String[] {"alice", "p".repeat(5000)},
        new String[] {huge, "p"},
        new String[] {"alice", huge},
        new String[] {"alice\u0000", "alice-password"})) {
      HttpResponse<byte[]> response = berth.post(
          "/api/v1/session",
          Content.utf8(InProcessBerth.JSON
              .createObjectNode()
              .put("username", pair[0])
              .put("password", pair[1])
              .toString()),
          "Content-Type",
          "application/json");
      assertThat(response.statusCode())
          .as("%.40s / %.40s: %s", pair[0], pair[1], text(response))
          .isBetween(400, 499);
    }
    for (String body :
        List.of("", "[]", "{", "{\"username\":1,\"password\":2}", "{\"username\":\"a\"}")) {
      HttpResponse<byte[]> response =
          berth.post("/api/v1/session", Content.utf8(body), "Content-Type", "application/json");
      assertThat(response.statusCode()).as(body).isEqualTo(400);
    }
    for (String cookie :
        List.of("'; DELETE FROM sessions; --", "%00%27", "x".repeat(4000), "\"quoted\"", "")) {
      assertThat(
              berth.get("/api/v1/session", "Cookie", "berth_session=" + cookie).statusCode())
          .as(cookie)
          .isEqualTo(401);
    }
    assertThat(berth.put("/api/v1/session", new byte[0]).statusCode()).isEqualTo(405);
  }

  // ---- helpers ----

  private static JsonNode audit(String query) {
    HttpResponse<byte[]> response =
        berth.get("/api/v1/audit-logs?" + query, basic("admin", ADMIN_PASSWORD));
    assertThat(response.statusCode()).as(text(response)).isEqualTo(200);
    return InProcessBerth.json(response).path("records");
  }

  private static void createUser(String name, String password) {
    HttpResponse<byte[]> created = berth.post(
        "/api/v1/users",
        Content.utf8("{\"username\":\"" + name + "\",\"password\":\"" + password + "\"}"),
        with(basic("admin", ADMIN_PASSWORD), "Content-Type", "application/json"));
    assertThat(created.statusCode()).as(text(created)).isEqualTo(201);
  }
}
