package dev.berth.audit;

import static org.assertj.core.api.Assertions.assertThat;

import java.time.Instant;
import java.util.List;
import org.junit.jupiter.api.Test;

class AuditLogCoalesceTest {
  private static final Instant T0 = Instant.parse("2026-03-01T12:00:00Z");

  private static AuditEvent pull(int millis, String address, String agent, String reference) {
    return AuditEvent.of(AuditAction.MANIFEST_PULL, ActorType.ANONYMOUS, "", AuditOutcome.SUCCESS)
        .withTime(T0.plusMillis(millis))
        .withSource(address, agent)
        .withResource("library", "library/alpine", reference, "sha256:" + "cd".repeat(32));
  }

  /** Like {@link #pull} of "latest" from 198.51.100.7 with docker/27, by another actor. */
  private static AuditEvent pullBy(ActorType type, String name, AuditOutcome outcome, int millis) {
    return new AuditActor(type, name, "198.51.100.7", "docker/27")
        .event(
            AuditAction.MANIFEST_PULL,
            outcome,
            "library",
            "library/alpine",
            "latest",
            "sha256:" + "cd".repeat(32))
        .withTime(T0.plusMillis(millis));
  }

  @Test
  void identicalPullsInABatchAreOneRecordWithTheirCountAndLastTime() {
    AuditEvent first = pull(0, "198.51.100.7", "docker/27", "latest");
    List<AuditEvent> records = AuditLog.coalesce(List.of(
        first,
        pull(3, "198.51.100.8", "docker/27", "latest"),
        pull(9, "198.51.100.7", "docker/27", "latest"),
        pull(5, "198.51.100.7", "docker/27", "latest"),
        pull(7, "198.51.100.7", "containerd/2", "latest"),
        pull(8, "198.51.100.7", "docker/27", "v1")));

    assertThat(records).hasSize(4);
    assertThat(records.get(0).time()).isEqualTo(first.time());
    assertThat(records.get(0).detail())
        .containsEntry(AuditLog.COUNT, "3")
        .containsEntry(AuditLog.LAST, "2026-03-01T12:00:00.009Z")
        .hasSize(2);
    assertThat(records.get(0).withDetail(null)).isEqualTo(first);
    // Another address, another user agent, another reference: records of their own, unchanged.
    assertThat(records.get(1)).isEqualTo(pull(3, "198.51.100.8", "docker/27", "latest"));
    assertThat(records.get(2)).isEqualTo(pull(7, "198.51.100.7", "containerd/2", "latest"));
    assertThat(records.get(3)).isEqualTo(pull(8, "198.51.100.7", "docker/27", "v1"));
  }

  @Test
  void theRecordStartsAtTheEarliestPullEvenWhenItWasQueuedLater() {
    List<AuditEvent> records = AuditLog.coalesce(List.of(
        pull(5, "198.51.100.7", "docker/27", "latest"),
        pull(2, "198.51.100.7", "docker/27", "latest"),
        pull(4, "198.51.100.7", "docker/27", "latest")));
    assertThat(records).singleElement().satisfies(r -> {
      assertThat(r.time()).isEqualTo(T0.plusMillis(2));
      assertThat(r.detail())
          .containsEntry(AuditLog.COUNT, "3")
          .containsEntry(AuditLog.LAST, "2026-03-01T12:00:00.005Z");
    });
  }

  @Test
  void aBatchWithoutRepeatsIsWrittenAsItCame() {
    List<AuditEvent> batch = List.of(
        pull(0, "198.51.100.7", "docker/27", "latest"), pull(0, "198.51.100.7", "docker/27", "v1"));
    assertThat(AuditLog.coalesce(batch)).isEqualTo(batch);
    assertThat(AuditLog.coalesce(List.of())).isEmpty();
  }

  @Test
  void theOutcomeAndActorArePartOfWhatMustMatch() {
    AuditEvent anonymous = pull(0, "198.51.100.7", "docker/27", "latest");
    AuditEvent alice = pullBy(ActorType.USER, "alice", AuditOutcome.SUCCESS, 1);
    AuditEvent failed = pullBy(ActorType.ANONYMOUS, "", AuditOutcome.FAILURE, 2);
    assertThat(AuditLog.coalesce(List.of(anonymous, alice, failed)))
        .containsExactly(anonymous, alice, failed);
  }
}
