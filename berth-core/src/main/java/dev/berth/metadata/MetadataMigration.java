package dev.berth.metadata;

import java.sql.Connection;
import java.sql.DatabaseMetaData;
import java.sql.DriverManager;
import java.sql.PreparedStatement;
import java.sql.ResultSet;
import java.sql.SQLException;
import java.sql.Statement;
import java.sql.Types;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.LinkedHashMap;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Set;
import java.util.TreeMap;
import org.sqlite.SQLiteConfig;

/**
 * Copies an embedded installation's metadata (SQLite) into PostgreSQL, for a user who outgrows
 * one node ({@code berth migrate-metadata}).
 *
 * <p>The tables are discovered from the source's schema (so a later migration's tables come
 * along without a change here) and copied parents first, in the order of their foreign keys.
 * Rows keep their ids, so foreign keys stay valid; afterwards each identity sequence on the
 * target is moved past the largest id copied, so the next insert gets a fresh id.
 *
 * <p>Idempotent and resumable: each batch is one committed transaction of {@code INSERT … ON
 * CONFLICT (primary key) DO NOTHING}, so a run that stopped halfway is finished by running it
 * again, and a run over a complete copy changes nothing. The result compares the row count of
 * every table on both sides.
 *
 * <p>The source is opened read-only and never written. Nothing else may write it meanwhile: the
 * caller holds the data directory's lock, which a running server holds too.
 */
public final class MetadataMigration {
  /** Rows per committed batch on the target. */
  public static final int DEFAULT_BATCH_SIZE = 1_000;

  private static final String VERSION_TABLE = "schema_migrations";

  /** Told after each committed batch; may throw to stop the run (tests simulate a crash so). */
  @FunctionalInterface
  public interface Progress {
    void copied(String table, long rowsRead, long rowsInSource);
  }

  /** One table's row count on both sides after the run. */
  public record TableCount(String table, long source, long target) {
    public boolean matches() {
      return source == target;
    }
  }

  /** What a run found: per table, in copy order. */
  public record Result(int schemaVersion, List<TableCount> counts) {
    public Result {
      counts = List.copyOf(counts);
    }

    /** True when every table holds as many rows on the target as on the source. */
    public boolean complete() {
      return counts.stream().allMatch(TableCount::matches);
    }
  }

  /** A source table: its columns in order and its primary key. */
  private record Table(
      String name, List<String> columns, List<String> primaryKey, Set<String> parents) {}

  private final String sourceUrl;
  private final Database target;
  private final int batchSize;
  private final Progress progress;

  /**
   * @param sourceUrl a {@code jdbc:sqlite:} URL of an existing database
   * @param target an opened (so migrated) PostgreSQL database
   */
  public MetadataMigration(String sourceUrl, Database target, int batchSize, Progress progress) {
    if (!sourceUrl.startsWith("jdbc:sqlite:")) {
      throw new IllegalArgumentException(
          "the source must be a jdbc:sqlite: URL, got " + Database.redact(sourceUrl));
    }
    if (target.dialect() != Dialect.POSTGRES) {
      throw new IllegalArgumentException(
          "the target must be a PostgreSQL database, got " + Database.redact(target.url()));
    }
    if (batchSize < 1) {
      throw new IllegalArgumentException("batch size must be at least 1, got " + batchSize);
    }
    this.sourceUrl = sourceUrl;
    this.target = target;
    this.batchSize = batchSize;
    this.progress = progress;
  }

