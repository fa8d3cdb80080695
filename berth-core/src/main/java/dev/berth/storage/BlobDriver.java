package dev.berth.storage;

import java.io.IOException;
import java.net.URI;
import java.nio.channels.SeekableByteChannel;
import java.time.Duration;
import java.time.Instant;
import java.util.List;
import java.util.Optional;
import java.util.OptionalLong;

/**
 * The storage SPI: a flat namespace of keys holding bytes, nothing more. Keys are
 * {@code /}-separated paths made by {@link BlobStore} alone, never from client input. Registry
 * logic (content addressing, digests, links) lives above this interface.
 *
 * <p>Every implementation passes {@code BlobDriverContract}.
 */
public interface BlobDriver extends AutoCloseable {

  /**
   * Opens a key for reading. A {@link java.nio.channels.FileChannel} may be returned, which lets the
   * sender use zero-copy paths.
   *
   * @throws BlobNotFoundException when the key holds nothing
   */
  SeekableByteChannel open(String key) throws IOException;

  /**
   * Opens a key for writing. With {@code append} the writer continues after the bytes already there
   * (a missing key is created); without it any existing content is replaced. Nothing is durable
   * until {@link BlobWriter#commit()}.
   */
  BlobWriter writer(String key, boolean append) throws IOException;

  /** The size of what a key holds, or empty when it holds nothing. */
  OptionalLong stat(String key) throws IOException;

  /**
   * Moves {@code from} to {@code to} atomically, replacing what {@code to} held.
   *
   * @throws BlobNotFoundException when {@code from} holds nothing
   */
  void move(String from, String to) throws IOException;

  /** Deletes a key; returns false when it held nothing. */
  boolean delete(String key) throws IOException;

  /**
   * Deletes a key that was written whole and never appended to (a committed blob), as cheaply as
   * the backend allows: garbage collection calls it for every blob it frees. Whether the key held
   * anything is not reported.
   */
  default void deleteWhole(String key) throws IOException {
    delete(key);
  }

  /**
   * Deletes every key under a prefix (a "directory"), for cancelled uploads.
   *
   * @return how many keys were deleted
   */
  int deleteAll(String prefix) throws IOException;

  /** Every key under a prefix ({@code prefix/...}), in no particular order. */
  List<String> list(String prefix) throws IOException;

  /**
   * Aborts the writes started before {@code startedBefore} that were never committed nor closed
   * (their process died) and that still hold storage outside every key, which {@link #list} does
   * not show and {@link #delete} cannot reach: on S3, incomplete multipart uploads, which S3 keeps
   * (and bills) until they are aborted. Garbage collection calls this with the upload expiry as
   * the cut-off, so a write running for longer than that would be aborted too. A driver whose
   * unfinished writes are ordinary keys, or vanish with the process, has none: the default finds
   * nothing.
   *
   * @param dryRun find them only, abort nothing
   * @return one entry per write found (aborted unless {@code dryRun}): the key, or the storage
   *     object, it was writing to; a key written several times may appear more than once
   */
  default List<String> abortIncompleteWrites(Instant startedBefore, boolean dryRun)
      throws IOException {
    return List.of();
  }

  /**
   * A URL from which anyone holding it may {@code GET} a key's bytes (ranges included) without
   * credentials, for {@code expiry}; the registry redirects downloads there after its own
   * existence and access checks. Signing is local: the key is not looked up, so the caller must
   * know it holds a whole object (a committed blob). A driver that cannot hand out such URLs, or
   * is configured not to, returns empty, and the registry streams the bytes itself.
   */
  default Optional<URI> presignedGet(String key, Duration expiry) throws IOException {
    return Optional.empty();
  }

  @Override
  default void close() throws IOException {}
}
