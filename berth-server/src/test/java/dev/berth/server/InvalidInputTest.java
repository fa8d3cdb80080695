package dev.berth.server;

import static dev.berth.server.SpecAssertions.assertError;
import static dev.berth.server.SpecAssertions.header;
import static org.assertj.core.api.Assertions.assertThat;

import com.fasterxml.jackson.databind.JsonNode;
import java.net.URI;
import java.net.http.HttpResponse;
import java.util.Arrays;
import java.util.List;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.DisplayName;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.RegisterExtension;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

/**
 * Bad input of every kind the spec names: repository names (spec.md §Pulling manifests, the
 * {@code <name>} grammar), digests (§Pushing blobs: "invalid or unsupported algorithm → 400"), tags
 * (the {@code <reference>} grammar), Content-Range (§Pushing a blob in chunks), and bodies shorter
 * than announced. Each answer is a 4xx, never a 5xx, and none leaves a trace: after every test
 * the catalog is what it was.
 */
class InvalidInputTest {
  @RegisterExtension
  static final InProcessBerth BERTH = new InProcessBerth();

  private static final String REPOSITORY = "valid/app";
  private static List<String> catalog;
  private static byte[] manifest;

  @BeforeAll
  static void pushValidContent() {
    manifest = BERTH.image(REPOSITORY);
    BERTH.pushManifest(REPOSITORY, "latest", Content.OCI_MANIFEST, manifest);
    catalog = BERTH.catalog();
  }

  @AfterEach
  void leftNoTrace() {
    assertThat(BERTH.catalog()).as("catalog after bad input").isEqualTo(catalog);
    assertThat(BERTH.tags(REPOSITORY)).containsExactly("latest");
  }

  // ---- names ----

  @ParameterizedTest(name = "\"{0}\"")
  @ValueSource(
      strings = {
        "Upper/case",
        "library/Ubuntu",
        "a..b",
        "a/..b",
        "-leading",
        "trailing-",
        "a_-b",
        "a:b",
        "_catalog",
        "a%20b",
        "a.",
        ".a",
        "a___b"
      })
  @DisplayName(
      "spec.md §Pulling manifests (<name> grammar) / an invalid name → 400 NAME_INVALID on every endpoint")
  void invalidName(String name) {
    assertNameRejected(name);
  }

  @Test
  @DisplayName(
      "spec.md §Pulling manifests (<name> grammar) / a name of 256 and of 1000 characters → 400 NAME_INVALID")
  void overlongName() {
    assertNameRejected("a".repeat(256));
    assertNameRejected(("abcdefghi/".repeat(100)) + "x");
  }

  @ParameterizedTest(name = "{0}")
  @ValueSource(
      strings = {
        "/v2/valid//manifests/latest",
        "/v2/valid/app//manifests/latest",
        "/v2//manifests/latest",
        "/v2/valid%2Fapp/manifests/latest",
        "/v2/valid/%2e%2e/valid/app/manifests/latest",
        "/v2/valid\\app/manifests/latest",
        "/v2/%ff/manifests/latest",
        "/v2/valid/app/manifests/lat%00est"
      })
  @DisplayName(
      "spec.md §Pulling manifests (<name> grammar) / empty segments (a trailing slash in the name), encoded slashes or dots, bad bytes → 400, never 5xx")
  void pathsTheHttpLayerRejects(String path) {
    for (String method : List.of("GET", "HEAD", "PUT", "DELETE")) {
      RawHttp.Response response = RawHttp.send(
          BERTH.port(),
          method,
          path,
          method.equals("PUT") ? manifest : new byte[0],
          "Content-Type",
          Content.OCI_MANIFEST);
      assertThat(response.status()).as("%s %s", method, path).isEqualTo(400);
    }
  }

