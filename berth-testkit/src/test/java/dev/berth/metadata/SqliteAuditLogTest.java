package dev.berth.metadata;

import dev.berth.testkit.contract.AuditLogContract;
import java.nio.file.Path;
import org.junit.jupiter.api.io.TempDir;

/** The audit log on SQLite: one process, one writer. */
class SqliteAuditLogTest extends AuditLogContract {
  @TempDir
  Path dir;

  @Override
  protected Database openDatabase() {
    return Database.open("jdbc:sqlite:" + dir.resolve("berth.db"));
  }
}
