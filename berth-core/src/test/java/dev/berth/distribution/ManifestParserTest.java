package dev.berth.distribution;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import dev.berth.oci.Digest;
import dev.berth.oci.ErrorCode;
import dev.berth.oci.ImageIndex;
import dev.berth.oci.ImageManifest;
import dev.berth.oci.Manifest;
import dev.berth.oci.MediaType;
import dev.berth.oci.RegistryException;
import java.nio.charset.StandardCharsets;
import org.assertj.core.api.AbstractThrowableAssert;
import org.junit.jupiter.api.Test;

class ManifestParserTest {
  private static final String CONFIG = "sha256:" + "c".repeat(64);
  private static final String LAYER = "sha256:" + "1".repeat(64);
  private static final String LAYER2 = "sha256:" + "2".repeat(64);
  private static final String CHILD = "sha256:" + "a".repeat(64);
  private static final String SUBJECT = "sha256:" + "5".repeat(64);

  private final ManifestParser parser = new ManifestParser();

  // --- each media type ---------------------------------------------------------------------------

  @Test
  void parsesAnOciImageManifest() {
    Manifest manifest = parse(MediaType.OCI_MANIFEST, image(MediaType.OCI_MANIFEST, ""));

    ImageManifest image = (ImageManifest) manifest;
    assertThat(image.mediaType()).isEqualTo(MediaType.OCI_MANIFEST);
    assertThat(image.config().digest()).isEqualTo(Digest.parse(CONFIG));
    assertThat(image.config().mediaType()).isEqualTo("application/vnd.oci.image.config.v1+json");
    assertThat(image.config().size()).isEqualTo(7);
    assertThat(image.layers())
        .extracting(d -> d.digest().toString())
        .containsExactly(LAYER, LAYER2);
    assertThat(image.requiredBlobs())
        .containsExactly(Digest.parse(CONFIG), Digest.parse(LAYER), Digest.parse(LAYER2));
    assertThat(image.requiredManifests()).isEmpty();
    assertThat(image.subject()).isNull();
    assertThat(image.effectiveArtifactType()).isEqualTo("application/vnd.oci.image.config.v1+json");
  }

  @Test
  void parsesADockerSchema2Manifest() {
    String body = """
        {"schemaVersion": 2,
         "mediaType": "application/vnd.docker.distribution.manifest.v2+json",
         "config": {"mediaType": "application/vnd.docker.container.image.v1+json", "digest": "%s", "size": 7},
         "layers": [{"mediaType": "application/vnd.docker.image.rootfs.diff.tar.gzip", "digest": "%s", "size": 3}]}
        """.formatted(CONFIG, LAYER);

    Manifest manifest = parse(MediaType.DOCKER_MANIFEST, body);

    assertThat(manifest).isInstanceOf(ImageManifest.class);
    assertThat(manifest.mediaType()).isEqualTo(MediaType.DOCKER_MANIFEST);
    assertThat(manifest.requiredBlobs()).containsExactly(Digest.parse(CONFIG), Digest.parse(LAYER));
  }

  @Test
  void parsesAnOciIndex() {
    Manifest manifest = parse(MediaType.OCI_INDEX, index(MediaType.OCI_INDEX, ""));

    ImageIndex index = (ImageIndex) manifest;
    assertThat(index.mediaType()).isEqualTo(MediaType.OCI_INDEX);
    assertThat(index.manifests()).hasSize(2);
    assertThat(index.requiredManifests()).containsExactly(Digest.parse(CHILD), Digest.parse(LAYER));
    assertThat(index.requiredBlobs()).isEmpty();
  }

  @Test
  void parsesADockerManifestList() {
    Manifest manifest =
        parse(MediaType.DOCKER_MANIFEST_LIST, index(MediaType.DOCKER_MANIFEST_LIST, ""));

    assertThat(manifest).isInstanceOf(ImageIndex.class);
    assertThat(manifest.mediaType()).isEqualTo(MediaType.DOCKER_MANIFEST_LIST);
  }

