package dev.berth.http;

import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.channels.FileChannel;
import java.nio.channels.SeekableByteChannel;
import java.util.concurrent.ArrayBlockingQueue;

/**
 * Sends a byte range by copying it through pooled 256 KiB direct buffers: bounded memory per
 * download, one copy more than a memory map. Used for channels that are not files, and for every
 * download on Java 21, which cannot unmap a mapping early (decision 003).
 */
final class BufferedSend {
  private static final int BUFFER = 256 << 10;
  private static final ArrayBlockingQueue<ByteBuffer> POOL = new ArrayBlockingQueue<>(64);

  private BufferedSend() {}

  static void send(Exchange exchange, SeekableByteChannel channel, long offset, long length)
      throws IOException {
    ByteBuffer buffer = POOL.poll();
    if (buffer == null) {
      buffer = ByteBuffer.allocateDirect(BUFFER);
    }
    try {
      FileChannel file = channel instanceof FileChannel f ? f : null;
      if (file == null) {
        channel.position(offset);
      }
      long position = offset;
      long remaining = length;
      while (remaining > 0) {
        buffer.clear();
        if (remaining < buffer.capacity()) {
          buffer.limit((int) remaining);
        }
        while (buffer.hasRemaining() && remaining > 0) {
          int read = file != null ? file.read(buffer, position) : channel.read(buffer);
          if (read < 0) {
            throw new IOException("blob content ended " + remaining + " bytes early");
          }
          position += read;
          remaining -= read;
        }
        buffer.flip();
        exchange.write(remaining == 0, buffer);
      }
    } finally {
      POOL.offer(buffer);
    }
  }
}
