package dev.berth.auth;

import dev.berth.metadata.Database;
import java.sql.Connection;
import java.sql.PreparedStatement;
import java.sql.ResultSet;
import java.sql.SQLException;
import java.sql.Types;
import java.util.ArrayList;
import java.util.List;
import java.util.Optional;

/** Users: local accounts with a password hash, and users of an external identity provider. */
public final class UserDao {
  /** A user row; {@code passwordHash} is null for external users. */
  public record UserRow(
      long id,
      String username,
      String passwordHash,
      String email,
      boolean admin,
      boolean disabled,
      String source,
      long credentialVersion) {}

  private static final String COLUMNS =
      "id, username, password_hash, email, admin, disabled, source, credential_version";

  public Optional<UserRow> find(Connection c, String username) throws SQLException {
    try (PreparedStatement p =
        c.prepareStatement("SELECT " + COLUMNS + " FROM users WHERE username = ?")) {
      p.setString(1, username);
      try (ResultSet rs = p.executeQuery()) {
        return rs.next() ? Optional.of(row(rs)) : Optional.empty();
      }
    }
  }

  public Optional<UserRow> find(Connection c, long id) throws SQLException {
    try (PreparedStatement p =
        c.prepareStatement("SELECT " + COLUMNS + " FROM users WHERE id = ?")) {
      p.setLong(1, id);
      try (ResultSet rs = p.executeQuery()) {
        return rs.next() ? Optional.of(row(rs)) : Optional.empty();
      }
    }
  }

  /** Creates a user; returns its id. A taken name violates the unique key. */
  public long insert(
      Connection c,
      String username,
      String passwordHash,
      String email,
      boolean admin,
      String source)
      throws SQLException {
    Database.accountsChanged(c); // account caches on every node drop what they hold
    long now = System.currentTimeMillis();
    try (PreparedStatement p = c.prepareStatement(
        "INSERT INTO users (username, password_hash, email, admin, source, created_at, updated_at)"
            + " VALUES (?, ?, ?, ?, ?, ?, ?) RETURNING id")) {
      p.setString(1, username);
      setNullable(p, 2, passwordHash);
      setNullable(p, 3, email);
      p.setBoolean(4, admin);
      p.setString(5, source);
      p.setLong(6, now);
      p.setLong(7, now);
      try (ResultSet rs = p.executeQuery()) {
        rs.next();
        return rs.getLong(1);
      }
    }
  }

  /** Sets a new password hash; remembered verifications of the old one stop counting. */
  public boolean setPassword(Connection c, long id, String passwordHash) throws SQLException {
    Database.accountsChanged(c); // account caches on every node drop what they hold
    try (PreparedStatement p = c.prepareStatement(
        "UPDATE users SET password_hash = ?, credential_version = credential_version + 1,"
            + " updated_at = ? WHERE id = ?")) {
      p.setString(1, passwordHash);
      p.setLong(2, System.currentTimeMillis());
      p.setLong(3, id);
      return p.executeUpdate() > 0;
    }
  }

  public boolean setDisabled(Connection c, long id, boolean disabled) throws SQLException {
    Database.accountsChanged(c); // account caches on every node drop what they hold
    try (PreparedStatement p = c.prepareStatement(
        "UPDATE users SET disabled = ?, credential_version = credential_version + 1, updated_at = ?"
            + " WHERE id = ?")) {
      p.setBoolean(1, disabled);
      p.setLong(2, System.currentTimeMillis());
      p.setLong(3, id);
      return p.executeUpdate() > 0;
    }
  }

  public boolean setAdmin(Connection c, long id, boolean admin) throws SQLException {
    Database.accountsChanged(c); // account caches on every node drop what they hold
    try (PreparedStatement p =
        c.prepareStatement("UPDATE users SET admin = ?, updated_at = ? WHERE id = ?")) {
      p.setBoolean(1, admin);
      p.setLong(2, System.currentTimeMillis());
      p.setLong(3, id);
      return p.executeUpdate() > 0;
    }
  }

  public boolean delete(Connection c, long id) throws SQLException {
    Database.accountsChanged(c); // account caches on every node drop what they hold
    try (PreparedStatement p = c.prepareStatement("DELETE FROM users WHERE id = ?")) {
      p.setLong(1, id);
      return p.executeUpdate() > 0;
    }
  }

  /** Users in name order after {@code last} (keyset pagination), at most {@code limit}. */
  public List<UserRow> list(Connection c, String last, int limit) throws SQLException {
    try (PreparedStatement p = c.prepareStatement(
        "SELECT " + COLUMNS + " FROM users WHERE username > ? ORDER BY username LIMIT ?")) {
      p.setString(1, last == null ? "" : last);
      p.setInt(2, limit);
      List<UserRow> rows = new ArrayList<>();
      try (ResultSet rs = p.executeQuery()) {
        while (rs.next()) {
          rows.add(row(rs));
        }
      }
      return rows;
    }
  }

  public long count(Connection c) throws SQLException {
    try (PreparedStatement p = c.prepareStatement("SELECT COUNT(*) FROM users");
        ResultSet rs = p.executeQuery()) {
      rs.next();
      return rs.getLong(1);
    }
  }

  private static UserRow row(ResultSet rs) throws SQLException {
    return new UserRow(
        rs.getLong(1),
        rs.getString(2),
        rs.getString(3),
        rs.getString(4),
        rs.getBoolean(5),
        rs.getBoolean(6),
        rs.getString(7),
        rs.getLong(8));
  }

  static void setNullable(PreparedStatement p, int index, String value) throws SQLException {
    if (value == null) {
      p.setNull(index, Types.VARCHAR);
    } else {
      p.setString(index, value);
    }
  }
}
