package dev.berth.oci;

import java.util.HexFormat;
import java.util.regex.Pattern;

/**
 * A content digest {@code algorithm:encoded} (image-spec descriptor.md "Digests"). Only sha256 and
 * sha512 are accepted: an unknown algorithm is rejected at the edge with DIGEST_INVALID, as the spec
 * allows.
 */
public record Digest(String algorithm, String encoded) implements Comparable<Digest> {
  private static final Pattern GRAMMAR =
      Pattern.compile("[a-z0-9]+(?:[+._-][a-z0-9]+)*:[a-zA-Z0-9=_-]+");
  private static final Pattern HEX64 = Pattern.compile("[a-f0-9]{64}");
  private static final Pattern HEX128 = Pattern.compile("[a-f0-9]{128}");

  public Digest {
    switch (algorithm) {
      case "sha256" -> {
        if (!HEX64.matcher(encoded).matches()) {
          throw invalid(algorithm + ":" + encoded);
        }
      }
      case "sha512" -> {
        if (!HEX128.matcher(encoded).matches()) {
          throw invalid(algorithm + ":" + encoded);
        }
      }
      default ->
        throw new RegistryException(
            ErrorCode.DIGEST_INVALID, "unsupported digest algorithm: " + algorithm);
    }
  }

  public static Digest parse(String text) {
    if (text == null || text.length() > 200 || !GRAMMAR.matcher(text).matches()) {
      throw invalid(text);
    }
    int colon = text.indexOf(':');
    return new Digest(text.substring(0, colon), text.substring(colon + 1));
  }

  /** True when the text has the shape of a digest (used to tell a digest from a tag). */
  public static boolean looksLikeDigest(String text) {
    return text.indexOf(':') > 0;
  }

  public static Digest sha256(byte[] hash) {
    return new Digest("sha256", HexFormat.of().formatHex(hash));
  }

  public static Digest of(String algorithm, byte[] hash) {
    return new Digest(algorithm, HexFormat.of().formatHex(hash));
  }

  /** The JCA name of this digest's algorithm. */
  public String jcaName() {
    return jcaName(algorithm);
  }

  public static String jcaName(String algorithm) {
    return switch (algorithm) {
      case "sha256" -> "SHA-256";
      case "sha512" -> "SHA-512";
      default ->
        throw new RegistryException(
            ErrorCode.DIGEST_INVALID, "unsupported digest algorithm: " + algorithm);
    };
  }

  private static RegistryException invalid(String text) {
    return new RegistryException(ErrorCode.DIGEST_INVALID, "invalid digest: " + text);
  }

  @Override
  public int compareTo(Digest other) {
    return toString().compareTo(other.toString());
  }

  @Override
  public String toString() {
    return algorithm + ":" + encoded;
  }
}
