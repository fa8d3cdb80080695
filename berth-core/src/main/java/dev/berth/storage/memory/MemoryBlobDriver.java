package dev.berth.storage.memory;

import dev.berth.storage.BlobDriver;
import dev.berth.storage.BlobNotFoundException;
import dev.berth.storage.BlobWriter;
import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.channels.ClosedChannelException;
import java.nio.channels.NonWritableChannelException;
import java.nio.channels.SeekableByteChannel;
import java.util.ArrayList;
import java.util.List;
import java.util.OptionalLong;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.ConcurrentMap;

/** Keys in a map, for tests and throwaway registries. Passes the same contract as the others. */
public final class MemoryBlobDriver implements BlobDriver {
  private final ConcurrentMap<String, byte[]> entries = new ConcurrentHashMap<>();

  @Override
  public SeekableByteChannel open(String key) throws IOException {
    byte[] bytes = entries.get(key);
    if (bytes == null) {
      throw new BlobNotFoundException(key);
    }
    return new ReadChannel(bytes);
  }

  @Override
  public BlobWriter writer(String key, boolean append) {
    byte[] existing = append ? entries.getOrDefault(key, new byte[0]) : new byte[0];
    entries.putIfAbsent(key, new byte[0]);
    return new BlobWriter() {
      private final ByteArrayOutputStream buffer = initial(existing);

      @Override
      public void write(ByteBuffer bytes) {
        byte[] chunk = new byte[bytes.remaining()];
        bytes.get(chunk);
        buffer.writeBytes(chunk);
      }

      @Override
      public long size() {
        return buffer.size();
      }

      @Override
      public void commit() {
        entries.put(key, buffer.toByteArray());
      }

      @Override
      public void close() {
        entries.put(key, buffer.toByteArray());
      }
    };
  }

  private static ByteArrayOutputStream initial(byte[] existing) {
    ByteArrayOutputStream out = new ByteArrayOutputStream(Math.max(32, existing.length));
    out.writeBytes(existing);
    return out;
  }

  @Override
  public OptionalLong stat(String key) {
    byte[] bytes = entries.get(key);
    return bytes == null ? OptionalLong.empty() : OptionalLong.of(bytes.length);
  }

  @Override
  public synchronized void move(String from, String to) throws IOException {
    byte[] bytes = entries.remove(from);
    if (bytes == null) {
      throw new BlobNotFoundException(from);
    }
    entries.put(to, bytes);
  }

  @Override
  public boolean delete(String key) {
    return entries.remove(key) != null;
  }

  @Override
  public int deleteAll(String prefix) {
    int count = 0;
    for (String key : list(prefix)) {
      if (entries.remove(key) != null) {
        count++;
      }
    }
    return count;
  }

  @Override
  public List<String> list(String prefix) {
    String dir = prefix.endsWith("/") ? prefix : prefix + "/";
    List<String> keys = new ArrayList<>();
    for (String key : entries.keySet()) {
      if (key.startsWith(dir)) {
        keys.add(key);
      }
    }
    return keys;
  }

  private static final class ReadChannel implements SeekableByteChannel {
    private final byte[] bytes;
    private int position;
    private boolean open = true;

    ReadChannel(byte[] bytes) {
      this.bytes = bytes;
    }

    @Override
    public int read(ByteBuffer dst) throws ClosedChannelException {
      if (!open) {
        throw new ClosedChannelException();
      }
      if (position >= bytes.length) {
        return -1;
      }
      int n = Math.min(dst.remaining(), bytes.length - position);
      dst.put(bytes, position, n);
      position += n;
      return n;
    }

    @Override
    public int write(ByteBuffer src) {
      throw new NonWritableChannelException();
    }

    @Override
    public long position() {
      return position;
    }

    @Override
    public SeekableByteChannel position(long newPosition) {
      if (newPosition < 0) {
        throw new IllegalArgumentException("negative position: " + newPosition);
      }
      position = (int) Math.min(newPosition, Integer.MAX_VALUE);
      return this;
    }

    @Override
    public long size() {
      return bytes.length;
    }

    @Override
    public SeekableByteChannel truncate(long size) {
      throw new NonWritableChannelException();
    }

    @Override
    public boolean isOpen() {
      return open;
    }

    @Override
    public void close() {
      open = false;
    }
  }
}
