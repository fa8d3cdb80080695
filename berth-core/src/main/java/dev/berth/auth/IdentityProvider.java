package dev.berth.auth;

import java.util.Locale;

/**
 * Where people's identities come from ({@code auth.provider}). Whatever the provider, the local
 * {@code admin} account and robot accounts authenticate against Berth's own database: {@code
 * admin} is the break-glass account when the provider is down or misconfigured.
 */
public enum IdentityProvider {
  /** Local users with Argon2id password hashes. */
  DATABASE,
  /** LDAP or Active Directory: passwords are checked by binding as the user. */
  LDAP,
  /** OpenID Connect for the browser; registry clients use a per-user CLI secret. */
  OIDC;

  /** The value of {@code auth.provider} and of a user's {@code source}. */
  public String value() {
    return name().toLowerCase(Locale.ROOT);
  }

  public static IdentityProvider parse(String value) {
    return IdentityProvider.valueOf(value.toUpperCase(Locale.ROOT));
  }
}
