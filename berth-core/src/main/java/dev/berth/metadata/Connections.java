package dev.berth.metadata;

/**
 * How {@link Database} hands out connections and runs transactions on one backend: SQLite queues
 * writers on one connection in the process, PostgreSQL lets its own locking order them.
 */
sealed interface Connections permits SqliteConnections, PostgresConnections {

  /** Runs read-only work in auto-commit mode; see {@link Database#read}. */
  <T> T read(Database.Work<T> work);

  /** Runs work in one transaction; see {@link Database#write}. */
  <T> T write(Database.Work<T> work);

  /**
   * Runs an action while holding the exclusive lock {@code key}; see {@link Database#withDigestLock}.
   * Writes and reads the action makes on this thread meanwhile use the lock's connection, if it
   * has one, so that an action never needs a second pooled connection.
   */
  <T> T locked(int key, Database.Locked<T> action) throws java.io.IOException;

  /** See {@link Database#accountsVersion}. */
  long accountsVersion();

  void close();
}
