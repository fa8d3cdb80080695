package dev.berth.metadata;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import dev.berth.oci.Digest;
import dev.berth.oci.MediaType;
import dev.berth.testkit.PostgresServer;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;
import java.sql.Connection;
import java.sql.DriverManager;
import java.sql.ResultSet;
import java.sql.ResultSetMetaData;
import java.sql.SQLException;
import java.sql.Statement;
import java.util.ArrayList;
import java.util.HexFormat;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.atomic.AtomicInteger;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** {@link MetadataMigration}: a SQLite database filled through the DAOs, copied into a real PostgreSQL. */
class MetadataMigrationTest {
  /** A saved hash state: bytes of every sign, as Bouncy Castle's encoded state has. */
  private static final byte[] HASH_STATE = {0, 1, -1, 127, -128, 42, 0};

  private final PostgresServer server = PostgresServer.shared();
  private final RepositoryDao repositories = new RepositoryDao();
  private final BlobDao blobs = new BlobDao();
  private final ManifestDao manifests = new ManifestDao();
  private final TagDao tags = new TagDao();
  private final UploadDao uploads = new UploadDao();

  @TempDir
  Path dir;

  private String sourceUrl;
  private String targetUrl;
  private Database target;
  private long largestManifestId;

  @BeforeEach
  void fillSource() throws Exception {
    sourceUrl = "jdbc:sqlite:" + dir.resolve("berth.db");
    try (Database source = Database.open(sourceUrl)) {
      largestManifestId = fill(source);
    }
    targetUrl = server.createDatabase();
    target = Database.open(targetUrl, PostgresServer.USER, PostgresServer.PASSWORD, 2);
  }

  @AfterEach
  void dropTarget() {
    target.close();
    server.dropDatabase(targetUrl);
  }

  /** Two repositories, shared blobs, an image, an index over it, a referrer, tags, an upload, a gc run. */
  private long fill(Database db) {
    return db.write(c -> {
      long app = repositories.getOrCreate(c, "team/app");
      long other = repositories.getOrCreate(c, "other");
      Digest config = digest("config");
      Digest layer = digest("layer");
      for (Digest blob : List.of(config, layer)) {
        blobs.insertIfAbsent(c, blob, 100);
        blobs.link(c, app, blob);
      }
      blobs.link(c, other, layer);
      // A manifest deleted again, so ids have a gap and the largest id exceeds the row count.
      long gone =
          manifests.insertIfAbsent(c, app, manifest("gone", List.of(config), List.of(), null));
      manifests.delete(c, app, digest("gone"));
      NewManifest image = manifest("image", List.of(config, layer), List.of(), null);
      long imageId = manifests.insertIfAbsent(c, app, image);
      NewManifest index = manifest("index", List.of(), List.of(image.digest()), null);
      long indexId = manifests.insertIfAbsent(c, app, index);
      long referrerId = manifests.insertIfAbsent(
          c, app, manifest("sbom", List.of(config), List.of(), image.digest()));
      tags.put(c, app, "latest", indexId);
      tags.put(c, app, "1.0", imageId);
      uploads.insert(c, new UploadSession("upload-1", "team/app", 1_000, 2_000));
      // A chunked session with its saved hash (decision 015), one without.
      uploads.insert(c, new UploadSession("upload-2", "team/app", 1_000, 1_000));
      uploads.claim(c, "upload-2", "claim", 1_000, 61_000);
      uploads.release(c, "upload-2", "claim", 3_000, new UploadHashState(HASH_STATE, 8 << 20));
      try (Statement s = c.createStatement()) {
        s.execute(
            "INSERT INTO gc_runs (started_at, finished_at, dry_run, delete_untagged, trigger_source, status,"
                + " bytes_freed, report) VALUES (10, 20, 1, 0, 'manual', 'succeeded', 42, '{}')");
      }
      assertThat(gone).isLessThan(referrerId);
      return referrerId;
    });
  }

  private static NewManifest manifest(
      String name, List<Digest> blobs, List<Digest> children, Digest subject) {
    byte[] content =
        ("{\"name\":\"" + name + "\",\"bytes\":\"\u00e9\u0000\"}").getBytes(StandardCharsets.UTF_8);
    return new NewManifest(
        digest(name),
        children.isEmpty() ? MediaType.OCI_MANIFEST : MediaType.OCI_INDEX,
        subject == null ? null : "application/vnd.example.sbom.v1+json",
        subject,
        subject == null ? null : "{\"org.example\":\"x\"}",
        content,
        blobs,
        children);
  }

  private static Digest digest(String text) {
    try {
      return Digest.sha256(
          MessageDigest.getInstance("SHA-256").digest(text.getBytes(StandardCharsets.UTF_8)));
    } catch (NoSuchAlgorithmException e) {
      throw new AssertionError(e);
    }
  }

