package dev.berth.server;

import static dev.berth.server.SpecAssertions.assertError;
import static dev.berth.server.SpecAssertions.header;
import static org.assertj.core.api.Assertions.assertThat;

import java.net.URI;
import java.net.http.HttpResponse;
import java.util.Arrays;
import org.junit.jupiter.api.DisplayName;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.RegisterExtension;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.EnumSource;

/**
 * spec.md §Pulling manifests (end-3), §Pushing Manifests (end-7), §Deleting tags and §Deleting
 * Manifests (end-9), for every manifest type Berth stores.
 */
class ManifestTest {
  @RegisterExtension
  static final InProcessBerth BERTH = new InProcessBerth();

  /** A manifest of each type, built in a repository with everything it references pushed. */
  enum Kind {
    OCI_MANIFEST(Content.OCI_MANIFEST) {
      @Override
      byte[] build(String repository) {
        return BERTH.image(repository);
      }
    },
    OCI_INDEX(Content.OCI_INDEX) {
      @Override
      byte[] build(String repository) {
        byte[] amd64 = BERTH.image(repository);
        byte[] arm64 = BERTH.image(repository);
        BERTH.pushManifest(repository, Content.sha256(amd64), Content.OCI_MANIFEST, amd64);
        BERTH.pushManifest(repository, Content.sha256(arm64), Content.OCI_MANIFEST, arm64);
        return Content.ociIndex(
            Content.platformDescriptor(Content.OCI_MANIFEST, amd64, "amd64"),
            Content.platformDescriptor(Content.OCI_MANIFEST, arm64, "arm64"));
      }
    },
    DOCKER_MANIFEST(Content.DOCKER_MANIFEST) {
      @Override
      byte[] build(String repository) {
        return dockerImage(repository);
      }
    },
    DOCKER_MANIFEST_LIST(Content.DOCKER_MANIFEST_LIST) {
      @Override
      byte[] build(String repository) {
        byte[] amd64 = dockerImage(repository);
        byte[] arm64 = dockerImage(repository);
        BERTH.pushManifest(repository, Content.sha256(amd64), Content.DOCKER_MANIFEST, amd64);
        BERTH.pushManifest(repository, Content.sha256(arm64), Content.DOCKER_MANIFEST, arm64);
        return Content.dockerManifestList(
            Content.platformDescriptor(Content.DOCKER_MANIFEST, amd64, "amd64"),
            Content.platformDescriptor(Content.DOCKER_MANIFEST, arm64, "arm64"));
      }
    },
    OCI_ARTIFACT(Content.OCI_MANIFEST) {
      @Override
      byte[] build(String repository) {
        BERTH.pushBlob(repository, Content.EMPTY_JSON);
        byte[] sbom =
            Content.utf8("{\"spdxVersion\":\"SPDX-2.3\",\"name\":\"" + repository + "\"}");
        BERTH.pushBlob(repository, sbom);
        return Content.artifact(
            "application/spdx+json",
            null,
            "{\"org.example.kind\":\"sbom\"}",
            Content.descriptor("application/spdx+json", sbom));
      }
    };

    final String mediaType;

    Kind(String mediaType) {
      this.mediaType = mediaType;
    }

    abstract byte[] build(String repository);

    String repository(String purpose) {
      return "manifests/" + name().toLowerCase().replace('_', '-') + "-" + purpose;
    }
  }

  private static byte[] dockerImage(String repository) {
    byte[] config = Content.randomConfig();
    byte[] layer = Content.random(400);
    BERTH.pushBlob(repository, config);
    BERTH.pushBlob(repository, layer);
    return Content.dockerManifest(
        Content.descriptor(Content.DOCKER_CONFIG, config),
        Content.descriptor(Content.DOCKER_LAYER, layer));
  }

