package dev.berth.distribution;

import dev.berth.http.Exchange;
import dev.berth.metadata.BlobDao;
import dev.berth.metadata.Database;
import dev.berth.metadata.RepositoryDao;
import dev.berth.metadata.UploadDao;
import dev.berth.metadata.UploadHashState;
import dev.berth.metadata.UploadSession;
import dev.berth.oci.Digest;
import dev.berth.oci.ErrorCode;
import dev.berth.oci.RegistryException;
import dev.berth.oci.RepositoryName;
import dev.berth.storage.BlobNotFoundException;
import dev.berth.storage.BlobStore;
import dev.berth.storage.BlobWriter;
import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.channels.SeekableByteChannel;
import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;
import java.util.Map;
import java.util.Optional;
import java.util.UUID;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.locks.ReentrantLock;
import java.util.regex.Pattern;
import org.bouncycastle.crypto.digests.SHA256Digest;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Blob uploads (spec.md "Pushing blobs"): monolithic, chunked, streamed, resumable. The session
 * life is documented on {@link UploadSession}.
 *
 * <p>One writer at a time per session. On one node a lock per session orders the chunks; across
 * nodes each chunk (and the final {@code PUT}) first claims the session's row in the metadata
 * database, a compare-and-set that succeeds only when no other writer holds a live claim, renews
 * the claim while it streams and releases it when done. A chunk that finds the session claimed is
 * refused with 416 and the session's current length before any of its bytes is stored, as for a
 * chunk out of order; under the claim each chunk's offset is checked against the stored length.
 * So two requests sending the same chunk at once to two nodes cannot both append it: exactly one
 * is accepted, and nothing of the other is ever stored. A claim whose writer died lapses after
 * {@link #CLAIM_MILLIS}; the session can be continued then.
 *
 * <p>The SHA-256 of what was received is kept in memory between chunks. A session whose first
 * {@code PATCH} carries {@code Content-Range} (a chunking client) hashes with Bouncy Castle's
 * {@link SHA256Digest}, whose state is saved in the session row, with the number of bytes it
 * covers, in the statement that releases each chunk's claim; every other upload (one {@code PATCH}
 * or {@code PUT} with the whole blob, a monolithic {@code POST}) hashes with the JDK's faster
 * digest and saves nothing (decision 015). When the hash is missing from memory (the process
 * restarted, or another node took the previous chunk) it is resumed from the saved state if that
 * covers exactly the stored length, and otherwise rebuilt by re-reading the stored prefix; a
 * session that needed a re-read for a {@code PATCH} saves its state from then on. The digest is
 * still checked on what was stored: a mismatch computed from a resumed state is checked again on
 * the stored bytes before the upload is refused.
 */
public final class UploadService {
  private static final Logger log = LoggerFactory.getLogger(UploadService.class);
  private static final Pattern UPLOAD_ID =
      Pattern.compile("[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}");
  private static final int PROGRESS_LIMIT = 4096;
  private static final int HASH_SLICE = 128 << 10;
  /** How long a claim lasts unless renewed: how long a dead writer blocks its session. */
  static final long CLAIM_MILLIS = 60_000;

  /** How often a streaming writer renews its claim; far below {@link #CLAIM_MILLIS}. */
  private static final long RENEW_MILLIS = 15_000;

  /** A byte range {@code start-end} (inclusive) from a {@code Content-Range} header. */
  public record ChunkRange(long start, long end) {
    public static ChunkRange parse(String header) {
      String value = header.trim();
      if (value.startsWith("bytes ")) {
        value = value.substring(6).trim();
      } else if (value.startsWith("bytes=")) {
        value = value.substring(6).trim();
      }
      int slash = value.indexOf('/');
      if (slash >= 0) {
        value = value.substring(0, slash);
      }
      int dash = value.indexOf('-');
      try {
        long start = Long.parseLong(value.substring(0, dash));
        long end = Long.parseLong(value.substring(dash + 1));
        if (start < 0 || end < start) {
          throw new NumberFormatException();
        }
        return new ChunkRange(start, end);
      } catch (RuntimeException e) {
        throw new RegistryException(ErrorCode.RANGE_INVALID, "invalid Content-Range: " + header);
      }
    }

