package dev.berth.metadata;

import dev.berth.testkit.PostgresServer;
import dev.berth.testkit.contract.AuditLogContract;

/**
 * The audit log on a real PostgreSQL, a new database for each test; the second node of the
 * concurrency test is a second {@code Database} (its own pool) on that database.
 */
class PostgresAuditLogTest extends AuditLogContract {
  private final PostgresServer server = PostgresServer.shared();
  private String url;

  @Override
  protected Database openDatabase() {
    url = server.createDatabase();
    return Database.open(url, PostgresServer.USER, PostgresServer.PASSWORD, 8);
  }

  @Override
  protected Database openNode() {
    return Database.open(url, PostgresServer.USER, PostgresServer.PASSWORD, 4);
  }

  @Override
  protected void cleanup() {
    server.dropDatabase(url);
  }
}
