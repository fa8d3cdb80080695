package dev.berth.metadata;

import dev.berth.oci.Digest;
import java.sql.Connection;
import java.sql.PreparedStatement;
import java.sql.ResultSet;
import java.sql.SQLException;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * The management API's listings: a project's repositories, a repository's artifacts (manifests,
 * newest first) and tags, each a page at a time with keyset pagination and filters in SQL, so a
 * page costs the same whether a repository holds ten artifacts or a hundred thousand.
 */
public final class ArtifactDao {
  /** A repository in a listing, with its counts. */
  public record RepositorySummary(String name, long artifacts, long tags) {}

  /** An artifact (a manifest) with its tags. */
  public record Artifact(
      long id,
      Digest digest,
      String mediaType,
      String artifactType,
      long size,
      long createdAt,
      List<String> tags) {}

  public record TagRow(String name, Digest digest, long updatedAt) {}

  /**
   * Repositories of a project ({@code project/…}, and one-component names for the default
   * project), after {@code last} in name order, optionally those whose name contains {@code q}.
   */
  public List<RepositorySummary> repositories(
      Connection c, String project, boolean defaultProject, String q, String last, int limit)
      throws SQLException {
    StringBuilder sql = new StringBuilder("SELECT r.name,"
        + " (SELECT COUNT(*) FROM manifests m WHERE m.repository_id = r.id),"
        + " (SELECT COUNT(*) FROM tags t WHERE t.repository_id = r.id)"
        + " FROM repositories r WHERE ((r.name >= ? AND r.name < ?)");
    List<String> parameters = new ArrayList<>(List.of(project + "/", project + "0"));
    if (defaultProject) {
      sql.append(" OR r.name NOT LIKE '%/%'");
    }
    sql.append(") AND r.name > ?");
    parameters.add(last == null ? "" : last);
    if (q != null && !q.isEmpty()) {
      sql.append(" AND r.name LIKE ? ESCAPE '\\'");
      parameters.add("%" + escapeLike(q) + "%");
    }
    sql.append(" ORDER BY r.name LIMIT ?");
    try (PreparedStatement p = c.prepareStatement(sql.toString())) {
      int index = 1;
      for (String parameter : parameters) {
        p.setString(index++, parameter);
      }
      p.setInt(index, limit);
      List<RepositorySummary> rows = new ArrayList<>();
      try (ResultSet rs = p.executeQuery()) {
        while (rs.next()) {
          rows.add(new RepositorySummary(rs.getString(1), rs.getLong(2), rs.getLong(3)));
        }
      }
      return rows;
    }
  }

  /**
   * A repository's artifacts newest first, those with an id below {@code beforeId} (0: from the
   * newest), at most {@code limit}, each with its tags.
   */
  public List<Artifact> artifacts(Connection c, long repositoryId, long beforeId, int limit)
      throws SQLException {
    Map<Long, Artifact> page = new LinkedHashMap<>();
    try (PreparedStatement p = c.prepareStatement(
        "SELECT m.id, m.digest, m.media_type, m.artifact_type, m.size, m.created_at"
            + " FROM manifests m WHERE m.repository_id = ? AND m.id < ?"
            + " ORDER BY m.id DESC LIMIT ?")) {
      p.setLong(1, repositoryId);
      p.setLong(2, beforeId <= 0 ? Long.MAX_VALUE : beforeId);
      p.setInt(3, limit);
      try (ResultSet rs = p.executeQuery()) {
        while (rs.next()) {
          page.put(
              rs.getLong(1),
              new Artifact(
                  rs.getLong(1),
                  Digest.parse(rs.getString(2)),
                  rs.getString(3),
                  rs.getString(4),
                  rs.getLong(5),
                  rs.getLong(6),
                  new ArrayList<>()));
        }
      }
    }
    if (!page.isEmpty()) {
      try (PreparedStatement p = c.prepareStatement(
          // By manifest id alone (ids are unique), so the lookup uses tags_manifest rather than
          // scanning the repository's tags.
          "SELECT t.manifest_id, t.name FROM tags t WHERE t.manifest_id IN ("
              + "?,".repeat(page.size() - 1) + "?) ORDER BY t.name")) {
        int index = 1;
        for (long id : page.keySet()) {
          p.setLong(index++, id);
        }
        try (ResultSet rs = p.executeQuery()) {
          while (rs.next()) {
            page.get(rs.getLong(1)).tags().add(rs.getString(2));
          }
        }
      }
    }
    return List.copyOf(page.values());
  }

  /** A repository's tags after {@code last} in name order, optionally containing {@code q}. */
  public List<TagRow> tags(Connection c, long repositoryId, String q, String last, int limit)
      throws SQLException {
    // The digest by a subquery per row: the page is walked in the primary key's order and each
    // tag looks its manifest up by id, whatever the table sizes.
    StringBuilder sql = new StringBuilder("SELECT t.name,"
        + " (SELECT m.digest FROM manifests m WHERE m.id = t.manifest_id), t.updated_at"
        + " FROM tags t WHERE t.repository_id = ? AND t.name > ?");
    if (q != null && !q.isEmpty()) {
      sql.append(" AND t.name LIKE ? ESCAPE '\\'");
    }
    sql.append(" ORDER BY t.name LIMIT ?");
    try (PreparedStatement p = c.prepareStatement(sql.toString())) {
      int index = 1;
      p.setLong(index++, repositoryId);
      p.setString(index++, last == null ? "" : last);
      if (q != null && !q.isEmpty()) {
        p.setString(index++, "%" + escapeLike(q) + "%");
      }
      p.setInt(index, limit);
      List<TagRow> rows = new ArrayList<>();
      try (ResultSet rs = p.executeQuery()) {
        while (rs.next()) {
          rows.add(new TagRow(rs.getString(1), Digest.parse(rs.getString(2)), rs.getLong(3)));
        }
      }
      return rows;
    }
  }

  /** {@code q} as a LIKE pattern matching itself literally ({@code %}, {@code _}, {@code \} escaped). */
  static String escapeLike(String q) {
    return q.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_");
  }
}
