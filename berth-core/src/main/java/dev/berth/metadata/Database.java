package dev.berth.metadata;

import dev.berth.oci.ErrorCode;
import dev.berth.oci.RegistryException;
import java.io.IOException;
import java.io.InputStream;
import java.io.UncheckedIOException;
import java.nio.charset.StandardCharsets;
import java.sql.Connection;
import java.sql.DriverManager;
import java.sql.PreparedStatement;
import java.sql.ResultSet;
import java.sql.SQLException;
import java.sql.Savepoint;
import java.sql.Statement;
import java.util.ArrayList;
import java.util.List;
import java.util.Properties;
import java.util.concurrent.ArrayBlockingQueue;
import java.util.concurrent.BlockingQueue;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.LinkedBlockingQueue;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.locks.ReentrantLock;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;
import org.sqlite.SQLiteConfig;

/**
 * The metadata database: connections, transactions and migrations. DAOs receive a {@link
 * Connection} from {@link #read} or {@link #write} and never manage transactions themselves, so a
 * service can make several DAO calls commit together.
 *
 * <p>On SQLite (the embedded default) there is one writer connection, because SQLite admits one
 * writer at a time and queueing in the process is cheaper than busy-retrying in the database;
 * readers use a small pool and, in WAL mode, never wait for the writer.
 *
 * <p>Writes are group-committed: one writer thread takes every unit of work waiting in the queue,
 * runs each inside its own savepoint (a unit that fails is rolled back alone and its caller gets
 * its exception), then commits them all with one sync to disk. Every caller returns only after
 * that commit, so durability is unchanged while concurrent writers share the cost of the sync.
 */
public final class Database implements AutoCloseable {
  private static final Logger log = LoggerFactory.getLogger(Database.class);
  private static final int READERS = 8;

  /** Unit of work over one connection. */
  @FunctionalInterface
  public interface Work<T> {
    T run(Connection connection) throws SQLException;
  }

  private final String url;
  private final Dialect dialect;
  private final Connection writer;
  private final ReentrantLock closeLock = new ReentrantLock();
  private final BlockingQueue<Pending<?>> pending = new LinkedBlockingQueue<>();
  private final Thread writerThread;
  private volatile boolean closed;
  private final BlockingQueue<Connection> readers;
  private final List<Connection> all = new ArrayList<>();

  private Database(String url, Dialect dialect, Connection writer, List<Connection> readerList) {
    this.url = url;
    this.dialect = dialect;
    this.writer = writer;
    this.readers = new ArrayBlockingQueue<>(READERS);
    this.readers.addAll(readerList);
    this.all.add(writer);
    this.all.addAll(readerList);
    this.writerThread = Thread.ofPlatform().daemon().name("berth-db-writer").start(this::writeLoop);
  }

  /** A unit of work waiting for the writer thread, and where its outcome goes. */
  private static final class Pending<T> {
    final Work<T> work;
    final CompletableFuture<T> outcome = new CompletableFuture<>();
    T value;
    Throwable failure;

    Pending(Work<T> work) {
      this.work = work;
    }

    void run(Connection connection) throws SQLException {
      Savepoint savepoint = connection.setSavepoint();
      try {
        value = work.run(connection);
        connection.releaseSavepoint(savepoint);
      } catch (Throwable t) {
        connection.rollback(savepoint);
        connection.releaseSavepoint(savepoint);
        failure = t;
      }
    }

    void complete() {
      if (failure != null) {
        outcome.completeExceptionally(failure);
      } else {
        outcome.complete(value);
      }
    }
  }

  private static final int MAX_BATCH = 128;

  private void writeLoop() {
    List<Pending<?>> batch = new ArrayList<>(MAX_BATCH);
    while (!closed || !pending.isEmpty()) {
      try {
        Pending<?> first = pending.poll(200, TimeUnit.MILLISECONDS);
        if (first == null) {
          continue;
        }
        batch.add(first);
        pending.drainTo(batch, MAX_BATCH - 1);
        try {
          for (Pending<?> unit : batch) {
            unit.run(writer);
          }
          writer.commit();
          batch.forEach(Pending::complete);
        } catch (SQLException | RuntimeException e) {
          rollbackQuietly();
          for (Pending<?> unit : batch) {
            unit.outcome.completeExceptionally(e);
          }
        }
      } catch (InterruptedException e) {
        Thread.currentThread().interrupt();
        return;
      } catch (Throwable t) {
        log.error("metadata writer failed", t);
        batch.forEach(unit -> unit.outcome.completeExceptionally(t));
      } finally {
        batch.clear();
      }
    }
    for (Pending<?> unit; (unit = pending.poll()) != null; ) {
      unit.outcome.completeExceptionally(
          new RegistryException(ErrorCode.UNAVAILABLE, "metadata database is closed"));
    }
  }

