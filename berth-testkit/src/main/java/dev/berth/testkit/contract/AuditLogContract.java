package dev.berth.testkit.contract;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import dev.berth.audit.ActorType;
import dev.berth.audit.AuditAction;
import dev.berth.audit.AuditActor;
import dev.berth.audit.AuditEvent;
import dev.berth.audit.AuditFilter;
import dev.berth.audit.AuditKey;
import dev.berth.audit.AuditLog;
import dev.berth.audit.AuditOutcome;
import dev.berth.audit.AuditQuery;
import dev.berth.audit.AuditRecord;
import dev.berth.audit.AuditVerification;
import dev.berth.audit.AuditVerifier;
import dev.berth.audit.ChainHash;
import dev.berth.audit.PurgeAuditLogJob;
import dev.berth.metadata.Database;
import dev.berth.oci.ErrorCode;
import dev.berth.oci.RegistryException;
import java.sql.PreparedStatement;
import java.sql.ResultSet;
import java.sql.Statement;
import java.time.Clock;
import java.time.Duration;
import java.time.Instant;
import java.time.ZoneOffset;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.CyclicBarrier;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

/**
 * The audit log over a metadata backend (decision 013): records commit with their transaction,
 * the chain stays one line under concurrent appends (from several nodes where the backend has
 * them), pulls are batched off the caller's thread and flushed on close, a full queue drops and
 * counts, queries filter and page with bound parameters only, retention keeps the chain
 * verifiable, and the verifier names the first edited, inserted or deleted record.
 *
 * <p>A backend passes by subclassing with {@link #openDatabase()} (a new, empty, migrated
 * database) and, where several processes can share it, {@link #openNode()}. After each test the
 * suite checks that a write and a read still complete.
 */
public abstract class AuditLogContract {
  private static final Instant T0 = Instant.parse("2026-03-01T12:00:00Z");
  private static final AuditKey KEY = AuditKey.of("contract-checkpoint-key-0123456789");

  protected Database database;
  private final List<Database> nodes = new ArrayList<>();
  private final List<AuditLog> logs = new ArrayList<>();
  private final Clock clock = Clock.fixed(T0, ZoneOffset.UTC);

  protected abstract Database openDatabase();

  /** Another node on the same data (PostgreSQL); SQLite has one process, so the same database. */
  protected Database openNode() {
    return database;
  }

  protected void cleanup() {}

  @BeforeEach
  final void open() {
    database = openDatabase();
  }

  @AfterEach
  final void checkNothingLeftBehind() throws Exception {
    try {
      for (AuditLog log : logs) {
        log.close();
      }
      CompletableFuture<Boolean> probe = CompletableFuture.supplyAsync(() -> {
        database.write(c -> {
          try (Statement s = c.createStatement()) {
            s.execute("SELECT COUNT(*) FROM audit_log");
          }
          return null;
        });
        return database.isHealthy();
      });
      assertThat(probe.get(10, TimeUnit.SECONDS))
          .as("a write and a read complete after the test (no transaction or lock held)")
          .isTrue();
    } finally {
      try {
        for (Database node : nodes) {
          node.close();
        }
        database.close();
      } finally {
        cleanup();
      }
    }
  }

  private AuditLog log(Database on, AuditLog.Settings settings) {
    AuditLog log = new AuditLog(on, KEY, settings, clock);
    logs.add(log);
    return log;
  }

  private AuditLog log() {
    return log(database, AuditLog.Settings.DEFAULTS);
  }

  private Database node() {
    Database node = openNode();
    if (node != database) {
      nodes.add(node);
    }
    return node;
  }

  private static AuditEvent push(String actor, String repository, String tag, int minute) {
    return AuditEvent.of(AuditAction.MANIFEST_PUSH, ActorType.USER, actor, AuditOutcome.SUCCESS)
        .withTime(T0.plus(Duration.ofMinutes(minute)))
        .withSource("192.0.2.10", "containerd/1.7")
        .withResource(
            repository.substring(0, repository.indexOf('/')),
            repository,
            tag,
            "sha256:" + "ab".repeat(32));
  }

  private AuditVerification verify() {
    return new AuditVerifier(database, Optional.of(KEY)).verify();
  }

  private void sql(String statement) {
    database.write(c -> {
      try (Statement s = c.createStatement()) {
        s.executeUpdate(statement);
      }
      return null;
    });
  }

