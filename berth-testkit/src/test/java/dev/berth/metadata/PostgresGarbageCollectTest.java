package dev.berth.metadata;

import static org.assertj.core.api.Assertions.assertThat;

import dev.berth.gc.GarbageCollectDao;
import dev.berth.oci.Digest;
import dev.berth.testkit.PostgresServer;
import dev.berth.testkit.contract.GarbageCollectContract;
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