  /**
   * Copies every table, moves the sequences and counts the rows on both sides.
   *
   * @throws IllegalStateException when the schemas differ (version or tables), with a message
   *     that says what to do
   * @throws SQLException when the source cannot be read
   */
  public Result run() throws SQLException {
    try (Connection source = openReadOnly(sourceUrl)) {
      // One read transaction: every table is read from the same snapshot.
      source.setAutoCommit(false);
      int sourceVersion = schemaVersion(source);
      int targetVersion = target.read(MetadataMigration::schemaVersion);
      if (sourceVersion != targetVersion) {
        throw new IllegalStateException(
            "the source database is at schema version "
                + sourceVersion
                + " and the target at "
                + targetVersion
                + (sourceVersion < targetVersion
                    ? "; start this version of Berth once on the data directory (it migrates the"
                        + " schema), stop it, and run migrate-metadata again"
                    : "; the source was written by a newer Berth: run that version's migrate-metadata"));
      }
      List<Table> tables = inForeignKeyOrder(tables(source));
      checkTargetHas(tables);
      List<TableCount> counts = new ArrayList<>();
      for (Table table : tables) {
        copy(source, table);
      }
      target.write(c -> {
        for (Table table : tables) {
          moveSequences(c, table.name());
        }
        return null;
      });
      for (Table table : tables) {
        long sourceRows = count(source, table.name());
        long targetRows = target.read(c -> count(c, table.name()));
        counts.add(new TableCount(table.name(), sourceRows, targetRows));
      }
      source.rollback();
      return new Result(sourceVersion, counts);
    }
  }

  private static Connection openReadOnly(String url) throws SQLException {
    SQLiteConfig config = new SQLiteConfig();
    config.setReadOnly(true);
    config.setBusyTimeout(10_000);
    return DriverManager.getConnection(url, config.toProperties());
  }

  private static int schemaVersion(Connection c) throws SQLException {
    try (Statement s = c.createStatement();
        ResultSet rs = s.executeQuery("SELECT COALESCE(MAX(version), 0) FROM " + VERSION_TABLE)) {
      rs.next();
      return rs.getInt(1);
    }
  }

  /** The source's tables, except SQLite's own and the version table (the target has its own). */
  private static List<Table> tables(Connection source) throws SQLException {
    List<String> names = new ArrayList<>();
    try (Statement s = source.createStatement();
        ResultSet rs = s.executeQuery(
            "SELECT name FROM sqlite_master WHERE type = 'table' AND name NOT LIKE 'sqlite\\_%' ESCAPE '\\'"
                + " ORDER BY name")) {
      while (rs.next()) {
        if (!rs.getString(1).equalsIgnoreCase(VERSION_TABLE)) {
          names.add(rs.getString(1));
        }
      }
    }
    List<Table> tables = new ArrayList<>();
    for (String name : names) {
      List<String> columns = new ArrayList<>();
      Map<Integer, String> primaryKey = new TreeMap<>();
      try (Statement s = source.createStatement();
          ResultSet rs = s.executeQuery("PRAGMA table_info(" + quote(name) + ")")) {
        while (rs.next()) {
          columns.add(rs.getString("name"));
          int position = rs.getInt("pk");
          if (position > 0) {
            primaryKey.put(position, rs.getString("name"));
          }
        }
      }
      if (primaryKey.isEmpty()) {
        throw new IllegalStateException(
            "table " + name + " has no primary key, so it cannot be copied idempotently");
      }
      Set<String> parents = new LinkedHashSet<>();
      try (Statement s = source.createStatement();
          ResultSet rs = s.executeQuery("PRAGMA foreign_key_list(" + quote(name) + ")")) {
        while (rs.next()) {
          String parent = rs.getString("table");
          if (!parent.equalsIgnoreCase(name)) {
            parents.add(parent.toLowerCase(Locale.ROOT));
          }
        }
      }
      tables.add(new Table(name, columns, List.copyOf(primaryKey.values()), parents));
    }
    return tables;
  }

  /** Parents before children (a topological order of the foreign keys); by name otherwise. */
  private static List<Table> inForeignKeyOrder(List<Table> tables) {
    Map<String, Table> pending = new LinkedHashMap<>();
    for (Table table : tables) {
      pending.put(table.name().toLowerCase(Locale.ROOT), table);
    }
    List<Table> ordered = new ArrayList<>();
    while (!pending.isEmpty()) {
      Table next = pending.values().stream()
          .filter(table -> table.parents().stream().noneMatch(pending::containsKey))
          .findFirst()
          .orElseThrow(() -> new IllegalStateException(
              "the foreign keys between tables " + pending.keySet() + " form a cycle"));
      pending.remove(next.name().toLowerCase(Locale.ROOT));
      ordered.add(next);
    }
    return ordered;
  }