  private AuditLog fiveRecords(int checkpointInterval) {
    AuditLog log = log(database, new AuditLog.Settings(checkpointInterval, 100));
    for (int i = 1; i <= 5; i++) {
      log.record(push("alice", "library/alpine", "v" + i, i));
    }
    return log;
  }

  // --- appending -------------------------------------------------------------------------------

  @Test
  void recordsAreAppendedInOrderAndReadBack() {
    AuditLog log = log();
    AuditRecord first = log.record(push("alice", "library/alpine", "3.20", 1));
    AuditRecord second = log.record(push("bob", "team/app", "v1", 2));

    assertThat(first.id()).isEqualTo(1);
    assertThat(first.prevHash()).isEqualTo(ChainHash.GENESIS);
    assertThat(second.id()).isEqualTo(2);
    assertThat(second.prevHash()).isEqualTo(first.hash());
    List<AuditRecord> all = new AuditQuery(database).all(AuditFilter.ALL);
    assertThat(all).containsExactly(second, first);
    assertThat(all.getLast().event().userAgent()).isEqualTo("containerd/1.7");
    assertThat(verify().intact()).isTrue();
  }

  @Test
  void aRecordCommitsWithItsChangeOrNotAtAll() {
    AuditLog log = log();
    assertThatThrownBy(() -> database.write(c -> {
          log.record(c, push("alice", "library/alpine", "gone", 1));
          throw new RegistryException(ErrorCode.MANIFEST_INVALID, "the change fails");
        }))
        .isInstanceOf(RegistryException.class);
    assertThat(new AuditQuery(database).all(AuditFilter.ALL)).isEmpty();

    AuditRecord kept =
        database.write(c -> log.record(c, push("alice", "library/alpine", "kept", 2)));
    assertThat(kept.id()).as("the rolled-back record left no gap").isEqualTo(1);
    assertThat(verify().intact()).isTrue();
  }

  @Test
  void eightThreadsAppendingKeepOneChain() throws Exception {
    AuditLog first = log();
    AuditLog second = log(node(), AuditLog.Settings.DEFAULTS);
    int threads = 8;
    int each = 40;
    CyclicBarrier start = new CyclicBarrier(threads);
    List<Future<?>> futures = new ArrayList<>();
    try (ExecutorService executor = Executors.newFixedThreadPool(threads)) {
      for (int t = 0; t < threads; t++) {
        int thread = t;
        AuditLog log = t % 2 == 0 ? first : second;
        futures.add(executor.submit(() -> {
          start.await(10, TimeUnit.SECONDS);
          for (int i = 0; i < each; i++) {
            log.record(push("user" + thread, "library/alpine", "t" + thread + "-" + i, i));
          }
          return null;
        }));
      }
      for (Future<?> future : futures) {
        future.get(60, TimeUnit.SECONDS);
      }
    }
    AuditVerification result = verify();
    assertThat(result.describe()).startsWith("intact");
    assertThat(result.records()).isEqualTo(threads * each);
    List<AuditRecord> all = new AuditQuery(database).all(AuditFilter.ALL);
    assertThat(all).extracting(AuditRecord::id).first().isEqualTo((long) threads * each);
  }

  @Test
  void aCheckpointIsSignedEveryIntervalAndOnClose() {
    AuditLog log = log(database, new AuditLog.Settings(2, 100));
    for (int i = 1; i <= 5; i++) {
      log.record(push("alice", "library/alpine", "v" + i, i));
    }
    assertThat(checkpointIds()).containsExactly(2L, 4L);
    log.close();
    assertThat(checkpointIds()).containsExactly(2L, 4L, 5L);
    AuditVerification result = verify();
    assertThat(result.intact()).isTrue();
    assertThat(result.checkpoints()).isEqualTo(3);
  }

  @Test
  void anotherKeyIsRefused() {
    log().record(push("alice", "library/alpine", "v1", 1));
    assertThatThrownBy(() -> new AuditLog(
            database, AuditKey.of("some-other-key-0123456789"), AuditLog.Settings.DEFAULTS, clock))
        .isInstanceOf(IllegalStateException.class)
        .hasMessageContaining("audit.checkpoint-key");
  }

  // --- pulls, asynchronously ---------------------------------------------------------------------

