package dev.berth.metadata;

/**
 * The saved running SHA-256 of an upload session (decision 015): Bouncy Castle's encoded digest
 * state ({@code SHA256Digest#getEncodedState}) and the number of bytes it has hashed. Only a
 * state whose {@code bytes} equal the session's stored length may be resumed.
 */
public record UploadHashState(byte[] encoded, long bytes) {
  public UploadHashState {
    if (encoded == null || encoded.length == 0) {
      throw new IllegalArgumentException("an upload hash state needs its encoded bytes");
    }
    if (bytes < 0) {
      throw new IllegalArgumentException("an upload hash state covers a negative byte count");
    }
    encoded = encoded.clone();
  }

  @Override
  public byte[] encoded() {
    return encoded.clone();
  }
}
