package dev.berth.audit;

import java.time.Instant;
import java.util.Objects;
import java.util.Optional;

/**
 * Which records a query returns; every part is optional and they combine with AND. Start from
 * {@link #ALL}. Text filters match exactly; the values only ever reach SQL as bound parameters.
 *
 * @param from records at or after this time
 * @param to records before this time
 * @param actor the actor's name
 */
public record AuditFilter(
    Optional<Instant> from,
    Optional<Instant> to,
    Optional<String> actor,
    Optional<String> project,
    Optional<String> repository,
    Optional<AuditAction> action,
    Optional<AuditOutcome> outcome) {
  public static final AuditFilter ALL = new AuditFilter(
      Optional.empty(),
      Optional.empty(),
      Optional.empty(),
      Optional.empty(),
      Optional.empty(),
      Optional.empty(),
      Optional.empty());

  public AuditFilter {
    Objects.requireNonNull(from, "from");
    Objects.requireNonNull(to, "to");
    Objects.requireNonNull(actor, "actor");
    Objects.requireNonNull(project, "project");
    Objects.requireNonNull(repository, "repository");
    Objects.requireNonNull(action, "action");
    Objects.requireNonNull(outcome, "outcome");
  }

  public AuditFilter withFrom(Instant time) {
    return new AuditFilter(Optional.of(time), to, actor, project, repository, action, outcome);
  }

  public AuditFilter withTo(Instant time) {
    return new AuditFilter(from, Optional.of(time), actor, project, repository, action, outcome);
  }

  public AuditFilter withActor(String name) {
    return new AuditFilter(from, to, Optional.of(name), project, repository, action, outcome);
  }

  public AuditFilter withProject(String name) {
    return new AuditFilter(from, to, actor, Optional.of(name), repository, action, outcome);
  }

  public AuditFilter withRepository(String name) {
    return new AuditFilter(from, to, actor, project, Optional.of(name), action, outcome);
  }

  public AuditFilter withAction(AuditAction value) {
    return new AuditFilter(from, to, actor, project, repository, Optional.of(value), outcome);
  }

  public AuditFilter withOutcome(AuditOutcome value) {
    return new AuditFilter(from, to, actor, project, repository, action, Optional.of(value));
  }
}