  @Test
  void pullsAreWrittenOffTheCallersThreadAndFlushedOnClose() {
    AuditLog log = log(database, new AuditLog.Settings(1000, 500));
    for (int i = 0; i < 300; i++) {
      assertThat(log.recordAsync(pull(i))).isTrue();
    }
    log.close();
    assertThat(log.dropped()).isZero();
    Map<String, Integer> expected = new HashMap<>();
    for (int i = 0; i < 300; i++) {
      expected.put("docker/27 client-" + i, 1);
    }
    assertThat(pullsByClient(
            new AuditQuery(database).all(AuditFilter.ALL.withAction(AuditAction.MANIFEST_PULL))))
        .isEqualTo(expected);
    assertThat(verify().intact()).isTrue();
    assertThat(log.recordAsync(pull(0))).as("after close").isFalse();
    assertThat(log.dropped()).isEqualTo(1);
  }

  @Test
  void aPullNotedOnTheRequestPathIsRecordedAsItsEvent() {
    AuditLog log = log(database, new AuditLog.Settings(1000, 500));
    AuditActor actor = new AuditActor(ActorType.USER, "alice", "198.51.100.9", "skopeo/1.13");
    String digest = "sha256:" + "ab".repeat(32);
    Instant before = Instant.ofEpochMilli(System.currentTimeMillis());
    assertThat(log.recordPull(actor, "library", "library/alpine", "latest", digest))
        .isTrue();
    Instant after = Instant.ofEpochMilli(System.currentTimeMillis());
    log.close();

    AuditRecord record = new AuditQuery(database)
        .all(AuditFilter.ALL.withAction(AuditAction.MANIFEST_PULL))
        .getFirst();
    assertThat(record.event().time()).isBetween(before, after);
    assertThat(record.event())
        .isEqualTo(actor.event(
            record.event().time(),
            AuditAction.MANIFEST_PULL,
            AuditOutcome.SUCCESS,
            "library",
            "library/alpine",
            "latest",
            digest));
    assertThat(verify().intact()).isTrue();
  }

  @Test
  void pullsQueuedOverSeveralFoldsOfOneBatchAreOneRecord() throws Exception {
    // The writer folds what has queued every 50 ms and commits after a second: three clients
    // 150 ms apart are one batch, so one record listing the three (decision 017, session 7).
    AuditLog log = log(database, new AuditLog.Settings(1000, 500));
    String digest = "sha256:" + "ab".repeat(32);
    for (int i = 0; i < 3; i++) {
      AuditActor client = new AuditActor(ActorType.ANONYMOUS, "", "198.51.100.9", "client-" + i);
      assertThat(log.recordPull(client, "library", "library/alpine", "latest", digest))
          .isTrue();
      Thread.sleep(150);
    }
    AuditQuery query = new AuditQuery(database);
    AuditFilter pulls = AuditFilter.ALL.withAction(AuditAction.MANIFEST_PULL);
    long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(5);
    while (query.all(pulls).isEmpty() && System.nanoTime() < deadline) {
      Thread.sleep(20);
    }
    // Written without close (which would write whatever is queued as one batch anyway).
    assertThat(query.all(pulls)).singleElement().satisfies(record -> {
      assertThat(record.event().detail()).containsEntry(AuditLog.COUNT, "3");
      assertThat(AuditLog.pulls(record.event()))
          .extracting(AuditLog.Pulls::userAgent)
          .containsExactly("client-0", "client-1", "client-2");
    });
    log.close();
    assertThat(verify().intact()).isTrue();
  }

