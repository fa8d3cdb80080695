package dev.berth.distribution;

import dev.berth.metadata.BlobDao;
import dev.berth.metadata.Database;
import dev.berth.metadata.RepositoryDao;
import dev.berth.oci.Digest;
import dev.berth.oci.ErrorCode;
import dev.berth.oci.RegistryException;
import dev.berth.oci.RepositoryName;
import dev.berth.storage.BlobNotFoundException;
import dev.berth.storage.BlobStore;
import java.io.IOException;
import java.nio.channels.SeekableByteChannel;
import java.util.Map;
import java.util.OptionalLong;

/**
 * Blob existence, download, delete and cross-repository mount. Every existence answer comes from
 * the metadata database (the repository's link), never from storage or a cache: a deleted blob is
 * 404 the moment the delete returns.
 */
public final class BlobService {
  private final Database database;
  private final RepositoryDao repositories;
  private final BlobDao blobs;
  private final BlobStore store;

  public BlobService(
      Database database, RepositoryDao repositories, BlobDao blobs, BlobStore store) {
    this.database = database;
    this.repositories = repositories;
    this.blobs = blobs;
    this.store = store;
  }

  /** The size of a blob the repository links; BLOB_UNKNOWN otherwise. */
  public long size(RepositoryName repository, Digest digest) {
    OptionalLong size = database.read(c -> blobs.linkedSize(c, repository.value(), digest));
    return size.orElseThrow(() -> blobUnknown(digest));
  }

  /** Opens a blob's bytes after {@link #size} said it is visible. */
  public SeekableByteChannel open(Digest digest) throws IOException {
    try {
      return store.open(digest);
    } catch (BlobNotFoundException e) {
      // A row without bytes must never happen; say so loudly rather than serve garbage.
      throw new RegistryException(
          ErrorCode.INTERNAL,
          "blob " + digest + " is recorded but its content is missing",
          null,
          e);
    }
  }

  /** Removes the repository's link; the blob is 404 there at once. */
  public void delete(RepositoryName repository, Digest digest) {
    database.write(c -> {
      OptionalLong repositoryId = repositories.findId(c, repository.value());
      if (repositoryId.isEmpty() || !blobs.unlink(c, repositoryId.getAsLong(), digest)) {
        throw blobUnknown(digest);
      }
      blobs.markUnreferenced(c, digest);
      return null;
    });
  }

  /**
   * Links a blob that {@code from} links into {@code repository}.
   *
   * @return false when the mount is impossible (the caller falls back to an upload session)
   */
  public boolean mount(RepositoryName repository, RepositoryName from, Digest digest) {
    return database.write(c -> {
      // The live check locks the row first: garbage collection either sees this link or has
      // claimed the blob already, and then the mount falls back to an upload (decision 008).
      if (blobs.lockLive(c, digest).isEmpty()
          || blobs.linkedSize(c, from.value(), digest).isEmpty()) {
        return false;
      }
      long repositoryId = repositories.getOrCreate(c, repository.value());
      blobs.link(c, repositoryId, digest);
      return true;
    });
  }

  static RegistryException blobUnknown(Digest digest) {
    return new RegistryException(
        ErrorCode.BLOB_UNKNOWN,
        "blob unknown to registry: " + digest,
        Map.of("digest", digest.toString()));
  }
}
