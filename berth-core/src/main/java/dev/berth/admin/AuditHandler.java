package dev.berth.admin;

import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import dev.berth.audit.AuditAction;
import dev.berth.audit.AuditExport;
import dev.berth.audit.AuditFilter;
import dev.berth.audit.AuditOutcome;
import dev.berth.audit.AuditQuery;
import dev.berth.audit.AuditRecord;
import dev.berth.auth.Action;
import dev.berth.auth.RegistryAccess;
import dev.berth.http.Exchange;
import dev.berth.oci.ErrorCode;
import dev.berth.oci.RegistryException;
import dev.berth.oci.RepositoryName;
import java.io.IOException;
import java.net.URLEncoder;
import java.nio.ByteBuffer;
import java.nio.charset.StandardCharsets;
import java.time.Instant;
import java.time.format.DateTimeParseException;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * The audit log's query API (decision 013).
 *
 * <pre>
 *   GET /api/v1/audit-logs?from=&amp;to=&amp;actor=&amp;project=&amp;repository=&amp;action=&amp;outcome=&amp;n=&amp;last=
 *       → 200 {"records":[record…]} newest first, at most n (1..1000, default 100); when the page
 *         is full, Link: &lt;/api/v1/audit-logs?…&amp;last=ID&gt;; rel="next"
 *   GET /api/v1/audit-logs?format=csv    → 200 text/csv, every matching record (RFC 4180)
 *   GET /api/v1/audit-logs?format=jsonl  → 200 application/jsonl, every matching record
 * </pre>
 *
 * {@code from} (inclusive) and {@code to} (exclusive) are ISO-8601 instants; {@code action} and
 * {@code outcome} are labels ({@code manifest.push}, {@code failure}); the other filters match
 * exactly. A record is {@code {"id","time","actorType","actor","sourceAddress","userAgent",
 * "action","project","repository","reference","digest","outcome","detail":{},"prevHash","hash"}}.
 * Access: a system administrator sees everything; with a {@code project} filter, whoever may
 * read that project's audit ({@code read-audit}: Guest and above) sees its records.
 */
public final class AuditHandler {
  public static final String PATH = "/api/v1/audit-logs";
  private static final int DEFAULT_PAGE = 100;
  private static final List<String> FILTERS =
      List.of("from", "to", "actor", "project", "repository", "action", "outcome");

  private final AuditQuery query;
  private final AuditExport export;
  private final ObjectMapper json;

  private final RegistryAccess access;

  public AuditHandler(AuditQuery query, ObjectMapper json, RegistryAccess access) {
    this.access = access;
    this.query = query;
    this.export = new AuditExport(json);
    this.json = json;
  }

  public void handle(Exchange exchange) throws IOException {
    String path = exchange.path();
    if (!path.equals(PATH) && !path.equals(PATH + "/")) {
      throw new RegistryException(ErrorCode.NOT_FOUND, "no route for " + path);
    }
    if (!exchange.method().equals("GET") && !exchange.method().equals("HEAD")) {
      exchange.setHeader("Allow", "GET");
      throw new RegistryException(
          ErrorCode.UNSUPPORTED, exchange.method() + " is not allowed here; use GET");
    }
    RegistryAccess.Caller caller = access.managementCaller(exchange);
    String project = exchange.query("project");
    if (project != null && !project.isEmpty() && project.length() <= 255) {
      caller.requireInProject(exchange, RepositoryName.project(project), Action.READ_AUDIT);
    } else {
      caller.requireAdmin(exchange);
    }
    AuditFilter filter = filter(exchange);
    String format = exchange.query("format");
    if (format == null || format.equals("json")) {
      page(exchange, filter);
    } else if (format.equals("csv")) {
      stream(exchange, filter, AuditExport.CSV_TYPE, export.csvHeader(), export::csvRow);
    } else if (format.equals("jsonl")) {
      stream(exchange, filter, AuditExport.JSON_LINES_TYPE, "", export::jsonLine);
    } else {
      throw invalid("format must be json, csv or jsonl, got '" + format + "'");
    }
  }

