package dev.berth.server;

import java.io.IOException;
import java.nio.channels.FileChannel;
import java.nio.channels.FileLock;
import java.nio.channels.OverlappingFileLockException;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;

/**
 * One process at a time per data directory ({@code <data-dir>/.lock}): a second server would split
 * the single-writer SQLite database, and a metadata migration must not miss a server's writes.
 */
final class DataDirectoryLock {
  private DataDirectoryLock() {}

  /**
   * Takes the lock; the returned channel holds it until closed. Null when another process, or
   * this one, holds it already.
   */
  static FileChannel tryLock(Path dataDir) throws IOException {
    FileChannel channel = FileChannel.open(
        dataDir.resolve(".lock"), StandardOpenOption.CREATE, StandardOpenOption.WRITE);
    FileLock lock;
    try {
      lock = channel.tryLock();
    } catch (OverlappingFileLockException e) {
      lock = null;
    }
    if (lock == null) {
      channel.close();
      return null;
    }
    return channel;
  }
}
