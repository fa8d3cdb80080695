package dev.berth.metadata;

import dev.berth.oci.Digest;
import dev.berth.oci.ErrorCode;
import dev.berth.oci.RegistryException;
import java.io.IOException;
import java.io.InputStream;
import java.io.UncheckedIOException;
import java.nio.charset.StandardCharsets;
import java.sql.Connection;
import java.sql.PreparedStatement;
import java.sql.ResultSet;
import java.sql.SQLException;
import java.sql.Statement;

/**
 * The metadata database: connections, transactions and migrations. DAOs receive a {@link
 * Connection} from {@link #read} or {@link #write} and never manage transactions themselves, so a
 * service can make several DAO calls commit together.
 *
 * <p>Two backends, chosen by the URL: embedded SQLite ({@code jdbc:sqlite:}, the default), where
 * writes are group-committed on one writer connection ({@link SqliteConnections}), and PostgreSQL
 * ({@code jdbc:postgresql:}), which several nodes share and where each write is a pooled
 * transaction of its own ({@link PostgresConnections}). The DAOs' SQL is the same on both.
 */
public final class Database implements AutoCloseable {
  /** Connections to PostgreSQL when the configuration does not say ({@code metadata.pool-size}). */
  public static final int DEFAULT_POOL_SIZE = 16;

  /** Unit of work over one connection. */
  @FunctionalInterface
  public interface Work<T> {
    T run(Connection connection) throws SQLException;
  }

  /** An action run under {@link #withDigestLock}; it may do I/O and call {@link #write}. */
  @FunctionalInterface
  public interface Locked<T> {
    T run() throws IOException;
  }

  private final String url;
  private final Dialect dialect;
  private final Connections connections;

  private Database(String url, Dialect dialect, Connections connections) {
    this.url = url;
    this.dialect = dialect;
    this.connections = connections;
  }

  /** Opens the database at a {@code jdbc:sqlite:} URL (or a PostgreSQL one without credentials). */
  public static Database open(String url) {
    return open(url, "", "", DEFAULT_POOL_SIZE);
  }

  /** Opens and migrates the database; user name and password are for PostgreSQL only. */
  public static Database open(String url, String username, String password) {
    return open(url, username, password, DEFAULT_POOL_SIZE);
  }

  /**
   * Opens and migrates the database at a {@code jdbc:sqlite:} or {@code jdbc:postgresql:} URL.
   *
   * @throws IllegalStateException when it cannot be reached or migrated, with a one-line message
   *     naming {@code metadata.url} and the cause (e.g. "password authentication failed for user …")
   */
  public static Database open(String url, String username, String password, int poolSize) {
    if (url.startsWith("jdbc:sqlite:")) {
      return openSqlite(url);
    }
    if (url.startsWith("jdbc:postgresql:")) {
      return openPostgres(url, username, password, poolSize);
    }
    throw new IllegalArgumentException(
        "metadata.url: must be a jdbc:sqlite: or jdbc:postgresql: URL, got " + redact(url));
  }

  private static Database openSqlite(String url) {
    SqliteConnections connections;
    try {
      connections = SqliteConnections.open(url);
    } catch (SQLException e) {
      throw cannotOpen(url, e);
    }
    Database database = new Database(url, Dialect.SQLITE, connections);
    try {
      new Migrations(database).migrate();
      connections.openReaders(url);
      return database;
    } catch (SQLException e) {
      database.close();
      throw cannotOpen(url, e);
    } catch (RegistryException e) {
      database.close();
      throw e.getCause() instanceof SQLException sql ? cannotOpen(url, sql) : e;
    } catch (RuntimeException e) {
      database.close();
      throw e;
    }
  }

  private static Database openPostgres(String url, String username, String password, int poolSize) {
    if (poolSize < 1) {
      throw new IllegalArgumentException("metadata.pool-size: must be at least 1, got " + poolSize);
    }
    PostgresConnections connections;
    try {
      connections = PostgresConnections.open(url, username, password, poolSize);
    } catch (SQLException e) {
      throw cannotOpen(url, e);
    }
    Database database = new Database(url, Dialect.POSTGRES, connections);
    try {
      new Migrations(database).migrate();
      return database;
    } catch (RegistryException e) {
      database.close();
      throw e.getCause() instanceof SQLException sql ? cannotOpen(url, sql) : e;
    } catch (RuntimeException e) {
      database.close();
      throw e;
    }
  }

  private static IllegalStateException cannotOpen(String url, SQLException e) {
    return new IllegalStateException(
        "metadata.url " + redact(url) + ": cannot open the metadata database: "
            + firstLine(e.getMessage()),
        e);
  }

  /** A URL fit for a log line: a password given in its query is masked. */
  static String redact(String url) {
    return url.replaceAll("(?i)(password=)[^&]*", "$1********");
  }

