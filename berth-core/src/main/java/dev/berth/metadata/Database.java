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
import java.sql.Statement;
import java.util.ArrayList;
import java.util.List;
import java.util.Properties;
import java.util.concurrent.ArrayBlockingQueue;
import java.util.concurrent.BlockingQueue;
import java.util.concurrent.locks.ReentrantLock;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;
import org.sqlite.SQLiteConfig;

/**
 * The metadata database: connections, transactions and migrations. DAOs receive a {@link
 * Connection} from {@link #read} or {@link #write} and never manage transactions themselves, so a
 * service can make several DAO calls commit together.
 *
 * <p>On SQLite (the embedded default) there is one writer connection behind a lock, because SQLite
 * admits one writer at a time and queueing in the process is cheaper than busy-retrying in the
 * database; readers use a small pool and, in WAL mode, never wait for the writer.
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
  private final ReentrantLock writeLock = new ReentrantLock();
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
   * RegistryException} passes through unchanged).
   */
  public <T> T write(Work<T> work) {
    writeLock.lock();
    try {
      try {
        T result = work.run(writer);
        writer.commit();
        return result;
      } catch (RuntimeException | SQLException e) {
        rollbackQuietly();
        if (e instanceof SQLException sql) {
          throw unavailable(sql);
        }
        throw (RuntimeException) e;
      } catch (Error e) {
        rollbackQuietly();
        throw e;
      }
    } finally {
      writeLock.unlock();
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
    writeLock.lock();
    try {
      for (Connection connection : all) {
        try {
          connection.close();
        } catch (SQLException e) {
          log.warn("closing a metadata connection: {}", e.getMessage());
        }
      }
    } finally {
      writeLock.unlock();
    }
  }
}
