package dev.berth.server;

import static dev.berth.server.SpecAssertions.assertError;
import static org.assertj.core.api.Assertions.assertThat;

import java.net.http.HttpResponse;
import java.util.Arrays;
import java.util.UUID;
import java.util.function.Supplier;
import java.util.stream.Stream;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.DisplayName;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.RegisterExtension;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.Arguments;
import org.junit.jupiter.params.provider.MethodSource;

/**
 * spec.md §Error Codes: one request that provokes each code Berth can answer without
 * authentication, each checked for its status and for the body {@code {"errors":[{"code",
 * "message","detail"}]}} with Content-Type application/json. (UNAUTHORIZED, DENIED and
 * TOOMANYREQUESTS need auth or rate limits, which this build does not have.)
 */
class ErrorCodesTest {
  @RegisterExtension
  static final InProcessBerth BERTH = new InProcessBerth();

  private static final String REPOSITORY = "errors/app";
  private static final String UNKNOWN_DIGEST = Content.sha256(Content.random(16));
  private static byte[] manifest;

  @BeforeAll
  static void push() {
    manifest = BERTH.image(REPOSITORY);
    BERTH.pushManifest(REPOSITORY, "latest", Content.OCI_MANIFEST, manifest);
  }

  static Stream<Arguments> errors() {
    return Stream.of(
        error(
            "BLOB_UNKNOWN", 404, () -> BERTH.get("/v2/" + REPOSITORY + "/blobs/" + UNKNOWN_DIGEST)),
        error(
            "BLOB_UPLOAD_INVALID",
            416,
            () -> BERTH.patch(startUpload(), Content.random(4), "Content-Range", "4-7")),
        error(
            "BLOB_UPLOAD_UNKNOWN",
            404,
            () -> BERTH.get("/v2/" + REPOSITORY + "/blobs/uploads/" + UUID.randomUUID())),
        error(
            "DIGEST_INVALID",
            400,
            () -> BERTH.post(
                "/v2/" + REPOSITORY + "/blobs/uploads/?digest=" + UNKNOWN_DIGEST,
                Content.random(4))),
        error(
            "MANIFEST_BLOB_UNKNOWN",
            404,
            () -> BERTH.put(
                "/v2/" + REPOSITORY + "/manifests/broken",
                Content.ociManifest(Content.descriptor(Content.OCI_CONFIG, Content.random(5))),
                "Content-Type",
                Content.OCI_MANIFEST)),
        error(
            "MANIFEST_INVALID",
            400,
            () -> BERTH.put(
                "/v2/" + REPOSITORY + "/manifests/broken",
                Content.utf8("not json"),
                "Content-Type",
                Content.OCI_MANIFEST)),
        error(
            "MANIFEST_UNKNOWN",
            404,
            () -> BERTH.get("/v2/" + REPOSITORY + "/manifests/" + UNKNOWN_DIGEST)),
        error("NAME_INVALID", 400, () -> BERTH.get("/v2/Errors/manifests/latest")),
        error("NAME_UNKNOWN", 404, () -> BERTH.get("/v2/errors/unknown/tags/list")),
        error(
            "SIZE_INVALID",
            400,
            () -> BERTH.patch(startUpload(), Content.random(3), "Content-Range", "0-9")),
        error(
            "SIZE_INVALID",
            413,
            () -> BERTH.put(
                "/v2/" + REPOSITORY + "/manifests/huge",
                new byte[(4 << 20) + 1],
                "Content-Type",
                Content.OCI_MANIFEST)),
        error("UNSUPPORTED", 405, () -> BERTH.put("/v2/" + REPOSITORY + "/tags/list", new byte[0])),
        error("PAGINATION_NUMBER_INVALID", 400, () -> BERTH.get("/v2/_catalog?n=many")),
        error("TAG_INVALID", 400, () -> BERTH.get("/v2/" + REPOSITORY + "/manifests/-bad")),
        error("NOT_FOUND", 404, () -> BERTH.get("/v2/" + REPOSITORY + "/nowhere")));
  }

  private static Arguments error(String code, int status, Supplier<HttpResponse<byte[]>> request) {
    return Arguments.of(code, status, request);
  }

  @ParameterizedTest(name = "{0} → {1}")
  @MethodSource("errors")
  @DisplayName("spec.md §Error Codes / each code comes with its status and the JSON error body")
  void errorBody(String code, int status, Supplier<HttpResponse<byte[]>> request) {
    HttpResponse<byte[]> response = request.get();

    assertError(response, status, code);
    assertThat(response.headers().firstValue("Docker-Distribution-API-Version"))
        .hasValue("registry/2.0");
  }

  @Test
  @DisplayName(
      "spec.md §Error Codes / every spec code but UNAUTHORIZED, DENIED and TOOMANYREQUESTS is exercised above")
  void everySpecCodeCovered() {
    String[] specCodes = {
      "BLOB_UNKNOWN",
      "BLOB_UPLOAD_INVALID",
      "BLOB_UPLOAD_UNKNOWN",
      "DIGEST_INVALID",
      "MANIFEST_BLOB_UNKNOWN",
      "MANIFEST_INVALID",
      "MANIFEST_UNKNOWN",
      "NAME_INVALID",
      "NAME_UNKNOWN",
      "SIZE_INVALID",
      "UNSUPPORTED"
    };

    assertThat(errors().map(arguments -> (String) arguments.get()[0]))
        .containsAll(Arrays.asList(specCodes));
  }

  private static String startUpload() {
    HttpResponse<byte[]> response =
        BERTH.post("/v2/" + REPOSITORY + "/blobs/uploads/", new byte[0]);
    assertThat(response.statusCode()).isEqualTo(202);
    return response.headers().firstValue("Location").orElseThrow();
  }
}
