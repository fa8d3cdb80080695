package dev.berth.admin;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import dev.berth.audit.AuditAction;
import dev.berth.audit.AuditActor;
import dev.berth.audit.AuditLog;
import dev.berth.audit.AuditOutcome;
import dev.berth.auth.AccessController;
import dev.berth.auth.Action;
import dev.berth.auth.IdentityService;
import dev.berth.auth.RegistryAccess;
import dev.berth.distribution.ManifestService;
import dev.berth.gc.GarbageCollectJob;
import dev.berth.gc.GarbageCollectRun;
import dev.berth.gc.GarbageCollectService;
import dev.berth.http.Exchange;
import dev.berth.metadata.ArtifactDao;
import dev.berth.metadata.Database;
import dev.berth.metadata.RepositoryDao;
import dev.berth.metadata.UsageDao;
import dev.berth.oci.ErrorCode;
import dev.berth.oci.RegistryException;
import dev.berth.oci.RepositoryName;
import dev.berth.settings.SystemSettings;
import java.io.IOException;
import java.util.List;
import java.util.Map;

/**
 * The management API under {@code /api/v1} (so far garbage collection and storage use). Errors use the same
 * JSON body as {@code /v2} ({@code {"errors":[{"code","message","detail"}]}}), written by {@code
 * http.ErrorResponses}.
 *
 * <pre>
 *   POST /api/v1/gc/runs        {"dryRun":bool,"deleteUntagged":bool} → 202 {run}, Location; 409 while one runs
 *   GET  /api/v1/gc/runs        → 200 {"runs":[run…]} newest first (?n=, default 50), without "deleted"
 *   GET  /api/v1/gc/runs/{id}   → 200 {run} with "deleted" (what it deleted); 404 when unknown
 *   GET  /api/v1/projects/{project}/gc-policy  → 200 {"project","deleteUntagged"}
 *   PUT  /api/v1/projects/{project}/gc-policy  {"deleteUntagged":bool} → 200 the same
 *   GET  /api/v1/projects/{project}/usage      → 200 {usage}
 *   GET  /api/v1/repositories/{name}/usage     → 200 {usage}; 404 NAME_UNKNOWN when absent
 *   GET, PUT /api/v1/system/settings           → runtime settings ({@link SettingsHandler})
 * </pre>
 *
 * A usage is {@code {"repositories","blobs","bytes","sharedBytes","uniqueBytes","manifests",
 * "manifestBytes"}} ({@link UsageDao.Usage}). A project is the first component of a repository
 * name ({@code library} for one-component names); its policy makes every garbage-collection run
 * delete its untagged manifests.
 *
 * Every route under {@code /api/v1} is described by {@code openapi.json} beside this class (served
 * by {@link ApiDocsHandler}); a test in berth-server checks that the two agree.
 *
 * The same authentication as {@code /v2} (Basic credentials or a bearer token), and also a
 * browser session cookie with its CSRF token ({@link RegistryAccess#managementCaller}): garbage
 * collection needs a system administrator; a project's policy and usage need the project's
 * permissions ({@code manage-policies} to change the policy, pull to read).
 */
public final class AdminHandler {
  private static final String RUNS = "/api/v1/gc/runs";
  private static final String PROJECTS = "/api/v1/projects/";
  private static final String REPOSITORIES = "/api/v1/repositories/";
  private static final int MAX_BODY = 64 << 10;

  private final GarbageCollectJob job;
  private final GarbageCollectService service;
  private final Database database;
  private final UsageDao usage;
  private final ObjectMapper json;
  private final boolean readOnly;
  private final RegistryAccess access;
  private final IdentityHandler identities;
  private final RepositoryApiHandler repositoryApi;
  private final AuditLog audit;
  private final SettingsHandler settings;

  public AdminHandler(
      GarbageCollectJob job,
      GarbageCollectService service,
      Database database,
      UsageDao usage,
      ObjectMapper json,
      boolean readOnly,
      RegistryAccess access,
      IdentityService identities,
      AccessController accessController,
      ManifestService manifests,
      AuditLog audit,
      SystemSettings settings) {
    this.access = access;
    this.settings = new SettingsHandler(settings, json);
    this.audit = audit;
    this.repositoryApi = new RepositoryApiHandler(
        database, new ArtifactDao(), new RepositoryDao(), manifests, json, audit);
    this.identities = new IdentityHandler(identities, accessController, database, usage, json);
    this.job = job;
    this.service = service;
    this.database = database;
    this.usage = usage;
    this.json = json;
    this.readOnly = readOnly;
  }

