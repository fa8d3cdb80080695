package dev.berth.auth;

import dev.berth.config.BerthConfig;
import dev.berth.oci.ErrorCode;
import dev.berth.oci.RegistryException;
import java.util.Hashtable;
import java.util.Locale;
import java.util.Optional;
import java.util.Set;
import java.util.TreeSet;
import javax.naming.AuthenticationException;
import javax.naming.Context;
import javax.naming.NamingEnumeration;
import javax.naming.NamingException;
import javax.naming.directory.Attribute;
import javax.naming.directory.DirContext;
import javax.naming.directory.InitialDirContext;
import javax.naming.directory.SearchControls;
import javax.naming.directory.SearchResult;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Checks a username and password against an LDAP directory or Active Directory ({@code
 * auth.ldap}), with the JDK's LDAP client (no extra dependency):
 *
 * <ol>
 *   <li>bind with the service account ({@code bind-dn}, or anonymously when it is empty) and
 *       search {@code user-base-dn} (subtree) with {@code user-filter}, the username given as a
 *       filter argument, so the client escapes it (RFC 4515): {@code *)(uid=*} matches nobody;
 *   <li>exactly one entry must match; bind as its DN with the password. An empty password is
 *       refused before any bind: LDAP servers treat a simple bind with a DN and no password as
 *       an anonymous bind that "succeeds";
 *   <li>with the service account, search {@code group-base-dn} with {@code group-filter}
 *       ({@code {0}} is the user's DN, {@code {1}} the username) and read each group's {@code
 *       group-name-attribute}.
 * </ol>
 *
 * Wrong credentials are an empty answer; a directory that cannot be reached, or refuses the
 * service account, is 503 {@code UNAVAILABLE} (not 401: the client should not conclude that the
 * password is wrong, and the login throttle does not count it).
 */
public final class LdapDirectory {
  private static final Logger log = LoggerFactory.getLogger(LdapDirectory.class);

  /**
   * A user found and authenticated.
   *
   * @param groups group names ({@code group-name-attribute})
   * @param admin whether one of its groups is {@code admin-group} (by name or DN); null when no
   *     admin group is configured
   */
  public record Entry(String dn, String email, Set<String> groups, Boolean admin) {}

  private final BerthConfig.LdapConfig config;

  public LdapDirectory(BerthConfig.LdapConfig config) {
    this.config = config;
  }

  /** The user's entry when the password is right; empty when the user or password is wrong. */
  public Optional<Entry> authenticate(String username, String password) {
    if (username == null || username.isEmpty() || password == null || password.isEmpty()) {
      return Optional.empty();
    }
    DirContext service = connect(config.bindDn(), config.bindPassword(), true);
    try {
      SearchControls users = controls(new String[] {"mail"});
      users.setCountLimit(2);
      String dn;
      String email = null;
      NamingEnumeration<SearchResult> found;
      try {
        found = service.search(
            config.userBaseDn(), config.userFilter(), new Object[] {username}, users);
      } catch (NamingException e) {
        throw unavailable("searching the user", e);
      }
      try {
        if (!hasMore(found)) {
          return Optional.empty();
        }
        SearchResult result = found.next();
        if (hasMore(found)) {
          log.warn("LDAP user-filter matches more than one entry for one name; login refused");
          return Optional.empty();
        }
        dn = result.getNameInNamespace();
        Attribute mail = result.getAttributes().get("mail");
        if (mail != null && mail.get() != null) {
          email = mail.get().toString();
        }
      } catch (javax.naming.SizeLimitExceededException e) {
        log.warn("LDAP user-filter matches more than one entry for one name; login refused");
        return Optional.empty();
      } catch (NamingException e) {
        throw unavailable("searching the user", e);
      }
      DirContext user = connect(dn, password, false);
      if (user == null) {
        return Optional.empty();
      }
      close(user);
      Set<String> groups = new TreeSet<>();
      Set<String> groupDns = new TreeSet<>(String.CASE_INSENSITIVE_ORDER);
      if (!config.groupBaseDn().isEmpty()) {
        try {
          NamingEnumeration<SearchResult> memberships = service.search(
              config.groupBaseDn(),
              config.groupFilter(),
              new Object[] {dn, username},
              controls(new String[] {config.groupNameAttribute()}));
          while (hasMore(memberships)) {
            SearchResult group = memberships.next();
            groupDns.add(group.getNameInNamespace());
            Attribute name = group.getAttributes().get(config.groupNameAttribute());
            if (name != null && name.get() != null) {
              groups.add(name.get().toString());
            }
          }
        } catch (NamingException e) {
          throw unavailable("searching the user's groups", e);
        }
      }
      Boolean admin = null;
      String adminGroup = config.adminGroup();
      if (adminGroup != null && !adminGroup.isEmpty()) {
        admin = groupDns.contains(adminGroup)
            || groups.stream().anyMatch(g -> g.equalsIgnoreCase(adminGroup));
      }
      return Optional.of(new Entry(dn, email, groups, admin));
    } finally {
      close(service);
    }
  }

  /**
   * Whether more results follow. Active Directory answers searches near the domain root with
   * referrals as well, which the client (told to ignore them) reports as a partial result at
   * the end: the entries before it are complete.
   */
  private static boolean hasMore(NamingEnumeration<SearchResult> results) throws NamingException {
    try {
      return results.hasMore();
    } catch (javax.naming.PartialResultException e) {
      return false;
    }
  }

  private SearchControls controls(String[] attributes) {
    SearchControls controls = new SearchControls();
    controls.setSearchScope(SearchControls.SUBTREE_SCOPE);
    controls.setReturningAttributes(attributes);
    controls.setTimeLimit((int) config.timeout().toMillis());
    return controls;
  }

  /**
   * A bound connection. For the service account any failure is 503; for a user, wrong
   * credentials are null.
   */
  private DirContext connect(String dn, String password, boolean service) {
    Hashtable<String, Object> env = new Hashtable<>();
    env.put(Context.INITIAL_CONTEXT_FACTORY, "com.sun.jndi.ldap.LdapCtxFactory");
    env.put(Context.PROVIDER_URL, config.url());
    env.put(Context.REFERRAL, "ignore");
    env.put("com.sun.jndi.ldap.connect.timeout", Long.toString(config.timeout().toMillis()));
    env.put("com.sun.jndi.ldap.read.timeout", Long.toString(config.timeout().toMillis()));
    if (dn == null || dn.isEmpty()) {
      env.put(Context.SECURITY_AUTHENTICATION, "none");
    } else {
      env.put(Context.SECURITY_AUTHENTICATION, "simple");
      env.put(Context.SECURITY_PRINCIPAL, dn);
      env.put(Context.SECURITY_CREDENTIALS, password == null ? "" : password);
    }
    try {
      return new InitialDirContext(env);
    } catch (AuthenticationException e) {
      if (service) {
        throw unavailable("binding as bind-dn (check auth.ldap.bind-dn and bind-password)", e);
      }
      return null;
    } catch (NamingException e) {
      throw unavailable("connecting", e);
    }
  }

  private RegistryException unavailable(String what, NamingException e) {
    log.warn(
        "LDAP directory {} failed while {}: {}",
        config.url(),
        what,
        e.toString().toLowerCase(Locale.ROOT).contains("password") ? e.getClass() : e.toString());
    return new RegistryException(
        ErrorCode.UNAVAILABLE,
        "the LDAP directory cannot be reached; try again later (local accounts still work)");
  }

  private static void close(DirContext context) {
    try {
      context.close();
    } catch (NamingException e) {
      // Nothing to do: the connection is dropped either way.
    }
  }
}
