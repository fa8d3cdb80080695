package dev.berth.distribution;

import com.fasterxml.jackson.core.JsonParser;
import com.fasterxml.jackson.core.StreamReadFeature;
import com.fasterxml.jackson.databind.DeserializationFeature;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.json.JsonMapper;
import dev.berth.oci.Descriptor;
import dev.berth.oci.Digest;
import dev.berth.oci.ErrorCode;
import dev.berth.oci.ImageIndex;
import dev.berth.oci.ImageManifest;
import dev.berth.oci.Manifest;
import dev.berth.oci.MediaType;
import dev.berth.oci.RegistryException;
import java.io.IOException;
import java.util.ArrayList;
import java.util.Iterator;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * Parses and validates pushed manifest bytes (image-spec manifest.md and image-index.md, Docker
 * manifest v2 schema 2). The bytes themselves are stored untouched; this only learns from them.
 */
public final class ManifestParser {
  private final ObjectMapper json = JsonMapper.builder()
      .enable(DeserializationFeature.FAIL_ON_READING_DUP_TREE_KEY)
      // "{...}{...}" is not one manifest; clients that parse the stored bytes would fail.
      .enable(DeserializationFeature.FAIL_ON_TRAILING_TOKENS)
      .enable(StreamReadFeature.STRICT_DUPLICATE_DETECTION)
      .enable(JsonParser.Feature.STRICT_DUPLICATE_DETECTION)
      .build();

  /**
   * @param contentType the request's Content-Type (may be null)
   */
  public Manifest parse(String contentType, byte[] bytes) {
    JsonNode root;
    try {
      root = json.readTree(bytes);
    } catch (IOException e) {
      throw invalid("manifest is not valid JSON: " + firstLine(e.getMessage()));
    }
    if (root == null || !root.isObject()) {
      throw invalid("manifest must be a JSON object");
    }
    String declared = MediaType.essence(contentType);
    JsonNode mediaTypeNode = root.get("mediaType");
    String bodyType = null;
    if (mediaTypeNode != null && !mediaTypeNode.isNull()) {
      if (!mediaTypeNode.isTextual()) {
        throw invalid("mediaType must be a string");
      }
      bodyType = mediaTypeNode.asText();
    }
    if (MediaType.DOCKER_MANIFEST_V1.equals(declared)
        || MediaType.DOCKER_MANIFEST_V1_SIGNED.equals(declared)
        || (root.has("schemaVersion") && root.get("schemaVersion").asInt() == 1)) {
      throw invalid("Docker schema 1 manifests are not supported; push schema 2 or OCI");
    }
    String mediaType;
    if (MediaType.isManifestType(declared)) {
      if (bodyType != null && !bodyType.equals(declared)) {
        throw invalid(
            "mediaType " + bodyType + " in the manifest does not match Content-Type " + declared);
      }
      mediaType = declared;
    } else if (bodyType != null && MediaType.isManifestType(bodyType)) {
      mediaType = bodyType;
    } else {
      throw invalid("unsupported manifest media type: "
          + (declared != null ? declared : bodyType != null ? bodyType : "(none given)"));
    }
    JsonNode schemaVersion = root.get("schemaVersion");
    if (schemaVersion == null || !schemaVersion.isInt() || schemaVersion.asInt() != 2) {
      throw invalid("schemaVersion must be 2");
    }
    Descriptor subject = root.has("subject") ? descriptor(root.get("subject"), "subject") : null;
    String artifactType = optionalText(root, "artifactType");
    Map<String, String> annotations = annotations(root.get("annotations"), "annotations");
    if (MediaType.isIndex(mediaType)) {
      if (root.has("config") || root.has("layers")) {
        throw invalid("an index must not have config or layers");
      }
      JsonNode manifests = root.get("manifests");
      if (manifests == null || !manifests.isArray()) {
        throw invalid("manifests must be an array");
      }
      List<Descriptor> children = new ArrayList<>();
      for (int i = 0; i < manifests.size(); i++) {
        children.add(descriptor(manifests.get(i), "manifests[" + i + "]"));
      }
      return new ImageIndex(mediaType, children, subject, artifactType, annotations);
    }
    if (root.has("manifests")) {
      throw invalid("an image manifest must not have manifests");
    }
    Descriptor config = descriptor(root.get("config"), "config");
    JsonNode layersNode = root.get("layers");
    if (layersNode == null || !layersNode.isArray()) {
      throw invalid("layers must be an array");
    }
    List<Descriptor> layers = new ArrayList<>();
    List<Digest> external = new ArrayList<>();
    for (int i = 0; i < layersNode.size(); i++) {
      JsonNode layer = layersNode.get(i);
      Descriptor descriptor = descriptor(layer, "layers[" + i + "]");
      layers.add(descriptor);
      JsonNode urls = layer.get("urls");
      if (urls != null && urls.isArray() && !urls.isEmpty()) {
        external.add(descriptor.digest());
      }
    }
    if (artifactType != null && !MediaType.OCI_MANIFEST.equals(mediaType)) {
      throw invalid("artifactType is only allowed in OCI image manifests");
    }
    return new ImageManifest(
        mediaType, config, layers, subject, artifactType, annotations, external);
  }

  private static Descriptor descriptor(JsonNode node, String where) {
    if (node == null || !node.isObject()) {
      throw invalid(where + " must be a descriptor object");
    }
    String mediaType = optionalText(node, "mediaType");
    if (mediaType == null || mediaType.isEmpty()) {
      throw invalid(where + ".mediaType is required");
    }
    String digestText = optionalText(node, "digest");
    if (digestText == null) {
      throw invalid(where + ".digest is required");
    }
    Digest digest;
    try {
      digest = Digest.parse(digestText);
    } catch (RegistryException e) {
      throw invalid(where + ".digest: " + e.getMessage());
    }
    JsonNode size = node.get("size");
    if (size == null
        || !size.canConvertToExactIntegral()
        || !size.canConvertToLong() // asLong() would wrap 2^64 + 7 to 7
        || size.asLong() < 0) {
      throw invalid(where + ".size must be a non-negative integer");
    }
    return new Descriptor(
        mediaType,
        digest,
        size.asLong(),
        optionalText(node, "artifactType"),
        annotations(node.get("annotations"), where + ".annotations"));
  }

  private static String optionalText(JsonNode node, String field) {
    JsonNode value = node.get(field);
    if (value == null || value.isNull()) {
      return null;
    }
    if (!value.isTextual()) {
      throw invalid(field + " must be a string");
    }
    return value.asText();
  }

  private static Map<String, String> annotations(JsonNode node, String where) {
    if (node == null || node.isNull()) {
      return Map.of();
    }
    if (!node.isObject()) {
      throw invalid(where + " must be an object of strings");
    }
    Map<String, String> map = new LinkedHashMap<>();
    Iterator<Map.Entry<String, JsonNode>> fields = node.fields();
    while (fields.hasNext()) {
      Map.Entry<String, JsonNode> field = fields.next();
      if (!field.getValue().isTextual()) {
        throw invalid(where + "." + field.getKey() + " must be a string");
      }
      map.put(field.getKey(), field.getValue().asText());
    }
    return map;
  }

  private static String firstLine(String message) {
    if (message == null) {
      return "";
    }
    int newline = message.indexOf('\n');
    return newline < 0 ? message : message.substring(0, newline);
  }

  private static RegistryException invalid(String message) {
    return new RegistryException(ErrorCode.MANIFEST_INVALID, message);
  }
}
