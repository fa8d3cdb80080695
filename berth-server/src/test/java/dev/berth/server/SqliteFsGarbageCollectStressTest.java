package dev.berth.server;

import java.util.Map;

/** The GC stress test on SQLite and blobs on the filesystem, both in the data directory. */
class SqliteFsGarbageCollectStressTest extends GarbageCollectStressTest {
  @Override
  protected Map<String, String> backend() {
    return Map.of();
  }
}
