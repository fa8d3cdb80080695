package dev.berth.distribution;

import static org.assertj.core.api.Assertions.assertThat;

import dev.berth.http.ErrorResponses;
import dev.berth.http.Exchange;
import dev.berth.http.HttpServer;
import dev.berth.metadata.BlobDao;
import dev.berth.metadata.Database;
import dev.berth.metadata.RepositoryDao;
import dev.berth.metadata.UploadDao;
import dev.berth.metadata.UploadHashState;
import dev.berth.oci.Digest;
import dev.berth.oci.RepositoryName;
import dev.berth.storage.BlobDriver;
import dev.berth.storage.BlobStore;
import dev.berth.storage.BlobWriter;
import dev.berth.storage.memory.MemoryBlobDriver;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpRequest.BodyPublishers;
import java.net.http.HttpResponse;
import java.nio.ByteBuffer;
import java.nio.channels.SeekableByteChannel;
import java.nio.file.Path;
import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;
import java.sql.Connection;
import java.sql.PreparedStatement;
import java.time.Duration;
import java.util.Arrays;
import java.util.List;
import java.util.Optional;
import java.util.OptionalLong;
import java.util.Random;
import java.util.concurrent.atomic.AtomicLong;
import org.bouncycastle.crypto.digests.SHA256Digest;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * The running SHA-256 of an upload across nodes (decision 015): two {@link UploadService}s on one
 * metadata database and one blob store stand for two nodes behind a round-robin balancer, each
 * behind its own path on one HTTP server. Storage counts the bytes read back from upload
 * sessions, which is what re-hashing the stored prefix costs.
 */
class UploadHashStateTest {
  private static final int CHUNK = 256 << 10;
  private static final RepositoryName REPOSITORY = RepositoryName.of("team/app");

  @TempDir
  Path dir;

  private Database database;
  private final UploadDao uploads = new UploadDao();
  private ReadCountingDriver driver;
  private BlobStore store;
  private HttpServer http;
  private HttpClient client;
  private URI base;
  private final Random random = new Random(15);

  @BeforeEach
  void start() throws Exception {
    database = Database.open("jdbc:sqlite:" + dir.resolve("berth.db"));
    driver = new ReadCountingDriver(new MemoryBlobDriver());
    store = new BlobStore(driver);
    UploadService one = node();
    UploadService two = node();
    http = new HttpServer(
        new HttpServer.Settings("127.0.0.1", 0, null, null, false, false, Duration.ofSeconds(1)),
        new ErrorResponses(),
        () -> true);
    http.route("/one/", exchange -> serve(one, exchange));
    http.route("/two/", exchange -> serve(two, exchange));
    http.start();
    base = URI.create("http://127.0.0.1:" + http.port());
    client = HttpClient.newBuilder().version(HttpClient.Version.HTTP_1_1).build();
  }

  @AfterEach
  void stop() throws Exception {
    client.shutdownNow();
    http.close();
    database.close();
  }

  private UploadService node() {
    return new UploadService(database, new RepositoryDao(), new BlobDao(), uploads, store);
  }

  /** {@code PATCH /<node>/<id>} appends, {@code PUT /<node>/<id>?digest=} finishes. */
  private static void serve(UploadService node, Exchange exchange) throws IOException {
    String id = exchange.path().substring(exchange.path().lastIndexOf('/') + 1);
    String header = exchange.header("Content-Range");
    UploadService.ChunkRange range = header == null || exchange.contentLength() == 0
        ? null
        : UploadService.ChunkRange.parse(header);
    switch (exchange.method()) {
      case "PATCH" -> {
        long size = node.append(REPOSITORY, id, range, exchange);
        exchange.setHeader("Range", "0-" + Math.max(0, size - 1));
        exchange.sendEmpty(202);
      }
      case "PUT" -> {
        node.finish(REPOSITORY, id, Digest.parse(exchange.query("digest")), range, exchange);
        exchange.sendEmpty(201);
      }
      default -> exchange.sendEmpty(405);
    }
  }

