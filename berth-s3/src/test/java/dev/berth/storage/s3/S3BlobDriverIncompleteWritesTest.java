package dev.berth.storage.s3;

import static org.assertj.core.api.Assertions.assertThat;

import com.fasterxml.jackson.databind.ObjectMapper;
import dev.berth.config.BerthConfig;
import dev.berth.gc.GarbageCollectDao;
import dev.berth.gc.GarbageCollectRun;
import dev.berth.gc.GarbageCollectService;
import dev.berth.metadata.BlobDao;
import dev.berth.metadata.Database;
import dev.berth.metadata.UploadDao;
import dev.berth.storage.BlobStore;
import dev.berth.storage.BlobWriter;
import dev.berth.testkit.S3Server;
import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.file.Path;
import java.time.Clock;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.List;
import java.util.Random;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import software.amazon.awssdk.core.SdkRequest;
import software.amazon.awssdk.core.interceptor.Context;
import software.amazon.awssdk.core.interceptor.ExecutionAttributes;
import software.amazon.awssdk.core.interceptor.ExecutionInterceptor;
import software.amazon.awssdk.services.s3.S3Client;
import software.amazon.awssdk.services.s3.model.ListMultipartUploadsRequest;
import software.amazon.awssdk.services.s3.model.MultipartUpload;

/**
 * Incomplete multipart uploads that crashed nodes leave behind, as garbage collection finds and
 * aborts them: on s3proxy, whose {@code ListMultipartUploads} reports each upload's initiation
 * time, so the cut-off is compared with what the server says, as on S3.
 */
class S3BlobDriverIncompleteWritesTest {
  private static final int MIB = 1 << 20;
  private static final String UPLOAD = "uploads/5d1e07/data";
  private static final String BLOB = "blobs/sha256/ab/ab" + "0".repeat(62);

  private static S3Server server;
  private static int buckets;

