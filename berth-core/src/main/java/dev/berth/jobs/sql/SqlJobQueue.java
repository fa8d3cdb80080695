package dev.berth.jobs.sql;

import dev.berth.jobs.ClaimedJob;
import dev.berth.jobs.Job;
import dev.berth.jobs.JobFilter;
import dev.berth.jobs.JobQueue;
import dev.berth.jobs.JobState;
import dev.berth.jobs.Lease;
import dev.berth.jobs.NewJob;
import dev.berth.metadata.Database;
import dev.berth.metadata.Dialect;
import java.sql.Connection;
import java.sql.PreparedStatement;
import java.sql.ResultSet;
import java.sql.SQLException;
import java.time.Clock;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.Collection;
import java.util.List;
import java.util.Objects;
import java.util.Optional;

/**
 * The job queue in the metadata database ({@code jobs} table, migration V3), on SQLite and on
 * PostgreSQL.
 *
 * <p>One class for both, because they differ in one clause: the claim reads the oldest runnable
 * row and then updates it, in one {@link Database#write} transaction. On PostgreSQL, where several
 * nodes claim at once, the read is {@code … LIMIT 1 FOR UPDATE SKIP LOCKED}: a claimer locks the
 * row it takes and the others pass over it to the next one instead of queueing behind it. On SQLite
 * every write transaction runs alone on the one writer connection (decisions 002, 006), so the
 * plain read is already exclusive; SQLite has no row locks to ask for. Two classes would repeat
 * every other statement for that clause.
 *
 * <p>Times are the claiming node's clock (epoch millis): nodes are expected to run NTP, and a lease
 * is many seconds, not milliseconds.
 */
public final class SqlJobQueue implements JobQueue {
  private static final String COLUMNS =
      "id, type, payload, state, unique_key, attempts, max_attempts, run_after, lease_owner,"
          + " lease_expires_at, result, error, created_at, updated_at";

  private final Database database;
  private final Clock clock;

  public SqlJobQueue(Database database, Clock clock) {
    this.database = Objects.requireNonNull(database, "database");
    this.clock = Objects.requireNonNull(clock, "clock");
  }

  @Override
  public long enqueue(NewJob job) {
    return database.write(c -> enqueue(c, job));
  }

  /**
   * Enqueues on a connection inside the caller's transaction, so that the job commits (or not)
   * with the caller's other work: how {@link dev.berth.jobs.Scheduler} fires a schedule.
   */
  public long enqueue(Connection c, NewJob job) throws SQLException {
    // A job holding the same key may finish between the insert and the look-up: then try again.
    for (int attempt = 0; ; attempt++) {
      long now = clock.millis();
      try (PreparedStatement p = c.prepareStatement(
          "INSERT INTO jobs (type, payload, state, unique_key, attempts, max_attempts, run_after,"
              + " created_at, updated_at) VALUES (?, ?, 'queued', ?, 0, ?, ?, ?, ?)"
              + " ON CONFLICT DO NOTHING RETURNING id")) {
        p.setString(1, job.type());
        p.setString(2, job.payload());
        p.setString(3, job.uniqueKey().orElse(null));
        p.setInt(4, job.maxAttempts());
        p.setLong(5, job.runAfter().toEpochMilli());
        p.setLong(6, now);
        p.setLong(7, now);
        try (ResultSet rs = p.executeQuery()) {
          if (rs.next()) {
            return rs.getLong(1);
          }
        }
      }
      if (job.uniqueKey().isEmpty()) {
        throw new SQLException("job insert without a unique key conflicted");
      }
      try (PreparedStatement p = c.prepareStatement(
          "SELECT id FROM jobs WHERE unique_key = ? AND state IN ('queued', 'running')")) {
        p.setString(1, job.uniqueKey().get());
        try (ResultSet rs = p.executeQuery()) {
          if (rs.next()) {
            return rs.getLong(1);
          }
        }
      }
      if (attempt >= 3) {
        throw new SQLException(
            "job with unique key " + job.uniqueKey().get() + " keeps conflicting");
      }
    }
  }

