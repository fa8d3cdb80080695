package dev.berth.auth;

import java.util.Map;
import java.util.Set;

/** Who is calling: a user, a robot account or nobody. */
public sealed interface Principal {
  /** The name recorded in tokens and the audit log. */
  String name();

  /**
   * A person: a local user, or one from OIDC/LDAP.
   *
   * @param admin a system administrator, who may do everything
   * @param groups group names from the identity provider (members can be groups)
   */
  record User(long id, String name, boolean admin, Set<String> groups) implements Principal {
    public User {
      groups = Set.copyOf(groups);
    }
  }

  /**
   * A robot account ({@code robot$…}) with an explicit permission list per project; the project
   * {@code *} stands for every project (system-level robots).
   */
  record Robot(long id, String name, Map<String, Set<Action>> permissions) implements Principal {
    public Robot {
      permissions = Map.copyOf(permissions);
    }

    public Set<Action> in(String project) {
      Set<Action> all = permissions.getOrDefault("*", Set.of());
      Set<Action> here = permissions.getOrDefault(project, Set.of());
      if (all.isEmpty()) {
        return here;
      }
      java.util.EnumSet<Action> union = java.util.EnumSet.noneOf(Action.class);
      union.addAll(all);
      union.addAll(here);
      return union;
    }
  }

  /** No credentials. */
  record Anonymous() implements Principal {
    @Override
    public String name() {
      return "anonymous";
    }
  }

  Principal ANONYMOUS = new Anonymous();
}