  @Test
  void aFullQueueDropsAndCountsInsteadOfBlocking() throws Exception {
    AuditLog log = log(database, new AuditLog.Settings(1000, 10));
    CountDownLatch holding = new CountDownLatch(1);
    CountDownLatch release = new CountDownLatch(1);
    // A transaction holding the chain's head (and, on SQLite, the one writer) stalls the writer.
    CompletableFuture<AuditRecord> held = CompletableFuture.supplyAsync(() -> database.write(c -> {
      AuditRecord record = log.record(c, push("alice", "library/alpine", "held", 0));
      holding.countDown();
      try {
        release.await(20, TimeUnit.SECONDS);
      } catch (InterruptedException e) {
        Thread.currentThread().interrupt();
      }
      return record;
    }));
    try {
      assertThat(holding.await(10, TimeUnit.SECONDS)).isTrue();
      long started = System.nanoTime();
      int accepted = 0;
      for (int i = 0; i < 25; i++) {
        if (log.recordAsync(pull(i))) {
          accepted++;
        }
      }
      assertThat(Duration.ofNanos(System.nanoTime() - started))
          .as("never blocks")
          .isLessThan(Duration.ofSeconds(2));
      assertThat(accepted).isEqualTo(10);
      assertThat(log.dropped()).isEqualTo(15);
    } finally {
      release.countDown();
    }
    held.get(20, TimeUnit.SECONDS);
    log.close();
    List<AuditRecord> records = new AuditQuery(database).all(AuditFilter.ALL);
    assertThat(records)
        .filteredOn(r -> r.event().action() == AuditAction.MANIFEST_PUSH)
        .hasSize(1);
    assertThat(
            pullsByClient(records).values().stream().mapToInt(Integer::intValue).sum())
        .as("pulls on record")
        .isEqualTo(10);
    assertThat(verify().intact()).isTrue();
  }

  /**
   * How many pulls of each client (user agent) the pull records among {@code records} stand for,
   * whether a record is one pull, repeats of one, or pulls of several clients.
   */
  private static Map<String, Integer> pullsByClient(List<AuditRecord> records) {
    Map<String, Integer> pulls = new HashMap<>();
    for (AuditRecord record : records) {
      if (record.event().action() == AuditAction.MANIFEST_PULL) {
        for (AuditLog.Pulls entry : AuditLog.pulls(record.event())) {
          pulls.merge(entry.userAgent(), entry.count(), Integer::sum);
        }
      }
    }
    return pulls;
  }

  /** Pull {@code i}: a client of its own (user agent). */
  private static AuditEvent pull(int i) {
    return repeatedPull(i).withSource("198.51.100.7", "docker/27 client-" + i);
  }

  /** Pull {@code i} of one client: identical to the others but for its time. */
  private static AuditEvent repeatedPull(int i) {
    return AuditEvent.of(AuditAction.MANIFEST_PULL, ActorType.ANONYMOUS, "", AuditOutcome.SUCCESS)
        .withTime(T0.plusMillis(i))
        .withSource("198.51.100.7", "docker/27")
        .withResource("library", "library/alpine", "latest", "sha256:" + "cd".repeat(32));
  }

  @Test
  void repeatedPullsAreCountedNotLostAndTheChainHolds() {
    AuditLog log = log(database, new AuditLog.Settings(1000, 5000));
    for (int i = 0; i < 2000; i++) {
      assertThat(log.recordAsync(repeatedPull(i))).isTrue();
    }
    assertThat(log.recordAsync(pull(5000))).isTrue();
    log.close();
    assertThat(log.dropped()).isZero();
    List<AuditRecord> records =
        new AuditQuery(database).all(AuditFilter.ALL.withAction(AuditAction.MANIFEST_PULL));
    long pulls = 0;
    for (AuditRecord record : records) {
      pulls += Long.parseLong(record.event().detail().getOrDefault(AuditLog.COUNT, "1"));
    }
    assertThat(pulls).as("pulls counted").isEqualTo(2001);
    // The writer gathers a batch for up to a second: 2,000 pulls queued at once are a few records.
    assertThat(records.size()).isBetween(1, 100);
    assertThat(pullsByClient(records))
        .isEqualTo(Map.of("docker/27", 2000, "docker/27 client-5000", 1));
    assertThat(verify().intact()).isTrue();
  }

  // --- queries ---------------------------------------------------------------------------------