  @ParameterizedTest(name = "{0}")
  @ValueSource(
      strings = {
        "/v2/x/../../evil/manifests/latest",
        "/v2/valid/app/../../../etc/manifests/latest",
        "/v2/../evil/manifests/latest",
        "/v2/valid/app/manifests/..",
        "/v2/valid/app/blobs/uploads/../../../../../x/blobs/uploads/",
        "/v2/valid/app/../../../../../../x/blobs/uploads/"
      })
  @DisplayName(
      "spec.md §Pulling manifests (<name> grammar) / '..' path segments cannot reach outside a valid name: 4xx, never 5xx, nothing created")
  void dotSegments(String path) {
    for (String method : List.of("GET", "PUT", "POST", "DELETE")) {
      RawHttp.Response response = RawHttp.send(
          BERTH.port(),
          method,
          path,
          method.equals("PUT") ? manifest : new byte[0],
          "Content-Type",
          Content.OCI_MANIFEST);
      assertThat(response.status()).as("%s %s", method, path).isBetween(400, 499);
    }
  }

  // ---- digests ----

  @ParameterizedTest(name = "{0}")
  @ValueSource(
      strings = {
        "md5:d41d8cd98f00b204e9800998ecf8427e",
        "sha256:xyz",
        "sha256:E3B0C44298FC1C149AFBF4C8996FB92427AE41E4649B934CA495991B7852B855",
        "sha256:e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b85",
        "sha256:e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b8555",
        "sha512:abc",
        "sha256:",
        "sha256::e3b0"
      })
  @DisplayName(
      "spec.md §Pushing blobs / an unknown algorithm or malformed digest → 400 DIGEST_INVALID wherever a digest goes")
  void invalidDigest(String digest) {
    String location = startUpload();

    assertError(BERTH.get("/v2/" + REPOSITORY + "/blobs/" + digest), 400, "DIGEST_INVALID");
    assertError(BERTH.head("/v2/" + REPOSITORY + "/blobs/" + digest), 400, "DIGEST_INVALID");
    assertError(BERTH.delete("/v2/" + REPOSITORY + "/blobs/" + digest), 400, "DIGEST_INVALID");
    assertError(BERTH.get("/v2/" + REPOSITORY + "/manifests/" + digest), 400, "DIGEST_INVALID");
    assertError(BERTH.head("/v2/" + REPOSITORY + "/manifests/" + digest), 400, "DIGEST_INVALID");
    assertError(BERTH.delete("/v2/" + REPOSITORY + "/manifests/" + digest), 400, "DIGEST_INVALID");
    assertError(
        BERTH.put(
            "/v2/" + REPOSITORY + "/manifests/" + digest,
            manifest,
            "Content-Type",
            Content.OCI_MANIFEST),
        400,
        "DIGEST_INVALID");
    assertError(BERTH.get("/v2/" + REPOSITORY + "/referrers/" + digest), 400, "DIGEST_INVALID");
    assertError(
        BERTH.post("/v2/" + REPOSITORY + "/blobs/uploads/?digest=" + digest, Content.random(10)),
        400,
        "DIGEST_INVALID");
    assertError(
        BERTH.post(
            "/v2/" + REPOSITORY + "/blobs/uploads/?mount=" + digest + "&from=other/repo",
            new byte[0]),
        400,
        "DIGEST_INVALID");
    assertError(
        BERTH.put(BlobPushTest.withDigest(location, digest), Content.random(10)),
        400,
        "DIGEST_INVALID");
    assertThat(BERTH.delete(location).statusCode()).isEqualTo(204);
  }

  @Test
  @DisplayName("spec.md §Pushing blobs / an empty ?digest= → 400 DIGEST_INVALID")
  void emptyDigestParameter() {
    assertError(
        BERTH.post("/v2/" + REPOSITORY + "/blobs/uploads/?digest=", Content.random(10)),
        400,
        "DIGEST_INVALID");
  }

  // ---- tags ----

  @ParameterizedTest(name = "\"{0}\"")
  @ValueSource(
      strings = {".hidden", "-dash", "tag%20with%20space", "tag+plus", "t@g", "tag%2Cx", "%C3%BC"})
  @DisplayName(
      "spec.md §Pulling manifests (<reference> grammar) / a bad tag → 400 TAG_INVALID on PUT, GET and DELETE; nothing stored")
  void invalidTag(String tag) {
    assertTagRejected(tag);
  }

  @Test
  @DisplayName(
      "spec.md §Pulling manifests (<reference> grammar) / a tag of 129 characters → 400 TAG_INVALID")
  void overlongTag() {
    assertTagRejected("a".repeat(129));
  }

