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
import java.net.URI;
import java.nio.channels.SeekableByteChannel;
import java.time.Duration;
import java.util.Map;
import java.util.Optional;
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
  private final Optional<Duration> holdRefresh;
  private final Duration redirectExpiry;

  /**
   * @param holdRefresh how old a link's hold may be before an existence check ({@code HEAD})
   *     refreshes it (decision 012); empty on a read-only node, which takes no pushes
   * @param redirectExpiry how long a download URL from the storage driver stays valid ({@code
   *     storage.s3.redirect-expiry}); used only where the driver hands such URLs out
   */
  public BlobService(
      Database database,
      RepositoryDao repositories,
      BlobDao blobs,
      BlobStore store,
      Optional<Duration> holdRefresh,
      Duration redirectExpiry) {
    this.database = database;
    this.repositories = repositories;
    this.blobs = blobs;
    this.store = store;
    this.holdRefresh = holdRefresh;
    this.redirectExpiry = redirectExpiry;
  }

  /** The refresh interval for a given {@code gc.link-hold}: a quarter of it, at most 5 minutes. */
  public static Duration holdRefresh(Duration linkHold) {
    Duration quarter = linkHold.dividedBy(4);
    return quarter.compareTo(Duration.ofMinutes(5)) > 0 ? Duration.ofMinutes(5) : quarter;
  }

  /** The size of a blob the repository links, for a download; BLOB_UNKNOWN otherwise. */
  public long size(RepositoryName repository, Digest digest) {
    return database
        .read(c -> blobs.link(c, repository.value(), digest))
        .orElseThrow(() -> blobUnknown(digest))
        .size();
  }

  /**
   * The size of a blob the repository links, for an existence check ({@code HEAD}), after which
   * a client may skip the upload and push a manifest listing the blob. The 200 answer holds the
   * link for {@code gc.link-hold} (decision 012): a link not held, or held since longer than the
   * refresh interval, is refreshed first, and if garbage collection pruned it meanwhile the
   * answer is 404 after all, so the client uploads the blob.
   */
  public long check(RepositoryName repository, Digest digest) {
    BlobDao.Link link = database
        .read(c -> blobs.link(c, repository.value(), digest))
        .orElseThrow(() -> blobUnknown(digest));
    if (holdRefresh.isEmpty()) {
      return link.size();
    }
    long now = System.currentTimeMillis();
    boolean held = link.usedAt() > link.listedAt()
        && link.usedAt() >= now - holdRefresh.get().toMillis();
    if (!held && !database.write(c -> blobs.touch(c, link.repositoryId(), digest, now))) {
      throw blobUnknown(digest);
    }
    return link.size();
  }

  /**
   * Where the client may fetch a blob's bytes straight from storage, after {@link #size} said it
   * is visible (the database decides 404 first, decision 001); empty when the driver streams
   * through the node (the filesystem, or S3 with {@code redirect: false}).
   */
  public Optional<URI> downloadUrl(Digest digest) throws IOException {
    return store.driver().presignedGet(BlobStore.blobKey(digest), redirectExpiry);
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
          || blobs.link(c, from.value(), digest).isEmpty()) {
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