    long length() {
      return end - start + 1;
    }
  }

  /** Where hashed bytes go: {@code MessageDigest::update} or {@code SHA256Digest::update}. */
  @FunctionalInterface
  private interface HashInput {
    void update(byte[] bytes, int offset, int length);
  }

  /**
   * Running SHA-256 of an upload's received bytes, and the lock that orders its chunks. The hash
   * is the JDK's ({@code sha256}) or, for a chunked session, Bouncy Castle's ({@code savable}),
   * whose state can be saved; at most one is set, and neither when it must be rebuilt.
   */
  private static final class Progress {
    final ReentrantLock lock = new ReentrantLock();
    MessageDigest sha256;
    SHA256Digest savable;
    long hashed;
    /** The hash was resumed from a saved state rather than built from the bytes on this node. */
    boolean resumed;

    volatile long lastUsed = System.nanoTime();

    /** True when the hash in memory covers exactly the first {@code size} stored bytes. */
    boolean covers(long size) {
      return (sha256 != null || savable != null) && hashed == size;
    }

    void forget() {
      sha256 = null;
      savable = null;
      resumed = false;
    }

    HashInput input() {
      return savable != null ? savable::update : sha256::update;
    }

    byte[] digest() {
      if (savable == null) {
        return sha256.digest();
      }
      byte[] out = new byte[savable.getDigestSize()];
      savable.doFinal(out, 0);
      return out;
    }

    /** The state to save with the session row, or null when the hash cannot be saved. */
    UploadHashState saved() {
      return savable == null ? null : new UploadHashState(savable.getEncodedState(), hashed);
    }
  }

  private final Database database;
  private final RepositoryDao repositories;
  private final BlobDao blobs;
  private final UploadDao uploads;
  private final BlobStore store;
  private final ConcurrentHashMap<String, Progress> progress = new ConcurrentHashMap<>();

  /** A writer's hold on a session row, across nodes; see the class comment. */
  private final class Claim {
    private final String id;
    private final String token = UUID.randomUUID().toString();
    private long renewedAt = System.currentTimeMillis();

    private Claim(String id) {
      this.id = id;
    }

    /** Keeps the claim alive while bytes stream; fails the write if another writer took it. */
    void renewIfDue() {
      long now = System.currentTimeMillis();
      if (now - renewedAt < RENEW_MILLIS) {
        return;
      }
      if (!database.write(c -> uploads.renew(c, id, token, now + CLAIM_MILLIS))) {
        throw new RegistryException(
            ErrorCode.BLOB_UPLOAD_INVALID,
            "upload " + id + " was taken over by another request; check its status and resume");
      }
      renewedAt = now;
    }

    /** Releases the claim, recording the activity for expiry; nothing when the row is gone. */
    void release() {
      release(null);
    }

    /**
     * Releases the claim and, in the same statement, saves the session's running hash; a null
     * {@code hash} leaves the saved one as it was (its byte count tells whether it still fits).
     */
    void release(UploadHashState hash) {
      long now = System.currentTimeMillis();
      database.write(c -> {
        if (hash == null) {
          uploads.release(c, id, token, now);
        } else {
          uploads.release(c, id, token, now, hash);
        }
        return null;
      });
    }
  }

  public UploadService(
      Database database,
      RepositoryDao repositories,
      BlobDao blobs,
      UploadDao uploads,
      BlobStore store) {
    this.database = database;
    this.repositories = repositories;
    this.blobs = blobs;
    this.uploads = uploads;
    this.store = store;
  }

  /** Opens a session; nothing else is created until bytes arrive. */
  public String start(RepositoryName repository) {
    String id = UUID.randomUUID().toString();
    long now = System.currentTimeMillis();
    database.write(c -> {
      uploads.insert(c, new UploadSession(id, repository.value(), now, now));
      return null;
    });
    return id;
  }

