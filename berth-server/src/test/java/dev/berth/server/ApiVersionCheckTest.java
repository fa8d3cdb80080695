package dev.berth.server;

import static dev.berth.server.SpecAssertions.assertError;
import static dev.berth.server.SpecAssertions.header;
import static org.assertj.core.api.Assertions.assertThat;

import java.net.http.HttpResponse;
import org.junit.jupiter.api.DisplayName;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.RegisterExtension;

/** spec.md §Determining Support (end-1). */
class ApiVersionCheckTest {
  @RegisterExtension
  static final InProcessBerth BERTH = new InProcessBerth();

  @Test
  @DisplayName(
      "spec.md §Determining Support / GET /v2/ → 200 + Docker-Distribution-API-Version: registry/2.0")
  void baseAnswersOk() {
    HttpResponse<byte[]> response = BERTH.get("/v2/");

    assertThat(response.statusCode()).isEqualTo(200);
    assertThat(header(response, "Docker-Distribution-API-Version")).isEqualTo("registry/2.0");
  }

  @Test
  @DisplayName("spec.md §Determining Support / GET /v2 without the slash → 200 too")
  void baseWithoutSlash() {
    HttpResponse<byte[]> response = BERTH.get("/v2");

    assertThat(response.statusCode()).isEqualTo(200);
    assertThat(header(response, "Docker-Distribution-API-Version")).isEqualTo("registry/2.0");
  }

  @Test
  @DisplayName("spec.md §Determining Support / HEAD /v2/ → 200 with no body")
  void baseAnswersHead() {
    HttpResponse<byte[]> response = BERTH.head("/v2/");

    assertThat(response.statusCode()).isEqualTo(200);
    assertThat(header(response, "Docker-Distribution-API-Version")).isEqualTo("registry/2.0");
    assertThat(response.body()).isEmpty();
  }

  @Test
  @DisplayName(
      "spec.md §Error Codes / a /v2 path no endpoint matches → 404 with the JSON error body, never 5xx")
  void unknownRouteIsNotFound() {
    HttpResponse<byte[]> response = BERTH.get("/v2/library/ubuntu/nothing-here");

    assertError(response, 404, "NOT_FOUND");
    assertThat(header(response, "Docker-Distribution-API-Version")).isEqualTo("registry/2.0");
  }

  @Test
  @DisplayName(
      "spec.md §Endpoints / a method an endpoint does not offer (POST /v2/) → 405 UNSUPPORTED")
  void methodNotAllowed() {
    assertError(BERTH.post("/v2/", new byte[0]), 405, "UNSUPPORTED");
  }
}
