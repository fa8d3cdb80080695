package dev.berth.storage.fs;

import dev.berth.storage.BlobDriver;
import dev.berth.storage.BlobNotFoundException;
import dev.berth.storage.BlobWriter;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.ByteBuffer;
import java.nio.channels.FileChannel;
import java.nio.channels.SeekableByteChannel;
import java.nio.file.DirectoryNotEmptyException;
import java.nio.file.FileAlreadyExistsException;
import java.nio.file.FileVisitResult;
import java.nio.file.Files;
import java.nio.file.LinkOption;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;
import java.nio.file.SimpleFileVisitor;
import java.nio.file.StandardCopyOption;
import java.nio.file.StandardOpenOption;
import java.nio.file.attribute.BasicFileAttributes;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.List;
import java.util.OptionalLong;
import java.util.regex.Pattern;
import java.util.stream.Stream;

/**
 * Keys as files under a root directory. Writes go to the file itself (an upload's own file, never
 * a shared one); {@link #move} is an atomic rename after which the parent directory is synced, so a
 * committed blob survives a crash whole or not at all.
 */
public final class FsBlobDriver implements BlobDriver {
  private static final Pattern KEY = Pattern.compile("[A-Za-z0-9._-]+(/[A-Za-z0-9._-]+)*");
  private final Path root;

  public FsBlobDriver(Path root) throws IOException {
    this.root = Files.createDirectories(root).toRealPath();
  }

  public Path root() {
    return root;
  }

  private Path path(String key) {
    if (!KEY.matcher(key).matches() || key.contains("..")) {
      throw new IllegalArgumentException("bad storage key: " + key);
    }
    return root.resolve(key);
  }

  @Override
  public SeekableByteChannel open(String key) throws IOException {
    Path file = path(key);
    if (Files.isDirectory(file)) {
      // Linux opens a directory for reading; it is a prefix, not a key, so it holds nothing.
      throw new BlobNotFoundException(key);
    }
    try {
      return FileChannel.open(file, StandardOpenOption.READ);
    } catch (NoSuchFileException e) {
      throw new BlobNotFoundException(key);
    }
  }

  @Override
  public BlobWriter writer(String key, boolean append) throws IOException {
    Path file = path(key);
    for (int attempt = 1; ; attempt++) {
      try {
        makeDirectories(file.getParent());
        FileChannel channel = append
            ? FileChannel.open(file, StandardOpenOption.CREATE, StandardOpenOption.WRITE)
            : FileChannel.open(
                file,
                StandardOpenOption.CREATE,
                StandardOpenOption.WRITE,
                StandardOpenOption.TRUNCATE_EXISTING);
        channel.position(channel.size());
        return new FileWriter(channel);
      } catch (NoSuchFileException e) {
        // A concurrent delete pruned the directory just made (see pruneEmptyParents): again.
        if (attempt >= 5) {
          throw e;
        }
      }
    }
  }

  @Override
  public OptionalLong stat(String key) throws IOException {
    try {
      BasicFileAttributes attributes = Files.readAttributes(path(key), BasicFileAttributes.class);
      return attributes.isRegularFile() ? OptionalLong.of(attributes.size()) : OptionalLong.empty();
    } catch (NoSuchFileException e) {
      return OptionalLong.empty();
    }
  }

  @Override
  public void move(String from, String to) throws IOException {
    Path source = path(from);
    Path target = path(to);
    for (int attempt = 1; ; attempt++) {
      try {
        makeDirectories(target.getParent());
        Files.move(
            source, target, StandardCopyOption.ATOMIC_MOVE, StandardCopyOption.REPLACE_EXISTING);
        break;
      } catch (NoSuchFileException e) {
        if (!Files.exists(source)) {
          throw new BlobNotFoundException(from);
        }
        // A concurrent delete pruned the target's directory after it was made: make it again.
        if (attempt >= 5) {
          throw e;
        }
      }
    }
    syncDirectory(target.getParent());
  }

  /**
   * {@link Files#createDirectories}, which fails with {@link FileAlreadyExistsException} when a
   * concurrent delete prunes a directory between its "exists" and "is a directory" checks (see
   * pruneEmptyParents); that is reported as the {@link NoSuchFileException} the callers retry on.
   */
  private static void makeDirectories(Path dir) throws IOException {
    try {
      Files.createDirectories(dir);
    } catch (FileAlreadyExistsException e) {
      if (Files.isRegularFile(dir, LinkOption.NOFOLLOW_LINKS)) {
        throw e;
      }
      NoSuchFileException pruned =
          new NoSuchFileException(dir.toString(), null, "pruned while being made");
      pruned.initCause(e);
      throw pruned;
    }
  }

