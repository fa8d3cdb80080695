package dev.berth.server;

import static org.assertj.core.api.Assertions.assertThat;

import dev.berth.auth.Action;
import dev.berth.auth.Permissions;
import dev.berth.auth.Role;
import java.net.http.HttpRequest.BodyPublishers;
import java.net.http.HttpResponse;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.Base64;
import java.util.HashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.TreeSet;
import java.util.regex.Pattern;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

/**
 * Issue 4 §6 for the management API: every {@code /api/v1} route that acts on a project (and the
 * system administrator's routes) × every role, a non-member, a system administrator, a robot
 * account (Basic and bearer) and anonymous × project visibility. Each cell's expected answer is derived from the permission data ({@link
 * Permissions}) and the route's gate, never written out by hand, and asserted against a running
 * server with access control on.
 *
 * <p>The answers, as {@code RegistryAccess.Caller} gives them: allowed → the route's answer (a
 * success status, or 404 for a robot that does not exist); not allowed → 401 for anonymous callers; on a project route, 404 (as for a project that
 * does not exist) when the caller may not even pull from the project, else 403; on a repository
 * route, 404 for a pull and 403 for anything else (as on {@code /v2}), except that a bearer token
 * without the scope gets the token protocol's 401 (insufficient_scope); on a system administrator's
 * route, 403. A token's scope never grants more than the caller's permissions: its one {@code
 * delete} covers three of them.
 *
 * <p>Every operation of the OpenAPI document is either a row here or listed in {@link
 * #OUTSIDE_MATRIX} with the reason, so a new route without an expectation fails the build.
 */
class ManagementPermissionMatrixTest {
  private static final String ADMIN_PASSWORD = "matrix-admin-password";
  private static final String PRIVATE = "private-mgmt";
  private static final String PUBLIC = "public-mgmt";
  private static InProcessBerth berth;
  private static byte[] sharedManifest;
  private static byte[] sharedLayer;
  private static long gcRun;
  private static boolean usersCreateProjects;

  /** How a route checks its caller. */
  private enum Gate {
    /** {@code requireInProject}: the project's permissions. */
    PROJECT,
    /** {@code require}: the permissions of the repository's project, answered as on /v2. */
    REPOSITORY,
    /** {@code requireAdmin}: system administrators only. */
    ADMIN
  }

  /**
   * Who calls: a member with a role, a user who is no member, a system administrator, a robot
   * account (with Basic credentials, or with a bearer token from the token endpoint), or nobody.
   */
  private record Caller(
      String name, String password, Role role, boolean admin, Set<Action> robot, boolean bearer) {
    static Caller user(String name, Role role, boolean admin) {
      return new Caller(name, name + "-password", role, admin, null, false);
    }

    boolean anonymous() {
      return name == null;
    }

    /** What the permission data grants it in either project: its role's, or its robot list. */
    Set<Action> granted() {
      return role != null ? Permissions.of(role) : robot != null ? robot : Set.of();
    }

    String label() {
      return anonymous() ? "anonymous" : bearer ? name + " (bearer)" : name;
    }
  }

  private record Cell(String project, boolean isPublic, int index) {}

  private record Request(String method, String path, String body) {}

  /** Prepares what the cell needs (as the administrator) and returns the request to make. */
  private interface Prepare {
    Request prepare(Cell cell);
  }

  /**
   * A row: the document's operation it exercises, how it is gated, the permission it needs
   * (none for {@link Gate#ADMIN}), its success status, and the request.
   */
  private record Route(
      String label, String operation, Gate gate, Action action, int success, Prepare prepare) {}

