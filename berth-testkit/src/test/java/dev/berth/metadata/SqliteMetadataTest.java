package dev.berth.metadata;

import dev.berth.testkit.contract.MetadataContract;
import java.nio.file.Path;
import org.junit.jupiter.api.io.TempDir;

class SqliteMetadataTest extends MetadataContract {
  @TempDir
  Path dir;

  @Override
  protected Database openDatabase() {
    return Database.open("jdbc:sqlite:" + dir.resolve("berth.db"));
  }
}
