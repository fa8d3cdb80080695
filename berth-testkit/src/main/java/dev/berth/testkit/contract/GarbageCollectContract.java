package dev.berth.testkit.contract;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import dev.berth.gc.BlobState;
import dev.berth.gc.GarbageCollectDao;
import dev.berth.gc.GarbageCollectJob;
import dev.berth.gc.GarbageCollectRun;
import dev.berth.gc.GarbageCollectService;
import dev.berth.jobs.Pacer;
import dev.berth.jobs.Scheduler;
import dev.berth.jobs.Worker;
import dev.berth.jobs.sql.SqlJobQueue;
import dev.berth.metadata.BlobDao;
import dev.berth.metadata.Database;
import dev.berth.metadata.ManifestDao;
import dev.berth.metadata.NewManifest;
import dev.berth.metadata.RepositoryDao;
import dev.berth.metadata.TagDao;
import dev.berth.metadata.UploadDao;
import dev.berth.metadata.UploadSession;
import dev.berth.oci.Digest;
import dev.berth.oci.ErrorCode;
import dev.berth.oci.MediaType;
import dev.berth.oci.RegistryException;
import dev.berth.storage.BlobDriver;
import dev.berth.storage.BlobStore;
import dev.berth.storage.BlobWriter;
import dev.berth.storage.memory.MemoryBlobDriver;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.lang.reflect.InvocationHandler;
import java.lang.reflect.InvocationTargetException;
import java.lang.reflect.Proxy;
import java.nio.ByteBuffer;
import java.nio.charset.StandardCharsets;
import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;
import java.sql.Connection;
import java.sql.PreparedStatement;
import java.sql.ResultSet;
import java.time.Clock;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.UUID;
import java.util.concurrent.ConcurrentLinkedQueue;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.atomic.AtomicInteger;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

/**
 * Garbage collection over a metadata backend (decision 008): what it deletes, what it keeps, the
 * dry run, the blob states, and the per-digest lock against concurrent upload commits and links.
 * A backend passes by subclassing with an {@link #openDatabase()} that returns a new, empty,
 * migrated database; bytes live in a {@link MemoryBlobDriver}.
 */
public abstract class GarbageCollectContract {
  private static final ObjectMapper JSON = new ObjectMapper();
  private static final Worker.Settings WORKER = new Worker.Settings(
      Duration.ofSeconds(30),
      Duration.ofMillis(20),
      Duration.ofMillis(100),
      2,
      Duration.ofSeconds(5));

  protected Database database;
  protected BlobStore store;
  private final RepositoryDao repositories = new RepositoryDao();
  private final BlobDao blobs = new BlobDao();
  private final ManifestDao manifests = new ManifestDao();
  private final TagDao tags = new TagDao();
  private final UploadDao uploads = new UploadDao();
  private final GarbageCollectDao dao = new GarbageCollectDao(blobs);

  protected abstract Database openDatabase();

  protected void cleanup() {}

  @BeforeEach
  final void open() {
    database = openDatabase();
    store = new BlobStore(new MemoryBlobDriver());
  }

  @AfterEach
  final void close() {
    try {
      database.close();
    } finally {
      cleanup();
    }
  }

  /** A collector whose links are held for an hour: links made by a test stay roots. */
  private GarbageCollectService service(Duration grace) {
    return service(grace, Duration.ofHours(1));
  }

  private GarbageCollectService service(Duration grace, Duration linkHold) {
    return new GarbageCollectService(
        database,
        store,
        uploads,
        dao,
        JSON,
        grace,
        linkHold,
        Duration.ofHours(24),
        Clock.systemUTC());
  }

  private GarbageCollectRun run(Duration grace, boolean dryRun, boolean deleteUntagged) {
    return run(grace, Duration.ofHours(1), dryRun, deleteUntagged);
  }

  private GarbageCollectRun run(
      Duration grace, Duration linkHold, boolean dryRun, boolean deleteUntagged) {
    GarbageCollectService service = service(grace, linkHold);
    GarbageCollectService.Options options =
        new GarbageCollectService.Options(dryRun, deleteUntagged);
    GarbageCollectRun run = service.collect(service.start(options, "test"), options);
    assertThat(run.errors()).as("errors: %s", run.errorMessage()).isZero();
    assertThat(run.status()).isEqualTo(GarbageCollectRun.SUCCEEDED);
    return run;
  }

  // ---- blobs ----

  @Test
  void collectsUnreferencedBlobsAndKeepsLinkedAndListedOnes() throws IOException {
    Digest linked = storeBlob("linked");
    Digest listed = storeBlob("listed");
    Digest garbage = storeBlob("garbage");
    long repository = database.write(c -> repositories.getOrCreate(c, "library/alpine"));
    link(repository, linked);
    database.write(
        c -> manifests.insertIfAbsent(c, repository, manifest("m", List.of(listed), List.of())));

    GarbageCollectRun run = run(Duration.ZERO, false, false);

    assertThat(run.blobsDeleted()).isEqualTo(1);
    assertThat(run.bytesFreed()).isEqualTo("garbage".length());
    assertThat(reported(run, "blobs")).containsExactly(garbage.toString());
    assertThat(state(garbage)).isNull();
    assertThat(store.stat(garbage)).isEmpty();
    assertThat(state(linked)).isEqualTo(BlobState.LIVE);
    assertThat(store.stat(linked)).hasValue("linked".length());
    assertThat(state(listed)).isEqualTo(BlobState.LIVE);
    assertThat(store.stat(listed)).isPresent();
  }

