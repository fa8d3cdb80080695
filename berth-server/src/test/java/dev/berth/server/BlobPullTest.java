package dev.berth.server;

import static dev.berth.server.SpecAssertions.assertError;
import static dev.berth.server.SpecAssertions.header;
import static org.assertj.core.api.Assertions.assertThat;

import java.net.http.HttpResponse;
import java.util.Arrays;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.DisplayName;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.RegisterExtension;

/** spec.md §Pulling blobs (end-2), §Checking if content exists, §Deleting Blobs (end-10). */
class BlobPullTest {
  @RegisterExtension
  static final InProcessBerth BERTH = new InProcessBerth();

  private static final String REPOSITORY = "pull/blobs";
  private static final byte[] BLOB = Content.random(1000);
  private static String digest;

  @BeforeAll
  static void push() {
    digest = BERTH.pushBlob(REPOSITORY, BLOB);
  }

  private static String blobPath() {
    return "/v2/" + REPOSITORY + "/blobs/" + digest;
  }

  @Test
  @DisplayName(
      "spec.md §Pulling blobs / GET → 200, the bytes, Content-Length, Docker-Content-Digest, ETag, Accept-Ranges")
  void getBlob() {
    HttpResponse<byte[]> response = BERTH.get(blobPath());

    assertThat(response.statusCode()).isEqualTo(200);
    assertThat(response.body()).isEqualTo(BLOB);
    assertThat(header(response, "Content-Length")).isEqualTo("1000");
    assertThat(header(response, "Docker-Content-Digest")).isEqualTo(digest);
    assertThat(header(response, "ETag")).isEqualTo("\"" + digest + "\"");
    assertThat(header(response, "Accept-Ranges")).isEqualTo("bytes");
  }

  @Test
  @DisplayName("spec.md §Checking if content exists / HEAD blob → 200, same headers, no body")
  void headBlob() {
    HttpResponse<byte[]> response = BERTH.head(blobPath());

    assertThat(response.statusCode()).isEqualTo(200);
    assertThat(response.body()).isEmpty();
    assertThat(header(response, "Content-Length")).isEqualTo("1000");
    assertThat(header(response, "Docker-Content-Digest")).isEqualTo(digest);
    assertThat(header(response, "ETag")).isEqualTo("\"" + digest + "\"");
    assertThat(header(response, "Accept-Ranges")).isEqualTo("bytes");
  }

  @Test
  @DisplayName(
      "spec.md §Pulling blobs (Range, RFC 9110) / bytes=0-99 → 206 + Content-Range, the first 100 bytes")
  void firstRange() {
    assertRange("bytes=0-99", 0, 99);
  }

  @Test
  @DisplayName("spec.md §Pulling blobs (Range, RFC 9110) / bytes=100-199 → 206, a middle range")
  void middleRange() {
    assertRange("bytes=100-199", 100, 199);
  }

  @Test
  @DisplayName(
      "spec.md §Pulling blobs (Range, RFC 9110) / suffix bytes=-50 → 206, the last 50 bytes")
  void suffixRange() {
    assertRange("bytes=-50", 950, 999);
  }

  @Test
  @DisplayName(
      "spec.md §Pulling blobs (Range, RFC 9110) / open-ended bytes=900- → 206, bytes 900 to the end")
  void openEndedRange() {
    assertRange("bytes=900-", 900, 999);
  }

  @Test
  @DisplayName(
      "spec.md §Pulling blobs (Range, RFC 9110) / a last byte past the end is clamped to the end")
  void rangePastTheEnd() {
    assertRange("bytes=990-5000", 990, 999);
  }

  @Test
  @DisplayName("spec.md §Pulling blobs (Range, RFC 9110) / HEAD with Range → 206 headers, no body")
  void headWithRange() {
    HttpResponse<byte[]> response = BERTH.head(blobPath(), "Range", "bytes=0-9");

    assertThat(response.statusCode()).isEqualTo(206);
    assertThat(header(response, "Content-Range")).isEqualTo("bytes 0-9/1000");
    assertThat(header(response, "Content-Length")).isEqualTo("10");
    assertThat(response.body()).isEmpty();
  }

  @Test
  @DisplayName(
      "spec.md §Pulling blobs (Range, RFC 9110) / a range starting past the end → 416 + Content-Range: bytes */size")
  void unsatisfiableRange() {
    HttpResponse<byte[]> response = BERTH.get(blobPath(), "Range", "bytes=1000-");

    assertThat(response.statusCode()).isEqualTo(416);
    assertThat(header(response, "Content-Range")).isEqualTo("bytes */1000");
    SpecAssertions.assertErrorBody(response);
  }