  @ParameterizedTest(name = "{0}")
  @EnumSource(Kind.class)
  @DisplayName(
      "spec.md §Pushing Manifests + §Pulling manifests / PUT by tag → 201; GET/HEAD by tag and digest give the stored type, digest, length and bytes")
  void pushByTagPullBack(Kind kind) {
    String repository = kind.repository("by-tag");
    byte[] manifest = kind.build(repository);
    String digest = Content.sha256(manifest);

    HttpResponse<byte[]> pushed = BERTH.put(
        "/v2/" + repository + "/manifests/v1.0", manifest, "Content-Type", kind.mediaType);

    assertThat(pushed.statusCode()).as(new String(pushed.body())).isEqualTo(201);
    assertThat(header(pushed, "Docker-Content-Digest")).isEqualTo(digest);
    assertThat(URI.create(header(pushed, "Location")).getPath())
        .isEqualTo("/v2/" + repository + "/manifests/" + digest);
    for (String reference : new String[] {"v1.0", digest}) {
      assertPullable(repository, reference, kind.mediaType, manifest);
    }
    assertThat(BERTH.tags(repository)).contains("v1.0");
  }

  @ParameterizedTest(name = "{0}")
  @EnumSource(Kind.class)
  @DisplayName(
      "spec.md §Pushing Manifests / PUT by digest → 201 + Docker-Content-Digest; GET/HEAD by digest give it back, no tag made")
  void pushByDigestPullBack(Kind kind) {
    String repository = kind.repository("by-digest");
    byte[] manifest = kind.build(repository);
    String digest = Content.sha256(manifest);

    HttpResponse<byte[]> pushed = BERTH.put(
        "/v2/" + repository + "/manifests/" + digest, manifest, "Content-Type", kind.mediaType);

    assertThat(pushed.statusCode()).as(new String(pushed.body())).isEqualTo(201);
    assertThat(header(pushed, "Docker-Content-Digest")).isEqualTo(digest);
    assertThat(URI.create(header(pushed, "Location")).getPath())
        .isEqualTo("/v2/" + repository + "/manifests/" + digest);
    assertPullable(repository, digest, kind.mediaType, manifest);
    assertThat(BERTH.tags(repository)).isEmpty();
  }

  @Test
  @DisplayName(
      "spec.md §Pushing Manifests / Content-Type parameters are ignored; the type is served without them")
  void contentTypeParametersIgnored() {
    String repository = "manifests/parameters";
    byte[] manifest = BERTH.image(repository);

    HttpResponse<byte[]> pushed = BERTH.put(
        "/v2/" + repository + "/manifests/latest",
        manifest,
        "Content-Type",
        Content.OCI_MANIFEST + "; charset=utf-8");

    assertThat(pushed.statusCode()).isEqualTo(201);
    assertPullable(repository, "latest", Content.OCI_MANIFEST, manifest);
  }

  @Test
  @DisplayName(
      "spec.md §Pushing Manifests / no Content-Type: the body's mediaType is the stored type")
  void mediaTypeFromBody() {
    String repository = "manifests/no-content-type";
    byte[] manifest = BERTH.image(repository);

    HttpResponse<byte[]> pushed = BERTH.put("/v2/" + repository + "/manifests/latest", manifest);

    assertThat(pushed.statusCode()).isEqualTo(201);
    assertPullable(repository, "latest", Content.OCI_MANIFEST, manifest);
  }

  @Test
  @DisplayName(
      "spec.md §Pushing Manifests / a tag moves to the manifest pushed last; a manifest may carry several tags")
  void retag() {
    String repository = "manifests/retag";
    byte[] first = BERTH.image(repository);
    byte[] second = BERTH.image(repository);
    BERTH.pushManifest(repository, "latest", Content.OCI_MANIFEST, first);
    BERTH.pushManifest(repository, "stable", Content.OCI_MANIFEST, first);

    BERTH.pushManifest(repository, "latest", Content.OCI_MANIFEST, second);

    assertThat(BERTH.get("/v2/" + repository + "/manifests/latest").body()).isEqualTo(second);
    assertThat(BERTH.get("/v2/" + repository + "/manifests/stable").body()).isEqualTo(first);
    assertThat(BERTH.tags(repository)).containsExactly("latest", "stable");
  }

