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

/** Robot accounts: a name, a secret's hash, a permission list (JSON), an optional expiry. */
public final class RobotDao {
  /**
   * @param projectId null for a system-level robot
   * @param permissions JSON {@code {"<project or *>": ["pull", "push", …]}}
   * @param expiresAt null for never
   */
  public record RobotRow(
      long id,
      String name,
      Long projectId,
      String secretHash,
      String permissions,
      String description,
      Long expiresAt,
      boolean disabled,
      long credentialVersion,
      long createdAt) {}

  private static final String COLUMNS = "id, name, project_id, secret_hash, permissions,"
      + " description, expires_at, disabled, credential_version, created_at";

  public Optional<RobotRow> find(Connection c, String name) throws SQLException {
    try (PreparedStatement p =
        c.prepareStatement("SELECT " + COLUMNS + " FROM robots WHERE name = ?")) {
      p.setString(1, name);
      try (ResultSet rs = p.executeQuery()) {
        return rs.next() ? Optional.of(row(rs)) : Optional.empty();
      }
    }
  }

  public long insert(
      Connection c,
      String name,
      Long projectId,
      String secretHash,
      String permissions,
      String description,
      Long expiresAt)
      throws SQLException {
    Database.accountsChanged(c); // account caches on every node drop what they hold
    try (PreparedStatement p = c.prepareStatement(
        "INSERT INTO robots (name, project_id, secret_hash, permissions, description, expires_at,"
            + " created_at) VALUES (?, ?, ?, ?, ?, ?, ?) RETURNING id")) {
      p.setString(1, name);
      if (projectId == null) {
        p.setNull(2, Types.BIGINT);
      } else {
        p.setLong(2, projectId);
      }
      p.setString(3, secretHash);
      p.setString(4, permissions);
      UserDao.setNullable(p, 5, description);
      if (expiresAt == null) {
        p.setNull(6, Types.BIGINT);
      } else {
        p.setLong(6, expiresAt);
      }
      p.setLong(7, System.currentTimeMillis());
      try (ResultSet rs = p.executeQuery()) {
        rs.next();
        return rs.getLong(1);
      }
    }
  }

  /** A new secret; the old one stops working at once (on every node). */
  public boolean setSecret(Connection c, String name, String secretHash) throws SQLException {
    Database.accountsChanged(c); // account caches on every node drop what they hold
    try (PreparedStatement p = c.prepareStatement(
        "UPDATE robots SET secret_hash = ?, credential_version = credential_version + 1"
            + " WHERE name = ?")) {
      p.setString(1, secretHash);
      p.setString(2, name);
      return p.executeUpdate() > 0;
    }
  }

  public boolean setDisabled(Connection c, String name, boolean disabled) throws SQLException {
    Database.accountsChanged(c); // account caches on every node drop what they hold
    try (PreparedStatement p = c.prepareStatement(
        "UPDATE robots SET disabled = ?, credential_version = credential_version + 1"
            + " WHERE name = ?")) {
      p.setBoolean(1, disabled);
      p.setString(2, name);
      return p.executeUpdate() > 0;
    }
  }

  public boolean delete(Connection c, String name) throws SQLException {
    Database.accountsChanged(c); // account caches on every node drop what they hold
    try (PreparedStatement p = c.prepareStatement("DELETE FROM robots WHERE name = ?")) {
      p.setString(1, name);
      return p.executeUpdate() > 0;
    }
  }

  /** Robots of a project (projectId), or every robot (null), in name order. */
  public List<RobotRow> list(Connection c, Long projectId) throws SQLException {
    String sql = "SELECT " + COLUMNS + " FROM robots"
        + (projectId == null ? "" : " WHERE project_id = ?") + " ORDER BY name";
    try (PreparedStatement p = c.prepareStatement(sql)) {
      if (projectId != null) {
        p.setLong(1, projectId);
      }
      List<RobotRow> rows = new ArrayList<>();
      try (ResultSet rs = p.executeQuery()) {
        while (rs.next()) {
          rows.add(row(rs));
        }
      }
      return rows;
    }
  }

  private static RobotRow row(ResultSet rs) throws SQLException {
    long project = rs.getLong(3);
    Long projectId = rs.wasNull() ? null : project;
    long expires = rs.getLong(7);
    Long expiresAt = rs.wasNull() ? null : expires;
    return new RobotRow(
        rs.getLong(1),
        rs.getString(2),
        projectId,
        rs.getString(4),
        rs.getString(5),
        rs.getString(6),
        expiresAt,
        rs.getBoolean(8),
        rs.getLong(9),
        rs.getLong(10));
  }
}