  @Test
  void aBusyNodeCollectsOneBlobAtATimeAndStillCollectsThemAll() throws IOException {
    AtomicInteger deleting = new AtomicInteger();
    AtomicInteger mostAtOnce = new AtomicInteger();
    store = new BlobStore(countingDeletes(store.driver(), deleting, mostAtOnce));
    AtomicBoolean busy = new AtomicBoolean(true);
    GarbageCollectService paced = new GarbageCollectService(
        database,
        store,
        uploads,
        dao,
        JSON,
        Duration.ZERO,
        Duration.ofHours(1),
        Duration.ofHours(24),
        Clock.systemUTC(),
        new Pacer(busy::get, 50));
    GarbageCollectService.Options options = new GarbageCollectService.Options(false, false);
    List<Digest> first = new ArrayList<>();
    for (int i = 0; i < 40; i++) {
      first.add(storeBlob("busy " + i));
    }

    GarbageCollectRun whileBusy = paced.collect(paced.start(options, "test"), options);

    assertThat(whileBusy.errors()).as("errors: %s", whileBusy.errorMessage()).isZero();
    assertThat(whileBusy.blobsDeleted()).isEqualTo(40);
    assertThat(mostAtOnce.get()).as("deletions at once while busy").isEqualTo(1);
    for (Digest digest : first) {
      assertThat(state(digest)).isNull();
      assertThat(store.stat(digest)).isEmpty();
    }

    busy.set(false);
    mostAtOnce.set(0);
    for (int i = 0; i < 40; i++) {
      storeBlob("idle " + i);
    }
    GarbageCollectRun whileIdle = paced.collect(paced.start(options, "test"), options);

    assertThat(whileIdle.blobsDeleted()).isEqualTo(40);
    assertThat(mostAtOnce.get()).as("deletions at once while idle").isGreaterThan(1);
  }

  /** {@code driver}, counting its {@code deleteWhole} calls in flight (each takes 5 ms). */
  private static BlobDriver countingDeletes(
      BlobDriver driver, AtomicInteger inFlight, AtomicInteger mostAtOnce) {
    InvocationHandler handler = (proxy, method, args) -> {
      boolean counted = method.getName().equals("deleteWhole");
      if (counted) {
        mostAtOnce.accumulateAndGet(inFlight.incrementAndGet(), Math::max);
      }
      try {
        if (counted) {
          Thread.sleep(5);
        }
        return method.invoke(driver, args);
      } catch (InvocationTargetException e) {
        throw e.getCause();
      } finally {
        if (counted) {
          inFlight.decrementAndGet();
        }
      }
    };
    return (BlobDriver) Proxy.newProxyInstance(
        BlobDriver.class.getClassLoader(), new Class<?>[] {BlobDriver.class}, handler);
  }

  @Test
  void theGracePeriodCountsFromTheLastReferenceRemoved() throws IOException {
    Digest digest = storeBlob("recently unlinked");
    long repository = database.write(c -> repositories.getOrCreate(c, "r"));
    link(repository, digest);
    database.write(c -> {
      blobs.unlink(c, repository, digest);
      blobs.markUnreferenced(c, digest);
      return null;
    });

    assertThat(run(Duration.ofHours(1), false, false).blobsDeleted()).isZero();
    assertThat(state(digest)).isEqualTo(BlobState.LIVE);

    assertThat(run(Duration.ZERO, false, false).blobsDeleted()).isEqualTo(1);
    assertThat(state(digest)).isNull();
  }

