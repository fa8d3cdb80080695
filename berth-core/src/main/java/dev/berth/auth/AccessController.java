package dev.berth.auth;

import dev.berth.settings.SystemSettings;
import java.sql.Connection;
import java.sql.SQLException;
import java.util.EnumSet;
import java.util.Optional;
import java.util.Set;

/**
 * Decides what a principal may do in a project, from the permission matrix ({@link
 * Permissions}), the project's members and visibility, and robot permission lists. Everything is
 * read from the metadata database on each decision, so a change of role or visibility counts on
 * every node as soon as it commits.
 */
public final class AccessController {
  private final ProjectDao projects;
  private final SystemSettings settings;

  /** @param settings says whether every user may create projects (else admins only) */
  public AccessController(ProjectDao projects, SystemSettings settings) {
    this.projects = projects;
    this.settings = settings;
  }

  /**
   * Whether {@code principal} may take {@code action} in {@code project}: {@link #allowed}, except
   * that a pull from a public project, which everyone may do, is answered from the project's row
   * alone (no membership read: the path every anonymous and most authenticated pulls take).
   */
  public boolean allows(Connection c, Principal principal, String project, Action action)
      throws SQLException {
    Optional<ProjectDao.ProjectRow> row = projects.find(c, project);
    if (action == Action.PULL && row.isPresent() && row.get().isPublic()) {
      return true;
    }
    return allowed(c, principal, project, row).contains(action);
  }

  /**
   * What {@code principal} may do in {@code project}. In a project that does not exist: push
   * and create-repository for those who may create projects (the push creates it), else nothing.
   */
  public Set<Action> allowed(Connection c, Principal principal, String project)
      throws SQLException {
    return allowed(c, principal, project, projects.find(c, project));
  }

  private Set<Action> allowed(
      Connection c, Principal principal, String project, Optional<ProjectDao.ProjectRow> row)
      throws SQLException {
    if (row.isEmpty()) {
      return mayCreateProjects(c, principal)
          ? EnumSet.of(Action.PUSH, Action.CREATE_REPOSITORY, Action.PULL)
          : EnumSet.noneOf(Action.class);
    }
    EnumSet<Action> allowed = EnumSet.noneOf(Action.class);
    if (row.get().isPublic()) {
      allowed.add(Action.PULL);
    }
    switch (principal) {
      case Principal.User user -> {
        if (user.admin()) {
          return EnumSet.allOf(Action.class);
        }
        for (Role role : projects.roles(c, row.get().id(), user.name(), user.groups())) {
          allowed.addAll(Permissions.of(role));
        }
      }
      case Principal.Robot robot -> allowed.addAll(robot.in(project));
      case Principal.Anonymous anonymous -> {}
    }
    return allowed;
  }

  /** Whether the principal may create a project (by pushing into it, or through the API). */
  public boolean mayCreateProjects(Principal principal) {
    return principal instanceof Principal.User
        && settings.database().read(c -> mayCreateProjects(c, principal));
  }

  /** The same, on a connection (the setting is read from the database: it may change at runtime). */
  public boolean mayCreateProjects(Connection c, Principal principal) throws SQLException {
    return switch (principal) {
      case Principal.User user -> user.admin() || settings.usersCreateProjects(c);
      case Principal.Robot robot -> false;
      case Principal.Anonymous anonymous -> false;
    };
  }

  /** Whether the principal is a system administrator. */
  public static boolean isAdmin(Principal principal) {
    return principal instanceof Principal.User user && user.admin();
  }
}
