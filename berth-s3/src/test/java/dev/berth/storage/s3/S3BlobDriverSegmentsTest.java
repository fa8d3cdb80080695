package dev.berth.storage.s3;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import dev.berth.config.BerthConfig;
import dev.berth.config.ConfigException;
import dev.berth.oci.Digest;
import dev.berth.storage.BlobNotFoundException;
import dev.berth.storage.BlobStore;
import dev.berth.storage.BlobWriter;
import dev.berth.testkit.S3Server;
import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.channels.SeekableByteChannel;
import java.nio.charset.StandardCharsets;
import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Random;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import software.amazon.awssdk.core.sync.RequestBody;
import software.amazon.awssdk.services.s3.S3Client;
import software.amazon.awssdk.services.s3.model.S3Object;

/**
 * What the contract cannot see: uploads appended by several nodes, segments below S3's 5 MiB part
 * minimum, large blobs, the layout in the bucket, and start-up against a missing bucket.
 */
class S3BlobDriverSegmentsTest {
  private static final int MIB = 1 << 20;
  private static final String UPLOAD = "uploads/3f2c9a/data";
  private static final String BLOB = "blobs/sha256/ab/ab" + "0".repeat(62);

  private static S3Server server;
  private static int buckets;

  private BerthConfig.S3Config config;
  private S3Client raw;
  private final List<S3BlobDriver> drivers = new ArrayList<>();

  @BeforeAll
  static void startServer() throws Exception {
    server = S3Server.start();
  }

  @AfterAll
  static void stopServer() throws Exception {
    server.close();
  }

  @BeforeEach
  void newBucket() throws IOException {
    config = server.config("segments-" + ++buckets, "registry/", true);
    raw = S3BlobDriver.client(config);
  }

  @AfterEach
  void closeDrivers() throws IOException {
    for (S3BlobDriver driver : drivers) {
      driver.close();
    }
    raw.close();
  }

  /** A node: its own client and driver on the shared bucket, sharing nothing else. */
  private S3BlobDriver node() throws IOException {
    S3BlobDriver driver = S3BlobDriver.connect(config);
    drivers.add(driver);
    return driver;
  }

  /** A node whose S3 calls are recorded; the bucket must exist. */
  private S3BlobDriver node(S3Calls calls) {
    S3Client client = S3BlobDriver.clientBuilder(config)
        .overrideConfiguration(o -> o.addExecutionInterceptor(calls))
        .build();
    S3BlobDriver driver = new S3BlobDriver(client, config.bucket(), config.prefix());
    drivers.add(driver);
    return driver;
  }

  @Test
  void uploadAppendedByThreeNodesIsMovedIntoOneObject() throws Exception {
    byte[] first = random(6 * MIB, 1);
    byte[] second = random(3 * MIB + 17, 2); // below the part minimum, between two large ones
    byte[] third = random(7 * MIB, 3);
    S3Calls calls = new S3Calls();
    List<S3BlobDriver> nodes = List.of(node(), node(), node(calls));

    long expected = 0;
    for (int i = 0; i < 3; i++) {
      byte[] chunk = List.of(first, second, third).get(i);
      try (BlobWriter writer = nodes.get(i).writer(UPLOAD, true)) {
        assertThat(writer.size())
            .as("node %d sees the bytes the others appended", i)
            .isEqualTo(expected);
        writeInChunks(writer, chunk, 1_000_003);
        writer.commit();
      }
      expected += chunk.length;
      assertThat(nodes.get((i + 1) % 3).stat(UPLOAD)).hasValue(expected);
    }
    byte[] whole = concat(first, second, third);
    assertThat(objectKeys())
        .containsExactly(
            "registry/uploads/3f2c9a/data~segment-0000000000",
            "registry/uploads/3f2c9a/data~segment-0000000001",
            "registry/uploads/3f2c9a/data~segment-0000000002");

    // Reads across segment boundaries, from any node.
    try (SeekableByteChannel channel = nodes.get(1).open(UPLOAD)) {
      assertThat(channel.size()).isEqualTo(whole.length);
      int across = first.length - 100;
      channel.position(across);
      ByteBuffer slice = ByteBuffer.allocate(second.length + 200);
      readFully(channel, slice);
      assertThat(slice.array())
          .isEqualTo(Arrays.copyOfRange(whole, across, across + slice.capacity()));
      channel.position(0);
      assertThat(sha256(channel)).isEqualTo(sha256(whole));
    }

    calls.clear();
    nodes.get(2).move(UPLOAD, BLOB);

    // 6 MiB and the last 5 MiB + 17 of the 7 MiB are copied inside S3; the small middle segment
    // and the head of the next one (5 MiB in all) pass through the node as one part.
    assertThat(calls.count("UploadPartCopy")).isEqualTo(2);
    assertThat(calls.count("UploadPart")).isEqualTo(1);
    assertThat(calls.sent("UploadPart")).isEqualTo(S3BlobDriver.MIN_PART);
    assertThat(calls.received()).isEqualTo(S3BlobDriver.MIN_PART);
    assertThat(objectKeys()).containsExactly("registry/" + BLOB);
    assertThat(nodes.get(0).stat(UPLOAD)).isEmpty();
    assertThat(nodes.get(0).stat(BLOB)).hasValue(whole.length);
    assertThat(sha256(nodes.get(0).open(BLOB))).isEqualTo(sha256(whole));
    assertThat(nodes.get(0).delete(BLOB)).isTrue();
  }

