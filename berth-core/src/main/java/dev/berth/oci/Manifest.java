package dev.berth.oci;

import java.util.List;
import java.util.Map;

/** A parsed manifest: an image (or artifact) manifest, or an index of manifests. */
public sealed interface Manifest permits ImageManifest, ImageIndex {
  String mediaType();

  /** The manifest this one refers to (OCI 1.1 {@code subject}), or null. */
  Descriptor subject();

  String artifactType();

  Map<String, String> annotations();

  /** The artifact type the referrers API reports for this manifest. */
  String effectiveArtifactType();

  /** Blobs that must be present in the repository for this manifest to be accepted. */
  List<Digest> requiredBlobs();

  /** Manifests that must be present in the repository for this manifest to be accepted. */
  List<Digest> requiredManifests();
}
