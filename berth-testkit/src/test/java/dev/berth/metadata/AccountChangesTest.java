package dev.berth.metadata;

import static org.assertj.core.api.Assertions.assertThat;

import dev.berth.testkit.PostgresServer;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.function.LongSupplier;
import org.junit.jupiter.api.Test;

/**
 * {@link Database#accountsChanged} and {@link Database#accountsVersion} (decision 018): on SQLite
 * at the commit; on PostgreSQL at the commit on the node that made the change and by NOTIFY on
 * the others, with the listener's own delivery checks neither bumping the version nor failing.
 */
class AccountChangesTest {
  @Test
  void onSqliteAChangeCountsWhenItsWriteReturnsAndAReadDoesNot() throws Exception {
    Path dir = Files.createTempDirectory("berth-accounts-");
    try (Database database = Database.open("jdbc:sqlite:" + dir.resolve("metadata.db"))) {
      long before = database.accountsVersion();
      assertThat(before).isNotNegative();
      database.read(c -> null);
      database.write(c -> null);
      assertThat(database.accountsVersion()).as("no account changed").isEqualTo(before);

      database.write(c -> {
        Database.accountsChanged(c);
        return null;
      });
      assertThat(database.accountsVersion()).isGreaterThan(before);
    } finally {
      try (var files = Files.walk(dir)) {
        files
            .sorted(java.util.Comparator.reverseOrder())
            .forEach(p -> p.toFile().delete());
      }
    }
  }

  @Test
  void onPostgresqlAChangeCountsAtOnceHereAndWithinAMomentOnAnotherNode() throws Exception {
    PostgresServer server = PostgresServer.shared();
    String url = server.createDatabase();
    try (Database one = Database.open(url, PostgresServer.USER, PostgresServer.PASSWORD, 4);
        Database two = Database.open(url, PostgresServer.USER, PostgresServer.PASSWORD, 4)) {
      waitFor(() -> Math.min(one.accountsVersion(), two.accountsVersion()), v -> v >= 0);
      long oneBefore = one.accountsVersion();
      long twoBefore = two.accountsVersion();

      one.write(c -> {
        Database.accountsChanged(c);
        return null;
      });
      assertThat(one.accountsVersion()).as("the node that changed it").isGreaterThan(oneBefore);
      assertThat(waitFor(two::accountsVersion, v -> v > twoBefore))
          .as("the other node, by NOTIFY")
          .isGreaterThan(twoBefore);

      // Two of the listeners' delivery checks (every 5 s): they neither bump nor disconnect.
      long settledOne = waitFor(one::accountsVersion, v -> false, 1_000);
      long settledTwo = two.accountsVersion();
      Thread.sleep(11_000);
      assertThat(one.accountsVersion()).isEqualTo(settledOne);
      assertThat(two.accountsVersion()).isEqualTo(settledTwo);
    } finally {
      server.dropDatabase(url);
    }
  }

  private static long waitFor(LongSupplier value, java.util.function.LongPredicate done)
      throws InterruptedException {
    return waitFor(value, done, 5_000);
  }

  /** The value once {@code done} holds, or after {@code millis}, whichever comes first. */
  private static long waitFor(
      LongSupplier value, java.util.function.LongPredicate done, long millis)
      throws InterruptedException {
    long deadline = System.nanoTime() + millis * 1_000_000;
    long current;
    while (!done.test(current = value.getAsLong()) && System.nanoTime() < deadline) {
      Thread.sleep(20);
    }
    return current;
  }
}