  @Override
  public Optional<ClaimedJob> claim(String nodeId, Collection<String> types, Duration lease) {
    Objects.requireNonNull(nodeId, "nodeId");
    if (types.isEmpty()) {
      return Optional.empty();
    }
    requirePositive(lease);
    String typeList = String.join(", ", types.stream().map(t -> "?").toList());
    // Idle workers poll: look first with a read, which on SQLite does not queue on the one writer.
    boolean anything = database.read(c -> {
      try (PreparedStatement p =
          c.prepareStatement("SELECT 1 FROM jobs WHERE ((state = 'queued' AND run_after <= ?)"
              + " OR (state = 'running' AND lease_expires_at <= ?)) AND type IN ("
              + typeList
              + ") LIMIT 1")) {
        long now = clock.millis();
        p.setLong(1, now);
        p.setLong(2, now);
        int i = 3;
        for (String type : types) {
          p.setString(i++, type);
        }
        try (ResultSet rs = p.executeQuery()) {
          return rs.next();
        }
      }
    });
    if (!anything) {
      return Optional.empty();
    }
    return database.write(c -> {
      long now = clock.millis();
      expireLeases(c, now);
      String sql = "SELECT id FROM jobs WHERE state = 'queued' AND run_after <= ? AND type IN ("
          + typeList
          + ") ORDER BY id LIMIT 1"
          + (database.dialect() == Dialect.POSTGRES ? " FOR UPDATE SKIP LOCKED" : "");
      long id;
      try (PreparedStatement p = c.prepareStatement(sql)) {
        int i = 1;
        p.setLong(i++, now);
        for (String type : types) {
          p.setString(i++, type);
        }
        try (ResultSet rs = p.executeQuery()) {
          if (!rs.next()) {
            return Optional.<ClaimedJob>empty();
          }
          id = rs.getLong(1);
        }
      }
      long expires = now + lease.toMillis();
      try (PreparedStatement p = c.prepareStatement(
          "UPDATE jobs SET state = 'running', attempts = attempts + 1, lease_owner = ?,"
              + " lease_expires_at = ?, updated_at = ? WHERE id = ?")) {
        p.setString(1, nodeId);
        p.setLong(2, expires);
        p.setLong(3, now);
        p.setLong(4, id);
        p.executeUpdate();
      }
      Job job = find(c, id).orElseThrow(() -> new SQLException("claimed job " + id + " vanished"));
      return Optional.of(new ClaimedJob(
          job, new Lease(id, nodeId, job.attempts(), Instant.ofEpochMilli(expires))));
    });
  }

  /**
   * Running jobs whose lease has expired (their node died or stalled) go back to queued, or to
   * failed once they have had all their attempts. Run at the start of every claim, so a job is
   * taken over as soon as any node looks for work after its lease ran out.
   */
  private static void expireLeases(Connection c, long now) throws SQLException {
    try (PreparedStatement p = c.prepareStatement(
        "UPDATE jobs SET state = CASE WHEN attempts >= max_attempts THEN 'failed' ELSE 'queued' END,"
            + " error = 'lease of ' || lease_owner || ' expired during attempt '"
            + " || CAST(attempts AS VARCHAR(12)),"
            + " lease_expires_at = NULL, updated_at = ?"
            + " WHERE state = 'running' AND lease_expires_at <= ?")) {
      p.setLong(1, now);
      p.setLong(2, now);
      p.executeUpdate();
    }
  }

  @Override
  public Optional<Lease> heartbeat(Lease lease, Duration duration) {
    requirePositive(duration);
    return database.write(c -> {
      long now = clock.millis();
      long expires = now + duration.toMillis();
      try (PreparedStatement p =
          c.prepareStatement("UPDATE jobs SET lease_expires_at = ?, updated_at = ?"
              + " WHERE id = ? AND state = 'running' AND lease_owner = ? AND attempts = ?")) {
        p.setLong(1, expires);
        p.setLong(2, now);
        bindLease(p, 3, lease);
        return p.executeUpdate() == 1
            ? Optional.of(new Lease(
                lease.jobId(), lease.nodeId(), lease.attempt(), Instant.ofEpochMilli(expires)))
            : Optional.<Lease>empty();
      }
    });
  }

  @Override
  public boolean complete(Lease lease, String result) {
    Objects.requireNonNull(result, "result");
    return database.write(c -> {
      try (PreparedStatement p =
          c.prepareStatement("UPDATE jobs SET state = 'succeeded', result = ?, error = NULL,"
              + " lease_expires_at = NULL, updated_at = ?"
              + " WHERE id = ? AND state = 'running' AND lease_owner = ? AND attempts = ?")) {
        p.setString(1, result);
        p.setLong(2, clock.millis());
        bindLease(p, 3, lease);
        return p.executeUpdate() == 1;
      }
    });
  }