  private MetadataMigration migration(int batchSize, MetadataMigration.Progress progress) {
    return new MetadataMigration(sourceUrl, target, batchSize, progress);
  }

  @Test
  void copiesEveryRowOfEveryTableInForeignKeyOrder() throws Exception {
    List<String> order = new ArrayList<>();
    MetadataMigration.Result result =
        migration(1_000, (table, read, total) -> order.add(table)).run();

    assertThat(result.complete()).isTrue();
    assertThat(result.counts())
        .extracting(MetadataMigration.TableCount::table)
        .contains(
            "repositories",
            "blobs",
            "repository_blobs",
            "manifests",
            "manifest_blobs",
            "manifest_references",
            "tags",
            "uploads",
            "gc_runs")
        .doesNotContain("schema_migrations");
    assertThat(order.indexOf("repositories")).isLessThan(order.indexOf("manifests"));
    assertThat(order.indexOf("blobs")).isLessThan(order.indexOf("repository_blobs"));
    assertThat(order.indexOf("manifests")).isLessThan(order.indexOf("tags"));
    assertThat(order.indexOf("manifests")).isLessThan(order.indexOf("manifest_references"));
    for (MetadataMigration.TableCount count : result.counts()) {
      assertThat(rows(targetUrl, count.table()))
          .as(count.table())
          .isEqualTo(rows(sourceUrl, count.table()));
    }

    // The registry reads the copy through its DAOs as it read the original.
    StoredManifest latest =
        target.read(c -> manifests.findByTag(c, "team/app", "latest", true)).orElseThrow();
    assertThat(latest.digest()).isEqualTo(digest("index"));
    assertThat(latest.content())
        .isEqualTo(manifest("index", List.of(), List.of(digest("image")), null).content());
    assertThat(target.read(
            (Connection c) -> manifests.referrers(c, "team/app", digest("image"), null)))
        .extracting(Referrer::digest)
        .containsExactly(digest("sbom"));
    assertThat(target.read((Connection c) -> blobs.linkedSize(c, "other", digest("layer"))))
        .hasValue(100);
    assertThat(target.read((Connection c) -> uploads.find(c, "upload-1")))
        .contains(new UploadSession("upload-1", "team/app", 1_000, 2_000));
    assertThat(target.read((Connection c) -> uploads.hashState(c, "upload-1"))).isEmpty();
    assertThat(target.read((Connection c) -> uploads.find(c, "upload-2")))
        .contains(new UploadSession("upload-2", "team/app", 1_000, 3_000));
    assertThat(target.read((Connection c) -> uploads.hashState(c, "upload-2")))
        .hasValueSatisfying(saved -> {
          assertThat(saved.encoded()).isEqualTo(HASH_STATE);
          assertThat(saved.bytes()).isEqualTo(8 << 20);
        });
    assertThat(target.read((Connection c) ->
            tags.list(c, repositories.findId(c, "team/app").orElseThrow(), null, 10)))
        .containsExactly("1.0", "latest");
  }

  @Test
  void newRowsOnTheTargetGetFreshIds() throws Exception {
    migration(1_000, (table, read, total) -> {}).run();

    // On a plain connection: Database.write would retry a duplicate key and so hide a stale
    // sequence.
    try (Connection c =
        DriverManager.getConnection(targetUrl, PostgresServer.USER, PostgresServer.PASSWORD)) {
      assertThat(insert(
              c, "INSERT INTO repositories (name, created_at) VALUES ('new', 0) RETURNING id"))
          .isEqualTo(3);
      assertThat(insert(
              c,
              "INSERT INTO manifests (repository_id, digest, media_type, size, content, created_at)"
                  + " VALUES (3, 'sha256:new', 'x', 0, ''::bytea, 0) RETURNING id"))
          .isEqualTo(largestManifestId + 1);
      assertThat(insert(
              c,
              "INSERT INTO gc_runs (started_at, dry_run, delete_untagged, trigger_source, status)"
                  + " VALUES (30, false, false, 'manual', 'running') RETURNING id"))
          .isEqualTo(2);
    }
  }

  private static long insert(Connection c, String sql) throws SQLException {
    try (Statement s = c.createStatement();
        ResultSet rs = s.executeQuery(sql)) {
      rs.next();
      return rs.getLong(1);
    }
  }

  @Test
  void runningAgainChangesNothing() throws Exception {
    MetadataMigration.Result first = migration(2, (table, read, total) -> {}).run();
    Map<String, List<String>> copied = targetRows(first);

    MetadataMigration.Result second = migration(2, (table, read, total) -> {}).run();

    assertThat(second.complete()).isTrue();
    assertThat(second.counts()).isEqualTo(first.counts());
    assertThat(targetRows(second)).isEqualTo(copied);
    try (Connection c =
        DriverManager.getConnection(targetUrl, PostgresServer.USER, PostgresServer.PASSWORD)) {
      assertThat(insert(
              c, "INSERT INTO repositories (name, created_at) VALUES ('new', 0) RETURNING id"))
          .isEqualTo(3);
    }
  }