  private static String firstLine(String message) {
    if (message == null) {
      return "";
    }
    int newline = message.indexOf('\n');
    return newline < 0 ? message : message.substring(0, newline);
  }

  public Dialect dialect() {
    return dialect;
  }

  public String url() {
    return url;
  }

  /** Runs read-only work on a pooled connection in auto-commit mode. */
  public <T> T read(Work<T> work) {
    return connections.read(work);
  }

  /**
   * Runs work in one transaction: committed when it returns, rolled back when it throws (a {@link
   * RegistryException} passes through unchanged, an {@link SQLException} becomes UNAVAILABLE).
   * Work that calls {@code write} again joins the transaction it is already in. On PostgreSQL work
   * may run more than once (see {@link PostgresConnections}), so it must only run SQL on the
   * connection it is given.
   */
  public <T> T write(Work<T> work) {
    return connections.write(work);
  }

  /**
   * Runs an action while holding the lock of one digest, exclusive among every thread of every
   * node. It orders the two sequences that must never interleave for the same content (decision
   * 008): an upload's "move the bytes to the digest's address, then record the row" and garbage
   * collection's "mark the row deleting, delete the bytes, delete the row" (and its "no row, so
   * delete the orphan file").
   *
   * <p>SQLite (one process): a striped lock in memory. PostgreSQL: a session-level advisory lock
   * ({@code pg_advisory_lock}) on one pooled connection, held across the action's I/O and its
   * transactions, which run on that same connection; PostgreSQL releases it if the node dies.
   * Actions must not nest.
   */
  public <T> T withDigestLock(Digest digest, Locked<T> action) throws IOException {
    return connections.locked(digest.toString().hashCode(), action);
  }

  /**
   * Tells every node, once the transaction {@code c} belongs to commits, that accounts changed:
   * a user, a robot account, an external identity (groups, CLI secret) or a project whose
   * robots go with it. Call it from the statement that changes them. Nodes see it as a new
   * {@link #accountsVersion}: SQLite (one process) right after the commit, before the writer
   * returns; PostgreSQL through {@code NOTIFY} (delivered after the commit), and on the node that
   * committed also before its write returns. Only inside {@link #write} work.
   */
  public static void accountsChanged(Connection c) throws SQLException {
    if (Dialect.of(c) == Dialect.POSTGRES) {
      try (PreparedStatement notify = c.prepareStatement("SELECT pg_notify(?, '')")) {
        notify.setString(1, PostgresConnections.ACCOUNTS_CHANNEL);
        notify.execute();
      }
    }
    // The thread that runs write work commits it (PostgreSQL: the caller; SQLite: the writer).
    ACCOUNTS_CHANGED.set(Boolean.TRUE);
  }

  /** Set by {@link #accountsChanged} until the transaction it ran in ends. */
  static final ThreadLocal<Boolean> ACCOUNTS_CHANGED = new ThreadLocal<>();

  /** Whether this thread's transaction changed accounts; clears the mark. */
  static boolean takeAccountsChanged() {
    boolean changed = ACCOUNTS_CHANGED.get() != null;
    ACCOUNTS_CHANGED.remove();
    return changed;
  }

  /**
   * A number that changes whenever accounts may have changed (see {@link #accountsChanged}), for
   * caches of account rows: one filled at version v is valid while this still returns v. Read it
   * before reading the rows. Negative while changes cannot be followed (PostgreSQL: the listener
   * is not connected): then nothing may be cached.
   */
  public long accountsVersion() {
    return connections.accountsVersion();
  }

  static RegistryException unavailable(SQLException e) {
    return new RegistryException(
        ErrorCode.UNAVAILABLE, "metadata database error: " + e.getMessage(), null, e);
  }

  /** True when the database answers a trivial query. */
  public boolean isHealthy() {
    try {
      return read(c -> {
        try (Statement s = c.createStatement();
            ResultSet rs = s.executeQuery("SELECT 1")) {
          return rs.next();
        }
      });
    } catch (RuntimeException e) {
      return false;
    }
  }

  /** Reads a SQL resource and substitutes the dialect's placeholders. */
  String sqlResource(String path) {
    try (InputStream in = Database.class.getResourceAsStream(path)) {
      if (in == null) {
        throw new IllegalStateException("missing SQL resource " + path);
      }
      return dialect.substitute(new String(in.readAllBytes(), StandardCharsets.UTF_8));
    } catch (IOException e) {
      throw new UncheckedIOException(e);
    }
  }

  static long nextLong(PreparedStatement statement) throws SQLException {
    try (ResultSet rs = statement.executeQuery()) {
      if (!rs.next()) {
        throw new SQLException("statement returned no row");
      }
      return rs.getLong(1);
    }
  }

  @Override
  public void close() {
    connections.close();
  }
}
