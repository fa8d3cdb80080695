package dev.berth.jobs;

import java.time.Instant;
import java.util.Objects;
import java.util.Optional;

/**
 * A job as stored: what to run ({@code type} selects the {@link Task}, {@code payload} is its JSON
 * input), where it is in its life ({@link JobState}) and what came of it.
 *
 * @param attempts claims so far (the running attempt's number while {@code RUNNING})
 * @param leaseOwner the node that claimed the latest attempt (kept once that attempt ended)
 * @param leaseExpiresAt until when that node holds it, while {@code RUNNING}; else empty
 */
public record Job(
    long id,
    String type,
    String payload,
    JobState state,
    Optional<String> uniqueKey,
    int attempts,
    int maxAttempts,
    Instant runAfter,
    Optional<String> leaseOwner,
    Optional<Instant> leaseExpiresAt,
    Optional<String> result,
    Optional<String> error,
    Instant createdAt,
    Instant updatedAt) {
  public Job {
    Objects.requireNonNull(type, "type");
    Objects.requireNonNull(payload, "payload");
    Objects.requireNonNull(state, "state");
    Objects.requireNonNull(uniqueKey, "uniqueKey");
    Objects.requireNonNull(runAfter, "runAfter");
    Objects.requireNonNull(leaseOwner, "leaseOwner");
    Objects.requireNonNull(leaseExpiresAt, "leaseExpiresAt");
    Objects.requireNonNull(result, "result");
    Objects.requireNonNull(error, "error");
    Objects.requireNonNull(createdAt, "createdAt");
    Objects.requireNonNull(updatedAt, "updatedAt");
  }
}