  @Test
  void aDryRunReportsExactlyWhatTheRealRunThenDeletes() throws IOException {
    Digest garbage = storeBlob("garbage");
    Digest kept = storeBlob("kept");
    long repository = database.write(c -> repositories.getOrCreate(c, "r"));
    link(repository, kept);
    Digest orphan = digest("orphan");
    writeKey(BlobStore.blobKey(orphan), "orphan");
    long old = System.currentTimeMillis() - Duration.ofDays(2).toMillis();
    database.write(c -> {
      uploads.insert(c, new UploadSession("expired-session", "r", old, old));
      return null;
    });
    writeKey(BlobStore.uploadKey("expired-session"), "partial");
    database.write(c ->
        manifests.insertIfAbsent(c, repository, manifest("untagged", List.of(kept), List.of())));

    GarbageCollectRun dry = run(Duration.ZERO, true, true);
    assertThat(state(garbage)).as("a dry run deletes nothing").isEqualTo(BlobState.LIVE);
    assertThat(store.stat(orphan)).isPresent();
    assertThat(count("SELECT COUNT(*) FROM manifests")).isEqualTo(1);
    assertThat(count("SELECT COUNT(*) FROM uploads")).isEqualTo(1);

    GarbageCollectRun real = run(Duration.ZERO, false, true);

    assertThat(dry.dryRun()).isTrue();
    assertThat(real.dryRun()).isFalse();
    assertThat(real.blobsDeleted()).isEqualTo(1);
    assertThat(real.orphansDeleted()).isEqualTo(1);
    assertThat(real.uploadsDeleted()).isEqualTo(1);
    assertThat(real.manifestsDeleted()).isEqualTo(1);
    assertThat(real.bytesFreed())
        .isEqualTo("garbage".length() + "orphan".length() + "partial".length());
    for (String list : List.of("blobs", "manifests", "uploads", "orphans")) {
      assertThat(reported(dry, list)).as(list).isEqualTo(reported(real, list));
    }
    assertThat(List.of(
            dry.blobsDeleted(),
            dry.manifestsDeleted(),
            dry.uploadsDeleted(),
            dry.orphansDeleted(),
            dry.bytesFreed()))
        .isEqualTo(List.of(
            real.blobsDeleted(),
            real.manifestsDeleted(),
            real.uploadsDeleted(),
            real.orphansDeleted(),
            real.bytesFreed()));
    assertThat(store.stat(orphan)).isEmpty();
    assertThat(store.uploadSize("expired-session")).isZero();
    assertThat(state(kept))
        .as("the untagged manifest's blob is still linked")
        .isEqualTo(BlobState.LIVE);
  }

  @Test
  void aClaimedBlobCannotBeLinkedAndTheNextRunFinishesIt() throws IOException {
    Digest digest = storeBlob("claimed");
    assertThat(database.write((Connection c) -> dao.claim(c, digest, Long.MAX_VALUE)))
        .isTrue();
    assertThat(state(digest)).isEqualTo(BlobState.DELETING);
    assertThat(database.write((Connection c) -> blobs.lockLive(c, digest)))
        .as("mount and dedupe refuse it")
        .isEmpty();
    assertThat(database.read((Connection c) -> blobs.size(c, digest))).isEmpty();

    // A run that stopped after its claim: the next one (even with a grace period) finishes it.
    GarbageCollectRun run = run(Duration.ofHours(1), false, false);

    assertThat(run.blobsDeleted()).isEqualTo(1);
    assertThat(state(digest)).isNull();
    assertThat(store.stat(digest)).isEmpty();
  }

  @Test
  void anUploadCommitRevivesABlobAStoppedRunClaimed() throws IOException {
    Digest digest = storeBlob("revived");
    database.write(c -> dao.claim(c, digest, Long.MAX_VALUE));

    // What UploadService.commit does under the digest's lock: bytes, then the row.
    database.withDigestLock(digest, () -> {
      writeKey(BlobStore.blobKey(digest), "revived");
      return database.write(c -> {
        blobs.insertOrRevive(c, digest, "revived".length());
        blobs.link(c, repositories.getOrCreate(c, "r"), digest);
        return null;
      });
    });

    assertThat(state(digest)).isEqualTo(BlobState.LIVE);
    assertThat(run(Duration.ZERO, false, false).blobsDeleted()).isZero();
    assertThat(store.stat(digest)).isPresent();
  }

  @Test
  void theClaimReChecksReferences() {
    Digest digest = storeBlob("referenced again");
    long repository = database.write(c -> repositories.getOrCreate(c, "r"));
    link(repository, digest);

    assertThat(database.write((Connection c) -> dao.claim(c, digest, Long.MAX_VALUE)))
        .isFalse();
    assertThat(state(digest)).isEqualTo(BlobState.LIVE);
  }

  // ---- storage walk and uploads ----

  @Test
  void orphanFilesAndAbandonedUploadsAreRemovedAndLiveOnesKept() throws IOException {
    long now = System.currentTimeMillis();
    long old = now - Duration.ofDays(2).toMillis();
    database.write(c -> {
      uploads.insert(c, new UploadSession("active", "r", now, now));
      uploads.insert(c, new UploadSession("expired", "r", old, old));
      return null;
    });
    writeKey(BlobStore.uploadKey("active"), "a");
    writeKey(BlobStore.uploadKey("expired"), "e");
    writeKey(BlobStore.uploadKey("ended-session"), "x");
    writeKey(BlobStore.uploadKey("ended-session.rewind"), "y");
    writeKey(BlobStore.uploadKey("whole-" + old + "-" + UUID.randomUUID()), "old");
    String fresh = "whole-" + now + "-" + UUID.randomUUID();
    writeKey(BlobStore.uploadKey(fresh), "new");
    Digest orphan = digest("orphan bytes");
    writeKey(BlobStore.blobKey(orphan), "orphan bytes");

    GarbageCollectRun run = run(Duration.ZERO, false, false);

    assertThat(run.uploadsDeleted()).isEqualTo(1);
    assertThat(reported(run, "uploads")).containsExactly("expired");
    assertThat(run.orphansDeleted()).isEqualTo(4);
    assertThat(store.listUploadIds()).containsExactlyInAnyOrder("active", fresh);
    assertThat(database.read((Connection c) -> uploads.find(c, "active"))).isPresent();
    assertThat(database.read((Connection c) -> uploads.find(c, "expired"))).isEmpty();
    assertThat(store.listBlobKeys()).isEmpty();
  }