  @Test
  @DisplayName(
      "spec.md §Pulling manifests (<reference> grammar) / a tag of 128 characters from the whole alphabet is accepted")
  void longestTag() {
    String repository = "manifests/long-tag";
    String tag = "_Az09.-" + "x".repeat(121);
    assertThat(tag).hasSize(128);
    byte[] manifest = BERTH.image(repository);

    BERTH.pushManifest(repository, tag, Content.OCI_MANIFEST, manifest);

    assertPullable(repository, tag, Content.OCI_MANIFEST, manifest);
    assertThat(BERTH.tags(repository)).containsExactly(tag);
  }

  @Test
  @DisplayName(
      "spec.md §Push / a manifest referencing a blob never pushed → 404 MANIFEST_BLOB_UNKNOWN; nothing stored")
  void unknownBlob() {
    String repository = "manifests/missing-blob";
    byte[] config = Content.randomConfig();
    BERTH.pushBlob("manifests/other", config);
    byte[] manifest = Content.ociManifest(
        Content.descriptor(Content.OCI_CONFIG, config),
        Content.descriptor(Content.OCI_LAYER, Content.random(20)));

    HttpResponse<byte[]> response = BERTH.put(
        "/v2/" + repository + "/manifests/latest", manifest, "Content-Type", Content.OCI_MANIFEST);

    assertError(response, 404, "MANIFEST_BLOB_UNKNOWN");
    assertThat(BERTH.catalog()).doesNotContain(repository);
    assertThat(BERTH
            .head("/v2/" + repository + "/manifests/" + Content.sha256(manifest))
            .statusCode())
        .isEqualTo(404);
  }

  @Test
  @DisplayName(
      "spec.md §Push / an index whose child manifest is absent → 404 MANIFEST_BLOB_UNKNOWN; nothing stored")
  void indexWithAbsentChild() {
    String repository = "manifests/absent-child";
    byte[] present = BERTH.image(repository);
    BERTH.pushManifest(repository, Content.sha256(present), Content.OCI_MANIFEST, present);
    byte[] absent = BERTH.image(repository);
    byte[] index = Content.ociIndex(
        Content.platformDescriptor(Content.OCI_MANIFEST, present, "amd64"),
        Content.platformDescriptor(Content.OCI_MANIFEST, absent, "arm64"));

    HttpResponse<byte[]> response = BERTH.put(
        "/v2/" + repository + "/manifests/multi", index, "Content-Type", Content.OCI_INDEX);

    // spec.md: descriptors that reference a manifest or blob that does not exist MUST give
    // MANIFEST_BLOB_UNKNOWN (Distribution answers the same for manifest lists).
    assertError(response, 404, "MANIFEST_BLOB_UNKNOWN");
    assertThat(BERTH.head("/v2/" + repository + "/manifests/multi").statusCode())
        .isEqualTo(404);
    assertThat(BERTH
            .head("/v2/" + repository + "/manifests/" + Content.sha256(index))
            .statusCode())
        .isEqualTo(404);
  }

  @Test
  @DisplayName(
      "spec.md §Pushing Manifests / PUT by a digest the body does not have → 400 DIGEST_INVALID")
  void digestMismatch() {
    String repository = "manifests/digest-mismatch";
    byte[] manifest = BERTH.image(repository);
    String wrong = Content.sha256(Content.random(10));

    HttpResponse<byte[]> response = BERTH.put(
        "/v2/" + repository + "/manifests/" + wrong,
        manifest,
        "Content-Type",
        Content.OCI_MANIFEST);

    assertError(response, 400, "DIGEST_INVALID");
    assertThat(BERTH.head("/v2/" + repository + "/manifests/" + wrong).statusCode())
        .isEqualTo(404);
    assertThat(BERTH
            .head("/v2/" + repository + "/manifests/" + Content.sha256(manifest))
            .statusCode())
        .isEqualTo(404);
  }

