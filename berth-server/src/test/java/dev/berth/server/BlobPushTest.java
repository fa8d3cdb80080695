package dev.berth.server;

import static dev.berth.server.SpecAssertions.assertError;
import static dev.berth.server.SpecAssertions.header;
import static org.assertj.core.api.Assertions.assertThat;

import java.io.ByteArrayInputStream;
import java.net.URI;
import java.net.http.HttpRequest.BodyPublishers;
import java.net.http.HttpResponse;
import java.util.Arrays;
import java.util.UUID;
import org.junit.jupiter.api.DisplayName;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.RegisterExtension;

/**
 * spec.md §Pushing blobs: monolithic (end-4a, end-4b, end-6), chunked (end-5, end-13), cancel
 * (end-14) and cross-repository mount (end-11).
 */
class BlobPushTest {
  @RegisterExtension
  static final InProcessBerth BERTH = new InProcessBerth();

  private static final String UUID_PATTERN =
      "[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}";

  @Test
  @DisplayName(
      "spec.md §POST then PUT / POST /v2/<name>/blobs/uploads/ → 202 + Location + Range + Docker-Upload-UUID")
  void startSession() {
    HttpResponse<byte[]> response = BERTH.post("/v2/push/start/blobs/uploads/", new byte[0]);

    assertThat(response.statusCode()).isEqualTo(202);
    String uuid = header(response, "Docker-Upload-UUID");
    assertThat(uuid).matches(UUID_PATTERN);
    assertThat(URI.create(header(response, "Location")).getPath())
        .isEqualTo("/v2/push/start/blobs/uploads/" + uuid);
    assertThat(header(response, "Range")).isEqualTo("0-0");
    assertThat(BERTH.catalog())
        .as("a session alone creates no repository")
        .doesNotContain("push/start");
  }

  @Test
  @DisplayName(
      "spec.md §Single POST / POST ?digest= with the whole blob → 201 + Location of the blob")
  void monolithicPost() {
    byte[] content = Content.random(5000);
    String digest = Content.sha256(content);

    HttpResponse<byte[]> response = BERTH.post(
        "/v2/push/single-post/blobs/uploads/?digest=" + digest,
        content,
        "Content-Type",
        "application/octet-stream");

    assertThat(response.statusCode()).isEqualTo(201);
    assertThat(URI.create(header(response, "Location")).getPath())
        .isEqualTo("/v2/push/single-post/blobs/" + digest);
    assertThat(header(response, "Docker-Content-Digest")).isEqualTo(digest);
    assertPullable("push/single-post", content);
  }

  @Test
  @DisplayName("spec.md §Pushing blobs / a sha512 digest is accepted and served")
  void sha512Digest() throws Exception {
    byte[] content = Content.random(700);
    String digest = "sha512:"
        + java.util.HexFormat.of()
            .formatHex(java.security.MessageDigest.getInstance("SHA-512").digest(content));

    HttpResponse<byte[]> response =
        BERTH.post("/v2/push/sha512/blobs/uploads/?digest=" + digest, content);

    assertThat(response.statusCode()).isEqualTo(201);
    HttpResponse<byte[]> pulled = BERTH.get("/v2/push/sha512/blobs/" + digest);
    assertThat(pulled.statusCode()).isEqualTo(200);
    assertThat(pulled.body()).isEqualTo(content);
  }

  @Test
  @DisplayName(
      "spec.md §POST then PUT / POST, then one PUT <location>?digest= with the whole body → 201 + Location")
  void postThenPut() {
    byte[] content = Content.random(4096);
    String digest = Content.sha256(content);
    String location = startUpload("push/post-put");

    HttpResponse<byte[]> response = BERTH.put(
        withDigest(location, digest), content, "Content-Type", "application/octet-stream");

    assertThat(response.statusCode()).isEqualTo(201);
    assertThat(URI.create(header(response, "Location")).getPath())
        .isEqualTo("/v2/push/post-put/blobs/" + digest);
    assertThat(header(response, "Docker-Content-Digest")).isEqualTo(digest);
    assertPullable("push/post-put", content);
    assertError(BERTH.get(location), 404, "BLOB_UPLOAD_UNKNOWN");
  }

