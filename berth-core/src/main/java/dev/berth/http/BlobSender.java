package dev.berth.http;

import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.channels.SeekableByteChannel;

/**
 * "Send this byte range of this blob": the one function every blob download goes through, so the
 * copy strategy can change here without touching handlers.
 *
 * <p>This is the Java 21 version: it copies through pooled buffers ({@link BufferedSend}). The jar
 * is multi-release: on Java 22 and later {@code src/main/java22}'s version of this class maps
 * each window of the file and unmaps it right after the write (decision 003). Jetty's {@code
 * transferTo}, once it ships, would slot in here too.
 */
public final class BlobSender {
  private BlobSender() {}

  public static void send(Exchange exchange, SeekableByteChannel channel, long offset, long length)
      throws IOException {
    if (length == 0) {
      exchange.write(true, ByteBuffer.allocate(0));
      return;
    }
    BufferedSend.send(exchange, channel, offset, length);
  }
}
