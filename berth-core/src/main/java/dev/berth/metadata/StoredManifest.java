package dev.berth.metadata;

import dev.berth.oci.Digest;

/** A manifest as stored: the exact bytes pushed and what was learnt from them. */
public record StoredManifest(
    long id,
    Digest digest,
    String mediaType,
    String artifactType,
    Digest subject,
    long size,
    String annotationsJson,
    byte[] content) {}
