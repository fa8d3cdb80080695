package dev.berth.server;

import static org.assertj.core.api.Assertions.assertThat;

import com.fasterxml.jackson.databind.JsonNode;
import java.net.http.HttpResponse;
import java.util.ArrayList;
import java.util.List;
import java.util.Set;

/** Assertions on what spec.md says every response of a kind looks like. */
final class SpecAssertions {
  private static final Set<String> ERROR_FIELDS = Set.of("code", "message", "detail");

  private SpecAssertions() {}

  /**
   * spec.md §Error Codes: a status and a JSON body {@code {"errors":[{"code","message","detail"}]}}
   * with Content-Type application/json, whose first error has the code. A HEAD answer has no body,
   * so only its status is checked.
   */
  static JsonNode assertError(HttpResponse<byte[]> response, int status, String code) {
    String method = response.request().method();
    String body = new String(response.body());
    assertThat(response.statusCode())
        .as("%s %s → %s", method, response.uri(), body)
        .isEqualTo(status);
    if (method.equals("HEAD")) {
      assertThat(response.body()).isEmpty();
      return null;
    }
    JsonNode first = assertErrorBody(response);
    assertThat(first.get("code").asText()).as("error code in %s", body).isEqualTo(code);
    return first;
  }

  /** The spec's error body format, whatever the code; returns the first error. */
  static JsonNode assertErrorBody(HttpResponse<byte[]> response) {
    String body = new String(response.body());
    assertThat(response.headers().firstValue("Content-Type"))
        .as("Content-Type of %s", body)
        .hasValueSatisfying(type -> assertThat(type).startsWith("application/json"));
    JsonNode root = InProcessBerth.json(response);
    assertThat(root.isObject()).as(body).isTrue();
    assertThat(fieldNames(root)).as(body).containsExactly("errors");
    JsonNode errors = root.get("errors");
    assertThat(errors.isArray()).as(body).isTrue();
    assertThat(errors.size()).as(body).isPositive();
    for (JsonNode error : errors) {
      assertThat(ERROR_FIELDS).as(body).containsAll(fieldNames(error));
      // The code MUST contain only uppercase letters and underscores.
      assertThat(error.get("code").asText()).as(body).matches("[A-Z_]+");
      assertThat(error.get("message").isTextual()).as(body).isTrue();
    }
    return errors.get(0);
  }

  static String header(HttpResponse<?> response, String name) {
    return response.headers().firstValue(name).orElse(null);
  }

  private static List<String> fieldNames(JsonNode node) {
    List<String> names = new ArrayList<>();
    node.fieldNames().forEachRemaining(names::add);
    return names;
  }
}
