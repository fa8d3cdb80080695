package dev.berth.server;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ObjectNode;
import dev.berth.config.BerthConfig;
import dev.berth.config.ConfigLoader;
import dev.berth.gc.GarbageCollectService;
import dev.berth.jobs.Pacer;
import dev.berth.metadata.Database;
import dev.berth.storage.BlobDriver;
import dev.berth.storage.BlobStore;
import java.io.IOException;
import java.io.PrintStream;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.time.Duration;
import java.util.Base64;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * {@code berth gc}: start a run on a running registry through the management API, or compare
 * storage with metadata offline ({@code --verify}).
 */
final class GarbageCollectCommand {
  private static final ObjectMapper JSON = new ObjectMapper();
  private static final Duration POLL = Duration.ofMillis(500);

  private GarbageCollectCommand() {}

  static int run(List<String> args, Map<String, String> env, PrintStream out, PrintStream err) {
    String server = null;
    boolean dryRun = false;
    boolean deleteUntagged = false;
    boolean wait = false;
    boolean verify = false;
    Path configFile = null;
    Map<String, String> overrides = new LinkedHashMap<>();
    for (int i = 0; i < args.size(); i++) {
      String arg = args.get(i);
      switch (arg) {
        case "--server" -> server = Main.value(args, ++i, arg);
        case "--dry-run" -> dryRun = true;
        case "--delete-untagged" -> deleteUntagged = true;
        case "--wait" -> wait = true;
        case "--verify" -> verify = true;
        case "--config" -> configFile = Path.of(Main.value(args, ++i, arg));
        case "--data" -> overrides.put("data-dir", Main.value(args, ++i, arg));
        default -> throw new Main.UsageException("gc: unknown option '" + arg + "'");
      }
    }
    if (verify == (server != null)) {
      throw new Main.UsageException("gc: give either --server URL or --verify");
    }
    if (verify) {
      if (dryRun || deleteUntagged || wait) {
        throw new Main.UsageException(
            "gc --verify changes nothing; --dry-run, --delete-untagged and --wait do not apply");
      }
      return verify(configFile, overrides, env, out, err);
    }
    if (configFile != null || !overrides.isEmpty()) {
      throw new Main.UsageException("gc --server: --config and --data apply to --verify only");
    }
    return remote(server, dryRun, deleteUntagged, wait, env, out, err);
  }

  private static int remote(
      String server,
      boolean dryRun,
      boolean deleteUntagged,
      boolean wait,
      Map<String, String> env,
      PrintStream out,
      PrintStream err) {
    String base = server.endsWith("/") ? server.substring(0, server.length() - 1) : server;
    String user = env.get("BERTH_USER");
    String authorization = user == null || user.isEmpty()
        ? null
        : "Basic "
            + Base64.getEncoder()
                .encodeToString((user + ":" + env.getOrDefault("BERTH_PASSWORD", ""))
                    .getBytes(StandardCharsets.UTF_8));
    HttpClient http =
        HttpClient.newBuilder().connectTimeout(Duration.ofSeconds(10)).build();
    try {
      ObjectNode body =
          JSON.createObjectNode().put("dryRun", dryRun).put("deleteUntagged", deleteUntagged);
      HttpResponse<byte[]> response = send(
          http,
          request(base + "/api/v1/gc/runs", authorization)
              .POST(HttpRequest.BodyPublishers.ofByteArray(JSON.writeValueAsBytes(body)))
              .header("Content-Type", "application/json"));
      if (response.statusCode() != 202) {
        err.println("berth: gc: " + base + " answered " + response.statusCode() + ": "
            + errorMessage(response) + credentialsHint(response.statusCode(), authorization));
        return 1;
      }
      JsonNode run = JSON.readTree(response.body());
      long id = run.path("id").asLong();
      while (wait && run.path("finishedAt").isNull()) {
        Thread.sleep(POLL);
        response =
            send(http, request(base + "/api/v1/gc/runs/" + id, authorization).GET());
        if (response.statusCode() != 200) {
          err.println("berth: gc: " + base + " answered " + response.statusCode() + ": "
              + errorMessage(response));
          return 1;
        }
        run = JSON.readTree(response.body());
      }
      out.println(describe(run));
      String status = run.path("status").asText();
      return status.equals("failed") || status.equals("interrupted") ? 1 : 0;
    } catch (IOException e) {
      err.println("berth: gc: cannot reach " + base + ": " + e.getMessage());
      return 1;
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
      return 1;
    } finally {
      http.close();
    }
  }

