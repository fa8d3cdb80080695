package dev.berth.audit;

import java.io.ByteArrayOutputStream;
import java.nio.charset.StandardCharsets;
import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;
import java.util.HexFormat;

/**
 * The hash chain's arithmetic: the canonical form of a record and the hash over it.
 *
 * <p><b>Canonical form</b> (version 1): the UTF-8 bytes of {@code berth-audit-1} followed by
 * twelve fields, each written as a netstring {@code <length>:<bytes>,} where {@code <length>}
 * is the decimal byte count of the field's UTF-8 bytes. The fields, in order: time (epoch
 * milliseconds, decimal), actor type label, actor name, source address, user agent,
 * action label, project, repository, reference, digest, outcome label, detail (the stored JSON
 * text). Length prefixes make the encoding injective: no two records share a canonical form, so
 * no field's text can be shifted into another. The columns are hashed exactly as stored (empty
 * strings for absent values), so the verifier recomputes it from a row without interpretation.
 * The id is left out: it is the record's position, which the links already fix (and checkpoints
 * sign), and leaving it out lets the verifier tell an inserted record (its successor links past
 * it) from an edited one.
 *
 * <p><b>Hash</b>: {@code SHA-256(prev ‖ canonical)}, where {@code prev} is the 32 bytes of the
 * previous record's hash (32 zero bytes before the first record), written as lower-case hex.
 */
public final class ChainHash {
  /** The previous hash of the first record ever. */
  public static final String GENESIS = "0".repeat(64);

  private static final byte[] VERSION = "berth-audit-1".getBytes(StandardCharsets.UTF_8);
  private static final HexFormat HEX = HexFormat.of();
  /** Looking a digest up costs more than hashing a record; each thread keeps one. */
  private static final ThreadLocal<MessageDigest> SHA_256 = ThreadLocal.withInitial(() -> {
    try {
      return MessageDigest.getInstance("SHA-256");
    } catch (NoSuchAlgorithmException e) {
      throw new IllegalStateException(e);
    }
  });

  private ChainHash() {}

  /** The canonical bytes of a row's columns. */
  static byte[] canonical(
      long time,
      String actorType,
      String actorName,
      String sourceAddress,
      String userAgent,
      String action,
      String project,
      String repository,
      String reference,
      String digest,
      String outcome,
      String detail) {
    ByteArrayOutputStream out = new ByteArrayOutputStream(256);
    out.writeBytes(VERSION);
    for (String field : new String[] {
      Long.toString(time),
      actorType,
      actorName,
      sourceAddress,
      userAgent,
      action,
      project,
      repository,
      reference,
      digest,
      outcome,
      detail
    }) {
      byte[] bytes = (field == null ? "" : field).getBytes(StandardCharsets.UTF_8);
      out.writeBytes(Integer.toString(bytes.length).getBytes(StandardCharsets.US_ASCII));
      out.write(':');
      out.writeBytes(bytes);
      out.write(',');
    }
    return out.toByteArray();
  }

  public static byte[] canonical(AuditEvent e) {
    return canonical(e, e.detailJson());
  }

  /** The canonical bytes of an event whose {@link AuditEvent#detailJson} is already at hand. */
  static byte[] canonical(AuditEvent e, String detailJson) {
    return canonical(
        e.time().toEpochMilli(),
        e.actorType().label(),
        e.actorName(),
        e.sourceAddress(),
        e.userAgent(),
        e.action().label(),
        e.project(),
        e.repository(),
        e.reference(),
        e.digest(),
        e.outcome().label(),
        detailJson);
  }

  /** {@code SHA-256(prev ‖ canonical)} in lower-case hex; a malformed prev hashes as given text. */
  public static String hash(String prevHash, byte[] canonical) {
    MessageDigest sha = SHA_256.get();
    sha.reset();
    byte[] prev;
    try {
      prev = HEX.parseHex(prevHash);
    } catch (IllegalArgumentException e) {
      // An edited prev_hash that is not hex: still hash something, which will not match.
      prev = prevHash.getBytes(StandardCharsets.UTF_8);
    }
    sha.update(prev);
    sha.update(canonical);
    return HEX.formatHex(sha.digest());
  }
}
