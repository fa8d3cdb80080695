package dev.berth.metadata;

import static org.assertj.core.api.Assertions.assertThat;

import dev.berth.gc.GarbageCollectDao;
import dev.berth.oci.Digest;
import dev.berth.oci.MediaType;
import dev.berth.testkit.PostgresServer;
import dev.berth.testkit.contract.GarbageCollectContract;
import java.nio.charset.StandardCharsets;
import java.security.MessageDigest;
import java.sql.Connection;
import java.sql.PreparedStatement;
import java.sql.ResultSet;
import java.time.Duration;
import java.util.List;
import java.util.Optional;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;
import org.junit.jupiter.api.Test;

/** Garbage collection on a real PostgreSQL, a new database for each test. */
class PostgresGarbageCollectTest extends GarbageCollectContract {
  private final PostgresServer server = PostgresServer.shared();
  private String url;

  @Override
  protected Database openDatabase() {
    url = server.createDatabase();
    return Database.open(url, PostgresServer.USER, PostgresServer.PASSWORD, 8);
  }

  @Override
  protected void cleanup() {
    server.dropDatabase(url);
  }

  /**
   * A link made (upload, mount, dedupe) while a collection prunes the repository's old link to
   * the same blob, in the prune's window between locking the row and deleting it: the link's
   * insert meets the locked row and does nothing, its refresh waits for the prune and then finds
   * no row. The link must exist afterwards, since the client is told 201 and may skip the upload
   * (PostgresS3GarbageCollectStressTest once saw a HEAD answer 404 after such a mount). Only
   * PostgreSQL interleaves the two; on SQLite writers take turns.
   */
  @Test
  void aLinkMadeWhileAPruneHoldsTheOldRowIsThereAfterThePrune() throws Exception {
    BlobDao blobs = new BlobDao();
    RepositoryDao repositories = new RepositoryDao();
    GarbageCollectDao dao = new GarbageCollectDao(blobs);
    Digest layer = digest("linked again while pruned");
    // Uploaded, then listed by a manifest that is gone: the link is prunable.
    long repository = database.write(c -> {
      blobs.insertOrRevive(c, layer, 5);
      long id = repositories.getOrCreate(c, "team/app");
      blobs.link(c, id, layer);
      assertThat(blobs.markListed(c, id, List.of(layer))).isEmpty();
      return id;
    });
    long hold = Duration.ofHours(1).toMillis();

    CountDownLatch locked = new CountDownLatch(1);
    CountDownLatch proceed = new CountDownLatch(1);
    boolean pruned;
    boolean linkedNew;
    try (ExecutorService threads = Executors.newFixedThreadPool(2)) {
      // GarbageCollectDao.pruneLink, stopped after its row lock (taking it again there is a no-op).
      Future<Boolean> prune = threads.submit(() -> database.write(c -> {
        try (PreparedStatement lock = c.prepareStatement(
            "SELECT 1 FROM repository_blobs WHERE repository_id = ? AND digest = ? FOR UPDATE")) {
          lock.setLong(1, repository);
          lock.setString(2, layer.toString());
          lock.executeQuery().close();
        }
        locked.countDown();
        await(proceed);
        long now = System.currentTimeMillis();
        return dao.pruneLink(c, repository, layer, now, now - hold);
      }));
      await(locked);
      Future<Boolean> link = threads.submit(() -> database.write(c -> {
        assertThat(blobs.lockLive(c, layer)).isPresent();
        return blobs.link(c, repository, layer);
      }));
      awaitAWaitForALock(link);
      proceed.countDown();

      pruned = prune.get(30, TimeUnit.SECONDS);
      linkedNew = link.get(30, TimeUnit.SECONDS);
    }
    Optional<BlobDao.Link> after = database.read(c -> blobs.link(c, "team/app", layer));
    assertThat(after).as("the link the client was told about").isPresent();
    assertThat(pruned).as("the old link was pruned").isTrue();
    assertThat(linkedNew).as("so the link is new").isTrue();
    assertThat(after.get().usedAt())
        .as("held: no manifest has listed the blob since")
        .isGreaterThan(after.get().listedAt());
  }

  /**
   * A manifest pushed by tag while a collection removes the same manifest (same repository and
   * digest) as untagged, in the removal's window between locking the row and deleting it. The
   * push's lookup ({@code ManifestDao.insertIfAbsent}) does not lock: it finds the locked row and
   * its tag's foreign-key check waits for the removal, which commits (the tag was not there when
   * it re-checked) and leaves the check no row: 23503. {@code PostgresConnections} runs the push
   * again, which finds the manifest absent and stores it anew, so the client's 201 is true.
   */
  @Test
  void aTagPushedWhileGarbageCollectionRemovesItsManifestPointsAtAStoredManifest()
      throws Exception {
    pushByTagWhileTheManifestIsRemoved(List.of());
  }

  /**
   * The same with a manifest that lists a blob. The push has updated the link (and locked it)
   * before its tag waits for the removal, and the removal then waits for the link to release
   * the blob: PostgreSQL breaks the deadlock (40P01, after {@code deadlock_timeout}) and whichever
   * side it aborts runs again: a push sees the manifest gone and stores it anew, a removal sees
   * the tag and keeps the manifest. Either way the tag resolves.
   */
  @Test
  void aTagPushedWhileGarbageCollectionRemovesItsManifestListingABlobPointsAtAStoredManifest()
      throws Exception {
    pushByTagWhileTheManifestIsRemoved(List.of(digest("a layer of a manifest being removed")));
  }