  private static HttpRequest.Builder request(String url, String authorization) {
    HttpRequest.Builder builder =
        HttpRequest.newBuilder(URI.create(url)).timeout(Duration.ofSeconds(30));
    if (authorization != null) {
      builder.header("Authorization", authorization);
    }
    return builder;
  }

  private static HttpResponse<byte[]> send(HttpClient http, HttpRequest.Builder request)
      throws IOException, InterruptedException {
    return http.send(request.build(), HttpResponse.BodyHandlers.ofByteArray());
  }

  private static String errorMessage(HttpResponse<byte[]> response) {
    try {
      JsonNode error = JSON.readTree(response.body()).path("errors").path(0);
      if (error.has("message")) {
        return error.path("message").asText();
      }
    } catch (IOException e) {
      // not JSON: show it as it is
    }
    return new String(response.body(), StandardCharsets.UTF_8).strip();
  }

  /** What to do about a 401 or 403: garbage collection needs a system administrator. */
  private static String credentialsHint(int status, String authorization) {
    if (status == 401 && authorization == null) {
      return " (set BERTH_USER and BERTH_PASSWORD to a system administrator's credentials)";
    }
    if (status == 401 || status == 403) {
      return " (BERTH_USER must name a system administrator, with BERTH_PASSWORD its password)";
    }
    return "";
  }

  /** One line: {@code gc run 7 succeeded (dry run): 3 blobs, … deleted, 1234 bytes freed, 0 errors}. */
  static String describe(JsonNode run) {
    StringBuilder line = new StringBuilder();
    line.append("gc run ")
        .append(run.path("id").asLong())
        .append(' ')
        .append(run.path("status").asText());
    if (run.path("dryRun").asBoolean()) {
      line.append(" (dry run: nothing deleted, these would be)");
    }
    line.append(": ")
        .append(run.path("linksPruned").asLong())
        .append(" repository links, ")
        .append(run.path("blobsDeleted").asLong())
        .append(" blobs, ")
        .append(run.path("manifestsDeleted").asLong())
        .append(" manifests, ")
        .append(run.path("uploadsDeleted").asLong())
        .append(" uploads, ")
        .append(run.path("orphansDeleted").asLong())
        .append(" orphan files, ")
        .append(run.path("bytesFreed").asLong())
        .append(" bytes, ")
        .append(run.path("errors").asInt())
        .append(" errors");
    if (run.has("durationMillis")) {
      line.append(", ").append(run.path("durationMillis").asLong()).append(" ms");
    }
    if (run.has("lastError")) {
      line.append("; last error: ").append(run.path("lastError").asText());
    }
    return line.toString();
  }

  private static int verify(
      Path configFile,
      Map<String, String> overrides,
      Map<String, String> env,
      PrintStream out,
      PrintStream err) {
    Logging.quiet();
    BerthConfig config = new ConfigLoader().load(configFile, env, overrides);
    try (Database database = Berth.openDatabase(config);
        BlobDriver driver = Berth.openDriver(config)) {
      GarbageCollectService service =
          Berth.garbageCollector(config, database, new BlobStore(driver), JSON, Pacer.UNPACED);
      GarbageCollectService.Verification result = service.verify();
      for (String orphan : result.orphans()) {
        out.println("orphan (bytes without a row): " + orphan);
      }
      for (String missing : result.missing()) {
        out.println("missing (a row without bytes): " + missing);
      }
      for (String unfinished : result.unfinishedDeletions()) {
        out.println(
            "deletion left unfinished by a stopped run (the next run completes it): " + unfinished);
      }
      out.println((result.consistent() ? "consistent" : "inconsistent")
          + ": "
          + result.liveBlobs()
          + " blobs checked, "
          + result.orphans().size()
          + " orphans, "
          + result.missing().size()
          + " missing");
      return result.consistent() ? 0 : 1;
    } catch (Exception e) {
      String message = String.valueOf(e.getMessage());
      err.println("berth: gc --verify: "
          + message
          + (message.contains("locked")
              ? " (a running server holds the SQLite database; stop it first)"
              : ""));
      return 1;
    }
  }
}
