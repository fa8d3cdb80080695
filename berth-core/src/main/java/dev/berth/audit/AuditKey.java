package dev.berth.audit;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.FileAlreadyExistsException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.PosixFilePermissions;
import java.security.GeneralSecurityException;
import java.security.MessageDigest;
import java.security.SecureRandom;
import java.util.Base64;
import java.util.HexFormat;
import javax.crypto.Mac;
import javax.crypto.spec.SecretKeySpec;

/**
 * The secret that signs the chain's checkpoints, head and anchor (HMAC-SHA256): {@code
 * audit.checkpoint-key}, or, when that is empty, a random key generated once and kept in {@code
 * <data-dir>/audit-checkpoint.key} (owner-readable only). Nodes sharing a PostgreSQL database
 * must share the key: set the same {@code audit.checkpoint-key} on each (from a secret store, as
 * {@code BERTH_AUDIT_CHECKPOINT_KEY}); a node whose key differs from the one the chain was signed
 * with refuses to start ({@link AuditLog}).
 */
public final class AuditKey {
  /** The file a generated key is kept in, in the data directory. */
  public static final String FILE = "audit-checkpoint.key";

  private static final int MINIMUM_LENGTH = 16;
  private final byte[] secret;

  private AuditKey(byte[] secret) {
    this.secret = secret.clone();
  }

  /**
   * The configured key, or the data directory's generated one (created when missing).
   *
   * @throws IllegalArgumentException when the configured key is shorter than 16 characters
   */
  public static AuditKey resolve(String configured, Path dataDir) throws IOException {
    if (configured != null && !configured.isEmpty()) {
      return of(configured);
    }
    Path file = dataDir.resolve(FILE);
    if (!Files.exists(file)) {
      byte[] random = new byte[32];
      new SecureRandom().nextBytes(random);
      String text = Base64.getUrlEncoder().withoutPadding().encodeToString(random);
      Path temporary = dataDir.resolve(FILE + ".new");
      Files.writeString(temporary, text + "\n", StandardCharsets.US_ASCII);
      try {
        Files.setPosixFilePermissions(temporary, PosixFilePermissions.fromString("rw-------"));
      } catch (UnsupportedOperationException e) {
        // not a POSIX file system; the data directory's own permissions protect it
      }
      try {
        Files.move(temporary, file);
      } catch (FileAlreadyExistsException e) {
        Files.deleteIfExists(temporary);
      }
    }
    return of(Files.readString(file, StandardCharsets.US_ASCII).strip());
  }

  /** A key from its text (at least 16 characters). */
  public static AuditKey of(String text) {
    if (text == null || text.length() < MINIMUM_LENGTH) {
      throw new IllegalArgumentException(
          "audit.checkpoint-key: must be at least " + MINIMUM_LENGTH + " characters");
    }
    return new AuditKey(text.getBytes(StandardCharsets.UTF_8));
  }

  /** HMAC-SHA256 of the text, lower-case hex. */
  public String sign(String text) {
    try {
      Mac mac = Mac.getInstance("HmacSHA256");
      mac.init(new SecretKeySpec(secret, "HmacSHA256"));
      return HexFormat.of().formatHex(mac.doFinal(text.getBytes(StandardCharsets.UTF_8)));
    } catch (GeneralSecurityException e) {
      throw new IllegalStateException(e);
    }
  }

  /** True when {@code signature} is this key's signature of {@code text} (constant time). */
  public boolean verifies(String text, String signature) {
    return MessageDigest.isEqual(
        sign(text).getBytes(StandardCharsets.US_ASCII),
        signature.getBytes(StandardCharsets.US_ASCII));
  }

  /** Names the key without revealing it: the signature of a fixed text. */
  public String id() {
    return sign("berth-audit-key-id");
  }

  static String checkpointText(long recordId, String hash) {
    return "checkpoint\n" + recordId + "\n" + hash;
  }

  static String headText(long recordId, String hash) {
    return "head\n" + recordId + "\n" + hash;
  }

  static String anchorText(long recordId, String hash) {
    return "anchor\n" + recordId + "\n" + hash;
  }

  @Override
  public String toString() {
    return "AuditKey[********]";
  }
}