  /** Every source table must exist on the target with every source column. */
  private void checkTargetHas(List<Table> tables) {
    Map<String, Set<String>> targetColumns = target.read(c -> {
      Map<String, Set<String>> columns = new HashMap<>();
      DatabaseMetaData meta = c.getMetaData();
      try (ResultSet rs = meta.getColumns(null, c.getSchema(), "%", "%")) {
        while (rs.next()) {
          columns
              .computeIfAbsent(
                  rs.getString("TABLE_NAME").toLowerCase(Locale.ROOT), t -> new LinkedHashSet<>())
              .add(rs.getString("COLUMN_NAME").toLowerCase(Locale.ROOT));
        }
      }
      return columns;
    });
    for (Table table : tables) {
      Set<String> columns = targetColumns.get(table.name().toLowerCase(Locale.ROOT));
      if (columns == null) {
        throw new IllegalStateException("the target has no table " + table.name()
            + " although both schemas are at the same version");
      }
      for (String column : table.columns()) {
        if (!columns.contains(column.toLowerCase(Locale.ROOT))) {
          throw new IllegalStateException("the target's table " + table.name() + " has no column "
              + column + " although both schemas are at the same version");
        }
      }
    }
  }

  private void copy(Connection source, Table table) throws SQLException {
    long total = count(source, table.name());
    int[] types = target.read(c -> columnTypes(c, table));
    String columns =
        String.join(", ", table.columns().stream().map(MetadataMigration::quote).toList());
    String insert = "INSERT INTO "
        + quote(table.name())
        + " ("
        + columns
        + ") VALUES ("
        + String.join(", ", table.columns().stream().map(c -> "?").toList())
        + ") ON CONFLICT ("
        + String.join(
            ", ", table.primaryKey().stream().map(MetadataMigration::quote).toList())
        + ") DO NOTHING";
    String select = "SELECT "
        + columns
        + " FROM "
        + quote(table.name())
        + " ORDER BY "
        + String.join(
            ", ", table.primaryKey().stream().map(MetadataMigration::quote).toList());
    long read = 0;
    try (Statement s = source.createStatement();
        ResultSet rs = s.executeQuery(select)) {
      List<Object[]> batch = new ArrayList<>(Math.min(batchSize, 10_000));
      while (true) {
        boolean more = rs.next();
        if (more) {
          Object[] row = new Object[types.length];
          for (int i = 0; i < types.length; i++) {
            row[i] = read(rs, i + 1, types[i]);
          }
          batch.add(row);
        }
        if (batch.size() == batchSize || !more && !batch.isEmpty()) {
          List<Object[]> rows = List.copyOf(batch);
          target.write(c -> insert(c, insert, types, rows));
          read += rows.size();
          batch.clear();
          progress.copied(table.name(), read, total);
        }
        if (!more) {
          break;
        }
      }
    }
    if (read == 0) {
      progress.copied(table.name(), 0, total);
    }
  }

  /** The JDBC type of each copied column on the target, which decides how a value is converted. */
  private static int[] columnTypes(Connection c, Table table) throws SQLException {
    Map<String, Integer> byName = new HashMap<>();
    try (ResultSet rs = c.getMetaData()
        .getColumns(null, c.getSchema(), table.name().toLowerCase(Locale.ROOT), "%")) {
      while (rs.next()) {
        byName.put(rs.getString("COLUMN_NAME").toLowerCase(Locale.ROOT), rs.getInt("DATA_TYPE"));
      }
    }
    int[] types = new int[table.columns().size()];
    for (int i = 0; i < types.length; i++) {
      types[i] = byName.get(table.columns().get(i).toLowerCase(Locale.ROOT));
    }
    return types;
  }