  /** A session's received length; BLOB_UPLOAD_UNKNOWN for unknown or foreign sessions. */
  public long status(RepositoryName repository, String id) throws IOException {
    session(repository, id);
    return store.uploadSize(id);
  }

  /**
   * Appends a chunk. With a range, it must start where the session stands (else 416, and nothing is
   * written) and the body must have exactly its length.
   *
   * @return the session's length afterwards
   */
  public long append(RepositoryName repository, String id, ChunkRange range, Exchange body)
      throws IOException {
    session(repository, id);
    Progress p = progress(id);
    p.lock.lock();
    try {
      Claim claim = claim(id);
      UploadHashState saved = null;
      try {
        long total = appendClaimed(id, p, range, body, claim);
        // Only after a chunk stored whole: the hash then covers exactly the stored length.
        saved = p.saved();
        return total;
      } finally {
        claim.release(saved);
      }
    } finally {
      p.lock.unlock();
    }
  }

  private long appendClaimed(String id, Progress p, ChunkRange range, Exchange body, Claim claim)
      throws IOException {
    long size = store.uploadSize(id);
    checkRange(range, size, body);
    // A chunking client's first PATCH, or a later PATCH that finds the hash missing: from here
    // on the session's hash is one whose state is saved.
    boolean savable = range != null || size > 0;
    long received = receive(id, p, size, body, range == null ? -1 : range.length(), claim, savable);
    return size + received;
  }

  /** A chunk must start where the session stands (else 416, nothing written) and match its body. */
  private static void checkRange(ChunkRange range, long size, Exchange body) {
    if (range == null) {
      return;
    }
    if (range.start() != size) {
      throw new RegistryException(
          ErrorCode.RANGE_INVALID,
          "chunk starts at " + range.start() + " but the upload has " + size + " bytes",
          Map.of("size", size));
    }
    long declared = body.contentLength();
    if (declared >= 0 && declared != range.length()) {
      throw new RegistryException(
          ErrorCode.SIZE_INVALID,
          "Content-Length " + declared + " does not match Content-Range length " + range.length());
    }
  }

  /**
   * Claims the session for one request, or refuses it with 416 and the stored length when
   * another request (on another node) is writing to it.
   */
  private Claim claim(String id) throws IOException {
    Claim claim = new Claim(id);
    long now = System.currentTimeMillis();
    if (database.write(c -> uploads.claim(c, id, claim.token, now, now + CLAIM_MILLIS))) {
      return claim;
    }
    if (database.read(c -> uploads.find(c, id)).isEmpty()) {
      throw uploadUnknown(id);
    }
    long size = store.uploadSize(id);
    throw new RegistryException(
        ErrorCode.RANGE_INVALID,
        "another request is writing to upload " + id + ", which has " + size + " bytes",
        Map.of("size", size));
  }

  /**
   * Completes a session with its final chunk (possibly empty; with a range it is checked as a
   * {@code PATCH}'s is): the digest is checked on the bytes actually stored; a mismatch commits
   * nothing and cancels the session.
   */
  public long finish(
      RepositoryName repository, String id, Digest digest, ChunkRange range, Exchange body)
      throws IOException {
    session(repository, id);
    Progress p = progress(id);
    p.lock.lock();
    Claim claim = null;
    try {
      claim = claim(id);
      long size = store.uploadSize(id);
      checkRange(range, size, body);
      if (size == 0 && range == null && isStored(digest)) {
        try {
          long total = verifyOnly(digest, body);
          linkStored(repository, id, digest);
          return total;
        } catch (RegistryException e) {
          if (e.code() == ErrorCode.DIGEST_INVALID) {
            cancelLocked(id);
          }
          throw e;
        }
      }
      // The last request of a session saves no state: the session ends with it.
      long received = receive(id, p, size, body, range == null ? -1 : range.length(), claim, false);
      long total = size + received;
      boolean resumed = p.resumed;
      Digest actual = digestOf(id, p, total, digest.algorithm());
      if (!actual.equals(digest) && resumed) {
        // A saved state is trusted only as far as the stored bytes bear it out.
        actual = digestOfStored(id, total, digest.algorithm());
      }
      if (!actual.equals(digest)) {
        cancelLocked(id);
        throw digestMismatch(digest, actual);
      }
      commit(repository, id, digest, total);
      return total;
    } finally {
      progress.remove(id);
      try {
        if (claim != null) {
          claim.release(); // the row is gone after a commit or cancel; then this does nothing
        }
      } finally {
        p.lock.unlock();
      }
    }
  }

