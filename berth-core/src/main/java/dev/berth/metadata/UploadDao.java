package dev.berth.metadata;

import java.sql.Connection;
import java.sql.PreparedStatement;
import java.sql.ResultSet;
import java.sql.SQLException;
import java.util.ArrayList;
import java.util.List;
import java.util.Optional;

/** Upload session rows; see {@link UploadSession} for their life. */
public final class UploadDao {

  public void insert(Connection c, UploadSession session) throws SQLException {
    try (PreparedStatement p = c.prepareStatement(
        "INSERT INTO uploads (id, repository, started_at, updated_at) VALUES (?, ?, ?, ?)")) {
      p.setString(1, session.id());
      p.setString(2, session.repository());
      p.setLong(3, session.startedAt());
      p.setLong(4, session.updatedAt());
      p.executeUpdate();
    }
  }

  public Optional<UploadSession> find(Connection c, String id) throws SQLException {
    try (PreparedStatement p = c.prepareStatement(
        "SELECT id, repository, started_at, updated_at FROM uploads WHERE id = ?")) {
      p.setString(1, id);
      try (ResultSet rs = p.executeQuery()) {
        return rs.next()
            ? Optional.of(
                new UploadSession(rs.getString(1), rs.getString(2), rs.getLong(3), rs.getLong(4)))
            : Optional.empty();
      }
    }
  }

  public void touch(Connection c, String id, long now) throws SQLException {
    try (PreparedStatement p =
        c.prepareStatement("UPDATE uploads SET updated_at = ? WHERE id = ?")) {
      p.setLong(1, now);
      p.setString(2, id);
      p.executeUpdate();
    }
  }

  /**
   * Claims a session for one writer until {@code until}, unless another writer holds a claim
   * that is still live at {@code now}: the compare-and-set that keeps two nodes from appending to
   * one session at once.
   *
   * @return false when the session is gone or another writer holds it
   */
  public boolean claim(Connection c, String id, String token, long now, long until)
      throws SQLException {
    try (PreparedStatement p =
        c.prepareStatement("UPDATE uploads SET claim = ?, claim_until = ? WHERE id = ?"
            + " AND (claim IS NULL OR claim_until < ?)")) {
      p.setString(1, token);
      p.setLong(2, until);
      p.setString(3, id);
      p.setLong(4, now);
      return p.executeUpdate() > 0;
    }
  }

  /** Extends one's own claim; false when it was lost (expired and taken, or the session gone). */
  public boolean renew(Connection c, String id, String token, long until) throws SQLException {
    try (PreparedStatement p =
        c.prepareStatement("UPDATE uploads SET claim_until = ? WHERE id = ? AND claim = ?")) {
      p.setLong(1, until);
      p.setString(2, id);
      p.setString(3, token);
      return p.executeUpdate() > 0;
    }
  }

  /**
   * Releases one's own claim and records the activity (for expiry); the saved hash state, if
   * any, is left as it was.
   */
  public void release(Connection c, String id, String token, long now) throws SQLException {
    try (PreparedStatement p =
        c.prepareStatement("UPDATE uploads SET claim = NULL, claim_until = 0, updated_at = ?"
            + " WHERE id = ? AND claim = ?")) {
      p.setLong(1, now);
      p.setString(2, id);
      p.setString(3, token);
      p.executeUpdate();
    }
  }

  /**
   * Releases one's own claim, records the activity and saves the session's running hash, in one
   * statement: the state is written only by the writer that held the claim while it hashed.
   */
  public void release(Connection c, String id, String token, long now, UploadHashState hash)
      throws SQLException {
    try (PreparedStatement p =
        c.prepareStatement("UPDATE uploads SET claim = NULL, claim_until = 0, updated_at = ?,"
            + " hash_state = ?, hashed_bytes = ? WHERE id = ? AND claim = ?")) {
      p.setLong(1, now);
      p.setBytes(2, hash.encoded());
      p.setLong(3, hash.bytes());
      p.setString(4, id);
      p.setString(5, token);
      p.executeUpdate();
    }
  }

  /** The session's saved running hash; empty when none was saved or the session is gone. */
  public Optional<UploadHashState> hashState(Connection c, String id) throws SQLException {
    try (PreparedStatement p =
        c.prepareStatement("SELECT hash_state, hashed_bytes FROM uploads WHERE id = ?")) {
      p.setString(1, id);
      try (ResultSet rs = p.executeQuery()) {
        if (!rs.next()) {
          return Optional.empty();
        }
        byte[] encoded = rs.getBytes(1);
        long bytes = rs.getLong(2);
        return encoded == null || encoded.length == 0 || rs.wasNull()
            ? Optional.empty()
            : Optional.of(new UploadHashState(encoded, bytes));
      }
    }
  }

  public boolean delete(Connection c, String id) throws SQLException {
    try (PreparedStatement p = c.prepareStatement("DELETE FROM uploads WHERE id = ?")) {
      p.setString(1, id);
      return p.executeUpdate() > 0;
    }
  }

  /** Sessions idle since before {@code updatedBefore}, oldest first, at most {@code limit}. */
  public List<UploadSession> idleSince(Connection c, long updatedBefore, int limit)
      throws SQLException {
    try (PreparedStatement p = c.prepareStatement(
        "SELECT id, repository, started_at, updated_at FROM uploads WHERE updated_at < ?"
            + " ORDER BY updated_at LIMIT ?")) {
      p.setLong(1, updatedBefore);
      p.setInt(2, limit);
      List<UploadSession> sessions = new ArrayList<>();
      try (ResultSet rs = p.executeQuery()) {
        while (rs.next()) {
          sessions.add(
              new UploadSession(rs.getString(1), rs.getString(2), rs.getLong(3), rs.getLong(4)));
        }
      }
      return sessions;
    }
  }
}