  @Test
  void queriesFilterAndPageNewestFirst() {
    AuditLog log = log();
    log.record(push("alice", "library/alpine", "v1", 1));
    log.record(push("bob", "team/app", "v1", 2));
    log.record(AuditEvent.of(AuditAction.LOGIN, ActorType.USER, "bob", AuditOutcome.FAILURE)
        .withTime(T0.plus(Duration.ofMinutes(3))));
    log.record(push("alice", "team/app", "v2", 4));
    log.record(push("alice", "library/alpine", "v3", 5));
    AuditQuery query = new AuditQuery(database);

    assertThat(ids(query.page(AuditFilter.ALL, 0, 2))).containsExactly(5L, 4L);
    assertThat(ids(query.page(AuditFilter.ALL, 4, 2))).containsExactly(3L, 2L);
    assertThat(ids(query.page(AuditFilter.ALL, 2, 2))).containsExactly(1L);
    assertThat(ids(query.all(AuditFilter.ALL.withActor("alice")))).containsExactly(5L, 4L, 1L);
    assertThat(ids(query.all(AuditFilter.ALL.withProject("team")))).containsExactly(4L, 2L);
    assertThat(ids(query.all(AuditFilter.ALL.withRepository("library/alpine"))))
        .containsExactly(5L, 1L);
    assertThat(ids(query.all(AuditFilter.ALL.withAction(AuditAction.LOGIN)))).containsExactly(3L);
    assertThat(ids(query.all(AuditFilter.ALL.withOutcome(AuditOutcome.FAILURE))))
        .containsExactly(3L);
    assertThat(ids(query.all(AuditFilter.ALL
            .withFrom(T0.plus(Duration.ofMinutes(2)))
            .withTo(T0.plus(Duration.ofMinutes(4))))))
        .as("from inclusive, to exclusive")
        .containsExactly(3L, 2L);
    assertThat(ids(query.all(AuditFilter.ALL.withActor("alice").withProject("team"))))
        .containsExactly(4L);
  }

  @Test
  void sqlMetaCharactersAndLongValuesInFiltersAreHarmless() {
    AuditLog log = log();
    log.record(push("alice", "library/alpine", "v1", 1));
    log.record(push("o'brien\"; DROP TABLE audit_log; --", "library/alpine", "v2", 2));
    AuditQuery query = new AuditQuery(database);
    for (String hostile : List.of(
        "' OR '1'='1",
        "alice' --",
        "\"; DROP TABLE audit_log; --",
        "%",
        "_",
        "\\",
        "x".repeat(100_000))) {
      assertThat(query.all(AuditFilter.ALL.withActor(hostile))).as(hostile).isEmpty();
      assertThat(query.all(AuditFilter.ALL.withProject(hostile))).isEmpty();
      assertThat(query.all(AuditFilter.ALL.withRepository(hostile))).isEmpty();
    }
    assertThat(ids(query.all(AuditFilter.ALL.withActor("o'brien\"; DROP TABLE audit_log; --"))))
        .as("matched exactly, as data")
        .containsExactly(2L);
    assertThat(query.all(AuditFilter.ALL)).hasSize(2);
    assertThat(verify().intact()).isTrue();
  }

  // --- verification --------------------------------------------------------------------------

  @Test
  void anUntouchedChainIsIntact() {
    fiveRecords(2);
    AuditVerification result = verify();
    assertThat(result.intact()).isTrue();
    assertThat(result.records()).isEqualTo(5);
    assertThat(result.describe()).isEqualTo("intact: 5 records, 2 checkpoints");
  }

  @Test
  void theVerifierNamesAnEditedRecord() {
    fiveRecords(1000);
    sql("UPDATE audit_log SET actor_name = 'mallory' WHERE id = 3");

    AuditVerification.Problem problem = verify().problem().orElseThrow();
    assertThat(problem.recordId()).isEqualTo(3);
    assertThat(problem.kind()).isEqualTo(AuditVerification.Kind.EDITED);
  }

  @Test
  void theVerifierNamesAnInsertedRecord() {
    fiveRecords(1000);
    String hashOfTwo = hashOf(2);
    // Make room at 3 and insert a well-formed record linked to record 2, as a forger would.
    sql("UPDATE audit_log SET id = -id WHERE id >= 3");
    sql("UPDATE audit_log SET id = 1 - id WHERE id < 0");
    AuditEvent forged = push("mallory", "library/alpine", "forged", 3).withSource("", "");
    database.write(c -> {
      try (PreparedStatement p = c.prepareStatement("INSERT INTO audit_log (id, occurred_at,"
          + " actor_type, actor_name, source_address, user_agent, action, project, repository,"
          + " reference, digest, outcome, detail, prev_hash, hash)"
          + " VALUES (3, ?, 'user', 'mallory', '', '', 'manifest.push', 'library',"
          + " 'library/alpine', 'forged', ?, 'success', '{}', ?, ?)")) {
        p.setLong(1, forged.time().toEpochMilli());
        p.setString(2, forged.digest());
        p.setString(3, hashOfTwo);
        p.setString(4, ChainHash.hash(hashOfTwo, ChainHash.canonical(forged)));
        return p.executeUpdate();
      }
    });

    AuditVerification.Problem problem = verify().problem().orElseThrow();
    assertThat(problem.kind()).isEqualTo(AuditVerification.Kind.INSERTED);
    assertThat(problem.recordId()).isEqualTo(3);
  }