  private static final List<Route> ROUTES = List.of(
      // Projects and their members.
      new Route(
          "get project",
          "GET /api/v1/projects/{project}",
          Gate.PROJECT,
          Action.PULL,
          200,
          cell -> get("/api/v1/projects/" + cell.project())),
      new Route(
          "set visibility",
          "PUT /api/v1/projects/{project}",
          Gate.PROJECT,
          Action.MANAGE_MEMBERS,
          204,
          // The visibility it has, so that no cell changes another's.
          cell -> new Request(
              "PUT", "/api/v1/projects/" + cell.project(), "{\"public\":" + cell.isPublic() + "}")),
      new Route(
          "delete project",
          "DELETE /api/v1/projects/{project}",
          Gate.PROJECT,
          Action.MANAGE_MEMBERS,
          204,
          cell -> new Request(
              "DELETE",
              "/api/v1/projects/"
                  + project(cell.project() + "-gone-" + cell.index(), cell.isPublic()),
              null)),
      new Route(
          "list members",
          "GET /api/v1/projects/{project}/members",
          Gate.PROJECT,
          Action.READ_AUDIT,
          200,
          cell -> get("/api/v1/projects/" + cell.project() + "/members")),
      new Route(
          "put member",
          "PUT /api/v1/projects/{project}/members",
          Gate.PROJECT,
          Action.MANAGE_MEMBERS,
          204,
          cell -> new Request(
              "PUT",
              "/api/v1/projects/" + cell.project() + "/members",
              "{\"type\":\"user\",\"name\":\"bystander\",\"role\":\"guest\"}")),
      new Route(
          "remove member",
          "DELETE /api/v1/projects/{project}/members/{type}/{name}",
          Gate.PROJECT,
          Action.MANAGE_MEMBERS,
          204,
          cell -> {
            member(cell.project(), "bystander", Role.GUEST);
            return new Request(
                "DELETE", "/api/v1/projects/" + cell.project() + "/members/user/bystander", null);
          }),
      new Route(
          "project gc-policy",
          "GET /api/v1/projects/{project}/gc-policy",
          Gate.PROJECT,
          Action.PULL,
          200,
          cell -> get("/api/v1/projects/" + cell.project() + "/gc-policy")),
      new Route(
          "set gc-policy",
          "PUT /api/v1/projects/{project}/gc-policy",
          Gate.PROJECT,
          Action.MANAGE_POLICIES,
          200,
          cell -> new Request(
              "PUT",
              "/api/v1/projects/" + cell.project() + "/gc-policy",
              "{\"deleteUntagged\":false}")),
      new Route(
          "project usage",
          "GET /api/v1/projects/{project}/usage",
          Gate.PROJECT,
          Action.PULL,
          200,
          cell -> get("/api/v1/projects/" + cell.project() + "/usage")),
      new Route(
          "list repositories",
          "GET /api/v1/projects/{project}/repositories",
          Gate.PROJECT,
          Action.PULL,
          200,
          cell -> get("/api/v1/projects/" + cell.project() + "/repositories")),
      new Route(
          "project audit log",
          "GET /api/v1/audit-logs",
          Gate.PROJECT,
          Action.READ_AUDIT,
          200,
          cell -> get("/api/v1/audit-logs?project=" + cell.project())),
      // The project's robot accounts.
      new Route(
          "list project robots",
          "GET /api/v1/projects/{project}/robots",
          Gate.PROJECT,
          Action.MANAGE_ROBOTS,
          200,
          cell -> get("/api/v1/projects/" + cell.project() + "/robots")),
      new Route(
          "create project robot",
          "POST /api/v1/robots",
          Gate.PROJECT,
          Action.MANAGE_ROBOTS,
          201,
          cell -> new Request(
              "POST",
              "/api/v1/robots",
              "{\"name\":\"made-" + cell.index() + "\",\"project\":\"" + cell.project()
                  + "\",\"permissions\":{\"" + cell.project() + "\":[\"pull\"]}}")),
      new Route(
          "get project robot",
          "GET /api/v1/robots/{robot}",
          Gate.PROJECT,
          Action.MANAGE_ROBOTS,
          200,
          cell -> get("/api/v1/robots/robot$" + cell.project() + "+shared")),
      // Whether a robot exists is the answer only for those who may see it.
      new Route(
          "get unknown project robot",
          "GET /api/v1/robots/{robot}",
          Gate.PROJECT,
          Action.MANAGE_ROBOTS,
          404,
          cell -> get("/api/v1/robots/robot$" + cell.project() + "+nobody")),
      new Route(
          "delete project robot",
          "DELETE /api/v1/robots/{robot}",
          Gate.PROJECT,
          Action.MANAGE_ROBOTS,
          204,
          cell -> new Request(
              "DELETE", "/api/v1/robots/" + robot(cell.project(), "gone-" + cell.index()), null)),
      new Route(
          "rotate project robot secret",
          "POST /api/v1/robots/{robot}/secret",
          Gate.PROJECT,
          Action.MANAGE_ROBOTS,
          200,
          cell ->
              new Request("POST", "/api/v1/robots/robot$" + cell.project() + "+shared/secret", "")),
      new Route(
          "enable project robot",
          "PUT /api/v1/robots/{robot}/disabled",
          Gate.PROJECT,
          Action.MANAGE_ROBOTS,
          204,
          cell -> new Request(
              "PUT",
              "/api/v1/robots/robot$" + cell.project() + "+shared/disabled",
              "{\"disabled\":false}")),
      // Repositories, artifacts and tags.
      new Route(
          "list artifacts",
          "GET /api/v1/repositories/{name}/artifacts",
          Gate.REPOSITORY,
          Action.PULL,
          200,
          cell -> get("/api/v1/repositories/" + cell.project() + "/app/artifacts")),
      new Route(
          "list tags",
          "GET /api/v1/repositories/{name}/tags",
          Gate.REPOSITORY,
          Action.PULL,
          200,
          cell -> get("/api/v1/repositories/" + cell.project() + "/app/tags")),
      new Route(
          "repository usage",
          "GET /api/v1/repositories/{name}/usage",
          Gate.REPOSITORY,
          Action.PULL,
          200,
          cell -> get("/api/v1/repositories/" + cell.project() + "/app/usage")),
      new Route(
          "delete tag",
          "DELETE /api/v1/repositories/{name}/tags/{tag}",
          Gate.REPOSITORY,
          Action.DELETE_TAG,
          204,
          cell -> {
            String repository = cell.project() + "/app";
            pushManifest(repository, "t" + cell.index(), Content.OCI_MANIFEST, sharedManifest);
            return new Request(
                "DELETE", "/api/v1/repositories/" + repository + "/tags/t" + cell.index(), null);
          }),
      new Route(
          "delete artifact",
          "DELETE /api/v1/repositories/{name}/artifacts/{digest}",
          Gate.REPOSITORY,
          Action.DELETE_ARTIFACT,
          204,
          cell -> {
            String repository = cell.project() + "/app";
            byte[] config = Content.randomConfig();
            pushBlob(repository, config);
            String digest = pushManifest(
                repository,
                "a" + cell.index(),
                Content.OCI_MANIFEST,
                Content.ociManifest(
                    Content.descriptor(Content.OCI_CONFIG, config),
                    Content.descriptor(Content.OCI_LAYER, sharedLayer)));
            return new Request(
                "DELETE", "/api/v1/repositories/" + repository + "/artifacts/" + digest, null);
          }),
      new Route(
          "delete repository",
          "DELETE /api/v1/repositories/{name}",
          Gate.REPOSITORY,
          Action.DELETE_REPOSITORY,
          204,
          cell -> {
            String repository = cell.project() + "/gone-" + cell.index();
            pushImage(repository);
            return new Request("DELETE", "/api/v1/repositories/" + repository, null);
          }),
      // The system administrator's routes: the same in either project.
      new Route(
          "list users", "GET /api/v1/users", Gate.ADMIN, null, 200, cell -> get("/api/v1/users")),
      new Route(
          "create user",
          "POST /api/v1/users",
          Gate.ADMIN,
          null,
          201,
          cell -> new Request(
              "POST",
              "/api/v1/users",
              "{\"username\":\"made-" + cell.index() + "\",\"password\":\"made-password\"}")),
      new Route(
          "get another user",
          "GET /api/v1/users/{username}",
          Gate.ADMIN,
          null,
          200,
          cell -> get("/api/v1/users/bystander")),
      new Route(
          "delete user",
          "DELETE /api/v1/users/{username}",
          Gate.ADMIN,
          null,
          204,
          cell -> new Request("DELETE", "/api/v1/users/" + user("gone-" + cell.index()), null)),
      new Route(
          "set another's password",
          "PUT /api/v1/users/{username}/password",
          Gate.ADMIN,
          null,
          204,
          cell -> new Request(
              "PUT", "/api/v1/users/bystander/password", "{\"password\":\"bystander-password\"}")),
      new Route(
          "enable user",
          "PUT /api/v1/users/{username}/disabled",
          Gate.ADMIN,
          null,
          204,
          cell -> new Request("PUT", "/api/v1/users/bystander/disabled", "{\"disabled\":false}")),
      new Route(
          "revoke admin",
          "PUT /api/v1/users/{username}/admin",
          Gate.ADMIN,
          null,
          204,
          cell -> new Request("PUT", "/api/v1/users/bystander/admin", "{\"admin\":false}")),
      new Route(
          "list robots",
          "GET /api/v1/robots",
          Gate.ADMIN,
          null,
          200,
          cell -> get("/api/v1/robots")),
      new Route(
          "create system robot",
          "POST /api/v1/robots",
          Gate.ADMIN,
          null,
          201,
          cell -> new Request(
              "POST",
              "/api/v1/robots",
              "{\"name\":\"system-" + cell.index() + "\",\"permissions\":{\"*\":[\"pull\"]}}")),
      new Route(
          "get system robot",
          "GET /api/v1/robots/{robot}",
          Gate.ADMIN,
          null,
          200,
          cell -> get("/api/v1/robots/robot$sysbot")),
      new Route(
          "get unknown system robot",
          "GET /api/v1/robots/{robot}",
          Gate.ADMIN,
          null,
          404,
          cell -> get("/api/v1/robots/robot$nobody")),
      new Route(
          "delete system robot",
          "DELETE /api/v1/robots/{robot}",
          Gate.ADMIN,
          null,
          204,
          cell -> new Request(
              "DELETE", "/api/v1/robots/" + robot(null, "sysgone-" + cell.index()), null)),
      new Route(
          "rotate system robot secret",
          "POST /api/v1/robots/{robot}/secret",
          Gate.ADMIN,
          null,
          200,
          cell -> new Request("POST", "/api/v1/robots/robot$sysbot/secret", "")),
      new Route(
          "enable system robot",
          "PUT /api/v1/robots/{robot}/disabled",
          Gate.ADMIN,
          null,
          204,
          cell ->
              new Request("PUT", "/api/v1/robots/robot$sysbot/disabled", "{\"disabled\":false}")),
      new Route(
          "list gc runs",
          "GET /api/v1/gc/runs",
          Gate.ADMIN,
          null,
          200,
          cell -> get("/api/v1/gc/runs")),
      new Route(
          "get gc run",
          "GET /api/v1/gc/runs/{id}",
          Gate.ADMIN,
          null,
          200,
          cell -> get("/api/v1/gc/runs/" + gcRun)),
      new Route(
          "whole audit log",
          "GET /api/v1/audit-logs",
          Gate.ADMIN,
          null,
          200,
          cell -> get("/api/v1/audit-logs")),
      new Route(
          "system settings",
          "GET /api/v1/system/settings",
          Gate.ADMIN,
          null,
          200,
          cell -> get("/api/v1/system/settings")),
      new Route(
          "change system settings",
          "PUT /api/v1/system/settings",
          Gate.ADMIN,
          null,
          200,
          // The value it has, so that no cell changes what another sees.
          cell -> new Request(
              "PUT",
              "/api/v1/system/settings",
              "{\"auth.users-create-projects\":" + usersCreateProjects + "}")));

