package dev.berth.storage;

import java.io.IOException;
import java.nio.ByteBuffer;

/** Streaming writes to one key; see {@link BlobDriver#writer}. */
public interface BlobWriter extends AutoCloseable {

  /** Writes the whole buffer. */
  void write(ByteBuffer bytes) throws IOException;

  /** Bytes the key holds, including those written through this writer. */
  long size();

  /** Makes what was written durable (flushed to stable storage) and closes the writer. */
  void commit() throws IOException;

  /** Closes without making durable what was written since open; the bytes may remain. */
  @Override
  void close() throws IOException;
}
