package dev.berth.testkit.contract;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import dev.berth.storage.BlobDriver;
import dev.berth.storage.BlobNotFoundException;
import dev.berth.storage.BlobWriter;
import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.channels.ClosedChannelException;
import java.nio.channels.SeekableByteChannel;
import java.nio.charset.StandardCharsets;
import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Random;
import java.util.concurrent.Callable;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

/**
 * The behaviour every {@link BlobDriver} must have. A driver passes by subclassing this with a
 * {@link #newDriver()} that returns an empty driver:
 *
 * <pre>{@code
 * class FsBlobDriverTest extends BlobDriverContract {
 *   @TempDir Path root;
 *   @Override protected BlobDriver newDriver() throws IOException { return new FsBlobDriver(root); }
 * }
 * }</pre>
 *
 * Keys follow {@code BlobStore}'s layout ({@code blobs/...}, {@code uploads/<id>/...}). Every test
 * deletes what it wrote, and after each test the suite checks that {@code list("blobs")} and
 * {@code list("uploads")} are empty and that no write was left unfinished, so a driver on shared
 * infrastructure (a bucket) can reuse it.
 */
public abstract class BlobDriverContract {
  private static final String BLOB = "blobs/sha256/ab/ab" + "0".repeat(62);
  private static final String OTHER_BLOB = "blobs/sha256/cd/cd" + "1".repeat(62);

  /** The driver under test, new for each test. */
  protected BlobDriver driver;

  /** A driver holding no keys under {@code blobs} or {@code uploads}; called before each test. */
  protected abstract BlobDriver newDriver() throws IOException;

  /** Releases what {@link #newDriver()} set up; called after each test, once the driver is closed. */
  protected void cleanup() throws IOException {}

  @BeforeEach
  final void openDriver() throws IOException {
    driver = newDriver();
    assertThat(driver.list("blobs")).as("a new driver holds no blobs").isEmpty();
    assertThat(driver.list("uploads")).as("a new driver holds no uploads").isEmpty();
  }

  @AfterEach
  final void checkNothingLeftBehind() throws IOException {
    try {
      assertThat(driver.list("blobs")).as("keys left under blobs/").isEmpty();
      assertThat(driver.list("uploads")).as("keys left under uploads/").isEmpty();
      assertThat(driver.abortIncompleteWrites(Instant.now().plus(Duration.ofDays(1)), true))
          .as("writes left unfinished")
          .isEmpty();
    } finally {
      try {
        driver.close();
      } finally {
        cleanup();
      }
    }
  }

  // --- writing and reading ---------------------------------------------------------------------

  @Test
  void committedContentReadsBack() throws IOException {
    write(BLOB, "hello, registry");

    assertThat(read(BLOB)).isEqualTo("hello, registry");
    assertThat(driver.stat(BLOB)).hasValue(15);
    assertThat(driver.delete(BLOB)).isTrue();
  }

  @Test
  void readerSeeksToAnOffset() throws IOException {
    write(BLOB, "0123456789");

    try (SeekableByteChannel channel = driver.open(BLOB)) {
      assertThat(channel.size()).isEqualTo(10);
      channel.position(4);
      assertThat(channel.position()).isEqualTo(4);
      assertThat(readRest(channel)).isEqualTo("456789".getBytes(StandardCharsets.US_ASCII));
      assertThat(channel.position()).isEqualTo(10);

      channel.position(1);
      ByteBuffer three = ByteBuffer.allocate(3);
      readFully(channel, three);
      assertThat(new String(three.array(), StandardCharsets.US_ASCII)).isEqualTo("123");
      assertThat(channel.position()).isEqualTo(4);

      channel.position(10);
      assertThat(channel.read(ByteBuffer.allocate(1))).as("read at the end").isEqualTo(-1);
      channel.position(25);
      assertThat(channel.read(ByteBuffer.allocate(1))).as("read past the end").isEqualTo(-1);
    }
    driver.delete(BLOB);
  }

  @Test
  void readerRefusesANegativePosition() throws IOException {
    write(BLOB, "abc");
    try (SeekableByteChannel channel = driver.open(BLOB)) {
      assertThatThrownBy(() -> channel.position(-1)).isInstanceOf(IllegalArgumentException.class);
    }
    driver.delete(BLOB);
  }

  @Test
  void closedReaderRefusesToRead() throws IOException {
    write(BLOB, "abc");
    SeekableByteChannel channel = driver.open(BLOB);
    channel.close();

    assertThat(channel.isOpen()).isFalse();
    assertThatThrownBy(() -> channel.read(ByteBuffer.allocate(3)))
        .isInstanceOf(ClosedChannelException.class);
    driver.delete(BLOB);
  }

