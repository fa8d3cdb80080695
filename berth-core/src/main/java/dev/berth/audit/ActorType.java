package dev.berth.audit;

import java.util.Optional;

/** Who acted: a user, a robot account, an unauthenticated client, or Berth itself (jobs). */
public enum ActorType {
  USER("user"),
  ROBOT("robot"),
  ANONYMOUS("anonymous"),
  SYSTEM("system");

  private final String label;

  ActorType(String label) {
    this.label = label;
  }

  public String label() {
    return label;
  }

  public static Optional<ActorType> fromLabel(String label) {
    for (ActorType type : values()) {
      if (type.label.equals(label)) {
        return Optional.of(type);
      }
    }
    return Optional.empty();
  }
}