  @Test
  @DisplayName(
      "spec.md §Pushing Manifests / mediaType in the body ≠ Content-Type → 400 MANIFEST_INVALID")
  void mediaTypeMismatch() {
    String repository = "manifests/type-mismatch";
    byte[] manifest = BERTH.image(repository);

    HttpResponse<byte[]> response = BERTH.put(
        "/v2/" + repository + "/manifests/latest",
        manifest,
        "Content-Type",
        Content.DOCKER_MANIFEST);

    assertError(response, 400, "MANIFEST_INVALID");
    assertThat(BERTH.head("/v2/" + repository + "/manifests/latest").statusCode())
        .isEqualTo(404);
  }

  @Test
  @DisplayName("spec.md §Pushing Manifests / a manifest larger than 4 MiB → 413")
  void tooLarge() {
    String repository = "manifests/too-large";
    byte[] manifest = padded(BERTH.image(repository), (4 << 20) + 1);

    HttpResponse<byte[]> response = BERTH.put(
        "/v2/" + repository + "/manifests/huge", manifest, "Content-Type", Content.OCI_MANIFEST);

    assertThat(response.statusCode()).isEqualTo(413);
    SpecAssertions.assertErrorBody(response);
    assertThat(BERTH.head("/v2/" + repository + "/manifests/huge").statusCode()).isEqualTo(404);
  }

  @Test
  @DisplayName(
      "spec.md §Pushing Manifests / a manifest of exactly 4 MiB is accepted (registries SHOULD take at least 4 MiB)")
  void fourMebibytesAccepted() {
    String repository = "manifests/four-mib";
    byte[] manifest = padded(BERTH.image(repository), 4 << 20);

    HttpResponse<byte[]> response = BERTH.put(
        "/v2/" + repository + "/manifests/big", manifest, "Content-Type", Content.OCI_MANIFEST);

    assertThat(response.statusCode()).isEqualTo(201);
    assertThat(BERTH.get("/v2/" + repository + "/manifests/big").body()).isEqualTo(manifest);
  }

  @Test
  @DisplayName("spec.md §Pushing Manifests / malformed JSON → 400 MANIFEST_INVALID")
  void malformedJson() {
    byte[] manifest = Content.utf8(
        "{\"schemaVersion\": 2, \"mediaType\": \"" + Content.OCI_MANIFEST + "\", \"config\": ");

    HttpResponse<byte[]> response = BERTH.put(
        "/v2/manifests/malformed/manifests/latest", manifest, "Content-Type", Content.OCI_MANIFEST);

    assertError(response, 400, "MANIFEST_INVALID");
    assertThat(BERTH.catalog()).doesNotContain("manifests/malformed");
  }

  @Test
  @DisplayName(
      "spec.md §Pushing Manifests / schemaVersion 1 (or the Docker schema 1 type) → 400 MANIFEST_INVALID")
  void schemaVersionOne() {
    String repository = "manifests/schema1";
    byte[] image = BERTH.image(repository);
    byte[] manifest =
        Content.utf8(new String(image).replace("\"schemaVersion\": 2", "\"schemaVersion\": 1"));
    byte[] dockerV1 = Content.utf8(
        "{\"schemaVersion\":1,\"name\":\"manifests/schema1\",\"tag\":\"v1\",\"fsLayers\":[],\"history\":[]}");

    assertError(
        BERTH.put(
            "/v2/" + repository + "/manifests/v1", manifest, "Content-Type", Content.OCI_MANIFEST),
        400,
        "MANIFEST_INVALID");
    assertError(
        BERTH.put(
            "/v2/" + repository + "/manifests/v1",
            dockerV1,
            "Content-Type",
            "application/vnd.docker.distribution.manifest.v1+prettyjws"),
        400,
        "MANIFEST_INVALID");
    assertThat(BERTH.head("/v2/" + repository + "/manifests/v1").statusCode()).isEqualTo(404);
  }

