package dev.berth.server;

import dev.berth.audit.AuditKey;
import dev.berth.audit.AuditVerification;
import dev.berth.audit.AuditVerifier;
import dev.berth.config.BerthConfig;
import dev.berth.config.ConfigLoader;
import dev.berth.metadata.Database;
import java.io.PrintStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;

/**
 * {@code berth audit verify}: walks the audit log's hash chain offline and names the first record
 * that was edited, inserted or deleted (decision 013). Exit status 0 when intact, 1 otherwise.
 */
final class AuditCommand {
  private AuditCommand() {}

  static int run(List<String> args, Map<String, String> env, PrintStream out, PrintStream err) {
    if (args.isEmpty() || !args.getFirst().equals("verify")) {
      throw new Main.UsageException("usage: berth audit verify [--config FILE | --data DIR]");
    }
    Path configFile = null;
    Map<String, String> overrides = new LinkedHashMap<>();
    for (int i = 1; i < args.size(); i++) {
      String arg = args.get(i);
      switch (arg) {
        case "--config" -> configFile = Path.of(Main.value(args, ++i, arg));
        case "--data" -> overrides.put("data-dir", Main.value(args, ++i, arg));
        default -> throw new Main.UsageException("audit verify: unknown option '" + arg + "'");
      }
    }
    Logging.quiet();
    BerthConfig config = new ConfigLoader().load(configFile, env, overrides);
    try (Database database = Berth.openDatabase(config)) {
      Optional<AuditKey> key = key(config);
      AuditVerification result = new AuditVerifier(database, key).verify();
      out.println(result.describe());
      return result.intact() ? 0 : 1;
    } catch (Exception e) {
      String message = String.valueOf(e.getMessage());
      err.println("berth: audit verify: "
          + message
          + (message.contains("locked")
              ? " (a running server holds the SQLite database; stop it first)"
              : ""));
      return 1;
    }
  }

  /** The configured key, or the data directory's generated one; never creates one. */
  private static Optional<AuditKey> key(BerthConfig config) throws java.io.IOException {
    String configured = config.audit().checkpointKey();
    if (!configured.isEmpty()) {
      return Optional.of(AuditKey.of(configured));
    }
    Path file = Path.of(config.dataDir()).resolve(AuditKey.FILE);
    return Files.exists(file)
        ? Optional.of(AuditKey.resolve("", Path.of(config.dataDir())))
        : Optional.empty();
  }
}