  @Test
  void appendContinuesAfterWhatAnEarlierWriterCommitted() throws IOException {
    String key = "uploads/append/data";
    try (BlobWriter first = driver.writer(key, true)) {
      assertThat(first.size()).as("a missing key starts empty").isZero();
      first.write(ascii("hello, "));
      assertThat(first.size()).isEqualTo(7);
      first.commit();
    }
    try (BlobWriter second = driver.writer(key, true)) {
      assertThat(second.size())
          .as("an appending writer counts the bytes already there")
          .isEqualTo(7);
      second.write(ascii("world"));
      assertThat(second.size()).isEqualTo(12);
      second.commit();
    }

    assertThat(read(key)).isEqualTo("hello, world");
    assertThat(driver.stat(key)).hasValue(12);
    assertThat(driver.deleteAll("uploads/append")).isEqualTo(1);
  }

  @Test
  void writerWithoutAppendReplacesTheContent() throws IOException {
    write(BLOB, "a longer first version");
    try (BlobWriter writer = driver.writer(BLOB, false)) {
      assertThat(writer.size()).as("a replacing writer starts empty").isZero();
      writer.write(ascii("short"));
      assertThat(writer.size()).isEqualTo(5);
      writer.commit();
    }

    assertThat(read(BLOB)).isEqualTo("short");
    assertThat(driver.stat(BLOB)).hasValue(5);
    driver.delete(BLOB);
  }

  @Test
  void zeroLengthContentIsAKey() throws IOException {
    try (BlobWriter writer = driver.writer(BLOB, false)) {
      writer.commit();
    }

    assertThat(driver.stat(BLOB)).hasValue(0);
    assertThat(driver.list("blobs")).containsExactly(BLOB);
    try (SeekableByteChannel channel = driver.open(BLOB)) {
      assertThat(channel.size()).isZero();
      assertThat(channel.read(ByteBuffer.allocate(8))).isEqualTo(-1);
    }
    assertThat(driver.delete(BLOB)).isTrue();
    assertThat(driver.stat(BLOB)).isEmpty();
  }

  @Test
  void largeContentStreamedInChunksRoundTrips() throws Exception {
    byte[] content = new byte[20 * 1024 * 1024];
    new Random(42).nextBytes(content);
    int chunk = 1_000_003; // not a power of two, so chunk edges fall anywhere
    try (BlobWriter writer = driver.writer(BLOB, false)) {
      for (int offset = 0; offset < content.length; offset += chunk) {
        writer.write(ByteBuffer.wrap(content, offset, Math.min(chunk, content.length - offset)));
      }
      assertThat(writer.size()).isEqualTo(content.length);
      writer.commit();
    }

    assertThat(driver.stat(BLOB)).hasValue(content.length);
    MessageDigest readBack = sha256();
    try (SeekableByteChannel channel = driver.open(BLOB)) {
      ByteBuffer buffer = ByteBuffer.allocate(65_536);
      while (channel.read(buffer) >= 0) {
        buffer.flip();
        readBack.update(buffer);
        buffer.clear();
      }
      assertThat(readBack.digest()).isEqualTo(sha256().digest(content));

      int offset = 13 * 1024 * 1024 + 7;
      channel.position(offset);
      ByteBuffer slice = ByteBuffer.allocate(4096);
      readFully(channel, slice);
      assertThat(slice.array()).isEqualTo(Arrays.copyOfRange(content, offset, offset + 4096));
    }
    assertThat(driver.delete(BLOB)).isTrue();
  }

  @Test
  void largeWriterClosedWithoutCommitLeavesNoUnfinishedWrite() throws IOException {
    byte[] content = new byte[12 * 1024 * 1024]; // beyond any buffer a driver keeps in memory
    new Random(7).nextBytes(content);
    try (BlobWriter writer = driver.writer(BLOB, false)) {
      writer.write(ByteBuffer.wrap(content));
    }

    assertThat(driver.abortIncompleteWrites(Instant.now().plus(Duration.ofDays(1)), true))
        .isEmpty();
    driver.delete(BLOB); // whatever a driver kept of it is an ordinary key
  }

  // --- stat, open, delete ----------------------------------------------------------------------

  @Test
  void statTellsPresentFromAbsent() throws IOException {
    assertThat(driver.stat(BLOB)).isEmpty();
    write(BLOB, "1234");

    assertThat(driver.stat(BLOB)).hasValue(4);
    assertThat(driver.stat(OTHER_BLOB)).isEmpty();
    assertThat(driver.stat("blobs/sha256")).as("a prefix is not a key").isEmpty();
    driver.delete(BLOB);
    assertThat(driver.stat(BLOB)).isEmpty();
  }

