package dev.berth.audit;

import com.fasterxml.jackson.core.JsonProcessingException;
import com.fasterxml.jackson.databind.ObjectMapper;
import java.time.Instant;
import java.util.Collections;
import java.util.Locale;
import java.util.Map;
import java.util.Objects;
import java.util.Set;
import java.util.TreeMap;

/**
 * One operation to record: when, who (actor type and name, source address, user agent), what
 * (action and resource) and how it ended. Build it with {@link #of} and the {@code with…} methods.
 *
 * <p>Validated once, here: the enums are required; absent strings are empty (never null), and the
 * free-text fields a client controls are cut to their column lengths rather than refused, so that
 * a 10 kB user name in a failed login is still recorded (as its first 255 characters), and NUL
 * characters, which PostgreSQL cannot store, become U+FFFD. The time is kept to the millisecond,
 * as stored.
 *
 * <p>Never a password or secret: {@code detail} is for small facts (a scope, a setting's name, a
 * count), and a key that names a secret ({@code password}, {@code secret}, {@code token}, {@code
 * credential}, {@code authorization}, {@code key}) is refused.
 *
 * @param actorName user or robot name; empty for anonymous
 * @param sourceAddress the client's IP address
 * @param project the project of the resource (first component of a repository name), or empty
 * @param reference a tag or digest as the client named it, or empty
 * @param digest the manifest's digest, or empty
 * @param detail extra facts, string to string; sorted by key
 */
public record AuditEvent(
    Instant time,
    ActorType actorType,
    String actorName,
    String sourceAddress,
    String userAgent,
    AuditAction action,
    String project,
    String repository,
    String reference,
    String digest,
    AuditOutcome outcome,
    Map<String, String> detail) {
  static final int NAME_LENGTH = 255;
  static final int ADDRESS_LENGTH = 64;
  static final int USER_AGENT_LENGTH = 512;
  static final int DIGEST_LENGTH = 160;
  private static final int DETAIL_ENTRIES = 32;
  private static final int DETAIL_KEY_LENGTH = 64;
  private static final int DETAIL_VALUE_LENGTH = 1024;
  /** {@link AuditLog#PULLS}: the pull writer keeps it within {@link AuditLog#PULLS_BUDGET}. */
  private static final int PULLS_LENGTH = 8192;

  private static final Set<String> SECRET_WORDS =
      Set.of("password", "secret", "token", "credential", "authorization", "key");
  private static final ObjectMapper JSON = new ObjectMapper();

  public AuditEvent {
    Objects.requireNonNull(time, "time");
    Objects.requireNonNull(actorType, "actorType");
    Objects.requireNonNull(action, "action");
    Objects.requireNonNull(outcome, "outcome");
    if (time.getNano() % 1_000_000 != 0) {
      time = Instant.ofEpochMilli(time.toEpochMilli());
    }
    actorName = cut(actorName, NAME_LENGTH);
    sourceAddress = cut(sourceAddress, ADDRESS_LENGTH);
    userAgent = cut(userAgent, USER_AGENT_LENGTH);
    project = cut(project, NAME_LENGTH);
    repository = cut(repository, NAME_LENGTH);
    reference = cut(reference, NAME_LENGTH);
    digest = cut(digest, DIGEST_LENGTH);
    if (detail == null || detail.isEmpty()) {
      detail = Map.of();
    } else {
      detail = sortedDetail(detail);
    }
  }

  private static Map<String, String> sortedDetail(Map<String, String> detail) {
    TreeMap<String, String> sorted = new TreeMap<>();
    if (detail.size() > DETAIL_ENTRIES) {
      throw new IllegalArgumentException(
          "audit detail has " + detail.size() + " entries, at most " + DETAIL_ENTRIES);
    }
    for (Map.Entry<String, String> entry : detail.entrySet()) {
      String name = Objects.requireNonNull(entry.getKey(), "detail key");
      if (name.isEmpty() || name.length() > DETAIL_KEY_LENGTH) {
        throw new IllegalArgumentException("audit detail keys must be 1 to 64 characters");
      }
      String lower = name.toLowerCase(Locale.ROOT);
      for (String word : SECRET_WORDS) {
        if (lower.contains(word)) {
          throw new IllegalArgumentException(
              "audit detail key '" + name + "' names a secret; secrets are never recorded");
        }
      }
      int length = name.equals(AuditLog.PULLS) ? PULLS_LENGTH : DETAIL_VALUE_LENGTH;
      sorted.put(name, cut(entry.getValue(), length));
    }
    return Collections.unmodifiableMap(sorted);
  }

  /** An event now, without source, resource or detail. */
  public static AuditEvent of(
      AuditAction action, ActorType actorType, String actorName, AuditOutcome outcome) {
    return new AuditEvent(
        Instant.now(), actorType, actorName, "", "", action, "", "", "", "", outcome, Map.of());
  }

  public AuditEvent withTime(Instant at) {
    return new AuditEvent(
        at,
        actorType,
        actorName,
        sourceAddress,
        userAgent,
        action,
        project,
        repository,
        reference,
        digest,
        outcome,
        detail);
  }

  /** The client: its address and {@code User-Agent}. */
  public AuditEvent withSource(String address, String agent) {
    return new AuditEvent(
        time,
        actorType,
        actorName,
        address,
        agent,
        action,
        project,
        repository,
        reference,
        digest,
        outcome,
        detail);
  }

  /** The resource; empty strings for the parts that do not apply. */
  public AuditEvent withResource(String inProject, String inRepository, String ref, String dig) {
    return new AuditEvent(
        time,
        actorType,
        actorName,
        sourceAddress,
        userAgent,
        action,
        inProject,
        inRepository,
        ref,
        dig,
        outcome,
        detail);
  }

  public AuditEvent withDetail(Map<String, String> facts) {
    return new AuditEvent(
        time,
        actorType,
        actorName,
        sourceAddress,
        userAgent,
        action,
        project,
        repository,
        reference,
        digest,
        outcome,
        facts);
  }

  /** {@code detail} as stored: a JSON object of strings, keys sorted, no spaces. */
  public String detailJson() {
    if (detail.isEmpty()) {
      return "{}";
    }
    try {
      return JSON.writeValueAsString(detail);
    } catch (JsonProcessingException e) {
      throw new IllegalStateException(e);
    }
  }

  static Map<String, String> parseDetail(String json) {
    try {
      Map<String, String> map = JSON.readValue(
          json, JSON.getTypeFactory().constructMapType(TreeMap.class, String.class, String.class));
      return map;
    } catch (JsonProcessingException e) {
      throw new IllegalStateException("audit detail is not a JSON object of strings: " + json, e);
    }
  }

  private static String cut(String value, int length) {
    if (value == null) {
      return "";
    }
    if (value.indexOf('\u0000') >= 0) {
      // PostgreSQL text cannot hold NUL, and a user name from a Basic header can contain one.
      value = value.replace('\u0000', '\uFFFD');
    }
    if (value.length() <= length) {
      return value;
    }
    // Never split a surrogate pair: the stored text must be valid UTF-16 to hash the same.
    int end = Character.isHighSurrogate(value.charAt(length - 1)) ? length - 1 : length;
    return value.substring(0, end);
  }
}
