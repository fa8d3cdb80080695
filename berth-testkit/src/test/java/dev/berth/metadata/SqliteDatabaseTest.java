package dev.berth.metadata;

import static org.assertj.core.api.Assertions.assertThat;

import java.nio.file.Path;
import java.sql.Connection;
import java.util.HashSet;
import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** What only the SQLite database has: its pool of reader connections. */
class SqliteDatabaseTest {
  @TempDir
  Path dir;

  @Test
  void readsOneAfterAnotherUseTheSameReaderSoItsPageCacheStaysWarm() {
    try (Database database = Database.open("jdbc:sqlite:" + dir.resolve("berth.db"))) {
      RepositoryDao repositories = new RepositoryDao();
      database.write(c -> repositories.getOrCreate(c, "library/alpine"));
      Set<Connection> used = new HashSet<>();
      for (int i = 0; i < 50; i++) {
        used.add(database.read(c -> {
          assertThat(repositories.findId(c, "library/alpine")).isPresent();
          return c;
        }));
        // A commit between reads empties the caches of the readers that read after it.
        String another = "library/r" + i;
        database.write(c -> repositories.getOrCreate(c, another));
      }
      assertThat(used).as("readers used by 50 sequential reads").hasSize(1);
    }
  }

  @Test
  void concurrentReadsStillUseSeveralReaders() throws Exception {
    try (Database database = Database.open("jdbc:sqlite:" + dir.resolve("berth.db"));
        ExecutorService executor = Executors.newFixedThreadPool(4)) {
      CountDownLatch allInside = new CountDownLatch(4);
      Future<?>[] reads = new Future<?>[4];
      Set<Connection> used = ConcurrentHashMap.newKeySet();
      for (int i = 0; i < reads.length; i++) {
        reads[i] = executor.submit(() -> database.read(c -> {
          used.add(c);
          allInside.countDown();
          // Holds its reader until all four hold one: each needs its own.
          try {
            return allInside.await(10, TimeUnit.SECONDS);
          } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            return false;
          }
        }));
      }
      for (Future<?> read : reads) {
        assertThat(read.get(20, TimeUnit.SECONDS)).isEqualTo(true);
      }
      assertThat(used).hasSize(4);
    }
  }
}
