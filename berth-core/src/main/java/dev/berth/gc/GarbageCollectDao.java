package dev.berth.gc;

import dev.berth.metadata.BlobDao;
import dev.berth.metadata.Dialect;
import dev.berth.oci.Digest;
import java.sql.Connection;
import java.sql.PreparedStatement;
import java.sql.ResultSet;
import java.sql.SQLException;
import java.sql.Types;
import java.util.ArrayList;
import java.util.HashSet;
import java.util.List;
import java.util.Optional;
import java.util.Set;

/**
 * The queries of garbage collection and its run history. The claim and the removal of a
 * manifest lock their row first and then re-check in a new statement: at READ COMMITTED on
 * PostgreSQL a statement that waited for a lock still judges other tables by its old snapshot,
 * so the re-check must come after the wait (on SQLite writers are serialised anyway).
 */
public final class GarbageCollectDao {
  /** A blob garbage collection may delete; DELETING ones are left over from an earlier run. */
  public record BlobCandidate(Digest digest, long size, BlobState state) {}

  /** An untagged manifest nothing references. */
  public record ManifestCandidate(long id, String repository, Digest digest, long size) {}

  /** A repository link garbage collection may prune (decision 012). */
  public record LinkCandidate(long repositoryId, String repository, Digest digest) {}

  /**
   * A link is prunable when it is neither held (a client relied on it after the last manifest
   * listing it was committed, less than {@code gc.link-hold} ago) nor within the grace period
   * of its release. Parameters: released before, used before (the hold's cutoff).
   */
  private static final String LINK_PRUNABLE =
      " rb.released_at <= ? AND (rb.used_at <= rb.listed_at OR rb.used_at <= ?)";

  /** ...and no manifest of the link's repository lists the blob. */
  private static final String LINK_UNLISTED =
      " NOT EXISTS (SELECT 1 FROM manifest_blobs mb JOIN manifests m ON m.id = mb.manifest_id"
          + "   WHERE mb.digest = rb.digest AND m.repository_id = rb.repository_id)";

  /**
   * A blob that a run would collect once it has pruned the prunable links: no manifest lists it
   * and every link to it is prunable (then none is listed either). For dry runs, which prune
   * nothing. Parameters: unreferenced before, released before, used before.
   */
  private static final String UNREFERENCED_AFTER_PRUNING =
      " NOT EXISTS (SELECT 1 FROM manifest_blobs mb WHERE mb.digest = b.digest)"
          + " AND (CASE WHEN b.created_at > b.unreferenced_at THEN b.created_at ELSE b.unreferenced_at END) <= ?"
          + " AND NOT EXISTS (SELECT 1 FROM repository_blobs rb WHERE rb.digest = b.digest"
          + "   AND NOT (" + LINK_PRUNABLE + "))";

  private static final String UNREFERENCED =
      " NOT EXISTS (SELECT 1 FROM repository_blobs rb WHERE rb.digest = b.digest)"
          + " AND NOT EXISTS (SELECT 1 FROM manifest_blobs mb WHERE mb.digest = b.digest)"
          + " AND (CASE WHEN b.created_at > b.unreferenced_at THEN b.created_at ELSE b.unreferenced_at END) <= ?";

  private static final String UNTAGGED =
      " NOT EXISTS (SELECT 1 FROM tags t WHERE t.manifest_id = m.id)"
          + " AND NOT EXISTS (SELECT 1 FROM manifest_references mr JOIN manifests p ON p.id = mr.parent_id"
          + "   WHERE mr.child_digest = m.digest AND p.repository_id = m.repository_id)"
          + " AND NOT EXISTS (SELECT 1 FROM manifests s"
          + "   WHERE s.repository_id = m.repository_id AND s.subject_digest = m.digest)"
          + " AND m.created_at <= ?";

  private final BlobDao blobs;

  public GarbageCollectDao(BlobDao blobs) {
    this.blobs = blobs;
  }

