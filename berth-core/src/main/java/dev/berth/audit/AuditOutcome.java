package dev.berth.audit;

import java.util.Optional;

/** How an operation ended; {@link #label} is the stored and hashed spelling. */
public enum AuditOutcome {
  SUCCESS("success"),
  /** It failed: a wrong password, a manifest rejected, an error. */
  FAILURE("failure"),
  /** Authorization refused it. */
  DENIED("denied");

  private final String label;

  AuditOutcome(String label) {
    this.label = label;
  }

  public String label() {
    return label;
  }

  public static Optional<AuditOutcome> fromLabel(String label) {
    for (AuditOutcome outcome : values()) {
      if (outcome.label.equals(label)) {
        return Optional.of(outcome);
      }
    }
    return Optional.empty();
  }
}
