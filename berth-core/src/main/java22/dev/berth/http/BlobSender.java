package dev.berth.http;

import java.io.IOException;
import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.nio.ByteBuffer;
import java.nio.channels.FileChannel;
import java.nio.channels.SeekableByteChannel;

/**
 * "Send this byte range of this blob", Java 22+ version (multi-release jar; the Java 21 version
 * copies through pooled buffers). File content is memory-mapped a window at a time and written to
 * the socket straight from the mapping, which saves a copy (measured: 0.34 against 0.82 server
 * CPU-s per GiB pulled). Each window is unmapped as soon as it is written, through its own arena,
 * so resident memory stays bounded by one window per download (decision 003).
 */
public final class BlobSender {
  private static final long WINDOW = 16L << 20;

  private BlobSender() {}

  public static void send(Exchange exchange, SeekableByteChannel channel, long offset, long length)
      throws IOException {
    if (length == 0) {
      exchange.write(true, ByteBuffer.allocate(0));
      return;
    }
    if (!(channel instanceof FileChannel file)) {
      BufferedSend.send(exchange, channel, offset, length);
      return;
    }
    long position = offset;
    long end = offset + length;
    while (position < end) {
      long n = Math.min(WINDOW, end - position);
      // Shared, not confined: Jetty may finish a write from its selector thread.
      try (Arena arena = Arena.ofShared()) {
        MemorySegment window = file.map(FileChannel.MapMode.READ_ONLY, position, n, arena);
        position += n;
        exchange.write(position >= end, window.asByteBuffer());
      }
    }
  }
}