  // ---- manifests ----

  @Test
  void untaggedManifestsGoOnlyWhenAskedAndOnlyWhenNothingPointsAtThem() {
    Digest layer = storeBlob("layer");
    long repository = database.write(c -> repositories.getOrCreate(c, "r"));
    NewManifest tagged = manifest("tagged", List.of(), List.of());
    NewManifest untagged = manifest("untagged", List.of(layer), List.of());
    NewManifest child = manifest("child", List.of(), List.of());
    NewManifest index = manifest("index", List.of(), List.of(child.digest()));
    NewManifest subject = manifest("subject", List.of(), List.of());
    NewManifest referrer = manifestWithSubject("referrer", subject.digest());
    database.write(c -> {
      tags.put(c, repository, "latest", manifests.insertIfAbsent(c, repository, tagged));
      manifests.insertIfAbsent(c, repository, untagged);
      manifests.insertIfAbsent(c, repository, child);
      tags.put(c, repository, "multi", manifests.insertIfAbsent(c, repository, index));
      manifests.insertIfAbsent(c, repository, subject);
      tags.put(c, repository, "signed", manifests.insertIfAbsent(c, repository, referrer));
      return null;
    });

    assertThat(run(Duration.ZERO, false, false).manifestsDeleted())
        .as("not asked")
        .isZero();
    assertThat(run(Duration.ofHours(1), false, true).manifestsDeleted())
        .as("younger than the grace period")
        .isZero();
    GarbageCollectRun run = run(Duration.ZERO, false, true);

    assertThat(reported(run, "manifests")).containsExactly("r@" + untagged.digest());
    assertThat(count("SELECT COUNT(*) FROM manifests")).isEqualTo(5);
    // The layer the deleted manifest listed is free now; the next run takes it.
    assertThat(run(Duration.ZERO, false, false).blobsDeleted()).isEqualTo(1);
    assertThat(state(layer)).isNull();
  }

  @Test
  void anUntaggedManifestPushedAgainStartsItsGracePeriodAgain() {
    long repository = database.write(c -> repositories.getOrCreate(c, "r"));
    NewManifest child = manifest("child", List.of(), List.of());
    long id = database.write(c -> manifests.insertIfAbsent(c, repository, child));
    long old = System.currentTimeMillis() - Duration.ofDays(2).toMillis();
    database.write(c -> {
      try (PreparedStatement p =
          c.prepareStatement("UPDATE manifests SET created_at = ? WHERE id = ?")) {
        p.setLong(1, old);
        p.setLong(2, id);
        return p.executeUpdate();
      }
    });

    // A client pushes it again (say, the child of an index it is about to push).
    long again = database.write(c -> manifests.insertIfAbsent(c, repository, child));
    assertThat(again).isEqualTo(id);

    assertThat(run(Duration.ofHours(1), false, true).manifestsDeleted())
        .as("pushed again within the grace period")
        .isZero();
    assertThat(count("SELECT COUNT(*) FROM manifests")).isEqualTo(1);
    assertThat(run(Duration.ZERO, false, true).manifestsDeleted()).isEqualTo(1);
  }

  @Test
  void runsAreRecordedNewestFirst() {
    GarbageCollectService service = service(Duration.ZERO);
    GarbageCollectService.Options dry = new GarbageCollectService.Options(true, false);
    long first = service.start(dry, "test");
    service.collect(first, dry);
    long second = service.start(new GarbageCollectService.Options(false, true), "api");
    assertThat(service.run(second).orElseThrow().status()).isEqualTo(GarbageCollectRun.RUNNING);
    assertThat(service.markInterrupted()).isEqualTo(1);

    List<GarbageCollectRun> runs = service.runs(10);

    assertThat(runs).extracting(GarbageCollectRun::id).containsExactly(second, first);
    assertThat(runs.get(0).status()).isEqualTo(GarbageCollectRun.INTERRUPTED);
    assertThat(runs.get(0).deleteUntagged()).isTrue();
    assertThat(runs.get(0).trigger()).isEqualTo("api");
    assertThat(runs.get(1).status()).isEqualTo(GarbageCollectRun.SUCCEEDED);
    assertThat(runs.get(1).dryRun()).isTrue();
    assertThat(runs.get(1).finishedAt()).isNotNull();
  }

