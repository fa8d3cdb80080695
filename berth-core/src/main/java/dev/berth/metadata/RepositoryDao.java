package dev.berth.metadata;

import java.sql.Connection;
import java.sql.PreparedStatement;
import java.sql.ResultSet;
import java.sql.SQLException;
import java.util.ArrayList;
import java.util.List;
import java.util.OptionalLong;

/** Repositories: a row appears when content first lands in one. */
public final class RepositoryDao {

  public OptionalLong findId(Connection c, String name) throws SQLException {
    try (PreparedStatement p = c.prepareStatement("SELECT id FROM repositories WHERE name = ?")) {
      p.setString(1, name);
      try (ResultSet rs = p.executeQuery()) {
        return rs.next() ? OptionalLong.of(rs.getLong(1)) : OptionalLong.empty();
      }
    }
  }

  public long getOrCreate(Connection c, String name) throws SQLException {
    OptionalLong existing = findId(c, name);
    if (existing.isPresent()) {
      return existing.getAsLong();
    }
    try (PreparedStatement p = c.prepareStatement(
        "INSERT INTO repositories (name, created_at) VALUES (?, ?) RETURNING id")) {
      p.setString(1, name);
      p.setLong(2, System.currentTimeMillis());
      return Database.nextLong(p);
    }
  }

  /** Names after {@code last} (exclusive) in lexical order, at most {@code limit}. */
  public List<String> list(Connection c, String last, int limit) throws SQLException {
    try (PreparedStatement p =
        c.prepareStatement("SELECT name FROM repositories WHERE name > ? ORDER BY name LIMIT ?")) {
      p.setString(1, last == null ? "" : last);
      p.setInt(2, limit);
      List<String> names = new ArrayList<>(Math.min(limit, 1024));
      try (ResultSet rs = p.executeQuery()) {
        while (rs.next()) {
          names.add(rs.getString(1));
        }
      }
      return names;
    }
  }
}