  @Test
  void aRunStoppedHalfwayIsFinishedByTheNext() throws Exception {
    AtomicInteger batches = new AtomicInteger();
    assertThatThrownBy(() -> migration(1, (table, read, total) -> {
              if (batches.incrementAndGet() == 6) {
                throw new IllegalStateException("simulated crash");
              }
            })
            .run())
        .hasMessage("simulated crash");
    long copiedBeforeCrash = target.read(c -> {
      try (Statement s = c.createStatement();
          ResultSet rs = s.executeQuery(
              "SELECT (SELECT COUNT(*) FROM repositories) + (SELECT COUNT(*) FROM blobs)"
                  + " + (SELECT COUNT(*) FROM manifests) + (SELECT COUNT(*) FROM tags)")) {
        rs.next();
        return rs.getLong(1);
      }
    });
    assertThat(copiedBeforeCrash).as("rows committed before the crash").isBetween(1L, 5L);

    MetadataMigration.Result result = migration(1, (table, read, total) -> {}).run();

    assertThat(result.complete()).isTrue();
    for (MetadataMigration.TableCount count : result.counts()) {
      assertThat(rows(targetUrl, count.table()))
          .as(count.table())
          .isEqualTo(rows(sourceUrl, count.table()));
    }
  }

  @Test
  void reportsAMismatchWhenTheTargetHoldsOtherRows() throws Exception {
    target.write(c -> {
      uploads.insert(c, new UploadSession("from-elsewhere", "x", 1, 1));
      return null;
    });

    MetadataMigration.Result result =
        migration(1_000, (table, read, total) -> {}).run();

    assertThat(result.complete()).isFalse();
    assertThat(result.counts())
        .filteredOn(count -> !count.matches())
        .containsExactly(new MetadataMigration.TableCount("uploads", 2, 3));
  }

  @Test
  void neverWritesTheSource() throws Exception {
    byte[] before = Files.readAllBytes(dir.resolve("berth.db"));

    migration(1_000, (table, read, total) -> {}).run();

    assertThat(Files.readAllBytes(dir.resolve("berth.db"))).isEqualTo(before);
  }

  @Test
  void refusesWhenTheSchemaVersionsDiffer() throws Exception {
    try (Connection c = DriverManager.getConnection(sourceUrl);
        Statement s = c.createStatement()) {
      s.execute(
          "DELETE FROM schema_migrations WHERE version = (SELECT MAX(version) FROM schema_migrations)");
    }

    assertThatThrownBy(() -> migration(1_000, (table, read, total) -> {}).run())
        .isInstanceOf(IllegalStateException.class)
        .hasMessageContaining("the source database is at schema version")
        .hasMessageContaining("start this version of Berth once on the data directory");
    assertThat(target.read((Connection c) -> repositories.list(c, null, 10))).isEmpty();
  }

  @Test
  void refusesATargetThatIsNotPostgres() {
    try (Database other = Database.open("jdbc:sqlite:" + dir.resolve("other.db"))) {
      assertThatThrownBy(
              () -> new MetadataMigration(sourceUrl, other, 1_000, (table, read, total) -> {}))
          .isInstanceOf(IllegalArgumentException.class)
          .hasMessageContaining("must be a PostgreSQL database");
    }
  }

  private Map<String, List<String>> targetRows(MetadataMigration.Result result)
      throws SQLException {
    Map<String, List<String>> all = new LinkedHashMap<>();
    for (MetadataMigration.TableCount count : result.counts()) {
      all.put(count.table(), rows(targetUrl, count.table()));
    }
    return all;
  }

  /** Every row of a table as text, sorted; booleans as 0/1 and bytes as hex, as SQLite has them. */
  private static List<String> rows(String url, String table) throws SQLException {
    List<String> rows = new ArrayList<>();
    try (Connection c = url.startsWith("jdbc:sqlite:")
            ? DriverManager.getConnection(url)
            : DriverManager.getConnection(url, PostgresServer.USER, PostgresServer.PASSWORD);
        Statement s = c.createStatement();
        ResultSet rs = s.executeQuery("SELECT * FROM " + table)) {
      ResultSetMetaData meta = rs.getMetaData();
      while (rs.next()) {
        StringBuilder row = new StringBuilder();
        for (int i = 1; i <= meta.getColumnCount(); i++) {
          Object value = rs.getObject(i);
          row.append(meta.getColumnName(i).toLowerCase())
              .append('=')
              .append(
                  switch (value) {
                    case null -> "null";
                    case Boolean b -> b ? "1" : "0";
                    case byte[] bytes -> HexFormat.of().formatHex(bytes);
                    case Number n -> Long.toString(n.longValue());
                    default -> value.toString();
                  })
              .append(' ');
        }
        rows.add(row.toString());
      }
    }
    return rows.stream().sorted().toList();
  }
}
