package dev.berth.audit;

import java.time.Instant;
import java.util.Map;

/**
 * Who did something and from where, as every audit record names it: built once per request
 * (from the caller and the connection) and handed to the services that record.
 */
public record AuditActor(ActorType type, String name, String address, String userAgent) {
  /** Work Berth does by itself (garbage collection, retention). */
  public static final AuditActor SYSTEM = new AuditActor(ActorType.SYSTEM, "berth", "", "");

  public AuditActor {
    address = address == null ? "" : address;
    userAgent = userAgent == null ? "" : userAgent;
  }

  /** An event by this actor, with its source filled in. */
  public AuditEvent event(AuditAction action, AuditOutcome outcome) {
    return AuditEvent.of(action, type, name, outcome).withSource(address, userAgent);
  }

  /** An event on a resource ({@code ""} for the parts that do not apply). */
  public AuditEvent event(
      AuditAction action,
      AuditOutcome outcome,
      String project,
      String repository,
      String reference,
      String digest) {
    return event(Instant.now(), action, outcome, project, repository, reference, digest);
  }

  /** An event on a resource at a given time ({@code ""} for the parts that do not apply). */
  public AuditEvent event(
      Instant time,
      AuditAction action,
      AuditOutcome outcome,
      String project,
      String repository,
      String reference,
      String digest) {
    return new AuditEvent(
        time,
        type,
        name,
        address,
        userAgent,
        action,
        project,
        repository,
        reference,
        digest,
        outcome,
        Map.of());
  }

  /** An event with facts ({@code detail}); never a password or secret. */
  public AuditEvent event(AuditAction action, AuditOutcome outcome, Map<String, String> detail) {
    return event(action, outcome).withDetail(detail);
  }
}
