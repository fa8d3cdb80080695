package dev.berth.metadata;

import dev.berth.oci.Digest;
import java.sql.Connection;
import java.sql.PreparedStatement;
import java.sql.ResultSet;
import java.sql.SQLException;
import java.util.ArrayList;
import java.util.Collection;
import java.util.List;
import java.util.Optional;
import java.util.OptionalLong;

/** Manifests, their references to blobs and child manifests, and referrers by subject. */
public final class ManifestDao {
  private static final String COLUMNS =
      "m.id, m.digest, m.media_type, m.artifact_type, m.subject_digest, m.size, m.annotations";

  public Optional<StoredManifest> findByDigest(
      Connection c, String repository, Digest digest, boolean withContent) throws SQLException {
    try (PreparedStatement p = c.prepareStatement("SELECT "
        + COLUMNS
        + (withContent ? ", m.content" : "")
        + " FROM manifests m JOIN repositories r ON r.id = m.repository_id"
        + " WHERE r.name = ? AND m.digest = ?")) {
      p.setString(1, repository);
      p.setString(2, digest.toString());
      return one(p, withContent);
    }
  }

  public Optional<StoredManifest> findByTag(
      Connection c, String repository, String tag, boolean withContent) throws SQLException {
    try (PreparedStatement p = c.prepareStatement("SELECT "
        + COLUMNS
        + (withContent ? ", m.content" : "")
        + " FROM tags t JOIN repositories r ON r.id = t.repository_id"
        + " JOIN manifests m ON m.id = t.manifest_id"
        + " WHERE r.name = ? AND t.name = ?")) {
      p.setString(1, repository);
      p.setString(2, tag);
      return one(p, withContent);
    }
  }

  private static Optional<StoredManifest> one(PreparedStatement p, boolean withContent)
      throws SQLException {
    try (ResultSet rs = p.executeQuery()) {
      if (!rs.next()) {
        return Optional.empty();
      }
      String subject = rs.getString(5);
      return Optional.of(new StoredManifest(
          rs.getLong(1),
          Digest.parse(rs.getString(2)),
          rs.getString(3),
          rs.getString(4),
          subject == null ? null : Digest.parse(subject),
          rs.getLong(6),
          rs.getString(7),
          withContent ? rs.getBytes(8) : null));
    }
  }

  public OptionalLong findId(Connection c, long repositoryId, Digest digest) throws SQLException {
    try (PreparedStatement p =
        c.prepareStatement("SELECT id FROM manifests WHERE repository_id = ? AND digest = ?")) {
      p.setLong(1, repositoryId);
      p.setString(2, digest.toString());
      try (ResultSet rs = p.executeQuery()) {
        return rs.next() ? OptionalLong.of(rs.getLong(1)) : OptionalLong.empty();
      }
    }
  }

