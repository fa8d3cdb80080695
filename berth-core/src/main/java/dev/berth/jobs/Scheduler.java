package dev.berth.jobs;

import dev.berth.jobs.sql.SqlJobQueue;
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
import java.util.List;
import java.util.Objects;
import java.util.Optional;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.TimeUnit;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Fires the cluster's {@link Schedule}s: every node runs one scheduler loop, and each firing
 * enqueues exactly one job, whichever and however many nodes are up.
 *
 * <p>How: a firing is one transaction that claims the due rows of {@code schedules} exclusively
 * (on PostgreSQL {@code FOR UPDATE SKIP LOCKED}, so a node passes over a row another node is
 * firing; on SQLite the single writer makes the transaction exclusive), enqueues each one's job on
 * the same connection, and moves its {@code next_run_at} past now. A node that reads the row after
 * that commit finds it no longer due. So the job and the advance commit together or not at all: a
 * node dying mid-firing leaves the schedule due for the next node.
 *
 * <p>Missed periods are coalesced: a schedule due several intervals ago (every node was down)
 * fires once, and its next firing is the first point of its grid ({@code nextRunAt + k·interval})
 * after now, so the grid never drifts and a long outage does not release a burst of jobs.
 *
 * <p>The jobs go into a {@link SqlJobQueue} over the same database, which is what lets the enqueue
 * join the firing's transaction.
 */
public final class Scheduler implements AutoCloseable {
  private static final Logger log = LoggerFactory.getLogger(Scheduler.class);
  /** Rows fired per transaction; more due rows fire in the next pass. */
  private static final int BATCH = 100;

  private final Database database;
  private final SqlJobQueue queue;
  private final Clock clock;
  private final Duration pollInterval;
  /** Counted down by {@link #close}; the loop waits on it between passes, so a stop is prompt. */
  private final CountDownLatch stopping = new CountDownLatch(1);

  private Thread loop;

  public Scheduler(Database database, SqlJobQueue queue, Clock clock, Duration pollInterval) {
    this.database = Objects.requireNonNull(database, "database");
    this.queue = Objects.requireNonNull(queue, "queue");
    this.clock = Objects.requireNonNull(clock, "clock");
    this.pollInterval = Objects.requireNonNull(pollInterval, "pollInterval");
    if (pollInterval.isNegative() || pollInterval.isZero()) {
      throw new IllegalArgumentException("pollInterval must be positive, got " + pollInterval);
    }
  }

  /**
   * Defines a schedule, or updates its job and interval. Every node may call this at start-up with
   * the same values: the first definition sets the first firing to now + interval, and later ones
   * keep the firing time already agreed.
   */
  public Schedule define(String name, String jobType, String payload, Duration interval) {
    Instant first = clock.instant().plus(interval);
    // Validate before writing: the name and interval here, the type and JSON payload in NewJob.
    new Schedule(name, jobType, payload, interval, first);
    NewJob.of(jobType, payload);
    database.write(c -> {
      try (PreparedStatement p = c.prepareStatement(
          "INSERT INTO schedules (name, job_type, payload, interval_millis, next_run_at)"
              + " VALUES (?, ?, ?, ?, ?) ON CONFLICT (name) DO UPDATE SET"
              + " job_type = excluded.job_type, payload = excluded.payload,"
              + " interval_millis = excluded.interval_millis")) {
        p.setString(1, name);
        p.setString(2, jobType);
        p.setString(3, payload);
        p.setLong(4, interval.toMillis());
        p.setLong(5, first.toEpochMilli());
        return p.executeUpdate();
      }
    });
    return get(name).orElseThrow();
  }

  /** Removes a schedule; jobs it already enqueued stay. */
  public boolean remove(String name) {
    return database.write(c -> {
      try (PreparedStatement p = c.prepareStatement("DELETE FROM schedules WHERE name = ?")) {
        p.setString(1, name);
        return p.executeUpdate() == 1;
      }
    });
  }

