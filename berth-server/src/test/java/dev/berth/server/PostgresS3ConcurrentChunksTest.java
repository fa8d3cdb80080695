package dev.berth.server;

import static java.util.Map.entry;

import dev.berth.testkit.PostgresServer;
import dev.berth.testkit.S3Server;
import java.util.Map;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;

/**
 * Two nodes on one PostgreSQL database and one bucket (s3proxy), as a cluster runs: the two
 * requests of each round go to different nodes.
 */
class PostgresS3ConcurrentChunksTest extends ConcurrentChunksTest {
  private static S3Server s3;
  private static String databaseUrl;
  private static InProcessBerth one;
  private static InProcessBerth two;

  @BeforeAll
  static void start() throws Exception {
    s3 = S3Server.start();
    databaseUrl = PostgresServer.shared().createDatabase();
    Map<String, String> backend = Map.ofEntries(
        entry("metadata.url", databaseUrl),
        entry("metadata.username", PostgresServer.USER),
        entry("metadata.password", PostgresServer.PASSWORD),
        entry("storage.driver", "s3"),
        entry("storage.s3.endpoint", s3.endpoint()),
        entry("storage.s3.bucket", "race"),
        entry("storage.s3.prefix", "berth/"),
        entry("storage.s3.access-key", S3Server.ACCESS_KEY),
        entry("storage.s3.secret-key", S3Server.SECRET_KEY),
        entry("storage.s3.path-style", "true"),
        entry("storage.s3.create-bucket", "true"),
        // Nodes on one database share the audit chain, so they share its checkpoint key.
        entry("audit.checkpoint-key", "concurrent-chunks-checkpoint-key"));
    one = new InProcessBerth(backend);
    one.start();
    two = new InProcessBerth(backend);
    two.start();
  }

  @AfterAll
  static void stop() throws Exception {
    try {
      for (InProcessBerth node : new InProcessBerth[] {one, two}) {
        if (node != null) {
          node.close();
        }
      }
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
  protected InProcessBerth first() {
    return one;
  }

  @Override
  protected InProcessBerth second() {
    return two;
  }
}
