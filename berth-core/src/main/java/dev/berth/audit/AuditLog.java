package dev.berth.audit;

import com.fasterxml.jackson.core.JsonFactory;
import com.fasterxml.jackson.core.JsonGenerator;
import com.fasterxml.jackson.core.JsonParser;
import com.fasterxml.jackson.core.JsonToken;
import dev.berth.metadata.Database;
import dev.berth.metadata.Dialect;
import java.io.IOException;
import java.io.StringWriter;
import java.io.UncheckedIOException;
import java.sql.Connection;
import java.sql.PreparedStatement;
import java.sql.ResultSet;
import java.sql.SQLException;
import java.time.Clock;
import java.time.Instant;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Objects;
import java.util.TreeMap;
import java.util.concurrent.ArrayBlockingQueue;
import java.util.concurrent.BlockingQueue;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.concurrent.atomic.AtomicLong;
import java.util.concurrent.locks.LockSupport;
import java.util.function.Supplier;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The append-only audit trail, a hash chain in the metadata database (decision 013).
 *
 * <ul>
 *   <li>{@link #record(Connection, AuditEvent)} appends inside the caller's transaction, so a
 *       push, a delete or a permission change commits together with its record or not at all.
 *       Call it last in the unit of work: it locks the chain's head row (on PostgreSQL {@code FOR
 *       UPDATE}; SQLite has one writer) until the commit, which keeps the chain one line across
 *       threads and nodes, and taking that lock last keeps lock order the same everywhere.
 *   <li>{@link #recordAsync} is for pulls, which must not wait: the event joins a bounded queue
 *       that one platform thread writes in batches (one transaction per batch, gathered for up
 *       to a second or until half the bound is queued); the pulls of one repository by one actor in
 *       a batch become one record that counts them and lists each client and resource ({@link
 *       #coalesce}, decision 017). At most {@code
 *       pullBatchSize} pull events are ever queued or being written, so a crash loses at most one
 *       batch; when that many are pending, a new one is dropped and counted ({@link #dropped})
 *       rather than making the request wait. {@link #close} writes what is queued.
 *   <li>Every {@code checkpointInterval} records, and on {@link #close}, the head's id and hash
 *       are signed ({@link AuditKey}) into {@code audit_checkpoints}; the head row itself carries a
 *       signature updated by every append.
 * </ul>
 */
public final class AuditLog implements AutoCloseable {
  private static final Logger log = LoggerFactory.getLogger(AuditLog.class);
  private static final long DROP_WARNING_INTERVAL_MILLIS = 10_000;
  /**
   * How long the pull writer waits for a batch to fill (see {@link #gather}). On SQLite a
   * commit makes each reader connection drop its page cache (the database changed), so commits at
   * pull rates slow the reads of every request; fewer commits, less of that (decision 013,
   * bench/sqlite/ReaderCacheBench.java).
   */
  private static final java.time.Duration LINGER = java.time.Duration.ofSeconds(1);

  /**
   * @param checkpointInterval records between signed checkpoints ({@code
   *     audit.checkpoint-interval})
   * @param pullBatchSize the most pull events queued or being written; a batch's size ({@code
   *     audit.pull-batch-size})
   */
  public record Settings(int checkpointInterval, int pullBatchSize) {
    public static final Settings DEFAULTS = new Settings(1000, 20_000);

    public Settings {
      if (checkpointInterval < 1) {
        throw new IllegalArgumentException(
            "audit.checkpoint-interval: must be at least 1, got " + checkpointInterval);
      }
      if (pullBatchSize < 1) {
        throw new IllegalArgumentException(
            "audit.pull-batch-size: must be at least 1, got " + pullBatchSize);
      }
    }
  }

  private final Database database;
  private final AuditKey key;
  private final Settings settings;
  private final Clock clock;
  /** Pull events, or pulls whose event the writer builds ({@link LatePull}). */
  private final BlockingQueue<Supplier<AuditEvent>> queue;
  /** Pull events queued or being written: never more than the batch size. */
  private final AtomicInteger pending = new AtomicInteger();

  private final AtomicLong dropped = new AtomicLong();
  private final AtomicLong lastDropWarning = new AtomicLong();
  private final Thread writer;
  /** Half the bound: a batch being gathered is written once this many are queued. */
  private final int half;
  /** The writer is lingering for a batch to fill (see {@link #gather}). */
  private volatile boolean gathering;

  private volatile boolean closing;

  /**
   * Opens the log on a migrated database and starts the pull writer.
   *
   * @throws IllegalStateException when the chain was signed with another key (naming {@code
   *     audit.checkpoint-key})
   */
  public AuditLog(Database database, AuditKey key, Settings settings, Clock clock) {
    this.database = Objects.requireNonNull(database, "database");
    this.key = Objects.requireNonNull(key, "key");
    this.settings = Objects.requireNonNull(settings, "settings");
    this.clock = Objects.requireNonNull(clock, "clock");
    this.queue = new ArrayBlockingQueue<>(settings.pullBatchSize());
    this.half = Math.max(1, settings.pullBatchSize() / 2);
    initialise();
    // A platform thread, not a virtual one: under a steady stream of requests the virtual-thread
    // scheduler's carriers are never idle, and a virtual writer woken by a timer or a commit
    // waited behind the requests for up to a second per wake-up, long enough for the queue to
    // fill and pull records to be dropped (measured at ~4,000 pulls/s; decision 017).
    this.writer = Thread.ofPlatform().daemon().name("berth-audit-writer").start(this::writePulls);
  }

  /**
   * Appends an event inside the caller's transaction; call it last in the unit of work.
   *
   * @return the record as it will be stored once the transaction commits
   */
  public AuditRecord record(Connection c, AuditEvent event) throws SQLException {
    return append(c, List.of(event)).getFirst();
  }

  /** Appends an event in a transaction of its own. */
  public AuditRecord record(AuditEvent event) {
    return database.write(c -> record(c, event));
  }

  /**
   * Queues a pull event to be recorded off the request path; never blocks.
   *
   * @return false when it was dropped (the queue is full or the log is closed)
   */
  public boolean recordAsync(AuditEvent event) {
    Objects.requireNonNull(event, "event");
    return enqueue(() -> event);
  }

  /**
   * Queues a successful manifest pull by {@code actor}, now, like {@link #recordAsync}; the event
   * is built by the writer thread, so that the request only notes the time and the values.
   *
   * @param digest the manifest's digest (its {@code toString()})
   * @return false when it was dropped (the queue is full or the log is closed)
   */
  public boolean recordPull(
      AuditActor actor, String project, String repository, String reference, Object digest) {
    return enqueue(
        new LatePull(System.currentTimeMillis(), actor, project, repository, reference, digest));
  }

  /** A pull noted on the request path; {@link #get} builds its event on the writer thread. */
  private record LatePull(
      long millis,
      AuditActor actor,
      String project,
      String repository,
      String reference,
      Object digest)
      implements Supplier<AuditEvent> {
    @Override
    public AuditEvent get() {
      return actor.event(
          Instant.ofEpochMilli(millis),
          AuditAction.MANIFEST_PULL,
          AuditOutcome.SUCCESS,
          project,
          repository,
          reference,
          String.valueOf(digest));
    }
  }

  private boolean enqueue(Supplier<AuditEvent> event) {
    int queued = closing ? 0 : pending.incrementAndGet();
    if (closing || queued > settings.pullBatchSize()) {
      if (!closing) {
        pending.decrementAndGet();
      }
      long count = dropped.incrementAndGet();
      long now = clock.millis();
      long last = lastDropWarning.get();
      if (now - last >= DROP_WARNING_INTERVAL_MILLIS && lastDropWarning.compareAndSet(last, now)) {
        log.warn(
            "audit: {} pull record(s) dropped so far ({}); raise audit.pull-batch-size if this"
                + " repeats",
            count,
            closing ? "the log is closed" : "the queue is full");
      }
      return false;
    }
    if (!queue.offer(event)) {
      // Cannot happen (the queue holds pullBatchSize and pending is counted first); be safe.
      pending.decrementAndGet();
      dropped.incrementAndGet();
      return false;
    }
    // While the writer gathers, nothing is being written: the pending pulls are the queued ones.
    if (queued >= half && gathering) {
      gathering = false;
      LockSupport.unpark(writer);
    }
    return true;
  }

  /** Pull events dropped since start (queue full, write failed, or after close). */
  public long dropped() {
    return dropped.get();
  }

  /** Pull events queued or being written now. */
  public int pendingPulls() {
    return pending.get();
  }

  /** Signs the head into {@code audit_checkpoints} unless it is already the last checkpoint. */
  public void checkpoint() {
    database.write(c -> {
      AuditRows.Chain chain = AuditRows.chain(c, Dialect.of(c).forUpdate());
      if (chain.lastId() == 0) {
        return null;
      }
      try (PreparedStatement p =
              c.prepareStatement("SELECT COALESCE(MAX(record_id), 0) FROM audit_checkpoints");
          ResultSet rs = p.executeQuery()) {
        rs.next();
        if (rs.getLong(1) >= chain.lastId()) {
          return null;
        }
      }
      insertCheckpoint(c, chain.lastId(), chain.lastHash());
      return null;
    });
  }

  /**
   * Writes the queued pull events, then signs a checkpoint; later {@link #recordAsync} calls are
   * dropped. Synchronous {@link #record} keeps working (the database is the caller's to close).
   */
  @Override
  public void close() {
    if (closing) {
      return;
    }
    closing = true;
    LockSupport.unpark(writer);
    try {
      writer.join();
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
    }
    try {
      checkpoint();
    } catch (RuntimeException e) {
      log.warn("audit: cannot sign the closing checkpoint: {}", e.getMessage());
    }
  }

  private void writePulls() {
    List<Supplier<AuditEvent>> batch = new ArrayList<>(Math.min(settings.pullBatchSize(), 1024));
    while (true) {
      Supplier<AuditEvent> first;
      try {
        first = queue.poll(100, TimeUnit.MILLISECONDS);
      } catch (InterruptedException e) {
        first = null;
        closing = true;
      }
      if (first == null) {
        if (closing && queue.isEmpty()) {
          return;
        }
        continue;
      }
      batch.add(first);
      gather(batch);
      try {
        List<AuditEvent> events = new ArrayList<>(batch.size());
        for (Supplier<AuditEvent> event : batch) {
          events.add(event.get());
        }
        List<AuditEvent> records = coalesce(events);
        database.write(c -> append(c, records));
      } catch (RuntimeException e) {
        dropped.addAndGet(batch.size());
        log.warn("audit: {} pull record(s) lost: {}", batch.size(), e.getMessage());
      } finally {
        pending.addAndGet(-batch.size());
        batch.clear();
      }
    }
  }

  /**
   * The pull records of a batch (decision 017): pulls by the same actor from the same repository
   * with the same outcome (and detail) are one record, at the earliest pull's time and in the
   * first one's place, with the first pull's client (source address, user agent) and resource
   * (reference, digest) in its columns. A record that stands for more than one pull has {@value
   * #COUNT} (how many) and {@value #LAST} (the latest one's time, ISO-8601) in its detail; when
   * they came from more than one client or named more than one reference or digest, it also has
   * {@value #PULLS}: each distinct client and resource with the time of its first pull and its
   * count (see {@link #PULLS}). Records keep the order of their first pull, and a record is full
   * once {@value #PULLS} would pass {@link #PULLS_BUDGET} characters (the next pulls start
   * another). Every pull is counted and every client and resource kept; what is given up is the
   * own millisecond of a pull that repeats another's client and resource, within the batch's
   * window (at most {@link #LINGER} plus a write). The columns the query API filters on (actor,
   * project, repository, action, outcome) hold for every pull of a record, and its time is the
   * first pull's, the others within the window.
   */
  static List<AuditEvent> coalesce(List<AuditEvent> batch) {
    if (batch.size() < 2) {
      return List.copyOf(batch);
    }
    Map<Party, PullGroup> open = new HashMap<>();
    List<PullGroup> groups = new ArrayList<>();
    for (AuditEvent event : batch) {
      Party party = new Party(
          event.actorType(),
          event.actorName(),
          event.action(),
          event.project(),
          event.repository(),
          event.outcome(),
          event.detail());
      PullGroup group = open.get(party);
      if (group == null || !group.add(event)) {
        group = new PullGroup(event);
        open.put(party, group);
        groups.add(group);
      }
    }
    if (groups.size() == batch.size()) {
      return List.copyOf(batch);
    }
    List<AuditEvent> records = new ArrayList<>(groups.size());
    for (PullGroup group : groups) {
      records.add(group.record());
    }
    return records;
  }

  /** Who pulled from where, and how it ended: what the pulls of one record share. */
  private record Party(
      ActorType actorType,
      String actorName,
      AuditAction action,
      String project,
      String repository,
      AuditOutcome outcome,
      Map<String, String> detail) {}

  /** Within a record: the client (address, {@code User-Agent}) and what it pulled. */
  private record Pull(String sourceAddress, String userAgent, String reference, String digest) {}

  /** Detail key of a pull record that stands for more than one pull: how many. */
  public static final String COUNT = "count";

  /** Detail key of a pull record that stands for more than one pull: the latest one's time. */
  public static final String LAST = "last";

  /**
   * Detail key of a pull record whose pulls came from more than one client or named more than one
   * reference or digest: a JSON array (as text) with one array per distinct client and resource,
   * in the order of their first pull: {@code [offset, count, sourceAddress, userAgent, reference,
   * digest]} — the first such pull in milliseconds after the record's time, how many (both
   * numbers), then strings as in the record's columns, or {@code null} where the value is the
   * record's own. The first entry is the record's own client and resource ({@code [0, n, null,
   * null, null, null]}).
   */
  public static final String PULLS = "pulls";

  /** The most characters of {@value #PULLS} in one record (syslog messages stay a few kB). */
  static final int PULLS_BUDGET = 4096;

  /**
   * One entry of a pull record: a client and resource, when it first pulled, how many times.
   *
   * @param time the first of these pulls
   */
  public record Pulls(
      Instant time,
      int count,
      String sourceAddress,
      String userAgent,
      String reference,
      String digest) {}

  /**
   * The pulls a record stands for, in the order of their first pull: the entries of its {@value
   * #PULLS}, or its own client and resource {@value #COUNT} times (once when it has no count).
   *
   * @throws IllegalArgumentException when {@value #PULLS} is not what {@link #coalesce} writes
   */
  public static List<Pulls> pulls(AuditEvent record) {
    String entries = record.detail().get(PULLS);
    if (entries == null) {
      int count = Integer.parseInt(record.detail().getOrDefault(COUNT, "1"));
      return List.of(new Pulls(
          record.time(),
          count,
          record.sourceAddress(),
          record.userAgent(),
          record.reference(),
          record.digest()));
    }
    List<Pulls> pulls = new ArrayList<>();
    try (JsonParser json = JSON.createParser(entries)) {
      expect(json, JsonToken.START_ARRAY);
      while (json.nextToken() == JsonToken.START_ARRAY) {
        long offset = number(json);
        int count = Math.toIntExact(number(json));
        String address = orOwn(json, record.sourceAddress());
        String agent = orOwn(json, record.userAgent());
        String reference = orOwn(json, record.reference());
        String digest = orOwn(json, record.digest());
        expect(json, JsonToken.END_ARRAY);
        pulls.add(
            new Pulls(record.time().plusMillis(offset), count, address, agent, reference, digest));
      }
      if (json.currentToken() != JsonToken.END_ARRAY || json.nextToken() != null) {
        throw new IllegalArgumentException("audit detail.pulls: trailing text");
      }
    } catch (IOException | ArithmeticException e) {
      throw new IllegalArgumentException("audit detail.pulls is malformed: " + e.getMessage(), e);
    }
    return pulls;
  }

  private static void expect(JsonParser json, JsonToken token) throws IOException {
    if (json.nextToken() != token) {
      throw new IllegalArgumentException(
          "audit detail.pulls: expected " + token + " at " + json.currentLocation());
    }
  }

  private static long number(JsonParser json) throws IOException {
    expect(json, JsonToken.VALUE_NUMBER_INT);
    return json.getLongValue();
  }

  private static String orOwn(JsonParser json, String own) throws IOException {
    JsonToken token = json.nextToken();
    if (token == JsonToken.VALUE_NULL) {
      return own;
    }
    if (token != JsonToken.VALUE_STRING) {
      throw new IllegalArgumentException(
          "audit detail.pulls: expected a string or null at " + json.currentLocation());
    }
    return json.getText();
  }

  private static final JsonFactory JSON = new JsonFactory();

  /** The pulls of one party that one record stands for. */
  private static final class PullGroup {
    private final Map<Pull, Repeats> pulls = new LinkedHashMap<>();
    private int count;
    private int length = 2;
    private Instant earliest;
    private Instant last;

    PullGroup(AuditEvent first) {
      earliest = first.time();
      last = first.time();
      add(first);
    }

    /** Adds a pull; false when it is a new entry that would take the record past the budget. */
    boolean add(AuditEvent event) {
      Pull pull =
          new Pull(event.sourceAddress(), event.userAgent(), event.reference(), event.digest());
      Repeats repeats = pulls.get(pull);
      if (repeats == null) {
        int more = entryLength(event);
        if (!pulls.isEmpty() && length + more > PULLS_BUDGET) {
          return false;
        }
        pulls.put(pull, new Repeats(event));
        length += more;
      } else {
        repeats.add(event);
      }
      count++;
      if (event.time().isAfter(last)) {
        last = event.time();
      }
      // Threads queue their pulls in about, not exactly, the order of their clocks.
      if (event.time().isBefore(earliest)) {
        earliest = event.time();
      }
      return true;
    }

    AuditEvent record() {
      AuditEvent own = pulls.values().iterator().next().first;
      if (count == 1) {
        return own;
      }
      Map<String, String> detail = new TreeMap<>(own.detail());
      detail.put(COUNT, Integer.toString(count));
      detail.put(LAST, last.toString());
      if (pulls.size() > 1) {
        detail.put(PULLS, entries(own));
      }
      return own.withTime(earliest).withDetail(detail);
    }

    private String entries(AuditEvent own) {
      StringWriter out = new StringWriter(length);
      try (JsonGenerator json = JSON.createGenerator(out)) {
        json.writeStartArray();
        for (Repeats repeats : pulls.values()) {
          AuditEvent e = repeats.first;
          json.writeStartArray();
          json.writeNumber(repeats.earliest.toEpochMilli() - earliest.toEpochMilli());
          json.writeNumber(repeats.count);
          writeUnlessSame(json, e.sourceAddress(), own.sourceAddress());
          writeUnlessSame(json, e.userAgent(), own.userAgent());
          writeUnlessSame(json, e.reference(), own.reference());
          writeUnlessSame(json, e.digest(), own.digest());
          json.writeEndArray();
        }
        json.writeEndArray();
      } catch (IOException e) {
        throw new UncheckedIOException(e);
      }
      return out.toString();
    }

    private static void writeUnlessSame(JsonGenerator json, String value, String own)
        throws IOException {
      if (value.equals(own)) {
        json.writeNull();
      } else {
        json.writeString(value);
      }
    }

    /**
     * An upper bound of one entry's characters in {@value #PULLS}: two numbers of at most 10
     * digits, each string quoted with every character that JSON escapes counted as six, brackets
     * and commas.
     */
    private static int entryLength(AuditEvent e) {
      return 2
          + 10
          + 10
          + 6
          + quoted(e.sourceAddress())
          + quoted(e.userAgent())
          + quoted(e.reference())
          + quoted(e.digest());
    }

    private static int quoted(String value) {
      int length = 2 + value.length();
      for (int i = 0; i < value.length(); i++) {
        char c = value.charAt(i);
        if (c < 0x20 || c == '"' || c == '\\') {
          length += 5;
        }
      }
      return length;
    }
  }

  /** The pulls of one client and resource in a record: the first, how many, the earliest time. */
  private static final class Repeats {
    private final AuditEvent first;
    private int count = 1;
    private Instant earliest;

    Repeats(AuditEvent first) {
      this.first = first;
      this.earliest = first.time();
    }

    void add(AuditEvent event) {
      count++;
      if (event.time().isBefore(earliest)) {
        earliest = event.time();
      }
    }
  }

  /**
   * Adds the events that arrive within {@link #LINGER}, until half the bound is queued or the log
   * is closing, then whatever else is queued (up to the bound), so that a steady stream of pulls
   * costs a few commits a second rather than one per pull or two (each commit is a WAL sync on
   * SQLite). Half, so that pulls keep being accepted while this batch is written.
   *
   * <p>The writer sleeps through the linger rather than waiting on the queue: a thread waiting on
   * the queue is woken by every pull that joins it, thousands of times a second under load (a
   * context switch each, and a system call on the request's side; measured as a fifth of the
   * pull records' cost). {@link #recordAsync} wakes it once when half the bound is queued.
   */
  private void gather(List<Supplier<AuditEvent>> batch) {
    long deadline = System.nanoTime() + LINGER.toNanos();
    gathering = true;
    while (!closing && pending.get() < half) {
      long left = deadline - System.nanoTime();
      if (left <= 0) {
        break;
      }
      LockSupport.parkNanos(this, left);
      if (Thread.interrupted()) {
        closing = true;
      }
    }
    gathering = false;
    queue.drainTo(batch, settings.pullBatchSize() - batch.size());
  }

  /** Appends events in order under the head's lock, in the caller's transaction. */
  private List<AuditRecord> append(Connection c, List<AuditEvent> events) throws SQLException {
    AuditRows.Chain chain = AuditRows.chain(c, Dialect.of(c).forUpdate());
    if (chain == null) {
      throw new SQLException("audit_chain has no head row");
    }
    long id = chain.lastId();
    String previous = chain.lastHash();
    List<AuditRecord> records = new ArrayList<>(events.size());
    try (PreparedStatement insert = c.prepareStatement("INSERT INTO audit_log ("
        + AuditRows.COLUMNS
        + ") VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)")) {
      for (AuditEvent e : events) {
        id++;
        String detail = e.detailJson();
        String hash = ChainHash.hash(previous, ChainHash.canonical(e, detail));
        insert.setLong(1, id);
        insert.setLong(2, e.time().toEpochMilli());
        insert.setString(3, e.actorType().label());
        insert.setString(4, e.actorName());
        insert.setString(5, e.sourceAddress());
        insert.setString(6, e.userAgent());
        insert.setString(7, e.action().label());
        insert.setString(8, e.project());
        insert.setString(9, e.repository());
        insert.setString(10, e.reference());
        insert.setString(11, e.digest());
        insert.setString(12, e.outcome().label());
        insert.setString(13, detail);
        insert.setString(14, previous);
        insert.setString(15, hash);
        if (events.size() == 1) {
          insert.executeUpdate();
        } else {
          insert.addBatch();
        }
        records.add(new AuditRecord(id, e, previous, hash));
        if (id % settings.checkpointInterval() == 0) {
          insertCheckpoint(c, id, hash);
        }
        previous = hash;
      }
      if (events.size() > 1) {
        insert.executeBatch();
      }
    }
    try (PreparedStatement p = c.prepareStatement(
        "UPDATE audit_chain SET last_id = ?, last_hash = ?, head_signature = ? WHERE id = 1")) {
      p.setLong(1, id);
      p.setString(2, previous);
      p.setString(3, key.sign(AuditKey.headText(id, previous)));
      p.executeUpdate();
    }
    return records;
  }

  private void insertCheckpoint(Connection c, long id, String hash) throws SQLException {
    try (PreparedStatement p = c.prepareStatement("INSERT INTO audit_checkpoints"
        + " (record_id, hash, signature, created_at) VALUES (?, ?, ?, ?)")) {
      p.setLong(1, id);
      p.setString(2, hash);
      p.setString(3, key.sign(AuditKey.checkpointText(id, hash)));
      p.setLong(4, clock.millis());
      p.executeUpdate();
    }
  }

  /** Creates the chain row on first use; refuses a key other than the chain's. */
  private void initialise() {
    String keyId = key.id();
    database.write(c -> {
      try (PreparedStatement p = c.prepareStatement("INSERT INTO audit_chain (id, last_id,"
          + " last_hash, head_signature, anchor_id, anchor_hash, anchor_signature, key_id)"
          + " VALUES (1, 0, ?, ?, 0, ?, '', ?) ON CONFLICT (id) DO NOTHING")) {
        p.setString(1, ChainHash.GENESIS);
        p.setString(2, key.sign(AuditKey.headText(0, ChainHash.GENESIS)));
        p.setString(3, ChainHash.GENESIS);
        p.setString(4, keyId);
        p.executeUpdate();
      }
      try (PreparedStatement p =
          c.prepareStatement("INSERT INTO audit_forwarding (id, last_id, lease_owner, lease_until)"
              + " VALUES (1, -1, NULL, 0) ON CONFLICT (id) DO NOTHING")) {
        p.executeUpdate();
      }
      AuditRows.Chain chain = AuditRows.chain(c, "");
      if (!chain.keyId().equals(keyId)) {
        throw new IllegalStateException("audit.checkpoint-key: the audit chain in this database"
            + " was signed with another key; every node must use the same key (set"
            + " audit.checkpoint-key, or copy "
            + AuditKey.FILE
            + " from the data directory of the node that started first)");
      }
      return null;
    });
  }
}
