package dev.berth.audit;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import com.fasterxml.jackson.databind.ObjectMapper;
import java.time.Instant;
import java.util.Map;
import org.junit.jupiter.api.Test;

class AuditEventTest {
  private static final AuditEvent LOGIN = AuditEvent.of(
          AuditAction.LOGIN, ActorType.USER, "alice", AuditOutcome.FAILURE)
      .withTime(Instant.parse("2026-03-01T12:00:00.123456Z"));

  @Test
  void absentValuesAreEmptyAndTimeIsKeptToTheMillisecond() {
    assertThat(LOGIN.project()).isEmpty();
    assertThat(LOGIN.userAgent()).isEmpty();
    assertThat(LOGIN.time()).isEqualTo(Instant.parse("2026-03-01T12:00:00.123Z"));
    assertThat(LOGIN.detailJson()).isEqualTo("{}");
  }

  @Test
  void clientControlledTextIsCutToItsColumnNotRefused() {
    AuditEvent event = LOGIN.withSource("192.0.2.1", "x".repeat(10_000));
    assertThat(event.userAgent()).hasSize(512);
    AuditEvent longName =
        AuditEvent.of(AuditAction.LOGIN, ActorType.USER, "n".repeat(5000), AuditOutcome.FAILURE);
    assertThat(longName.actorName()).hasSize(255);
    AuditEvent nul =
        AuditEvent.of(AuditAction.LOGIN, ActorType.USER, "ali\u0000ce", AuditOutcome.FAILURE);
    assertThat(nul.actorName()).isEqualTo("ali\uFFFDce");
  }

  @Test
  void secretsAreNeverRecorded() {
    for (String key : new String[] {"password", "clientSecret", "token", "apiKey"}) {
      assertThatThrownBy(() -> LOGIN.withDetail(Map.of(key, "hunter2")))
          .as(key)
          .isInstanceOf(IllegalArgumentException.class)
          .hasMessageContaining("secret");
    }
  }

  @Test
  void detailIsSortedJson() {
    AuditEvent event = LOGIN.withDetail(Map.of("scope", "repository:a:push", "reason", "bad"));
    assertThat(event.detailJson())
        .isEqualTo("{\"reason\":\"bad\",\"scope\":\"repository:a:push\"}");
  }

  @Test
  void theCanonicalFormIsInjectiveAcrossFieldBoundaries() {
    AuditEvent a = LOGIN.withResource("ab", "c", "", "");
    AuditEvent b = LOGIN.withResource("a", "bc", "", "");
    assertThat(ChainHash.hash(ChainHash.GENESIS, ChainHash.canonical(a)))
        .isNotEqualTo(ChainHash.hash(ChainHash.GENESIS, ChainHash.canonical(b)));
  }

  @Test
  void labelsRoundTrip() {
    for (AuditAction action : AuditAction.values()) {
      assertThat(AuditAction.fromLabel(action.label())).hasValue(action);
    }
    assertThat(AuditOutcome.fromLabel("denied")).hasValue(AuditOutcome.DENIED);
    assertThat(ActorType.fromLabel("robot")).hasValue(ActorType.ROBOT);
  }

  @Test
  void csvQuotesPerRfc4180AndJsonLinesAreOneObjectPerLine() throws Exception {
    AuditEvent event = LOGIN.withSource("192.0.2.1", "agent, \"quoted\"\r\nsecond line");
    AuditRecord record = new AuditRecord(3, event, ChainHash.GENESIS, "ab".repeat(32));
    AuditExport export = new AuditExport(new ObjectMapper());

    assertThat(export.csvHeader()).startsWith("id,time,actorType,actor,").endsWith("hash\r\n");
    String row = export.csvRow(record);
    assertThat(row)
        .startsWith("3,2026-03-01T12:00:00.123Z,user,alice,192.0.2.1,"
            + "\"agent, \"\"quoted\"\"\r\nsecond line\",login,,,,,failure,{},")
        .endsWith("\r\n");
    String line = export.jsonLine(record);
    assertThat(line).endsWith("\n");
    assertThat(line.substring(0, line.length() - 1)).doesNotContain("\n");
    assertThat(new ObjectMapper().readTree(line).path("userAgent").asText())
        .isEqualTo("agent, \"quoted\"\r\nsecond line");
  }
}
