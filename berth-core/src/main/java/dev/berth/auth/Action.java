package dev.berth.auth;

import java.util.Optional;

/**
 * What a caller may do in a project. The first three are the actions of the registry token
 * protocol's {@code repository:<name>:<actions>} scope ({@code pull}, {@code push}, {@code
 * delete}); the others are management actions.
 */
public enum Action {
  PULL("pull"),
  PUSH("push"),
  DELETE_ARTIFACT("delete"),
  DELETE_TAG("delete-tag"),
  CREATE_REPOSITORY("create-repository"),
  DELETE_REPOSITORY("delete-repository"),
  MANAGE_MEMBERS("manage-members"),
  MANAGE_ROBOTS("manage-robots"),
  MANAGE_POLICIES("manage-policies"),
  READ_AUDIT("read-audit"),
  SCAN("scan");

  private final String value;

  Action(String value) {
    this.value = value;
  }

  /** The name in scopes, robot permission lists and the API. */
  public String value() {
    return value;
  }

  public static Optional<Action> parse(String value) {
    for (Action action : values()) {
      if (action.value.equals(value)) {
        return Optional.of(action);
      }
    }
    return Optional.empty();
  }
}
