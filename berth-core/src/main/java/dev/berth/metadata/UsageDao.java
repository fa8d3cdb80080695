package dev.berth.metadata;

import dev.berth.oci.RepositoryName;
import java.sql.Connection;
import java.sql.PreparedStatement;
import java.sql.ResultSet;
import java.sql.SQLException;
import java.util.ArrayList;
import java.util.List;
import java.util.Optional;

/**
 * Storage use of a repository or a project, computed from the metadata alone (issue 5: the basis
 * for quotas). Blob bytes are deduplicated: a blob linked several times within the scope counts
 * once. Shared bytes are those of the scope's blobs that a repository outside the scope links
 * too: deleting the whole scope would free {@code bytes - sharedBytes}. Manifests live in the
 * database and are counted apart.
 */
public final class UsageDao {

  /**
   * @param repositories repositories in the scope (1 for a repository)
   * @param blobs distinct blobs the scope links
   * @param bytes their total size, each blob counted once
   * @param sharedBytes of those, the bytes of blobs a repository outside the scope links too
   * @param manifests manifests stored in the scope
   * @param manifestBytes their total size
   */
  public record Usage(
      long repositories,
      long blobs,
      long bytes,
      long sharedBytes,
      long manifests,
      long manifestBytes) {
    /** What deleting the scope would free in blob storage. */
    public long uniqueBytes() {
      return bytes - sharedBytes;
    }
  }

  /** A repository's use; empty when it does not exist. */
  public Optional<Usage> repository(Connection c, RepositoryName name) throws SQLException {
    return scope(c, "r.name = ?", List.of(name.value()));
  }

  /**
   * A project's use: its repositories are those named {@code project/…}, and for the default
   * project also every one-component name. A project without repositories uses nothing.
   */
  public Usage project(Connection c, String project) throws SQLException {
    // Names in the project sort between "project/" and "project0" ('0' follows '/' bytewise).
    String filter = "(r.name >= ? AND r.name < ?)";
    List<String> parameters = new ArrayList<>(List.of(project + "/", project + "0"));
    if (project.equals(RepositoryName.DEFAULT_PROJECT)) {
      filter = "(" + filter + " OR r.name NOT LIKE '%/%')";
    }
    return scope(c, filter, parameters).orElse(new Usage(0, 0, 0, 0, 0, 0));
  }

  private static Optional<Usage> scope(Connection c, String filter, List<String> parameters)
      throws SQLException {
    String scope = "SELECT r.id FROM repositories r WHERE " + filter;
    long repositories;
    try (PreparedStatement p = c.prepareStatement("SELECT COUNT(*) FROM (" + scope + ") s")) {
      bind(p, parameters, 0);
      try (ResultSet rs = p.executeQuery()) {
        rs.next();
        repositories = rs.getLong(1);
      }
    }
    if (repositories == 0) {
      return Optional.empty();
    }
    long blobs;
    long bytes;
    long shared;
    try (PreparedStatement p = c.prepareStatement(
        "SELECT COUNT(*), COALESCE(SUM(b.size), 0), COALESCE(SUM(CASE WHEN EXISTS"
            + " (SELECT 1 FROM repository_blobs o WHERE o.digest = b.digest"
            + "   AND o.repository_id NOT IN (" + scope + ")) THEN b.size ELSE 0 END), 0)"
            + " FROM blobs b WHERE b.digest IN (SELECT rb.digest FROM repository_blobs rb"
            + "   WHERE rb.repository_id IN (" + scope + "))")) {
      int next = bind(p, parameters, 0);
      bind(p, parameters, next);
      try (ResultSet rs = p.executeQuery()) {
        rs.next();
        blobs = rs.getLong(1);
        bytes = rs.getLong(2);
        shared = rs.getLong(3);
      }
    }
    try (PreparedStatement p = c.prepareStatement(
        "SELECT COUNT(*), COALESCE(SUM(m.size), 0) FROM manifests m WHERE m.repository_id IN ("
            + scope + ")")) {
      bind(p, parameters, 0);
      try (ResultSet rs = p.executeQuery()) {
        rs.next();
        return Optional.of(
            new Usage(repositories, blobs, bytes, shared, rs.getLong(1), rs.getLong(2)));
      }
    }
  }

  /** Binds the parameters after {@code offset} placeholders; returns the next offset. */
  private static int bind(PreparedStatement p, List<String> parameters, int offset)
      throws SQLException {
    for (int i = 0; i < parameters.size(); i++) {
      p.setString(offset + i + 1, parameters.get(i));
    }
    return offset + parameters.size();
  }
}