  @Test
  @DisplayName(
      "spec.md §Pushing Manifests with Subject / a manifest with subject → 201 + OCI-Subject: <subject digest>")
  void subjectHeader() {
    String repository = "manifests/subject";
    String subject = BERTH.pushImage(repository, "latest");
    long subjectSize = BERTH.get("/v2/" + repository + "/manifests/latest").body().length;
    BERTH.pushBlob(repository, Content.EMPTY_JSON);
    byte[] signature = Content.artifact(
        "application/vnd.example.signature",
        Content.descriptor(Content.OCI_MANIFEST, subject, subjectSize),
        null,
        Content.descriptor(Content.OCI_EMPTY, Content.EMPTY_JSON));

    HttpResponse<byte[]> response = BERTH.put(
        "/v2/" + repository + "/manifests/" + Content.sha256(signature),
        signature,
        "Content-Type",
        Content.OCI_MANIFEST);

    assertThat(response.statusCode()).isEqualTo(201);
    assertThat(header(response, "OCI-Subject")).isEqualTo(subject);
  }

  @Test
  @DisplayName(
      "spec.md §Push / a subject not (yet) in the repository MUST be accepted → 201 + OCI-Subject")
  void subjectNotYetPushed() {
    String repository = "manifests/subject-later";
    BERTH.pushBlob(repository, Content.EMPTY_JSON);
    String subject = Content.sha256(Content.random(30));
    byte[] signature = Content.artifact(
        "application/vnd.example.signature",
        Content.descriptor(Content.OCI_MANIFEST, subject, 30),
        null,
        Content.descriptor(Content.OCI_EMPTY, Content.EMPTY_JSON));

    HttpResponse<byte[]> response = BERTH.put(
        "/v2/" + repository + "/manifests/" + Content.sha256(signature),
        signature,
        "Content-Type",
        Content.OCI_MANIFEST);

    assertThat(response.statusCode()).isEqualTo(201);
    assertThat(header(response, "OCI-Subject")).isEqualTo(subject);
  }

  @Test
  @DisplayName(
      "spec.md §Deleting Manifests / DELETE by digest → 202; the digest and all its tags → 404 at once and leave the tags list")
  void deleteByDigest() {
    String repository = "manifests/delete-digest";
    byte[] manifest = BERTH.image(repository);
    String digest = BERTH.pushManifest(repository, "one", Content.OCI_MANIFEST, manifest);
    BERTH.pushManifest(repository, "two", Content.OCI_MANIFEST, manifest);
    BERTH.pushImage(repository, "other");

    HttpResponse<byte[]> deleted = BERTH.delete("/v2/" + repository + "/manifests/" + digest);

    assertThat(deleted.statusCode()).isEqualTo(202);
    assertError(BERTH.get("/v2/" + repository + "/manifests/" + digest), 404, "MANIFEST_UNKNOWN");
    assertError(BERTH.get("/v2/" + repository + "/manifests/one"), 404, "MANIFEST_UNKNOWN");
    assertError(BERTH.get("/v2/" + repository + "/manifests/two"), 404, "MANIFEST_UNKNOWN");
    assertError(BERTH.head("/v2/" + repository + "/manifests/one"), 404, "MANIFEST_UNKNOWN");
    assertThat(BERTH.tags(repository)).containsExactly("other");
    assertError(
        BERTH.delete("/v2/" + repository + "/manifests/" + digest), 404, "MANIFEST_UNKNOWN");
  }

  @Test
  @DisplayName(
      "spec.md §Deleting tags / DELETE by tag → 202; only the tag goes, the digest and other tags stay pullable")
  void deleteByTag() {
    String repository = "manifests/delete-tag";
    byte[] manifest = BERTH.image(repository);
    String digest = BERTH.pushManifest(repository, "gone", Content.OCI_MANIFEST, manifest);
    BERTH.pushManifest(repository, "kept", Content.OCI_MANIFEST, manifest);

    HttpResponse<byte[]> deleted = BERTH.delete("/v2/" + repository + "/manifests/gone");

    assertThat(deleted.statusCode()).isEqualTo(202);
    assertError(BERTH.get("/v2/" + repository + "/manifests/gone"), 404, "MANIFEST_UNKNOWN");
    assertPullable(repository, digest, Content.OCI_MANIFEST, manifest);
    assertPullable(repository, "kept", Content.OCI_MANIFEST, manifest);
    assertThat(BERTH.tags(repository)).containsExactly("kept");
    assertError(BERTH.delete("/v2/" + repository + "/manifests/gone"), 404, "MANIFEST_UNKNOWN");
  }

