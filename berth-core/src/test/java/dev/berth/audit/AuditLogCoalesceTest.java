package dev.berth.audit;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.time.Instant;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
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
  void pullsOfOneRepositoryByOneActorAreOneRecordListingEachClientAndResource() {
    AuditEvent first = pull(0, "198.51.100.7", "docker/27", "latest");
    List<AuditEvent> records = AuditLog.coalesce(List.of(
        first,
        pull(3, "198.51.100.8", "docker/27", "latest"),
        pull(9, "198.51.100.7", "docker/27", "latest"),
        pull(5, "198.51.100.7", "docker/27", "latest"),
        pull(7, "198.51.100.7", "containerd/2", "latest"),
        pull(8, "198.51.100.7", "docker/27", "v1")));

    assertThat(records).hasSize(1);
    AuditEvent record = records.getFirst();
    // The first pull's time, client and resource; the others in detail.pulls, null where the
    // value is the record's own.
    assertThat(record.withDetail(null)).isEqualTo(first);
    assertThat(record.detail())
        .containsEntry(AuditLog.COUNT, "6")
        .containsEntry(AuditLog.LAST, "2026-03-01T12:00:00.009Z")
        .containsEntry(
            AuditLog.PULLS,
            "[[0,3,null,null,null,null],[3,1,\"198.51.100.8\",null,null,null],"
                + "[7,1,null,\"containerd/2\",null,null],[8,1,null,null,\"v1\",null]]")
        .hasSize(3);
    String digest = "sha256:" + "cd".repeat(32);
    assertThat(AuditLog.pulls(record))
        .containsExactly(
            new AuditLog.Pulls(T0, 3, "198.51.100.7", "docker/27", "latest", digest),
            new AuditLog.Pulls(T0.plusMillis(3), 1, "198.51.100.8", "docker/27", "latest", digest),
            new AuditLog.Pulls(
                T0.plusMillis(7), 1, "198.51.100.7", "containerd/2", "latest", digest),
            new AuditLog.Pulls(T0.plusMillis(8), 1, "198.51.100.7", "docker/27", "v1", digest));
  }

  @Test
  void aRecordHoldsClientsUpToItsBudgetAndTheNextOnesStartAnother() {
    List<AuditEvent> batch = new ArrayList<>();
    // Long user agents with characters JSON escapes, so that the bound is reached early.
    for (int i = 0; i < 400; i++) {
      batch.add(pull(
          i % 50, "198.51.100." + (i % 200), "agent \"" + i + "\" \\ " + "x".repeat(80), "v1"));
    }
    List<AuditEvent> records = AuditLog.coalesce(batch);

    assertThat(records.size()).isBetween(10, 100);
    List<AuditLog.Pulls> all = new ArrayList<>();
    for (AuditEvent record : records) {
      String list = record.detail().getOrDefault(AuditLog.PULLS, "");
      assertThat(list.length()).isLessThanOrEqualTo(AuditLog.PULLS_BUDGET);
      List<AuditLog.Pulls> pulls = AuditLog.pulls(record);
      assertThat(pulls.getFirst().userAgent()).isEqualTo(record.userAgent());
      assertThat(record.detail().getOrDefault(AuditLog.COUNT, "1"))
          .isEqualTo(Integer.toString(pulls.size()));
      all.addAll(pulls);
    }
    // Every pull once, in the order it came, with its own client and time.
    assertThat(all).hasSize(400);
    for (int i = 0; i < 400; i++) {
      AuditEvent pull = batch.get(i);
      assertThat(all.get(i))
          .isEqualTo(new AuditLog.Pulls(
              pull.time(),
              1,
              pull.sourceAddress(),
              pull.userAgent(),
              pull.reference(),
              pull.digest()));
    }
  }

  @Test
  void aRecordFillsToItsBudgetWhenOnlyTheClientsDiffer() {
    // The shape of many clients pulling one tag: only the user agent differs from the record's
    // own, so an entry is about 40 characters and a record lists ~90 clients, not ~30.
    List<AuditEvent> batch = new ArrayList<>();
    for (int i = 0; i < 2000; i++) {
      batch.add(pull(i / 10, "198.51.100.7", "bench-client-" + i, "latest"));
    }
    List<AuditEvent> records = AuditLog.coalesce(batch);

    int pulls = 0;
    for (AuditEvent record : records) {
      String list = record.detail().get(AuditLog.PULLS);
      assertThat(list.length()).isLessThanOrEqualTo(AuditLog.PULLS_BUDGET);
      if (record != records.getLast()) {
        // Full, but for the slack of the bound on the next entry's length.
        assertThat(list.length()).isGreaterThan(AuditLog.PULLS_BUDGET * 4 / 5);
      }
      pulls += AuditLog.pulls(record).size();
    }
    assertThat(pulls).isEqualTo(2000);
    assertThat(records.size()).isLessThanOrEqualTo(2000 * 50 / (AuditLog.PULLS_BUDGET * 4 / 5) + 1);
  }

  @Test
  void aMalformedPullListIsRefusedNotMisread() {
    AuditEvent record = pull(0, "198.51.100.7", "docker/27", "latest");
    for (String bad : List.of(
        "[[0,1,null,null,null]]",
        "[[0,1,null,null,null,null]",
        "{}",
        "[[0,\"1\",null,null,null,null]]")) {
      assertThatThrownBy(() -> AuditLog.pulls(record.withDetail(Map.of(AuditLog.PULLS, bad))))
          .as(bad)
          .isInstanceOf(IllegalArgumentException.class)
          .hasMessageContaining("detail.pulls");
    }
  }

  @Test
  void theRecordStartsAtTheEarliestPullEvenWhenItWasQueuedLater() {
    List<AuditEvent> records = AuditLog.coalesce(List.of(
        pull(5, "198.51.100.7", "docker/27", "latest"),
        pull(2, "198.51.100.7", "docker/27", "latest"),
        pull(4, "198.51.100.7", "docker/27", "latest")));
    assertThat(records).singleElement().satisfies(r -> {
      assertThat(r.time()).isEqualTo(T0.plusMillis(2));
      // One client and resource: a count, no list.
      assertThat(r.detail())
          .containsEntry(AuditLog.COUNT, "3")
          .containsEntry(AuditLog.LAST, "2026-03-01T12:00:00.005Z")
          .hasSize(2);
    });
  }

  @Test
  void pullsOfDifferentRepositoriesAreRecordsOfTheirOwnWrittenAsTheyCame() {
    AuditEvent alpine = pull(0, "198.51.100.7", "docker/27", "latest");
    AuditEvent busybox = alpine.withResource("library", "library/busybox", "latest", "");
    AuditEvent other = alpine.withResource("team", "team/alpine", "latest", "");
    List<AuditEvent> batch = List.of(alpine, busybox, other);
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
