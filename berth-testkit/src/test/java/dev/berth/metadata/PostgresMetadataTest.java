package dev.berth.metadata;

import dev.berth.testkit.PostgresServer;
import dev.berth.testkit.contract.MetadataContract;

/** The metadata contract on a real PostgreSQL, a new database for each test. */
class PostgresMetadataTest extends MetadataContract {
  private final PostgresServer server = PostgresServer.shared();
  private String url;

  @Override
  protected Database openDatabase() {
    url = server.createDatabase();
    return Database.open(url, PostgresServer.USER, PostgresServer.PASSWORD, 8);
  }

  @Override
  protected void afterBulkLoad(String... tables) {
    try (java.sql.Connection c = java.sql.DriverManager.getConnection(
            url, PostgresServer.USER, PostgresServer.PASSWORD);
        java.sql.Statement statement = c.createStatement()) {
      for (String table : tables) {
        statement.execute("VACUUM ANALYZE " + table);
      }
    } catch (java.sql.SQLException e) {
      throw new IllegalStateException(e);
    }
  }

  @Override
  protected void cleanup() {
    server.dropDatabase(url);
  }
}
