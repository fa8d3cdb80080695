package dev.berth.server;

import static java.util.Map.entry;

import dev.berth.testkit.PostgresServer;
import dev.berth.testkit.S3Server;
import java.util.Map;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;

/**
 * The GC stress test as a cluster's node runs: metadata on a real PostgreSQL (a new database),
 * blobs on a real S3 API (s3proxy, a new bucket under a prefix). Either failing to start fails
 * the test.
 */
class PostgresS3GarbageCollectStressTest extends GarbageCollectStressTest {
  private static S3Server s3;
  private static String databaseUrl;

  @BeforeAll
  static void startServers() throws Exception {
    s3 = S3Server.start();
    databaseUrl = PostgresServer.shared().createDatabase();
  }

  @AfterAll
  static void stopServers() throws Exception {
    try {
      if (databaseUrl != null) {
        PostgresServer.shared().dropDatabase(databaseUrl);
      }
    } finally {
      if (s3 != null) {
        s3.close();
      }
    }
  }

  @Override
  protected Map<String, String> backend() {
    return Map.ofEntries(
        entry("metadata.url", databaseUrl),
        entry("metadata.username", PostgresServer.USER),
        entry("metadata.password", PostgresServer.PASSWORD),
        entry("storage.driver", "s3"),
        entry("storage.s3.endpoint", s3.endpoint()),
        entry("storage.s3.bucket", "gc-stress"),
        entry("storage.s3.prefix", "berth/"),
        entry("storage.s3.access-key", S3Server.ACCESS_KEY),
        entry("storage.s3.secret-key", S3Server.SECRET_KEY),
        entry("storage.s3.path-style", "true"),
        entry("storage.s3.create-bucket", "true"));
  }
}
