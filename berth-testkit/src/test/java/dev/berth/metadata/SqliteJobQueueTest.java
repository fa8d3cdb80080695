package dev.berth.metadata;

import dev.berth.testkit.contract.JobQueueContract;
import java.nio.file.Path;
import org.junit.jupiter.api.io.TempDir;

/** The job queue, scheduler and worker on SQLite: every "node" shares the one owning process. */
class SqliteJobQueueTest extends JobQueueContract {
  @TempDir
  Path dir;

  @Override
  protected Database openDatabase() {
    return Database.open("jdbc:sqlite:" + dir.resolve("berth.db"));
  }
}