  /**
   * Blobs unreferenced since {@code unreferencedBefore} or earlier, and blobs an earlier run
   * claimed but did not finish.
   */
  public List<BlobCandidate> blobCandidates(Connection c, long unreferencedBefore)
      throws SQLException {
    try (PreparedStatement p = c.prepareStatement(
        "SELECT b.digest, b.size, b.state FROM blobs b WHERE b.state = 'deleting'"
            + " OR (b.state = 'live' AND" + UNREFERENCED + ") ORDER BY b.digest")) {
      p.setLong(1, unreferencedBefore);
      List<BlobCandidate> candidates = new ArrayList<>();
      try (ResultSet rs = p.executeQuery()) {
        while (rs.next()) {
          candidates.add(new BlobCandidate(
              Digest.parse(rs.getString(1)), rs.getLong(2), BlobState.fromColumn(rs.getString(3))));
        }
      }
      return candidates;
    }
  }

  /** What {@link #blobCandidates} will return once the prunable links are pruned (dry runs). */
  public List<BlobCandidate> blobCandidatesAfterPruning(
      Connection c, long unreferencedBefore, long releasedBefore, long usedBefore)
      throws SQLException {
    try (PreparedStatement p = c.prepareStatement(
        "SELECT b.digest, b.size, b.state FROM blobs b WHERE b.state = 'deleting'"
            + " OR (b.state = 'live' AND" + UNREFERENCED_AFTER_PRUNING + ") ORDER BY b.digest")) {
      p.setLong(1, unreferencedBefore);
      p.setLong(2, releasedBefore);
      p.setLong(3, usedBefore);
      List<BlobCandidate> candidates = new ArrayList<>();
      try (ResultSet rs = p.executeQuery()) {
        while (rs.next()) {
          candidates.add(new BlobCandidate(
              Digest.parse(rs.getString(1)), rs.getLong(2), BlobState.fromColumn(rs.getString(3))));
        }
      }
      return candidates;
    }
  }

  /** Links no manifest of their repository lists that are neither held nor in their grace period. */
  public List<LinkCandidate> prunableLinks(Connection c, long releasedBefore, long usedBefore)
      throws SQLException {
    try (PreparedStatement p =
        c.prepareStatement("SELECT rb.repository_id, r.name, rb.digest FROM repository_blobs rb"
            + " JOIN repositories r ON r.id = rb.repository_id WHERE" + LINK_PRUNABLE + " AND"
            + LINK_UNLISTED + " ORDER BY rb.repository_id, rb.digest")) {
      p.setLong(1, releasedBefore);
      p.setLong(2, usedBefore);
      List<LinkCandidate> candidates = new ArrayList<>();
      try (ResultSet rs = p.executeQuery()) {
        while (rs.next()) {
          candidates.add(
              new LinkCandidate(rs.getLong(1), rs.getString(2), Digest.parse(rs.getString(3))));
        }
      }
      return candidates;
    }
  }

  /**
   * Deletes a link if it is still prunable, and starts its blob's grace period from the link's
   * release (the blob has had no reference through this link since). The row is locked first
   * and re-checked in a new statement (see the class comment), so a {@code HEAD} that refreshes
   * the link, a manifest that lists the blob (it updates the link) or a mount is either seen or
   * waits and then finds the link gone (and answers 404: the client uploads the blob).
   */
  public boolean pruneLink(
      Connection c, long repositoryId, Digest digest, long releasedBefore, long usedBefore)
      throws SQLException {
    long releasedAt;
    try (PreparedStatement lock = c.prepareStatement(
        "SELECT released_at FROM repository_blobs WHERE repository_id = ? AND digest = ?"
            + Dialect.of(c).forUpdate())) {
      lock.setLong(1, repositoryId);
      lock.setString(2, digest.toString());
      try (ResultSet rs = lock.executeQuery()) {
        if (!rs.next()) {
          return false;
        }
        releasedAt = rs.getLong(1);
      }
    }
    try (PreparedStatement delete = c.prepareStatement(
        "DELETE FROM repository_blobs WHERE repository_id = ? AND digest = ? AND EXISTS"
            + " (SELECT 1 FROM repository_blobs rb WHERE rb.repository_id = ? AND rb.digest = ? AND"
            + LINK_PRUNABLE + " AND" + LINK_UNLISTED + ")")) {
      delete.setLong(1, repositoryId);
      delete.setString(2, digest.toString());
      delete.setLong(3, repositoryId);
      delete.setString(4, digest.toString());
      delete.setLong(5, releasedBefore);
      delete.setLong(6, usedBefore);
      if (delete.executeUpdate() == 0) {
        return false;
      }
    }
    try (PreparedStatement p = c.prepareStatement(
        "UPDATE blobs SET unreferenced_at = ? WHERE digest = ? AND unreferenced_at < ?")) {
      p.setLong(1, releasedAt);
      p.setString(2, digest.toString());
      p.setLong(3, releasedAt);
      p.executeUpdate();
    }
    return true;
  }

