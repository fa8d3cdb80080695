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

  /**
   * Deletes a repository with its manifests, tags and blob links; the blobs it linked start
   * their grace period (garbage collection frees those nothing else references).
   */
  public boolean delete(Connection c, long id) throws SQLException {
    try (PreparedStatement p = c.prepareStatement("UPDATE blobs SET unreferenced_at = ?"
        + " WHERE digest IN (SELECT digest FROM repository_blobs WHERE repository_id = ?)")) {
      p.setLong(1, System.currentTimeMillis());
      p.setLong(2, id);
      p.executeUpdate();
    }
    for (String sql : List.of(
        "DELETE FROM tags WHERE repository_id = ?",
        "DELETE FROM manifests WHERE repository_id = ?",
        "DELETE FROM repository_blobs WHERE repository_id = ?")) {
      try (PreparedStatement p = c.prepareStatement(sql)) {
        p.setLong(1, id);
        p.executeUpdate();
      }
    }
    try (PreparedStatement p = c.prepareStatement("DELETE FROM repositories WHERE id = ?")) {
      p.setLong(1, id);
      return p.executeUpdate() > 0;
    }
  }
}
