package dev.berth.audit;

import java.sql.Connection;
import java.sql.PreparedStatement;
import java.sql.ResultSet;
import java.sql.SQLException;
import java.time.Instant;

/** The SQL shared by the audit classes: the record columns, reading a row, the chain's head. */
final class AuditRows {
  static final String COLUMNS = "id, occurred_at, actor_type, actor_name, source_address,"
      + " user_agent, action, project, repository, reference, digest, outcome, detail,"
      + " prev_hash, hash";

  /** The chain row: head and anchor. */
  record Chain(
      long lastId,
      String lastHash,
      String headSignature,
      long anchorId,
      String anchorHash,
      String anchorSignature,
      String keyId) {
    /** The hash the oldest kept record links to. */
    String anchorLink() {
      return anchorId == 0 ? ChainHash.GENESIS : anchorHash;
    }
  }

  private AuditRows() {}

  /** The chain row, or null before the first AuditLog created it. */
  static Chain chain(Connection c, String lock) throws SQLException {
    try (PreparedStatement p = c.prepareStatement(
            "SELECT last_id, last_hash, head_signature, anchor_id, anchor_hash, anchor_signature,"
                + " key_id FROM audit_chain WHERE id = 1"
                + lock);
        ResultSet rs = p.executeQuery()) {
      if (!rs.next()) {
        return null;
      }
      return new Chain(
          rs.getLong(1),
          rs.getString(2),
          rs.getString(3),
          rs.getLong(4),
          rs.getString(5),
          rs.getString(6),
          rs.getString(7));
    }
  }

  /** A row as a record; a row whose labels were edited into unknown ones is reported. */
  static AuditRecord read(ResultSet rs) throws SQLException {
    long id = rs.getLong(1);
    return new AuditRecord(
        id,
        new AuditEvent(
            Instant.ofEpochMilli(rs.getLong(2)),
            ActorType.fromLabel(rs.getString(3)).orElseThrow(() -> malformed(id, "actor type")),
            rs.getString(4),
            rs.getString(5),
            rs.getString(6),
            AuditAction.fromLabel(rs.getString(7)).orElseThrow(() -> malformed(id, "action")),
            rs.getString(8),
            rs.getString(9),
            rs.getString(10),
            rs.getString(11),
            AuditOutcome.fromLabel(rs.getString(12)).orElseThrow(() -> malformed(id, "outcome")),
            AuditEvent.parseDetail(rs.getString(13))),
        rs.getString(14),
        rs.getString(15));
  }

  /** The canonical form of a row as stored (the columns in {@link #COLUMNS} order). */
  static byte[] canonical(ResultSet rs) throws SQLException {
    return ChainHash.canonical(
        rs.getLong(2),
        rs.getString(3),
        rs.getString(4),
        rs.getString(5),
        rs.getString(6),
        rs.getString(7),
        rs.getString(8),
        rs.getString(9),
        rs.getString(10),
        rs.getString(11),
        rs.getString(12),
        rs.getString(13));
  }

  private static IllegalStateException malformed(long id, String what) {
    return new IllegalStateException(
        "audit record " + id + " has an unknown " + what + " (run berth audit verify)");
  }
}
