package dev.berth.storage.memory;

import dev.berth.storage.BlobDriver;
import dev.berth.testkit.contract.BlobDriverContract;

class MemoryBlobDriverTest extends BlobDriverContract {
  @Override
  protected BlobDriver newDriver() {
    return new MemoryBlobDriver();
  }
}