  @Override
  public Optional<JobState> fail(Lease lease, String error, Optional<Instant> retryAt) {
    Objects.requireNonNull(error, "error");
    Objects.requireNonNull(retryAt, "retryAt");
    return database.write(c -> {
      int attempts;
      int maxAttempts;
      try (PreparedStatement p = c.prepareStatement("SELECT attempts, max_attempts FROM jobs"
          + " WHERE id = ? AND state = 'running' AND lease_owner = ? AND attempts = ?"
          + database.dialect().forUpdate())) {
        bindLease(p, 1, lease);
        try (ResultSet rs = p.executeQuery()) {
          if (!rs.next()) {
            return Optional.<JobState>empty();
          }
          attempts = rs.getInt(1);
          maxAttempts = rs.getInt(2);
        }
      }
      JobState next =
          retryAt.isPresent() && attempts < maxAttempts ? JobState.QUEUED : JobState.FAILED;
      try (PreparedStatement p = c.prepareStatement(
          "UPDATE jobs SET state = ?, error = ?, run_after = ?, lease_expires_at = NULL,"
              + " updated_at = ? WHERE id = ?")) {
        long now = clock.millis();
        p.setString(1, next.column());
        p.setString(2, error);
        p.setLong(3, next == JobState.QUEUED ? retryAt.get().toEpochMilli() : now);
        p.setLong(4, now);
        p.setLong(5, lease.jobId());
        p.executeUpdate();
      }
      return Optional.of(next);
    });
  }

  /** {@link #get} on a connection inside the caller's transaction (it sees that transaction's jobs). */
  public Optional<Job> get(Connection c, long id) throws SQLException {
    return find(c, id);
  }

  @Override
  public Optional<Job> get(long id) {
    return database.read(c -> find(c, id));
  }

  @Override
  public List<Job> list(JobFilter filter, long afterId, int limit) {
    if (limit < 1) {
      throw new IllegalArgumentException("limit must be at least 1, got " + limit);
    }
    StringBuilder sql = new StringBuilder("SELECT " + COLUMNS + " FROM jobs WHERE id > ?");
    filter.type().ifPresent(t -> sql.append(" AND type = ?"));
    filter.state().ifPresent(s -> sql.append(" AND state = ?"));
    sql.append(" ORDER BY id LIMIT ?");
    return database.read(c -> {
      try (PreparedStatement p = c.prepareStatement(sql.toString())) {
        int i = 1;
        p.setLong(i++, afterId);
        if (filter.type().isPresent()) {
          p.setString(i++, filter.type().get());
        }
        if (filter.state().isPresent()) {
          p.setString(i++, filter.state().get().column());
        }
        p.setInt(i, limit);
        List<Job> jobs = new ArrayList<>();
        try (ResultSet rs = p.executeQuery()) {
          while (rs.next()) {
            jobs.add(job(rs));
          }
        }
        return jobs;
      }
    });
  }

  private static Optional<Job> find(Connection c, long id) throws SQLException {
    try (PreparedStatement p =
        c.prepareStatement("SELECT " + COLUMNS + " FROM jobs WHERE id = ?")) {
      p.setLong(1, id);
      try (ResultSet rs = p.executeQuery()) {
        return rs.next() ? Optional.of(job(rs)) : Optional.empty();
      }
    }
  }

  private static Job job(ResultSet rs) throws SQLException {
    long leaseExpiresAt = rs.getLong("lease_expires_at");
    Optional<Instant> leaseExpires =
        rs.wasNull() ? Optional.empty() : Optional.of(Instant.ofEpochMilli(leaseExpiresAt));
    return new Job(
        rs.getLong("id"),
        rs.getString("type"),
        rs.getString("payload"),
        JobState.ofColumn(rs.getString("state")),
        Optional.ofNullable(rs.getString("unique_key")),
        rs.getInt("attempts"),
        rs.getInt("max_attempts"),
        Instant.ofEpochMilli(rs.getLong("run_after")),
        Optional.ofNullable(rs.getString("lease_owner")),
        leaseExpires,
        Optional.ofNullable(rs.getString("result")),
        Optional.ofNullable(rs.getString("error")),
        Instant.ofEpochMilli(rs.getLong("created_at")),
        Instant.ofEpochMilli(rs.getLong("updated_at")));
  }

  private static void bindLease(PreparedStatement p, int first, Lease lease) throws SQLException {
    p.setLong(first, lease.jobId());
    p.setString(first + 1, lease.nodeId());
    p.setInt(first + 2, lease.attempt());
  }

  private static void requirePositive(Duration duration) {
    if (duration.isNegative() || duration.isZero()) {
      throw new IllegalArgumentException("a lease must be positive, got " + duration);
    }
  }
}