  @Test
  void aChunkedSessionContinuedOnAnotherNodeResumesTheSavedHashWithoutReadingThePrefix()
      throws Exception {
    String id = node().start(REPOSITORY);
    byte[] blob = random(4 * CHUNK + 123);
    long offset = 0;
    for (int i = 0; offset < blob.length; i++) {
      int length = (int) Math.min(CHUNK, blob.length - offset);
      assertThat(
              patch(i % 2 == 0 ? "one" : "two", id, blob, offset, length, true).statusCode())
          .isEqualTo(202);
      offset += length;
      assertThat(savedState(id))
          .as("after chunk %d", i)
          .map(UploadHashState::bytes)
          .hasValue(offset);
    }

    assertThat(put("one", id, sha256(blob)).statusCode()).isEqualTo(201);

    assertThat(driver.uploadBytesRead()).as("bytes re-read from the session").isZero();
    assertThat(committed(sha256(blob))).isEqualTo(blob);
  }

  @Test
  void aSavedStateThatDoesNotCoverTheStoredLengthIsNotUsed() throws Exception {
    String id = node().start(REPOSITORY);
    byte[] blob = random(3 * CHUNK);
    patch("one", id, blob, 0, CHUNK, true);
    patch("one", id, blob, CHUNK, CHUNK, true);
    // A state of other bytes that claims one byte less than is stored: never to be resumed.
    SHA256Digest other = new SHA256Digest();
    other.update(new byte[2 * CHUNK - 1], 0, 2 * CHUNK - 1);
    saveState(id, other.getEncodedState(), 2 * CHUNK - 1);

    assertThat(patch("two", id, blob, 2 * CHUNK, CHUNK, true).statusCode()).isEqualTo(202);

    assertThat(driver.uploadBytesRead()).as("the prefix is re-read").isEqualTo(2 * CHUNK);
    assertThat(savedState(id)).map(UploadHashState::bytes).hasValue(3L * CHUNK);
    assertThat(put("one", id, sha256(blob)).statusCode()).isEqualTo(201);
    assertThat(driver.uploadBytesRead()).as("nothing more re-read").isEqualTo(2 * CHUNK);
    assertThat(committed(sha256(blob))).isEqualTo(blob);
  }

  @Test
  void aCorruptSavedStateIsCaughtByTheDigestCheckOnTheStoredBytes() throws Exception {
    String id = node().start(REPOSITORY);
    byte[] blob = random(2 * CHUNK);
    patch("one", id, blob, 0, CHUNK, true);
    // The right byte count over the wrong bytes: only the stored bytes can tell.
    SHA256Digest other = new SHA256Digest();
    other.update(new byte[CHUNK], 0, CHUNK);
    saveState(id, other.getEncodedState(), CHUNK);
    patch("two", id, blob, CHUNK, CHUNK, true);
    assertThat(driver.uploadBytesRead()).as("the saved state was resumed").isZero();

    assertThat(put("one", id, sha256(blob)).statusCode()).isEqualTo(201);

    assertThat(driver.uploadBytesRead())
        .as("the digest checked on the stored bytes")
        .isEqualTo(2 * CHUNK);
    assertThat(committed(sha256(blob))).isEqualTo(blob);
  }

  @Test
  void anUnreadableSavedStateFallsBackToReadingThePrefix() throws Exception {
    String id = node().start(REPOSITORY);
    byte[] blob = random(2 * CHUNK);
    patch("one", id, blob, 0, CHUNK, true);
    saveState(id, new byte[] {1, 2, 3}, CHUNK);

    assertThat(patch("two", id, blob, CHUNK, CHUNK, true).statusCode()).isEqualTo(202);
    assertThat(put("two", id, sha256(blob)).statusCode()).isEqualTo(201);

    assertThat(driver.uploadBytesRead()).isEqualTo(CHUNK);
    assertThat(committed(sha256(blob))).isEqualTo(blob);
  }

  @Test
  void aWholeBlobInOnePatchSavesNoStateAndIsCheckedOnAnotherNode() throws Exception {
    String id = node().start(REPOSITORY);
    byte[] blob = random(3 * CHUNK);

    assertThat(patch("one", id, blob, 0, blob.length, false).statusCode()).isEqualTo(202);

    assertThat(savedState(id)).isEmpty();
    assertThat(put("two", id, sha256(blob)).statusCode()).isEqualTo(201);
    assertThat(driver.uploadBytesRead()).as("hashed again from storage").isEqualTo(blob.length);
    assertThat(committed(sha256(blob))).isEqualTo(blob);
  }

