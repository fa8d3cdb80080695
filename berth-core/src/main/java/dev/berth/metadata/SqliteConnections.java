package dev.berth.metadata;

import dev.berth.oci.ErrorCode;
import dev.berth.oci.RegistryException;
import java.sql.Connection;
import java.sql.DriverManager;
import java.sql.SQLException;
import java.sql.Savepoint;
import java.util.ArrayList;
import java.util.List;
import java.util.Properties;
import java.util.concurrent.BlockingDeque;
import java.util.concurrent.BlockingQueue;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.LinkedBlockingDeque;
import java.util.concurrent.LinkedBlockingQueue;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.locks.ReentrantLock;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;
import org.sqlite.SQLiteConfig;

/**
 * SQLite: one writer connection, because SQLite admits one writer at a time and queueing in the
 * process is cheaper than busy-retrying in the database; readers use a small pool and, in WAL mode,
 * never wait for the writer (decision 002).
 *
 * <p>Writes are group-committed: one writer thread takes every unit of work waiting in the queue,
 * runs each inside its own savepoint (a unit that fails is rolled back alone and its caller gets
 * its exception), then commits them all with one sync to disk. Every caller returns only after
 * that commit, so durability is unchanged while concurrent writers share the cost of the sync.
 */
final class SqliteConnections implements Connections {
  private static final Logger log = LoggerFactory.getLogger(SqliteConnections.class);
  private static final int READERS = 8;
  private static final int MAX_BATCH = 128;

  private final Connection writer;
  private final ReentrantLock closeLock = new ReentrantLock();
  private final BlockingQueue<Pending<?>> pending = new LinkedBlockingQueue<>();
  private final Thread writerThread;
  private volatile boolean closed;
  /**
   * Idle readers, most recently used first: a read takes the first. Only about as many readers are
   * busy at once as there are carrier threads (a query pins its virtual thread), so the few at the
   * front answer nearly every read and keep their page caches warm. A commit empties the page
   * cache of every reader that reads after it, so a queue (each read taking the least recently
   * used of all eight) re-reads the working set eight times per commit, a stack about twice.
   */
  private final BlockingDeque<Connection> readers = new LinkedBlockingDeque<>(READERS);
  /** Bumped after a commit that changed accounts (see {@link Database#accountsVersion}). */
  private final java.util.concurrent.atomic.AtomicLong accountsVersion =
      new java.util.concurrent.atomic.AtomicLong();
  /** Digest locks (one process owns a SQLite database): striped, collisions only serialise. */
  private final ReentrantLock[] digestLocks = new ReentrantLock[1024];

  private final List<Connection> all = new ArrayList<>();

  private SqliteConnections(Connection writer) {
    this.writer = writer;
    this.all.add(writer);
    for (int i = 0; i < digestLocks.length; i++) {
      digestLocks[i] = new ReentrantLock();
    }
    this.writerThread = Thread.ofPlatform().daemon().name("berth-db-writer").start(this::writeLoop);
  }

  /** Opens the writer only: {@link #openReaders} follows once the schema is migrated. */
  static SqliteConnections open(String url) throws SQLException {
    return new SqliteConnections(connect(url, false));
  }

  /** Readers open after migration, so they see the schema from their first query. */
  void openReaders(String url) throws SQLException {
    for (int i = 0; i < READERS; i++) {
      Connection reader = connect(url, true);
      readers.add(reader);
      all.add(reader);
    }
  }

  private static Connection connect(String url, boolean readOnly) throws SQLException {
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

  /** A unit of work waiting for the writer thread, and where its outcome goes. */
  private static final class Pending<T> {
    final Database.Work<T> work;
    final CompletableFuture<T> outcome = new CompletableFuture<>();
    T value;
    Throwable failure;

    Pending(Database.Work<T> work) {
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
          followAccountChanges();
          batch.forEach(Pending::complete);
        } catch (SQLException | RuntimeException e) {
          rollbackQuietly();
          followAccountChanges();
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

  /** After a commit or rollback, on the writer thread: a new version if accounts changed. */
  private void followAccountChanges() {
    if (Database.takeAccountsChanged()) { // a rolled-back change bumps too: harmless
      accountsVersion.incrementAndGet();
    }
  }

  @Override
  public long accountsVersion() {
    return accountsVersion.get();
  }

  @Override
  public <T> T read(Database.Work<T> work) {
    Connection connection;
    try {
      connection = readers.takeFirst();
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
      throw new RegistryException(ErrorCode.UNAVAILABLE, "interrupted", null, e);
    }
    try {
      return work.run(connection);
    } catch (SQLException e) {
      throw Database.unavailable(e);
    } finally {
      readers.addFirst(connection);
    }
  }

  /** Work runs on the writer thread; work that calls {@code write} again joins its transaction. */
  @Override
  public <T> T write(Database.Work<T> work) {
    if (Thread.currentThread() == writerThread) {
      try {
        return work.run(writer);
      } catch (SQLException e) {
        throw Database.unavailable(e);
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
        throw Database.unavailable(sql);
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

  @Override
  public <T> T locked(int key, Database.Locked<T> action) throws java.io.IOException {
    ReentrantLock lock = digestLocks[Math.floorMod(key, digestLocks.length)];
    lock.lock();
    try {
      return action.run();
    } finally {
      lock.unlock();
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