  /** The document's operations that are no row here, and why. */
  private static final Map<String, String> OUTSIDE_MATRIX = Map.ofEntries(
      Map.entry("GET /api/v1/openapi.json", "open to anyone (ApiDocsTest)"),
      Map.entry("GET /api/v1/docs/", "open to anyone (ApiDocsTest)"),
      Map.entry("GET /api/v1/docs/{file}", "open to anyone (ApiDocsTest)"),
      Map.entry("GET /api/v1/projects", "open to anyone; lists what the caller may pull"),
      Map.entry(
          "POST /api/v1/projects",
          "gated by auth.users-create-projects, not by a project's roles (AuthTest)"),
      Map.entry(
          "POST /api/v1/gc/runs",
          "a system administrator's route whose success is 202 or 409 by whether a run is in"
              + " progress (GarbageCollectApiTest)"),
      Map.entry(
          "POST /api/v1/users/{username}/cli-secret", "the OIDC user itself only (OidcLoginTest)"),
      Map.entry("GET /api/v1/oidc/login", "the start of a login: no caller yet"),
      Map.entry("GET /api/v1/oidc/callback", "the end of a login: no caller yet"),
      Map.entry("POST /api/v1/session", "a login: no caller yet (SessionTest)"),
      Map.entry("GET /api/v1/session", "the caller's own session (SessionTest)"),
      Map.entry("DELETE /api/v1/session", "the caller's own session (SessionTest)"));