  @Test
  @DisplayName("spec.md §Pulling blobs (Range, RFC 9110) / a zero-length suffix bytes=-0 → 416")
  void emptySuffixRange() {
    assertThat(BERTH.get(blobPath(), "Range", "bytes=-0").statusCode()).isEqualTo(416);
  }

  @Test
  @DisplayName(
      "spec.md §Pulling blobs / a digest the repository does not have → 404 BLOB_UNKNOWN (GET and HEAD)")
  void unknownBlob() {
    String unknown = Content.sha256(Content.random(10));

    assertError(BERTH.get("/v2/" + REPOSITORY + "/blobs/" + unknown), 404, "BLOB_UNKNOWN");
    assertError(BERTH.head("/v2/" + REPOSITORY + "/blobs/" + unknown), 404, "BLOB_UNKNOWN");
  }

  @Test
  @DisplayName(
      "spec.md §Pulling blobs / a blob pushed to another repository → 404 BLOB_UNKNOWN here")
  void blobOfAnotherRepository() {
    String other = BERTH.pushBlob("pull/elsewhere", Content.random(64));

    assertError(BERTH.get("/v2/" + REPOSITORY + "/blobs/" + other), 404, "BLOB_UNKNOWN");
    assertError(BERTH.get("/v2/pull/never-pushed/blobs/" + other), 404, "BLOB_UNKNOWN");
  }

  @Test
  @DisplayName("spec.md §Pulling blobs / a 0-byte blob → 200, Content-Length: 0; any Range → 416")
  void emptyBlob() {
    String empty = BERTH.pushBlob("pull/empty", new byte[0]);
    assertThat(empty).isEqualTo(Content.EMPTY_SHA256);

    HttpResponse<byte[]> response = BERTH.get("/v2/pull/empty/blobs/" + empty);
    assertThat(response.statusCode()).isEqualTo(200);
    assertThat(response.body()).isEmpty();
    assertThat(header(response, "Content-Length")).isEqualTo("0");
    assertThat(header(response, "Docker-Content-Digest")).isEqualTo(empty);
    assertThat(BERTH.get("/v2/pull/empty/blobs/" + empty, "Range", "bytes=0-").statusCode())
        .isEqualTo(416);
  }

  @Test
  @DisplayName(
      "spec.md §Deleting Blobs / DELETE → 202, then GET and HEAD → 404 BLOB_UNKNOWN at once; other repositories keep it")
  void deleteBlob() {
    byte[] content = Content.random(200);
    String blob = BERTH.pushBlob("pull/delete-me", content);
    BERTH.pushBlob("pull/keeps-it", content);

    HttpResponse<byte[]> deleted = BERTH.delete("/v2/pull/delete-me/blobs/" + blob);

    assertThat(deleted.statusCode()).isEqualTo(202);
    assertError(BERTH.get("/v2/pull/delete-me/blobs/" + blob), 404, "BLOB_UNKNOWN");
    assertError(BERTH.head("/v2/pull/delete-me/blobs/" + blob), 404, "BLOB_UNKNOWN");
    assertError(BERTH.delete("/v2/pull/delete-me/blobs/" + blob), 404, "BLOB_UNKNOWN");
    HttpResponse<byte[]> elsewhere = BERTH.get("/v2/pull/keeps-it/blobs/" + blob);
    assertThat(elsewhere.statusCode()).isEqualTo(200);
    assertThat(elsewhere.body()).isEqualTo(content);
  }

  @Test
  @DisplayName(
      "spec.md §Deleting Blobs / DELETE of a blob never pushed, or in an unknown repository → 404 BLOB_UNKNOWN")
  void deleteUnknownBlob() {
    String unknown = Content.sha256(Content.random(10));

    assertError(BERTH.delete("/v2/" + REPOSITORY + "/blobs/" + unknown), 404, "BLOB_UNKNOWN");
    assertError(BERTH.delete("/v2/pull/no-such-repository/blobs/" + unknown), 404, "BLOB_UNKNOWN");
  }

  private static void assertRange(String range, int first, int last) {
    HttpResponse<byte[]> response = BERTH.get(blobPath(), "Range", range);

    assertThat(response.statusCode()).isEqualTo(206);
    assertThat(header(response, "Content-Range"))
        .isEqualTo("bytes " + first + "-" + last + "/1000");
    assertThat(header(response, "Content-Length")).isEqualTo(Integer.toString(last - first + 1));
    assertThat(response.body()).isEqualTo(Arrays.copyOfRange(BLOB, first, last + 1));
  }
}
