package dev.berth.audit;

import java.util.Optional;

/**
 * What was done. The {@link #label} is what the database, the query API, the exports and syslog
 * use; it is part of the hashed canonical form, so a label never changes once released.
 */
public enum AuditAction {
  MANIFEST_PUSH("manifest.push"),
  MANIFEST_PULL("manifest.pull"),
  MANIFEST_DELETE("manifest.delete"),
  TAG_DELETE("tag.delete"),
  REPOSITORY_DELETE("repository.delete"),
  PROJECT_CREATE("project.create"),
  PROJECT_UPDATE("project.update"),
  PROJECT_DELETE("project.delete"),
  /** A login; the outcome says whether it succeeded. */
  LOGIN("login"),
  /** The end of a browser session by its user. */
  LOGOUT("logout"),
  /** A token issued with push access. */
  TOKEN_ISSUE("token.issue"),
  USER_CREATE("user.create"),
  USER_UPDATE("user.update"),
  USER_DELETE("user.delete"),
  ROBOT_CREATE("robot.create"),
  ROBOT_UPDATE("robot.update"),
  ROBOT_DELETE("robot.delete"),
  MEMBER_ADD("member.add"),
  MEMBER_UPDATE("member.update"),
  MEMBER_REMOVE("member.remove"),
  SETTING_UPDATE("setting.update"),
  /** The retention job deleted old records. */
  AUDIT_PURGE("audit.purge");

  private final String label;

  AuditAction(String label) {
    this.label = label;
  }

  public String label() {
    return label;
  }

  /** The action with this label, if any. */
  public static Optional<AuditAction> fromLabel(String label) {
    for (AuditAction action : values()) {
      if (action.label.equals(label)) {
        return Optional.of(action);
      }
    }
    return Optional.empty();
  }
}
