package dev.berth.server;

import static dev.berth.server.Logins.basic;
import static dev.berth.server.Logins.text;
import static dev.berth.server.Logins.with;
import static dev.berth.server.Sessions.browser;
import static dev.berth.server.Sessions.errorCode;
import static org.assertj.core.api.Assertions.assertThat;

import com.fasterxml.jackson.databind.JsonNode;
import java.net.http.HttpResponse;
import java.nio.file.Files;
import java.nio.file.Path;
import java.sql.Connection;
import java.sql.DriverManager;
import java.sql.ResultSet;
import java.sql.Statement;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.TestInstance;

/**
 * {@code /api/v1/system/settings} (issue 4 §6): read and changed by system administrators only,
 * validated before anything is written, every change audited, in force at once, and kept in the
 * database across a restart (where it overrides the configuration).
 */
@TestInstance(TestInstance.Lifecycle.PER_CLASS)
class SystemSettingsTest {
  private static final String ADMIN_PASSWORD = "Admin-Secret-1";
  private static final String SETTINGS = "/api/v1/system/settings";
  private Path dataDir;
  private InProcessBerth berth;

  @BeforeAll
  void start() throws Exception {
    dataDir = Files.createTempDirectory("berth-settings-");
    berth = InProcessBerth.withAuth(ADMIN_PASSWORD, Map.of(), dataDir);
    berth.start();
    HttpResponse<byte[]> created = berth.post(
        "/api/v1/users",
        Content.utf8("{\"username\":\"alice\",\"password\":\"alice-password\"}"),
        with(admin(), "Content-Type", "application/json"));
    assertThat(created.statusCode()).as(text(created)).isEqualTo(201);
  }

  @AfterAll
  void stop() throws Exception {
    try {
      berth.close();
    } finally {
      InProcessBerth.deleteRecursively(dataDir);
    }
  }

  @Test
  void onlyAdministratorsReadOrChangeSettings() {
    HttpResponse<byte[]> read = berth.get(SETTINGS, admin());
    assertThat(read.statusCode()).isEqualTo(200);
    JsonNode settings = InProcessBerth.json(read);
    assertThat(settings.has("auth.users-create-projects")).isTrue();
    assertThat(settings.path("auth.users-create-projects").isBoolean()).isTrue();
    assertThat(settings.path("audit.retention-days").isInt()).isTrue();
    assertThat(settings.path("auth.session-idle-timeout").isTextual()).isTrue();
    assertThat(settings.path("auth.session-max-age").isTextual()).isTrue();

    assertThat(berth.get(SETTINGS, basic("alice", "alice-password")).statusCode())
        .isEqualTo(403);
    HttpResponse<byte[]> put = berth.put(
        SETTINGS,
        Content.utf8("{\"audit.retention-days\":1}"),
        with(basic("alice", "alice-password"), "Content-Type", "application/json"));
    assertThat(put.statusCode()).isEqualTo(403);
    assertThat(errorCode(put)).isEqualTo("DENIED");
    assertThat(berth.get(SETTINGS).statusCode()).isEqualTo(401);
    assertThat(berth.put(SETTINGS, Content.utf8("{\"audit.retention-days\":1}")).statusCode())
        .isEqualTo(401);
    assertThat(berth.delete(SETTINGS, admin()).statusCode()).isEqualTo(405);
    assertThat(InProcessBerth.json(berth.get(SETTINGS, admin()))
            .path("audit.retention-days")
            .asInt())
        .isNotEqualTo(1);
  }

  @Test
  void aChangeCountsAtOnceAndIsAudited() {
    long before = settingRecords();

    JsonNode changed = put("{\"auth.users-create-projects\":false,\"audit.retention-days\":30}");
    assertThat(changed.path("auth.users-create-projects").asBoolean()).isFalse();
    assertThat(changed.path("audit.retention-days").asInt()).isEqualTo(30);
    assertThat(InProcessBerth.json(berth.get(SETTINGS, admin())).toString())
        .isEqualTo(changed.toString());

    // Users may no longer create projects, through the API or by pushing.
    HttpResponse<byte[]> refused = berth.post(
        "/api/v1/projects",
        Content.utf8("{\"name\":\"alice-new\"}"),
        with(basic("alice", "alice-password"), "Content-Type", "application/json"));
    assertThat(refused.statusCode()).isEqualTo(403);
    assertThat(Logins.pushImage(berth, "alice-push/app", "v1", basic("alice", "alice-password")))
        .isEqualTo(403);

    JsonNode records = audit();
    assertThat(settingRecords()).isEqualTo(before + 2);
    JsonNode newest = records.path(0);
    assertThat(newest.path("actor").asText()).isEqualTo("admin");
    assertThat(newest.path("outcome").asText()).isEqualTo("success");
    assertThat(List.of(
            records.path(0).path("detail").path("setting").asText(),
            records.path(1).path("detail").path("setting").asText()))
        .containsExactlyInAnyOrder("auth.users-create-projects", "audit.retention-days");

    put("{\"auth.users-create-projects\":true}");
    assertThat(Logins.pushImage(berth, "alice-push/app", "v1", basic("alice", "alice-password")))
        .isEqualTo(201);
  }

