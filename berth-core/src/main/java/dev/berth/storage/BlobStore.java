package dev.berth.storage;

import dev.berth.oci.Digest;
import java.io.IOException;
import java.nio.channels.SeekableByteChannel;
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

  public boolean delete(Digest digest) throws IOException {
    return driver.delete(blobKey(digest));
  }
}