  private void page(Exchange exchange, AuditFilter filter) throws IOException {
    int limit = DEFAULT_PAGE;
    String n = exchange.query("n");
    if (n != null) {
      try {
        limit = Integer.parseInt(n);
      } catch (NumberFormatException e) {
        limit = -1;
      }
      if (limit < 1 || limit > AuditQuery.MAX_PAGE) {
        throw new RegistryException(
            ErrorCode.PAGINATION_NUMBER_INVALID, "n must be between 1 and " + AuditQuery.MAX_PAGE);
      }
    }
    long last = 0;
    String lastText = exchange.query("last");
    if (lastText != null && !lastText.isEmpty()) {
      try {
        last = Long.parseLong(lastText);
      } catch (NumberFormatException e) {
        throw invalid("last must be a record id, got '" + lastText + "'");
      }
    }
    List<AuditRecord> records = query.page(filter, last, limit);
    ObjectNode root = json.createObjectNode();
    ArrayNode array = root.putArray("records");
    records.forEach(r -> array.add(export.json(r)));
    if (records.size() == limit) {
      exchange.setHeader(
          "Link", "<" + nextPage(exchange, limit, records.getLast().id()) + ">; rel=\"next\"");
    }
    exchange.send(200, "application/json", json.writeValueAsBytes(root));
  }

  private interface Line {
    String of(AuditRecord record);
  }

  private void stream(
      Exchange exchange, AuditFilter filter, String contentType, String header, Line line)
      throws IOException {
    exchange.status(200);
    exchange.setHeader("Content-Type", contentType);
    if (exchange.isHead()) {
      exchange.sendEmpty(200);
      return;
    }
    StringBuilder buffer = new StringBuilder(header);
    query.forEach(filter, record -> {
      buffer.append(line.of(record));
      if (buffer.length() >= 32 << 10) {
        exchange.write(false, ByteBuffer.wrap(buffer.toString().getBytes(StandardCharsets.UTF_8)));
        buffer.setLength(0);
      }
    });
    exchange.write(true, ByteBuffer.wrap(buffer.toString().getBytes(StandardCharsets.UTF_8)));
  }

  private static String nextPage(Exchange exchange, int limit, long last) {
    Map<String, String> parameters = new LinkedHashMap<>();
    for (String name : FILTERS) {
      String value = exchange.query(name);
      if (value != null) {
        parameters.put(name, value);
      }
    }
    parameters.put("n", Integer.toString(limit));
    parameters.put("last", Long.toString(last));
    StringBuilder url = new StringBuilder(PATH).append('?');
    parameters.forEach((name, value) -> url.append(name)
        .append('=')
        .append(URLEncoder.encode(value, StandardCharsets.UTF_8))
        .append('&'));
    url.setLength(url.length() - 1);
    return url.toString();
  }

  private static AuditFilter filter(Exchange exchange) {
    AuditFilter filter = AuditFilter.ALL;
    String from = exchange.query("from");
    if (from != null && !from.isEmpty()) {
      filter = filter.withFrom(instant("from", from));
    }
    String to = exchange.query("to");
    if (to != null && !to.isEmpty()) {
      filter = filter.withTo(instant("to", to));
    }
    String actor = exchange.query("actor");
    if (actor != null && !actor.isEmpty()) {
      filter = filter.withActor(actor);
    }
    String project = exchange.query("project");
    if (project != null && !project.isEmpty()) {
      filter = filter.withProject(project);
    }
    String repository = exchange.query("repository");
    if (repository != null && !repository.isEmpty()) {
      filter = filter.withRepository(repository);
    }
    String action = exchange.query("action");
    if (action != null && !action.isEmpty()) {
      filter = filter.withAction(AuditAction.fromLabel(action)
          .orElseThrow(() -> invalid("unknown action '" + cut(action) + "'")));
    }
    String outcome = exchange.query("outcome");
    if (outcome != null && !outcome.isEmpty()) {
      filter = filter.withOutcome(AuditOutcome.fromLabel(outcome)
          .orElseThrow(() -> invalid("outcome must be success, failure or denied")));
    }
    return filter;
  }

  private static Instant instant(String name, String value) {
    try {
      return Instant.parse(value);
    } catch (DateTimeParseException e) {
      throw invalid(name + " must be an ISO-8601 instant such as 2026-01-31T12:00:00Z, got '"
          + cut(value) + "'");
    }
  }

  private static String cut(String value) {
    return value.length() > 100 ? value.substring(0, 100) + "…" : value;
  }

  private static RegistryException invalid(String message) {
    return new RegistryException(ErrorCode.INVALID_REQUEST, message);
  }
}