  @Test
  void badInputIs400AndChangesNothing() {
    put("{\"audit.retention-days\":7}");
    JsonNode before = InProcessBerth.json(berth.get(SETTINGS, admin()));
    long records = settingRecords();
    String huge = "x".repeat(100_000);
    for (String body : List.of(
        "{\"audit.retention-days\":8,\"no.such-setting\":1}",
        "{\"audit.retention-days\":8,\"auth.users-create-projects\":\"yes\"}",
        "{\"audit.retention-days\":-1}",
        "{\"audit.retention-days\":1.5}",
        "{\"audit.retention-days\":\"8\"}",
        "{\"audit.retention-days\":99999999999}",
        "{\"auth.session-idle-timeout\":\"forever\"}",
        "{\"auth.session-idle-timeout\":\"0s\"}",
        "{\"auth.session-idle-timeout\":30}",
        "{\"auth.session-idle-timeout\":\"8d\"}",
        "{\"auth.session-max-age\":\"31d\"}",
        "{\"auth.session-max-age\":\"0s\"}",
        "{\"auth.session-idle-timeout\":\"30m'; DROP TABLE settings; --\"}",
        "{\"x'); DELETE FROM settings; --\":true}",
        "{\"auth.session-idle-timeout\":\"" + "9".repeat(10_000) + "s\"}",
        "{\"auth.session-idle-timeout\":\"" + huge + "\"}",
        "{\"" + huge + "\":1}",
        "{}",
        "[]",
        "null",
        "not json")) {
      HttpResponse<byte[]> response = berth.put(
          SETTINGS, Content.utf8(body), with(admin(), "Content-Type", "application/json"));
      assertThat(response.statusCode()).as("%.80s → %s", body, text(response)).isEqualTo(400);
    }
    HttpResponse<byte[]> unknown = berth.put(
        SETTINGS,
        Content.utf8("{\"no.such-setting\":1}"),
        with(admin(), "Content-Type", "application/json"));
    assertThat(text(unknown)).contains("no.such-setting", "audit.retention-days");
    HttpResponse<byte[]> wrongType = berth.put(
        SETTINGS,
        Content.utf8("{\"auth.users-create-projects\":\"yes\"}"),
        with(admin(), "Content-Type", "application/json"));
    assertThat(text(wrongType)).contains("auth.users-create-projects", "true or false");

    assertThat(InProcessBerth.json(berth.get(SETTINGS, admin()))).isEqualTo(before);
    assertThat(settingRecords()).isEqualTo(records);
  }

  @Test
  void aBrowserSessionChangesSettingsOnlyWithItsCsrfToken() {
    Sessions.Browser admin = browser(berth, "admin", ADMIN_PASSWORD);
    byte[] body = Content.utf8("{\"auth.session-idle-timeout\":\"45m\"}");

    HttpResponse<byte[]> without =
        berth.put(SETTINGS, body, with(admin.cookie(), "Content-Type", "application/json"));
    assertThat(without.statusCode()).isEqualTo(403);
    assertThat(InProcessBerth.json(berth.get(SETTINGS, admin.cookie()))
            .path("auth.session-idle-timeout")
            .asText())
        .isNotEqualTo("45m");

    HttpResponse<byte[]> with =
        berth.put(SETTINGS, body, with(admin.cookieAndToken(), "Content-Type", "application/json"));
    assertThat(with.statusCode()).as(text(with)).isEqualTo(200);
    assertThat(InProcessBerth.json(with).path("auth.session-idle-timeout").asText())
        .isEqualTo("45m");
  }

  @Test
  void theDatabaseValueOutlivesARestartAndOverridesTheConfiguration() throws Exception {
    put("{\"audit.retention-days\":12,\"auth.session-idle-timeout\":\"90m\"}");
    berth.close();
    berth = InProcessBerth.withAuth(
        ADMIN_PASSWORD,
        Map.of("audit.retention-days", "3", "auth.session-idle-timeout", "5m"),
        dataDir);
    berth.start();

    JsonNode settings = InProcessBerth.json(berth.get(SETTINGS, admin()));
    assertThat(settings.path("audit.retention-days").asInt()).isEqualTo(12);
    assertThat(settings.path("auth.session-idle-timeout").asText()).isEqualTo("90m");

    // Retention is on, so the daily purge is scheduled; switched off at runtime, it is removed.
    assertThat(retentionScheduled()).isTrue();
    put("{\"audit.retention-days\":0}");
    assertThat(retentionScheduled()).isFalse();
    put("{\"audit.retention-days\":12}");
    assertThat(retentionScheduled()).isTrue();
  }

  // ---- helpers ----

  private boolean retentionScheduled() throws Exception {
    try (Connection c = DriverManager.getConnection("jdbc:sqlite:" + dataDir.resolve("berth.db"));
        Statement s = c.createStatement();
        ResultSet rs =
            s.executeQuery("SELECT COUNT(*) FROM schedules WHERE name = 'audit-retention'")) {
      rs.next();
      return rs.getInt(1) == 1;
    }
  }

  private JsonNode put(String body) {
    HttpResponse<byte[]> response =
        berth.put(SETTINGS, Content.utf8(body), with(admin(), "Content-Type", "application/json"));
    assertThat(response.statusCode()).as(text(response)).isEqualTo(200);
    return InProcessBerth.json(response);
  }

  private JsonNode audit() {
    HttpResponse<byte[]> response =
        berth.get("/api/v1/audit-logs?action=setting.update&n=1000", admin());
    assertThat(response.statusCode()).as(text(response)).isEqualTo(200);
    return InProcessBerth.json(response).path("records");
  }

  private long settingRecords() {
    return audit().size();
  }

  private static String[] admin() {
    return basic("admin", ADMIN_PASSWORD);
  }
}