  // ---- Content-Range ----

  @ParameterizedTest(name = "Content-Range: {0}")
  @ValueSource(strings = {"bytes=abc", "abc", "0-", "-9", "9-0", "0-9-10", "bytes */10", "0 - 9x"})
  @DisplayName(
      "spec.md §Pushing a blob in chunks (^[0-9]+-[0-9]+$) / a malformed Content-Range → 416; nothing appended")
  void malformedContentRange(String contentRange) {
    String location = startUpload();

    HttpResponse<byte[]> response = BERTH.patch(
        location,
        Content.random(10),
        "Content-Range",
        contentRange,
        "Content-Type",
        "application/octet-stream");

    assertThat(response.statusCode()).isEqualTo(416);
    SpecAssertions.assertErrorBody(response);
    assertThat(header(BERTH.get(location), "Range")).isEqualTo("0-0");
    assertThat(BERTH.delete(location).statusCode()).isEqualTo(204);
  }

  // ---- short bodies ----

  @Test
  @DisplayName(
      "spec.md §Single POST / a body shorter than its Content-Length → 4xx, no blob committed")
  void shortMonolithicPost() {
    byte[] blob = Content.random(1000);
    String digest = Content.sha256(blob);

    RawHttp.Response response = RawHttp.send(
        BERTH.port(),
        "POST",
        "/v2/short/post/blobs/uploads/?digest=" + digest,
        Arrays.copyOf(blob, 500),
        1000,
        "Content-Type",
        "application/octet-stream");

    assertThat(response).isNotNull();
    assertThat(response.status()).isBetween(400, 499);
    assertThat(BERTH.head("/v2/short/post/blobs/" + digest).statusCode()).isEqualTo(404);
  }

  @Test
  @DisplayName(
      "spec.md §POST then PUT / a closing PUT whose body is shorter than its Content-Length → 4xx, no blob committed, session kept")
  void shortClosingPut() {
    byte[] blob = Content.random(1000);
    String digest = Content.sha256(blob);
    String location = startUpload();

    RawHttp.Response response = RawHttp.send(
        BERTH.port(),
        "PUT",
        BlobPushTest.withDigest(URI.create(location).getRawPath(), digest),
        Arrays.copyOf(blob, 400),
        1000,
        "Content-Type",
        "application/octet-stream");

    assertThat(response.status()).isBetween(400, 499);
    assertThat(BERTH.head("/v2/" + REPOSITORY + "/blobs/" + digest).statusCode())
        .isEqualTo(404);
    assertThat(BERTH.get(location).statusCode()).isEqualTo(204);
    assertThat(BERTH.delete(location).statusCode()).isEqualTo(204);
  }

  @Test
  @DisplayName(
      "spec.md §Pushing a blob in chunks / a chunk shorter than its Content-Length → 4xx; nothing committed, the session reports at most what arrived")
  void shortChunk() {
    byte[] blob = Content.random(1000);
    String location = startUpload();

    RawHttp.Response response = RawHttp.send(
        BERTH.port(),
        "PATCH",
        URI.create(location).getRawPath(),
        Arrays.copyOf(blob, 500),
        1000,
        "Content-Range",
        "0-999",
        "Content-Type",
        "application/octet-stream");

    assertThat(response.status()).isBetween(400, 499);
    HttpResponse<byte[]> status = BERTH.get(location);
    assertThat(status.statusCode()).isEqualTo(204);
    long end = Long.parseLong(header(status, "Range").substring(2));
    assertThat(end).as("the session holds no more than the 500 bytes sent").isLessThan(500);
    assertThat(
            BERTH.head("/v2/" + REPOSITORY + "/blobs/" + Content.sha256(blob)).statusCode())
        .isEqualTo(404);
    assertThat(BERTH.delete(location).statusCode()).isEqualTo(204);
  }

