package dev.berth.server;

import org.junit.jupiter.api.extension.RegisterExtension;

/** SQLite and the filesystem allow one node: both requests go to it, on two connections. */
class SqliteFsConcurrentChunksTest extends ConcurrentChunksTest {
  @RegisterExtension
  static final InProcessBerth NODE = new InProcessBerth();

  @Override
  protected InProcessBerth first() {
    return NODE;
  }

  @Override
  protected InProcessBerth second() {
    return NODE;
  }
}
