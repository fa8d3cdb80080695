package dev.berth.server;

import static org.assertj.core.api.Assertions.assertThat;

import java.io.ByteArrayOutputStream;
import java.io.PrintStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Map;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * {@code berth migrate-metadata} on the command line: what it refuses before it touches either
 * database. The copy itself is tested on a real PostgreSQL in berth-testkit's {@code
 * MetadataMigrationTest}.
 */
class MigrateMetadataCommandTest {
  private static final String TARGET = "jdbc:postgresql://127.0.0.1:1/berth";

  @TempDir
  Path dir;

  private final ByteArrayOutputStream out = new ByteArrayOutputStream();
  private final ByteArrayOutputStream err = new ByteArrayOutputStream();

  private int run(String... args) {
    return Main.run(
        args,
        Map.of(),
        new PrintStream(out, true, StandardCharsets.UTF_8),
        new PrintStream(err, true, StandardCharsets.UTF_8));
  }

  private String errors() {
    return err.toString(StandardCharsets.UTF_8);
  }

  @Test
  void refusesWhileAServerRunsOnTheDataDirectory() throws Exception {
    Path data = dir.resolve("data");
    InProcessBerth server = new InProcessBerth(Map.of(), data);
    server.start();
    try {
      assertThat(run("migrate-metadata", "--data", data.toString(), "--to", TARGET))
          .isEqualTo(1);
      assertThat(errors()).contains("is in use by a running Berth server; stop it first");
      assertThat(out.toString(StandardCharsets.UTF_8)).doesNotContain("copying");
    } finally {
      server.close();
    }
  }

  @Test
  void refusesADataDirectoryWithoutADatabase() throws Exception {
    Files.createDirectories(dir.resolve("empty"));

    assertThat(run("migrate-metadata", "--data", dir.resolve("empty").toString(), "--to", TARGET))
        .isEqualTo(1);

    assertThat(errors()).contains("no metadata database at");
  }

  @Test
  void needsAPostgresTarget() {
    assertThat(run("migrate-metadata", "--data", dir.toString())).isEqualTo(2);
    assertThat(run("migrate-metadata", "--data", dir.toString(), "--to", "jdbc:sqlite:/tmp/x.db"))
        .isEqualTo(2);

    assertThat(errors()).contains("--to jdbc:postgresql://HOST:PORT/DATABASE is required");
  }

  @Test
  void reportsAnUnreachableTargetWithoutWritingTheSource() throws Exception {
    Path data = dir.resolve("data");
    InProcessBerth server = new InProcessBerth(Map.of(), data);
    server.start();
    server.close();
    byte[] before = Files.readAllBytes(data.resolve("berth.db"));

    assertThat(run("migrate-metadata", "--data", data.toString(), "--to", TARGET))
        .isEqualTo(1);

    assertThat(errors())
        .contains(
            "berth: migrate-metadata: metadata.url jdbc:postgresql://127.0.0.1:1/berth: cannot open");
    assertThat(Files.readAllBytes(data.resolve("berth.db"))).isEqualTo(before);
  }
}