  /** Monolithic upload in one request ({@code POST ?digest=}): no session row is ever written. */
  public long uploadWhole(RepositoryName repository, Digest digest, Exchange body)
      throws IOException {
    // No session row: the name carries its start time, by which garbage collection tells an
    // abandoned one (the process died mid-request) from one in progress.
    String id = wholeUploadId(System.currentTimeMillis());
    if (isStored(digest)) {
      long total = verifyOnly(digest, body);
      linkStored(repository, null, digest);
      return total;
    }
    Progress p = new Progress();
    try {
      long total = receive(id, p, 0, body, -1, null, false);
      Digest actual = digestOf(id, p, total, digest.algorithm());
      if (!actual.equals(digest)) {
        throw digestMismatch(digest, actual);
      }
      commit(repository, id, digest, total);
      return total;
    } finally {
      store.deleteUpload(id);
    }
  }

  /** The prefix of a monolithic upload's scratch key, followed by its start time in millis. */
  public static final String WHOLE_UPLOAD_PREFIX = "whole-";

  static String wholeUploadId(long startedAt) {
    return WHOLE_UPLOAD_PREFIX + startedAt + "-" + UUID.randomUUID();
  }

  public void cancel(RepositoryName repository, String id) throws IOException {
    session(repository, id);
    Progress p = progress(id);
    p.lock.lock();
    try {
      cancelLocked(id);
    } finally {
      progress.remove(id);
      p.lock.unlock();
    }
  }

  private void cancelLocked(String id) throws IOException {
    database.write(c -> uploads.delete(c, id));
    store.deleteUpload(id);
  }

  /** True when the digest's bytes are committed already (recorded and present in storage). */
  private boolean isStored(Digest digest) throws IOException {
    return database.read(c -> blobs.size(c, digest)).isPresent()
        && store.stat(digest).isPresent();
  }

  /**
   * Content-addressed dedupe: the bytes of a stored digest are hashed as they arrive but not
   * written again (no disk write, no fsync). The client still sends them all and the digest is
   * still checked on exactly what was received.
   */
  private long verifyOnly(Digest digest, Exchange body) throws IOException {
    MessageDigest md = newDigest(digest.jcaName());
    byte[] scratch = new byte[HASH_SLICE];
    long total = body.readBody(bytes -> {
      hash(md::update, bytes, scratch);
      bytes.position(bytes.limit());
    });
    Digest actual = Digest.of(digest.algorithm(), md.digest());
    if (!actual.equals(digest)) {
      throw digestMismatch(digest, actual);
    }
    return total;
  }

  /** Links an already stored blob and ends the session, in one transaction. */
  private void linkStored(RepositoryName repository, String id, Digest digest) {
    database.write(c -> {
      if (blobs.lockLive(c, digest).isEmpty()) {
        // Collected between the check and now; the client must push again.
        throw new RegistryException(
            ErrorCode.BLOB_UPLOAD_INVALID,
            "blob " + digest + " was removed meanwhile; retry the upload");
      }
      long repositoryId = repositories.getOrCreate(c, repository.value());
      blobs.link(c, repositoryId, digest);
      if (id != null) {
        uploads.delete(c, id);
      }
      return null;
    });
  }

