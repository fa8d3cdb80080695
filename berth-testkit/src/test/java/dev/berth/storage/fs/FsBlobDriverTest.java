package dev.berth.storage.fs;

import dev.berth.storage.BlobDriver;
import dev.berth.testkit.contract.BlobDriverContract;
import java.io.IOException;
import java.nio.file.Path;
import org.junit.jupiter.api.io.TempDir;

class FsBlobDriverTest extends BlobDriverContract {
  @TempDir
  Path root;

  @Override
  protected BlobDriver newDriver() throws IOException {
    return new FsBlobDriver(root);
  }
}
