package dev.berth.storage.s3;

import dev.berth.storage.BlobDriver;
import dev.berth.testkit.S3Server;
import dev.berth.testkit.contract.BlobDriverContract;
import java.io.IOException;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;

/** The blob contract on a real S3 API (s3proxy), a new bucket for each test. */
class S3BlobDriverTest extends BlobDriverContract {
  private static S3Server server;
  private static int buckets;

  @BeforeAll
  static void startServer() throws Exception {
    server = S3Server.start();
  }

  @AfterAll
  static void stopServer() throws Exception {
    server.close();
  }

  @Override
  protected BlobDriver newDriver() throws IOException {
    return S3BlobDriver.connect(server.config("contract-" + ++buckets, "", true));
  }
}