  /**
   * Bytes first (atomic move), then the rows: a crash between leaves only invisible bytes. Both
   * under the digest's lock, which garbage collection takes to delete the same digest's bytes and
   * row, so it never deletes bytes this commit is about to record (decision 008).
   */
  private void commit(RepositoryName repository, String id, Digest digest, long size)
      throws IOException {
    database.withDigestLock(digest, () -> {
      try {
        store.commitUpload(id, digest, size);
      } catch (BlobNotFoundException e) {
        throw uploadUnknown(id);
      }
      return database.write(c -> {
        blobs.insertOrRevive(c, digest, size);
        long repositoryId = repositories.getOrCreate(c, repository.value());
        blobs.link(c, repositoryId, digest);
        uploads.delete(c, id);
        return null;
      });
    });
  }

  /**
   * @param claim the session's claim, renewed as bytes arrive; null for a monolithic upload
   * @param savable when the hash must be started or rebuilt, use one whose state can be saved
   */
  private long receive(
      String id, Progress p, long size, Exchange body, long expected, Claim claim, boolean savable)
      throws IOException {
    if (!p.covers(size)) {
      catchUp(id, p, size, savable);
    }
    HashInput hash = p.input();
    byte[] scratch = new byte[HASH_SLICE];
    long received;
    try (BlobWriter writer = store.appendUpload(id)) {
      received = body.readBody(bytes -> {
        if (claim != null) {
          claim.renewIfDue();
        }
        hash(hash, bytes, scratch);
        writer.write(bytes);
      });
      if (expected >= 0 && received != expected) {
        // Roll back to where the chunk started so the client can resend it.
        p.forget();
        writer.close();
        truncate(id, size);
        throw new RegistryException(
            ErrorCode.SIZE_INVALID,
            "chunk body has " + received + " bytes but Content-Range announced " + expected);
      }
      writer.commit();
    } catch (IOException | RuntimeException e) {
      p.forget(); // the stored prefix is the truth; rebuild from it next time
      throw e;
    }
    p.hashed = size + received;
    p.lastUsed = System.nanoTime();
    return received;
  }

  private void truncate(String id, long size) throws IOException {
    // Rewrite the prefix: rare (only on a short chunk), and keeps the driver interface small.
    String scratch = id + ".rewind";
    try (SeekableByteChannel in = store.openUpload(id);
        BlobWriter out = store.driver().writer(BlobStore.uploadKey(scratch), false)) {
      ByteBuffer buffer = ByteBuffer.allocate(1 << 16);
      long remaining = size;
      while (remaining > 0) {
        buffer.clear();
        buffer.limit((int) Math.min(buffer.capacity(), remaining));
        int n = in.read(buffer);
        if (n < 0) {
          break;
        }
        remaining -= n;
        buffer.flip();
        out.write(buffer);
      }
      out.commit();
    }
    store.driver().move(BlobStore.uploadKey(scratch), BlobStore.uploadKey(id));
  }

  /**
   * Brings the hash in memory to the session's stored length {@code size}: resumed from the
   * state saved with the row when that covers exactly {@code size} bytes, else rebuilt by
   * re-reading the stored prefix.
   *
   * @param savable start or rebuild a hash whose state can be saved (Bouncy Castle's)
   */
  private void catchUp(String id, Progress p, long size, boolean savable) throws IOException {
    p.forget();
    if (size > 0 && resume(id, p, size)) {
      return;
    }
    if (savable) {
      SHA256Digest sha256 = new SHA256Digest();
      if (size > 0) {
        hashPrefix(id, sha256::update, size);
      }
      p.savable = sha256;
    } else {
      MessageDigest sha256 = newDigest("SHA-256");
      if (size > 0) {
        hashPrefix(id, sha256::update, size);
      }
      p.sha256 = sha256;
    }
    p.hashed = size;
  }

