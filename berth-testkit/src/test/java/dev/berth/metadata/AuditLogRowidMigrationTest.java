package dev.berth.metadata;

import static org.assertj.core.api.Assertions.assertThat;

import dev.berth.audit.ActorType;
import dev.berth.audit.AuditAction;
import dev.berth.audit.AuditEvent;
import dev.berth.audit.AuditKey;
import dev.berth.audit.AuditLog;
import dev.berth.audit.AuditOutcome;
import dev.berth.audit.AuditVerifier;
import java.nio.file.Path;
import java.sql.Connection;
import java.sql.DriverManager;
import java.sql.ResultSet;
import java.sql.Statement;
import java.time.Clock;
import java.time.Instant;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * Migration 12 on SQLite: an audit log written with V7's table (id a separate unique index) keeps
 * every record, value for value and in order, with id as the rowid; the chain still verifies and
 * the next append continues it.
 */
class AuditLogRowidMigrationTest {
  private static final AuditKey KEY = AuditKey.of("rowid-migration-key-0123456789");

  @TempDir
  Path dir;

  @Test
  void recordsSurviveTheRewriteAndTheChainContinues() throws Exception {
    String url = "jdbc:sqlite:" + dir.resolve("berth.db");
    try (Database database = Database.open(url)) {
      try (AuditLog log =
          new AuditLog(database, KEY, AuditLog.Settings.DEFAULTS, Clock.systemUTC())) {
        for (int i = 0; i < 50; i++) {
          log.record(event(i));
        }
      }
    }
    backToVersion11(url);
    List<List<String>> before = rows(url);
    assertThat(before).hasSizeGreaterThanOrEqualTo(50);
    assertThat(schema(url)).contains("id BIGINT PRIMARY KEY");

    try (Database database = Database.open(url)) {
      assertThat(rows(url)).isEqualTo(before);
      assertThat(schema(url)).contains("id INTEGER PRIMARY KEY");
      assertThat(indexes(url))
          .containsExactlyInAnyOrder(
              "audit_log_time", "audit_log_actor", "audit_log_project", "audit_log_repository");
      assertThat(new AuditVerifier(database, Optional.of(KEY)).verify().intact())
          .isTrue();

      try (AuditLog log =
          new AuditLog(database, KEY, AuditLog.Settings.DEFAULTS, Clock.systemUTC())) {
        log.record(event(50));
      }
      assertThat(rows(url)).hasSize(before.size() + 1).startsWith(before.toArray(List[]::new));
      assertThat(new AuditVerifier(database, Optional.of(KEY)).verify().intact())
          .isTrue();
    }
  }

  private static AuditEvent event(int i) {
    return new AuditEvent(
        Instant.parse("2026-11-01T00:00:00Z").plusSeconds(i),
        i % 2 == 0 ? ActorType.USER : ActorType.ANONYMOUS,
        i % 2 == 0 ? "alice" : "",
        "10.0.0." + i,
        "client/" + i,
        i % 3 == 0 ? AuditAction.MANIFEST_PUSH : AuditAction.MANIFEST_PULL,
        "team",
        "team/app",
        "v" + i,
        "sha256:" + String.format("%064x", i),
        AuditOutcome.SUCCESS,
        i % 5 == 0 ? Map.of("note", "n" + i) : Map.of());
  }

  /** The audit table as V7 created it, and the version table without 12. */
  private static void backToVersion11(String url) throws Exception {
    try (Connection c = DriverManager.getConnection(url);
        Statement s = c.createStatement()) {
      s.execute("CREATE TABLE audit_log_v7 (id BIGINT PRIMARY KEY, occurred_at BIGINT NOT NULL,"
          + " actor_type VARCHAR(16) NOT NULL, actor_name VARCHAR(255) NOT NULL,"
          + " source_address VARCHAR(64) NOT NULL, user_agent VARCHAR(512) NOT NULL,"
          + " action VARCHAR(64) NOT NULL, project VARCHAR(255) NOT NULL,"
          + " repository VARCHAR(255) NOT NULL, reference VARCHAR(255) NOT NULL,"
          + " digest VARCHAR(160) NOT NULL, outcome VARCHAR(16) NOT NULL, detail TEXT NOT NULL,"
          + " prev_hash VARCHAR(64) NOT NULL, hash VARCHAR(64) NOT NULL)");
      // Rows in another physical order than their ids, which the rewrite must not carry over.
      s.execute("INSERT INTO audit_log_v7 SELECT * FROM audit_log ORDER BY id DESC");
      s.execute("DROP TABLE audit_log");
      s.execute("ALTER TABLE audit_log_v7 RENAME TO audit_log");
      s.execute("CREATE INDEX audit_log_time ON audit_log(occurred_at)");
      s.execute("CREATE INDEX audit_log_actor ON audit_log(actor_name, id)");
      s.execute("CREATE INDEX audit_log_project ON audit_log(project, id)");
      s.execute("CREATE INDEX audit_log_repository ON audit_log(repository, id)");
      s.execute("DELETE FROM schema_migrations WHERE version = 12");
    }
  }

  private static List<List<String>> rows(String url) throws Exception {
    List<List<String>> rows = new ArrayList<>();
    try (Connection c = DriverManager.getConnection(url);
        Statement s = c.createStatement();
        ResultSet rs = s.executeQuery("SELECT * FROM audit_log ORDER BY id")) {
      int columns = rs.getMetaData().getColumnCount();
      while (rs.next()) {
        List<String> row = new ArrayList<>();
        for (int i = 1; i <= columns; i++) {
          row.add(rs.getMetaData().getColumnName(i) + "=" + rs.getString(i));
        }
        rows.add(row);
      }
    }
    return rows;
  }

  private static String schema(String url) throws Exception {
    try (Connection c = DriverManager.getConnection(url);
        Statement s = c.createStatement();
        ResultSet rs = s.executeQuery(
            "SELECT sql FROM sqlite_master WHERE type = 'table' AND name = 'audit_log'")) {
      return rs.next() ? rs.getString(1) : "";
    }
  }

  private static List<String> indexes(String url) throws Exception {
    List<String> names = new ArrayList<>();
    try (Connection c = DriverManager.getConnection(url);
        Statement s = c.createStatement();
        ResultSet rs = s.executeQuery("SELECT name FROM pragma_index_list('audit_log')")) {
      while (rs.next()) {
        names.add(rs.getString(1));
      }
    }
    return names;
  }
}
