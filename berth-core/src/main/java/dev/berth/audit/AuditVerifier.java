package dev.berth.audit;

import dev.berth.metadata.Database;
import java.sql.PreparedStatement;
import java.sql.ResultSet;
import java.util.ArrayList;
import java.util.List;
import java.util.Objects;
import java.util.Optional;
import java.util.TreeMap;

/**
 * Walks the audit chain from its anchor to its head and reports the first record that breaks it
 * ({@code berth audit verify}; decision 013).
 *
 * <p>Each record must have the next id (a gap: {@link AuditVerification.Kind#DELETED}), a hash
 * that matches its content ({@code EDITED}) and a previous hash equal to the record before's
 * ({@code INSERTED} when it equals the one before that, so that the record between is extra;
 * {@code UNLINKED} otherwise). The first record links to the anchor (the newest purged record, or
 * the genesis hash) and the last one must be the head. With the key, the anchor's and the head's
 * signatures and every checkpoint are checked as well ({@code SIGNATURE}): a chain recomputed
 * from an edit onwards, which its hashes alone cannot reveal, still disagrees with the signed
 * checkpoints, and so does a chain cut short with its head row rewritten.
 *
 * <p>Reads in pages of {@value #PAGE} records; it never writes.
 */
public final class AuditVerifier {
  private static final int PAGE = 1000;

  private final Database database;
  private final Optional<AuditKey> key;

  /** @param key the checkpoint key, or empty to check hashes and links only */
  public AuditVerifier(Database database, Optional<AuditKey> key) {
    this.database = Objects.requireNonNull(database, "database");
    this.key = Objects.requireNonNull(key, "key");
  }

  public AuditVerification verify() {
    AuditRows.Chain chain = database.read(c -> AuditRows.chain(c, ""));
    if (chain == null) {
      return new AuditVerification(0, 0, key.isPresent(), Optional.empty());
    }
    TreeMap<Long, List<String[]>> checkpoints = database.read(c -> {
      TreeMap<Long, List<String[]>> map = new TreeMap<>();
      try (PreparedStatement p = c.prepareStatement(
              "SELECT record_id, hash, signature FROM audit_checkpoints ORDER BY record_id");
          ResultSet rs = p.executeQuery()) {
        while (rs.next()) {
          map.computeIfAbsent(rs.getLong(1), id -> new ArrayList<>())
              .add(new String[] {rs.getString(2), rs.getString(3)});
        }
      }
      return map;
    });
    Walk walk = new Walk(chain, checkpoints);
    Optional<AuditVerification.Problem> problem = walk.start();
    long after = chain.anchorId();
    while (problem.isEmpty()) {
      long from = after;
      List<Row> page = database.read(c -> {
        List<Row> rows = new ArrayList<>(PAGE);
        try (PreparedStatement p = c.prepareStatement(
            "SELECT " + AuditRows.COLUMNS + " FROM audit_log WHERE id > ? ORDER BY id LIMIT ?")) {
          p.setLong(1, from);
          p.setInt(2, PAGE);
          try (ResultSet rs = p.executeQuery()) {
            while (rs.next()) {
              rows.add(new Row(
                  rs.getLong(1),
                  rs.getString(14),
                  rs.getString(15),
                  ChainHash.hash(rs.getString(14), AuditRows.canonical(rs))));
            }
          }
        }
        return rows;
      });
      for (Row row : page) {
        problem = walk.next(row);
        if (problem.isPresent()) {
          break;
        }
      }
      if (page.size() < PAGE) {
        break;
      }
      after = page.getLast().id();
    }
    if (problem.isEmpty()) {
      problem = walk.finish();
    }
    if (problem.isEmpty()) {
      problem = database.read(c -> {
        // A record at or below the anchor was purged or never existed: it is an insertion.
        try (PreparedStatement p =
            c.prepareStatement("SELECT MIN(id) FROM audit_log WHERE id <= ?")) {
          p.setLong(1, chain.anchorId());
          try (ResultSet rs = p.executeQuery()) {
            rs.next();
            long id = rs.getLong(1);
            return rs.wasNull()
                ? Optional.<AuditVerification.Problem>empty()
                : Optional.of(new AuditVerification.Problem(
                    id,
                    AuditVerification.Kind.INSERTED,
                    "record " + id + " is older than the chain's anchor (record " + chain.anchorId()
                        + ", the newest purged)"));
          }
        }
      });
    }
    return new AuditVerification(walk.records, walk.checkpointsChecked, key.isPresent(), problem);
  }

  private record Row(long id, String prevHash, String hash, String computed) {}

  /** The walk's state between pages. */
  private final class Walk {
    private final AuditRows.Chain chain;
    private final TreeMap<Long, List<String[]>> checkpoints;
    private long expected;
    private String previous;
    private String beforePrevious;
    private long records;
    private long checkpointsChecked;

