package dev.berth.auth;

import dev.berth.metadata.Database;
import dev.berth.oci.ErrorCode;
import dev.berth.oci.RegistryException;
import java.security.SecureRandom;
import java.util.Locale;
import java.util.Optional;
import java.util.Set;
import java.util.regex.Pattern;

/**
 * Users of an external identity provider (LDAP, OIDC) in Berth's {@code users} table: created
 * or updated at each login with the provider as their {@code source} and no password hash, so
 * that project members, tokens and the audit log treat them as local users. Their groups and
 * (OIDC) CLI secret live in {@code user_identities}.
 *
 * <p>A login never takes over an account of another source: a provider that returns {@code
 * admin}, or the name of a local user or robot, is refused (the break-glass account must stay
 * Berth's own).
 */
public final class ExternalUserService {
  /** Names as registry clients can send them: no ':' (Basic), no control characters. */
  private static final Pattern NAME = Pattern.compile("[a-z0-9][a-z0-9._@+-]{0,254}");

  private static final String SECRET_ALPHABET =
      "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789";

  /** A user just logged in; {@code cliSecret} is set when one was made now (shown once). */
  public record Login(Principal.User principal, long credentialVersion, String cliSecret) {}

  private final Database database;
  private final UserDao users;
  private final UserIdentityDao identities;
  private final PasswordHasher hasher;
  private final SecureRandom random = new SecureRandom();

  public ExternalUserService(
      Database database, UserDao users, UserIdentityDao identities, PasswordHasher hasher) {
    this.database = database;
    this.users = users;
    this.identities = identities;
    this.hasher = hasher;
  }

  /** The name a provider's user gets in Berth (lower case), or empty when it cannot be one. */
  public static Optional<String> username(String name) {
    if (name == null) {
      return Optional.empty();
    }
    String lower = name.toLowerCase(Locale.ROOT);
    return NAME.matcher(lower).matches() && !lower.equals(IdentityBootstrap.ADMIN)
        ? Optional.of(lower)
        : Optional.empty();
  }

  /**
   * Creates or updates the user after a successful login at the provider.
   *
   * @param admin the administrator flag from the provider's admin group; null keeps the flag
   *     as it is (no admin group configured: administrators are made in Berth)
   * @param newCliSecret whether to make a new CLI secret (OIDC: at the first login, or when
   *     asked)
   * @return empty when the name belongs to an account of another source or the user is
   *     disabled in Berth
   */
  public Optional<Login> login(
      IdentityProvider provider,
      String username,
      String externalId,
      String email,
      Set<String> groups,
      Boolean admin,
      boolean newCliSecret) {
    String secret = newCliSecret ? secret() : null;
    String secretHash = secret == null ? null : hasher.hash(secret);
    return database.write(c -> {
      Optional<UserDao.UserRow> existing = users.find(c, username);
      if (existing.isPresent()
          && (!existing.get().source().equals(provider.value())
              || existing.get().disabled())) {
        return Optional.<Login>empty();
      }
      long id = existing.isPresent()
          ? existing.get().id()
          : users.insert(c, username, null, email, admin != null && admin, provider.value());
      if (existing.isPresent() && admin != null && existing.get().admin() != admin) {
        users.setAdmin(c, id, admin);
      }
      identities.put(c, id, externalId, groups);
      if (secretHash != null) {
        identities.setCliSecret(c, id, secretHash);
      }
      UserDao.UserRow row = users.find(c, id).orElseThrow();
      return Optional.of(new Login(
          new Principal.User(row.id(), row.username(), row.admin(), groups),
          row.credentialVersion(),
          secret));
    });
  }

  /** Whether an OIDC user has a CLI secret already. */
  public boolean hasCliSecret(String username) {
    return database.read(c -> {
      Optional<UserDao.UserRow> row = users.find(c, username);
      return row.isPresent()
          && identities
              .find(c, row.get().id())
              .map(identity -> identity.cliSecretHash() != null)
              .orElse(false);
    });
  }

  /** A new CLI secret for an OIDC user, shown this once; the old one stops working at once. */
  public String rotateCliSecret(String username) {
    String secret = secret();
    String hash = hasher.hash(secret);
    boolean done = database.write(c -> {
      Optional<UserDao.UserRow> row = users.find(c, username);
      if (row.isEmpty() || !row.get().source().equals(IdentityProvider.OIDC.value())) {
        return false;
      }
      return identities.setCliSecret(c, row.get().id(), hash);
    });
    if (!done) {
      throw new RegistryException(
          ErrorCode.INVALID_REQUEST,
          "only users who log in with OIDC have a CLI secret; others use their password");
    }
    return secret;
  }

  private String secret() {
    StringBuilder secret = new StringBuilder(32);
    for (int i = 0; i < 32; i++) {
      secret.append(SECRET_ALPHABET.charAt(random.nextInt(SECRET_ALPHABET.length())));
    }
    return secret.toString();
  }
}
