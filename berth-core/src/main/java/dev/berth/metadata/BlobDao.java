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

/**
 * Stored content and the repository links that make it visible. A blob row has a state
 * ({@code dev.berth.gc.BlobState}): links are made only to a {@code live} blob, checked in the
 * linking transaction under a row lock that garbage collection's claim respects.
 */
public final class BlobDao {

  /**
   * Records content whose bytes were just put at its address, under the digest's lock ({@link
   * Database#withDigestLock}). A row garbage collection left {@code deleting} (it crashed before
   * removing it) becomes live again: the bytes at the address are the ones just written.
   */
  public void insertOrRevive(Connection c, Digest digest, long size) throws SQLException {
    long now = System.currentTimeMillis();
    try (PreparedStatement p = c.prepareStatement(
        "INSERT INTO blobs (digest, size, created_at, state, unreferenced_at) VALUES (?, ?, ?, 'live', 0)"
            + " ON CONFLICT (digest) DO UPDATE SET state = 'live', created_at = ?"
            + " WHERE blobs.state <> 'live'")) {
      p.setString(1, digest.toString());
      p.setLong(2, size);
      p.setLong(3, now);
      p.setLong(4, now);
      p.executeUpdate();
    }
  }

  /** Records stored content; a no-op when the digest is known already. */
  public void insertIfAbsent(Connection c, Digest digest, long size) throws SQLException {
    try (PreparedStatement p = c.prepareStatement(
        "INSERT INTO blobs (digest, size, created_at) VALUES (?, ?, ?) ON CONFLICT (digest) DO NOTHING")) {
      p.setString(1, digest.toString());
      p.setLong(2, size);
      p.setLong(3, System.currentTimeMillis());
      p.executeUpdate();
    }
  }

  /** The size of a stored, live blob, whatever links it. */
  public OptionalLong size(Connection c, Digest digest) throws SQLException {
    try (PreparedStatement p =
        c.prepareStatement("SELECT size FROM blobs WHERE digest = ? AND state = 'live'")) {
      p.setString(1, digest.toString());
      try (ResultSet rs = p.executeQuery()) {
        return rs.next() ? OptionalLong.of(rs.getLong(1)) : OptionalLong.empty();
      }
    }
  }

  /**
   * The size of a live blob, its row share-locked until the transaction ends (on PostgreSQL), so
   * that garbage collection cannot claim it before a link made in this transaction is committed,
   * and a claim already made is seen (the lock waits for it). Empty when absent or being deleted.
   */
  public OptionalLong lockLive(Connection c, Digest digest) throws SQLException {
    try (PreparedStatement p =
        c.prepareStatement("SELECT size FROM blobs WHERE digest = ? AND state = 'live'"
            + Dialect.of(c).forShare())) {
      p.setString(1, digest.toString());
      try (ResultSet rs = p.executeQuery()) {
        return rs.next() ? OptionalLong.of(rs.getLong(1)) : OptionalLong.empty();
      }
    }
  }

  /** Starts the grace period of a blob that just lost a reference (a link or a manifest). */
  public void markUnreferenced(Connection c, Digest digest) throws SQLException {
    try (PreparedStatement p =
        c.prepareStatement("UPDATE blobs SET unreferenced_at = ? WHERE digest = ?")) {
      p.setLong(1, System.currentTimeMillis());
      p.setString(2, digest.toString());
      p.executeUpdate();
    }
  }

  /** Starts the grace period of every blob a manifest lists, before the manifest is deleted. */
  public void markUnreferencedByManifest(Connection c, long manifestId) throws SQLException {
    try (PreparedStatement p = c.prepareStatement("UPDATE blobs SET unreferenced_at = ?"
        + " WHERE digest IN (SELECT digest FROM manifest_blobs WHERE manifest_id = ?)")) {
      p.setLong(1, System.currentTimeMillis());
      p.setLong(2, manifestId);
      p.executeUpdate();
    }
  }

  /** The size of a blob if the named repository links it; empty otherwise. */
  public OptionalLong linkedSize(Connection c, String repository, Digest digest)
      throws SQLException {
    try (PreparedStatement p = c.prepareStatement("SELECT b.size FROM repositories r"
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
    try (PreparedStatement p = c.prepareStatement(
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

  /**
   * Those of {@code digests} that the repository does not link, in the order given. The links
   * found are share-locked until the transaction ends (on PostgreSQL): a concurrent unlink waits
   * for the manifest that relies on them to commit, so garbage collection, which needs the last
   * link gone, then sees the manifest's reference.
   */
  public List<Digest> unlinked(Connection c, long repositoryId, Collection<Digest> digests)
      throws SQLException {
    List<Digest> missing = new ArrayList<>();
    try (PreparedStatement p =
        c.prepareStatement("SELECT 1 FROM repository_blobs WHERE repository_id = ? AND digest = ?"
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
}