  @Test
  void takesTheTypeFromTheBodyWhenContentTypeIsMissingOrGeneric() {
    assertThat(parse(null, index(MediaType.OCI_INDEX, "")).mediaType())
        .isEqualTo(MediaType.OCI_INDEX);
    assertThat(parse("application/json", image(MediaType.OCI_MANIFEST, "")).mediaType())
        .isEqualTo(MediaType.OCI_MANIFEST);
  }

  @Test
  void takesTheTypeFromContentTypeWhenTheBodyHasNone() {
    String body = image(MediaType.OCI_MANIFEST, "")
        .replace("\"mediaType\": \"" + MediaType.OCI_MANIFEST + "\",", "");
    assertThat(body).doesNotContain(MediaType.OCI_MANIFEST);

    assertThat(parse(MediaType.OCI_MANIFEST, body).mediaType()).isEqualTo(MediaType.OCI_MANIFEST);
    assertThat(parse(MediaType.OCI_MANIFEST + "; charset=utf-8", body).mediaType())
        .as("parameters are ignored")
        .isEqualTo(MediaType.OCI_MANIFEST);
  }

  @Test
  void readsSubjectArtifactTypeAndAnnotations() {
    String body = image(MediaType.OCI_MANIFEST, """
            "artifactType": "application/vnd.example.sbom",
            "subject": {"mediaType": "%s", "digest": "%s", "size": 100},
            "annotations": {"org.opencontainers.image.created": "2024-01-01T00:00:00Z"},
            """.formatted(MediaType.OCI_MANIFEST, SUBJECT));

    Manifest manifest = parse(MediaType.OCI_MANIFEST, body);

    assertThat(manifest.subject().digest()).isEqualTo(Digest.parse(SUBJECT));
    assertThat(manifest.artifactType()).isEqualTo("application/vnd.example.sbom");
    assertThat(manifest.effectiveArtifactType()).isEqualTo("application/vnd.example.sbom");
    assertThat(manifest.annotations())
        .containsEntry("org.opencontainers.image.created", "2024-01-01T00:00:00Z");
  }

  @Test
  void layersWithUrlsAreNotRequired() {
    String body = """
        {"schemaVersion": 2, "mediaType": "%s",
         "config": {"mediaType": "application/vnd.oci.image.config.v1+json", "digest": "%s", "size": 7},
         "layers": [{"mediaType": "application/vnd.oci.image.layer.nondistributable.v1.tar+gzip",
                     "digest": "%s", "size": 3, "urls": ["https://example.com/layer"]},
                    {"mediaType": "application/vnd.oci.image.layer.v1.tar+gzip", "digest": "%s", "size": 3}]}
        """.formatted(MediaType.OCI_MANIFEST, CONFIG, LAYER, LAYER2);

    assertThat(parse(MediaType.OCI_MANIFEST, body).requiredBlobs())
        .containsExactly(Digest.parse(CONFIG), Digest.parse(LAYER2));
  }

  @Test
  void acceptsAnArtifactWithNoLayers() {
    String body = """
        {"schemaVersion": 2, "mediaType": "%s", "artifactType": "application/vnd.example",
         "config": {"mediaType": "application/vnd.oci.empty.v1+json", "digest": "%s", "size": 2},
         "layers": []}
        """.formatted(MediaType.OCI_MANIFEST, CONFIG);

    assertThat(parse(MediaType.OCI_MANIFEST, body).requiredBlobs())
        .containsExactly(Digest.parse(CONFIG));
  }

  // --- rejections --------------------------------------------------------------------------------

  @Test
  void rejectsABodyTypeThatContradictsContentType() {
    assertInvalid(MediaType.OCI_MANIFEST, index(MediaType.OCI_INDEX, ""))
        .hasMessageContaining("does not match Content-Type");
    assertInvalid(MediaType.DOCKER_MANIFEST, image(MediaType.OCI_MANIFEST, ""))
        .hasMessageContaining("does not match Content-Type");
  }