  /** Opens an embedded SQLite database at a {@code jdbc:sqlite:} URL and migrates it. */
  public static Database open(String url) {
    if (!url.startsWith("jdbc:sqlite:")) {
      throw new IllegalArgumentException(
          "metadata.url: only jdbc:sqlite: URLs are supported by this build, got " + url);
    }
    try {
      Connection writer = sqlite(url, false);
      Database database = new Database(url, Dialect.SQLITE, writer, List.of());
      new Migrations(database).migrate();
      // Readers open after migration, so they see the schema from their first query.
      for (int i = 0; i < READERS; i++) {
        Connection reader = sqlite(url, true);
        database.readers.add(reader);
        database.all.add(reader);
      }
      return database;
    } catch (SQLException e) {
      throw new IllegalStateException("cannot open metadata database " + url + ": " + e.getMessage(), e);
    }
  }

  private static Connection sqlite(String url, boolean readOnly) throws SQLException {
    SQLiteConfig config = new SQLiteConfig();
    config.setJournalMode(SQLiteConfig.JournalMode.WAL);
    // FULL: a commit is on disk when it returns, like the blob bytes it describes.
    config.setSynchronous(SQLiteConfig.SynchronousMode.FULL);
    config.setBusyTimeout(10_000);
    config.enforceForeignKeys(true);
    config.setTempStore(SQLiteConfig.TempStore.MEMORY);
    config.setCacheSize(-16_384);
    if (!readOnly) {
      config.setTransactionMode(SQLiteConfig.TransactionMode.IMMEDIATE);
    }
    Properties properties = config.toProperties();
    Connection connection = DriverManager.getConnection(url, properties);
    if (!readOnly) {
      connection.setAutoCommit(false);
    }
    return connection;
  }

  public Dialect dialect() {
    return dialect;
  }

  public String url() {
    return url;
  }

  /** Runs read-only work on a pooled connection in auto-commit mode. */
  public <T> T read(Work<T> work) {
    Connection connection;
    try {
      connection = readers.take();
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
      throw new RegistryException(ErrorCode.UNAVAILABLE, "interrupted", null, e);
    }
    try {
      return work.run(connection);
    } catch (SQLException e) {
      throw unavailable(e);
    } finally {
      readers.add(connection);
    }
  }

  /**
   * Runs work in one transaction: committed when it returns, rolled back when it throws (a {@link
   * RegistryException} passes through unchanged). Work runs on the writer thread; work that calls
   * {@code write} again joins the transaction it is already in.
   */
  public <T> T write(Work<T> work) {
    if (Thread.currentThread() == writerThread) {
      try {
        return work.run(writer);
      } catch (SQLException e) {
        throw unavailable(e);
      }
    }
    if (closed) {
      throw new RegistryException(ErrorCode.UNAVAILABLE, "metadata database is closed");
    }
    Pending<T> unit = new Pending<>(work);
    pending.add(unit);
    try {
      return unit.outcome.get();
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
      throw new RegistryException(ErrorCode.UNAVAILABLE, "interrupted", null, e);
    } catch (ExecutionException e) {
      Throwable cause = e.getCause();
      if (cause instanceof SQLException sql) {
        throw unavailable(sql);
      }
      if (cause instanceof RuntimeException runtime) {
        throw runtime;
      }
      if (cause instanceof Error error) {
        throw error;
      }
      throw new IllegalStateException(cause);
    }
  }

  private void rollbackQuietly() {
    try {
      writer.rollback();
    } catch (SQLException e) {
      log.warn("rollback failed: {}", e.getMessage());
    }
  }

  private static RegistryException unavailable(SQLException e) {
    return new RegistryException(
        ErrorCode.UNAVAILABLE, "metadata database error: " + e.getMessage(), null, e);
  }

  /** True when the database answers a trivial query. */
  public boolean isHealthy() {
    try {
      return read(
          c -> {
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
    closeLock.lock();
    try {
      if (closed) {
        return;
      }
      closed = true;
      try {
        writerThread.join(10_000);
      } catch (InterruptedException e) {
        Thread.currentThread().interrupt();
      }
      for (Connection connection : all) {
        try {
          connection.close();
        } catch (SQLException e) {
          log.warn("closing a metadata connection: {}", e.getMessage());
        }
      }
    } finally {
      closeLock.unlock();
    }
  }
}