  private static final List<Caller> CALLERS = new ArrayList<>();
  /** The robot callers' permissions, in every project. */
  private static final Set<Action> ROBOT = Set.of(Action.PULL, Action.DELETE_ARTIFACT);

  @BeforeAll
  static void start() throws Exception {
    berth = InProcessBerth.withAuth(ADMIN_PASSWORD, Map.of());
    berth.start();
    for (Role role : Role.values()) {
      CALLERS.add(Caller.user(role.value(), role, false));
    }
    CALLERS.add(Caller.user("outsider", null, false));
    CALLERS.add(Caller.user("sysadmin", null, true));
    CALLERS.add(Caller.user(null, null, false));
    for (Caller caller : CALLERS) {
      if (!caller.anonymous()) {
        ok(
            "POST",
            "/api/v1/users",
            "{\"username\":\"" + caller.name() + "\",\"password\":\"" + caller.name()
                + "-password\",\"admin\":" + caller.admin() + "}");
      }
    }
    user("bystander");
    for (String project : List.of(PRIVATE, PUBLIC)) {
      project(project, project.equals(PUBLIC));
      robot(project, "shared");
    }
    robot(null, "sysbot");
    // A system robot that may pull and delete artifacts (not tags or repositories) everywhere.
    HttpResponse<byte[]> deleter = ok(
        "POST",
        "/api/v1/robots",
        "{\"name\":\"deleter\",\"permissions\":{\"*\":[\"pull\",\"delete\"]}}");
    String name = InProcessBerth.json(deleter).path("name").asText();
    String secret = InProcessBerth.json(deleter).path("secret").asText();
    CALLERS.add(new Caller(name, secret, null, false, ROBOT, false));
    CALLERS.add(new Caller(name, secret, null, false, ROBOT, true));
    byte[] config = Content.randomConfig();
    sharedLayer = Content.random(200);
    sharedManifest = Content.ociManifest(
        Content.descriptor(Content.OCI_CONFIG, config),
        Content.descriptor(Content.OCI_LAYER, sharedLayer));
    for (String project : List.of(PRIVATE, PUBLIC)) {
      pushBlob(project + "/app", config);
      pushBlob(project + "/app", sharedLayer);
      pushManifest(project + "/app", "v1", Content.OCI_MANIFEST, sharedManifest);
    }
    usersCreateProjects = InProcessBerth.json(berth.get("/api/v1/system/settings", admin()))
        .path("auth.users-create-projects")
        .asBoolean();
    gcRun = InProcessBerth.json(ok("POST", "/api/v1/gc/runs", "{\"dryRun\":true}"))
        .path("id")
        .asLong();
  }

