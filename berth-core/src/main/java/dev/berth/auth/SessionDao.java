package dev.berth.auth;

import java.sql.Connection;
import java.sql.PreparedStatement;
import java.sql.ResultSet;
import java.sql.SQLException;
import java.util.Optional;

/** Browser sessions ({@code sessions}), keyed by the SHA-256 of the id, never the id itself. */
final class SessionDao {
  /** A session with the state of its user now. */
  record SessionRow(
      String idHash,
      long userId,
      String username,
      long credentialVersion,
      long userCredentialVersion,
      boolean userDisabled,
      String csrfToken,
      long createdAt,
      long lastSeenAt,
      long expiresAt) {}

  void insert(
      Connection c,
      String idHash,
      long userId,
      long credentialVersion,
      String csrfToken,
      long now,
      long expiresAt)
      throws SQLException {
    try (PreparedStatement p = c.prepareStatement(
        "INSERT INTO sessions (id_hash, user_id, credential_version, csrf_token, created_at,"
            + " last_seen_at, expires_at) VALUES (?, ?, ?, ?, ?, ?, ?)")) {
      p.setString(1, idHash);
      p.setLong(2, userId);
      p.setLong(3, credentialVersion);
      p.setString(4, csrfToken);
      p.setLong(5, now);
      p.setLong(6, now);
      p.setLong(7, expiresAt);
      p.executeUpdate();
    }
  }

  Optional<SessionRow> find(Connection c, String idHash) throws SQLException {
    try (PreparedStatement p = c.prepareStatement(
        "SELECT s.id_hash, s.user_id, u.username, s.credential_version, u.credential_version,"
            + " u.disabled, s.csrf_token, s.created_at, s.last_seen_at, s.expires_at"
            + " FROM sessions s JOIN users u ON u.id = s.user_id WHERE s.id_hash = ?")) {
      p.setString(1, idHash);
      try (ResultSet rs = p.executeQuery()) {
        if (!rs.next()) {
          return Optional.empty();
        }
        return Optional.of(new SessionRow(
            rs.getString(1),
            rs.getLong(2),
            rs.getString(3),
            rs.getLong(4),
            rs.getLong(5),
            rs.getBoolean(6),
            rs.getString(7),
            rs.getLong(8),
            rs.getLong(9),
            rs.getLong(10)));
      }
    }
  }

  void touch(Connection c, String idHash, long now) throws SQLException {
    try (PreparedStatement p =
        c.prepareStatement("UPDATE sessions SET last_seen_at = ? WHERE id_hash = ?")) {
      p.setLong(1, now);
      p.setString(2, idHash);
      p.executeUpdate();
    }
  }

  boolean delete(Connection c, String idHash) throws SQLException {
    try (PreparedStatement p = c.prepareStatement("DELETE FROM sessions WHERE id_hash = ?")) {
      p.setString(1, idHash);
      return p.executeUpdate() > 0;
    }
  }

  /** Deletes the sessions past their absolute end or idle since before {@code idleBefore}. */
  int deleteExpired(Connection c, long now, long idleBefore) throws SQLException {
    try (PreparedStatement p =
        c.prepareStatement("DELETE FROM sessions WHERE expires_at <= ? OR last_seen_at <= ?")) {
      p.setLong(1, now);
      p.setLong(2, idleBefore);
      return p.executeUpdate();
    }
  }
}