  @Override
  public boolean delete(String key) throws IOException {
    Path file = path(key);
    boolean deleted = Files.deleteIfExists(file);
    if (deleted) {
      pruneEmptyParents(file.getParent());
    }
    return deleted;
  }

  @Override
  public int deleteAll(String prefix) throws IOException {
    Path dir = path(prefix);
    if (!Files.exists(dir)) {
      return 0;
    }
    int[] count = {0};
    try (Stream<Path> walk = Files.walk(dir)) {
      walk.sorted(Comparator.reverseOrder()).forEach(p -> {
        try {
          if (Files.isRegularFile(p)) {
            count[0]++;
          }
          Files.deleteIfExists(p);
        } catch (DirectoryNotEmptyException e) {
          // a concurrent writer added a file; leave the directory
        } catch (IOException e) {
          throw new UncheckedIOException(e);
        }
      });
    } catch (UncheckedIOException e) {
      throw e.getCause();
    }
    pruneEmptyParents(dir.getParent());
    return count[0];
  }

  @Override
  public List<String> list(String prefix) throws IOException {
    Path dir = path(prefix);
    if (!Files.isDirectory(dir)) {
      return List.of();
    }
    List<String> keys = new ArrayList<>();
    // A walk over a tree that others change (a delete prunes empty directories, a commit makes
    // them): what vanishes meanwhile is skipped rather than failing the whole listing.
    Files.walkFileTree(dir, new SimpleFileVisitor<>() {
      @Override
      public FileVisitResult visitFile(Path file, BasicFileAttributes attributes) {
        if (attributes.isRegularFile()) {
          keys.add(root.relativize(file).toString().replace('\\', '/'));
        }
        return FileVisitResult.CONTINUE;
      }

      @Override
      public FileVisitResult visitFileFailed(Path file, IOException e) throws IOException {
        if (e instanceof NoSuchFileException) {
          return FileVisitResult.CONTINUE;
        }
        throw e;
      }
    });
    return keys;
  }

  private void pruneEmptyParents(Path dir) {
    while (dir != null && !dir.equals(root) && dir.startsWith(root)) {
      try {
        Files.delete(dir);
      } catch (IOException e) {
        return; // not empty, or already gone: stop
      }
      dir = dir.getParent();
    }
  }

  private static void syncDirectory(Path dir) {
    try (FileChannel channel = FileChannel.open(dir, StandardOpenOption.READ)) {
      channel.force(true);
    } catch (IOException e) {
      // Some file systems refuse to open directories; the rename itself is still atomic.
    }
  }

  /**
   * Writes to one file. Large writes are flushed to disk in the background every {@link
   * #SYNC_EVERY} bytes, so that {@link #commit()} waits only for the tail instead of the whole
   * file: the disk works while the network still delivers.
   */
  private static final class FileWriter implements BlobWriter {
    private static final long SYNC_EVERY = 64L << 20;
    private final FileChannel channel;
    private long unsynced;
    private Thread syncing;
    private volatile IOException syncFailure;

    FileWriter(FileChannel channel) {
      this.channel = channel;
    }

    @Override
    public void write(ByteBuffer bytes) throws IOException {
      int n = bytes.remaining();
      while (bytes.hasRemaining()) {
        channel.write(bytes);
      }
      unsynced += n;
      if (unsynced >= SYNC_EVERY && (syncing == null || !syncing.isAlive())) {
        unsynced = 0;
        syncing = Thread.ofVirtual().name("fs-sync").start(this::backgroundSync);
      }
    }

    private void backgroundSync() {
      try {
        channel.force(false);
      } catch (IOException e) {
        syncFailure = e;
      }
    }

    @Override
    public long size() {
      try {
        return channel.position();
      } catch (IOException e) {
        throw new UncheckedIOException(e);
      }
    }

    @Override
    public void commit() throws IOException {
      try (channel) {
        awaitSync();
        if (syncFailure != null) {
          throw syncFailure;
        }
        channel.force(false);
      }
    }

    private void awaitSync() throws IOException {
      if (syncing != null) {
        try {
          syncing.join();
        } catch (InterruptedException e) {
          Thread.currentThread().interrupt();
          throw new java.io.InterruptedIOException("interrupted while syncing");
        }
      }
    }

    @Override
    public void close() throws IOException {
      awaitSync();
      channel.close();
    }
  }
}
