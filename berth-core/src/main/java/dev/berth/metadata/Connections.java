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

  void close();
}
