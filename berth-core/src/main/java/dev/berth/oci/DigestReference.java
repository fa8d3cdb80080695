package dev.berth.oci;

/** A manifest reference by digest. */
public record DigestReference(Digest digest) implements Reference {
  @Override
  public String toString() {
    return digest.toString();
  }
}
