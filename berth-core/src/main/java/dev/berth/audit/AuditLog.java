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

  /** How often the pull writer folds what has queued into the batch it gathers. */
  private static final java.time.Duration FOLD = java.time.Duration.ofMillis(50);

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
    List<Supplier<AuditEvent>> drained = new ArrayList<>(Math.min(settings.pullBatchSize(), 1024));
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
      Coalescer batch = new Coalescer();
      try {
        batch.taken = 1;
        batch.add(first.get());
        gather(batch, drained);
        List<AuditEvent> records = batch.records();
        database.write(c -> append(c, records));
      } catch (RuntimeException e) {
        dropped.addAndGet(batch.taken);
        log.warn("audit: {} pull record(s) lost: {}", batch.taken, e.getMessage());
      } finally {
        gathering = false;
        pending.addAndGet(-batch.taken);
        drained.clear();
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
   * once {@value #PULLS} would pass {@link #PULLS_BUDGET} characters: the further clients and
   * resources of its pulls are the next record (its own first client and resource in its
   * columns), written right after it. Every pull is counted and every client and resource kept;
   * what is given up is the own millisecond of a pull that repeats another's client and
   * resource, within the batch's window (at most {@link #LINGER} plus a write). The columns the
   * query API filters on (actor, project, repository, action, outcome) hold for every pull of a
   * record, and its time is the first pull's, the others within the window.
   */
  static List<AuditEvent> coalesce(List<AuditEvent> batch) {
    Coalescer coalescer = new Coalescer();
    batch.forEach(coalescer::add);
    return coalescer.records();
  }

  /**
   * A batch being gathered, folded as its pulls arrive (see {@link #coalesce}): the writer keeps
   * each client and resource once, not each pull's event, so that a second's pulls do not stay
   * alive for the collector to copy.
   */
  private static final class Coalescer {
    /** In the order of each party's first pull. */
    private final Map<Party, PullGroup> groups = new LinkedHashMap<>();

    /** Events taken off the queue for this batch (the writer's count; pending until written). */
    private int taken;

    void add(AuditEvent event) {
      Party party = new Party(
          event.actorType(),
          event.actorName(),
          event.action(),
          event.project(),
          event.repository(),
          event.outcome(),
          event.detail());
      PullGroup group = groups.get(party);
      if (group == null) {
        groups.put(party, new PullGroup(event));
      } else {
        group.add(event);
      }
    }

    List<AuditEvent> records() {
      List<AuditEvent> records = new ArrayList<>(groups.size());
      for (PullGroup group : groups.values()) {
        group.records(records);
      }
      return records;
    }
  }

  private static int digits(long n) {
    return Long.toString(n).length();
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

  /** The pulls of one party in a batch: one record, or more when its list passes the budget. */
  private static final class PullGroup {
    private final Map<Pull, Repeats> pulls = new LinkedHashMap<>();
    /** The first pull: its actor, resource and detail are the records'. */
    private final AuditEvent own;

    private int count;
    private long earliest;
    private long last;

    PullGroup(AuditEvent first) {
      own = first;
      earliest = first.time().toEpochMilli();
      last = earliest;
      add(first);
    }

    void add(AuditEvent event) {
      // The record's own values, where equal, so that an entry keeps only what differs.
      Pull pull = new Pull(
          same(event.sourceAddress(), own.sourceAddress()),
          same(event.userAgent(), own.userAgent()),
          same(event.reference(), own.reference()),
          same(event.digest(), own.digest()));
      long millis = event.time().toEpochMilli();
      Repeats repeats = pulls.get(pull);
      if (repeats == null) {
        pulls.put(pull, new Repeats(millis));
      } else {
        repeats.add(millis);
      }
      count++;
      last = Math.max(last, millis);
      // Threads queue their pulls in about, not exactly, the order of their clocks.
      earliest = Math.min(earliest, millis);
    }

    private static String same(String value, String own) {
      return value.equals(own) ? own : value;
    }

    /**
     * Adds this group's records: one when its list fits {@link #PULLS_BUDGET}, else one per run of
     * entries that fits, each with its first entry's client and resource in the columns.
     */
    void records(List<AuditEvent> records) {
      if (count == 1) {
        records.add(own);
        return;
      }
      // Offsets are at most the group's span; counts are known.
      int offsetDigits = digits(last - earliest);
      List<Map.Entry<Pull, Repeats>> run = new ArrayList<>();
      Pull first = null;
      int length = 2;
      for (Map.Entry<Pull, Repeats> entry : pulls.entrySet()) {
        if (first == null) {
          first = entry.getKey();
        }
        int more = entryLength(entry.getKey(), first, offsetDigits, entry.getValue().count);
        if (!run.isEmpty() && length + more > PULLS_BUDGET) {
          records.add(record(first, run));
          run = new ArrayList<>();
          first = entry.getKey();
          length = 2;
          more = entryLength(first, first, offsetDigits, entry.getValue().count);
        }
        run.add(entry);
        length += more;
      }
      records.add(record(first, run));
    }

    private AuditEvent record(Pull first, List<Map.Entry<Pull, Repeats>> run) {
      long from = Long.MAX_VALUE;
      long to = Long.MIN_VALUE;
      int pullCount = 0;
      for (Map.Entry<Pull, Repeats> entry : run) {
        from = Math.min(from, entry.getValue().earliest);
        to = Math.max(to, entry.getValue().latest);
        pullCount += entry.getValue().count;
      }
      AuditEvent event = own.withTime(Instant.ofEpochMilli(from))
          .withSource(first.sourceAddress(), first.userAgent())
          .withResource(own.project(), own.repository(), first.reference(), first.digest());
      if (pullCount == 1) {
        return event;
      }
      Map<String, String> detail = new TreeMap<>(own.detail());
      detail.put(COUNT, Integer.toString(pullCount));
      detail.put(LAST, Instant.ofEpochMilli(to).toString());
      if (run.size() > 1) {
        detail.put(PULLS, entries(first, run, from));
      }
      return event.withDetail(detail);
    }

    private static String entries(Pull own, List<Map.Entry<Pull, Repeats>> run, long from) {
      StringWriter out = new StringWriter();
      try (JsonGenerator json = JSON.createGenerator(out)) {
        json.writeStartArray();
        for (Map.Entry<Pull, Repeats> entry : run) {
          Pull e = entry.getKey();
          json.writeStartArray();
          json.writeNumber(entry.getValue().earliest - from);
          json.writeNumber(entry.getValue().count);
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
     * An upper bound of one entry's characters in {@value #PULLS}: its offset (with as many
     * digits as the group's span) and count, {@code null} for a value that is the record's own,
     * each other string quoted with every character that JSON escapes counted as six, brackets
     * and commas. Close, so that records fill to their budget (a bound of ten digits a number
     * and every string counted filled them to about a third).
     */
    private static int entryLength(Pull e, Pull own, int offsetDigits, int count) {
      return 2
          + offsetDigits
          + digits(count)
          + 6
          + quotedUnlessSame(e.sourceAddress(), own.sourceAddress())
          + quotedUnlessSame(e.userAgent(), own.userAgent())
          + quotedUnlessSame(e.reference(), own.reference())
          + quotedUnlessSame(e.digest(), own.digest());
    }

    private static int quotedUnlessSame(String value, String own) {
      return value.equals(own) ? 4 : quoted(value);
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

  /** The pulls of one client and resource in a group: how many, the earliest and latest. */
  private static final class Repeats {
    private int count = 1;
    private long earliest;
    private long latest;

    Repeats(long millis) {
      this.earliest = millis;
      this.latest = millis;
    }

    void add(long millis) {
      count++;
      earliest = Math.min(earliest, millis);
      latest = Math.max(latest, millis);
    }
  }

  /**
   * Folds into {@code batch} the events that arrive within {@link #LINGER}, until half the bound
   * is pending or the log is closing, then whatever else is queued (up to the bound), so that a
   * steady stream of pulls costs a commit a second rather than one per pull or two (each commit
   * is a WAL sync on SQLite, and costs SQLite's readers their page cache). Half, so that pulls
   * keep being accepted while this batch is written.
   *
   * <p>The writer wakes every {@link #FOLD} to fold what has queued, rather than waiting on the
   * queue: a thread waiting on the queue is woken by every pull that joins it, thousands of times
   * a second under load (a context switch each, and a system call on the request's side;
   * measured as a fifth of the pull records' cost). {@link #recordAsync} wakes it once when half
   * the bound is pending. Folding as it goes, rather than once at the end, keeps a pull's event
   * alive for at most about {@link #FOLD}: under load the young-generation collections otherwise
   * copied a second's worth of pull events each time (measured as a third of the pull records'
   * remaining cost).
   *
   * @param drained a list to drain into, empty, left empty unless an event fails
   */
  private void gather(Coalescer batch, List<Supplier<AuditEvent>> drained) {
    long deadline = System.nanoTime() + LINGER.toNanos();
    gathering = true;
    while (!closing && pending.get() < half) {
      long left = deadline - System.nanoTime();
      if (left <= 0) {
        break;
      }
      LockSupport.parkNanos(this, Math.min(left, FOLD.toNanos()));
      if (Thread.interrupted()) {
        closing = true;
      }
      fold(batch, drained);
    }
    gathering = false;
    fold(batch, drained);
  }

  /** Takes what has queued, up to the batch size, into {@code batch}. */
  private void fold(Coalescer batch, List<Supplier<AuditEvent>> drained) {
    queue.drainTo(drained, settings.pullBatchSize() - batch.taken);
    batch.taken += drained.size();
    for (Supplier<AuditEvent> event : drained) {
      batch.add(event.get());
    }
    drained.clear();
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
