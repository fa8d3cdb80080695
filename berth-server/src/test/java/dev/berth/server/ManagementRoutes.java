package dev.berth.server;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import dev.berth.admin.ApiDocsHandler;
import java.io.IOException;
import java.io.InputStream;
import java.io.UncheckedIOException;
import java.util.Iterator;
import java.util.List;
import java.util.Locale;
import java.util.Set;
import java.util.TreeSet;

/**
 * The management API's routes in one place: what the handlers serve under {@code /api/v1}
 * (read off AdminHandler, IdentityHandler, RepositoryApiHandler, SettingsHandler, AuditHandler,
 * OidcHandler, SessionHandler and ApiDocsHandler; the server has no route table to read), and the operations of the OpenAPI
 * document. Each entry is {@code "METHOD /path/{parameter}"} as the document writes it.
 */
final class ManagementRoutes {
  /** Every operation the server serves; HEAD is served wherever GET is and not listed. */
  static final List<String> IMPLEMENTED = List.of(
      "GET /api/v1/openapi.json",
      "GET /api/v1/docs/",
      "GET /api/v1/docs/{file}",
      "GET /api/v1/gc/runs",
      "POST /api/v1/gc/runs",
      "GET /api/v1/gc/runs/{id}",
      "GET /api/v1/projects",
      "POST /api/v1/projects",
      "GET /api/v1/projects/{project}",
      "PUT /api/v1/projects/{project}",
      "DELETE /api/v1/projects/{project}",
      "GET /api/v1/projects/{project}/members",
      "PUT /api/v1/projects/{project}/members",
      "DELETE /api/v1/projects/{project}/members/{type}/{name}",
      "GET /api/v1/projects/{project}/robots",
      "GET /api/v1/projects/{project}/gc-policy",
      "PUT /api/v1/projects/{project}/gc-policy",
      "GET /api/v1/projects/{project}/usage",
      "GET /api/v1/projects/{project}/repositories",
      "DELETE /api/v1/repositories/{name}",
      "GET /api/v1/repositories/{name}/usage",
      "GET /api/v1/repositories/{name}/artifacts",
      "DELETE /api/v1/repositories/{name}/artifacts/{digest}",
      "GET /api/v1/repositories/{name}/tags",
      "DELETE /api/v1/repositories/{name}/tags/{tag}",
      "GET /api/v1/users",
      "POST /api/v1/users",
      "GET /api/v1/users/{username}",
      "DELETE /api/v1/users/{username}",
      "PUT /api/v1/users/{username}/password",
      "PUT /api/v1/users/{username}/disabled",
      "PUT /api/v1/users/{username}/admin",
      "POST /api/v1/users/{username}/cli-secret",
      "GET /api/v1/robots",
      "POST /api/v1/robots",
      "GET /api/v1/robots/{robot}",
      "DELETE /api/v1/robots/{robot}",
      "POST /api/v1/robots/{robot}/secret",
      "PUT /api/v1/robots/{robot}/disabled",
      "GET /api/v1/audit-logs",
      "GET /api/v1/oidc/login",
      "GET /api/v1/oidc/callback",
      "POST /api/v1/session",
      "GET /api/v1/session",
      "DELETE /api/v1/session",
      "GET /api/v1/system/settings",
      "PUT /api/v1/system/settings");

  static final List<String> METHODS = List.of("GET", "POST", "PUT", "DELETE", "PATCH");

  private ManagementRoutes() {}

  /** The OpenAPI document as the server ships it. */
  static JsonNode document() {
    try (InputStream in = ApiDocsHandler.class.getResourceAsStream("openapi.json")) {
      return new ObjectMapper().readTree(in);
    } catch (IOException e) {
      throw new UncheckedIOException(e);
    }
  }

  /** The document's operations, {@code "METHOD /path"}. */
  static Set<String> documented() {
    Set<String> operations = new TreeSet<>();
    JsonNode paths = document().path("paths");
    for (Iterator<String> it = paths.fieldNames(); it.hasNext(); ) {
      String path = it.next();
      for (String method : METHODS) {
        if (paths.path(path).has(method.toLowerCase(Locale.ROOT))) {
          operations.add(method + " " + path);
        }
      }
    }
    return operations;
  }

  static String method(String operation) {
    return operation.substring(0, operation.indexOf(' '));
  }

  static String path(String operation) {
    return operation.substring(operation.indexOf(' ') + 1);
  }
}