  @Test
  void rejectsAnIndexBodyUnderAManifestType() {
    String body = index(MediaType.OCI_INDEX, "")
        .replace("\"mediaType\": \"" + MediaType.OCI_INDEX + "\",", "");
    assertInvalid(MediaType.OCI_MANIFEST, body).hasMessageContaining("must not have manifests");
  }

  @Test
  void rejectsDockerSchema1() {
    String schema1 =
        "{\"schemaVersion\": 1, \"name\": \"library/alpine\", \"tag\": \"latest\", \"fsLayers\": []}";

    assertInvalid(MediaType.DOCKER_MANIFEST_V1_SIGNED, schema1).hasMessageContaining("schema 1");
    assertInvalid(MediaType.DOCKER_MANIFEST_V1, schema1).hasMessageContaining("schema 1");
    assertInvalid(null, schema1).hasMessageContaining("schema 1");
  }

  @Test
  void rejectsAMissingOrWrongSchemaVersion() {
    assertInvalid(
            MediaType.OCI_MANIFEST,
            image(MediaType.OCI_MANIFEST, "").replace("\"schemaVersion\": 2,", ""))
        .hasMessageContaining("schemaVersion must be 2");
    assertInvalid(
            MediaType.OCI_MANIFEST,
            image(MediaType.OCI_MANIFEST, "")
                .replace("\"schemaVersion\": 2", "\"schemaVersion\": \"2\""))
        .hasMessageContaining("schemaVersion must be 2");
    assertInvalid(
            MediaType.OCI_MANIFEST,
            image(MediaType.OCI_MANIFEST, "")
                .replace("\"schemaVersion\": 2", "\"schemaVersion\": 3"))
        .hasMessageContaining("schemaVersion must be 2");
  }

  @Test
  void rejectsAnUnknownMediaType() {
    assertInvalid(null, "{\"schemaVersion\": 2}").hasMessageContaining("(none given)");
    assertInvalid("application/json", "{\"schemaVersion\": 2}")
        .hasMessageContaining("unsupported manifest media type: application/json");
    assertInvalid("text/plain", "{\"schemaVersion\": 2, \"mediaType\": \"text/plain\"}")
        .hasMessageContaining("unsupported manifest media type");
  }

  @Test
  void rejectsAManifestWithoutConfigOrLayers() {
    String noConfig = """
        {"schemaVersion": 2, "mediaType": "%s", "layers": []}
        """.formatted(MediaType.OCI_MANIFEST);
    String noLayers = """
        {"schemaVersion": 2, "mediaType": "%s",
         "config": {"mediaType": "application/vnd.oci.image.config.v1+json", "digest": "%s", "size": 7}}
        """.formatted(MediaType.OCI_MANIFEST, CONFIG);

    assertInvalid(MediaType.OCI_MANIFEST, noConfig)
        .hasMessageContaining("config must be a descriptor object");
    assertInvalid(MediaType.OCI_MANIFEST, noLayers).hasMessageContaining("layers must be an array");
    assertInvalid(MediaType.OCI_MANIFEST, noLayers.replace("7}}", "7}, \"layers\": {}}"))
        .hasMessageContaining("layers must be an array");
  }

  @Test
  void rejectsAnIndexWithoutManifestsOrWithImageFields() {
    assertInvalid(
            MediaType.OCI_INDEX,
            "{\"schemaVersion\": 2, \"mediaType\": \"" + MediaType.OCI_INDEX + "\"}")
        .hasMessageContaining("manifests must be an array");
    assertInvalid(MediaType.OCI_INDEX, index(MediaType.OCI_INDEX, "\"layers\": [],"))
        .hasMessageContaining("must not have config or layers");
    assertInvalid(MediaType.OCI_MANIFEST, image(MediaType.OCI_MANIFEST, "\"manifests\": [],"))
        .hasMessageContaining("must not have manifests");
  }

