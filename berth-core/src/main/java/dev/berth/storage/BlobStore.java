package dev.berth.storage;

import dev.berth.oci.Digest;
import java.io.IOException;
import java.nio.channels.SeekableByteChannel;
import java.util.ArrayList;
import java.util.List;
import java.util.Optional;
import java.util.OptionalLong;

/**
 * Content-addressed blobs and upload scratch space over a {@link BlobDriver}. The one layout:
 *
 * <pre>
 *   blobs/&lt;algorithm&gt;/&lt;first two hex&gt;/&lt;hex&gt;   committed content, stored once whatever links it
 *   uploads/&lt;upload id&gt;                           bytes of an upload session in progress
 * </pre>
 *
 * Whether a blob is visible to anyone is decided by the metadata database, never by this store:
 * bytes here without a row there are invisible (and collectable).
 */
public final class BlobStore {
  private final BlobDriver driver;

  public BlobStore(BlobDriver driver) {
    this.driver = driver;
  }

  public BlobDriver driver() {
    return driver;
  }

  public static String blobKey(Digest digest) {
    String hex = digest.encoded();
    return "blobs/" + digest.algorithm() + "/" + hex.substring(0, 2) + "/" + hex;
  }

  public static String uploadKey(String uploadId) {
    return "uploads/" + uploadId;
  }

  /** The digest a {@code blobs/…} key holds, or empty for a key outside that layout. */
  public static Optional<Digest> digestOfKey(String key) {
    String[] parts = key.split("/");
    if (parts.length != 4 || !parts[0].equals("blobs") || !parts[3].startsWith(parts[2])) {
      return Optional.empty();
    }
    try {
      return Optional.of(Digest.parse(parts[1] + ":" + parts[3]));
    } catch (RuntimeException e) {
      return Optional.empty();
    }
  }

  /** Every key under {@code blobs/}, committed content (for garbage collection's orphan walk). */
  public List<String> listBlobKeys() throws IOException {
    return driver.list("blobs");
  }

  /** The upload ids (names under {@code uploads/}) that hold bytes. */
  public List<String> listUploadIds() throws IOException {
    List<String> ids = new ArrayList<>();
    for (String key : driver.list("uploads")) {
      ids.add(key.substring(key.indexOf('/') + 1));
    }
    return ids;
  }

  public SeekableByteChannel open(Digest digest) throws IOException {
    return driver.open(blobKey(digest));
  }

  public OptionalLong stat(Digest digest) throws IOException {
    return driver.stat(blobKey(digest));
  }

  public BlobWriter appendUpload(String uploadId) throws IOException {
    return driver.writer(uploadKey(uploadId), true);
  }

  public SeekableByteChannel openUpload(String uploadId) throws IOException {
    return driver.open(uploadKey(uploadId));
  }

  /** Bytes received so far by an upload; 0 when nothing was written yet. */
  public long uploadSize(String uploadId) throws IOException {
    return driver.stat(uploadKey(uploadId)).orElse(0);
  }

  /**
   * Makes an upload's verified bytes of {@code size} the content of {@code digest} (an atomic
   * move). An empty upload may have no bytes stored yet; any other whose bytes are gone (garbage
   * collection expired its session meanwhile) fails with {@link BlobNotFoundException} rather
   * than committing nothing in its place.
   */
  public void commitUpload(String uploadId, Digest digest, long size) throws IOException {
    if (size > 0) {
      driver.move(uploadKey(uploadId), blobKey(digest));
    } else {
      commitUpload(uploadId, digest);
    }
  }

  /** Makes an upload's verified bytes the content of {@code digest} (an atomic move). */
  public void commitUpload(String uploadId, Digest digest) throws IOException {
    if (driver.stat(uploadKey(uploadId)).isEmpty()) {
      try (BlobWriter empty = driver.writer(uploadKey(uploadId), false)) {
        empty.commit();
      }
    }
    driver.move(uploadKey(uploadId), blobKey(digest));
  }

  public void deleteUpload(String uploadId) throws IOException {
    driver.delete(uploadKey(uploadId));
  }

  /** Deletes a committed blob's bytes without asking whether they were there (garbage collection). */
  public void deleteCommitted(Digest digest) throws IOException {
    driver.deleteWhole(blobKey(digest));
  }

  public boolean delete(Digest digest) throws IOException {
    return driver.delete(blobKey(digest));
  }
}
