package dev.berth.admin;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import dev.berth.audit.AuditAction;
import dev.berth.audit.AuditActor;
import dev.berth.audit.AuditLog;
import dev.berth.audit.AuditOutcome;
import dev.berth.auth.Action;
import dev.berth.auth.RegistryAccess;
import dev.berth.distribution.ManifestService;
import dev.berth.http.Exchange;
import dev.berth.metadata.ArtifactDao;
import dev.berth.metadata.Database;
import dev.berth.metadata.RepositoryDao;
import dev.berth.oci.Digest;
import dev.berth.oci.DigestReference;
import dev.berth.oci.ErrorCode;
import dev.berth.oci.RegistryException;
import dev.berth.oci.RepositoryName;
import dev.berth.oci.Tag;
import java.io.IOException;
import java.net.URLEncoder;
import java.nio.charset.StandardCharsets;
import java.time.Instant;
import java.util.List;
import java.util.Map;
import java.util.OptionalLong;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/**
 * Repositories, artifacts and tags in the management API, listed a page at a time in SQL
 * ({@link ArtifactDao}) with the same permissions as {@code /v2}.
 *
 * <pre>
 *   GET    /api/v1/projects/{p}/repositories[?q=&amp;n=&amp;last=]   pull → {"repositories":[{"name","artifacts","tags"}]}
 *   DELETE /api/v1/repositories/{name}                     delete-repository → 204
 *   GET    /api/v1/repositories/{name}/artifacts[?n=&amp;last=<id>]  pull → newest first, each with its tags
 *   DELETE /api/v1/repositories/{name}/artifacts/{digest}  delete → 204 (the manifest and its tags)
 *   GET    /api/v1/repositories/{name}/tags[?q=&amp;n=&amp;last=]     pull → {"tags":[{"name","digest","updatedAt"}]}
 *   DELETE /api/v1/repositories/{name}/tags/{tag}          delete-tag → 204
 * </pre>
 *
 * Each page that has a next one carries a {@code Link: <…>; rel="next"} header.
 */
final class RepositoryApiHandler {
  static final String REPOSITORIES = "/api/v1/repositories/";
  private static final Pattern PROJECT_REPOSITORIES =
      Pattern.compile("/api/v1/projects/([^/]+)/repositories");
  private static final Pattern SUB_RESOURCE =
      Pattern.compile("/api/v1/repositories/(.+)/(artifacts|tags)(?:/([^/]+))?");

  private final Database database;
  private final ArtifactDao artifacts;
  private final RepositoryDao repositories;
  private final ManifestService manifests;
  private final ObjectMapper json;
  private final AuditLog audit;

  RepositoryApiHandler(
      Database database,
      ArtifactDao artifacts,
      RepositoryDao repositories,
      ManifestService manifests,
      ObjectMapper json,
      AuditLog audit) {
    this.audit = audit;
    this.database = database;
    this.artifacts = artifacts;
    this.repositories = repositories;
    this.manifests = manifests;
    this.json = json;
  }

  /** Whether this handler serves the path. */
  static boolean serves(String path) {
    return PROJECT_REPOSITORIES.matcher(path).matches()
        || (path.startsWith(REPOSITORIES) && !path.endsWith("/usage"));
  }

  void handle(Exchange exchange, String path, RegistryAccess.Caller caller, boolean readOnly)
      throws IOException {
    String method = exchange.method();
    if (readOnly && !method.equals("GET") && !method.equals("HEAD")) {
      throw new RegistryException(ErrorCode.UNSUPPORTED, "the registry is in read-only mode");
    }
    Matcher project = PROJECT_REPOSITORIES.matcher(path);
    if (project.matches()) {
      requireGet(exchange);
      String name = RepositoryName.project(project.group(1));
      caller.requireInProject(exchange, name, Action.PULL);
      listRepositories(exchange, name);
      return;
    }
    Matcher sub = SUB_RESOURCE.matcher(path);
    if (sub.matches()) {
      RepositoryName repository = RepositoryName.of(sub.group(1));
      String item = sub.group(3);
      boolean isArtifacts = sub.group(2).equals("artifacts");
      if (item == null) {
        requireGet(exchange);
        caller.require(exchange, repository, Action.PULL);
        long id = repositoryId(repository);
        if (isArtifacts) {
          listArtifacts(exchange, repository, id);
        } else {
          listTags(exchange, repository, id);
        }
        return;
      }
      if (!method.equals("DELETE")) {
        throw AdminHandler.notAllowed(exchange, "DELETE");
      }
      if (isArtifacts) {
        caller.require(exchange, repository, Action.DELETE_ARTIFACT);
        manifests.delete(
            repository, new DigestReference(Digest.parse(item)), caller.actor(exchange));
      } else {
        caller.require(exchange, repository, Action.DELETE_TAG);
        manifests.delete(repository, new Tag(item), caller.actor(exchange));
      }
      exchange.sendEmpty(204);
      return;
    }
    RepositoryName repository = RepositoryName.of(path.substring(REPOSITORIES.length()));
    if (!method.equals("DELETE")) {
      throw AdminHandler.notAllowed(exchange, "DELETE");
    }
    caller.require(exchange, repository, Action.DELETE_REPOSITORY);
    long id = repositoryId(repository);
    AuditActor actor = caller.actor(exchange);
    database.write(c -> {
      repositories.delete(c, id);
      audit.record(
          c,
          actor.event(
              AuditAction.REPOSITORY_DELETE,
              AuditOutcome.SUCCESS,
              repository.project(),
              repository.value(),
              "",
              ""));
      return null;
    });
    exchange.sendEmpty(204);
  }