  @AfterAll
  static void stop() throws Exception {
    berth.close();
  }

  @Test
  void everyRouteRoleAndVisibilityCellAnswersAsThePermissionDataSays() {
    List<String> wrong = new ArrayList<>();
    int cells = 0;
    for (boolean isPublic : List.of(false, true)) {
      String project = isPublic ? PUBLIC : PRIVATE;
      for (Caller caller : CALLERS) {
        for (Route route : ROUTES) {
          Cell cell = new Cell(project, isPublic, cells);
          Request request = route.prepare().prepare(cell);
          assertThat(request.method() + " " + request.path())
              .as(route.label())
              .matches(pattern(route.operation()));
          int expected = expected(route, caller, isPublic);
          // A connection per cell: a refusal need not read the body, and the server may then
          // close the connection, which a pooled client would find only on its next request.
          RawHttp.Response response = RawHttp.send(
              berth.port(),
              request.method(),
              request.path(),
              request.body() == null
                  ? new byte[0]
                  : request.body().getBytes(StandardCharsets.UTF_8),
              with(auth(caller, request), "Content-Type", "application/json"));
          cells++;
          if (response.status() != expected) {
            wrong.add(String.format(
                "%s project, %s, %s: expected %d, got %d %s",
                isPublic ? "public" : "private",
                caller.label(),
                route.label(),
                expected,
                response.status(),
                response.body()));
          }
        }
      }
    }
    assertThat(wrong).as("of %d cells", cells).isEmpty();
    assertThat(cells).isEqualTo(2 * CALLERS.size() * ROUTES.size());
  }

