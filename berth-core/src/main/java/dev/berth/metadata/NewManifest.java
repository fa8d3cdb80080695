package dev.berth.metadata;

import dev.berth.oci.Digest;
import java.util.List;

/** What a manifest push writes: the bytes, their digest and everything the manifest references. */
public record NewManifest(
    Digest digest,
    String mediaType,
    String artifactType,
    Digest subject,
    String annotationsJson,
    byte[] content,
    List<Digest> blobs,
    List<Digest> children) {
  public NewManifest {
    blobs = List.copyOf(blobs);
    children = List.copyOf(children);
  }
}
