package dev.berth.server;

import static org.assertj.core.api.Assertions.assertThat;

import io.swagger.v3.parser.OpenAPIV3Parser;
import io.swagger.v3.parser.core.models.ParseOptions;
import io.swagger.v3.parser.core.models.SwaggerParseResult;
import java.net.http.HttpResponse;
import java.nio.charset.StandardCharsets;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.RegisterExtension;

/**
 * The OpenAPI document at {@code /api/v1/openapi.json} and Swagger UI at {@code /api/v1/docs},
 * both open to anonymous callers on a server with access control on.
 */
class ApiDocsTest {
  @RegisterExtension
  static final InProcessBerth BERTH = InProcessBerth.withAuth("docs-admin-password", Map.of());

  @Test
  void theDocumentIsValidOpenApi() {
    String document = new String(BERTH.get("/api/v1/openapi.json").body(), StandardCharsets.UTF_8);
    ParseOptions options = new ParseOptions();
    options.setResolve(true);
    options.setValidateInternalRefs(true);
    SwaggerParseResult result = new OpenAPIV3Parser().readContents(document, null, options);

    assertThat(result.getMessages()).isEmpty();
    assertThat(result.getOpenAPI().getPaths()).containsKey("/api/v1/repositories/{name}/tags");
    assertThat(result.getOpenAPI().getComponents().getSecuritySchemes())
        .containsOnlyKeys("basicAuth", "bearerAuth", "sessionCookie", "csrfToken");
  }

  @Test
  void anonymousCallersGetTheDocumentAsJson() {
    HttpResponse<byte[]> response = BERTH.get("/api/v1/openapi.json");

    assertThat(response.statusCode()).isEqualTo(200);
    assertThat(response.headers().firstValue("Content-Type")).hasValue("application/json");
    assertThat(InProcessBerth.json(response)).isEqualTo(ManagementRoutes.document());
    assertThat(BERTH.head("/api/v1/openapi.json").statusCode()).isEqualTo(200);
  }

  @Test
  void theDocsRedirectToTheirDirectoryWhosePageLoadsTheDocument() {
    HttpResponse<byte[]> redirect = BERTH.get("/api/v1/docs");
    assertThat(redirect.statusCode()).isEqualTo(301);
    assertThat(redirect.headers().firstValue("Location")).hasValue("/api/v1/docs/");

    HttpResponse<byte[]> page = BERTH.get("/api/v1/docs/");
    assertThat(page.statusCode()).isEqualTo(200);
    assertThat(page.headers().firstValue("Content-Type")).hasValue("text/html; charset=utf-8");
    String html = new String(page.body(), StandardCharsets.UTF_8);
    assertThat(html)
        .contains("data-spec-url=\"/api/v1/openapi.json\"")
        .contains("src=\"./swagger-ui-bundle.js\"")
        .contains("src=\"./swagger-initializer.js\"");
    // The webjar's own page would show the petstore example.
    assertThat(BERTH.get("/api/v1/docs/index.html").body()).isEqualTo(page.body());
  }

  @Test
  void swaggerUiFilesComeFromTheWebjarWithTheirTypesAndCacheHeaders() {
    HttpResponse<byte[]> bundle = BERTH.get("/api/v1/docs/swagger-ui-bundle.js");
    assertThat(bundle.statusCode()).isEqualTo(200);
    assertThat(bundle.headers().firstValue("Content-Type"))
        .hasValue("text/javascript; charset=utf-8");
    assertThat(bundle.headers().firstValue("Cache-Control")).hasValue("public, max-age=86400");
    assertThat(bundle.body().length).isGreaterThan(100_000);
    assertThat(new String(bundle.body(), StandardCharsets.UTF_8)).contains("SwaggerUIBundle");

    HttpResponse<byte[]> css = BERTH.get("/api/v1/docs/swagger-ui.css");
    assertThat(css.statusCode()).isEqualTo(200);
    assertThat(css.headers().firstValue("Content-Type")).hasValue("text/css; charset=utf-8");
    HttpResponse<byte[]> icon = BERTH.get("/api/v1/docs/favicon-32x32.png");
    assertThat(icon.headers().firstValue("Content-Type")).hasValue("image/png");

    HttpResponse<byte[]> initializer = BERTH.get("/api/v1/docs/swagger-initializer.js");
    assertThat(initializer.headers().firstValue("Content-Type"))
        .hasValue("text/javascript; charset=utf-8");
    assertThat(new String(initializer.body(), StandardCharsets.UTF_8))
        .contains("data-spec-url")
        .doesNotContain("petstore.swagger.io");

    assertThat(BERTH.get("/api/v1/docs/no-such-file.js").statusCode()).isEqualTo(404);
    assertThat(BERTH.post("/api/v1/docs/swagger-ui.css", new byte[0]).statusCode())
        .isEqualTo(405);
  }

  @Test
  void pathsOutsideTheWebjarDirectoryAreRefused() {
    List<String> attempts = List.of(
        "/api/v1/docs/../../../META-INF/MANIFEST.MF",
        "/api/v1/docs/..%2f..%2f..%2fMETA-INF%2fMANIFEST.MF",
        "/api/v1/docs/%2e%2e/%2e%2e/%2e%2e/%2e%2e/META-INF/MANIFEST.MF",
        "/api/v1/docs/%2e%2e%2f%2e%2e%2fpom.properties",
        "/api/v1/docs/..%5c..%5cpom.xml",
        "/api/v1/docs/.%2e/swagger-ui.css",
        "/api/v1/docs/%2e%2e",
        "/api/v1/docs/..",
        "/api/v1/docs//etc/passwd",
        "/api/v1/docs/%2fetc%2fpasswd",
        "/api/v1/docs/dev/berth/admin/openapi.json",
        "/api/v1/docs/.hidden",
        "/api/v1/docs/swagger-ui.css%00.js");
    for (String path : attempts) {
      RawHttp.Response response = RawHttp.send(BERTH.port(), "GET", path, new byte[0]);
      assertThat(response.status()).as(path).isIn(400, 404);
      assertThat(response.body()).as(path).doesNotContain("Manifest-Version", "root:");
    }
  }
}