  @Test
  void theVerifierNamesADeletedRecord() {
    fiveRecords(1000);
    sql("DELETE FROM audit_log WHERE id = 3");

    AuditVerification.Problem problem = verify().problem().orElseThrow();
    assertThat(problem.recordId()).isEqualTo(3);
    assertThat(problem.kind()).isEqualTo(AuditVerification.Kind.DELETED);
    assertThat(verify().describe())
        .isEqualTo("broken at record 3 (deleted): record 3 is missing (deleted)");
  }

  @Test
  void theVerifierNamesTheNewestRecordDeleted() {
    fiveRecords(1000);
    sql("DELETE FROM audit_log WHERE id = 5");

    AuditVerification.Problem problem = verify().problem().orElseThrow();
    assertThat(problem.recordId()).isEqualTo(5);
    assertThat(problem.kind()).isEqualTo(AuditVerification.Kind.DELETED);
  }

  @Test
  void aChainRecomputedAfterAnEditFailsAtItsSignedCheckpoint() {
    fiveRecords(4);
    sql("UPDATE audit_log SET actor_name = 'mallory' WHERE id = 3");
    // Recompute the hashes from 3 on, the checkpoint's and the head's, without the key.
    Map<Long, AuditRecord> records = new java.util.HashMap<>();
    new AuditQuery(database).all(AuditFilter.ALL).forEach(r -> records.put(r.id(), r));
    String previous = hashOf(2);
    for (long id = 3; id <= 5; id++) {
      String hash = ChainHash.hash(previous, ChainHash.canonical(records.get(id).event()));
      sql("UPDATE audit_log SET prev_hash = '" + previous + "', hash = '" + hash + "' WHERE id = "
          + id);
      sql("UPDATE audit_checkpoints SET hash = '" + hash + "' WHERE record_id = " + id);
      previous = hash;
    }
    sql("UPDATE audit_chain SET last_hash = '" + previous + "'");

    assertThat(new AuditVerifier(database, Optional.empty()).verify().intact())
        .as("without the key, the recomputed hashes agree")
        .isTrue();
    AuditVerification.Problem problem = verify().problem().orElseThrow();
    assertThat(problem.kind()).isEqualTo(AuditVerification.Kind.SIGNATURE);
    assertThat(problem.recordId()).isEqualTo(4);
  }

  // --- retention -------------------------------------------------------------------------------

  @Test
  void retentionPurgesOldRecordsAndTheRestStillVerifies() {
    AuditLog log = log(database, new AuditLog.Settings(3, 100));
    for (int day = 0; day < 10; day++) {
      log.record(
          push("alice", "library/alpine", "d" + day, 0).withTime(T0.plus(Duration.ofDays(day))));
    }
    Clock later = Clock.fixed(T0.plus(Duration.ofDays(16)), ZoneOffset.UTC);
    PurgeAuditLogJob purge = new PurgeAuditLogJob(database, log, KEY, 10, later);

    assertThat(purge.purgeBefore(later.instant().minus(Duration.ofDays(10)))).isEqualTo(6);

    List<AuditRecord> left = new AuditQuery(database).all(AuditFilter.ALL);
    assertThat(ids(left)).containsExactly(11L, 10L, 9L, 8L, 7L);
    AuditRecord audited = left.getFirst();
    assertThat(audited.event().action()).isEqualTo(AuditAction.AUDIT_PURGE);
    assertThat(audited.event().actorType()).isEqualTo(ActorType.SYSTEM);
    assertThat(audited.event().detail()).containsEntry("deleted", "6");
    assertThat(verify().describe()).startsWith("intact: 5 records");

    assertThat(purge.purgeBefore(later.instant().minus(Duration.ofDays(10))))
        .as("a repeat finds nothing")
        .isZero();
    assertThat(verify().intact()).isTrue();

    sql("DELETE FROM audit_log WHERE id = 7");
    assertThat(verify().problem().orElseThrow().kind())
        .as("the oldest kept record is anchored")
        .isEqualTo(AuditVerification.Kind.DELETED);
  }

