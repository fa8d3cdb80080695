package dev.berth.oci;

/** What follows {@code /manifests/}: a tag or a digest. */
public sealed interface Reference permits Tag, DigestReference {

  static Reference parse(String text) {
    if (Digest.looksLikeDigest(text)) {
      return new DigestReference(Digest.parse(text));
    }
    return new Tag(text);
  }
}