  /**
   * LIVE → DELETING, when the blob is still unreferenced; true when the blob is DELETING
   * afterwards (claimed now or by an earlier run), false when it is absent or referenced again.
   */
  public boolean claim(Connection c, Digest digest, long unreferencedBefore) throws SQLException {
    Optional<BlobState> state = lockState(c, digest);
    if (state.isEmpty()) {
      return false;
    }
    if (state.get() == BlobState.DELETING) {
      return true;
    }
    try (PreparedStatement p = c.prepareStatement(
        "UPDATE blobs SET state = 'deleting' WHERE digest = ? AND state = 'live' AND digest IN"
            + " (SELECT b.digest FROM blobs b WHERE b.digest = ? AND" + UNREFERENCED + ")")) {
      p.setString(1, digest.toString());
      p.setString(2, digest.toString());
      p.setLong(3, unreferencedBefore);
      return p.executeUpdate() > 0;
    }
  }

  private static Optional<BlobState> lockState(Connection c, Digest digest) throws SQLException {
    try (PreparedStatement p = c.prepareStatement(
        "SELECT state FROM blobs WHERE digest = ?" + Dialect.of(c).forUpdate())) {
      p.setString(1, digest.toString());
      try (ResultSet rs = p.executeQuery()) {
        return rs.next() ? Optional.of(BlobState.fromColumn(rs.getString(1))) : Optional.empty();
      }
    }
  }

  /** DELETING → GONE, once the bytes are deleted. */
  public boolean deleteClaimed(Connection c, Digest digest) throws SQLException {
    try (PreparedStatement p =
        c.prepareStatement("DELETE FROM blobs WHERE digest = ? AND state = 'deleting'")) {
      p.setString(1, digest.toString());
      return p.executeUpdate() > 0;
    }
  }

  public Optional<BlobState> state(Connection c, Digest digest) throws SQLException {
    try (PreparedStatement p = c.prepareStatement("SELECT state FROM blobs WHERE digest = ?")) {
      p.setString(1, digest.toString());
      try (ResultSet rs = p.executeQuery()) {
        return rs.next() ? Optional.of(BlobState.fromColumn(rs.getString(1))) : Optional.empty();
      }
    }
  }

  /** Every recorded digest, whatever its state. */
  public Set<String> allDigests(Connection c) throws SQLException {
    return strings(c, "SELECT digest FROM blobs");
  }

  /** Every live digest with its size, for the offline check. */
  public List<BlobCandidate> liveBlobs(Connection c) throws SQLException {
    try (PreparedStatement p =
        c.prepareStatement("SELECT digest, size FROM blobs WHERE state = 'live' ORDER BY digest")) {
      List<BlobCandidate> live = new ArrayList<>();
      try (ResultSet rs = p.executeQuery()) {
        while (rs.next()) {
          live.add(new BlobCandidate(Digest.parse(rs.getString(1)), rs.getLong(2), BlobState.LIVE));
        }
      }
      return live;
    }
  }

  /** Every upload session id. */
  public Set<String> allUploadIds(Connection c) throws SQLException {
    return strings(c, "SELECT id FROM uploads");
  }

  private static Set<String> strings(Connection c, String sql) throws SQLException {
    try (PreparedStatement p = c.prepareStatement(sql);
        ResultSet rs = p.executeQuery()) {
      Set<String> values = new HashSet<>();
      while (rs.next()) {
        values.add(rs.getString(1));
      }
      return values;
    }
  }

  /** Manifests without tags that no index of their repository lists and no manifest has as subject. */
  public List<ManifestCandidate> untaggedManifests(Connection c, long createdBefore)
      throws SQLException {
    try (PreparedStatement p = c.prepareStatement(
        "SELECT m.id, r.name, m.digest, m.size FROM manifests m JOIN repositories r ON r.id = m.repository_id"
            + " WHERE" + UNTAGGED + " ORDER BY m.id")) {
      p.setLong(1, createdBefore);
      List<ManifestCandidate> candidates = new ArrayList<>();
      try (ResultSet rs = p.executeQuery()) {
        while (rs.next()) {
          candidates.add(new ManifestCandidate(
              rs.getLong(1), rs.getString(2), Digest.parse(rs.getString(3)), rs.getLong(4)));
        }
      }
      return candidates;
    }
  }

