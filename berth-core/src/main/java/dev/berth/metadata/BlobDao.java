package dev.berth.metadata;

import dev.berth.oci.Digest;
import java.sql.Connection;
import java.sql.PreparedStatement;
import java.sql.ResultSet;
import java.sql.SQLException;
import java.util.ArrayList;
import java.util.Collection;
import java.util.List;
import java.util.OptionalLong;

/** Stored content and the repository links that make it visible. */
public final class BlobDao {

  /** Records stored content; a no-op when the digest is known already. */
  public void insertIfAbsent(Connection c, Digest digest, long size) throws SQLException {
    try (PreparedStatement p =
        c.prepareStatement(
            "INSERT INTO blobs (digest, size, created_at) VALUES (?, ?, ?) ON CONFLICT (digest) DO NOTHING")) {
      p.setString(1, digest.toString());
      p.setLong(2, size);
      p.setLong(3, System.currentTimeMillis());
      p.executeUpdate();
    }
  }

  /** The size of a stored blob, whatever links it. */
  public OptionalLong size(Connection c, Digest digest) throws SQLException {
    try (PreparedStatement p = c.prepareStatement("SELECT size FROM blobs WHERE digest = ?")) {
      p.setString(1, digest.toString());
      try (ResultSet rs = p.executeQuery()) {
        return rs.next() ? OptionalLong.of(rs.getLong(1)) : OptionalLong.empty();
      }
    }
  }

  /** The size of a blob if the named repository links it; empty otherwise. */
  public OptionalLong linkedSize(Connection c, String repository, Digest digest)
      throws SQLException {
    try (PreparedStatement p =
        c.prepareStatement(
            "SELECT b.size FROM repositories r"
                + " JOIN repository_blobs rb ON rb.repository_id = r.id"
                + " JOIN blobs b ON b.digest = rb.digest"
                + " WHERE r.name = ? AND rb.digest = ?")) {
      p.setString(1, repository);
      p.setString(2, digest.toString());
      try (ResultSet rs = p.executeQuery()) {
        return rs.next() ? OptionalLong.of(rs.getLong(1)) : OptionalLong.empty();
      }
    }
  }

  /** Links a known blob into a repository; returns false when it was linked already. */
  public boolean link(Connection c, long repositoryId, Digest digest) throws SQLException {
    try (PreparedStatement p =
        c.prepareStatement(
            "INSERT INTO repository_blobs (repository_id, digest, created_at) VALUES (?, ?, ?)"
                + " ON CONFLICT (repository_id, digest) DO NOTHING")) {
      p.setLong(1, repositoryId);
      p.setString(2, digest.toString());
      p.setLong(3, System.currentTimeMillis());
      return p.executeUpdate() > 0;
    }
  }

  public boolean unlink(Connection c, long repositoryId, Digest digest) throws SQLException {
    try (PreparedStatement p =
        c.prepareStatement("DELETE FROM repository_blobs WHERE repository_id = ? AND digest = ?")) {
      p.setLong(1, repositoryId);
      p.setString(2, digest.toString());
      return p.executeUpdate() > 0;
    }
  }

  /** Those of {@code digests} that the repository does not link, in the order given. */
  public List<Digest> unlinked(Connection c, long repositoryId, Collection<Digest> digests)
      throws SQLException {
    List<Digest> missing = new ArrayList<>();
    try (PreparedStatement p =
        c.prepareStatement(
            "SELECT 1 FROM repository_blobs WHERE repository_id = ? AND digest = ?")) {
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
}