  /** The same rule on /v2: a token's delete scope deletes no tag for a robot without delete-tag. */
  @Test
  void onV2TooATokensDeleteScopeGrantsOnlyTheCallersOwnDeletions() {
    Caller robot = CALLERS.stream().filter(Caller::bearer).findFirst().orElseThrow();
    String repository = PRIVATE + "/v2-check";
    byte[] config = Content.randomConfig();
    pushBlob(repository, config);
    pushBlob(repository, sharedLayer);
    String digest = pushManifest(
        repository,
        "v2-tag",
        Content.OCI_MANIFEST,
        Content.ociManifest(
            Content.descriptor(Content.OCI_CONFIG, config),
            Content.descriptor(Content.OCI_LAYER, sharedLayer)));
    String[] auth = auth(
        robot, new Request("DELETE", "/api/v1/repositories/" + repository + "/tags/v2-tag", null));

    assertThat(berth.delete("/v2/" + repository + "/manifests/v2-tag", auth).statusCode())
        .isEqualTo(403);
    assertThat(berth.delete("/v2/" + repository + "/manifests/" + digest, auth).statusCode())
        .isEqualTo(202);
  }

  @Test
  void everyDocumentedOperationIsARowOrExplainedAsOutside() {
    Set<String> rows = new TreeSet<>();
    ROUTES.forEach(route -> rows.add(route.operation()));
    Set<String> labels = new HashSet<>();
    ROUTES.forEach(
        route -> assertThat(labels.add(route.label())).as(route.label()).isTrue());

    Set<String> unexplained = new TreeSet<>(ManagementRoutes.documented());
    unexplained.removeAll(rows);
    unexplained.removeAll(OUTSIDE_MATRIX.keySet());

    assertThat(unexplained)
        .as("documented operations without a row or a reason")
        .isEmpty();
    assertThat(ManagementRoutes.documented())
        .containsAll(rows)
        .containsAll(OUTSIDE_MATRIX.keySet());
    assertThat(rows).doesNotContainAnyElementsOf(OUTSIDE_MATRIX.keySet());
  }

  /** From the permission data and the route's gate; see the class comment. */
  private static int expected(Route route, Caller caller, boolean isPublic) {
    if (allowed(caller, route.gate(), route.action(), isPublic)) {
      return route.success();
    }
    if (caller.anonymous()) {
      return 401;
    }
    return switch (route.gate()) {
      case ADMIN -> 403;
      case PROJECT -> allowed(caller, Gate.PROJECT, Action.PULL, isPublic) ? 403 : 404;
      case REPOSITORY -> {
        if (caller.bearer() && !tokenGrants(caller, route.action(), isPublic)) {
          yield 401; // insufficient_scope: the token protocol's "ask for another token"
        }
        yield route.action() == Action.PULL ? 404 : 403;
      }
    };
  }

  /**
   * Whether the token endpoint puts the action's scope into a token: the protocol knows pull,
   * push and delete, and grants delete for deleting artifacts.
   */
  private static boolean tokenGrants(Caller caller, Action action, boolean isPublic) {
    Action granting = switch (action) {
      case PULL -> Action.PULL;
      case PUSH, CREATE_REPOSITORY -> Action.PUSH;
      default -> Action.DELETE_ARTIFACT;
    };
    return allowed(caller, Gate.REPOSITORY, granting, isPublic);
  }

  /**
   * A system administrator may do everything, a member what its role may ({@link Permissions}),
   * and everyone may pull from a public project.
   */
  private static boolean allowed(Caller caller, Gate gate, Action action, boolean isPublic) {
    if (caller.admin()) {
      return true;
    }
    if (gate == Gate.ADMIN) {
      return false;
    }
    if (action == Action.PULL && isPublic) {
      return true;
    }
    return caller.granted().contains(action);
  }

  /**
   * The caller's credentials for the request. A bearer token is fetched for the repository the
   * request names (pull, push and delete asked for; the endpoint grants what the caller may).
   */
  private static String[] auth(Caller caller, Request request) {
    if (caller.anonymous()) {
      return new String[0];
    }
    String basic = basic(caller.name(), caller.password());
    if (!caller.bearer()) {
      return new String[] {"Authorization", basic};
    }
    java.util.regex.Matcher repository = REPOSITORY_PATH.matcher(request.path());
    String scope = repository.matches()
        ? "repository:" + repository.group(1) + ":pull,push,delete"
        : "repository:" + PRIVATE + "/app:pull";
    HttpResponse<byte[]> response = berth.get(
        "/service/token?service=berth&scope="
            + java.net.URLEncoder.encode(scope, StandardCharsets.UTF_8),
        "Authorization",
        basic);
    assertThat(response.statusCode()).isEqualTo(200);
    com.fasterxml.jackson.databind.JsonNode token = InProcessBerth.json(response);
    return new String[] {
      "Authorization",
      "Bearer " + token.path("token").asText(token.path("access_token").asText())
    };
  }

