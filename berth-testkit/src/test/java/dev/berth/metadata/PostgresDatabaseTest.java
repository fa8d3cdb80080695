package dev.berth.metadata;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import dev.berth.oci.ErrorCode;
import dev.berth.oci.RegistryException;
import dev.berth.testkit.PostgresServer;
import java.net.ServerSocket;
import java.sql.Connection;
import java.sql.PreparedStatement;
import java.sql.ResultSet;
import java.sql.SQLException;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.Callable;
import java.util.concurrent.CyclicBarrier;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;

/** What only PostgreSQL has: several nodes on one database, credentials, its collations. */
class PostgresDatabaseTest {
  private final PostgresServer server = PostgresServer.shared();
  private final String url = server.createDatabase();

  @AfterEach
  void dropDatabase() {
    server.dropDatabase(url);
  }

  @Test
  void nodesStartingTogetherOnAnEmptyDatabaseAllMigrateIt() throws Exception {
    int nodes = 4;
    CyclicBarrier start = new CyclicBarrier(nodes);
    List<Callable<Database>> opens = new ArrayList<>();
    for (int i = 0; i < nodes; i++) {
      opens.add(() -> {
        start.await(10, TimeUnit.SECONDS);
        return Database.open(url, PostgresServer.USER, PostgresServer.PASSWORD, 2);
      });
    }
    List<Database> opened = new ArrayList<>();
    try (ExecutorService executor = Executors.newFixedThreadPool(nodes)) {
      try {
        for (Future<Database> future : executor.invokeAll(opens, 60, TimeUnit.SECONDS)) {
          opened.add(future.get());
        }
        RepositoryDao repositories = new RepositoryDao();
        long id = opened.getFirst().write(c -> repositories.getOrCreate(c, "library/alpine"));
        for (Database database : opened) {
          assertThat(database.read((Connection c) -> repositories.findId(c, "library/alpine")))
              .hasValue(id);
        }
        assertThat(count(opened.getFirst(), "SELECT COUNT(*) FROM schema_migrations"))
            .as("each migration recorded once")
            .isEqualTo(Migrations.ALL.size());
      } finally {
        opened.forEach(Database::close);
      }
    }
  }

  @Test
  void racingCreatesOfOneRepositoryFromTwoNodesBothGetItsId() throws Exception {
    try (Database first = Database.open(url, PostgresServer.USER, PostgresServer.PASSWORD, 4);
        Database second = Database.open(url, PostgresServer.USER, PostgresServer.PASSWORD, 4);
        ExecutorService executor = Executors.newFixedThreadPool(8)) {
      RepositoryDao repositories = new RepositoryDao();
      for (int round = 0; round < 20; round++) {
        String name = "race/" + round;
        CyclicBarrier start = new CyclicBarrier(8);
        List<Callable<Long>> creates = new ArrayList<>();
        for (int i = 0; i < 8; i++) {
          Database node = i % 2 == 0 ? first : second;
          creates.add(() -> {
            start.await(10, TimeUnit.SECONDS);
            return node.write(c -> repositories.getOrCreate(c, name));
          });
        }
        List<Long> ids = new ArrayList<>();
        for (Future<Long> future : executor.invokeAll(creates, 30, TimeUnit.SECONDS)) {
          ids.add(future.get());
        }
        assertThat(ids).as("round " + round).containsOnly(ids.getFirst());
      }
    }
  }

  @Test
  void listedNamesAreDeclaredWithTheByteOrderCollation() throws SQLException {
    try (Database database = Database.open(url, PostgresServer.USER, PostgresServer.PASSWORD, 2)) {
      // The contract's ordering test passes on a C-locale server whatever the DDL says; this
      // holds on a server whose default collation is a locale's (en_US: "a-b" < "a0" < "a/c").
      List<String> collations = database.read(c -> {
        try (PreparedStatement p = c.prepareStatement(
            "SELECT table_name || '.' || column_name || '=' || COALESCE(collation_name, '')"
                + " FROM information_schema.columns WHERE column_name = 'name'"
                + " AND table_name IN ('repositories', 'tags') ORDER BY table_name")) {
          List<String> rows = new ArrayList<>();
          try (ResultSet rs = p.executeQuery()) {
            while (rs.next()) {
              rows.add(rs.getString(1));
            }
          }
          return rows;
        }
      });
      assertThat(collations).containsExactly("repositories.name=C", "tags.name=C");
    }
  }

  @Test
  void aServerThatGoesAwayFailsRequestsWithin5SecondsAndServesAgainWhenItReturns()
      throws Exception {
    try (PostgresServer own = PostgresServer.start()) {
      String ownUrl = own.createDatabase();
      try (Database database =
          Database.open(ownUrl, PostgresServer.USER, PostgresServer.PASSWORD, 2)) {
        assertThat(database.isHealthy()).isTrue();

        own.stop();
        long stopped = System.nanoTime();
        assertThatThrownBy(() -> database.read((Connection c) -> selectOne(c)))
            .isInstanceOf(RegistryException.class)
            .extracting(e -> ((RegistryException) e).code())
            .isEqualTo(ErrorCode.UNAVAILABLE);
        assertThat(Duration.ofNanos(System.nanoTime() - stopped))
            .isLessThan(Duration.ofSeconds(10));
        assertThat(database.isHealthy()).isFalse();

        own.restart();
        // The same pool, not reopened: it makes new connections once the server answers.
        assertThat(database.isHealthy()).isTrue();
        assertThat(database.read((Connection c) -> selectOne(c))).isEqualTo(1);
      }
    }
  }

  private static long selectOne(Connection c) throws SQLException {
    try (PreparedStatement p = c.prepareStatement("SELECT 1");
        ResultSet rs = p.executeQuery()) {
      rs.next();
      return rs.getLong(1);
    }
  }

  @Test
  void wrongPasswordStopsOpeningWithOneLineNamingTheKeyAndTheCause() {
    assertThatThrownBy(() -> Database.open(url, PostgresServer.USER, "not-the-password", 2))
        .isInstanceOf(IllegalStateException.class)
        .hasMessageStartingWith("metadata.url " + url + ": ")
        .hasMessageContaining("password authentication failed for user \"berth\"")
        .hasMessageNotContaining("\n");
  }

  @Test
  void unreachableServerStopsOpeningWithOneLineNamingTheKeyAndTheCause() throws Exception {
    int closedPort;
    try (ServerSocket socket = new ServerSocket(0)) {
      closedPort = socket.getLocalPort();
    }
    String unreachable = "jdbc:postgresql://127.0.0.1:" + closedPort + "/berth?password=secret";

    assertThatThrownBy(() -> Database.open(unreachable, "berth", "", 2))
        .isInstanceOf(IllegalStateException.class)
        .hasMessageStartingWith(
            "metadata.url jdbc:postgresql://127.0.0.1:" + closedPort + "/berth?password=********: ")
        .hasMessageContaining("refused")
        .hasMessageNotContaining("secret")
        .hasMessageNotContaining("\n");
  }

  private static long count(Database database, String sql) {
    return database.read(c -> {
      try (PreparedStatement p = c.prepareStatement(sql);
          ResultSet rs = p.executeQuery()) {
        rs.next();
        return rs.getLong(1);
      }
    });
  }
}