  /**
   * Deletes a manifest if it is still untagged and unreferenced (its tags, reference rows and
   * listed blobs go with it; the blobs' grace period starts). False when it changed meanwhile.
   */
  public boolean deleteUntaggedManifest(Connection c, long id, long createdBefore)
      throws SQLException {
    try (PreparedStatement lock = c.prepareStatement(
        "SELECT id FROM manifests WHERE id = ?" + Dialect.of(c).forUpdate())) {
      lock.setLong(1, id);
      try (ResultSet rs = lock.executeQuery()) {
        if (!rs.next()) {
          return false;
        }
      }
    }
    try (PreparedStatement check =
        c.prepareStatement("SELECT 1 FROM manifests m WHERE m.id = ? AND" + UNTAGGED)) {
      check.setLong(1, id);
      check.setLong(2, createdBefore);
      try (ResultSet rs = check.executeQuery()) {
        if (!rs.next()) {
          return false;
        }
      }
    }
    blobs.markUnreferencedByManifest(c, id);
    try (PreparedStatement delete = c.prepareStatement("DELETE FROM manifests WHERE id = ?")) {
      delete.setLong(1, id);
      return delete.executeUpdate() > 0;
    }
  }

  // ---- project policies ----

  /** Projects whose policy is to delete untagged manifests on every run. */
  public Set<String> projectsDeletingUntagged(Connection c) throws SQLException {
    return strings(c, "SELECT project FROM project_gc_policies WHERE delete_untagged = TRUE");
  }

  /** Whether a project's policy deletes untagged manifests (false when it has none). */
  public boolean deletesUntagged(Connection c, String project) throws SQLException {
    try (PreparedStatement p =
        c.prepareStatement("SELECT delete_untagged FROM project_gc_policies WHERE project = ?")) {
      p.setString(1, project);
      try (ResultSet rs = p.executeQuery()) {
        return rs.next() && rs.getBoolean(1);
      }
    }
  }

  public void setDeletesUntagged(Connection c, String project, boolean deleteUntagged, long now)
      throws SQLException {
    try (PreparedStatement p = c.prepareStatement(
        "INSERT INTO project_gc_policies (project, delete_untagged, updated_at) VALUES (?, ?, ?)"
            + " ON CONFLICT (project) DO UPDATE SET delete_untagged = excluded.delete_untagged,"
            + " updated_at = excluded.updated_at")) {
      p.setString(1, project);
      p.setBoolean(2, deleteUntagged);
      p.setLong(3, now);
      p.executeUpdate();
    }
  }

  // ---- run history ----

  public long insertRun(
      Connection c, long startedAt, boolean dryRun, boolean deleteUntagged, String trigger)
      throws SQLException {
    try (PreparedStatement p = c.prepareStatement(
        "INSERT INTO gc_runs (started_at, dry_run, delete_untagged, trigger_source, status)"
            + " VALUES (?, ?, ?, ?, ?) RETURNING id")) {
      p.setLong(1, startedAt);
      p.setBoolean(2, dryRun);
      p.setBoolean(3, deleteUntagged);
      p.setString(4, trigger);
      p.setString(5, GarbageCollectRun.RUNNING);
      try (ResultSet rs = p.executeQuery()) {
        rs.next();
        return rs.getLong(1);
      }
    }
  }

