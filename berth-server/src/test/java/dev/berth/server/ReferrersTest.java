package dev.berth.server;

import static dev.berth.server.SpecAssertions.assertError;
import static dev.berth.server.SpecAssertions.header;
import static org.assertj.core.api.Assertions.assertThat;

import com.fasterxml.jackson.core.type.TypeReference;
import com.fasterxml.jackson.databind.JsonNode;
import java.net.URLEncoder;
import java.net.http.HttpResponse;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.DisplayName;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.RegisterExtension;

/** spec.md §Listing Referrers (end-12a, end-12b). */
class ReferrersTest {
  @RegisterExtension
  static final InProcessBerth BERTH = new InProcessBerth();

  private static final String REPOSITORY = "referrers/app";
  private static final String SBOM_TYPE = "application/spdx+json";
  private static final String SIGNATURE_TYPE = "application/vnd.example.signature.v1";
  private static final String CONFIG_TYPE = "application/vnd.example.config.v1+json";

  private static String subject;
  private static byte[] sbom;
  private static byte[] signature;
  private static byte[] untypedImage;
  private static byte[] index;

  @BeforeAll
  static void push() {
    byte[] image = BERTH.image(REPOSITORY);
    subject = BERTH.pushManifest(REPOSITORY, "latest", Content.OCI_MANIFEST, image);
    String subjectDescriptor = Content.descriptor(Content.OCI_MANIFEST, image);
    BERTH.pushBlob(REPOSITORY, Content.EMPTY_JSON);
    String empty = Content.descriptor(Content.OCI_EMPTY, Content.EMPTY_JSON);

    sbom = Content.artifact(
        SBOM_TYPE,
        subjectDescriptor,
        "{\"org.opencontainers.image.created\":\"2024-01-01T00:00:00Z\",\"org.example.format\":\"json\"}",
        empty);
    signature = Content.artifact(
        SIGNATURE_TYPE, subjectDescriptor, "{\"org.example.fingerprint\":\"abcd\"}", empty);
    // An image manifest without artifactType: the referrers list reports its config's mediaType.
    byte[] config = Content.randomConfig();
    BERTH.pushBlob(REPOSITORY, config);
    untypedImage = Content.utf8("{\"schemaVersion\":2,\"mediaType\":\"" + Content.OCI_MANIFEST
        + "\",\"config\":" + Content.descriptor(CONFIG_TYPE, config) + ",\"layers\":[],\"subject\":"
        + subjectDescriptor + "}");
    for (byte[] referrer : List.of(sbom, signature, untypedImage)) {
      BERTH.pushManifest(REPOSITORY, Content.sha256(referrer), Content.OCI_MANIFEST, referrer);
    }
    // An index with a subject and no artifactType: its descriptor has no artifactType.
    index = Content.utf8(
        "{\"schemaVersion\":2,\"mediaType\":\"" + Content.OCI_INDEX + "\",\"manifests\":["
            + Content.descriptor(Content.OCI_MANIFEST, sbom) + "],\"subject\":" + subjectDescriptor
            + ",\"annotations\":{\"org.example.bundle\":\"yes\"}}");
    BERTH.pushManifest(REPOSITORY, Content.sha256(index), Content.OCI_INDEX, index);
  }

  @Test
  @DisplayName(
      "spec.md §Listing Referrers / GET referrers/<digest> → 200, an OCI index (Content-Type application/vnd.oci.image.index.v1+json) of the manifests whose subject it is")
  void listReferrers() {
    HttpResponse<byte[]> response = BERTH.get("/v2/" + REPOSITORY + "/referrers/" + subject);

    assertThat(response.statusCode()).isEqualTo(200);
    assertThat(header(response, "Content-Type")).isEqualTo(Content.OCI_INDEX);
    assertThat(header(response, "OCI-Filters-Applied")).isNull();
    JsonNode root = InProcessBerth.json(response);
    assertThat(root.get("schemaVersion").asInt()).isEqualTo(2);
    assertThat(root.get("mediaType").asText()).isEqualTo(Content.OCI_INDEX);
    assertThat(digests(root))
        .containsExactlyInAnyOrder(
            Content.sha256(sbom),
            Content.sha256(signature),
            Content.sha256(untypedImage),
            Content.sha256(index));

    JsonNode sbomEntry = entry(root, sbom);
    assertThat(sbomEntry.get("mediaType").asText()).isEqualTo(Content.OCI_MANIFEST);
    assertThat(sbomEntry.get("size").asLong()).isEqualTo(sbom.length);
    assertThat(sbomEntry.get("artifactType").asText()).isEqualTo(SBOM_TYPE);
    assertThat(InProcessBerth.JSON.convertValue(
            sbomEntry.get("annotations"), new TypeReference<Map<String, String>>() {}))
        .isEqualTo(Map.of(
            "org.opencontainers.image.created",
            "2024-01-01T00:00:00Z",
            "org.example.format",
            "json"));
    assertThat(entry(root, signature).get("artifactType").asText()).isEqualTo(SIGNATURE_TYPE);
    assertThat(entry(root, signature)
            .get("annotations")
            .get("org.example.fingerprint")
            .asText())
        .isEqualTo("abcd");
  }

