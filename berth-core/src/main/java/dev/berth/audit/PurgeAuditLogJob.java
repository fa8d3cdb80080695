package dev.berth.audit;

import com.fasterxml.jackson.databind.ObjectMapper;
import dev.berth.jobs.Job;
import dev.berth.jobs.Scheduler;
import dev.berth.jobs.Task;
import dev.berth.metadata.Database;
import dev.berth.metadata.Dialect;
import java.sql.PreparedStatement;
import java.sql.ResultSet;
import java.time.Clock;
import java.time.Duration;
import java.time.Instant;
import java.util.Map;
import java.util.Objects;
import java.util.function.IntSupplier;

/**
 * Retention ({@code audit.retention-days}): a daily job on the job queue (decision 010) deletes
 * the records older than N days, oldest first, in batches of {@value #BATCH} (one transaction
 * each), and records its own {@link AuditAction#AUDIT_PURGE} event.
 *
 * <p>Only a prefix of the chain is ever deleted: the walk stops at the first record not older
 * than the cutoff (times follow ids to within the pull batching delay). Each batch moves the
 * chain's anchor to the newest deleted record, signed with the checkpoint key, in the same
 * transaction, so the oldest kept record links to a signed anchor and the chain still verifies
 * (decision 013); checkpoints of deleted records go with them. Safe to repeat: a second run finds
 * nothing older than the cutoff.
 */
public final class PurgeAuditLogJob {
  /** The job type. */
  public static final String PURGE = "audit.purge";
  /** The schedule's name in {@code schedules}. */
  public static final String SCHEDULE = "audit-retention";

  static final int BATCH = 1000;

  private final Database database;
  private final AuditLog log;
  private final AuditKey key;
  private final IntSupplier retentionDays;
  private final Clock clock;
  private final ObjectMapper json = new ObjectMapper();

  /** @param retentionDays records older than this many days are deleted; 0 keeps them all */
  public PurgeAuditLogJob(
      Database database, AuditLog log, AuditKey key, int retentionDays, Clock clock) {
    this(database, log, key, fixed(retentionDays), clock);
  }

  /**
   * @param retentionDays the current retention, read at each scheduling and run (a runtime
   *     setting, {@code dev.berth.settings.SystemSettings})
   */
  public PurgeAuditLogJob(
      Database database, AuditLog log, AuditKey key, IntSupplier retentionDays, Clock clock) {
    this.database = Objects.requireNonNull(database, "database");
    this.log = Objects.requireNonNull(log, "log");
    this.key = Objects.requireNonNull(key, "key");
    this.retentionDays = Objects.requireNonNull(retentionDays, "retentionDays");
    this.clock = Objects.requireNonNull(clock, "clock");
  }

  private static IntSupplier fixed(int retentionDays) {
    if (retentionDays < 0) {
      throw new IllegalArgumentException(
          "audit.retention-days: must not be negative, got " + retentionDays);
    }
    return () -> retentionDays;
  }

  /** The task to register with a {@link dev.berth.jobs.Worker}. */
  public Map<String, Task> tasks() {
    return Map.of(PURGE, this::run);
  }

  /**
   * Defines the daily schedule when retention is on, removes it when off ({@code 0}); the
   * scheduler itself is the caller's to start.
   */
  public void schedule(Scheduler scheduler) {
    if (retentionDays.getAsInt() == 0) {
      scheduler.remove(SCHEDULE);
    } else {
      scheduler.define(SCHEDULE, PURGE, "{}", Duration.ofDays(1));
    }
  }

  private String run(Job job) {
    int days = retentionDays.getAsInt();
    if (days == 0) {
      return json.createObjectNode().put("skipped", "audit.retention-days is 0").toString();
    }
    Instant cutoff = clock.instant().minus(Duration.ofDays(days));
    long deleted = purgeBefore(cutoff);
    return json.createObjectNode().put("deleted", deleted).toString();
  }

  /**
   * Deletes the records older than {@code cutoff} from the start of the chain and records an
   * {@link AuditAction#AUDIT_PURGE} event (always, even when nothing was old enough).
   *
   * @return how many were deleted
   */
  public long purgeBefore(Instant cutoff) {
    long total = 0;
    while (true) {
      long deleted = database.write(c -> {
        Dialect dialect = Dialect.of(c);
        AuditRows.Chain chain = AuditRows.chain(c, dialect.forUpdate());
        if (chain == null) {
          return 0L;
        }
        long last = 0;
        String lastHash = null;
        try (PreparedStatement p = c.prepareStatement(
            "SELECT id, occurred_at, hash FROM audit_log" + " WHERE id > ? ORDER BY id LIMIT ?")) {
          p.setLong(1, chain.anchorId());
          p.setInt(2, BATCH);
          try (ResultSet rs = p.executeQuery()) {
            while (rs.next() && rs.getLong(2) < cutoff.toEpochMilli()) {
              last = rs.getLong(1);
              lastHash = rs.getString(3);
            }
          }
        }
        if (last == 0) {
          return 0L;
        }
        long count;
        try (PreparedStatement p = c.prepareStatement("DELETE FROM audit_log WHERE id <= ?")) {
          p.setLong(1, last);
          count = p.executeUpdate();
        }
        try (PreparedStatement p =
            c.prepareStatement("DELETE FROM audit_checkpoints WHERE record_id <= ?")) {
          p.setLong(1, last);
          p.executeUpdate();
        }
        try (PreparedStatement p = c.prepareStatement("UPDATE audit_chain SET anchor_id = ?,"
            + " anchor_hash = ?, anchor_signature = ? WHERE id = 1")) {
          p.setLong(1, last);
          p.setString(2, lastHash);
          p.setString(3, key.sign(AuditKey.anchorText(last, lastHash)));
          p.executeUpdate();
        }
        return count;
      });
      total += deleted;
      if (deleted == 0) {
        break;
      }
    }
    log.record(AuditEvent.of(AuditAction.AUDIT_PURGE, ActorType.SYSTEM, PURGE, AuditOutcome.SUCCESS)
        .withTime(clock.instant())
        .withDetail(Map.of(
            "deleted", Long.toString(total),
            "before", cutoff.toString(),
            "retentionDays", Integer.toString(retentionDays.getAsInt()))));
    return total;
  }
}
