package dev.berth.server;

import java.nio.charset.StandardCharsets;
import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;
import java.util.HexFormat;
import java.util.Random;
import java.util.concurrent.atomic.AtomicInteger;

/**
 * Blob bytes and manifest documents for spec tests. Manifests are written by hand, with odd
 * indentation, so that a test can check the registry stores and serves them byte for byte.
 */
final class Content {
  static final String OCI_MANIFEST = "application/vnd.oci.image.manifest.v1+json";
  static final String OCI_INDEX = "application/vnd.oci.image.index.v1+json";
  static final String OCI_CONFIG = "application/vnd.oci.image.config.v1+json";
  static final String OCI_LAYER = "application/vnd.oci.image.layer.v1.tar+gzip";
  static final String OCI_EMPTY = "application/vnd.oci.empty.v1+json";
  static final String DOCKER_MANIFEST = "application/vnd.docker.distribution.manifest.v2+json";
  static final String DOCKER_MANIFEST_LIST =
      "application/vnd.docker.distribution.manifest.list.v2+json";
  static final String DOCKER_CONFIG = "application/vnd.docker.container.image.v1+json";
  static final String DOCKER_LAYER = "application/vnd.docker.image.rootfs.diff.tar.gzip";

  /** The empty JSON object {@code {}}: image-spec's "empty descriptor" content. */
  static final byte[] EMPTY_JSON = utf8("{}");

  static final String EMPTY_SHA256 =
      "sha256:e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855";

  private static final Random RANDOM = new Random(20240101);
  private static final AtomicInteger SERIAL = new AtomicInteger();

  private Content() {}

  static byte[] utf8(String text) {
    return text.getBytes(StandardCharsets.UTF_8);
  }

  static String sha256(byte[] content) {
    try {
      return "sha256:"
          + HexFormat.of().formatHex(MessageDigest.getInstance("SHA-256").digest(content));
    } catch (NoSuchAlgorithmException e) {
      throw new IllegalStateException(e);
    }
  }

  static byte[] random(int length) {
    byte[] bytes = new byte[length];
    synchronized (RANDOM) {
      RANDOM.nextBytes(bytes);
    }
    return bytes;
  }

  /** A config blob that differs from every other one this run makes. */
  static byte[] randomConfig() {
    return utf8("{\"architecture\":\"amd64\",\"os\":\"linux\",\"created\":\"serial-"
        + SERIAL.incrementAndGet()
        + "\",\"rootfs\":{\"type\":\"layers\",\"diff_ids\":[]}}");
  }

  /** A descriptor of content as JSON. */
  static String descriptor(String mediaType, byte[] content) {
    return descriptor(mediaType, sha256(content), content.length);
  }

  static String descriptor(String mediaType, String digest, long size) {
    return "{\"mediaType\": \"" + mediaType + "\", \"digest\": \"" + digest + "\", \"size\": "
        + size + "}";
  }

  /** An OCI image manifest: config and layers are descriptors from {@link #descriptor}. */
  static byte[] ociManifest(String config, String... layers) {
    return utf8("{\n  \"schemaVersion\": 2,\n  \"mediaType\": \"" + OCI_MANIFEST + "\",\n"
        + "  \"config\": " + config + ",\n"
        + "  \"layers\": [" + String.join(",\n    ", layers) + "]\n}\n");
  }

  /** An OCI artifact manifest: artifactType, the empty config, optional subject and annotations. */
  static byte[] artifact(
      String artifactType, String subject, String annotations, String... layers) {
    return utf8("{\"schemaVersion\":2,\"mediaType\":\"" + OCI_MANIFEST + "\","
        + "\"artifactType\":\"" + artifactType + "\","
        + "\"config\":" + descriptor(OCI_EMPTY, EMPTY_JSON) + ","
        + "\"layers\":[" + String.join(",", layers) + "]"
        + (subject == null ? "" : ",\"subject\":" + subject)
        + (annotations == null ? "" : ",\"annotations\":" + annotations)
        + "}");
  }

  /** An OCI image index over manifest descriptors. */
  static byte[] ociIndex(String... manifests) {
    return utf8("{\"schemaVersion\": 2, \"mediaType\": \"" + OCI_INDEX + "\",\n \"manifests\": ["
        + String.join(", ", manifests) + "]}");
  }

  static byte[] dockerManifest(String config, String... layers) {
    return utf8("{\n   \"schemaVersion\": 2,\n   \"mediaType\": \"" + DOCKER_MANIFEST + "\",\n"
        + "   \"config\": " + config + ",\n"
        + "   \"layers\": [\n      " + String.join(",\n      ", layers) + "\n   ]\n}");
  }

  static byte[] dockerManifestList(String... manifests) {
    return utf8("{\"schemaVersion\":2,\"mediaType\":\"" + DOCKER_MANIFEST_LIST
        + "\",\"manifests\":[" + String.join(",", manifests) + "]}");
  }

  /** A manifest descriptor with a platform, as an index or a manifest list lists it. */
  static String platformDescriptor(String mediaType, byte[] manifest, String architecture) {
    return "{\"mediaType\":\"" + mediaType + "\",\"digest\":\"" + sha256(manifest) + "\",\"size\":"
        + manifest.length + ",\"platform\":{\"architecture\":\"" + architecture
        + "\",\"os\":\"linux\"}}";
  }
}
