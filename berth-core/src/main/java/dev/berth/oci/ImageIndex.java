package dev.berth.oci;

import java.util.ArrayList;
import java.util.List;
import java.util.Map;

/** An OCI image index or a Docker manifest list. */
public record ImageIndex(
    String mediaType,
    List<Descriptor> manifests,
    Descriptor subject,
    String artifactType,
    Map<String, String> annotations)
    implements Manifest {
  public ImageIndex {
    manifests = List.copyOf(manifests);
    annotations = annotations == null ? Map.of() : Map.copyOf(annotations);
  }

  @Override
  public String effectiveArtifactType() {
    return artifactType;
  }

  @Override
  public List<Digest> requiredBlobs() {
    return List.of();
  }

  @Override
  public List<Digest> requiredManifests() {
    List<Digest> digests = new ArrayList<>(manifests.size());
    for (Descriptor descriptor : manifests) {
      if (!digests.contains(descriptor.digest())) {
        digests.add(descriptor.digest());
      }
    }
    return digests;
  }
}