  @Test
  @DisplayName(
      "spec.md §Pulling manifests / a tag or digest the repository lacks → 404 MANIFEST_UNKNOWN (GET and HEAD)")
  void unknownManifest() {
    String repository = "manifests/known-repository";
    BERTH.pushImage(repository, "latest");
    String unknown = Content.sha256(Content.random(10));

    assertError(BERTH.get("/v2/" + repository + "/manifests/nope"), 404, "MANIFEST_UNKNOWN");
    assertError(BERTH.get("/v2/" + repository + "/manifests/" + unknown), 404, "MANIFEST_UNKNOWN");
    assertError(BERTH.head("/v2/" + repository + "/manifests/nope"), 404, "MANIFEST_UNKNOWN");
    assertError(
        BERTH.delete("/v2/" + repository + "/manifests/" + unknown), 404, "MANIFEST_UNKNOWN");
  }

  @Test
  @DisplayName("spec.md §Pulling manifests / a repository that does not exist → 404 NAME_UNKNOWN")
  void unknownRepository() {
    assertError(BERTH.get("/v2/manifests/never-was/manifests/latest"), 404, "NAME_UNKNOWN");
    assertError(BERTH.head("/v2/manifests/never-was/manifests/latest"), 404, "NAME_UNKNOWN");
    assertError(BERTH.delete("/v2/manifests/never-was/manifests/latest"), 404, "NAME_UNKNOWN");
    assertError(
        BERTH.delete("/v2/manifests/never-was/manifests/" + Content.sha256(Content.random(4))),
        404,
        "NAME_UNKNOWN");
  }

  // ---- steps ----

  private static void assertPullable(
      String repository, String reference, String mediaType, byte[] manifest) {
    String digest = Content.sha256(manifest);
    HttpResponse<byte[]> get =
        BERTH.get("/v2/" + repository + "/manifests/" + reference, "Accept", ACCEPT);
    assertThat(get.statusCode()).as("GET %s:%s", repository, reference).isEqualTo(200);
    assertThat(get.body()).isEqualTo(manifest);
    assertThat(header(get, "Content-Type")).isEqualTo(mediaType);
    assertThat(header(get, "Docker-Content-Digest")).isEqualTo(digest);
    assertThat(header(get, "Content-Length")).isEqualTo(Integer.toString(manifest.length));

    HttpResponse<byte[]> head =
        BERTH.head("/v2/" + repository + "/manifests/" + reference, "Accept", ACCEPT);
    assertThat(head.statusCode()).isEqualTo(200);
    assertThat(head.body()).isEmpty();
    assertThat(header(head, "Content-Type")).isEqualTo(mediaType);
    assertThat(header(head, "Docker-Content-Digest")).isEqualTo(digest);
    assertThat(header(head, "Content-Length")).isEqualTo(Integer.toString(manifest.length));
  }

  private static final String ACCEPT = String.join(
      ", ",
      Content.OCI_MANIFEST,
      Content.OCI_INDEX,
      Content.DOCKER_MANIFEST,
      Content.DOCKER_MANIFEST_LIST);

  /** The manifest with an annotation that brings it to exactly {@code length} bytes. */
  private static byte[] padded(byte[] manifest, int length) {
    String text = new String(manifest);
    int close = text.lastIndexOf('}');
    String prefix = text.substring(0, close) + ", \"annotations\": {\"pad\": \"";
    String suffix = "\"}" + text.substring(close);
    char[] pad = new char[length - prefix.length() - suffix.length()];
    Arrays.fill(pad, 'x');
    byte[] result = Content.utf8(prefix + new String(pad) + suffix);
    assertThat(result).hasSize(length);
    return result;
  }
}