  @Test
  @DisplayName(
      "spec.md §Pushing a blob in chunks / PATCH with Content-Range → 202 + Location + Range: 0-<end>; PUT ?digest= closes → 201")
  void chunkedUpload() {
    byte[] content = Content.random(3000);
    String digest = Content.sha256(content);
    String location = startUpload("push/chunked");

    for (int start = 0; start < content.length; start += 1000) {
      HttpResponse<byte[]> chunk = patchChunk(location, content, start, start + 999);
      assertThat(chunk.statusCode()).isEqualTo(202);
      assertThat(header(chunk, "Range")).isEqualTo("0-" + (start + 999));
      assertThat(header(chunk, "Docker-Upload-UUID")).isNotBlank();
      location = header(chunk, "Location");
      assertThat(URI.create(location).getPath()).startsWith("/v2/push/chunked/blobs/uploads/");
    }
    HttpResponse<byte[]> closed = BERTH.put(withDigest(location, digest), new byte[0]);

    assertThat(closed.statusCode()).isEqualTo(201);
    assertThat(URI.create(header(closed, "Location")).getPath())
        .isEqualTo("/v2/push/chunked/blobs/" + digest);
    assertPullable("push/chunked", content);
  }

  @Test
  @DisplayName(
      "spec.md §Pushing a blob in chunks / the final chunk in the closing PUT with Content-Range → 201")
  void finalChunkInPut() {
    byte[] content = Content.random(2000);
    String digest = Content.sha256(content);
    String location =
        header(patchChunk(startUpload("push/final-in-put"), content, 0, 1199), "Location");

    HttpResponse<byte[]> closed = BERTH.put(
        withDigest(location, digest),
        Arrays.copyOfRange(content, 1200, 2000),
        "Content-Range",
        "1200-1999",
        "Content-Type",
        "application/octet-stream");

    assertThat(closed.statusCode()).isEqualTo(201);
    assertPullable("push/final-in-put", content);
  }

  @Test
  @DisplayName(
      "spec.md §Pushing a blob in chunks / out-of-order chunk → 416; GET <location> → 204 + Range; resume and close")
  void outOfOrderChunkThenResume() {
    byte[] content = Content.random(3000);
    String digest = Content.sha256(content);
    String location = header(patchChunk(startUpload("push/resume"), content, 0, 999), "Location");

    HttpResponse<byte[]> skipped = patchChunk(location, content, 2000, 2999);
    assertThat(skipped.statusCode()).isEqualTo(416);
    assertThat(header(skipped, "Range")).as("the 416 tells where to resume").isEqualTo("0-999");
    SpecAssertions.assertErrorBody(skipped);

    HttpResponse<byte[]> status = BERTH.get(location);
    assertThat(status.statusCode()).isEqualTo(204);
    assertThat(header(status, "Range")).isEqualTo("0-999");
    assertThat(header(status, "Docker-Upload-UUID")).isNotBlank();
    location = header(status, "Location");

    HttpResponse<byte[]> resumed = patchChunk(location, content, 1000, 1999);
    assertThat(resumed.statusCode()).isEqualTo(202);
    assertThat(header(resumed, "Range")).isEqualTo("0-1999");
    HttpResponse<byte[]> last = patchChunk(header(resumed, "Location"), content, 2000, 2999);
    assertThat(last.statusCode()).isEqualTo(202);
    assertThat(
            BERTH.put(withDigest(header(last, "Location"), digest), new byte[0]).statusCode())
        .isEqualTo(201);
    assertPullable("push/resume", content);
  }

  @Test
  @DisplayName(
      "spec.md §Pushing a blob in chunks / a repeated (overlapping) chunk → 416, nothing appended")
  void repeatedChunk() {
    byte[] content = Content.random(2000);
    String location = header(patchChunk(startUpload("push/repeat"), content, 0, 999), "Location");

    assertThat(patchChunk(location, content, 0, 999).statusCode()).isEqualTo(416);
    assertThat(header(BERTH.get(location), "Range")).isEqualTo("0-999");
  }

  @Test
  @DisplayName(
      "spec.md §Pushing a blob in chunks / the first chunk must begin at 0: 10-19 on an empty session → 416")
  void firstChunkNotAtZero() {
    byte[] content = Content.random(100);
    String location = startUpload("push/not-at-zero");

    HttpResponse<byte[]> response = patchChunk(location, content, 10, 19);

    assertThat(response.statusCode()).isEqualTo(416);
    assertThat(header(BERTH.get(location), "Range")).isEqualTo("0-0");
  }

