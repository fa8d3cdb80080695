package dev.berth.audit;

import dev.berth.metadata.Database;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.sql.PreparedStatement;
import java.sql.ResultSet;
import java.util.ArrayList;
import java.util.List;
import java.util.Objects;

/**
 * Reads the audit log: pages of records matching an {@link AuditFilter}, newest first, with
 * keyset pagination on the id ({@code last}: the last id of the previous page, like the {@code
 * /v2} listings' {@code last}). The SQL is fixed text with {@code ?} parameters; filter values are
 * only ever bound, so quotes, semicolons or megabytes of text in them match nothing and harm
 * nothing.
 */
public final class AuditQuery {
  /** Largest page size. */
  public static final int MAX_PAGE = 1000;

  /** Receives records one at a time (an export writing to a response). */
  @FunctionalInterface
  public interface Sink {
    void accept(AuditRecord record) throws IOException;
  }

  private final Database database;

  public AuditQuery(Database database) {
    this.database = Objects.requireNonNull(database, "database");
  }

  /**
   * Records matching the filter with an id below {@code last} (0: from the newest), newest first,
   * at most {@code limit} (1 to {@value #MAX_PAGE}).
   */
  public List<AuditRecord> page(AuditFilter filter, long last, int limit) {
    if (limit < 1 || limit > MAX_PAGE) {
      throw new IllegalArgumentException("limit must be 1 to " + MAX_PAGE + ", got " + limit);
    }
    List<Object> parameters = new ArrayList<>();
    StringBuilder sql = new StringBuilder("SELECT ")
        .append(AuditRows.COLUMNS)
        .append(" FROM audit_log WHERE 1 = 1");
    if (last > 0) {
      sql.append(" AND id < ?");
      parameters.add(last);
    }
    filter.from().ifPresent(t -> {
      sql.append(" AND occurred_at >= ?");
      parameters.add(t.toEpochMilli());
    });
    filter.to().ifPresent(t -> {
      sql.append(" AND occurred_at < ?");
      parameters.add(t.toEpochMilli());
    });
    filter.actor().ifPresent(v -> {
      sql.append(" AND actor_name = ?");
      parameters.add(v);
    });
    filter.project().ifPresent(v -> {
      sql.append(" AND project = ?");
      parameters.add(v);
    });
    filter.repository().ifPresent(v -> {
      sql.append(" AND repository = ?");
      parameters.add(v);
    });
    filter.action().ifPresent(v -> {
      sql.append(" AND action = ?");
      parameters.add(v.label());
    });
    filter.outcome().ifPresent(v -> {
      sql.append(" AND outcome = ?");
      parameters.add(v.label());
    });
    sql.append(" ORDER BY id DESC LIMIT ?");
    parameters.add(limit);
    return database.read(c -> {
      try (PreparedStatement p = c.prepareStatement(sql.toString())) {
        for (int i = 0; i < parameters.size(); i++) {
          Object value = parameters.get(i);
          if (value instanceof String text) {
            p.setString(i + 1, text);
          } else if (value instanceof Long number) {
            p.setLong(i + 1, number);
          } else {
            p.setInt(i + 1, (Integer) value);
          }
        }
        List<AuditRecord> records = new ArrayList<>(Math.min(limit, 256));
        try (ResultSet rs = p.executeQuery()) {
          while (rs.next()) {
            records.add(AuditRows.read(rs));
          }
        }
        return records;
      }
    });
  }

  /**
   * Every record matching the filter, newest first, read a page at a time (no transaction or
   * connection is held while the sink writes).
   *
   * @return how many were passed to the sink
   */
  public long forEach(AuditFilter filter, Sink sink) throws IOException {
    long last = 0;
    long count = 0;
    while (true) {
      List<AuditRecord> page = page(filter, last, MAX_PAGE);
      for (AuditRecord record : page) {
        sink.accept(record);
      }
      count += page.size();
      if (page.size() < MAX_PAGE) {
        return count;
      }
      last = page.getLast().id();
    }
  }

  /** {@link #forEach} for callers that cannot fail on I/O (tests, in-memory writers). */
  public List<AuditRecord> all(AuditFilter filter) {
    List<AuditRecord> records = new ArrayList<>();
    try {
      forEach(filter, records::add);
    } catch (IOException e) {
      throw new UncheckedIOException(e);
    }
    return records;
  }
}
