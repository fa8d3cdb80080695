package dev.berth.jobs;

import com.fasterxml.jackson.core.JsonProcessingException;
import com.fasterxml.jackson.databind.ObjectMapper;
import java.time.Instant;
import java.util.Objects;
import java.util.Optional;

/**
 * A job to enqueue. Build it with {@link #of} and the {@code with…} methods; it is validated here,
 * once (the payload must be JSON, the type a short non-blank name).
 *
 * @param runAfter not claimed before this time; {@link Instant#EPOCH} means at once
 * @param uniqueKey while a job with this key is queued or running, enqueueing another with the same
 *     key returns the existing job's id instead of adding one
 * @param maxAttempts claims before a failing job is given up ({@link JobState#FAILED})
 */
public record NewJob(
    String type, String payload, Instant runAfter, Optional<String> uniqueKey, int maxAttempts) {
  public static final int DEFAULT_MAX_ATTEMPTS = 3;
  private static final ObjectMapper JSON = new ObjectMapper();

  public NewJob {
    Objects.requireNonNull(type, "type");
    Objects.requireNonNull(payload, "payload");
    Objects.requireNonNull(runAfter, "runAfter");
    Objects.requireNonNull(uniqueKey, "uniqueKey");
    if (type.isBlank() || type.length() > 100) {
      throw new IllegalArgumentException(
          "job type must be 1 to 100 characters, got \"" + type + "\"");
    }
    if (uniqueKey.isPresent() && (uniqueKey.get().isBlank() || uniqueKey.get().length() > 255)) {
      throw new IllegalArgumentException("job unique key must be 1 to 255 characters");
    }
    if (maxAttempts < 1) {
      throw new IllegalArgumentException("maxAttempts must be at least 1, got " + maxAttempts);
    }
    try {
      JSON.readTree(payload);
    } catch (JsonProcessingException e) {
      throw new IllegalArgumentException("job payload is not JSON: " + e.getOriginalMessage(), e);
    }
  }

  /** A job of this type and JSON payload, to run at once, without a key, with the default attempts. */
  public static NewJob of(String type, String payload) {
    return new NewJob(type, payload, Instant.EPOCH, Optional.empty(), DEFAULT_MAX_ATTEMPTS);
  }

  public NewJob withRunAfter(Instant time) {
    return new NewJob(type, payload, time, uniqueKey, maxAttempts);
  }

  public NewJob withUniqueKey(String key) {
    return new NewJob(type, payload, runAfter, Optional.of(key), maxAttempts);
  }

  public NewJob withMaxAttempts(int attempts) {
    return new NewJob(type, payload, runAfter, uniqueKey, attempts);
  }
}
