import java.lang.management.*;
import java.sql.*;

/**
 * What a commit costs SQLite's readers (decision 013, session 6): 8 reader connections answer
 * point queries over 2,000 "manifests" at a set rate while another connection commits a small
 * insert every N ms (0: never). Every commit makes each reader drop its page cache, so the
 * readers' CPU per query shows what commits at pull-batch rates cost every request.
 *
 * <pre>
 *   mvn -q -o -pl berth-core dependency:build-classpath -Dmdep.outputFile=/tmp/cp.txt
 *   for ms in 0 100 1000; do
 *     java -Drate=40000 -cp "$(cat /tmp/cp.txt)" bench/sqlite/ReaderCacheBench.java $ms
 *   done
 *   java -Dmmap=268435456 -cp "$(cat /tmp/cp.txt)" bench/sqlite/ReaderCacheBench.java 1000
 * </pre>
 */
public class ReaderCacheBench {
  static final long RATE = Long.getLong("rate", 40000);
  /** -Dmmap=BYTES: the readers' PRAGMA mmap_size (0, SQLite's default: pages read with pread). */
  static final long MMAP = Long.getLong("mmap", 0);
  public static void main(String[] a) throws Exception {
    long every = Long.parseLong(a[0]);
    String path = System.getProperty("java.io.tmpdir") + "/berth-reader-cache-bench.sqlite";
    for (String s : new String[]{"", "-wal", "-shm"}) new java.io.File(path + s).delete();
    org.sqlite.SQLiteConfig cfg = new org.sqlite.SQLiteConfig();
    cfg.setJournalMode(org.sqlite.SQLiteConfig.JournalMode.WAL);
    cfg.setSynchronous(org.sqlite.SQLiteConfig.SynchronousMode.FULL);
    cfg.setCacheSize(-16384);
    Connection w = cfg.createConnection("jdbc:sqlite:" + path);
    try (Statement s = w.createStatement()) {
      s.execute("CREATE TABLE manifests (id INTEGER PRIMARY KEY, repo TEXT, tag TEXT, digest TEXT, body BLOB)");
      s.execute("CREATE UNIQUE INDEX m_tag ON manifests(repo, tag)");
      s.execute("CREATE TABLE log (id INTEGER PRIMARY KEY, v TEXT)");
    }
    w.setAutoCommit(false);
    try (PreparedStatement p = w.prepareStatement("INSERT INTO manifests (repo, tag, digest, body) VALUES ('bench', ?, ?, ?)")) {
      for (int i = 0; i < 2000; i++) { p.setString(1, "m" + i); p.setString(2, "sha256:" + i); p.setBytes(3, new byte[900]); p.addBatch(); }
      p.executeBatch();
    }
    w.commit();
    Connection[] r = new Connection[8];
    PreparedStatement[] q = new PreparedStatement[8];
    for (int i = 0; i < 8; i++) { r[i] = cfg.createConnection("jdbc:sqlite:" + path); try (Statement s = r[i].createStatement()) { s.execute("PRAGMA mmap_size = " + MMAP); } q[i] = r[i].prepareStatement("SELECT digest, body FROM manifests WHERE repo = 'bench' AND tag = ?"); }
    Thread writer = new Thread(() -> {
      try (PreparedStatement p = w.prepareStatement("INSERT INTO log (v) VALUES (?)")) {
        while (every > 0) { Thread.sleep(every); p.setString(1, "x".repeat(4000)); p.executeUpdate(); w.commit(); }
      } catch (Exception e) { }
    });
    writer.setDaemon(true); writer.start();
    ThreadMXBean t = ManagementFactory.getThreadMXBean();
    long n = 0;
    for (int round = 0; round < 8; round++) {
      long c0 = t.getCurrentThreadCpuTime(), w0 = System.nanoTime(); long k = 0;
      while (System.nanoTime() - w0 < 1_000_000_000L) {
        int i = (int) (n++ % 8);
        q[i].setString(1, "m" + (n * 7919 % 2000));
        try (ResultSet rs = q[i].executeQuery()) { rs.next(); rs.getBytes(2); }
        k++;
        long due = (System.nanoTime() - w0) * RATE / 1_000_000_000L;
        if (k > due) Thread.sleep(1);
      }
      long c1 = t.getCurrentThreadCpuTime();
      if (round >= 3) System.out.printf("commit every %d ms, mmap %d: %.2f us CPU per query (%d queries/s)%n", every, MMAP, (c1 - c0) / 1e3 / k, k);
    }
  }
}