  public Optional<Schedule> get(String name) {
    return database.read(c -> {
      try (PreparedStatement p = c.prepareStatement(
          "SELECT name, job_type, payload, interval_millis, next_run_at FROM schedules WHERE name = ?")) {
        p.setString(1, name);
        try (ResultSet rs = p.executeQuery()) {
          return rs.next() ? Optional.of(schedule(rs)) : Optional.<Schedule>empty();
        }
      }
    });
  }

  /** Every schedule, by name. */
  public List<Schedule> list() {
    return database.read(c -> {
      try (PreparedStatement p = c.prepareStatement(
          "SELECT name, job_type, payload, interval_millis, next_run_at FROM schedules ORDER BY name")) {
        List<Schedule> schedules = new ArrayList<>();
        try (ResultSet rs = p.executeQuery()) {
          while (rs.next()) {
            schedules.add(schedule(rs));
          }
        }
        return schedules;
      }
    });
  }

  /**
   * One pass: fires every schedule due now that no other node is firing.
   *
   * @return how many schedules this call fired
   */
  public int fireDue() {
    // Most passes find nothing due: look with a read first, which on SQLite leaves the writer be.
    boolean anyDue = database.read(c -> {
      try (PreparedStatement p =
          c.prepareStatement("SELECT 1 FROM schedules WHERE next_run_at <= ? LIMIT 1")) {
        p.setLong(1, clock.millis());
        try (ResultSet rs = p.executeQuery()) {
          return rs.next();
        }
      }
    });
    if (!anyDue) {
      return 0;
    }
    return database.write(c -> {
      long now = clock.millis();
      List<Schedule> due = new ArrayList<>();
      try (PreparedStatement p = c.prepareStatement(
          "SELECT name, job_type, payload, interval_millis, next_run_at FROM schedules"
              + " WHERE next_run_at <= ? ORDER BY next_run_at, name LIMIT " + BATCH
              + (database.dialect() == Dialect.POSTGRES ? " FOR UPDATE SKIP LOCKED" : ""))) {
        p.setLong(1, now);
        try (ResultSet rs = p.executeQuery()) {
          while (rs.next()) {
            due.add(schedule(rs));
          }
        }
      }
      for (Schedule schedule : due) {
        fire(c, schedule, now);
      }
      return due.size();
    });
  }

  private void fire(Connection c, Schedule schedule, long now) throws SQLException {
    long at = schedule.nextRunAt().toEpochMilli();
    long interval = schedule.interval().toMillis();
    long jobId = queue.enqueue(
        c, NewJob.of(schedule.jobType(), schedule.payload()).withRunAfter(schedule.nextRunAt()));
    long next = at + interval * ((now - at) / interval + 1);
    try (PreparedStatement p = c.prepareStatement(
        "UPDATE schedules SET next_run_at = ?, last_run_at = ?, last_job_id = ? WHERE name = ?")) {
      p.setLong(1, next);
      p.setLong(2, now);
      p.setLong(3, jobId);
      p.setString(4, schedule.name());
      p.executeUpdate();
    }
  }

  private static Schedule schedule(ResultSet rs) throws SQLException {
    return new Schedule(
        rs.getString(1),
        rs.getString(2),
        rs.getString(3),
        Duration.ofMillis(rs.getLong(4)),
        Instant.ofEpochMilli(rs.getLong(5)));
  }

  /** Starts this node's scheduler loop on a virtual thread: {@link #fireDue} every poll interval. */
  public synchronized void start() {
    if (loop != null) {
      throw new IllegalStateException("scheduler already started");
    }
    loop = Thread.ofVirtual().name("berth-scheduler").start(this::run);
  }

  private void run() {
    try {
      do {
        try {
          fireDue();
        } catch (RuntimeException e) {
          // The database may be away for a moment; the schedule stays due, the next pass fires it.
          log.warn("firing schedules failed: {}", e.getMessage());
        }
      } while (!stopping.await(pollInterval.toMillis(), TimeUnit.MILLISECONDS));
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
    }
  }

  /**
   * Stops the loop and waits for it. A firing in progress is not interrupted (an interrupt can
   * close a connection mid-transaction); it commits or rolls back first.
   */
  @Override
  public synchronized void close() {
    stopping.countDown();
    if (loop == null) {
      return;
    }
    try {
      loop.join(Duration.ofSeconds(10));
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
    }
  }
}