  @Test
  @DisplayName(
      "spec.md §Listing Referrers / an image manifest without artifactType is listed with its config's mediaType")
  void artifactTypeFromConfig() {
    JsonNode root = InProcessBerth.json(BERTH.get("/v2/" + REPOSITORY + "/referrers/" + subject));

    JsonNode untyped = entry(root, untypedImage);
    assertThat(untyped.get("artifactType").asText()).isEqualTo(CONFIG_TYPE);
    assertThat(untyped.has("annotations")).isFalse();
  }

  @Test
  @DisplayName(
      "spec.md §Listing Referrers / an index without artifactType is listed without one, with its annotations")
  void indexReferrer() {
    JsonNode root = InProcessBerth.json(BERTH.get("/v2/" + REPOSITORY + "/referrers/" + subject));

    JsonNode entry = entry(root, index);
    assertThat(entry.get("mediaType").asText()).isEqualTo(Content.OCI_INDEX);
    assertThat(entry.has("artifactType")).isFalse();
    assertThat(entry.get("annotations").get("org.example.bundle").asText()).isEqualTo("yes");
  }

  @Test
  @DisplayName(
      "spec.md §Listing Referrers / ?artifactType= → only that type, and OCI-Filters-Applied: artifactType")
  void filterByArtifactType() {
    HttpResponse<byte[]> response = BERTH.get(
        "/v2/" + REPOSITORY + "/referrers/" + subject + "?artifactType=" + encode(SBOM_TYPE));

    assertThat(response.statusCode()).isEqualTo(200);
    assertThat(header(response, "OCI-Filters-Applied")).isEqualTo("artifactType");
    assertThat(digests(InProcessBerth.json(response))).containsExactly(Content.sha256(sbom));

    HttpResponse<byte[]> byConfigType = BERTH.get(
        "/v2/" + REPOSITORY + "/referrers/" + subject + "?artifactType=" + encode(CONFIG_TYPE));
    assertThat(digests(InProcessBerth.json(byConfigType)))
        .containsExactly(Content.sha256(untypedImage));
  }

  @Test
  @DisplayName(
      "spec.md §Listing Referrers / a filter nothing matches → 200, empty manifests, OCI-Filters-Applied")
  void filterMatchingNothing() {
    HttpResponse<byte[]> response = BERTH.get(
        "/v2/" + REPOSITORY + "/referrers/" + subject + "?artifactType=application/x-none");

    assertThat(response.statusCode()).isEqualTo(200);
    assertThat(header(response, "OCI-Filters-Applied")).isEqualTo("artifactType");
    assertThat(digests(InProcessBerth.json(response))).isEmpty();
  }

  @Test
  @DisplayName(
      "spec.md §Listing Referrers / no referrers → 200 and an index with an empty manifests list (never 404)")
  void noReferrers() {
    String lonely = Content.sha256(Content.random(10));

    for (String path : List.of(
        "/v2/" + REPOSITORY + "/referrers/" + lonely,
        "/v2/referrers/unknown-repository/referrers/" + subject)) {
      HttpResponse<byte[]> response = BERTH.get(path);
      assertThat(response.statusCode()).as(path).isEqualTo(200);
      assertThat(header(response, "Content-Type")).isEqualTo(Content.OCI_INDEX);
      JsonNode root = InProcessBerth.json(response);
      assertThat(root.get("schemaVersion").asInt()).isEqualTo(2);
      assertThat(root.get("manifests").isArray()).isTrue();
      assertThat(root.get("manifests").size()).isZero();
    }
  }