  @Test
  void segmentsSmallerThanTheS3PartMinimumAreComposedCorrectly() throws Exception {
    S3BlobDriver driver = node();
    // Small runs before, between and after large segments; an empty segment; a run whose
    // total crosses 5 MiB several times.
    int[] sizes = {1 * MIB, 2 * MIB + 5, 0, 6 * MIB, 100_000, 3 * MIB, 4 * MIB, 4 * MIB, 12 * MIB, 7
    };
    ByteArrayOutputStream expected = new ByteArrayOutputStream();
    for (int i = 0; i < sizes.length; i++) {
      byte[] chunk = random(sizes[i], 100 + i);
      try (BlobWriter writer = driver.writer(UPLOAD, true)) {
        writer.write(ByteBuffer.wrap(chunk));
        writer.commit();
      }
      expected.writeBytes(chunk);
    }
    assertThat(driver.stat(UPLOAD)).hasValue(expected.size());

    driver.move(UPLOAD, BLOB);

    assertThat(objectKeys()).containsExactly("registry/" + BLOB);
    assertThat(sha256(driver.open(BLOB))).isEqualTo(sha256(expected.toByteArray()));
    driver.delete(BLOB);
  }

  @Test
  void onlySmallSegmentsBecomeOneObject() throws Exception {
    S3BlobDriver driver = node();
    ByteArrayOutputStream expected = new ByteArrayOutputStream();
    for (int i = 0; i < 4; i++) {
      byte[] chunk = ("chunk " + i + ";").getBytes(StandardCharsets.US_ASCII);
      try (BlobWriter writer = driver.writer(UPLOAD, true)) {
        writer.write(ByteBuffer.wrap(chunk));
        writer.commit();
      }
      expected.writeBytes(chunk);
    }

    driver.move(UPLOAD, BLOB);

    assertThat(new String(readAll(driver, BLOB), StandardCharsets.US_ASCII))
        .isEqualTo("chunk 0;chunk 1;chunk 2;chunk 3;");
    assertThat(objectKeys()).containsExactly("registry/" + BLOB);
    driver.delete(BLOB);
  }

  @Test
  void blobOf64MibRoundTripsThroughAnUploadAndAMove() throws Exception {
    node(); // creates the bucket
    S3Calls calls = new S3Calls();
    S3BlobDriver driver = node(calls);
    byte[] content = random(64 * MIB, 64);
    try (BlobWriter writer = driver.writer(UPLOAD, true)) {
      writeInChunks(writer, content, 1_048_583);
      assertThat(writer.size()).isEqualTo(content.length);
      writer.commit();
    }
    assertThat(driver.stat(UPLOAD)).hasValue(content.length);
    // Streamed in parts of the writer's bounded buffer, never held whole.
    assertThat(calls.count("UploadPart")).isEqualTo(8);
    assertThat(calls.maxSent("UploadPart")).isEqualTo(S3BlobDriver.PART_SIZE);

    calls.clear();
    driver.move(UPLOAD, BLOB);

    assertThat(calls.operations()).contains("CopyObject").doesNotContain("UploadPart", "GetObject");

    assertThat(driver.stat(BLOB)).hasValue(content.length);
    assertThat(sha256(driver.open(BLOB))).isEqualTo(sha256(content));
    try (SeekableByteChannel channel = driver.open(BLOB)) {
      int offset = 50 * MIB + 3;
      channel.position(offset);
      ByteBuffer slice = ByteBuffer.allocate(MIB);
      readFully(channel, slice);
      assertThat(slice.array()).isEqualTo(Arrays.copyOfRange(content, offset, offset + MIB));
    }
    assertThat(objectKeys()).containsExactly("registry/" + BLOB);
    driver.delete(BLOB);
  }