  @Test
  @DisplayName(
      "spec.md §Pushing Manifests / a manifest body shorter than its Content-Length → 4xx, nothing stored")
  void shortManifest() {
    byte[] image = BERTH.image("short/manifest-blobs");
    catalog = BERTH.catalog();

    RawHttp.Response response = RawHttp.send(
        BERTH.port(),
        "PUT",
        "/v2/" + REPOSITORY + "/manifests/short",
        Arrays.copyOf(image, image.length / 2),
        image.length,
        "Content-Type",
        Content.OCI_MANIFEST);

    assertThat(response.status()).isBetween(400, 499);
    assertThat(BERTH.head("/v2/" + REPOSITORY + "/manifests/short").statusCode())
        .isEqualTo(404);
    assertThat(BERTH
            .head("/v2/" + REPOSITORY + "/manifests/" + Content.sha256(image))
            .statusCode())
        .isEqualTo(404);
  }

  // ---- steps ----

  private static String startUpload() {
    HttpResponse<byte[]> response =
        BERTH.post("/v2/" + REPOSITORY + "/blobs/uploads/", new byte[0]);
    assertThat(response.statusCode()).isEqualTo(202);
    return header(response, "Location");
  }

  private static void assertNameRejected(String name) {
    String digest = Content.sha256(manifest);
    String[][] requests = {
      {"GET", "/v2/" + name + "/manifests/latest"},
      {"HEAD", "/v2/" + name + "/manifests/latest"},
      {"PUT", "/v2/" + name + "/manifests/latest"},
      {"DELETE", "/v2/" + name + "/manifests/" + digest},
      {"GET", "/v2/" + name + "/blobs/" + digest},
      {"DELETE", "/v2/" + name + "/blobs/" + digest},
      {"POST", "/v2/" + name + "/blobs/uploads/"},
      {"POST", "/v2/" + name + "/blobs/uploads/?digest=" + Content.sha256(manifest)},
      {"POST", "/v2/" + name + "/blobs/uploads/?mount=" + digest + "&from=" + REPOSITORY},
      {"POST", "/v2/" + REPOSITORY + "/blobs/uploads/?mount=" + digest + "&from=" + name},
      {"GET", "/v2/" + name + "/blobs/uploads/" + java.util.UUID.randomUUID()},
      {"GET", "/v2/" + name + "/tags/list"},
      {"GET", "/v2/" + name + "/referrers/" + digest},
    };
    for (String[] request : requests) {
      RawHttp.Response response = RawHttp.send(
          BERTH.port(),
          request[0],
          request[1],
          request[0].matches("PUT|POST") ? manifest : new byte[0],
          "Content-Type",
          Content.OCI_MANIFEST);
      assertThat(response.status())
          .as("%s %s: %s", request[0], request[1], response.body())
          .isEqualTo(400);
      if (!request[0].equals("HEAD")) {
        assertThat(response.header("Content-Type")).startsWith("application/json");
        JsonNode error = readError(response);
        assertThat(error.get("code").asText())
            .as("%s %s", request[0], request[1])
            .isEqualTo("NAME_INVALID");
      }
    }
  }

  private static void assertTagRejected(String tag) {
    RawHttp.Response put = RawHttp.send(
        BERTH.port(),
        "PUT",
        "/v2/" + REPOSITORY + "/manifests/" + tag,
        manifest,
        "Content-Type",
        Content.OCI_MANIFEST);
    RawHttp.Response get =
        RawHttp.send(BERTH.port(), "GET", "/v2/" + REPOSITORY + "/manifests/" + tag, new byte[0]);
    RawHttp.Response delete = RawHttp.send(
        BERTH.port(), "DELETE", "/v2/" + REPOSITORY + "/manifests/" + tag, new byte[0]);

    for (RawHttp.Response response : List.of(put, get, delete)) {
      assertThat(response.status()).as(response.body()).isEqualTo(400);
      assertThat(readError(response).get("code").asText()).isIn("TAG_INVALID", "MANIFEST_INVALID");
    }
  }

  private static JsonNode readError(RawHttp.Response response) {
    try {
      JsonNode root = InProcessBerth.JSON.readTree(response.body());
      assertThat(root.get("errors").isArray()).as(response.body()).isTrue();
      JsonNode first = root.get("errors").get(0);
      assertThat(first.get("message").isTextual()).isTrue();
      return first;
    } catch (java.io.IOException e) {
      throw new AssertionError("not JSON: " + response.body(), e);
    }
  }
}