    Walk(AuditRows.Chain chain, TreeMap<Long, List<String[]>> checkpoints) {
      this.chain = chain;
      this.checkpoints = checkpoints;
      this.expected = chain.anchorId() + 1;
      this.previous = chain.anchorLink();
    }

    Optional<AuditVerification.Problem> start() {
      if (key.isPresent() && chain.anchorId() > 0) {
        if (!key.get()
            .verifies(
                AuditKey.anchorText(chain.anchorId(), chain.anchorHash()),
                chain.anchorSignature())) {
          return problem(
              chain.anchorId() + 1,
              AuditVerification.Kind.SIGNATURE,
              "the chain's anchor (record " + chain.anchorId()
                  + ", the newest purged) does not match its signature");
        }
      }
      return Optional.empty();
    }

    Optional<AuditVerification.Problem> next(Row row) {
      if (row.id() != expected) {
        return problem(
            expected,
            AuditVerification.Kind.DELETED,
            (row.id() - 1 == expected
                    ? "record " + expected + " is missing"
                    : "records " + expected + " to " + (row.id() - 1) + " are missing")
                + " (deleted)");
      }
      if (!row.computed().equals(row.hash())) {
        return problem(
            row.id(),
            AuditVerification.Kind.EDITED,
            "record " + row.id() + " does not match its hash (edited)");
      }
      if (!row.prevHash().equals(previous)) {
        if (beforePrevious != null && row.prevHash().equals(beforePrevious)) {
          return problem(
              row.id() - 1,
              AuditVerification.Kind.INSERTED,
              "record " + (row.id() - 1) + " was inserted: record " + row.id()
                  + " links to the record before it");
        }
        return problem(
            row.id(),
            AuditVerification.Kind.UNLINKED,
            "record " + row.id() + " does not link to record " + (row.id() - 1)
                + " (that record was rewritten, or records were deleted and renumbered)");
      }
      List<String[]> signed = checkpoints.get(row.id());
      if (signed != null) {
        for (String[] checkpoint : signed) {
          Optional<AuditVerification.Problem> bad = checkpoint(row.id(), checkpoint, row.hash());
          if (bad.isPresent()) {
            return bad;
          }
        }
      }
      records++;
      beforePrevious = previous;
      previous = row.hash();
      expected++;
      return Optional.empty();
    }

    Optional<AuditVerification.Problem> finish() {
      long last = expected - 1;
      if (last < chain.lastId()) {
        return problem(
            expected,
            AuditVerification.Kind.DELETED,
            (last + 1 == chain.lastId()
                    ? "record " + chain.lastId() + " is missing"
                    : "records " + (last + 1) + " to " + chain.lastId() + " are missing")
                + " (deleted; the chain's head is record " + chain.lastId() + ")");
      }
      if (last > chain.lastId()) {
        return problem(
            chain.lastId() + 1,
            AuditVerification.Kind.INSERTED,
            "record " + (chain.lastId() + 1) + " is beyond the chain's head (record "
                + chain.lastId() + ")");
      }
      if (!previous.equals(chain.lastHash())) {
        return problem(
            last,
            AuditVerification.Kind.SIGNATURE,
            "record " + last + " is not the chain's recorded head");
      }
      if (key.isPresent()
          && !key.get()
              .verifies(
                  AuditKey.headText(chain.lastId(), chain.lastHash()), chain.headSignature())) {
        return problem(
            last,
            AuditVerification.Kind.SIGNATURE,
            "the chain's head (record " + chain.lastId() + ") does not match its signature");
      }
      // Checkpoints beyond the head: the chain was cut back and its head rewritten.
      for (var entry : checkpoints.tailMap(chain.lastId(), false).entrySet()) {
        for (String[] checkpoint : entry.getValue()) {
          if (key.isEmpty()
              || key.get()
                  .verifies(
                      AuditKey.checkpointText(entry.getKey(), checkpoint[0]), checkpoint[1])) {
            return problem(
                chain.lastId() + 1,
                AuditVerification.Kind.DELETED,
                "a checkpoint signs record " + entry.getKey() + ", beyond the chain's head (record "
                    + chain.lastId() + ")");
          }
        }
      }
      return Optional.empty();
    }

    private Optional<AuditVerification.Problem> checkpoint(
        long id, String[] checkpoint, String hash) {
      if (key.isPresent()
          && !key.get().verifies(AuditKey.checkpointText(id, checkpoint[0]), checkpoint[1])) {
        return problem(
            id,
            AuditVerification.Kind.SIGNATURE,
            "the checkpoint at record " + id + " does not match its signature");
      }
      if (!checkpoint[0].equals(hash)) {
        return problem(
            id,
            AuditVerification.Kind.SIGNATURE,
            "record " + id + " does not match its signed checkpoint (the chain was recomputed)");
      }
      checkpointsChecked++;
      return Optional.empty();
    }

    private Optional<AuditVerification.Problem> problem(
        long id, AuditVerification.Kind kind, String message) {
      return Optional.of(new AuditVerification.Problem(id, kind, message));
    }
  }
}