  private BerthConfig.S3Config config;
  private S3Client raw;
  private S3BlobDriver driver;

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
    config = server.config("incomplete-" + ++buckets, "registry/", true);
    driver = S3BlobDriver.connect(config);
    raw = S3BlobDriver.client(config);
  }

  @AfterEach
  void close() {
    driver.close();
    raw.close();
  }

  @Test
  void uploadsStartedBeforeTheCutOffAreAbortedNewerOnesAndOtherPrefixesAreLeft() throws Exception {
    // A node that died while appending more than one part's worth: its writer never committed.
    BlobWriter abandoned = driver.writer(UPLOAD, true);
    abandoned.write(ByteBuffer.wrap(random(S3BlobDriver.PART_SIZE + MIB)));
    String outside =
        raw.createMultipartUpload(b -> b.bucket(config.bucket()).key("other/x")).uploadId();
    Instant cutOff = later();
    // A move still in progress, started after the cut-off.
    String recent = raw.createMultipartUpload(
            b -> b.bucket(config.bucket()).key("registry/" + BLOB))
        .uploadId();

    assertThat(driver.abortIncompleteWrites(cutOff, false))
        .containsExactly(UPLOAD + "~segment-0000000000");

    assertThat(uploads())
        .extracting(MultipartUpload::uploadId)
        .containsExactlyInAnyOrder(outside, recent);
    assertThat(driver.abortIncompleteWrites(cutOff, false)).isEmpty();
    assertThat(driver.stat(UPLOAD)).isEmpty();
  }

  @Test
  void dryRunFindsThemAndAbortsNothing() throws Exception {
    for (String key : List.of(UPLOAD + "~segment-0000000003", BLOB)) {
      raw.createMultipartUpload(b -> b.bucket(config.bucket()).key("registry/" + key));
    }
    Instant cutOff = later();

    assertThat(driver.abortIncompleteWrites(cutOff, true))
        .containsExactlyInAnyOrder(UPLOAD + "~segment-0000000003", BLOB);
    assertThat(uploads()).hasSize(2);

    assertThat(driver.abortIncompleteWrites(cutOff, false)).hasSize(2);
    assertThat(uploads()).isEmpty();
  }

  @Test
  void everyPageOfTheListingIsSeen() throws Exception {
    // Pages of two uploads instead of S3's 1,000, so that five uploads take three pages.
    S3Calls calls = new S3Calls();
    ExecutionInterceptor smallPages = new ExecutionInterceptor() {
      @Override
      public SdkRequest modifyRequest(Context.ModifyRequest context, ExecutionAttributes ignored) {
        return context.request() instanceof ListMultipartUploadsRequest list
            ? list.toBuilder().maxUploads(2).build()
            : context.request();
      }
    };
    S3Client client = S3BlobDriver.clientBuilder(config)
        .overrideConfiguration(
            o -> o.addExecutionInterceptor(smallPages).addExecutionInterceptor(calls))
        .build();
    List<String> keys = new ArrayList<>();
    for (int i = 0; i < 5; i++) {
      keys.add("uploads/u" + i + "/data~segment-0000000000");
      String object = "registry/" + keys.getLast();
      raw.createMultipartUpload(b -> b.bucket(config.bucket()).key(object));
    }
    Instant cutOff = later();

    try (S3BlobDriver paging = new S3BlobDriver(client, config.bucket(), config.prefix())) {
      assertThat(paging.abortIncompleteWrites(cutOff, false))
          .containsExactlyInAnyOrderElementsOf(keys);
    }
    assertThat(calls.count("ListMultipartUploads")).isEqualTo(3);
    assertThat(uploads()).isEmpty();
  }

  @Test
  void garbageCollectionAbortsThemWhereItExpiresSessionsAndADryRunOnlyReportsThem(@TempDir Path dir)
      throws Exception {
    String segment = UPLOAD + "~segment-0000000000";
    raw.createMultipartUpload(b -> b.bucket(config.bucket()).key("registry/" + segment));
    // Two hours on with an expiry of one hour: the upload, started now, has expired.
    Clock clock = Clock.offset(Clock.systemUTC(), Duration.ofHours(2));
    try (Database database = Database.open("jdbc:sqlite:" + dir.resolve("berth.db"))) {
      GarbageCollectService gc = new GarbageCollectService(
          database,
          new BlobStore(driver),
          new UploadDao(),
          new GarbageCollectDao(new BlobDao()),
          new ObjectMapper(),
          Duration.ZERO,
          Duration.ofHours(1),
          clock);

      GarbageCollectRun dry = collect(gc, true);
      assertThat(dry.errors()).as(dry.errorMessage()).isZero();
      assertThat(incompleteWrites(dry)).containsExactly(segment);
      assertThat(uploads()).hasSize(1);

      GarbageCollectRun real = collect(gc, false);
      assertThat(real.errors()).as(real.errorMessage()).isZero();
      assertThat(incompleteWrites(real)).containsExactly(segment);
      assertThat(uploads()).isEmpty();
    }
  }

  private static GarbageCollectRun collect(GarbageCollectService gc, boolean dryRun) {
    GarbageCollectService.Options options = new GarbageCollectService.Options(dryRun, false);
    return gc.collect(gc.start(options, "test"), options);
  }

  private static List<String> incompleteWrites(GarbageCollectRun run) throws IOException {
    List<String> writes = new ArrayList<>();
    new ObjectMapper()
        .readTree(run.report())
        .path("incompleteWrites")
        .forEach(node -> writes.add(node.asText()));
    return writes;
  }

  /** Every incomplete upload in the bucket, whatever its prefix. */
  private List<MultipartUpload> uploads() {
    return raw.listMultipartUploadsPaginator(b -> b.bucket(config.bucket())).uploads().stream()
        .toList();
  }

  /** A moment strictly after everything done so far, and strictly before anything done next. */
  private static Instant later() throws InterruptedException {
    Thread.sleep(20); // the server reports initiation times in milliseconds
    Instant instant = Instant.now();
    Thread.sleep(20);
    return instant;
  }

  private static byte[] random(int size) {
    byte[] bytes = new byte[size];
    new Random(size).nextBytes(bytes);
    return bytes;
  }
}
