package dev.berth.metadata;

import java.sql.Connection;
import java.sql.PreparedStatement;
import java.sql.ResultSet;
import java.sql.SQLException;
import java.sql.Statement;
import java.util.List;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Versioned schema migrations, applied in order inside one transaction each. The version table is
 * the record of what ran; a database newer than this build is refused rather than guessed at.
 *
 * <p>On PostgreSQL several nodes may start at once on an empty database. Each migration
 * transaction first takes a transaction-scoped advisory lock, so they run one after the other and
 * the second finds the version already recorded (DDL is transactional there). Without it,
 * concurrent {@code CREATE TABLE IF NOT EXISTS} can fail on a duplicate key in the catalog, and two
 * nodes that both read version 0 would both apply V1, one of them failing. On SQLite the writer's
 * transaction is IMMEDIATE, which locks other writers out already.
 */
final class Migrations {
  private static final Logger log = LoggerFactory.getLogger(Migrations.class);
  /** The advisory lock key for migrations: "berthmig" in ASCII, unlikely to meet another's. */
  private static final long MIGRATION_LOCK = 0x626572_74686d6967L;

  /**
   * One schema version.
   *
   * @param only the one dialect whose schema it changes, or null for both; on the other it only
   *     records the version, so that both keep one numbering
   */
  record Migration(int version, String description, String resource, Dialect only) {
    Migration(int version, String description, String resource) {
      this(version, description, resource, null);
    }
  }

  static final List<Migration> ALL = List.of(
      new Migration(1, "registry", "/db/migration/common/V1__registry.sql"),
      new Migration(2, "garbage collection", "/db/migration/common/V2__garbage_collection.sql"),
      new Migration(3, "jobs", "/db/migration/common/V3__jobs.sql"),
      new Migration(4, "link pruning", "/db/migration/common/V4__link_pruning.sql"),
      new Migration(5, "identities", "/db/migration/common/V5__identities.sql"),
      new Migration(6, "listings", "/db/migration/common/V6__listings.sql"),
      new Migration(7, "audit log", "/db/migration/common/V7__audit_log.sql"),
      new Migration(8, "external identities", "/db/migration/common/V8__external_identities.sql"),
      new Migration(9, "upload claims", "/db/migration/common/V9__upload_claims.sql"),
      new Migration(
          10, "sessions and settings", "/db/migration/common/V10__sessions_and_settings.sql"),
      new Migration(11, "upload hash state", "/db/migration/common/V11__upload_hash_state.sql"),
      new Migration(
          12, "audit log rowid", "/db/migration/sqlite/V12__audit_log_rowid.sql", Dialect.SQLITE));

  private final Database database;

  Migrations(Database database) {
    this.database = database;
  }

  void migrate() {
    database.write(c -> {
      lockOutOtherNodes(c);
      try (Statement s = c.createStatement()) {
        s.execute("CREATE TABLE IF NOT EXISTS schema_migrations (version INTEGER PRIMARY KEY,"
            + " description VARCHAR(200) NOT NULL, applied_at BIGINT NOT NULL)");
      }
      return null;
    });
    int current = database.write(c -> {
      lockOutOtherNodes(c);
      return currentVersion(c);
    });
    int latest = ALL.getLast().version();
    if (current > latest) {
      throw new IllegalStateException("metadata database is at schema version "
          + current
          + ", newer than this build of Berth knows ("
          + latest
          + "); upgrade Berth");
    }
    for (Migration migration : ALL) {
      if (migration.version() <= current) {
        continue;
      }
      boolean applies = migration.only() == null || migration.only() == database.dialect();
      String sql = applies ? database.sqlResource(migration.resource()) : "";
      database.write(c -> {
        lockOutOtherNodes(c);
        // Re-check inside the transaction: another node may have migrated meanwhile.
        if (currentVersion(c) >= migration.version()) {
          return null;
        }
        try (Statement s = c.createStatement()) {
          for (String statement : sql.split(";\\s*(\\n|$)")) {
            String trimmed = stripComments(statement);
            if (!trimmed.isBlank()) {
              s.execute(trimmed);
            }
          }
        }
        try (PreparedStatement p = c.prepareStatement(
            "INSERT INTO schema_migrations (version, description, applied_at) VALUES (?, ?, ?)")) {
          p.setInt(1, migration.version());
          p.setString(2, migration.description());
          p.setLong(3, System.currentTimeMillis());
          p.executeUpdate();
        }
        log.info(
            "metadata schema migrated to version {} ({})",
            migration.version(),
            migration.description());
        return null;
      });
    }
  }

  /** On PostgreSQL, waits for other nodes' migrations; released when the transaction ends. */
  private void lockOutOtherNodes(Connection c) throws SQLException {
    if (database.dialect() == Dialect.POSTGRES) {
      try (PreparedStatement p = c.prepareStatement("SELECT pg_advisory_xact_lock(?)")) {
        p.setLong(1, MIGRATION_LOCK);
        p.executeQuery().close();
      }
    }
  }

  private static int currentVersion(Connection c) throws SQLException {
    try (Statement s = c.createStatement();
        ResultSet rs = s.executeQuery("SELECT COALESCE(MAX(version), 0) FROM schema_migrations")) {
      rs.next();
      return rs.getInt(1);
    }
  }

  private static String stripComments(String statement) {
    StringBuilder out = new StringBuilder();
    for (String line : statement.split("\n")) {
      String trimmed = line.strip();
      if (!trimmed.startsWith("--")) {
        out.append(line).append('\n');
      }
    }
    return out.toString().strip();
  }
}