  private static final Pattern REPOSITORY_PATH = Pattern.compile(
      "/api/v1/repositories/(.+?)(?:/(?:artifacts|tags)(?:/[^/]+)?|/usage)?(?:\\?.*)?");

  private static Pattern pattern(String operation) {
    StringBuilder regex = new StringBuilder();
    for (String part : operation.split("\\{[^}]+}", -1)) {
      if (!regex.isEmpty()) {
        regex.append(".+");
      }
      regex.append(Pattern.quote(part));
    }
    return Pattern.compile(regex + "(\\?.*)?");
  }

  private static Request get(String path) {
    return new Request("GET", path, null);
  }

  // ---- set-up, as the administrator, each step checked ----

  /** Creates a project with every role's caller as a member; returns its name. */
  private static String project(String name, boolean isPublic) {
    ok("POST", "/api/v1/projects", "{\"name\":\"" + name + "\",\"public\":" + isPublic + "}");
    for (Caller caller : CALLERS) {
      if (caller.role() != null) {
        member(name, caller.name(), caller.role());
      }
    }
    return name;
  }

  private static void member(String project, String user, Role role) {
    ok(
        "PUT",
        "/api/v1/projects/" + project + "/members",
        "{\"type\":\"user\",\"name\":\"" + user + "\",\"role\":\"" + role.value() + "\"}");
  }

  /** Creates a robot (a project's, or a system one when project is null); returns its name. */
  private static String robot(String project, String name) {
    String body = project == null
        ? "{\"name\":\"" + name + "\",\"permissions\":{\"*\":[\"pull\"]}}"
        : "{\"name\":\"" + name + "\",\"project\":\"" + project + "\",\"permissions\":{\"" + project
            + "\":[\"pull\"]}}";
    return InProcessBerth.json(ok("POST", "/api/v1/robots", body)).path("name").asText();
  }

  private static String user(String name) {
    ok(
        "POST",
        "/api/v1/users",
        "{\"username\":\"" + name + "\",\"password\":\"" + name + "-password\"}");
    return name;
  }

  private static void pushBlob(String repository, byte[] blob) {
    assertThat(berth
            .post(
                "/v2/" + repository + "/blobs/uploads/?digest=" + Content.sha256(blob),
                blob,
                admin())
            .statusCode())
        .isEqualTo(201);
  }

  private static void pushImage(String repository) {
    byte[] config = Content.randomConfig();
    pushBlob(repository, config);
    pushBlob(repository, sharedLayer);
    pushManifest(
        repository,
        "v1",
        Content.OCI_MANIFEST,
        Content.ociManifest(
            Content.descriptor(Content.OCI_CONFIG, config),
            Content.descriptor(Content.OCI_LAYER, sharedLayer)));
  }

  /** Pushes a manifest and returns its digest. */
  private static String pushManifest(
      String repository, String reference, String mediaType, byte[] manifest) {
    assertThat(berth
            .put(
                "/v2/" + repository + "/manifests/" + reference,
                manifest,
                with(admin(), "Content-Type", mediaType))
            .statusCode())
        .isEqualTo(201);
    return Content.sha256(manifest);
  }

  private static HttpResponse<byte[]> ok(String method, String path, String body) {
    HttpResponse<byte[]> response = berth.send(
        method,
        path,
        BodyPublishers.ofString(body),
        with(admin(), "Content-Type", "application/json"));
    assertThat(response.statusCode())
        .as("%s %s: %s", method, path, new String(response.body(), StandardCharsets.UTF_8))
        .isBetween(200, 299);
    return response;
  }

  private static String[] admin() {
    return new String[] {"Authorization", basic("admin", ADMIN_PASSWORD)};
  }

  private static String basic(String user, String password) {
    return "Basic "
        + Base64.getEncoder()
            .encodeToString((user + ":" + password).getBytes(StandardCharsets.UTF_8));
  }

  private static String[] with(String[] headers, String name, String value) {
    String[] all = new String[headers.length + 2];
    System.arraycopy(headers, 0, all, 0, headers.length);
    all[headers.length] = name;
    all[headers.length + 1] = value;
    return all;
  }
}
