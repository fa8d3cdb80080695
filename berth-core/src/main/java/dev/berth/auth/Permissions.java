package dev.berth.auth;

import static dev.berth.auth.Action.CREATE_REPOSITORY;
import static dev.berth.auth.Action.DELETE_ARTIFACT;
import static dev.berth.auth.Action.DELETE_REPOSITORY;
import static dev.berth.auth.Action.DELETE_TAG;
import static dev.berth.auth.Action.MANAGE_POLICIES;
import static dev.berth.auth.Action.PULL;
import static dev.berth.auth.Action.PUSH;
import static dev.berth.auth.Action.READ_AUDIT;
import static dev.berth.auth.Action.SCAN;

import java.util.EnumSet;
import java.util.Map;
import java.util.Set;

/**
 * The permission matrix, role × action, as data in one place. It follows Harbor's table "User
 * Permissions By Role" (Limited Guest pulls only and sees no logs; Guest reads; Developer pushes
 * and creates repositories; Maintainer also deletes, scans and edits policies; Project Admin also
 * manages members and robot accounts). A system administrator may do everything everywhere; a
 * public project lets everyone, anonymous included, pull.
 */
public final class Permissions {
  private static final Map<Role, Set<Action>> MATRIX = Map.of(
      Role.LIMITED_GUEST, EnumSet.of(PULL),
      Role.GUEST, EnumSet.of(PULL, READ_AUDIT),
      Role.DEVELOPER, EnumSet.of(PULL, PUSH, CREATE_REPOSITORY, READ_AUDIT),
      Role.MAINTAINER,
          EnumSet.of(
              PULL,
              PUSH,
              CREATE_REPOSITORY,
              READ_AUDIT,
              DELETE_ARTIFACT,
              DELETE_TAG,
              DELETE_REPOSITORY,
              MANAGE_POLICIES,
              SCAN),
      Role.PROJECT_ADMIN, EnumSet.allOf(Action.class));

  private Permissions() {}

  /** Whether a member with this role may do this. */
  public static boolean allows(Role role, Action action) {
    return MATRIX.get(role).contains(action);
  }

  /** Everything a role may do. */
  public static Set<Action> of(Role role) {
    return EnumSet.copyOf(MATRIX.get(role));
  }
}