  /**
   * Stores a manifest with its references; when the repository has it already, returns the
   * existing row's id and only moves its push time to now (the bytes of a digest cannot differ).
   *
   * <p>The lookup does not lock the row. On PostgreSQL garbage collection may hold it, about to
   * delete it as untagged; the push-time update waits for that delete and then finds no row, and
   * the manifest is stored anew; or, when the caller has locked a link the delete updates, the
   * two wait for each other and PostgreSQL aborts one (40P01), which {@code PostgresConnections}
   * runs again. An update or a reference committed first is seen by the collector's re-check
   * under its lock. {@code PostgresGarbageCollectTest} replays these. On SQLite writers take turns
   * (decision 002).
   */
  public long insertIfAbsent(Connection c, long repositoryId, NewManifest manifest)
      throws SQLException {
    OptionalLong existing = findId(c, repositoryId, manifest.digest());
    long now = System.currentTimeMillis();
    if (existing.isPresent()) {
      // A push of a manifest that is already here is a push all the same: its time is now, which
      // restarts an untagged manifest's grace period (decision 008), so that a child pushed again
      // just before its index is not collected in between. On PostgreSQL the update waits for a
      // collection that has locked the row to remove it; when it did, the row is stored anew.
      try (PreparedStatement p = c.prepareStatement("UPDATE manifests SET created_at ="
          + " CASE WHEN created_at < ? THEN ? ELSE created_at END WHERE id = ?")) {
        p.setLong(1, now);
        p.setLong(2, now);
        p.setLong(3, existing.getAsLong());
        if (p.executeUpdate() > 0) {
          return existing.getAsLong();
        }
      }
    }
    long id;
    try (PreparedStatement p = c.prepareStatement(
        "INSERT INTO manifests (repository_id, digest, media_type, artifact_type,"
            + " subject_digest, size, annotations, content, created_at)"
            + " VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?) RETURNING id")) {
      p.setLong(1, repositoryId);
      p.setString(2, manifest.digest().toString());
      p.setString(3, manifest.mediaType());
      p.setString(4, manifest.artifactType());
      p.setString(5, manifest.subject() == null ? null : manifest.subject().toString());
      p.setLong(6, manifest.content().length);
      p.setString(7, manifest.annotationsJson());
      p.setBytes(8, manifest.content());
      p.setLong(9, now);
      id = Database.nextLong(p);
    }
    if (!manifest.blobs().isEmpty()) {
      try (PreparedStatement p =
          c.prepareStatement("INSERT INTO manifest_blobs (manifest_id, digest) VALUES (?, ?)"
              + " ON CONFLICT (manifest_id, digest) DO NOTHING")) {
        for (Digest blob : manifest.blobs()) {
          p.setLong(1, id);
          p.setString(2, blob.toString());
          p.addBatch();
        }
        p.executeBatch();
      }
    }
    if (!manifest.children().isEmpty()) {
      try (PreparedStatement p = c.prepareStatement(
          "INSERT INTO manifest_references (parent_id, child_digest) VALUES (?, ?)"
              + " ON CONFLICT (parent_id, child_digest) DO NOTHING")) {
        for (Digest child : manifest.children()) {
          p.setLong(1, id);
          p.setString(2, child.toString());
          p.addBatch();
        }
        p.executeBatch();
      }
    }
    return id;
  }

  /** Deletes a manifest and, by cascade, its tags and references. */
  public boolean delete(Connection c, long repositoryId, Digest digest) throws SQLException {
    try (PreparedStatement p =
        c.prepareStatement("DELETE FROM manifests WHERE repository_id = ? AND digest = ?")) {
      p.setLong(1, repositoryId);
      p.setString(2, digest.toString());
      return p.executeUpdate() > 0;
    }
  }

  /**
   * Those of {@code digests} that are not manifests of the repository, in the order given. Those
   * found are share-locked until the transaction ends (on PostgreSQL), so garbage collection's
   * removal of an untagged manifest waits for the index that references it, and then sees it.
   */
  public List<Digest> absent(Connection c, long repositoryId, Collection<Digest> digests)
      throws SQLException {
    List<Digest> missing = new ArrayList<>();
    if (digests.isEmpty()) {
      return missing;
    }
    try (PreparedStatement p =
        c.prepareStatement("SELECT id FROM manifests WHERE repository_id = ? AND digest = ?"
            + Dialect.of(c).forShare())) {
      for (Digest digest : digests) {
        p.setLong(1, repositoryId);
        p.setString(2, digest.toString());
        try (ResultSet rs = p.executeQuery()) {
          if (!rs.next()) {
            missing.add(digest);
          }
        }
      }
    }
    return missing;
  }

  /** Manifests of a repository whose {@code subject} is the digest, oldest first. */
  public List<Referrer> referrers(
      Connection c, String repository, Digest subject, String artifactType) throws SQLException {
    String sql = "SELECT m.digest, m.media_type, m.artifact_type, m.size, m.annotations"
        + " FROM manifests m JOIN repositories r ON r.id = m.repository_id"
        + " WHERE r.name = ? AND m.subject_digest = ?"
        + (artifactType == null ? "" : " AND m.artifact_type = ?")
        + " ORDER BY m.id";
    try (PreparedStatement p = c.prepareStatement(sql)) {
      p.setString(1, repository);
      p.setString(2, subject.toString());
      if (artifactType != null) {
        p.setString(3, artifactType);
      }
      List<Referrer> referrers = new ArrayList<>();
      try (ResultSet rs = p.executeQuery()) {
        while (rs.next()) {
          referrers.add(new Referrer(
              Digest.parse(rs.getString(1)),
              rs.getString(2),
              rs.getString(3),
              rs.getLong(4),
              rs.getString(5)));
        }
      }
      return referrers;
    }
  }
}