  /** Resumes the saved hash if it covers exactly {@code size} bytes; false when it does not. */
  private boolean resume(String id, Progress p, long size) {
    Optional<UploadHashState> saved = database.read(c -> uploads.hashState(c, id));
    if (saved.isEmpty() || saved.get().bytes() != size) {
      return false;
    }
    try {
      p.savable = new SHA256Digest(saved.get().encoded());
    } catch (RuntimeException e) {
      log.warn(
          "upload {}: the saved hash state cannot be read ({}); re-reading the prefix",
          id,
          e.toString());
      return false;
    }
    p.hashed = size;
    p.resumed = true;
    return true;
  }

  private void hashPrefix(String id, HashInput input, long size) throws IOException {
    byte[] scratch = new byte[HASH_SLICE];
    try (SeekableByteChannel in = store.openUpload(id)) {
      ByteBuffer buffer = ByteBuffer.allocateDirect(1 << 20);
      long remaining = size;
      while (remaining > 0) {
        buffer.clear();
        buffer.limit((int) Math.min(buffer.capacity(), remaining));
        int n = in.read(buffer);
        if (n < 0) {
          throw new IOException("upload " + id + " is shorter than " + size + " bytes");
        }
        remaining -= n;
        buffer.flip();
        hash(input, buffer, scratch);
      }
    }
  }

  private Digest digestOf(String id, Progress p, long total, String algorithm) throws IOException {
    if ("sha256".equals(algorithm) && p.covers(total)) {
      return Digest.sha256(p.digest());
    }
    return digestOfStored(id, total, algorithm);
  }

  /** The digest of the first {@code total} stored bytes, read back from storage. */
  private Digest digestOfStored(String id, long total, String algorithm) throws IOException {
    MessageDigest md = newDigest(Digest.jcaName(algorithm));
    if (total > 0) {
      hashPrefix(id, md::update, total);
    }
    return Digest.of(algorithm, md.digest());
  }

  private UploadSession session(RepositoryName repository, String id) {
    if (id == null || !UPLOAD_ID.matcher(id).matches()) {
      throw uploadUnknown(id);
    }
    UploadSession session =
        database.read(c -> uploads.find(c, id)).orElseThrow(() -> uploadUnknown(id));
    if (!session.repository().equals(repository.value())) {
      throw uploadUnknown(id);
    }
    return session;
  }

  private Progress progress(String id) {
    if (progress.size() > PROGRESS_LIMIT) {
      long idle = System.nanoTime() - 600_000_000_000L;
      progress.values().removeIf(p -> p.lastUsed < idle && !p.lock.isLocked());
    }
    return progress.computeIfAbsent(id, key -> new Progress());
  }

  private static RegistryException digestMismatch(Digest expected, Digest actual) {
    return new RegistryException(
        ErrorCode.DIGEST_INVALID,
        "upload content has digest " + actual + ", not " + expected,
        Map.of("expected", expected.toString(), "actual", actual.toString()));
  }

  private static RegistryException uploadUnknown(String id) {
    return new RegistryException(
        ErrorCode.BLOB_UPLOAD_UNKNOWN,
        "blob upload unknown to registry: " + id,
        id == null ? null : Map.of("uuid", id.length() > 64 ? id.substring(0, 64) : id));
  }

  /**
   * Hashes a buffer's remaining bytes without moving its position. Network buffers are direct,
   * and {@code MessageDigest.update(ByteBuffer)} copies those 4 KiB at a time (measured: two
   * thirds of a push's CPU); one bulk copy into an array and large updates cost a fraction.
   */
  private static void hash(HashInput md, ByteBuffer bytes, byte[] scratch) {
    if (bytes.hasArray()) {
      md.update(bytes.array(), bytes.arrayOffset() + bytes.position(), bytes.remaining());
      return;
    }
    int position = bytes.position();
    int end = bytes.limit();
    while (position < end) {
      int n = Math.min(scratch.length, end - position);
      bytes.get(position, scratch, 0, n);
      md.update(scratch, 0, n);
      position += n;
    }
  }

  private static MessageDigest newDigest(String name) {
    try {
      return MessageDigest.getInstance(name);
    } catch (NoSuchAlgorithmException e) {
      throw new IllegalStateException(e);
    }
  }
}
