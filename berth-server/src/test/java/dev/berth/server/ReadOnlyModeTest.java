package dev.berth.server;

import static dev.berth.server.SpecAssertions.assertError;
import static org.assertj.core.api.Assertions.assertThat;

import java.net.http.HttpResponse;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.Map;
import java.util.UUID;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.DisplayName;
import org.junit.jupiter.api.Test;

/**
 * {@code server.read-only: true}: spec.md §Content Management lets a registry disable deletion
 * ("MUST respond with either a 400 Bad Request or a 405 Method Not Allowed"); Berth refuses every
 * write with 405 UNSUPPORTED and keeps serving reads. The data is pushed by a writable Berth on the
 * same directory first.
 */
class ReadOnlyModeTest {
  private static final String REPOSITORY = "frozen/app";
  private static Path dataDir;
  private static InProcessBerth berth;
  private static byte[] manifest;
  private static String digest;
  private static byte[] layer;

  @BeforeAll
  static void pushThenRestartReadOnly() throws Exception {
    dataDir = Files.createTempDirectory("berth-spec-read-only-");
    InProcessBerth writable = new InProcessBerth(Map.of(), dataDir);
    writable.start();
    try {
      layer = Content.random(500);
      writable.pushBlob(REPOSITORY, layer);
      manifest = writable.image(REPOSITORY);
      digest = writable.pushManifest(REPOSITORY, "latest", Content.OCI_MANIFEST, manifest);
    } finally {
      writable.close();
    }
    berth = new InProcessBerth(Map.of("server.read-only", "true"), dataDir);
    berth.start();
  }

  @AfterAll
  static void stop() throws Exception {
    if (berth != null) {
      berth.close();
    }
    InProcessBerth.deleteRecursively(dataDir);
  }

  @Test
  @DisplayName("read-only / GET and HEAD work: /v2/, manifests, blobs, tags, catalog, referrers")
  void readsWork() {
    assertThat(berth.get("/v2/").statusCode()).isEqualTo(200);
    HttpResponse<byte[]> pulled = berth.get("/v2/" + REPOSITORY + "/manifests/latest");
    assertThat(pulled.statusCode()).isEqualTo(200);
    assertThat(pulled.body()).isEqualTo(manifest);
    assertThat(berth.head("/v2/" + REPOSITORY + "/manifests/" + digest).statusCode())
        .isEqualTo(200);
    HttpResponse<byte[]> blob = berth.get("/v2/" + REPOSITORY + "/blobs/" + Content.sha256(layer));
    assertThat(blob.statusCode()).isEqualTo(200);
    assertThat(blob.body()).isEqualTo(layer);
    assertThat(berth.tags(REPOSITORY)).containsExactly("latest");
    assertThat(berth.catalog()).containsExactly(REPOSITORY);
    assertThat(berth.get("/v2/" + REPOSITORY + "/referrers/" + digest).statusCode())
        .isEqualTo(200);
  }

  @Test
  @DisplayName(
      "read-only / every PUT, POST, PATCH and DELETE → 405 UNSUPPORTED with the spec's JSON body; nothing changes")
  void writesRefused() {
    String blob = Content.sha256(layer);
    String upload = "/v2/" + REPOSITORY + "/blobs/uploads/" + UUID.randomUUID();
    byte[] other = Content.random(10);
    List<HttpResponse<byte[]>> responses = List.of(
        berth.put(
            "/v2/" + REPOSITORY + "/manifests/v2", manifest, "Content-Type", Content.OCI_MANIFEST),
        berth.put(
            "/v2/" + REPOSITORY + "/manifests/" + digest,
            manifest,
            "Content-Type",
            Content.OCI_MANIFEST),
        berth.post("/v2/" + REPOSITORY + "/blobs/uploads/", new byte[0]),
        berth.post("/v2/" + REPOSITORY + "/blobs/uploads/?digest=" + Content.sha256(other), other),
        berth.post(
            "/v2/elsewhere/blobs/uploads/?mount=" + blob + "&from=" + REPOSITORY, new byte[0]),
        berth.patch(upload, other, "Content-Range", "0-9"),
        berth.put(upload + "?digest=" + Content.sha256(other), other),
        berth.delete(upload),
        berth.delete("/v2/" + REPOSITORY + "/manifests/latest"),
        berth.delete("/v2/" + REPOSITORY + "/manifests/" + digest),
        berth.delete("/v2/" + REPOSITORY + "/blobs/" + blob));

    for (HttpResponse<byte[]> response : responses) {
      assertError(response, 405, "UNSUPPORTED");
    }
    assertThat(berth.tags(REPOSITORY)).containsExactly("latest");
    assertThat(berth.get("/v2/" + REPOSITORY + "/manifests/" + digest).statusCode())
        .isEqualTo(200);
    assertThat(berth.head("/v2/" + REPOSITORY + "/blobs/" + blob).statusCode()).isEqualTo(200);
    assertThat(berth.catalog()).containsExactly(REPOSITORY);
  }
}