  public void finishRun(Connection c, GarbageCollectRun run) throws SQLException {
    try (PreparedStatement p = c.prepareStatement(
        "UPDATE gc_runs SET finished_at = ?, status = ?, links_pruned = ?, blobs_deleted = ?,"
            + " manifests_deleted = ?, uploads_deleted = ?, orphans_deleted = ?, bytes_freed = ?,"
            + " errors = ?, error_message = ?, report = ? WHERE id = ?")) {
      p.setLong(1, run.finishedAt());
      p.setString(2, run.status());
      p.setLong(3, run.linksPruned());
      p.setLong(4, run.blobsDeleted());
      p.setLong(5, run.manifestsDeleted());
      p.setLong(6, run.uploadsDeleted());
      p.setLong(7, run.orphansDeleted());
      p.setLong(8, run.bytesFreed());
      p.setInt(9, run.errors());
      if (run.errorMessage() == null) {
        p.setNull(10, Types.VARCHAR);
      } else {
        p.setString(10, run.errorMessage());
      }
      p.setString(11, run.report());
      p.setLong(12, run.id());
      p.executeUpdate();
    }
  }

  /** Runs left {@code running} by a process that stopped; returns how many. */
  public int markInterrupted(Connection c, long now) throws SQLException {
    try (PreparedStatement p =
        c.prepareStatement("UPDATE gc_runs SET status = ?, finished_at = ? WHERE status = ?")) {
      p.setString(1, GarbageCollectRun.INTERRUPTED);
      p.setLong(2, now);
      p.setString(3, GarbageCollectRun.RUNNING);
      return p.executeUpdate();
    }
  }

  /** Runs left {@code running} other than {@code runId}; returns how many. */
  public int markInterruptedExcept(Connection c, long now, long runId) throws SQLException {
    try (PreparedStatement p = c.prepareStatement(
        "UPDATE gc_runs SET status = ?, finished_at = ? WHERE status = ? AND id <> ?")) {
      p.setString(1, GarbageCollectRun.INTERRUPTED);
      p.setLong(2, now);
      p.setString(3, GarbageCollectRun.RUNNING);
      p.setLong(4, runId);
      return p.executeUpdate();
    }
  }

  /** Runs left {@code running}, when no job of this type is queued or running; returns how many. */
  public int markInterruptedWithoutJob(Connection c, long now, String jobType) throws SQLException {
    try (PreparedStatement p = c.prepareStatement(
        "UPDATE gc_runs SET status = ?, finished_at = ? WHERE status = ? AND NOT EXISTS"
            + " (SELECT 1 FROM jobs WHERE type = ? AND state IN ('queued', 'running'))")) {
      p.setString(1, GarbageCollectRun.INTERRUPTED);
      p.setLong(2, now);
      p.setString(3, GarbageCollectRun.RUNNING);
      p.setString(4, jobType);
      return p.executeUpdate();
    }
  }

  private static final String RUN_COLUMNS =
      "id, started_at, finished_at, dry_run, delete_untagged, trigger_source, status, links_pruned,"
          + " blobs_deleted, manifests_deleted, uploads_deleted, orphans_deleted, bytes_freed, errors,"
          + " error_message, report";

  /** The newest runs first. */
  public List<GarbageCollectRun> runs(Connection c, int limit) throws SQLException {
    try (PreparedStatement p =
        c.prepareStatement("SELECT " + RUN_COLUMNS + " FROM gc_runs ORDER BY id DESC LIMIT ?")) {
      p.setInt(1, limit);
      List<GarbageCollectRun> runs = new ArrayList<>();
      try (ResultSet rs = p.executeQuery()) {
        while (rs.next()) {
          runs.add(run(rs));
        }
      }
      return runs;
    }
  }

  public Optional<GarbageCollectRun> run(Connection c, long id) throws SQLException {
    try (PreparedStatement p =
        c.prepareStatement("SELECT " + RUN_COLUMNS + " FROM gc_runs WHERE id = ?")) {
      p.setLong(1, id);
      try (ResultSet rs = p.executeQuery()) {
        return rs.next() ? Optional.of(run(rs)) : Optional.empty();
      }
    }
  }

  private static GarbageCollectRun run(ResultSet rs) throws SQLException {
    long finished = rs.getLong(3);
    Long finishedAt = rs.wasNull() ? null : finished;
    return new GarbageCollectRun(
        rs.getLong(1),
        rs.getLong(2),
        finishedAt,
        rs.getBoolean(4),
        rs.getBoolean(5),
        rs.getString(6),
        rs.getString(7),
        rs.getLong(8),
        rs.getLong(9),
        rs.getLong(10),
        rs.getLong(11),
        rs.getLong(12),
        rs.getLong(13),
        rs.getInt(14),
        rs.getString(15),
        rs.getString(16));
  }
}
