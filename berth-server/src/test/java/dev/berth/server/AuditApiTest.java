package dev.berth.server;

import static org.assertj.core.api.Assertions.assertThat;

import com.fasterxml.jackson.databind.JsonNode;
import dev.berth.audit.ActorType;
import dev.berth.audit.AuditAction;
import dev.berth.audit.AuditEvent;
import dev.berth.audit.AuditLog;
import dev.berth.audit.AuditOutcome;
import java.net.URLEncoder;
import java.net.http.HttpResponse;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Instant;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

/**
 * {@code GET /api/v1/audit-logs} on a running server (filters, pages with a Link header, CSV and
 * JSON Lines exports), and {@code berth audit verify} on its data directory once it stopped.
 */
class AuditApiTest {
  private static Path dataDir;
  private static InProcessBerth berth;

  @BeforeAll
  static void start() throws Exception {
    dataDir = Files.createTempDirectory("berth-audit-");
    berth = new InProcessBerth(Map.of(), dataDir);
    berth.start();
    AuditLog audit = berth.audit();
    Instant t0 = Instant.parse("2026-03-01T12:00:00Z");
    audit.record(event(AuditAction.MANIFEST_PUSH, "alice", "library/alpine", AuditOutcome.SUCCESS)
        .withTime(t0));
    audit.record(
        event(AuditAction.LOGIN, "mallory", "", AuditOutcome.FAILURE).withTime(t0.plusSeconds(60)));
    audit.record(event(AuditAction.MANIFEST_DELETE, "alice", "team/app", AuditOutcome.SUCCESS)
        .withTime(t0.plusSeconds(120)));
    List<String> pulled = List.of("alpine", "busybox", "debian", "ubuntu");
    for (int i = 0; i < 4; i++) {
      // Four repositories, so that the pulls are four records (pulls of one repository by one
      // actor in a batch are one record; decision 017).
      audit.recordAsync(
          event(AuditAction.MANIFEST_PULL, "", "library/" + pulled.get(i), AuditOutcome.SUCCESS)
              .withSource("192.0.2." + (20 + i), "docker/27")
              .withTime(t0.plusSeconds(180 + i)));
    }
    long deadline = System.nanoTime() + 10_000_000_000L;
    while (audit.pendingPulls() > 0 && System.nanoTime() < deadline) {
      Thread.sleep(20);
    }
  }

  @AfterAll
  static void stop() throws Exception {
    try {
      berth.close();
    } finally {
      InProcessBerth.deleteRecursively(dataDir);
    }
  }

  private static AuditEvent event(
      AuditAction action, String actor, String repository, AuditOutcome outcome) {
    return AuditEvent.of(
            action, actor.isEmpty() ? ActorType.ANONYMOUS : ActorType.USER, actor, outcome)
        .withSource("192.0.2.10", "docker/27, \"test\"")
        .withResource(
            repository.isEmpty() ? "" : repository.substring(0, repository.indexOf('/')),
            repository,
            repository.isEmpty() ? "" : "latest",
            "");
  }

  @Test
  void pagesNewestFirstWithALinkToTheNext() {
    HttpResponse<byte[]> first = berth.get("/api/v1/audit-logs?n=4");
    assertThat(first.statusCode()).isEqualTo(200);
    assertThat(ids(InProcessBerth.json(first))).containsExactly(7L, 6L, 5L, 4L);
    String link = first.headers().firstValue("Link").orElseThrow();
    assertThat(link).isEqualTo("</api/v1/audit-logs?n=4&last=4>; rel=\"next\"");

    HttpResponse<byte[]> second = berth.get(link.substring(1, link.indexOf('>')));
    assertThat(ids(InProcessBerth.json(second))).containsExactly(3L, 2L, 1L);
    assertThat(second.headers().firstValue("Link")).isEmpty();
  }

  @Test
  void filtersCombine() {
    JsonNode page =
        InProcessBerth.json(berth.get("/api/v1/audit-logs?actor=alice&action=manifest.delete"));
    assertThat(ids(page)).containsExactly(3L);
    JsonNode record = page.path("records").path(0);
    assertThat(record.path("repository").asText()).isEqualTo("team/app");
    assertThat(record.path("project").asText()).isEqualTo("team");
    assertThat(record.path("actorType").asText()).isEqualTo("user");
    assertThat(record.path("hash").asText()).hasSize(64);

    assertThat(ids(InProcessBerth.json(berth.get("/api/v1/audit-logs?outcome=failure"))))
        .containsExactly(2L);
    assertThat(ids(InProcessBerth.json(
            berth.get("/api/v1/audit-logs?from=2026-03-01T12:01:00Z&to=2026-03-01T12:03:00Z"))))
        .containsExactly(3L, 2L);
    assertThat(ids(InProcessBerth.json(berth.get("/api/v1/audit-logs?project=library"))))
        .containsExactly(7L, 6L, 5L, 4L, 1L);
  }

  @Test
  void hostileFilterValuesMatchNothingAndBadOnesAre400() {
    String hostile =
        URLEncoder.encode("' OR '1'='1'; DROP TABLE audit_log; --", StandardCharsets.UTF_8);
    HttpResponse<byte[]> response = berth.get("/api/v1/audit-logs?actor=" + hostile);
    assertThat(response.statusCode()).isEqualTo(200);
    assertThat(ids(InProcessBerth.json(response))).isEmpty();
    assertThat(berth.get("/api/v1/audit-logs?repository=" + "x".repeat(4000)).statusCode())
        .isEqualTo(200);

    assertThat(berth.get("/api/v1/audit-logs?action=nope").statusCode()).isEqualTo(400);
    assertThat(berth.get("/api/v1/audit-logs?from=yesterday").statusCode()).isEqualTo(400);
    assertThat(berth.get("/api/v1/audit-logs?n=0").statusCode()).isEqualTo(400);
    assertThat(berth.get("/api/v1/audit-logs?format=xml").statusCode()).isEqualTo(400);
    assertThat(berth.delete("/api/v1/audit-logs").statusCode()).isEqualTo(405);
    assertThat(berth.get("/api/v1/audit-logs").statusCode()).as("all records").isEqualTo(200);
  }

  @Test
  void exportsCsvAndJsonLines() throws Exception {
    HttpResponse<byte[]> csv = berth.get("/api/v1/audit-logs?format=csv&actor=alice");
    assertThat(csv.statusCode()).isEqualTo(200);
    assertThat(csv.headers().firstValue("Content-Type").orElseThrow()).startsWith("text/csv");
    String text = new String(csv.body(), StandardCharsets.UTF_8);
    List<String> lines = List.of(text.split("\r\n"));
    assertThat(lines).hasSize(3);
    assertThat(lines.getFirst()).startsWith("id,time,actorType,actor,sourceAddress,userAgent,");
    assertThat(lines.get(1))
        .startsWith("3,2026-03-01T12:02:00Z,user,alice,192.0.2.10,\"docker/27, \"\"test\"\"\",");

    HttpResponse<byte[]> jsonl = berth.get("/api/v1/audit-logs?format=jsonl");
    assertThat(jsonl.headers().firstValue("Content-Type").orElseThrow())
        .startsWith("application/jsonl");
    String[] objects = new String(jsonl.body(), StandardCharsets.UTF_8).split("\n");
    assertThat(objects).hasSize(7);
    assertThat(InProcessBerth.JSON.readTree(objects[0]).path("id").asLong()).isEqualTo(7);
  }

  private static List<Long> ids(JsonNode page) {
    return java.util.stream.StreamSupport.stream(page.path("records").spliterator(), false)
        .map(r -> r.path("id").asLong())
        .toList();
  }
}
