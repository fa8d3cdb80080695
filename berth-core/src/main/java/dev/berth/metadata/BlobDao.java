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

  /**
   * Starts the grace period of every blob a manifest lists, and releases the manifest's
   * repository links to them (decision 012), before the manifest is deleted.
   */
  public void markUnreferencedByManifest(Connection c, long manifestId) throws SQLException {
    long now = System.currentTimeMillis();
    try (PreparedStatement p = c.prepareStatement("UPDATE blobs SET unreferenced_at = ?"
        + " WHERE digest IN (SELECT digest FROM manifest_blobs WHERE manifest_id = ?)")) {
      p.setLong(1, now);
      p.setLong(2, manifestId);
      p.executeUpdate();
    }
    try (PreparedStatement p = c.prepareStatement("UPDATE repository_blobs SET released_at = ?"
        + " WHERE repository_id = (SELECT repository_id FROM manifests WHERE id = ?)"
        + " AND digest IN (SELECT digest FROM manifest_blobs WHERE manifest_id = ?)")) {
      p.setLong(1, now);
      p.setLong(2, manifestId);
      p.setLong(3, manifestId);
      p.executeUpdate();
    }
  }

  /**
   * A repository's link to a blob, as an existence answer needs it.
   *
   * @param usedAt when a client last relied on the link ({@code repository_blobs.used_at})
   * @param listedAt when a manifest listing the blob was last committed in the repository
   */
  public record Link(long repositoryId, long size, long usedAt, long listedAt) {}

  /** The named repository's link to a blob, if any. */
  public Optional<Link> link(Connection c, String repository, Digest digest) throws SQLException {
    try (PreparedStatement p = c.prepareStatement("SELECT rb.repository_id, b.size, rb.used_at,"
        + " rb.listed_at FROM repositories r"
        + " JOIN repository_blobs rb ON rb.repository_id = r.id"
        + " JOIN blobs b ON b.digest = rb.digest"
        + " WHERE r.name = ? AND rb.digest = ?")) {
      p.setString(1, repository);
      p.setString(2, digest.toString());
      try (ResultSet rs = p.executeQuery()) {
        return rs.next()
            ? Optional.of(new Link(rs.getLong(1), rs.getLong(2), rs.getLong(3), rs.getLong(4)))
            : Optional.empty();
      }
    }
  }

  /**
   * Records that a client relies on a link now (it answered 200 to a {@code HEAD} or {@code
   * GET}); false when the link is gone (garbage collection pruned it meanwhile), which the caller
   * must then answer as 404. The update locks the row, so it is ordered with a prune.
   */
  public boolean touch(Connection c, long repositoryId, Digest digest, long now)
      throws SQLException {
    // Strictly after the last listing, even within its millisecond: a hold taken after a
    // manifest was pushed must not count as consumed by it.
    try (PreparedStatement p = c.prepareStatement(
        "UPDATE repository_blobs SET used_at = CASE WHEN listed_at >= ? THEN listed_at + 1 ELSE ? END"
            + " WHERE repository_id = ? AND digest = ?")) {
      p.setLong(1, now);
      p.setLong(2, now);
      p.setLong(3, repositoryId);
      p.setString(4, digest.toString());
      return p.executeUpdate() > 0;
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

  /**
   * Links a known blob into a repository for a client that is about to rely on it (an upload,
   * a mount, a dedupe): the link is made, or its hold refreshed (decision 012).
   *
   * @return true when the link is new, false when it existed (and was refreshed)
   */
  public boolean link(Connection c, long repositoryId, Digest digest) throws SQLException {
    // On PostgreSQL the insert can meet a row that garbage collection has locked to prune it
    // (decision 012) but not deleted yet: the insert does nothing, and the refresh waits for the
    // prune and then finds no row. The link must still be made, so insert again: the prune has
    // committed, so the next insert sees no row, unless another transaction linked the blob
    // meanwhile, and then the refresh finds that link (which is held: it cannot be pruned).
    while (true) {
      long now = System.currentTimeMillis();
      try (PreparedStatement p = c.prepareStatement(
          "INSERT INTO repository_blobs (repository_id, digest, created_at, used_at) VALUES (?, ?, ?, ?)"
              + " ON CONFLICT (repository_id, digest) DO NOTHING")) {
        p.setLong(1, repositoryId);
        p.setString(2, digest.toString());
        p.setLong(3, now);
        p.setLong(4, now);
        if (p.executeUpdate() > 0) {
          return true;
        }
      }
      if (touch(c, repositoryId, digest, now)) {
        return false;
      }
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
   * Records that a manifest listing {@code digests} is being committed in the repository, and
   * returns those of them the repository does not link, in the order given. Updating the links
   * locks them until the transaction ends: a prune by garbage collection (which locks the row
   * and then re-checks that no manifest of the repository lists the blob) either happened before,
   * and the blob is reported missing, or waits and then sees this manifest.
   */
  public List<Digest> markListed(Connection c, long repositoryId, Collection<Digest> digests)
      throws SQLException {
    List<Digest> missing = new ArrayList<>();
    long now = System.currentTimeMillis();
    // Never before the hold it consumes, even within the millisecond that touch() moved the hold
    // past an earlier listing in: the row lock orders the two, the times must agree.
    try (PreparedStatement p = c.prepareStatement(
        "UPDATE repository_blobs SET listed_at = CASE WHEN used_at > ? THEN used_at ELSE ? END"
            + " WHERE repository_id = ? AND digest = ?")) {
      for (Digest digest : digests) {
        p.setLong(1, now);
        p.setLong(2, now);
        p.setLong(3, repositoryId);
        p.setString(4, digest.toString());
        if (p.executeUpdate() == 0) {
          missing.add(digest);
        }
      }
    }
    return missing;
  }
}
