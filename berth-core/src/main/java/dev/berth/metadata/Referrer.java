package dev.berth.metadata;

import dev.berth.oci.Digest;

/** One entry of a referrers index. */
public record Referrer(
    Digest digest, String mediaType, String artifactType, long size, String annotationsJson) {}