  private void pushByTagWhileTheManifestIsRemoved(List<Digest> layers) throws Exception {
    BlobDao blobs = new BlobDao();
    RepositoryDao repositories = new RepositoryDao();
    ManifestDao manifests = new ManifestDao();
    TagDao tags = new TagDao();
    GarbageCollectDao dao = new GarbageCollectDao(blobs);
    byte[] content = "{\"schemaVersion\":2,\"seed\":\"pushed again while removed\"}"
        .getBytes(StandardCharsets.UTF_8);
    NewManifest row = new NewManifest(
        Digest.sha256(MessageDigest.getInstance("SHA-256").digest(content)),
        MediaType.OCI_MANIFEST,
        null,
        null,
        null,
        content,
        layers,
        List.of());
    // Pushed by digest, never tagged: an untagged manifest a deleteUntagged run removes.
    long repository = database.write(c -> {
      long id = repositories.getOrCreate(c, "team/app");
      for (Digest layer : layers) {
        blobs.insertOrRevive(c, layer, 5);
        blobs.link(c, id, layer);
      }
      assertThat(blobs.markListed(c, id, layers)).isEmpty();
      manifests.insertIfAbsent(c, id, row);
      return id;
    });
    long old = database.read(c -> manifests.findId(c, repository, row.digest())).getAsLong();

    CountDownLatch locked = new CountDownLatch(1);
    CountDownLatch proceed = new CountDownLatch(1);
    AtomicInteger removals = new AtomicInteger();
    AtomicInteger pushes = new AtomicInteger();
    boolean removed;
    try (ExecutorService threads = Executors.newFixedThreadPool(2)) {
      // GarbageCollectDao.deleteUntaggedManifest, stopped after its row lock on the first attempt
      // (taking it again there is a no-op).
      Future<Boolean> removal = threads.submit(() -> database.write(c -> {
        if (removals.incrementAndGet() == 1) {
          try (PreparedStatement lock =
              c.prepareStatement("SELECT 1 FROM manifests WHERE id = ? FOR UPDATE")) {
            lock.setLong(1, old);
            lock.executeQuery().close();
          }
          locked.countDown();
          await(proceed);
        }
        return dao.deleteUntaggedManifest(c, old, System.currentTimeMillis());
      }));
      await(locked);
      // The transaction of ManifestService.put, by tag.
      Future<Long> push = threads.submit(() -> database.write(c -> {
        pushes.incrementAndGet();
        assertThat(blobs.markListed(c, repository, layers)).isEmpty();
        long id = manifests.insertIfAbsent(c, repository, row);
        tags.put(c, repository, "latest", id);
        return id;
      }));
      awaitAWaitForALock(push);
      proceed.countDown();

      removed = removal.get(30, TimeUnit.SECONDS);
      push.get(30, TimeUnit.SECONDS);
    }
    Optional<StoredManifest> tagged =
        database.read(c -> manifests.findByTag(c, "team/app", "latest", true));
    assertThat(tagged).as("the manifest the client was told is tagged").isPresent();
    assertThat(tagged.get().digest()).isEqualTo(row.digest());
    assertThat(tagged.get().content()).isEqualTo(content);
    assertThat(tagged.get().id() == old)
        .as(
            "kept if and only if the removal gave way (removed: %s, push attempts: %s,"
                + " removal attempts: %s)",
            removed, pushes.get(), removals.get())
        .isEqualTo(!removed);
    if (removed) {
      // Stored anew: by the same attempt (its push-time update found the row gone) or by a
      // second one (after a deadlock with the removal); either way a new row.
      List<Digest> listed = database.read(c -> {
        try (PreparedStatement p = c.prepareStatement(
            "SELECT digest FROM manifest_blobs WHERE manifest_id = ? ORDER BY digest")) {
          p.setLong(1, tagged.get().id());
          List<Digest> digests = new java.util.ArrayList<>();
          try (ResultSet rs = p.executeQuery()) {
            while (rs.next()) {
              digests.add(Digest.parse(rs.getString(1)));
            }
          }
          return digests;
        }
      });
      assertThat(listed).as("the new row lists the layers again").containsExactlyElementsOf(layers);
    }
    if (layers.isEmpty()) {
      assertThat(removed).as("no deadlock: the removal commits first").isTrue();
    }
  }

  private static void await(CountDownLatch latch) {
    try {
      assertThat(latch.await(30, TimeUnit.SECONDS)).isTrue();
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
      throw new IllegalStateException(e);
    }
  }

  /** Until a session of this database waits for a row lock (the link's statements). */
  private void awaitAWaitForALock(Future<?> link) throws Exception {
    long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(30);
    while (!waitingForALock()) {
      assertThat(link.isDone())
          .as("the link finished without waiting for the prune")
          .isFalse();
      assertThat(System.nanoTime()).as("a wait for the row lock").isLessThan(deadline);
      Thread.sleep(10);
    }
  }

  private boolean waitingForALock() {
    return database.read((Connection c) -> {
      try (PreparedStatement p = c.prepareStatement("SELECT COUNT(*) FROM pg_stat_activity"
              + " WHERE datname = current_database() AND wait_event_type = 'Lock'");
          ResultSet rs = p.executeQuery()) {
        rs.next();
        return rs.getLong(1) > 0;
      }
    });
  }
}
