package dev.berth.server;

import dev.berth.config.BerthConfig;
import dev.berth.config.ConfigLoader;
import dev.berth.metadata.Database;
import dev.berth.metadata.MetadataMigration;
import java.io.IOException;
import java.io.PrintStream;
import java.nio.channels.FileChannel;
import java.nio.file.Files;
import java.nio.file.Path;
import java.sql.SQLException;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * {@code berth migrate-metadata}: copy a single node's SQLite metadata into PostgreSQL (see {@link
 * MetadataMigration}), holding the data directory's lock so that a server cannot run meanwhile.
 */
final class MigrateMetadataCommand {
  private MigrateMetadataCommand() {}

  static int run(List<String> args, Map<String, String> env, PrintStream out, PrintStream err) {
    Path configFile = null;
    String to = null;
    String username = env.getOrDefault("BERTH_METADATA_USERNAME", "");
    String password = env.getOrDefault("BERTH_METADATA_PASSWORD", "");
    int batchSize = MetadataMigration.DEFAULT_BATCH_SIZE;
    Map<String, String> overrides = new LinkedHashMap<>();
    for (int i = 0; i < args.size(); i++) {
      String arg = args.get(i);
      switch (arg) {
        case "--config" -> configFile = Path.of(Main.value(args, ++i, arg));
        case "--data" -> overrides.put("data-dir", Main.value(args, ++i, arg));
        case "--to" -> to = Main.value(args, ++i, arg);
        case "--username" -> username = Main.value(args, ++i, arg);
        case "--password" -> password = Main.value(args, ++i, arg);
        case "--batch-size" -> batchSize = batchSize(Main.value(args, ++i, arg));
        default -> throw new Main.UsageException("migrate-metadata: unknown option '" + arg + "'");
      }
    }
    if (to == null || !to.startsWith("jdbc:postgresql:")) {
      throw new Main.UsageException(
          "migrate-metadata: --to jdbc:postgresql://HOST:PORT/DATABASE is required");
    }
    if (configFile == null && overrides.isEmpty()) {
      throw new Main.UsageException(
          "migrate-metadata: give --data DIR or --config FILE (the single node's)");
    }
    Logging.quiet();
    // The source's location comes from the file and --data only: BERTH_METADATA_* in the
    // environment name the target here.
    Map<String, String> sourceEnv = new LinkedHashMap<>(env);
    sourceEnv.keySet().removeIf(key -> key.startsWith("BERTH_METADATA_"));
    BerthConfig config = new ConfigLoader().load(configFile, sourceEnv, overrides);
    String source = config.metadataUrl();
    if (!source.startsWith("jdbc:sqlite:")) {
      err.println(
          "berth: migrate-metadata: the source must be the embedded SQLite database, but metadata.url is "
              + source);
      return 2;
    }
    Path dataDir = Path.of(config.dataDir()).toAbsolutePath().normalize();
    Path databaseFile =
        Path.of(source.substring("jdbc:sqlite:".length()).replaceFirst("\\?.*$", ""));
    if (!Files.isRegularFile(databaseFile)) {
      err.println(
          "berth: migrate-metadata: no metadata database at " + databaseFile.toAbsolutePath());
      return 1;
    }
    try (FileChannel lock = DataDirectoryLock.tryLock(dataDir)) {
      if (lock == null) {
        err.println(
            "berth: migrate-metadata: data directory "
                + dataDir
                + " is in use by a running Berth server; stop it first (the copy must not miss its writes)");
        return 1;
      }
      out.println("copying metadata from " + source + " to " + redact(to));
      try (Database target = Database.open(to, username, password, 2)) {
        MetadataMigration.Result result =
            new MetadataMigration(source, target, batchSize, progressPrinter(out)).run();
        out.printf(
            "schema version %d; rows per table (source → target):%n", result.schemaVersion());
        for (MetadataMigration.TableCount count : result.counts()) {
          out.printf(
              "  %-24s %,12d → %,12d%s%n",
              count.table(), count.source(), count.target(), count.matches() ? "" : "   MISMATCH");
        }
        if (!result.complete()) {
          err.println(
              "berth: migrate-metadata: row counts differ; the target holds rows the source does not"
                  + " (or lost some meanwhile): use an empty database as the target");
          return 1;
        }
        out.println(
            "done: every row count matches. Now copy the blobs (docs/deploy.md) and start the nodes with metadata.url = "
                + redact(to));
        return 0;
      }
    } catch (IllegalStateException | IllegalArgumentException e) {
      err.println("berth: migrate-metadata: " + e.getMessage());
      return 1;
    } catch (SQLException | IOException | RuntimeException e) {
      err.println("berth: migrate-metadata: " + e.getMessage()
          + " (run it again to resume: rows already copied are skipped)");
      return 1;
    }
  }

  /** A line per table when it is done, and every few seconds while a large one is copied. */
  private static MetadataMigration.Progress progressPrinter(PrintStream out) {
    long[] lastLine = {System.nanoTime()};
    return (table, rowsRead, rowsInSource) -> {
      long now = System.nanoTime();
      if (rowsRead >= rowsInSource || now - lastLine[0] > 5_000_000_000L) {
        out.printf("  %-24s %,d / %,d rows read%n", table, rowsRead, rowsInSource);
        lastLine[0] = now;
      }
    };
  }

  /** A URL fit for printing: a password given in its query is masked. */
  private static String redact(String url) {
    return url.replaceAll("(?i)(password=)[^&]*", "$1********");
  }

  private static int batchSize(String text) {
    try {
      return Integer.parseInt(text);
    } catch (NumberFormatException e) {
      throw new Main.UsageException(
          "migrate-metadata: --batch-size must be a number, got '" + text + "'");
    }
  }
}
