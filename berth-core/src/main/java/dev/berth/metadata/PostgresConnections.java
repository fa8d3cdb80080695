package dev.berth.metadata;

import com.zaxxer.hikari.HikariConfig;
import com.zaxxer.hikari.HikariDataSource;
import com.zaxxer.hikari.pool.HikariPool;
import dev.berth.oci.ErrorCode;
import dev.berth.oci.RegistryException;
import java.sql.Connection;
import java.sql.PreparedStatement;
import java.sql.SQLException;
import java.util.Set;
import java.util.concurrent.ThreadLocalRandom;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * PostgreSQL: one pool for reads and writes. PostgreSQL orders concurrent writers itself (row
 * locks, and the unique indexes the DAOs rely on), and several Berth nodes share the database, so
 * queueing writers in one process as on SQLite would serialise nothing that matters. Each {@code
 * write} borrows a connection and runs its work in one READ COMMITTED transaction.
 *
 * <p>A unit of work that loses a race is run again, from the start, in a new transaction, at most
 * {@link #ATTEMPTS} times. This is safe because work only runs SQL on the connection it is given:
 * after a rollback nothing of it remains. Retried SQLStates:
 *
 * <ul>
 *   <li>{@code 23505} unique_violation: two transactions create the same row (a repository or a
 *       manifest pushed twice at once, found absent by both, inserted by both). The loser's second
 *       run finds the winner's committed row and uses it. A real duplicate fails again, and its
 *       caller gets the error after the last attempt.
 *   <li>{@code 23503} foreign_key_violation: a row this work refers to was deleted meanwhile (a
 *       tag put on a manifest that garbage collection removed as untagged). The second run finds
 *       it absent and recreates it, or fails as it should.
 *   <li>{@code 40P01} deadlock_detected: PostgreSQL aborted this transaction to break a deadlock.
 *   <li>{@code 40001} serialization_failure: not raised at READ COMMITTED for these statements, but
 *       retrying it is the documented answer should a statement or a stricter default raise it.
 * </ul>
 *
 * Anything else (a lost connection included, where the outcome of a commit is unknown) is not
 * retried.
 */
final class PostgresConnections implements Connections {
  private static final Logger log = LoggerFactory.getLogger(PostgresConnections.class);
  static final int ATTEMPTS = 5;
  private static final Set<String> RETRIED = Set.of("23505", "23503", "40P01", "40001");
  /**
   * How long a request waits for a connection before it fails with UNAVAILABLE (HikariCP's
   * default is 30 s). When PostgreSQL is down, every request and every {@code /readyz} waits this
   * long, so it is short: clients get their 503 and a load balancer's health check its answer
   * within its own timeout. A pool exhausted this long is overloaded; 503 is the honest answer.
   */
  static final long CONNECTION_TIMEOUT_MILLIS = 5_000;

  /** The advisory-lock class of digest locks ("BGC1"), so they meet no other user's locks. */
  private static final int DIGEST_LOCK_CLASS = 0x42474331;

  private final HikariDataSource pool;
  /** The transaction this thread is in, so that a nested {@code write} joins it. */
  private final ThreadLocal<Connection> transaction = new ThreadLocal<>();
  /** The connection holding this thread's digest lock, which its reads and writes use too. */
  private final ThreadLocal<Connection> held = new ThreadLocal<>();

  /** The channel of {@link Database#accountsChanged} notifications. */
  static final String ACCOUNTS_CHANNEL = "berth_accounts";
  /** How often the listener checks that its connection is alive when nothing arrives. */
  private static final int LISTEN_POLL_MILLIS = 500;

  private static final long LISTEN_CHECK_MILLIS = 5_000;

  private final java.util.concurrent.atomic.AtomicLong accountsVersion =
      new java.util.concurrent.atomic.AtomicLong();
  /** Whether the listener is connected, so that versions follow every node's changes. */
  private volatile boolean listening;

  private volatile boolean closed;
  private final Thread listener;

  private PostgresConnections(HikariDataSource pool) {
    this.pool = pool;
    this.listener =
        Thread.ofPlatform().daemon().name("berth-metadata-listener").start(this::listen);
  }

  /**
   * Follows {@value #ACCOUNTS_CHANNEL} on a connection of its own (not from the pool): every
   * notification, and every (re)connection, bumps the version; while disconnected the version
   * reads as unknown, so caches of account rows are bypassed rather than trusted. Every {@value
   * #LISTEN_CHECK_MILLIS} ms it checks delivery end to end: a notification it sent through the
   * pool one check earlier must have arrived, else it reconnects (and counts as disconnected
   * meanwhile) — which catches a connection that died quietly and a transaction-mode pooler
   * between Berth and PostgreSQL, through which notifications are never delivered.
   */
  private void listen() {
    java.util.Properties properties = new java.util.Properties();
    if (pool.getUsername() != null) {
      properties.setProperty("user", pool.getUsername());
    }
    if (pool.getPassword() != null) {
      properties.setProperty("password", pool.getPassword());
    }
    properties.setProperty("socketTimeout", "30");
    properties.setProperty("ApplicationName", "berth-listener");
    boolean warned = false;
    while (!closed) {
      try (Connection c = java.sql.DriverManager.getConnection(pool.getJdbcUrl(), properties);
          java.sql.Statement statement = c.createStatement()) {
        statement.execute("LISTEN " + ACCOUNTS_CHANNEL);
        org.postgresql.PGConnection notices = c.unwrap(org.postgresql.PGConnection.class);
        accountsVersion.incrementAndGet();
        listening = true;
        if (warned) {
          log.info("metadata listener connected again; account caches are used again");
          warned = false;
        }
        long checked = System.currentTimeMillis();
        String probe = probe(); // the first check: is a notification sent through the pool seen?
        while (!closed) {
          org.postgresql.PGNotification[] received = notices.getNotifications(LISTEN_POLL_MILLIS);
          if (received != null) {
            for (org.postgresql.PGNotification notification : received) {
              if (notification.getParameter().equals(probe)) {
                probe = null;
              } else if (!notification.getParameter().startsWith(PROBE_PREFIX)) {
                accountsVersion.incrementAndGet(); // an account change (probes are not)
              }
            }
          }
          if (System.currentTimeMillis() - checked >= LISTEN_CHECK_MILLIS) {
            if (probe != null) {
              // Sent through the pool a check ago and never delivered: a transaction-mode pooler
              // in between, or a connection that died quietly. Not to be trusted: start again.
              throw new SQLException("a notification sent " + LISTEN_CHECK_MILLIS
                  + " ms ago was not delivered (a transaction-mode connection pooler?)");
            }
            probe = probe();
            checked = System.currentTimeMillis();
          }
        }
      } catch (SQLException | RuntimeException e) {
        listening = false;
        accountsVersion.incrementAndGet();
        if (!closed && !warned) {
          log.warn(
              "metadata listener disconnected ({}); account rows are read on every request until"
                  + " it reconnects",
              e.getMessage());
          warned = true;
        }
        if (!closed) {
          try {
            Thread.sleep(1_000);
          } catch (InterruptedException interrupted) {
            return;
          }
        }
      }
    }
    listening = false;
  }

  /** Payloads of the listener's own delivery checks, which are not account changes. */
  private static final String PROBE_PREFIX = "probe:";

  private final String probeId = java.util.UUID.randomUUID().toString();
  private long probes;

  /**
   * Sends a notification through the pool, as account changes are sent, for the listener to
   * receive by the next check; returns its payload. Also proves the listening connection alive
   * when it arrives.
   */
  private String probe() throws SQLException {
    String payload = PROBE_PREFIX + probeId + ":" + (++probes);
    try (Connection c = pool.getConnection();
        PreparedStatement notify = c.prepareStatement("SELECT pg_notify(?, ?)")) {
      notify.setString(1, ACCOUNTS_CHANNEL);
      notify.setString(2, payload);
      notify.execute();
    }
    return payload;
  }

  @Override
  public long accountsVersion() {
    return listening ? accountsVersion.get() : -1;
  }

  /** Opens the pool and its first connection: a bad password or an unreachable server fails here. */
  static PostgresConnections open(String url, String username, String password, int poolSize)
      throws SQLException {
    HikariConfig config = new HikariConfig();
    config.setPoolName("berth-metadata");
    config.setJdbcUrl(url);
    if (username != null && !username.isEmpty()) {
      config.setUsername(username);
    }
    if (password != null && !password.isEmpty()) {
      config.setPassword(password);
    }
    config.setMaximumPoolSize(poolSize);
    config.setMinimumIdle(Math.min(2, poolSize));
    config.setTransactionIsolation("TRANSACTION_READ_COMMITTED");
    config.setConnectionTimeout(CONNECTION_TIMEOUT_MILLIS);
    // Fail at once (not after connection-timeout) when the first connection cannot be made.
    config.setInitializationFailTimeout(1);
    try {
      return new PostgresConnections(new HikariDataSource(config));
    } catch (HikariPool.PoolInitializationException e) {
      if (e.getCause() instanceof SQLException sql) {
        throw sql;
      }
      throw new SQLException(
          e.getCause() == null ? e.getMessage() : e.getCause().getMessage(), e);
    }
  }

  @Override
  public <T> T read(Database.Work<T> work) {
    Connection locked = held.get();
    if (locked != null) {
      try {
        return work.run(locked);
      } catch (SQLException e) {
        throw Database.unavailable(e);
      }
    }
    try (Connection connection = pool.getConnection()) {
      return work.run(connection);
    } catch (SQLException e) {
      throw Database.unavailable(e);
    }
  }

  @Override
  public <T> T write(Database.Work<T> work) {
    Connection current = transaction.get();
    if (current != null) {
      try {
        return work.run(current);
      } catch (SQLException e) {
        throw Database.unavailable(e);
      }
    }
    for (int attempt = 1; ; attempt++) {
      try {
        return transaction(work);
      } catch (SQLException e) {
        if (attempt >= ATTEMPTS || !lostARace(e)) {
          throw Database.unavailable(e);
        }
        log.debug("metadata write lost a race (SQLState {}), attempt {}", e.getSQLState(), attempt);
        pause(attempt);
      }
    }
  }

  /** One attempt: commits when work returns, rolls back when it throws. */
  private <T> T transaction(Database.Work<T> work) throws SQLException {
    Connection locked = held.get();
    if (locked != null) {
      return transaction(locked, work);
    }
    try (Connection connection = pool.getConnection()) {
      return transaction(connection, work);
    }
  }

  /** One attempt on a connection (pooled, or the one holding a digest lock); auto-commit after. */
  private <T> T transaction(Connection connection, Database.Work<T> work) throws SQLException {
    connection.setAutoCommit(false);
    transaction.set(connection);
    try {
      T value = work.run(connection);
      connection.commit();
      if (Database.takeAccountsChanged()) {
        // This node follows its own change before the write returns, not when NOTIFY arrives.
        accountsVersion.incrementAndGet();
      }
      return value;
    } catch (Throwable t) {
      rollbackQuietly(connection);
      SQLException retriable = retriable(t);
      if (retriable != null) {
        throw retriable;
      }
      throw t;
    } finally {
      transaction.remove();
      Database.ACCOUNTS_CHANGED.remove();
      connection.setAutoCommit(true);
    }
  }

  /**
   * A session-level advisory lock on a connection of its own: it is held across the action's I/O
   * and the transactions it runs (on this connection), and PostgreSQL releases it should the node
   * die. A connection whose unlock failed never returns to the pool with the lock.
   */
  @Override
  public <T> T locked(int key, Database.Locked<T> action) throws java.io.IOException {
    if (held.get() != null || transaction.get() != null) {
      throw new IllegalStateException(
          "digest locks do not nest, nor are taken inside a transaction");
    }
    Connection connection;
    try {
      connection = pool.getConnection();
    } catch (SQLException e) {
      throw Database.unavailable(e);
    }
    boolean unlocked = false;
    try {
      advisory(connection, "SELECT pg_advisory_lock(?, ?)", key);
      held.set(connection);
      try {
        return action.run();
      } finally {
        held.remove();
        advisory(connection, "SELECT pg_advisory_unlock(?, ?)", key);
        unlocked = true;
      }
    } catch (SQLException e) {
      throw Database.unavailable(e);
    } finally {
      if (unlocked) {
        closeQuietly(connection);
      } else {
        pool.evictConnection(connection);
      }
    }
  }

  private static void advisory(Connection connection, String sql, int key) throws SQLException {
    try (java.sql.PreparedStatement p = connection.prepareStatement(sql)) {
      p.setInt(1, DIGEST_LOCK_CLASS);
      p.setInt(2, key);
      p.executeQuery().close();
    }
  }

  private static void closeQuietly(Connection connection) {
    try {
      connection.close();
    } catch (SQLException e) {
      log.warn("closing a connection failed: {}", e.getMessage());
    }
  }

  /** A race lost inside a nested write arrives wrapped as UNAVAILABLE; unwrap it to retry. */
  private static SQLException retriable(Throwable t) {
    if (t instanceof RegistryException registry
        && registry.code() == ErrorCode.UNAVAILABLE
        && registry.getCause() instanceof SQLException sql
        && lostARace(sql)) {
      return sql;
    }
    return null;
  }

  private static boolean lostARace(SQLException e) {
    String state = e.getSQLState(); // null for errors raised by the driver or the pool
    return state != null && RETRIED.contains(state);
  }

  private static void pause(int attempt) {
    try {
      Thread.sleep(ThreadLocalRandom.current().nextLong(1, 5L * attempt + 1));
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
      throw new RegistryException(ErrorCode.UNAVAILABLE, "interrupted", null, e);
    }
  }

  private static void rollbackQuietly(Connection connection) {
    try {
      connection.rollback();
    } catch (SQLException e) {
      log.warn("rollback failed: {}", e.getMessage());
    }
  }

  @Override
  public void close() {
    closed = true;
    listener.interrupt();
    try {
      listener.join(2_000);
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
    }
    pool.close();
  }
}
