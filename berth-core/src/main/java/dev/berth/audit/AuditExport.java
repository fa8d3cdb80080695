package dev.berth.audit;

import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ObjectNode;
import java.util.List;

/**
 * The export formats of the audit log: CSV (RFC 4180: CRLF line ends, a header row, fields
 * containing a comma, a double quote, CR or LF enclosed in double quotes with inner quotes
 * doubled) and JSON Lines (one JSON object per line, the same object as the query API's).
 */
public final class AuditExport {
  public static final String CSV_TYPE = "text/csv; charset=utf-8";
  public static final String JSON_LINES_TYPE = "application/jsonl; charset=utf-8";

  private static final List<String> COLUMNS = List.of(
      "id",
      "time",
      "actorType",
      "actor",
      "sourceAddress",
      "userAgent",
      "action",
      "project",
      "repository",
      "reference",
      "digest",
      "outcome",
      "detail",
      "prevHash",
      "hash");

  private final ObjectMapper json;

  public AuditExport(ObjectMapper json) {
    this.json = json;
  }

  /** The CSV header row, with its CRLF. */
  public String csvHeader() {
    return String.join(",", COLUMNS) + "\r\n";
  }

  /** One CSV row, with its CRLF. */
  public String csvRow(AuditRecord record) {
    AuditEvent e = record.event();
    List<String> fields = List.of(
        Long.toString(record.id()),
        e.time().toString(),
        e.actorType().label(),
        e.actorName(),
        e.sourceAddress(),
        e.userAgent(),
        e.action().label(),
        e.project(),
        e.repository(),
        e.reference(),
        e.digest(),
        e.outcome().label(),
        e.detailJson(),
        record.prevHash(),
        record.hash());
    StringBuilder row = new StringBuilder(256);
    for (int i = 0; i < fields.size(); i++) {
      if (i > 0) {
        row.append(',');
      }
      row.append(csvField(fields.get(i)));
    }
    return row.append("\r\n").toString();
  }

  /** One JSON Lines line, with its LF. */
  public String jsonLine(AuditRecord record) {
    return json(record).toString() + "\n";
  }

  /** A record as the query API's JSON object. */
  public ObjectNode json(AuditRecord record) {
    AuditEvent e = record.event();
    ObjectNode node = json.createObjectNode();
    node.put("id", record.id());
    node.put("time", e.time().toString());
    node.put("actorType", e.actorType().label());
    node.put("actor", e.actorName());
    node.put("sourceAddress", e.sourceAddress());
    node.put("userAgent", e.userAgent());
    node.put("action", e.action().label());
    node.put("project", e.project());
    node.put("repository", e.repository());
    node.put("reference", e.reference());
    node.put("digest", e.digest());
    node.put("outcome", e.outcome().label());
    ObjectNode detail = node.putObject("detail");
    e.detail().forEach(detail::put);
    node.put("prevHash", record.prevHash());
    node.put("hash", record.hash());
    return node;
  }

  static String csvField(String value) {
    if (value.indexOf(',') < 0
        && value.indexOf('"') < 0
        && value.indexOf('\r') < 0
        && value.indexOf('\n') < 0) {
      return value;
    }
    return '"' + value.replace("\"", "\"\"") + '"';
  }
}