  /**
   * A source value as the target column wants it. SQLite stores booleans as integers and has no
   * fixed column types, so the target's type decides.
   */
  private static Object read(ResultSet rs, int column, int targetType) throws SQLException {
    Object value = rs.getObject(column);
    if (value == null) {
      return null;
    }
    return switch (targetType) {
      case Types.BIT, Types.BOOLEAN ->
        value instanceof Number n
            ? n.longValue() != 0
            : Set.of("1", "true", "t").contains(value.toString().toLowerCase(Locale.ROOT));
      case Types.BIGINT, Types.INTEGER, Types.SMALLINT, Types.TINYINT -> rs.getLong(column);
      case Types.BINARY, Types.VARBINARY, Types.LONGVARBINARY, Types.BLOB -> rs.getBytes(column);
      case Types.DOUBLE, Types.FLOAT, Types.REAL, Types.NUMERIC, Types.DECIMAL ->
        rs.getBigDecimal(column);
      default -> rs.getString(column);
    };
  }

  private static Void insert(Connection c, String sql, int[] types, List<Object[]> rows)
      throws SQLException {
    try (PreparedStatement p = c.prepareStatement(sql)) {
      for (Object[] row : rows) {
        for (int i = 0; i < row.length; i++) {
          Object value = row[i];
          int type = types[i];
          if (value == null) {
            p.setNull(i + 1, type);
          } else {
            switch (value) {
              case Boolean b -> p.setBoolean(i + 1, b);
              case Long l
              when type == Types.INTEGER || type == Types.SMALLINT || type == Types.TINYINT ->
                p.setInt(i + 1, Math.toIntExact(l));
              case Long l -> p.setLong(i + 1, l);
              case byte[] bytes -> p.setBytes(i + 1, bytes);
              case java.math.BigDecimal d -> p.setBigDecimal(i + 1, d);
              case String text when isText(type) -> p.setString(i + 1, text);
              // Any other type (a timestamp, JSON, ...) from its text form: PostgreSQL parses it.
              default -> p.setObject(i + 1, value.toString(), Types.OTHER);
            }
          }
        }
        p.addBatch();
      }
      p.executeBatch();
    }
    return null;
  }

  private static boolean isText(int type) {
    return switch (type) {
      case Types.CHAR,
          Types.VARCHAR,
          Types.LONGVARCHAR,
          Types.NCHAR,
          Types.NVARCHAR,
          Types.LONGNVARCHAR,
          Types.CLOB -> true;
      default -> false;
    };
  }

  /** Moves each identity sequence of a table past its largest id, so new rows get fresh ids. */
  private static void moveSequences(Connection c, String table) throws SQLException {
    List<String> identityColumns = new ArrayList<>();
    try (PreparedStatement p =
        c.prepareStatement("SELECT column_name FROM information_schema.columns"
            + " WHERE table_schema = current_schema() AND table_name = ?"
            + " AND (is_identity = 'YES' OR column_default LIKE 'nextval(%')")) {
      p.setString(1, table.toLowerCase(Locale.ROOT));
      try (ResultSet rs = p.executeQuery()) {
        while (rs.next()) {
          identityColumns.add(rs.getString(1));
        }
      }
    }
    for (String column : identityColumns) {
      try (PreparedStatement p =
          c.prepareStatement("SELECT setval(pg_get_serial_sequence(?, ?), COALESCE((SELECT MAX("
              + quote(column)
              + ") FROM "
              + quote(table)
              + "), 0) + 1, false)")) {
        p.setString(1, quote(table));
        p.setString(2, column);
        p.executeQuery().close();
      }
    }
  }

  private static long count(Connection c, String table) throws SQLException {
    try (Statement s = c.createStatement();
        ResultSet rs = s.executeQuery("SELECT COUNT(*) FROM " + quote(table))) {
      rs.next();
      return rs.getLong(1);
    }
  }

  /** A table or column name as a quoted identifier (lower case: PostgreSQL folds unquoted ones). */
  private static String quote(String identifier) {
    return '"' + identifier.toLowerCase(Locale.ROOT).replace("\"", "\"\"") + '"';
  }
}