  public void handle(Exchange exchange) throws IOException {
    String path = exchange.path();
    if (path.endsWith("/") && path.length() > 1) {
      path = path.substring(0, path.length() - 1);
    }
    RegistryAccess.Caller caller = access.managementCaller(exchange);
    if (SettingsHandler.serves(path)) {
      settings.handle(exchange, caller, readOnly);
      return;
    }
    if (RepositoryApiHandler.serves(path)) {
      repositoryApi.handle(exchange, path, caller, readOnly);
      return;
    }
    if (path.equals(IdentityHandler.USERS)
        || path.startsWith(IdentityHandler.USERS + "/")
        || path.equals(IdentityHandler.PROJECTS)
        || path.equals(IdentityHandler.ROBOTS)
        || path.startsWith(IdentityHandler.ROBOTS + "/")
        || (path.startsWith(PROJECTS)
            && !path.endsWith("/usage")
            && !path.endsWith("/gc-policy"))) {
      if (readOnly && !exchange.method().equals("GET") && !exchange.method().equals("HEAD")) {
        throw new RegistryException(ErrorCode.UNSUPPORTED, "the registry is in read-only mode");
      }
      identities.handle(exchange, path, caller);
      return;
    }
    if (path.equals(RUNS) || path.startsWith(RUNS + "/")) {
      caller.requireAdmin(exchange);
    }
    if (path.equals(RUNS)) {
      switch (exchange.method()) {
        case "POST" -> submit(exchange);
        case "GET", "HEAD" -> list(exchange);
        default -> throw notAllowed(exchange, "GET, POST");
      }
      return;
    }
    if (path.startsWith(RUNS + "/")) {
      if (!exchange.method().equals("GET") && !exchange.method().equals("HEAD")) {
        throw notAllowed(exchange, "GET");
      }
      long id;
      try {
        id = Long.parseLong(path.substring(RUNS.length() + 1));
      } catch (NumberFormatException e) {
        throw unknownRun(path.substring(RUNS.length() + 1));
      }
      GarbageCollectRun run = service.run(id).orElseThrow(() -> unknownRun(Long.toString(id)));
      send(exchange, 200, runJson(run, true));
      return;
    }
    if (path.startsWith(PROJECTS) && path.endsWith("/gc-policy")) {
      String project = RepositoryName.project(
          path.substring(PROJECTS.length(), path.length() - "/gc-policy".length()));
      caller.requireInProject(
          exchange,
          project,
          exchange.method().equals("PUT") ? Action.MANAGE_POLICIES : Action.PULL);
      switch (exchange.method()) {
        case "GET", "HEAD" -> sendPolicy(exchange, project);
        case "PUT" -> putPolicy(exchange, project, caller.actor(exchange));
        default -> throw notAllowed(exchange, "GET, PUT");
      }
      return;
    }
    if (path.startsWith(PROJECTS) && path.endsWith("/usage")) {
      requireGet(exchange);
      String project = RepositoryName.project(
          path.substring(PROJECTS.length(), path.length() - "/usage".length()));
      caller.requireInProject(exchange, project, Action.PULL);
      ObjectNode node = usageJson(database.read(c -> usage.project(c, project)));
      node.put("project", project);
      send(exchange, 200, node);
      return;
    }
    if (path.startsWith(REPOSITORIES) && path.endsWith("/usage")) {
      requireGet(exchange);
      RepositoryName name = RepositoryName.of(path.substring(
          REPOSITORIES.length(),
          Math.max(REPOSITORIES.length(), path.length() - "/usage".length())));
      caller.require(exchange, name, Action.PULL);
      UsageDao.Usage found = database
          .read(c -> usage.repository(c, name))
          .orElseThrow(() -> new RegistryException(
              ErrorCode.NAME_UNKNOWN,
              "repository name not known to registry: " + name,
              java.util.Map.of("name", name.value())));
      ObjectNode node = usageJson(found);
      node.put("repository", name.value());
      node.put("project", name.project());
      send(exchange, 200, node);
      return;
    }
    throw new RegistryException(ErrorCode.NOT_FOUND, "no route for " + exchange.path());
  }

  private static void requireGet(Exchange exchange) {
    if (!exchange.method().equals("GET") && !exchange.method().equals("HEAD")) {
      throw notAllowed(exchange, "GET");
    }
  }

  private void sendPolicy(Exchange exchange, String project) throws IOException {
    ObjectNode node = json.createObjectNode();
    node.put("project", project);
    node.put("deleteUntagged", service.deletesUntagged(project));
    send(exchange, 200, node);
  }

  private void putPolicy(Exchange exchange, String project, AuditActor actor) throws IOException {
    byte[] body = exchange.readBody(MAX_BODY, ErrorCode.SIZE_INVALID);
    if (readOnly) {
      throw new RegistryException(ErrorCode.UNSUPPORTED, "the registry is in read-only mode");
    }
    JsonNode request = object(body);
    JsonNode value = request.get("deleteUntagged");
    if (value == null || !value.isBoolean()) {
      throw invalid("'deleteUntagged' is required and must be true or false");
    }
    service.setDeletesUntagged(
        project,
        value.booleanValue(),
        audit,
        actor
            .event(AuditAction.SETTING_UPDATE, AuditOutcome.SUCCESS)
            .withResource(project, "", "", "")
            .withDetail(Map.of(
                "setting", "gc.delete-untagged", "value", Boolean.toString(value.booleanValue()))));
    sendPolicy(exchange, project);
  }