  @Test
  void aWholeBlobInOnePutWithContentRangeIsCommitted() throws Exception {
    String id = node().start(REPOSITORY);
    byte[] blob = random(CHUNK + 7);

    HttpResponse<String> response =
        send("PUT", "one", id, "?digest=" + sha256(blob), blob, 0, blob.length, true);

    assertThat(response.statusCode()).as(response.body()).isEqualTo(201);
    assertThat(committed(sha256(blob))).isEqualTo(blob);
    assertThat(driver.uploadBytesRead()).isZero();
  }

  @Test
  void theLastChunkInThePutOnAnotherNodeResumesTheSavedHash() throws Exception {
    String id = node().start(REPOSITORY);
    byte[] blob = random(2 * CHUNK + 5);
    patch("one", id, blob, 0, CHUNK, true);

    HttpResponse<String> misplaced =
        send("PUT", "two", id, "?digest=" + sha256(blob), blob, 2 * CHUNK, 5, true);
    assertThat(misplaced.statusCode()).as("a chunk out of order").isEqualTo(416);
    patch("two", id, blob, CHUNK, CHUNK, true);
    HttpResponse<String> last =
        send("PUT", "one", id, "?digest=" + sha256(blob), blob, 2 * CHUNK, 5, true);

    assertThat(last.statusCode()).as(last.body()).isEqualTo(201);
    assertThat(driver.uploadBytesRead()).isZero();
    assertThat(committed(sha256(blob))).isEqualTo(blob);
  }

  @Test
  void aStreamedSessionThatMovesNodesSavesItsStateFromThenOn() throws Exception {
    String id = node().start(REPOSITORY);
    byte[] blob = random(3 * CHUNK);
    patch("one", id, blob, 0, CHUNK, false);
    assertThat(savedState(id)).isEmpty();

    patch("two", id, blob, CHUNK, CHUNK, false);
    assertThat(driver.uploadBytesRead()).as("the prefix re-read once").isEqualTo(CHUNK);
    assertThat(savedState(id)).map(UploadHashState::bytes).hasValue(2L * CHUNK);

    patch("one", id, blob, 2 * CHUNK, CHUNK, false);
    assertThat(put("two", id, sha256(blob)).statusCode()).isEqualTo(201);
    assertThat(driver.uploadBytesRead()).as("nothing more re-read").isEqualTo(CHUNK);
    assertThat(committed(sha256(blob))).isEqualTo(blob);
  }

  @Test
  void aWrongDigestIsStillRefused() throws Exception {
    String id = node().start(REPOSITORY);
    byte[] blob = random(2 * CHUNK);
    patch("one", id, blob, 0, CHUNK, true);
    patch("two", id, blob, CHUNK, CHUNK, true);

    assertThat(put("one", id, sha256(random(10))).statusCode()).isEqualTo(400);
    assertThat(database.read((Connection c) -> uploads.find(c, id)))
        .as("the session is cancelled")
        .isEmpty();
  }

  @Test
  void aSha512DigestIsCheckedOnTheStoredBytes() throws Exception {
    String id = node().start(REPOSITORY);
    byte[] blob = random(2 * CHUNK);
    patch("one", id, blob, 0, CHUNK, true);
    patch("two", id, blob, CHUNK, CHUNK, true);
    String digest = "sha512:" + java.util.HexFormat.of().formatHex(hash("SHA-512", blob));

    assertThat(put("one", id, digest).statusCode()).isEqualTo(201);
    assertThat(committed(Digest.parse(digest).toString())).isEqualTo(blob);
  }

  // ---- helpers ----

  private HttpResponse<String> patch(
      String node, String id, byte[] blob, long offset, int length, boolean withRange) {
    HttpResponse<String> response = send("PATCH", node, id, "", blob, offset, length, withRange);
    assertThat(response.statusCode()).as(response.body()).isEqualTo(202);
    return response;
  }

  private HttpResponse<String> put(String node, String id, String digest) {
    return send("PUT", node, id, "?digest=" + digest, new byte[0], 0, 0, false);
  }

