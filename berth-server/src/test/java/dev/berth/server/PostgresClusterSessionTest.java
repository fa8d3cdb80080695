package dev.berth.server;

import static dev.berth.server.Logins.basic;
import static dev.berth.server.Logins.text;
import static dev.berth.server.Logins.with;
import static dev.berth.server.Sessions.browser;
import static java.util.Map.entry;
import static org.assertj.core.api.Assertions.assertThat;

import dev.berth.testkit.PostgresServer;
import java.net.http.HttpResponse;
import java.util.Map;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

/**
 * Two stateless nodes on one PostgreSQL database, no sticky sessions: a browser session started
 * on one node works, changes things and ends on the other; a setting changed on one counts on the
 * other at once.
 */
class PostgresClusterSessionTest {
  private static final String ADMIN_PASSWORD = "Admin-Secret-1";
  private static String databaseUrl;
  private static InProcessBerth one;
  private static InProcessBerth two;

  @BeforeAll
  static void start() throws Exception {
    databaseUrl = PostgresServer.shared().createDatabase();
    Map<String, String> backend = Map.ofEntries(
        entry("metadata.url", databaseUrl),
        entry("metadata.username", PostgresServer.USER),
        entry("metadata.password", PostgresServer.PASSWORD),
        entry("storage.driver", "memory"),
        // Nodes on one database share the audit chain, so they share its checkpoint key.
        entry("audit.checkpoint-key", "cluster-session-checkpoint-key"));
    one = InProcessBerth.withAuth(ADMIN_PASSWORD, backend);
    one.start();
    two = InProcessBerth.withAuth(ADMIN_PASSWORD, backend);
    two.start();
    for (String name : new String[] {"alice", "bob"}) {
      HttpResponse<byte[]> created = one.post(
          "/api/v1/users",
          Content.utf8("{\"username\":\"" + name + "\",\"password\":\"" + name + "-password\"}"),
          with(admin(), "Content-Type", "application/json"));
      assertThat(created.statusCode()).as(text(created)).isEqualTo(201);
    }
  }

  @AfterAll
  static void stop() throws Exception {
    for (InProcessBerth node : new InProcessBerth[] {one, two}) {
      if (node != null) {
        node.close();
      }
    }
    if (databaseUrl != null) {
      PostgresServer.shared().dropDatabase(databaseUrl);
    }
  }

  @Test
  void aSessionFromOneNodeWorksAndEndsOnTheOther() {
    Sessions.Browser alice = browser(one, "alice", "alice-password");

    assertThat(two.get("/api/v1/session", alice.cookie()).statusCode()).isEqualTo(200);
    HttpResponse<byte[]> created = two.post(
        "/api/v1/projects",
        Content.utf8("{\"name\":\"cluster-project\"}"),
        with(alice.cookieAndToken(), "Content-Type", "application/json"));
    assertThat(created.statusCode()).as(text(created)).isEqualTo(201);
    assertThat(two.post(
                "/api/v1/projects",
                Content.utf8("{\"name\":\"cluster-other\"}"),
                with(alice.cookie(), "Content-Type", "application/json"))
            .statusCode())
        .isEqualTo(403);

    assertThat(two.delete("/api/v1/session", alice.cookieAndToken()).statusCode())
        .isEqualTo(204);
    assertThat(one.get("/api/v1/session", alice.cookie()).statusCode()).isEqualTo(401);

    // A new password set on one node ends the user's sessions on every node.
    Sessions.Browser bob = browser(two, "bob", "bob-password");
    HttpResponse<byte[]> reset = one.put(
        "/api/v1/users/bob/password",
        Content.utf8("{\"password\":\"bob-new-password\"}"),
        with(admin(), "Content-Type", "application/json"));
    assertThat(reset.statusCode()).as(text(reset)).isEqualTo(204);
    assertThat(two.get("/api/v1/session", bob.cookie()).statusCode()).isEqualTo(401);
  }

  @Test
  void aSettingChangedOnOneNodeCountsOnTheOther() {
    HttpResponse<byte[]> put = one.put(
        "/api/v1/system/settings",
        Content.utf8("{\"auth.users-create-projects\":false,\"audit.retention-days\":9}"),
        with(admin(), "Content-Type", "application/json"));
    assertThat(put.statusCode()).as(text(put)).isEqualTo(200);
    try {
      var settings = InProcessBerth.json(two.get("/api/v1/system/settings", admin()));
      assertThat(settings.path("auth.users-create-projects").asBoolean()).isFalse();
      assertThat(settings.path("audit.retention-days").asInt()).isEqualTo(9);
      assertThat(two.post(
                  "/api/v1/projects",
                  Content.utf8("{\"name\":\"not-allowed\"}"),
                  with(basic("alice", "alice-password"), "Content-Type", "application/json"))
              .statusCode())
          .isEqualTo(403);
    } finally {
      one.put(
          "/api/v1/system/settings",
          Content.utf8("{\"auth.users-create-projects\":true}"),
          with(admin(), "Content-Type", "application/json"));
    }
    assertThat(two.post(
                "/api/v1/projects",
                Content.utf8("{\"name\":\"allowed-again\"}"),
                with(basic("alice", "alice-password"), "Content-Type", "application/json"))
            .statusCode())
        .isEqualTo(201);
  }

  @Test
  void aPasswordChangeOrADisabledUserOnOneNodeCountsOnTheOtherWithinAMoment() throws Exception {
    HttpResponse<byte[]> created = one.post(
        "/api/v1/users",
        Content.utf8("{\"username\":\"dave\",\"password\":\"dave-password\"}"),
        with(admin(), "Content-Type", "application/json"));
    assertThat(created.statusCode()).as(text(created)).isEqualTo(201);
    // Node two verifies the password once and then remembers it with dave's row.
    for (int i = 0; i < 3; i++) {
      assertThat(two.get("/v2/", basic("dave", "dave-password")).statusCode()).isEqualTo(200);
    }

    HttpResponse<byte[]> changed = one.put(
        "/api/v1/users/dave/password",
        Content.utf8("{\"currentPassword\":\"dave-password\",\"password\":\"dave-new-password\"}"),
        basic("dave", "dave-password"));
    assertThat(changed.statusCode()).as(text(changed)).isEqualTo(204);
    // On node one at once; on node two once PostgreSQL's notification arrives (milliseconds;
    // without it node two would accept the old password for as long as it remembers it, minutes).
    assertThat(one.get("/v2/", basic("dave", "dave-password")).statusCode()).isEqualTo(401);
    assertThat(statusWithin(two, basic("dave", "dave-password"), 401)).isEqualTo(401);
    assertThat(two.get("/v2/", basic("dave", "dave-new-password")).statusCode()).isEqualTo(200);

    HttpResponse<byte[]> disabled =
        one.put("/api/v1/users/dave/disabled", Content.utf8("{\"disabled\":true}"), admin());
    assertThat(disabled.statusCode()).as(text(disabled)).isEqualTo(204);
    assertThat(statusWithin(two, basic("dave", "dave-new-password"), 401)).isEqualTo(401);
  }

  /** The status of GET /v2/ on a node, asked until it is {@code expected} or 2 s have passed. */
  private static int statusWithin(InProcessBerth node, String[] credentials, int expected)
      throws InterruptedException {
    long deadline = System.nanoTime() + 2_000_000_000L;
    int status;
    while ((status = node.get("/v2/", credentials).statusCode()) != expected
        && System.nanoTime() < deadline) {
      Thread.sleep(20);
    }
    return status;
  }

  private static String[] admin() {
    return basic("admin", ADMIN_PASSWORD);
  }
}