  private ObjectNode usageJson(UsageDao.Usage found) {
    ObjectNode node = json.createObjectNode();
    node.put("repositories", found.repositories());
    node.put("blobs", found.blobs());
    node.put("bytes", found.bytes());
    node.put("sharedBytes", found.sharedBytes());
    node.put("uniqueBytes", found.uniqueBytes());
    node.put("manifests", found.manifests());
    node.put("manifestBytes", found.manifestBytes());
    return node;
  }

  private JsonNode object(byte[] body) {
    JsonNode request;
    try {
      request = json.readTree(body);
    } catch (IOException e) {
      throw invalid("body is not JSON: " + e.getMessage());
    }
    if (request == null || !request.isObject()) {
      throw invalid("body must be a JSON object");
    }
    return request;
  }

  private void submit(Exchange exchange) throws IOException {
    byte[] body = exchange.readBody(MAX_BODY, ErrorCode.SIZE_INVALID);
    if (readOnly) {
      throw new RegistryException(ErrorCode.UNSUPPORTED, "the registry is in read-only mode");
    }
    boolean dryRun = false;
    boolean deleteUntagged = false;
    if (body.length > 0) {
      JsonNode request = object(body);
      dryRun = flag(request, "dryRun");
      deleteUntagged = flag(request, "deleteUntagged");
    }
    long id = job.submit(new GarbageCollectService.Options(dryRun, deleteUntagged), "api");
    GarbageCollectRun run = service.run(id).orElseThrow();
    exchange.setHeader("Location", RUNS + "/" + id);
    send(exchange, 202, runJson(run, true));
  }

  private static boolean flag(JsonNode request, String name) {
    JsonNode value = request.get(name);
    if (value == null || value.isNull()) {
      return false;
    }
    if (!value.isBoolean()) {
      throw invalid("'" + name + "' must be true or false");
    }
    return value.booleanValue();
  }

  /** The page size {@code n}: 1 to 1000, default 50. */
  static int pageSize(Exchange exchange) {
    int limit = 50;
    String n = exchange.query("n");
    if (n != null) {
      try {
        limit = Integer.parseInt(n);
      } catch (NumberFormatException e) {
        limit = -1;
      }
      if (limit < 1 || limit > 1000) {
        throw new RegistryException(
            ErrorCode.PAGINATION_NUMBER_INVALID, "n must be between 1 and 1000");
      }
    }
    return limit;
  }

  private void list(Exchange exchange) throws IOException {
    int limit = pageSize(exchange);
    List<GarbageCollectRun> runs = service.runs(limit);
    ObjectNode root = json.createObjectNode();
    ArrayNode array = root.putArray("runs");
    // Without the lists of what was deleted: up to 4,000 entries each, fetched per run.
    runs.forEach(run -> array.add(runJson(run, false)));
    send(exchange, 200, root);
  }

  private ObjectNode runJson(GarbageCollectRun run, boolean withReport) {
    ObjectNode node = json.createObjectNode();
    node.put("id", run.id());
    node.put("status", run.status());
    node.put("dryRun", run.dryRun());
    node.put("deleteUntagged", run.deleteUntagged());
    node.put("trigger", run.trigger());
    node.put("startedAt", java.time.Instant.ofEpochMilli(run.startedAt()).toString());
    if (run.finishedAt() != null) {
      node.put("finishedAt", java.time.Instant.ofEpochMilli(run.finishedAt()).toString());
      node.put("durationMillis", run.finishedAt() - run.startedAt());
    } else {
      node.putNull("finishedAt");
    }
    node.put("linksPruned", run.linksPruned());
    node.put("blobsDeleted", run.blobsDeleted());
    node.put("manifestsDeleted", run.manifestsDeleted());
    node.put("uploadsDeleted", run.uploadsDeleted());
    node.put("orphansDeleted", run.orphansDeleted());
    node.put("bytesFreed", run.bytesFreed());
    node.put("errors", run.errors());
    if (run.errorMessage() != null) {
      node.put("lastError", run.errorMessage());
    }
    if (withReport && run.report() != null) {
      try {
        node.set("deleted", json.readTree(run.report()));
      } catch (IOException e) {
        node.put("deleted", run.report());
      }
    }
    return node;
  }

  private void send(Exchange exchange, int status, JsonNode body) throws IOException {
    exchange.send(status, "application/json", json.writeValueAsBytes(body));
  }

  static RegistryException notAllowed(Exchange exchange, String allowed) {
    exchange.setHeader("Allow", allowed);
    return new RegistryException(
        ErrorCode.UNSUPPORTED, exchange.method() + " is not allowed here; use " + allowed);
  }

  private static RegistryException unknownRun(String id) {
    return new RegistryException(ErrorCode.NOT_FOUND, "no garbage collection run " + id);
  }

  static RegistryException invalid(String message) {
    return new RegistryException(ErrorCode.INVALID_REQUEST, message);
  }
}