  @Test
  void rejectsANegativeOrNonIntegralSize() {
    assertInvalid(
            MediaType.OCI_MANIFEST,
            image(MediaType.OCI_MANIFEST, "").replace("\"size\": 3", "\"size\": -3"))
        .hasMessageContaining("layers[0].size must be a non-negative integer");
    assertInvalid(
            MediaType.OCI_MANIFEST,
            image(MediaType.OCI_MANIFEST, "").replace("\"size\": 7", "\"size\": 1.5"))
        .hasMessageContaining("config.size must be a non-negative integer");
    assertInvalid(
            MediaType.OCI_MANIFEST,
            image(MediaType.OCI_MANIFEST, "").replace("\"size\": 7", "\"size\": \"7\""))
        .hasMessageContaining("config.size must be a non-negative integer");
    assertInvalid(
            MediaType.OCI_MANIFEST, image(MediaType.OCI_MANIFEST, "").replace(", \"size\": 7", ""))
        .hasMessageContaining("config.size must be a non-negative integer");
  }

  @Test
  void rejectsASizeBeyondWhatALongHolds() {
    // 2^64 + 7 would wrap to 7 if read as a long.
    assertInvalid(
            MediaType.OCI_MANIFEST,
            image(MediaType.OCI_MANIFEST, "")
                .replace("\"size\": 7", "\"size\": 18446744073709551623"))
        .hasMessageContaining("config.size");
    assertInvalid(
            MediaType.OCI_MANIFEST,
            image(MediaType.OCI_MANIFEST, "").replace("\"size\": 7", "\"size\": 1e30"))
        .hasMessageContaining("config.size");
  }

  @Test
  void rejectsABadDigestInADescriptor() {
    assertInvalid(
            MediaType.OCI_MANIFEST,
            image(MediaType.OCI_MANIFEST, "").replace(LAYER2, "sha256:1234"))
        .hasMessageContaining("layers[1].digest");
    assertInvalid(
            MediaType.OCI_MANIFEST,
            image(MediaType.OCI_MANIFEST, "")
                .replace(CONFIG, "md5:d41d8cd98f00b204e9800998ecf8427e"))
        .hasMessageContaining("config.digest");
    assertInvalid(
            MediaType.OCI_INDEX, index(MediaType.OCI_INDEX, "").replace(CHILD, CHILD.toUpperCase()))
        .hasMessageContaining("manifests[0].digest");
    assertInvalid(
            MediaType.OCI_MANIFEST,
            image(MediaType.OCI_MANIFEST, "").replace("\"digest\": \"" + LAYER + "\", ", ""))
        .hasMessageContaining("layers[0].digest is required");
  }

  @Test
  void rejectsADescriptorWithoutMediaType() {
    assertInvalid(
            MediaType.OCI_MANIFEST,
            image(MediaType.OCI_MANIFEST, "")
                .replace("\"mediaType\": \"application/vnd.oci.image.config.v1+json\", ", ""))
        .hasMessageContaining("config.mediaType is required");
  }

  @Test
  void rejectsNonStringAnnotations() {
    assertInvalid(
            MediaType.OCI_MANIFEST,
            image(MediaType.OCI_MANIFEST, "\"annotations\": {\"count\": 3},"))
        .hasMessageContaining("annotations.count must be a string");
    assertInvalid(
            MediaType.OCI_MANIFEST, image(MediaType.OCI_MANIFEST, "\"annotations\": [\"a\"],"))
        .hasMessageContaining("annotations must be an object of strings");
    assertInvalid(
            MediaType.OCI_MANIFEST,
            image(MediaType.OCI_MANIFEST, "")
                .replace("\"size\": 3", "\"size\": 3, \"annotations\": {\"ok\": true}"))
        .hasMessageContaining("layers[0].annotations.ok must be a string");
  }