  @Test
  @DisplayName("spec.md §Listing Referrers / a referrer pushed before its subject is listed")
  void referrerBeforeSubject() {
    String repository = "referrers/early";
    byte[] image = BERTH.image(repository);
    BERTH.pushBlob(repository, Content.EMPTY_JSON);
    byte[] early = Content.artifact(
        SBOM_TYPE,
        Content.descriptor(Content.OCI_MANIFEST, image),
        null,
        Content.descriptor(Content.OCI_EMPTY, Content.EMPTY_JSON));
    BERTH.pushManifest(repository, Content.sha256(early), Content.OCI_MANIFEST, early);

    HttpResponse<byte[]> before =
        BERTH.get("/v2/" + repository + "/referrers/" + Content.sha256(image));
    BERTH.pushManifest(repository, "latest", Content.OCI_MANIFEST, image);
    HttpResponse<byte[]> after =
        BERTH.get("/v2/" + repository + "/referrers/" + Content.sha256(image));

    assertThat(digests(InProcessBerth.json(before))).containsExactly(Content.sha256(early));
    assertThat(digests(InProcessBerth.json(after))).containsExactly(Content.sha256(early));
  }

  @Test
  @DisplayName(
      "spec.md §Listing Referrers + §Deleting Manifests / a deleted referrer leaves the list at once")
  void deletedReferrerDisappears() {
    String repository = "referrers/delete";
    byte[] image = BERTH.image(repository);
    String target = BERTH.pushManifest(repository, "latest", Content.OCI_MANIFEST, image);
    BERTH.pushBlob(repository, Content.EMPTY_JSON);
    String descriptor = Content.descriptor(Content.OCI_MANIFEST, image);
    String empty = Content.descriptor(Content.OCI_EMPTY, Content.EMPTY_JSON);
    String kept = BERTH.pushManifest(
        repository,
        "sig-kept",
        Content.OCI_MANIFEST,
        Content.artifact(SIGNATURE_TYPE, descriptor, "{\"n\":\"1\"}", empty));
    String dropped = BERTH.pushManifest(
        repository,
        "sig-dropped",
        Content.OCI_MANIFEST,
        Content.artifact(SIGNATURE_TYPE, descriptor, "{\"n\":\"2\"}", empty));
    assertThat(
            digests(InProcessBerth.json(BERTH.get("/v2/" + repository + "/referrers/" + target))))
        .containsExactlyInAnyOrder(kept, dropped);

    assertThat(BERTH.delete("/v2/" + repository + "/manifests/" + dropped).statusCode())
        .isEqualTo(202);

    assertThat(
            digests(InProcessBerth.json(BERTH.get("/v2/" + repository + "/referrers/" + target))))
        .containsExactly(kept);
  }

  @Test
  @DisplayName(
      "spec.md §Listing Referrers / referrers are per repository: another repository's referrer is not listed")
  void scopedToRepository() {
    HttpResponse<byte[]> response = BERTH.get("/v2/referrers/other/referrers/" + subject);

    assertThat(digests(InProcessBerth.json(response))).isEmpty();
  }

  @Test
  @DisplayName("spec.md §Listing Referrers / an invalid digest → 400 DIGEST_INVALID")
  void invalidDigest() {
    assertError(
        BERTH.get("/v2/" + REPOSITORY + "/referrers/sha256:not-hex"), 400, "DIGEST_INVALID");
  }

  /** Query values are form-encoded: a '+' in a media type must travel as %2B. */
  private static String encode(String value) {
    return URLEncoder.encode(value, StandardCharsets.UTF_8);
  }

  private static List<String> digests(JsonNode index) {
    List<String> digests = new ArrayList<>();
    index.get("manifests").forEach(entry -> digests.add(entry.get("digest").asText()));
    return digests;
  }

  private static JsonNode entry(JsonNode index, byte[] manifest) {
    for (JsonNode entry : index.get("manifests")) {
      if (entry.get("digest").asText().equals(Content.sha256(manifest))) {
        return entry;
      }
    }
    throw new AssertionError("no referrer " + Content.sha256(manifest) + " in " + index);
  }
}