  private HttpResponse<String> send(
      String method,
      String node,
      String id,
      String query,
      byte[] blob,
      long offset,
      int length,
      boolean withRange) {
    byte[] body = Arrays.copyOfRange(blob, (int) offset, (int) offset + length);
    HttpRequest.Builder request = HttpRequest.newBuilder(
            base.resolve("/" + node + "/" + id + query))
        .method(method, BodyPublishers.ofByteArray(body));
    if (withRange) {
      request.header("Content-Range", offset + "-" + (offset + length - 1));
    }
    try {
      return client.send(request.build(), HttpResponse.BodyHandlers.ofString());
    } catch (IOException e) {
      throw new UncheckedIOException(e);
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
      throw new IllegalStateException(e);
    }
  }

  private Optional<UploadHashState> savedState(String id) {
    return database.read(c -> uploads.hashState(c, id));
  }

  private void saveState(String id, byte[] encoded, long bytes) {
    database.write(c -> {
      try (PreparedStatement p =
          c.prepareStatement("UPDATE uploads SET hash_state = ?, hashed_bytes = ? WHERE id = ?")) {
        p.setBytes(1, encoded);
        p.setLong(2, bytes);
        p.setString(3, id);
        assertThat(p.executeUpdate()).isOne();
      }
      return null;
    });
  }

  private byte[] committed(String digest) throws IOException {
    try (SeekableByteChannel in = store.open(Digest.parse(digest))) {
      ByteBuffer all = ByteBuffer.allocate((int) in.size());
      while (all.hasRemaining() && in.read(all) >= 0) {}
      return all.array();
    }
  }

  private byte[] random(int length) {
    byte[] bytes = new byte[length];
    random.nextBytes(bytes);
    return bytes;
  }

  private static String sha256(byte[] bytes) {
    return Digest.sha256(hash("SHA-256", bytes)).toString();
  }

  private static byte[] hash(String algorithm, byte[] bytes) {
    try {
      return MessageDigest.getInstance(algorithm).digest(bytes);
    } catch (NoSuchAlgorithmException e) {
      throw new AssertionError(e);
    }
  }

  /** Storage that counts the bytes read back from upload sessions ({@code uploads/…}). */
  private static final class ReadCountingDriver implements BlobDriver {
    private final BlobDriver delegate;
    private final AtomicLong uploadBytesRead = new AtomicLong();

    ReadCountingDriver(BlobDriver delegate) {
      this.delegate = delegate;
    }

    long uploadBytesRead() {
      return uploadBytesRead.get();
    }

    @Override
    public SeekableByteChannel open(String key) throws IOException {
      SeekableByteChannel channel = delegate.open(key);
      if (!key.startsWith("uploads/")) {
        return channel;
      }
      return new SeekableByteChannel() {
        @Override
        public int read(ByteBuffer dst) throws IOException {
          int n = channel.read(dst);
          if (n > 0) {
            uploadBytesRead.addAndGet(n);
          }
          return n;
        }

        @Override
        public int write(ByteBuffer src) throws IOException {
          return channel.write(src);
        }

        @Override
        public long position() throws IOException {
          return channel.position();
        }

        @Override
        public SeekableByteChannel position(long newPosition) throws IOException {
          channel.position(newPosition);
          return this;
        }

        @Override
        public long size() throws IOException {
          return channel.size();
        }

        @Override
        public SeekableByteChannel truncate(long size) throws IOException {
          channel.truncate(size);
          return this;
        }

        @Override
        public boolean isOpen() {
          return channel.isOpen();
        }

        @Override
        public void close() throws IOException {
          channel.close();
        }
      };
    }

    @Override
    public BlobWriter writer(String key, boolean append) throws IOException {
      return delegate.writer(key, append);
    }

    @Override
    public OptionalLong stat(String key) throws IOException {
      return delegate.stat(key);
    }

    @Override
    public void move(String from, String to) throws IOException {
      delegate.move(from, to);
    }

    @Override
    public boolean delete(String key) throws IOException {
      return delegate.delete(key);
    }

    @Override
    public int deleteAll(String prefix) throws IOException {
      return delegate.deleteAll(prefix);
    }

    @Override
    public List<String> list(String prefix) throws IOException {
      return delegate.list(prefix);
    }
  }
}