  @Test
  void thePurgeTaskRunsOnTheJobQueue() {
    AuditLog log = log();
    log.record(push("alice", "library/alpine", "old", 0));
    log.record(push("alice", "library/alpine", "new", 0).withTime(T0.plus(Duration.ofDays(20))));
    Clock later = Clock.fixed(T0.plus(Duration.ofDays(25)), ZoneOffset.UTC);
    PurgeAuditLogJob purge = new PurgeAuditLogJob(database, log, KEY, 10, later);
    dev.berth.jobs.sql.SqlJobQueue queue = new dev.berth.jobs.sql.SqlJobQueue(database, later);
    long id = queue.enqueue(dev.berth.jobs.NewJob.of(PurgeAuditLogJob.PURGE, "{}"));

    dev.berth.jobs.Worker worker = new dev.berth.jobs.Worker(
        queue, "node-1", purge.tasks(), later, dev.berth.jobs.Worker.Settings.DEFAULT);
    assertThat(worker.runOnce()).isTrue();

    dev.berth.jobs.Job job = queue.get(id).orElseThrow();
    assertThat(job.state()).isEqualTo(dev.berth.jobs.JobState.SUCCEEDED);
    assertThat(job.result()).hasValue("{\"deleted\":1}");
    assertThat(new AuditQuery(database).all(AuditFilter.ALL))
        .extracting(r -> r.event().action())
        .containsExactly(AuditAction.AUDIT_PURGE, AuditAction.MANIFEST_PUSH);
    assertThat(verify().intact()).isTrue();
  }

  @Test
  void aForgedAnchorIsCaught() {
    AuditLog log = fiveRecords(1000);
    new PurgeAuditLogJob(database, log, KEY, 1, clock)
        .purgeBefore(T0.plus(Duration.ofMinutes(3)).plusSeconds(1));
    assertThat(verify().intact()).isTrue();
    // Hide the purge of record 4 behind a rewritten anchor, without the key.
    String hashOfFour = hashOf(4);
    sql("DELETE FROM audit_log WHERE id = 4");
    sql("UPDATE audit_chain SET anchor_id = 4, anchor_hash = '" + hashOfFour + "'");

    AuditVerification.Problem problem = verify().problem().orElseThrow();
    assertThat(problem.kind()).isEqualTo(AuditVerification.Kind.SIGNATURE);
  }

  @Test
  void theRetentionScheduleIsDefinedOnlyWhenOn() {
    AuditLog log = log();
    dev.berth.jobs.Scheduler scheduler = new dev.berth.jobs.Scheduler(
        database,
        new dev.berth.jobs.sql.SqlJobQueue(database, clock),
        clock,
        Duration.ofSeconds(1));
    new PurgeAuditLogJob(database, log, KEY, 30, clock).schedule(scheduler);
    assertThat(scheduleNames()).contains(PurgeAuditLogJob.SCHEDULE);
    new PurgeAuditLogJob(database, log, KEY, 0, clock).schedule(scheduler);
    assertThat(scheduleNames()).doesNotContain(PurgeAuditLogJob.SCHEDULE);
    assertThat(new PurgeAuditLogJob(database, log, KEY, 30, clock).tasks())
        .containsKey(PurgeAuditLogJob.PURGE);
  }

  // --- helpers ---------------------------------------------------------------------------------

  private static List<Long> ids(List<AuditRecord> records) {
    return records.stream().map(AuditRecord::id).toList();
  }

  private String hashOf(long id) {
    return database.read(c -> {
      try (PreparedStatement p = c.prepareStatement("SELECT hash FROM audit_log WHERE id = ?")) {
        p.setLong(1, id);
        try (ResultSet rs = p.executeQuery()) {
          rs.next();
          return rs.getString(1);
        }
      }
    });
  }

  private List<Long> checkpointIds() {
    return database.read(c -> {
      List<Long> ids = new ArrayList<>();
      try (Statement s = c.createStatement();
          ResultSet rs = s.executeQuery("SELECT record_id FROM audit_checkpoints ORDER BY id")) {
        while (rs.next()) {
          ids.add(rs.getLong(1));
        }
      }
      return ids;
    });
  }

  private List<String> scheduleNames() {
    return database.read(c -> {
      List<String> names = new ArrayList<>();
      try (Statement s = c.createStatement();
          ResultSet rs = s.executeQuery("SELECT name FROM schedules")) {
        while (rs.next()) {
          names.add(rs.getString(1));
        }
      }
      return names;
    });
  }
}