  @Test
  @DisplayName(
      "spec.md §Pushing a blob in chunks / Content-Range length ≠ Content-Length → 400 SIZE_INVALID, session unchanged")
  void chunkLengthMismatch() {
    String location = startUpload("push/length-mismatch");

    HttpResponse<byte[]> response = BERTH.patch(
        location,
        Content.random(5),
        "Content-Range",
        "0-9",
        "Content-Type",
        "application/octet-stream");

    assertError(response, 400, "SIZE_INVALID");
    assertThat(header(BERTH.get(location), "Range")).isEqualTo("0-0");
  }

  @Test
  @DisplayName(
      "spec.md §Pushing a blob in chunks / streamed PATCH without Content-Range (chunked transfer) → 202 + Range; PUT closes")
  void streamedPatch() {
    byte[] content = Content.random(100_000);
    String digest = Content.sha256(content);
    String location = startUpload("push/streamed");

    HttpResponse<byte[]> streamed = BERTH.send(
        "PATCH",
        location,
        BodyPublishers.ofInputStream(() -> new ByteArrayInputStream(content)),
        "Content-Type",
        "application/octet-stream");

    assertThat(streamed.statusCode()).isEqualTo(202);
    assertThat(header(streamed, "Range")).isEqualTo("0-99999");
    HttpResponse<byte[]> second = BERTH.patch(header(streamed, "Location"), new byte[0]);
    assertThat(second.statusCode())
        .as("an empty streamed PATCH changes nothing")
        .isEqualTo(202);
    assertThat(header(second, "Range")).isEqualTo("0-99999");
    assertThat(BERTH
            .put(withDigest(header(second, "Location"), digest), new byte[0])
            .statusCode())
        .isEqualTo(201);
    assertPullable("push/streamed", content);
  }

  @Test
  @DisplayName(
      "spec.md §Pushing a blob in chunks / GET <location> of an active session → 204 + Location + Range")
  void sessionStatus() {
    byte[] content = Content.random(123);
    String location = header(patchChunk(startUpload("push/status"), content, 0, 122), "Location");

    HttpResponse<byte[]> status = BERTH.get(location);

    assertThat(status.statusCode()).isEqualTo(204);
    assertThat(status.body()).isEmpty();
    assertThat(header(status, "Range")).isEqualTo("0-122");
    assertThat(URI.create(header(status, "Location")).getPath())
        .isEqualTo(URI.create(location).getPath());
  }

  @Test
  @DisplayName(
      "spec.md §Pushing blobs / closing PUT with a digest that does not match → 400 DIGEST_INVALID; nothing committed, session gone")
  void digestMismatchOnPut() {
    byte[] content = Content.random(1000);
    String actual = Content.sha256(content);
    String claimed = Content.sha256(Content.random(1000));
    String location = header(patchChunk(startUpload("push/mismatch"), content, 0, 999), "Location");

    HttpResponse<byte[]> response = BERTH.put(withDigest(location, claimed), new byte[0]);

    assertError(response, 400, "DIGEST_INVALID");
    assertThat(BERTH.head("/v2/push/mismatch/blobs/" + claimed).statusCode()).isEqualTo(404);
    assertThat(BERTH.head("/v2/push/mismatch/blobs/" + actual).statusCode()).isEqualTo(404);
    assertError(BERTH.get(location), 404, "BLOB_UPLOAD_UNKNOWN");
    assertThat(BERTH.catalog()).doesNotContain("push/mismatch");
  }

  @Test
  @DisplayName(
      "spec.md §Single POST / POST ?digest= whose digest does not match the body → 400 DIGEST_INVALID, nothing committed")
  void digestMismatchOnSinglePost() {
    byte[] content = Content.random(1000);
    String claimed = Content.sha256(Content.random(1000));

    HttpResponse<byte[]> response =
        BERTH.post("/v2/push/post-mismatch/blobs/uploads/?digest=" + claimed, content);

    assertError(response, 400, "DIGEST_INVALID");
    assertThat(BERTH.head("/v2/push/post-mismatch/blobs/" + claimed).statusCode())
        .isEqualTo(404);
    assertThat(BERTH
            .head("/v2/push/post-mismatch/blobs/" + Content.sha256(content))
            .statusCode())
        .isEqualTo(404);
    assertThat(BERTH.catalog()).doesNotContain("push/post-mismatch");
  }

  @Test
  @DisplayName("spec.md §Pushing blobs / closing PUT without ?digest= → 400 DIGEST_INVALID")
  void putWithoutDigest() {
    String location = startUpload("push/no-digest");

    assertError(BERTH.put(location, Content.random(10)), 400, "DIGEST_INVALID");
  }