  @Test
  void oneRunAtATimeAndASecondRequestIsRefused() throws Exception {
    Digest digest = storeBlob("held");
    SqlJobQueue queue = new SqlJobQueue(database, Clock.systemUTC());
    GarbageCollectJob job = new GarbageCollectJob(service(Duration.ZERO), database, queue).start();
    Worker worker = new Worker(queue, "node", job.tasks(), Clock.systemUTC(), WORKER);
    worker.start();
    GarbageCollectService.Options options = new GarbageCollectService.Options(false, false);
    CountDownLatch held = new CountDownLatch(1);
    CountDownLatch release = new CountDownLatch(1);
    // Another thread holds the digest's lock, so the run waits in its blob phase.
    Thread holder = Thread.ofPlatform().start(() -> {
      try {
        database.withDigestLock(digest, () -> {
          held.countDown();
          try {
            release.await(30, TimeUnit.SECONDS);
          } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
          }
          return null;
        });
      } catch (IOException e) {
        throw new IllegalStateException(e);
      }
    });
    assertThat(held.await(10, TimeUnit.SECONDS)).isTrue();
    long first;
    try {
      first = job.submit(options, "test");
      assertThat(job.runningRun()).hasValue(first);
      assertThatThrownBy(() -> job.submit(options, "test"))
          .isInstanceOfSatisfying(
              RegistryException.class, e -> assertThat(e.code()).isEqualTo(ErrorCode.CONFLICT))
          .hasMessageContaining("run " + first);
    } finally {
      release.countDown();
      holder.join();
    }
    long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(30);
    while (job.runningRun().isPresent() && System.nanoTime() < deadline) {
      Thread.sleep(10);
    }
    worker.close();