  @Test
  void segmentsBeyondTheCopyLimitAreCopiedInRanges() throws Exception {
    node(); // creates the bucket
    // A 10 MiB copy limit stands in for S3's 5 GiB, so that the split copy runs here.
    S3BlobDriver driver =
        new S3BlobDriver(S3BlobDriver.client(config), config.bucket(), "registry/", 10 * MIB);
    drivers.add(driver);
    byte[] big = random(25 * MIB + 3, 7);
    try (BlobWriter writer = driver.writer(UPLOAD, true)) {
      writeInChunks(writer, big, 4 * MIB);
      writer.commit();
    }
    driver.move(UPLOAD, BLOB); // one segment above the limit: ranged part copies

    assertThat(sha256(driver.open(BLOB))).isEqualTo(sha256(big));

    byte[] small = random(2 * MIB, 8);
    for (byte[] chunk : List.of(small, big)) {
      try (BlobWriter writer = driver.writer(UPLOAD, true)) {
        writer.write(ByteBuffer.wrap(chunk));
        writer.commit();
      }
    }
    driver.move(UPLOAD, BLOB); // a small segment, then the rest of a large one in ranges

    assertThat(sha256(driver.open(BLOB))).isEqualTo(sha256(concat(small, big)));
    assertThat(objectKeys()).containsExactly("registry/" + BLOB);
    driver.delete(BLOB);
  }

  @Test
  void blobStoreCommitsAChunkedUploadUnderItsDigest() throws Exception {
    BlobStore store = new BlobStore(node());
    byte[] content = random(9 * MIB + 1, 11);
    for (int offset = 0; offset < content.length; offset += 4 * MIB) {
      try (BlobWriter writer = store.appendUpload("u-1")) {
        writer.write(ByteBuffer.wrap(content, offset, Math.min(4 * MIB, content.length - offset)));
        writer.commit();
      }
      assertThat(store.uploadSize("u-1")).isEqualTo(Math.min(offset + 4 * MIB, content.length));
    }
    Digest digest = Digest.sha256(sha256(content));

    store.commitUpload("u-1", digest);

    assertThat(store.stat(digest)).hasValue(content.length);
    assertThat(sha256(store.open(digest))).isEqualTo(sha256(content));
    assertThat(objectKeys()).containsExactly("registry/" + BlobStore.blobKey(digest));
    assertThat(store.delete(digest)).isTrue();
  }

  @Test
  void appendingToAWholeObjectContinuesAfterIt() throws Exception {
    S3BlobDriver driver = node();
    try (BlobWriter writer = driver.writer(UPLOAD, false)) {
      writer.write(ByteBuffer.wrap("whole ".getBytes(StandardCharsets.US_ASCII)));
      writer.commit();
    }
    try (BlobWriter writer = driver.writer(UPLOAD, true)) {
      assertThat(writer.size()).isEqualTo(6);
      writer.write(ByteBuffer.wrap("then appended".getBytes(StandardCharsets.US_ASCII)));
      writer.commit();
    }

    assertThat(new String(readAll(driver, UPLOAD), StandardCharsets.US_ASCII))
        .isEqualTo("whole then appended");
    assertThat(driver.list("uploads")).containsExactly(UPLOAD);

    try (BlobWriter writer = driver.writer(UPLOAD, false)) {
      writer.write(ByteBuffer.wrap("replaced".getBytes(StandardCharsets.US_ASCII)));
      writer.commit();
    }
    assertThat(new String(readAll(driver, UPLOAD), StandardCharsets.US_ASCII))
        .isEqualTo("replaced");
    assertThat(objectKeys())
        .as("replacing removes the segments")
        .containsExactly("registry/" + UPLOAD);
    assertThat(driver.deleteAll("uploads")).isEqualTo(1);
  }

  @Test
  void aWriterClosedWithoutCommitLeavesNothingVisible() throws Exception {
    S3BlobDriver driver = node();
    try (BlobWriter writer = driver.writer(UPLOAD, true)) {
      writer.write(ByteBuffer.wrap(random(20 * MIB, 9))); // far enough to start a multipart upload
    }

    assertThat(driver.stat(UPLOAD)).isEmpty();
    assertThatThrownBy(() -> driver.open(UPLOAD)).isInstanceOf(BlobNotFoundException.class);
    assertThat(objectKeys()).isEmpty();
    assertThat(raw.listMultipartUploads(b -> b.bucket(config.bucket())).uploads())
        .as("the multipart upload was aborted")
        .isEmpty();
  }

  @Test
  void theKeyPrefixKeepsTheDriverInsideItsPartOfTheBucket() throws Exception {
    S3BlobDriver prefixed = node();
    raw.putObject(
        b -> b.bucket(config.bucket()).key("blobs/not-ours"), RequestBody.fromString("x"));
    try (BlobWriter writer = prefixed.writer(BLOB, false)) {
      writer.write(ByteBuffer.wrap(new byte[] {1, 2, 3}));
      writer.commit();
    }

    assertThat(prefixed.list("blobs")).containsExactly(BLOB);
    assertThat(objectKeys()).containsExactlyInAnyOrder("blobs/not-ours", "registry/" + BLOB);
    assertThat(prefixed.deleteAll("blobs")).isEqualTo(1);
    assertThat(objectKeys()).containsExactly("blobs/not-ours");
  }