  @Test
  @DisplayName(
      "spec.md §Cancel a blob upload / DELETE <location> → 204, then the session is 404 BLOB_UPLOAD_UNKNOWN")
  void cancelUpload() {
    byte[] content = Content.random(500);
    String location = header(patchChunk(startUpload("push/cancel"), content, 0, 499), "Location");

    HttpResponse<byte[]> cancelled = BERTH.delete(location);

    assertThat(cancelled.statusCode()).isEqualTo(204);
    assertError(BERTH.get(location), 404, "BLOB_UPLOAD_UNKNOWN");
    assertError(patchChunk(location, content, 0, 499), 404, "BLOB_UPLOAD_UNKNOWN");
    assertError(
        BERTH.put(withDigest(location, Content.sha256(content)), new byte[0]),
        404,
        "BLOB_UPLOAD_UNKNOWN");
    assertError(BERTH.delete(location), 404, "BLOB_UPLOAD_UNKNOWN");
    assertThat(BERTH.head("/v2/push/cancel/blobs/" + Content.sha256(content)).statusCode())
        .isEqualTo(404);
  }

  @Test
  @DisplayName(
      "spec.md §Pushing blobs / an upload id never issued → 404 BLOB_UPLOAD_UNKNOWN for GET, PATCH, PUT and DELETE")
  void unknownUploadId() {
    for (String id : new String[] {UUID.randomUUID().toString(), "not-a-session"}) {
      String location = "/v2/push/unknown-id/blobs/uploads/" + id;
      assertError(BERTH.get(location), 404, "BLOB_UPLOAD_UNKNOWN");
      assertError(BERTH.patch(location, Content.random(3)), 404, "BLOB_UPLOAD_UNKNOWN");
      assertError(
          BERTH.put(withDigest(location, Content.EMPTY_SHA256), new byte[0]),
          404,
          "BLOB_UPLOAD_UNKNOWN");
      assertError(BERTH.delete(location), 404, "BLOB_UPLOAD_UNKNOWN");
    }
  }

  @Test
  @DisplayName(
      "spec.md §Pushing blobs / an upload id used under another repository → 404 BLOB_UPLOAD_UNKNOWN; the session is untouched")
  void uploadIdOfAnotherRepository() {
    byte[] content = Content.random(64);
    String location = startUpload("push/owner");
    String id = header(BERTH.get(location), "Docker-Upload-UUID");
    String foreign = "/v2/push/intruder/blobs/uploads/" + id;

    assertError(BERTH.get(foreign), 404, "BLOB_UPLOAD_UNKNOWN");
    assertError(patchChunk(foreign, content, 0, 63), 404, "BLOB_UPLOAD_UNKNOWN");
    assertError(
        BERTH.put(withDigest(foreign, Content.sha256(content)), content),
        404,
        "BLOB_UPLOAD_UNKNOWN");
    assertError(BERTH.delete(foreign), 404, "BLOB_UPLOAD_UNKNOWN");

    assertThat(BERTH.head("/v2/push/intruder/blobs/" + Content.sha256(content)).statusCode())
        .isEqualTo(404);
    assertThat(header(BERTH.get(location), "Range")).isEqualTo("0-0");
    assertThat(BERTH.put(withDigest(location, Content.sha256(content)), content).statusCode())
        .isEqualTo(201);
    assertPullable("push/owner", content);
  }

  @Test
  @DisplayName(
      "spec.md §Mounting a blob from another repository / POST ?mount=&from= → 201 + Location")
  void mount() {
    byte[] content = Content.random(800);
    String digest = BERTH.pushBlob("push/mount-source", content);

    HttpResponse<byte[]> response = BERTH.post(
        "/v2/push/mount-target/blobs/uploads/?mount=" + digest + "&from=push/mount-source",
        new byte[0]);

    assertThat(response.statusCode()).isEqualTo(201);
    assertThat(URI.create(header(response, "Location")).getPath())
        .isEqualTo("/v2/push/mount-target/blobs/" + digest);
    assertThat(header(response, "Docker-Content-Digest")).isEqualTo(digest);
    assertPullable("push/mount-target", content);
    assertThat(BERTH.catalog()).contains("push/mount-target");
  }

