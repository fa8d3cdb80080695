package dev.berth.auth;

import static org.assertj.core.api.Assertions.assertThat;

import java.util.EnumSet;
import java.util.Map;
import java.util.Set;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.EnumSource;

/**
 * Every cell of the role × action matrix, against Harbor's table written out independently here
 * (a copy of {@link Permissions} would test nothing).
 */
class PermissionsTest {
  private static final Map<Role, Set<Action>> EXPECTED = Map.of(
      Role.LIMITED_GUEST, EnumSet.of(Action.PULL),
      Role.GUEST, EnumSet.of(Action.PULL, Action.READ_AUDIT),
      Role.DEVELOPER,
          EnumSet.of(Action.PULL, Action.PUSH, Action.CREATE_REPOSITORY, Action.READ_AUDIT),
      Role.MAINTAINER,
          EnumSet.complementOf(EnumSet.of(Action.MANAGE_MEMBERS, Action.MANAGE_ROBOTS)),
      Role.PROJECT_ADMIN, EnumSet.allOf(Action.class));

  @ParameterizedTest
  @EnumSource(Role.class)
  void everyCellOfTheMatrix(Role role) {
    for (Action action : Action.values()) {
      assertThat(Permissions.allows(role, action))
          .as("%s may %s", role, action)
          .isEqualTo(EXPECTED.get(role).contains(action));
    }
  }

  @ParameterizedTest
  @EnumSource(Role.class)
  void rolesAreOrdered(Role role) {
    for (Role lower : Role.values()) {
      if (lower.ordinal() < role.ordinal()) {
        assertThat(Permissions.of(role)).containsAll(Permissions.of(lower));
      }
    }
  }
}