  @Test
  void objectsUnderThePrefixThatAreNoKeyAreNotListed() throws Exception {
    S3BlobDriver driver = node();
    try (BlobWriter writer = driver.writer(UPLOAD, true)) {
      writer.write(ByteBuffer.wrap(new byte[] {1, 2, 3}));
      writer.commit();
    }
    // s3proxy's temporary object of a segment PUT in flight, and another tool's object.
    for (String foreign : List.of(
        UPLOAD + "~segment-0000000001-0b5e3f52-c2a1-4a39-9f0c-2d1f7c3e8a11", "uploads/a b")) {
      raw.putObject(
          b -> b.bucket(config.bucket()).key("registry/" + foreign), RequestBody.fromString("x"));
    }

    assertThat(driver.list("uploads")).containsExactly(UPLOAD);
    assertThat(driver.stat(UPLOAD)).hasValue(3);
  }

  @Test
  void aMissingBucketStopsStartUpNamingTheKeyUnlessItMayBeCreated() throws Exception {
    BerthConfig.S3Config missing = server.config("never-created", "", false);

    assertThatThrownBy(() -> S3BlobDriver.connect(missing))
        .isInstanceOf(ConfigException.class)
        .hasMessageContaining("storage.s3.bucket")
        .hasMessageContaining("'never-created' does not exist")
        .hasMessageContaining("storage.s3.create-bucket")
        .hasMessageNotContaining("\n");

    BerthConfig.S3Config create = server.config("created-on-start", "", true);
    try (S3BlobDriver driver = S3BlobDriver.connect(create)) {
      assertThat(driver.list("blobs")).isEmpty();
    }
    // Now it exists, so create-bucket does not matter.
    try (S3BlobDriver driver = S3BlobDriver.connect(server.config("created-on-start", "", false))) {
      assertThat(driver.stat(BLOB)).isEmpty();
    }
  }

  @Test
  void anUnreachableEndpointIsAnIoErrorNamingIt() {
    BerthConfig.S3Config nowhere =
        new BerthConfig.S3Config("http://127.0.0.1:1", "us-east-1", "b", "", "k", "s", true, false);

    assertThatThrownBy(() -> S3BlobDriver.connect(nowhere))
        .isInstanceOf(IOException.class)
        .hasMessageContaining("http://127.0.0.1:1");
  }

  // --- helpers -----------------------------------------------------------------------------------

  private List<String> objectKeys() {
    return raw.listObjectsV2Paginator(b -> b.bucket(config.bucket())).contents().stream()
        .map(S3Object::key)
        .sorted()
        .toList();
  }

  private static byte[] random(int size, long seed) {
    byte[] bytes = new byte[size];
    new Random(seed).nextBytes(bytes);
    return bytes;
  }

  private static byte[] concat(byte[]... parts) {
    ByteArrayOutputStream out = new ByteArrayOutputStream();
    for (byte[] part : parts) {
      out.writeBytes(part);
    }
    return out.toByteArray();
  }

  private static void writeInChunks(BlobWriter writer, byte[] content, int chunk)
      throws IOException {
    for (int offset = 0; offset < content.length; offset += chunk) {
      writer.write(ByteBuffer.wrap(content, offset, Math.min(chunk, content.length - offset)));
    }
  }

  private static byte[] readAll(S3BlobDriver driver, String key) throws IOException {
    try (SeekableByteChannel channel = driver.open(key)) {
      ByteArrayOutputStream out = new ByteArrayOutputStream();
      ByteBuffer buffer = ByteBuffer.allocate(8192);
      while (channel.read(buffer) >= 0) {
        out.write(buffer.array(), 0, buffer.position());
        buffer.clear();
      }
      return out.toByteArray();
    }
  }

  private static void readFully(SeekableByteChannel channel, ByteBuffer buffer) throws IOException {
    while (buffer.hasRemaining()) {
      if (channel.read(buffer) < 0) {
        throw new AssertionError("content ended after " + buffer.position() + " bytes");
      }
    }
  }

  private static byte[] sha256(SeekableByteChannel channel) throws IOException {
    try (channel) {
      MessageDigest digest = newDigest();
      ByteBuffer buffer = ByteBuffer.allocateDirect(65_536); // direct, as a sender's buffer may be
      while (channel.read(buffer) >= 0) {
        buffer.flip();
        digest.update(buffer);
        buffer.clear();
      }
      return digest.digest();
    }
  }

  private static byte[] sha256(byte[] content) {
    return newDigest().digest(content);
  }

  private static MessageDigest newDigest() {
    try {
      return MessageDigest.getInstance("SHA-256");
    } catch (NoSuchAlgorithmException e) {
      throw new IllegalStateException(e);
    }
  }
}