  @Test
  @DisplayName(
      "spec.md §Mounting a blob from another repository / unknown blob → 202 and a usable upload session")
  void mountOfUnknownBlobFallsBack() {
    byte[] content = Content.random(300);
    BERTH.pushBlob("push/fallback-source", Content.random(10));
    String digest = Content.sha256(content);

    HttpResponse<byte[]> response = BERTH.post(
        "/v2/push/fallback/blobs/uploads/?mount=" + digest + "&from=push/fallback-source",
        new byte[0]);

    assertThat(response.statusCode()).isEqualTo(202);
    assertThat(header(response, "Docker-Upload-UUID")).matches(UUID_PATTERN);
    String location = header(response, "Location");
    assertThat(URI.create(location).getPath()).startsWith("/v2/push/fallback/blobs/uploads/");
    assertThat(BERTH.head("/v2/push/fallback/blobs/" + digest).statusCode()).isEqualTo(404);
    assertThat(BERTH.put(withDigest(location, digest), content).statusCode()).isEqualTo(201);
    assertPullable("push/fallback", content);
  }

  @Test
  @DisplayName(
      "spec.md §Mounting a blob from another repository / unknown or absent from= → 202 fallback session, no mount")
  void mountFromUnknownRepositoryFallsBack() {
    byte[] content = Content.random(300);
    String digest = BERTH.pushBlob("push/has-it", content);

    for (String query :
        new String[] {"?mount=" + digest + "&from=push/does-not-exist", "?mount=" + digest}) {
      HttpResponse<byte[]> response =
          BERTH.post("/v2/push/mount-nowhere/blobs/uploads/" + query, new byte[0]);
      assertThat(response.statusCode()).as(query).isEqualTo(202);
      assertThat(header(response, "Location")).contains("/v2/push/mount-nowhere/blobs/uploads/");
    }
    assertThat(BERTH.head("/v2/push/mount-nowhere/blobs/" + digest).statusCode())
        .isEqualTo(404);
  }

  @Test
  @DisplayName(
      "spec.md §Pushing blobs / a 0-byte blob by POST then PUT ?digest= with an empty body → 201, HEAD Content-Length: 0")
  void emptyBlob() {
    String location = startUpload("push/empty");

    HttpResponse<byte[]> response =
        BERTH.put(withDigest(location, Content.EMPTY_SHA256), new byte[0]);

    assertThat(response.statusCode()).isEqualTo(201);
    HttpResponse<byte[]> head = BERTH.head("/v2/push/empty/blobs/" + Content.EMPTY_SHA256);
    assertThat(head.statusCode()).isEqualTo(200);
    assertThat(header(head, "Content-Length")).isEqualTo("0");
    assertPullable("push/empty", new byte[0]);
  }

  @Test
  @DisplayName(
      "spec.md §Pushing blobs / pushing a blob the repository already has → 201 again, same bytes")
  void pushTwice() {
    byte[] content = Content.random(256);
    BERTH.pushBlob("push/twice", content);

    BERTH.pushBlob("push/twice", content);

    assertPullable("push/twice", content);
  }

  @Test
  @DisplayName(
      "spec.md §Pulling manifests (<name> grammar) / a name of 255 characters in 26 components is accepted")
  void longestName() {
    String name = "abcdefghi/".repeat(25) + "abcde";
    assertThat(name).hasSize(255);
    byte[] content = Content.random(32);

    BERTH.pushBlob(name, content);

    assertPullable(name, content);
    assertThat(BERTH.catalog()).contains(name);
  }

  // ---- steps ----

  private static String startUpload(String repository) {
    HttpResponse<byte[]> response =
        BERTH.post("/v2/" + repository + "/blobs/uploads/", new byte[0]);
    assertThat(response.statusCode()).isEqualTo(202);
    return header(response, "Location");
  }

  private static HttpResponse<byte[]> patchChunk(
      String location, byte[] content, int first, int last) {
    return BERTH.patch(
        location,
        Arrays.copyOfRange(content, first, last + 1),
        "Content-Range",
        first + "-" + last,
        "Content-Type",
        "application/octet-stream");
  }

  static String withDigest(String location, String digest) {
    return location + (location.contains("?") ? "&" : "?") + "digest=" + digest;
  }

  private static void assertPullable(String repository, byte[] content) {
    HttpResponse<byte[]> response =
        BERTH.get("/v2/" + repository + "/blobs/" + Content.sha256(content));
    assertThat(response.statusCode()).isEqualTo(200);
    assertThat(response.body()).isEqualTo(content);
  }
}
