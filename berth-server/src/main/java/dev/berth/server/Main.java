package dev.berth.server;

import dev.berth.config.BerthConfig;
import dev.berth.config.ConfigException;
import dev.berth.config.ConfigLoader;
import java.io.IOException;
import java.io.InputStream;
import java.io.PrintStream;
import java.nio.file.Path;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Properties;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/** The command line: {@code berth serve | gc | audit verify | version | config check}. */
public final class Main {
  private static final String USAGE = """
      usage: berth <command> [options]

      commands:
        serve [--config FILE] [--addr HOST:PORT] [--data DIR]
                                  run the registry (defaults: 0.0.0.0:5000, data in ./data)
        config check FILE         validate a configuration file and print the effective settings
        gc --server URL [--dry-run] [--delete-untagged] [--wait]
                                  start a garbage collection run on a running registry and print
                                  it (--wait: until it has finished); credentials for HTTP Basic
                                  from BERTH_USER and BERTH_PASSWORD when set
        gc --verify [--config FILE | --data DIR]
                                  compare storage with metadata without changing anything; exit
                                  status 0 when consistent, 1 when orphans or missing blobs exist
        audit verify [--config FILE | --data DIR]
                                  check the audit log's hash chain and signed checkpoints;
                                  exit status 0 when intact, 1 with a line naming the first
                                  edited, inserted or deleted record
        migrate-metadata (--data DIR | --config FILE) --to jdbc:postgresql://HOST:PORT/DB
                         [--username USER] [--password PASSWORD] [--batch-size N]
                                  copy a stopped single node's SQLite metadata into PostgreSQL;
                                  safe to run again (resumes, skips rows already copied); exit
                                  status 0 when every table's row count matches. Credentials
                                  also from BERTH_METADATA_USERNAME and BERTH_METADATA_PASSWORD
        version                   print the version
        help                      print this text

      Every configuration key can be set in the environment as BERTH_<KEY_PATH>,
      e.g. BERTH_SERVER_ADDR=127.0.0.1:5000 or BERTH_LOG_FORMAT=json.
      """;

  private Main() {}

  public static void main(String[] args) {
    System.exit(run(args, System.out, System.err));
  }

  static int run(String[] args, PrintStream out, PrintStream err) {
    return run(args, System.getenv(), out, err);
  }

  static int run(String[] args, Map<String, String> env, PrintStream out, PrintStream err) {
    List<String> arguments = List.of(args);
    if (arguments.isEmpty()) {
      err.print(USAGE);
      return 2;
    }
    try {
      return switch (arguments.getFirst()) {
        case "serve" -> serve(arguments.subList(1, arguments.size()), err);
        case "version", "--version" -> {
          out.println("berth " + version());
          yield 0;
        }
        case "config" -> config(arguments.subList(1, arguments.size()), out, err);
        case "gc" ->
          GarbageCollectCommand.run(arguments.subList(1, arguments.size()), env, out, err);
        case "audit" -> AuditCommand.run(arguments.subList(1, arguments.size()), env, out, err);
        case "migrate-metadata" ->
          MigrateMetadataCommand.run(arguments.subList(1, arguments.size()), env, out, err);
        case "help", "--help", "-h" -> {
          out.print(USAGE);
          yield 0;
        }
        default -> {
          err.println("berth: unknown command '" + arguments.getFirst() + "'");
          err.print(USAGE);
          yield 2;
        }
      };
    } catch (ConfigException | UsageException e) {
      err.println("berth: " + e.getMessage());
      return 2;
    }
  }

  private static int serve(List<String> args, PrintStream err) {
    Path configFile = null;
    Map<String, String> overrides = new LinkedHashMap<>();
    for (int i = 0; i < args.size(); i++) {
      String arg = args.get(i);
      switch (arg) {
        case "--config" -> configFile = Path.of(value(args, ++i, arg));
        case "--addr" -> overrides.put("server.addr", value(args, ++i, arg));
        case "--data" -> overrides.put("data-dir", value(args, ++i, arg));
        default -> throw new UsageException("serve: unknown option '" + arg + "'");
      }
    }
    Logging.quiet();
    BerthConfig config = new ConfigLoader().load(configFile, System.getenv(), overrides);
    Logging.configure(config.log());
    Logger log = LoggerFactory.getLogger(Main.class);
    Berth berth;
    try {
      berth = Berth.start(config);
    } catch (Exception e) {
      err.println("berth: cannot start: " + rootMessage(e));
      log.debug("start-up failure", e);
      return 1;
    }
    Runtime.getRuntime()
        .addShutdownHook(new Thread(
            () -> {
              log.info("shutting down");
              try {
                berth.close();
              } catch (Exception e) {
                log.warn("shutdown: {}", e.toString());
              }
            },
            "berth-shutdown"));
    log.info(
        "berth {} listening on {} ({}), data in {}",
        version(),
        config.server().addr().replaceAll(":\\d+$", ":" + berth.port()),
        config.server().tls().enabled() ? "https" : "http",
        Path.of(config.dataDir()).toAbsolutePath().normalize());
    try {
      berth.join();
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
    }
    return 0;
  }

  private static int config(List<String> args, PrintStream out, PrintStream err) {
    if (args.size() != 2 || !args.getFirst().equals("check")) {
      throw new UsageException("usage: berth config check FILE");
    }
    ConfigLoader loader = new ConfigLoader();
    BerthConfig config = loader.load(Path.of(args.get(1)), System.getenv(), Map.of());
    out.println("# " + args.get(1) + ": valid");
    out.print(loader.describe(config));
    return 0;
  }

  static String value(List<String> args, int index, String option) {
    if (index >= args.size()) {
      throw new UsageException(option + " needs a value");
    }
    return args.get(index);
  }

  private static String rootMessage(Throwable e) {
    Throwable cause = e;
    while (cause.getCause() != null && cause.getCause() != cause) {
      cause = cause.getCause();
    }
    String message = cause.getMessage() == null ? cause.toString() : cause.getMessage();
    return cause == e
        ? message
        : e.getMessage()
            + (e.getMessage() != null && e.getMessage().contains(message)
                ? ""
                : " (" + message + ")");
  }

  static String version() {
    try (InputStream in = Main.class.getResourceAsStream("/berth-version.properties")) {
      Properties properties = new Properties();
      if (in != null) {
        properties.load(in);
      }
      return properties.getProperty("version", "unknown");
    } catch (IOException e) {
      return "unknown";
    }
  }

  static final class UsageException extends RuntimeException {
    UsageException(String message) {
      super(message);
    }
  }
}
