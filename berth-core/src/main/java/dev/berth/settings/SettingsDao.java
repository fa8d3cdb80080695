package dev.berth.settings;

import java.sql.Connection;
import java.sql.PreparedStatement;
import java.sql.ResultSet;
import java.sql.SQLException;
import java.util.HashMap;
import java.util.Map;
import java.util.Optional;

/** The {@code settings} table: runtime values that override the configuration file. */
final class SettingsDao {
  Optional<String> find(Connection c, String name) throws SQLException {
    try (PreparedStatement p = c.prepareStatement("SELECT value FROM settings WHERE name = ?")) {
      p.setString(1, name);
      try (ResultSet rs = p.executeQuery()) {
        return rs.next() ? Optional.of(rs.getString(1)) : Optional.empty();
      }
    }
  }

  Map<String, String> all(Connection c) throws SQLException {
    Map<String, String> values = new HashMap<>();
    try (PreparedStatement p = c.prepareStatement("SELECT name, value FROM settings");
        ResultSet rs = p.executeQuery()) {
      while (rs.next()) {
        values.put(rs.getString(1), rs.getString(2));
      }
    }
    return values;
  }

  void put(Connection c, String name, String value, String by, long now) throws SQLException {
    try (PreparedStatement p = c.prepareStatement(
        "INSERT INTO settings (name, value, updated_at, updated_by) VALUES (?, ?, ?, ?)"
            + " ON CONFLICT (name) DO UPDATE SET value = excluded.value,"
            + " updated_at = excluded.updated_at, updated_by = excluded.updated_by")) {
      p.setString(1, name);
      p.setString(2, value);
      p.setLong(3, now);
      p.setString(4, by);
      p.executeUpdate();
    }
  }
}
