package dev.berth.server;

import static org.assertj.core.api.Assertions.assertThat;

import dev.berth.audit.ActorType;
import dev.berth.audit.AuditAction;
import dev.berth.audit.AuditEvent;
import dev.berth.audit.AuditOutcome;
import java.io.ByteArrayOutputStream;
import java.io.PrintStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.sql.Connection;
import java.sql.DriverManager;
import java.sql.ResultSet;
import java.sql.Statement;
import java.util.Map;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;

/** {@code berth audit verify} on a stopped server's data directory. */
class AuditCommandTest {
  private final Path dataDir;

  AuditCommandTest() throws Exception {
    dataDir = Files.createTempDirectory("berth-audit-verify-");
  }

  @AfterEach
  void delete() throws Exception {
    InProcessBerth.deleteRecursively(dataDir);
  }

  @Test
  void reportsIntactThenNamesTheFirstDeletedRecord() throws Exception {
    // Retention on, so the server also defines its daily purge (checked below).
    InProcessBerth berth = new InProcessBerth(Map.of("audit.retention-days", "30"), dataDir);
    berth.start();
    try {
      for (int i = 1; i <= 4; i++) {
        berth
            .audit()
            .record(AuditEvent.of(
                    AuditAction.USER_CREATE, ActorType.USER, "admin", AuditOutcome.SUCCESS)
                .withDetail(Map.of("user", "user" + i)));
      }
    } finally {
      berth.close();
    }

    Result intact = verify();
    assertThat(intact.status()).as(intact.err()).isZero();
    assertThat(intact.out()).isEqualTo("intact: 4 records, 1 checkpoints\n");

    try (Connection c = DriverManager.getConnection("jdbc:sqlite:" + dataDir.resolve("berth.db"));
        Statement s = c.createStatement()) {
      try (ResultSet rs = s.executeQuery(
          "SELECT job_type, interval_millis FROM schedules WHERE name = 'audit-retention'")) {
        assertThat(rs.next()).as("retention on: the daily purge is scheduled").isTrue();
        assertThat(rs.getString(1)).isEqualTo("audit.purge");
        assertThat(rs.getLong(2)).isEqualTo(86_400_000L);
      }
      s.executeUpdate("DELETE FROM audit_log WHERE id = 2");
    }
    Result broken = verify();
    assertThat(broken.status()).isEqualTo(1);
    assertThat(broken.out())
        .isEqualTo("broken at record 2 (deleted): record 2 is missing (deleted)\n");
  }

  @Test
  void aBadOptionIsAUsageError() {
    ByteArrayOutputStream err = new ByteArrayOutputStream();
    int status = Main.run(
        new String[] {"audit", "check"},
        Map.of(),
        new PrintStream(new ByteArrayOutputStream()),
        new PrintStream(err, true, StandardCharsets.UTF_8));
    assertThat(status).isEqualTo(2);
    assertThat(err.toString(StandardCharsets.UTF_8)).contains("berth audit verify");
  }

  private record Result(int status, String out, String err) {}

  private Result verify() {
    ByteArrayOutputStream out = new ByteArrayOutputStream();
    ByteArrayOutputStream err = new ByteArrayOutputStream();
    int status = Main.run(
        new String[] {"audit", "verify", "--data", dataDir.toString()},
        Map.of(),
        new PrintStream(out, true, StandardCharsets.UTF_8),
        new PrintStream(err, true, StandardCharsets.UTF_8));
    return new Result(
        status, out.toString(StandardCharsets.UTF_8), err.toString(StandardCharsets.UTF_8));
  }
}
