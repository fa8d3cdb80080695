package dev.berth.audit;

import java.util.Objects;

/**
 * A recorded event: its place in the chain ({@code id}, gapless from 1), the previous record's
 * hash and its own (lower-case hex SHA-256; see {@link ChainHash}).
 */
public record AuditRecord(long id, AuditEvent event, String prevHash, String hash) {
  public AuditRecord {
    Objects.requireNonNull(event, "event");
    Objects.requireNonNull(prevHash, "prevHash");
    Objects.requireNonNull(hash, "hash");
    if (id < 1) {
      throw new IllegalArgumentException("audit record ids start at 1, got " + id);
    }
  }
}
