package dev.berth.server;

import static org.assertj.core.api.Assertions.assertThat;

import dev.berth.auth.Action;
import dev.berth.auth.Permissions;
import dev.berth.auth.Role;
import java.net.http.HttpResponse;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.Base64;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

/**
 * Issue 4 §6: the {@code /v2} routes × every role (and a non-member, and anonymous) × project
 * visibility, each cell's expected answer derived from the permission data ({@link Permissions})
 * — not written out by hand — and asserted against a running server with access control on.
 *
 * <p>Expected answers: allowed → the route's success status; not allowed → 401 for anonymous
 * callers, 404 for a pull (the same answer as for a repository that does not exist), 403 for a
 * push or delete.
 */
class PermissionMatrixTest {
  private static final String ADMIN_PASSWORD = "matrix-admin-password";
  private static InProcessBerth berth;

  /** Who calls: a member with a role, a user who is no member, or nobody. */
  private record Caller(String name, Role role) {
    boolean anonymous() {
      return name == null;
    }

    String[] auth() {
      return anonymous()
          ? new String[0]
          : new String[] {"Authorization", basic(name, name + "-password")};
    }
  }

  /** A /v2 route, the action it needs, and its success status. */
  private record Route(String label, Action action, int success) {}

  private static final List<Route> ROUTES = List.of(
      new Route("GET manifest", Action.PULL, 200),
      new Route("HEAD blob", Action.PULL, 200),
      new Route("GET tags", Action.PULL, 200),
      new Route("PUT manifest", Action.PUSH, 201),
      new Route("POST upload", Action.PUSH, 202),
      new Route("DELETE tag", Action.DELETE_TAG, 202),
      new Route("DELETE manifest", Action.DELETE_ARTIFACT, 202));

  private static final List<Caller> CALLERS = new ArrayList<>();

  @BeforeAll
  static void start() throws Exception {
    berth = InProcessBerth.withAuth(ADMIN_PASSWORD, Map.of());
    berth.start();
    for (Role role : Role.values()) {
      CALLERS.add(new Caller(role.value(), role));
    }
    CALLERS.add(new Caller("outsider", null));
    CALLERS.add(new Caller(null, null));
    for (Caller caller : CALLERS) {
      if (!caller.anonymous()) {
        assertThat(berth
                .post(
                    "/api/v1/users",
                    utf8("{\"username\":\"" + caller.name() + "\",\"password\":\"" + caller.name()
                        + "-password\"}"),
                    admin())
                .statusCode())
            .isEqualTo(201);
      }
    }
    for (String project : List.of("private-matrix", "public-matrix")) {
      assertThat(berth
              .post(
                  "/api/v1/projects",
                  utf8("{\"name\":\"" + project + "\",\"public\":" + project.startsWith("public")
                      + "}"),
                  admin())
              .statusCode())
          .isEqualTo(201);
      for (Caller caller : CALLERS) {
        if (caller.role() != null) {
          assertThat(berth
                  .put(
                      "/api/v1/projects/" + project + "/members",
                      utf8("{\"type\":\"user\",\"name\":\"" + caller.name() + "\",\"role\":\""
                          + caller.role().value() + "\"}"),
                      admin())
                  .statusCode())
              .isEqualTo(204);
        }
      }
    }
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
      String project = isPublic ? "public-matrix" : "private-matrix";
      for (Caller caller : CALLERS) {
        for (Route route : ROUTES) {
          String repository = project + "/app-" + cells;
          Fixture fixture = fixture(repository);
          boolean allowed = allowed(caller, route.action(), isPublic);
          int expected = allowed
              ? route.success()
              : caller.anonymous() ? 401 : route.action() == Action.PULL ? 404 : 403;
          int actual = call(route, repository, fixture, caller).statusCode();
          cells++;
          if (actual != expected) {
            wrong.add(String.format(
                "%s project, %s, %s: expected %d, got %d",
                isPublic ? "public" : "private",
                caller.anonymous() ? "anonymous" : caller.name(),
                route.label(),
                expected,
                actual));
          }
        }
      }
    }
    assertThat(wrong).as("of %d cells", cells).isEmpty();
    assertThat(cells).isEqualTo(2 * CALLERS.size() * ROUTES.size());
  }

  /** From the permission data: a member's role, plus pull for everyone on a public project. */
  private static boolean allowed(Caller caller, Action action, boolean isPublic) {
    if (action == Action.PULL && isPublic) {
      return true;
    }
    return caller.role() != null && Permissions.allows(caller.role(), action);
  }

  private record Fixture(String manifestDigest, String layerDigest, byte[] manifest) {}

  /** A fresh image per cell (pushed by the admin), so a delete in one cell changes no other. */
  private static Fixture fixture(String repository) {
    byte[] config = Content.randomConfig();
    byte[] layer = Content.random(200);
    for (byte[] blob : List.of(config, layer)) {
      assertThat(berth
              .post(
                  "/v2/" + repository + "/blobs/uploads/?digest=" + Content.sha256(blob),
                  blob,
                  "Authorization",
                  basic("admin", ADMIN_PASSWORD))
              .statusCode())
          .isEqualTo(201);
    }
    byte[] manifest = Content.ociManifest(
        Content.descriptor(Content.OCI_CONFIG, config),
        Content.descriptor(Content.OCI_LAYER, layer));
    assertThat(berth
            .put(
                "/v2/" + repository + "/manifests/v1",
                manifest,
                "Content-Type",
                Content.OCI_MANIFEST,
                "Authorization",
                basic("admin", ADMIN_PASSWORD))
            .statusCode())
        .isEqualTo(201);
    return new Fixture(Content.sha256(manifest), Content.sha256(layer), manifest);
  }

  private static HttpResponse<byte[]> call(
      Route route, String repository, Fixture fixture, Caller caller) {
    String[] auth = caller.auth();
    String base = "/v2/" + repository;
    return switch (route.label()) {
      case "GET manifest" ->
        berth.get(base + "/manifests/v1", with(auth, "Accept", Content.OCI_MANIFEST));
      case "HEAD blob" -> berth.head(base + "/blobs/" + fixture.layerDigest(), auth);
      case "GET tags" -> berth.get(base + "/tags/list", auth);
      case "PUT manifest" ->
        berth.put(
            base + "/manifests/v2",
            fixture.manifest(),
            with(auth, "Content-Type", Content.OCI_MANIFEST));
      case "POST upload" -> berth.post(base + "/blobs/uploads/", new byte[0], auth);
      case "DELETE tag" -> berth.delete(base + "/manifests/v1", auth);
      case "DELETE manifest" -> berth.delete(base + "/manifests/" + fixture.manifestDigest(), auth);
      default -> throw new IllegalArgumentException(route.label());
    };
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

  private static byte[] utf8(String text) {
    return text.getBytes(StandardCharsets.UTF_8);
  }
}