    GarbageCollectRun run = service(Duration.ZERO).run(first).orElseThrow();
    assertThat(run.status()).isEqualTo(GarbageCollectRun.SUCCEEDED);
    assertThat(run.blobsDeleted()).isEqualTo(1);
    assertThat(state(digest)).isNull();
  }

  @Test
  void aScheduleStartsRunsOnItsOwn() throws Exception {
    SqlJobQueue queue = new SqlJobQueue(database, Clock.systemUTC());
    GarbageCollectService service = service(Duration.ZERO);
    GarbageCollectJob job = new GarbageCollectJob(service, database, queue).start();
    Worker worker = new Worker(queue, "node", job.tasks(), Clock.systemUTC(), WORKER);
    Scheduler scheduler = new Scheduler(database, queue, Clock.systemUTC(), Duration.ofMillis(50));
    scheduler.define(
        GarbageCollectJob.SCHEDULE,
        GarbageCollectJob.SCHEDULED,
        job.schedulePayload(false),
        GarbageCollectJob.interval("300ms").orElseThrow());
    worker.start();
    scheduler.start();
    List<GarbageCollectRun> finished;
    try {
      long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(30);
      do {
        Thread.sleep(50);
        finished = service.runs(100).stream()
            .filter(r -> r.trigger().equals("schedule") && r.finished())
            .toList();
      } while (finished.size() < 2 && System.nanoTime() < deadline);
    } finally {
      scheduler.close();
      worker.close();
    }

    assertThat(finished).hasSizeGreaterThanOrEqualTo(2);
    assertThat(finished)
        .allSatisfy(run -> assertThat(run.status()).isEqualTo(GarbageCollectRun.SUCCEEDED));
  }

  // ---- races ----

  /**
   * Uploads of one digest (bytes moved under the digest's lock, then the row and a link), links
   * to it as mount and dedupe make them, and collections with no grace period, all at once for a
   * few seconds. Whenever a link commits, the bytes must be there; a collection never fails.
   */
  @Test
  void concurrentCommitsLinksAndCollectionsNeverLoseBytes() throws Exception {
    Digest digest = digest("contested");
    long uploaded = database.write(c -> repositories.getOrCreate(c, "uploaded"));
    long mounted = database.write(c -> repositories.getOrCreate(c, "mounted"));
    GarbageCollectService service = service(Duration.ZERO);
    AtomicBoolean stop = new AtomicBoolean();
    ConcurrentLinkedQueue<String> violations = new ConcurrentLinkedQueue<>();
    AtomicInteger links = new AtomicInteger();
    AtomicInteger collected = new AtomicInteger();
    ExecutorService threads = Executors.newFixedThreadPool(3);
    try {
      Future<?> uploader = threads.submit(() -> {
        while (!stop.get()) {
          // Named as UploadService names a monolithic upload, which has no session row.
          String upload = "whole-" + System.currentTimeMillis() + "-" + UUID.randomUUID();
          writeKey(BlobStore.uploadKey(upload), "contested");
          database.withDigestLock(digest, () -> {
            store.commitUpload(upload, digest);
            return database.write(c -> {
              blobs.insertOrRevive(c, digest, "contested".length());
              return blobs.link(c, uploaded, digest);
            });
          });
          checkBytes(digest, "after an upload commit", violations);
          links.incrementAndGet();
          unlink(uploaded, digest);
        }
        return null;
      });
      Future<?> linker = threads.submit(() -> {
        while (!stop.get()) {
          boolean linkedNow = database.write(
              c -> blobs.lockLive(c, digest).isPresent() && blobs.link(c, mounted, digest));
          if (linkedNow) {
            checkBytes(digest, "after a link", violations);
            links.incrementAndGet();
            unlink(mounted, digest);
          } else {
            Thread.onSpinWait();
          }
        }
        return null;
      });
      Future<?> collector = threads.submit(() -> {
        GarbageCollectService.Options options = new GarbageCollectService.Options(false, false);
        while (!stop.get()) {
          GarbageCollectRun run = service.collect(service.start(options, "test"), options);
          if (run.errors() > 0) {
            violations.add("collection error: " + run.errorMessage());
          }
          collected.addAndGet((int) run.blobsDeleted());
        }
        return null;
      });
      // Run for at least 3 s and until the race has happened a few times each way; a busy machine
      // gets more time (up to 30 s) rather than a test that passes without racing.
      long started = System.nanoTime();
      while (System.nanoTime() - started < 3_000_000_000L
          || (System.nanoTime() - started < 30_000_000_000L
              && (links.get() < 5 || collected.get() < 5))) {
        Thread.sleep(100);
      }
      stop.set(true);
      uploader.get(30, TimeUnit.SECONDS);
      linker.get(30, TimeUnit.SECONDS);
      collector.get(30, TimeUnit.SECONDS);
    } finally {
      stop.set(true);
      threads.shutdownNow();
    }

    assertThat(violations).isEmpty();
    assertThat(links.get()).as("links made").isPositive();
    assertThat(collected.get()).as("collections of the digest").isPositive();
    assertThat(
            count(
                "SELECT COUNT(*) FROM repository_blobs rb JOIN blobs b ON b.digest = rb.digest WHERE b.state <> 'live'"))
        .isZero();
    run(Duration.ZERO, false, false);
    assertThat(state(digest)).isNull();
    assertThat(store.stat(digest)).isEmpty();
  }

  private void checkBytes(Digest digest, String when, ConcurrentLinkedQueue<String> violations) {
    try {
      if (store.stat(digest).orElse(-1) != "contested".length()) {
        violations.add("bytes missing or wrong " + when + ": " + store.stat(digest));
      }
    } catch (IOException e) {
      throw new UncheckedIOException(e);
    }
  }

  private void unlink(long repository, Digest digest) {
    database.write(c -> {
      blobs.unlink(c, repository, digest);
      blobs.markUnreferenced(c, digest);
      return null;
    });
  }

  // ---- repository links (decision 012) ----

  @Test
  void aLinkNoManifestListsIsPrunedOnceItsHoldHasPassedAndItsBlobCollected() throws IOException {
    Digest abandoned = storeBlob("uploaded, never listed");
    long repository = database.write(c -> repositories.getOrCreate(c, "team/app"));
    link(repository, abandoned);

    GarbageCollectRun held = run(Duration.ZERO, Duration.ofHours(1), false, false);
    assertThat(held.linksPruned()).as("held for an hour after the upload").isZero();
    assertThat(linked("team/app", abandoned)).isTrue();

    GarbageCollectRun pruned = run(Duration.ZERO, Duration.ZERO, false, false);
    assertThat(pruned.linksPruned()).isEqualTo(1);
    assertThat(reported(pruned, "links")).containsExactly("team/app@" + abandoned);
    assertThat(linked("team/app", abandoned)).isFalse();
    assertThat(pruned.blobsDeleted()).as("collected in the same run").isEqualTo(1);
    assertThat(state(abandoned)).isNull();
    assertThat(store.stat(abandoned)).isEmpty();
  }

  @Test
  void deletingAManifestReleasesItsLinksForTheGracePeriodThenFreesItsBlobs() throws IOException {
    Digest layer = storeBlob("layer of a deleted image");
    long repository = database.write(c -> repositories.getOrCreate(c, "team/app"));
    long manifest = pushManifest(repository, "image", layer);

    GarbageCollectRun listed = run(Duration.ZERO, Duration.ZERO, false, false);
    assertThat(listed.linksPruned()).as("a manifest lists it").isZero();
    assertThat(state(layer)).isEqualTo(BlobState.LIVE);

    deleteManifest(manifest);
    GarbageCollectRun inGrace = run(Duration.ofHours(1), Duration.ZERO, false, false);
    assertThat(inGrace.linksPruned())
        .as("within the grace period of the release")
        .isZero();
    assertThat(linked("team/app", layer)).isTrue();

    GarbageCollectRun freed = run(Duration.ZERO, Duration.ofHours(1), false, false);
    assertThat(freed.linksPruned())
        .as("the upload's hold ended when the manifest was pushed")
        .isEqualTo(1);
    assertThat(freed.blobsDeleted()).isEqualTo(1);
    assertThat(freed.bytesFreed()).isEqualTo("layer of a deleted image".length());
    assertThat(store.stat(layer)).isEmpty();
  }

  @Test
  void aHeadAfterTheReleaseHoldsTheLinkForAClientAboutToPushAManifest() throws IOException {
    Digest layer = storeBlob("checked with HEAD");
    long repository = database.write(c -> repositories.getOrCreate(c, "team/app"));
    deleteManifest(pushManifest(repository, "old image", layer));
    // What BlobService.check does for a HEAD answered 200: the link's hold starts now.
    assertThat(database.write(
            (Connection c) -> blobs.touch(c, repository, layer, System.currentTimeMillis())))
        .isTrue();

    GarbageCollectRun held = run(Duration.ZERO, Duration.ofHours(1), false, false);
    assertThat(held.linksPruned()).isZero();
    assertThat(held.blobsDeleted()).isZero();
    assertThat(database.write((Connection c) -> blobs.markListed(c, repository, List.of(layer))))
        .as("the manifest the client then pushes finds the link")
        .isEmpty();

    deleteManifest(pushManifest(repository, "new image", layer));
    assertThat(run(Duration.ZERO, Duration.ofHours(1), false, false).blobsDeleted())
        .as("the new manifest consumed the hold; its deletion frees the layer")
        .isEqualTo(1);
  }

  @Test
  void aManifestListingTheBlobAfterAHoldConsumesItWhateverTheClocksSay() throws IOException {
    Digest layer = storeBlob("held by a node whose clock is ahead");
    long repository = database.write(c -> repositories.getOrCreate(c, "team/app"));
    deleteManifest(pushManifest(repository, "old image", layer));
    // A HEAD on a node 50 ms ahead (or within the millisecond of the old listing, which
    // touch() moves the hold past): the hold's time is later than the next listing's clock.
    long ahead = System.currentTimeMillis() + 50;
    assertThat(database.write((Connection c) -> blobs.touch(c, repository, layer, ahead)))
        .isTrue();

    deleteManifest(pushManifest(repository, "new image", layer));

    assertThat(run(Duration.ZERO, Duration.ofHours(1), false, false).blobsDeleted())
        .as("the manifest pushed after the HEAD consumed its hold")
        .isEqualTo(1);
  }

  @Test
  void aPrunedLinkCannotBeTouchedNorListed() throws IOException {
    Digest layer = storeBlob("pruned");
    long repository = database.write(c -> repositories.getOrCreate(c, "r"));
    link(repository, layer);
    run(Duration.ZERO, Duration.ZERO, false, false);

    assertThat(database.write(
            (Connection c) -> blobs.touch(c, repository, layer, System.currentTimeMillis())))
        .as("a HEAD that raced the prune answers 404")
        .isFalse();
    assertThat(database.write((Connection c) -> blobs.markListed(c, repository, List.of(layer))))
        .as("a manifest PUT that raced the prune gets MANIFEST_BLOB_UNKNOWN")
        .containsExactly(layer);
  }

  @Test
  void aLinkIsPrunedWhereNoManifestListsTheBlobWhileAnotherRepositoryKeepsIt() throws IOException {
    Digest shared = storeBlob("shared layer");
    long kept = database.write(c -> repositories.getOrCreate(c, "team/kept"));
    long deleted = database.write(c -> repositories.getOrCreate(c, "team/deleted"));
    pushManifest(kept, "kept image", shared);
    deleteManifest(pushManifest(deleted, "deleted image", shared));

    GarbageCollectRun run = run(Duration.ZERO, Duration.ofHours(1), false, false);

    assertThat(reported(run, "links")).containsExactly("team/deleted@" + shared);
    assertThat(run.blobsDeleted()).isZero();
    assertThat(linked("team/deleted", shared)).isFalse();
    assertThat(linked("team/kept", shared)).isTrue();
    assertThat(store.stat(shared)).isPresent();
  }

  @Test
  void aDryRunCountsTheBlobsThatPruningWouldFree() throws IOException {
    Digest freed = storeBlob("freed by pruning");
    Digest held = storeBlob("held");
    long repository = database.write(c -> repositories.getOrCreate(c, "team/app"));
    deleteManifest(pushManifest(repository, "gone", freed));
    link(repository, held);

    GarbageCollectRun dry = run(Duration.ZERO, Duration.ofHours(1), true, false);
    assertThat(linked("team/app", freed)).as("a dry run prunes nothing").isTrue();
    GarbageCollectRun real = run(Duration.ZERO, Duration.ofHours(1), false, false);

    for (String list : List.of("links", "blobs")) {
      assertThat(reported(dry, list)).as(list).isEqualTo(reported(real, list));
    }
    assertThat(real.linksPruned()).isEqualTo(1);
    assertThat(reported(real, "blobs")).containsExactly(freed.toString());
    assertThat(dry.bytesFreed()).isEqualTo(real.bytesFreed());
  }

  @Test
  void aProjectPolicyDeletesUntaggedManifestsInThatProjectOnly() {
    long inPolicy = database.write(c -> repositories.getOrCreate(c, "ci/builds"));
    long oneComponent = database.write(c -> repositories.getOrCreate(c, "alpine"));
    long elsewhere = database.write(c -> repositories.getOrCreate(c, "team/app"));
    database.write(c -> manifests.insertIfAbsent(c, inPolicy, manifest("a", List.of(), List.of())));
    database.write(
        c -> manifests.insertIfAbsent(c, oneComponent, manifest("b", List.of(), List.of())));
    database.write(
        c -> manifests.insertIfAbsent(c, elsewhere, manifest("c", List.of(), List.of())));
    GarbageCollectService service = service(Duration.ZERO);
    service.setDeletesUntagged("ci", true);
    service.setDeletesUntagged("library", true);
    service.setDeletesUntagged("team", true);
    service.setDeletesUntagged("team", false);

    GarbageCollectRun run = run(Duration.ZERO, false, false);

    assertThat(reported(run, "manifests"))
        .containsExactlyInAnyOrder(
            "ci/builds@" + manifest("a", List.of(), List.of()).digest(),
            "alpine@" + manifest("b", List.of(), List.of()).digest());
    assertThat(service.deletesUntagged("ci")).isTrue();
    assertThat(service.deletesUntagged("team")).isFalse();
    assertThat(service.deletesUntagged("never-set")).isFalse();
  }

  /** What a manifest push does to the links: upload (link), then the manifest lists them. */
  private long pushManifest(long repository, String seed, Digest layer) {
    link(repository, layer);
    return database.write(c -> {
      assertThat(blobs.markListed(c, repository, List.of(layer))).isEmpty();
      return manifests.insertIfAbsent(c, repository, manifest(seed, List.of(layer), List.of()));
    });
  }

  /** What a manifest DELETE does: release its blobs and links, then delete it. */
  private void deleteManifest(long manifest) {
    database.write(c -> {
      blobs.markUnreferencedByManifest(c, manifest);
      try (PreparedStatement p = c.prepareStatement("DELETE FROM manifests WHERE id = ?")) {
        p.setLong(1, manifest);
        p.executeUpdate();
      }
      return null;
    });
  }

  private boolean linked(String repository, Digest digest) {
    return database.read((Connection c) -> blobs.link(c, repository, digest)).isPresent();
  }

  // ---- helpers ----

  private Digest storeBlob(String content) {
    Digest digest = digest(content);
    try {
      writeKey(BlobStore.blobKey(digest), content);
    } catch (IOException e) {
      throw new UncheckedIOException(e);
    }
    database.write(c -> {
      blobs.insertOrRevive(c, digest, content.length());
      return null;
    });
    return digest;
  }

  private void link(long repository, Digest digest) {
    database.write(c -> blobs.link(c, repository, digest));
  }

  private void writeKey(String key, String content) throws IOException {
    try (BlobWriter writer = store.driver().writer(key, false)) {
      writer.write(ByteBuffer.wrap(content.getBytes(StandardCharsets.UTF_8)));
      writer.commit();
    }
  }

  private BlobState state(Digest digest) {
    return database.read(c -> dao.state(c, digest)).orElse(null);
  }

  private List<String> reported(GarbageCollectRun run, String list) {
    try {
      JsonNode report = JSON.readTree(run.report());
      List<String> values = new ArrayList<>();
      report.path(list).forEach(node -> values.add(node.asText()));
      return values;
    } catch (IOException e) {
      throw new UncheckedIOException(e);
    }
  }

  private long count(String sql) {
    return database.read((Connection c) -> {
      try (PreparedStatement p = c.prepareStatement(sql);
          ResultSet rs = p.executeQuery()) {
        rs.next();
        return rs.getLong(1);
      }
    });
  }

  private static NewManifest manifest(String seed, List<Digest> blobs, List<Digest> children) {
    byte[] content = content(seed);
    return new NewManifest(
        Digest.sha256(sha256(content)),
        MediaType.OCI_MANIFEST,
        null,
        null,
        null,
        content,
        blobs,
        children);
  }

  private static NewManifest manifestWithSubject(String seed, Digest subject) {
    byte[] content = content(seed);
    return new NewManifest(
        Digest.sha256(sha256(content)),
        MediaType.OCI_MANIFEST,
        "application/vnd.example.signature",
        subject,
        null,
        content,
        List.of(),
        List.of());
  }

  private static byte[] content(String seed) {
    return ("{\"schemaVersion\":2,\"mediaType\":\"" + MediaType.OCI_MANIFEST + "\",\"seed\":\""
            + seed + "\"}")
        .getBytes(StandardCharsets.UTF_8);
  }

  protected static Digest digest(String content) {
    return Digest.sha256(sha256(content.getBytes(StandardCharsets.UTF_8)));
  }

  private static byte[] sha256(byte[] bytes) {
    try {
      return MessageDigest.getInstance("SHA-256").digest(bytes);
    } catch (NoSuchAlgorithmException e) {
      throw new IllegalStateException(e);
    }
  }
}
