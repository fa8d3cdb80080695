package dev.berth.server;

import static org.assertj.core.api.Assertions.assertThat;

import dev.berth.testkit.S3Server;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.time.Duration;
import java.util.Arrays;
import java.util.HashMap;
import java.util.Map;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

/**
 * {@code storage.s3.redirect}: a blob {@code GET} answers {@code 307} to a presigned URL of the
 * bucket (s3proxy), which serves the blob's exact bytes, ranges included, to a client holding no
 * credentials; {@code HEAD}, {@code redirect: false} and the filesystem driver answer as before.
 */
class BlobDownloadRedirectTest {
  private static final byte[] CONTENT = Content.random(3 << 20);
  private static final String DIGEST = Content.sha256(CONTENT);

  private static S3Server s3;
  private static InProcessBerth redirecting;
  private static InProcessBerth streaming;
  private static InProcessBerth filesystem;
  /** Knows nothing of the registry or S3: no credentials, no cookies. */
  private static final HttpClient STRANGER = HttpClient.newBuilder()
      .followRedirects(HttpClient.Redirect.NEVER)
      .connectTimeout(Duration.ofSeconds(5))
      .build();

  @BeforeAll
  static void start() throws Exception {
    s3 = S3Server.start();
    redirecting = new InProcessBerth(s3("redirect-on", Map.of()));
    redirecting.start();
    streaming = new InProcessBerth(s3("redirect-off", Map.of("storage.s3.redirect", "false")));
    streaming.start();
    filesystem = new InProcessBerth();
    filesystem.start();
    for (InProcessBerth berth : new InProcessBerth[] {redirecting, streaming, filesystem}) {
      berth.pushBlob("library/app", CONTENT);
    }
  }

  @AfterAll
  static void stop() throws Exception {
    for (InProcessBerth berth : new InProcessBerth[] {redirecting, streaming, filesystem}) {
      if (berth != null) {
        berth.close();
      }
    }
    if (s3 != null) {
      s3.close();
    }
  }

  private static Map<String, String> s3(String bucket, Map<String, String> more) {
    Map<String, String> settings = new HashMap<>(more);
    settings.put("storage.driver", "s3");
    settings.put("storage.s3.endpoint", s3.endpoint());
    settings.put("storage.s3.bucket", bucket);
    settings.put("storage.s3.prefix", "berth/");
    settings.put("storage.s3.access-key", S3Server.ACCESS_KEY);
    settings.put("storage.s3.secret-key", S3Server.SECRET_KEY);
    settings.put("storage.s3.path-style", "true");
    settings.put("storage.s3.create-bucket", "true");
    settings.put("storage.s3.redirect-expiry", "2m");
    return settings;
  }

  @Test
  void getRedirectsToAPresignedUrlThatServesTheExactBytes() throws Exception {
    HttpResponse<byte[]> response = redirecting.get("/v2/library/app/blobs/" + DIGEST);

    assertThat(response.statusCode()).isEqualTo(307);
    assertThat(response.headers().firstValue("Docker-Content-Digest")).hasValue(DIGEST);
    assertThat(response.headers().firstValue("Cache-Control")).hasValue("no-store");
    URI location = URI.create(response.headers().firstValue("Location").orElseThrow());
    assertThat(location.toString()).startsWith(s3.endpoint() + "/redirect-on/berth/blobs/sha256/");
    assertThat(location.getQuery()).contains("X-Amz-Expires=120");

    HttpResponse<byte[]> whole = fetch(location, null);
    assertThat(whole.statusCode()).isEqualTo(200);
    assertThat(Content.sha256(whole.body())).isEqualTo(DIGEST);

    HttpResponse<byte[]> part = fetch(location, "bytes=1000-1999999");
    assertThat(part.statusCode()).isEqualTo(206);
    assertThat(part.body()).isEqualTo(Arrays.copyOfRange(CONTENT, 1000, 2_000_000));
  }

  @Test
  void theRedirectComesOnlyAfterTheDatabaseSaysTheBlobIsThere() {
    // The bytes are in the bucket, but this repository does not link them: 404, no URL.
    HttpResponse<byte[]> response = redirecting.get("/v2/other/app/blobs/" + DIGEST);

    assertThat(response.statusCode()).isEqualTo(404);
    assertThat(response.headers().firstValue("Location")).isEmpty();
  }

  @Test
  void headAnswersAsBefore() {
    HttpResponse<byte[]> response = redirecting.head("/v2/library/app/blobs/" + DIGEST);

    assertThat(response.statusCode()).isEqualTo(200);
    assertThat(response.headers().firstValue("Content-Length"))
        .hasValue(Integer.toString(CONTENT.length));
    assertThat(response.headers().firstValue("Location")).isEmpty();
  }

  @Test
  void withRedirectOffTheNodeStreamsTheBytes() {
    HttpResponse<byte[]> response = streaming.get("/v2/library/app/blobs/" + DIGEST);

    assertThat(response.statusCode()).isEqualTo(200);
    assertThat(response.headers().firstValue("Location")).isEmpty();
    assertThat(Content.sha256(response.body())).isEqualTo(DIGEST);
  }

  @Test
  void theFilesystemDriverNeverRedirects() {
    HttpResponse<byte[]> response = filesystem.get("/v2/library/app/blobs/" + DIGEST);

    assertThat(response.statusCode()).isEqualTo(200);
    assertThat(response.headers().firstValue("Location")).isEmpty();
    assertThat(Content.sha256(response.body())).isEqualTo(DIGEST);
  }

  private static HttpResponse<byte[]> fetch(URI location, String range) throws Exception {
    HttpRequest.Builder request = HttpRequest.newBuilder(location).timeout(Duration.ofSeconds(30));
    if (range != null) {
      request.header("Range", range);
    }
    return STRANGER.send(request.build(), HttpResponse.BodyHandlers.ofByteArray());
  }
}