  @Test
  void openingAMissingKeyThrowsBlobNotFound() {
    assertThatThrownBy(() -> driver.open(BLOB)).isInstanceOf(BlobNotFoundException.class);
  }

  @Test
  void openingAPrefixThrowsBlobNotFound() throws IOException {
    write(BLOB, "x");

    assertThatThrownBy(() -> driver.open("blobs/sha256")).isInstanceOf(BlobNotFoundException.class);
    driver.delete(BLOB);
  }

  @Test
  void deleteTellsWhetherTheKeyHeldAnything() throws IOException {
    write(BLOB, "x");

    assertThat(driver.delete(BLOB)).isTrue();
    assertThat(driver.delete(BLOB)).isFalse();
    assertThat(driver.delete(OTHER_BLOB)).isFalse();
    assertThatThrownBy(() -> driver.open(BLOB)).isInstanceOf(BlobNotFoundException.class);
  }

  @Test
  void deleteWholeRemovesAKeyWrittenWholeAndToleratesAMissingOne() throws IOException {
    write(BLOB, "whole");
    write(OTHER_BLOB, "kept");

    driver.deleteWhole(BLOB);
    driver.deleteWhole(BLOB);

    assertThatThrownBy(() -> driver.open(BLOB)).isInstanceOf(BlobNotFoundException.class);
    assertThat(driver.stat(BLOB)).isEmpty();
    assertThat(read(OTHER_BLOB)).isEqualTo("kept");
    driver.delete(OTHER_BLOB);
  }

  @Test
  void deleteLeavesOtherKeysAlone() throws IOException {
    write(BLOB, "one");
    write(OTHER_BLOB, "two");

    driver.delete(BLOB);

    assertThat(read(OTHER_BLOB)).isEqualTo("two");
    assertThat(driver.list("blobs")).containsExactly(OTHER_BLOB);
    driver.delete(OTHER_BLOB);
  }

  // --- move --------------------------------------------------------------------------------------

  @Test
  void moveMakesTheSourceTheTarget() throws IOException {
    String upload = "uploads/u1/data";
    write(upload, "layer bytes");

    driver.move(upload, BLOB);

    assertThat(read(BLOB)).isEqualTo("layer bytes");
    assertThat(driver.stat(upload)).isEmpty();
    assertThatThrownBy(() -> driver.open(upload)).isInstanceOf(BlobNotFoundException.class);
    driver.delete(BLOB);
  }

  @Test
  void moveReplacesAnExistingTarget() throws IOException {
    String upload = "uploads/u1/data";
    write(BLOB, "the old content, longer than the new");
    write(upload, "new content");

    driver.move(upload, BLOB);

    assertThat(read(BLOB)).isEqualTo("new content");
    assertThat(driver.stat(BLOB)).hasValue(11);
    assertThat(driver.list("uploads")).isEmpty();
    driver.delete(BLOB);
  }

  @Test
  void moveOfAMissingSourceThrowsBlobNotFoundAndLeavesTheTarget() throws IOException {
    write(BLOB, "kept");

    assertThatThrownBy(() -> driver.move("uploads/missing/data", BLOB))
        .isInstanceOf(BlobNotFoundException.class);
    assertThatThrownBy(() -> driver.move("uploads/missing/data", OTHER_BLOB))
        .isInstanceOf(BlobNotFoundException.class);

    assertThat(read(BLOB)).isEqualTo("kept");
    assertThat(driver.stat(OTHER_BLOB)).isEmpty();
    driver.delete(BLOB);
  }

  // --- list and deleteAll ------------------------------------------------------------------------

  @Test
  void listReturnsEveryKeyUnderAPrefix() throws IOException {
    write("uploads/a/data", "1");
    write("uploads/a/part/1", "2");
    write("uploads/ab/data", "3");
    write(BLOB, "4");

    assertThat(driver.list("uploads/a"))
        .containsExactlyInAnyOrder("uploads/a/data", "uploads/a/part/1");
    assertThat(driver.list("uploads"))
        .containsExactlyInAnyOrder("uploads/a/data", "uploads/a/part/1", "uploads/ab/data");
    assertThat(driver.list("blobs")).containsExactly(BLOB);
    assertThat(driver.list("uploads/none")).isEmpty();

    driver.deleteAll("uploads");
    driver.delete(BLOB);
  }

