package dev.berth.metadata;

import dev.berth.testkit.PostgresServer;
import dev.berth.testkit.contract.GarbageCollectContract;

/** Garbage collection on a real PostgreSQL, a new database for each test. */
class PostgresGarbageCollectTest extends GarbageCollectContract {
  private final PostgresServer server = PostgresServer.shared();
  private String url;

  @Override
  protected Database openDatabase() {
    url = server.createDatabase();
    return Database.open(url, PostgresServer.USER, PostgresServer.PASSWORD, 8);
  }

  @Override
  protected void cleanup() {
    server.dropDatabase(url);
  }
}
