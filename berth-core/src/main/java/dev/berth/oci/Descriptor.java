package dev.berth.oci;

import java.util.Map;

/** A content descriptor (image-spec descriptor.md), as found in manifests and the referrers index. */
public record Descriptor(
    String mediaType,
    Digest digest,
    long size,
    String artifactType,
    Map<String, String> annotations) {
  public Descriptor {
    if (size < 0) {
      throw new RegistryException(ErrorCode.MANIFEST_INVALID, "descriptor size is negative");
    }
    annotations = annotations == null ? Map.of() : Map.copyOf(annotations);
  }
}