  @Test
  void deleteAllRemovesAPrefixAndCountsWhatItDeleted() throws IOException {
    write("uploads/a/data", "1");
    write("uploads/a/part/1", "2");
    write("uploads/ab/data", "3");

    assertThat(driver.deleteAll("uploads/a")).isEqualTo(2);

    assertThat(driver.list("uploads"))
        .as("a prefix is a directory, not a string prefix")
        .containsExactly("uploads/ab/data");
    assertThat(driver.stat("uploads/a/data")).isEmpty();
    assertThat(driver.deleteAll("uploads/a")).as("deleting again").isZero();
    assertThat(driver.deleteAll("uploads/never")).isZero();
    assertThat(driver.deleteAll("uploads")).isEqualTo(1);
  }

  // --- concurrency -------------------------------------------------------------------------------

  @Test
  void concurrentWritersToDifferentKeysDoNotMix() throws Exception {
    int writers = 8;
    List<Callable<Void>> tasks = new ArrayList<>();
    for (int i = 0; i < writers; i++) {
      String key = "uploads/concurrent-" + i + "/data";
      byte[] chunk = new byte[16 * 1024];
      Arrays.fill(chunk, (byte) i);
      tasks.add(() -> {
        try (BlobWriter writer = driver.writer(key, true)) {
          for (int n = 0; n < 64; n++) {
            writer.write(ByteBuffer.wrap(chunk));
          }
          writer.commit();
        }
        return null;
      });
    }
    runAll(tasks);

    for (int i = 0; i < writers; i++) {
      byte[] content = readBytes("uploads/concurrent-" + i + "/data");
      assertThat(content).hasSize(64 * 16 * 1024);
      byte expected = (byte) i;
      for (byte b : content) {
        if (b != expected) {
          throw new AssertionError("writer " + i + "'s key holds a byte of another writer");
        }
      }
    }
    assertThat(driver.deleteAll("uploads")).isEqualTo(writers);
  }

  @Test
  void keyReadsWhileAnotherIsBeingWritten() throws Exception {
    write(BLOB, "committed content");
    String upload = "uploads/in-progress/data";
    byte[] chunk = "0123456789abcdef".repeat(4096).getBytes(StandardCharsets.US_ASCII);

    try (ExecutorService executor = Executors.newSingleThreadExecutor()) {
      Future<?> writing = executor.submit(() -> {
        try (BlobWriter writer = driver.writer(upload, true)) {
          for (int n = 0; n < 128; n++) {
            writer.write(ByteBuffer.wrap(chunk));
          }
          writer.commit();
        }
        return null;
      });
      // Read the committed key again and again while the upload grows.
      for (int n = 0; n < 50 || !writing.isDone(); n++) {
        assertThat(read(BLOB)).isEqualTo("committed content");
      }
      writing.get(60, TimeUnit.SECONDS);
    }

    assertThat(driver.stat(upload)).hasValue(128L * chunk.length);
    assertThat(read(BLOB)).isEqualTo("committed content");
    driver.delete(BLOB);
    assertThat(driver.deleteAll("uploads/in-progress")).isEqualTo(1);
  }

  // --- helpers -----------------------------------------------------------------------------------

  /** Writes and commits the whole of a key. */
  protected final void write(String key, String content) throws IOException {
    try (BlobWriter writer = driver.writer(key, false)) {
      writer.write(ascii(content));
      writer.commit();
    }
  }

  protected final String read(String key) throws IOException {
    return new String(readBytes(key), StandardCharsets.UTF_8);
  }

  protected final byte[] readBytes(String key) throws IOException {
    try (SeekableByteChannel channel = driver.open(key)) {
      return readRest(channel);
    }
  }

  private static byte[] readRest(SeekableByteChannel channel) throws IOException {
    ByteArrayOutputStream out = new ByteArrayOutputStream();
    ByteBuffer buffer = ByteBuffer.allocate(8192);
    while (channel.read(buffer) >= 0) {
      out.write(buffer.array(), 0, buffer.position());
      buffer.clear();
    }
    return out.toByteArray();
  }

  private static void readFully(SeekableByteChannel channel, ByteBuffer buffer) throws IOException {
    while (buffer.hasRemaining()) {
      if (channel.read(buffer) < 0) {
        throw new AssertionError("content ended after " + buffer.position() + " bytes");
      }
    }
  }

  private static ByteBuffer ascii(String text) {
    return ByteBuffer.wrap(text.getBytes(StandardCharsets.UTF_8));
  }

  private static MessageDigest sha256() throws NoSuchAlgorithmException {
    return MessageDigest.getInstance("SHA-256");
  }

  private static void runAll(List<Callable<Void>> tasks) throws Exception {
    try (ExecutorService executor = Executors.newFixedThreadPool(tasks.size())) {
      List<Future<Void>> futures = executor.invokeAll(tasks, 60, TimeUnit.SECONDS);
      for (Future<Void> future : futures) {
        future.get();
      }
    }
  }
}
