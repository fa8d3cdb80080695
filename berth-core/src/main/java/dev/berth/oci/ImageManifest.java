package dev.berth.oci;

import java.util.ArrayList;
import java.util.List;
import java.util.Map;

/** An OCI image manifest or a Docker v2 schema 2 manifest (and any OCI artifact manifest). */
public record ImageManifest(
    String mediaType,
    Descriptor config,
    List<Descriptor> layers,
    Descriptor subject,
    String artifactType,
    Map<String, String> annotations,
    List<Digest> externalLayers)
    implements Manifest {
  public ImageManifest {
    layers = List.copyOf(layers);
    annotations = annotations == null ? Map.of() : Map.copyOf(annotations);
    externalLayers = List.copyOf(externalLayers);
  }

  @Override
  public String effectiveArtifactType() {
    return artifactType != null ? artifactType : config.mediaType();
  }

  @Override
  public List<Digest> requiredBlobs() {
    List<Digest> digests = new ArrayList<>(layers.size() + 1);
    digests.add(config.digest());
    for (Descriptor layer : layers) {
      // Non-distributable layers with URLs live elsewhere; Distribution does not require them.
      if (!externalLayers.contains(layer.digest()) && !digests.contains(layer.digest())) {
        digests.add(layer.digest());
      }
    }
    return digests;
  }

  @Override
  public List<Digest> requiredManifests() {
    return List.of();
  }
}
