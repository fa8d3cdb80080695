package dev.berth.server;

import static org.assertj.core.api.Assertions.assertThat;

import com.fasterxml.jackson.databind.JsonNode;
import java.net.http.HttpResponse;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.Base64;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.TreeSet;
import no.nav.security.mock.oauth2.MockOAuth2Server;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

/**
 * The OpenAPI document and the server agree: every operation the server serves under {@code
 * /api/v1} is documented, every documented operation is routed, and every method a documented
 * path does not list is refused (405, or 404 "no route"). "Routed" means the answer is anything
 * but the router's 404 "no route for …" or a 405: a validation error or a 404 for an unknown
 * project is the route answering. The server runs with access control and OIDC on, so that the
 * OIDC routes are there too; the probes call as the system administrator.
 */
class ManagementApiRoutesTest {
  private static final String ADMIN_PASSWORD = "routes-admin-password";
  private static MockOAuth2Server provider;
  private static InProcessBerth berth;
  private static String digest;
  private static String robot;

  @BeforeAll
  static void start() throws Exception {
    provider = new MockOAuth2Server();
    provider.start();
    berth = InProcessBerth.withAuth(
        ADMIN_PASSWORD,
        Map.of(
            "auth.provider", "oidc",
            "auth.oidc.issuer", provider.issuerUrl("default").toString(),
            "auth.oidc.client-id", "berth",
            "auth.oidc.client-secret", "berth-client-secret"));
    berth.start();
    assertThat(berth
            .post("/api/v1/projects", utf8("{\"name\":\"probe\"}"), admin())
            .statusCode())
        .isEqualTo(201);
    digest = pushImage("probe/app");
    HttpResponse<byte[]> created = berth.post(
        "/api/v1/robots",
        utf8("{\"name\":\"bot\",\"project\":\"probe\",\"permissions\":{\"probe\":[\"pull\"]}}"),
        admin());
    assertThat(created.statusCode()).isEqualTo(201);
    robot = InProcessBerth.json(created).path("name").asText();
  }

  @AfterAll
  static void stop() throws Exception {
    try {
      berth.close();
    } finally {
      provider.shutdown();
    }
  }

  @Test
  void theDocumentDescribesExactlyTheServedOperations() {
    assertThat(ManagementRoutes.documented())
        .isEqualTo(new TreeSet<>(ManagementRoutes.IMPLEMENTED));
    assertThat(ManagementRoutes.IMPLEMENTED).doesNotHaveDuplicates();
  }

  @Test
  void everyServedOperationIsRouted() {
    List<String> wrong = new ArrayList<>();
    for (String operation : ManagementRoutes.IMPLEMENTED) {
      String method = ManagementRoutes.method(operation);
      // A documented DELETE aims at something that does not exist, so the probes delete nothing.
      String path = concrete(ManagementRoutes.path(operation), method.equals("DELETE"));
      RawHttp.Response response = call(method, path);
      if (!routed(response) || response.status() >= 500) {
        wrong.add(operation + " as " + method + " " + path + ": " + describe(response));
      }
    }
    assertThat(wrong).isEmpty();
  }

  @Test
  void methodsADocumentedPathDoesNotListAreRefused() {
    List<String> wrong = new ArrayList<>();
    Set<String> documented = ManagementRoutes.documented();
    Set<String> paths = new TreeSet<>();
    documented.forEach(operation -> paths.add(ManagementRoutes.path(operation)));
    for (String template : paths) {
      for (String method : ManagementRoutes.METHODS) {
        if (documented.contains(method + " " + template)) {
          continue;
        }
        String path = concrete(template, false);
        RawHttp.Response response = call(method, path);
        if (routed(response)) {
          wrong.add(method + " " + path + " is not documented but answers " + describe(response));
        }
      }
    }
    assertThat(wrong).isEmpty();
  }

  /** Not the router's "no route" 404 and not a 405. */
  private static boolean routed(RawHttp.Response response) {
    if (response.status() == 405) {
      return false;
    }
    return !(response.status() == 404 && message(response).startsWith("no route for"));
  }

  private static String message(RawHttp.Response response) {
    try {
      JsonNode body = new com.fasterxml.jackson.databind.ObjectMapper().readTree(response.body());
      return body.path("errors").path(0).path("message").asText("");
    } catch (java.io.IOException | RuntimeException e) {
      return "";
    }
  }

  private static String describe(RawHttp.Response response) {
    return response.status() + " " + message(response);
  }

  /** The path with its parameters filled in: things that exist, or (for deletes) that do not. */
  private static String concrete(String template, boolean absent) {
    boolean project = template.startsWith("/api/v1/projects/");
    return template
        .replace("{project}", absent ? "ghost-project" : "probe")
        .replace("{name}", project ? "ghost-member" : absent ? "probe/ghost" : "probe/app")
        .replace("{type}", "user")
        .replace("{digest}", absent ? "sha256:" + "0".repeat(64) : digest)
        .replace("{tag}", absent ? "ghost" : "v1")
        .replace("{username}", absent ? "ghost-user" : "admin")
        .replace("{robot}", absent ? "robot$ghost" : robot)
        .replace("{id}", "1")
        .replace("{file}", "swagger-ui.css");
  }

  /**
   * The call, as the system administrator, with a body no route acts on ({@code dryRun}), on a
   * connection of its own: a refusal need not read the body, and the server may then close the
   * connection, which a pooled client would find only on its next request.
   */
  private static RawHttp.Response call(String method, String path) {
    byte[] body =
        method.equals("GET") || method.equals("DELETE") ? new byte[0] : utf8("{\"dryRun\":true}");
    return RawHttp.send(
        berth.port(),
        method,
        path,
        body,
        "Authorization",
        basic("admin", ADMIN_PASSWORD),
        "Content-Type",
        "application/json");
  }

  private static String pushImage(String repository) {
    return berth.pushImage(repository, "v1", admin());
  }

  private static String[] admin() {
    return new String[] {"Authorization", basic("admin", ADMIN_PASSWORD)};
  }

  private static String basic(String user, String password) {
    return "Basic "
        + Base64.getEncoder()
            .encodeToString((user + ":" + password).getBytes(StandardCharsets.UTF_8));
  }

  private static byte[] utf8(String text) {
    return text.getBytes(StandardCharsets.UTF_8);
  }
}