  @Test
  void rejectsNonStringFields() {
    assertInvalid(MediaType.OCI_MANIFEST, image(MediaType.OCI_MANIFEST, "\"artifactType\": 5,"))
        .hasMessageContaining("artifactType must be a string");
    assertInvalid(null, "{\"schemaVersion\": 2, \"mediaType\": 5}")
        .hasMessageContaining("mediaType must be a string");
  }

  @Test
  void rejectsArtifactTypeOnADockerManifest() {
    String body =
        image(MediaType.DOCKER_MANIFEST, "\"artifactType\": \"application/vnd.example\",");
    assertInvalid(MediaType.DOCKER_MANIFEST, body)
        .hasMessageContaining("artifactType is only allowed");
  }

  @Test
  void rejectsDuplicateKeys() {
    String topLevel = image(MediaType.OCI_MANIFEST, "\"schemaVersion\": 2,");
    String nested =
        image(MediaType.OCI_MANIFEST, "").replace("\"size\": 7", "\"size\": 7, \"size\": 8");

    assertInvalid(MediaType.OCI_MANIFEST, topLevel)
        .hasMessageContaining("Duplicate field 'schemaVersion'");
    assertInvalid(MediaType.OCI_MANIFEST, nested).hasMessageContaining("Duplicate field 'size'");
  }

  @Test
  void rejectsWhatIsNotAJsonObject() {
    assertInvalid(MediaType.OCI_MANIFEST, "not json").hasMessageContaining("not valid JSON");
    assertInvalid(MediaType.OCI_MANIFEST, "[]").hasMessageContaining("must be a JSON object");
    assertInvalid(MediaType.OCI_MANIFEST, "").hasMessageContaining("manifest");
    assertInvalid(MediaType.OCI_MANIFEST, image(MediaType.OCI_MANIFEST, "") + "{}")
        .hasMessageContaining("not valid JSON");
  }

  @Test
  void rejectsASubjectThatIsNotADescriptor() {
    assertInvalid(
            MediaType.OCI_MANIFEST,
            image(MediaType.OCI_MANIFEST, "\"subject\": \"" + SUBJECT + "\","))
        .hasMessageContaining("subject must be a descriptor object");
  }

  // --- helpers -----------------------------------------------------------------------------------

  private Manifest parse(String contentType, String body) {
    return parser.parse(contentType, body.getBytes(StandardCharsets.UTF_8));
  }

  private AbstractThrowableAssert<?, ? extends Throwable> assertInvalid(
      String contentType, String body) {
    return assertThatThrownBy(() -> parse(contentType, body))
        .isInstanceOfSatisfying(
            RegistryException.class,
            e -> assertThat(e.code()).isEqualTo(ErrorCode.MANIFEST_INVALID));
  }

  /** An image manifest with a config and two layers; {@code extra} is inserted as top-level fields. */
  private static String image(String mediaType, String extra) {
    return """
        {"schemaVersion": 2, "mediaType": "%s", %s
         "config": {"mediaType": "application/vnd.oci.image.config.v1+json", "digest": "%s", "size": 7},
         "layers": [
           {"mediaType": "application/vnd.oci.image.layer.v1.tar+gzip", "digest": "%s", "size": 3},
           {"mediaType": "application/vnd.oci.image.layer.v1.tar+gzip", "digest": "%s", "size": 4}]}
        """.formatted(mediaType, extra, CONFIG, LAYER, LAYER2);
  }

  /** An index of two manifests; {@code extra} is inserted as top-level fields. */
  private static String index(String mediaType, String extra) {
    return """
        {"schemaVersion": 2, "mediaType": "%s", %s
         "manifests": [
           {"mediaType": "%s", "digest": "%s", "size": 500, "platform": {"architecture": "amd64", "os": "linux"}},
           {"mediaType": "%s", "digest": "%s", "size": 501}]}
        """.formatted(
            mediaType, extra, MediaType.OCI_MANIFEST, CHILD, MediaType.OCI_MANIFEST, LAYER);
  }
}
