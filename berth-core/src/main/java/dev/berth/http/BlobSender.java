package dev.berth.http;

import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.MappedByteBuffer;
import java.nio.channels.FileChannel;
import java.nio.channels.SeekableByteChannel;

/**
 * "Send this byte range of this blob": the one function every blob download goes through, so a
 * zero-copy path can change here without touching handlers. File-backed content is memory-mapped
 * and written from the mapping (the kernel copies page cache to the socket; no copy through the
 * Java heap). Other channels are copied through a direct buffer.
 */
public final class BlobSender {
  private static final int MAP_WINDOW = 16 << 20;
  private static final int COPY_BUFFER = 256 << 10;

  private BlobSender() {}

  public static void send(Exchange exchange, SeekableByteChannel channel, long offset, long length)
      throws IOException {
    if (length == 0) {
      exchange.write(true, ByteBuffer.allocate(0));
      return;
    }
    if (channel instanceof FileChannel file) {
      long position = offset;
      long end = offset + length;
      while (position < end) {
        long n = Math.min(MAP_WINDOW, end - position);
        MappedByteBuffer mapped = file.map(FileChannel.MapMode.READ_ONLY, position, n);
        position += n;
        exchange.write(position >= end, mapped);
      }
      return;
    }
    channel.position(offset);
    ByteBuffer buffer = ByteBuffer.allocateDirect((int) Math.min(COPY_BUFFER, length));
    long remaining = length;
    while (remaining > 0) {
      buffer.clear();
      if (remaining < buffer.capacity()) {
        buffer.limit((int) remaining);
      }
      int read = channel.read(buffer);
      if (read < 0) {
        throw new IOException("blob content ended " + remaining + " bytes early");
      }
      remaining -= read;
      buffer.flip();
      exchange.write(remaining == 0, buffer);
    }
  }
}