  private void listRepositories(Exchange exchange, String project) throws IOException {
    int n = AdminHandler.pageSize(exchange);
    String q = bounded(exchange.query("q"));
    String last = bounded(exchange.query("last"));
    List<ArtifactDao.RepositorySummary> rows = database.read(c -> artifacts.repositories(
        c, project, project.equals(RepositoryName.DEFAULT_PROJECT), q, last, n + 1));
    ObjectNode root = json.createObjectNode();
    ArrayNode array = root.putArray("repositories");
    rows.stream().limit(n).forEach(row -> {
      ObjectNode node = array.addObject();
      node.put("name", row.name());
      node.put("artifacts", row.artifacts());
      node.put("tags", row.tags());
    });
    if (rows.size() > n) {
      next(
          exchange,
          "/api/v1/projects/" + project + "/repositories",
          rows.get(n - 1).name(),
          n,
          q);
    }
    send(exchange, root);
  }

  private void listArtifacts(Exchange exchange, RepositoryName repository, long id)
      throws IOException {
    int n = AdminHandler.pageSize(exchange);
    String last = exchange.query("last");
    long before;
    try {
      before = last == null ? 0 : Long.parseLong(last);
    } catch (NumberFormatException e) {
      throw AdminHandler.invalid("'last' is the id of the last artifact of the previous page");
    }
    List<ArtifactDao.Artifact> rows = database.read(c -> artifacts.artifacts(c, id, before, n + 1));
    ObjectNode root = json.createObjectNode();
    ArrayNode array = root.putArray("artifacts");
    rows.stream().limit(n).forEach(row -> {
      ObjectNode node = array.addObject();
      node.put("id", row.id());
      node.put("digest", row.digest().toString());
      node.put("mediaType", row.mediaType());
      if (row.artifactType() != null) {
        node.put("artifactType", row.artifactType());
      }
      node.put("size", row.size());
      node.put("pushedAt", Instant.ofEpochMilli(row.createdAt()).toString());
      ArrayNode tags = node.putArray("tags");
      row.tags().forEach(tags::add);
    });
    if (rows.size() > n) {
      next(
          exchange,
          REPOSITORIES + repository + "/artifacts",
          Long.toString(rows.get(n - 1).id()),
          n,
          null);
    }
    send(exchange, root);
  }

  private void listTags(Exchange exchange, RepositoryName repository, long id) throws IOException {
    int n = AdminHandler.pageSize(exchange);
    String q = bounded(exchange.query("q"));
    String last = bounded(exchange.query("last"));
    List<ArtifactDao.TagRow> rows = database.read(c -> artifacts.tags(c, id, q, last, n + 1));
    ObjectNode root = json.createObjectNode();
    ArrayNode array = root.putArray("tags");
    rows.stream().limit(n).forEach(row -> {
      ObjectNode node = array.addObject();
      node.put("name", row.name());
      node.put("digest", row.digest().toString());
      node.put("updatedAt", Instant.ofEpochMilli(row.updatedAt()).toString());
    });
    if (rows.size() > n) {
      next(exchange, REPOSITORIES + repository + "/tags", rows.get(n - 1).name(), n, q);
    }
    send(exchange, root);
  }

  private long repositoryId(RepositoryName repository) {
    OptionalLong id = database.read(c -> repositories.findId(c, repository.value()));
    return id.orElseThrow(() -> new RegistryException(
        ErrorCode.NAME_UNKNOWN,
        "repository name not known to registry",
        Map.of("name", repository.value())));
  }

  private static void next(Exchange exchange, String path, String last, int n, String q) {
    exchange.setHeader(
        "Link",
        "<" + path + "?last=" + encode(last) + "&n=" + n
            + (q == null || q.isEmpty() ? "" : "&q=" + encode(q)) + ">; rel=\"next\"");
  }

  /** Filters and cursors longer than any name are refused, not sent to the database. */
  private static String bounded(String value) {
    if (value != null && value.length() > 255) {
      throw AdminHandler.invalid("a filter or cursor has at most 255 characters");
    }
    return value;
  }

  private static void requireGet(Exchange exchange) {
    if (!exchange.method().equals("GET") && !exchange.method().equals("HEAD")) {
      throw AdminHandler.notAllowed(exchange, "GET");
    }
  }

  private void send(Exchange exchange, JsonNode body) throws IOException {
    exchange.send(200, "application/json", json.writeValueAsBytes(body));
  }

  private static String encode(String value) {
    return URLEncoder.encode(value, StandardCharsets.UTF_8);
  }
}
