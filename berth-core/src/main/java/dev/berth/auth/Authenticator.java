package dev.berth.auth;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import dev.berth.audit.ActorType;
import dev.berth.audit.AuditAction;
import dev.berth.audit.AuditActor;
import dev.berth.audit.AuditLog;
import dev.berth.audit.AuditOutcome;
import dev.berth.metadata.Database;
import java.nio.charset.StandardCharsets;
import java.security.GeneralSecurityException;
import java.security.SecureRandom;
import java.time.Clock;
import java.time.Duration;
import java.util.Base64;
import java.util.Map;
import java.util.Optional;
import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;
import javax.crypto.Mac;
import javax.crypto.spec.SecretKeySpec;

/**
 * Turns credentials into a {@link Principal}. A password hash costs tens of milliseconds by
 * design, so a verified username/password pair is remembered for {@link #REMEMBER}: keyed by an
 * HMAC of the pair under a key that lives only in this process (the table never holds a
 * password), together with the user's credential version and the account row as read then. The
 * row is read again only when accounts may have changed since: any change to a user, robot,
 * external identity or project bumps {@link Database#accountsVersion} on every node (SQLite: at
 * the commit; PostgreSQL: at the commit on the node that made it, by {@code NOTIFY} on the others,
 * and while that listener is disconnected the row is read on every request). So a password
 * change, a disabled account or a changed admin flag counts at once on the node that made it and
 * within a notification's delay on the others, and a request with remembered credentials reads
 * nothing.
 *
 * <p>With an external identity provider ({@code auth.provider}, decision 014): {@code ldap}
 * users' passwords are checked by the directory ({@link LdapDirectory}) and remembered in the
 * same way, so a client's stream of requests binds once per {@link #REMEMBER}; {@code oidc}
 * users authenticate with their CLI secret (an Argon2id hash like a password) and with nothing
 * else. The local {@code admin} and robot accounts use the database whatever the provider; other
 * local users only with the {@code database} provider.
 */
public final class Authenticator {
  static final Duration REMEMBER = Duration.ofMinutes(2);
  private static final int MAX_REMEMBERED = 10_000;

  /** A Basic {@code Authorization} header's content. */
  public record Credentials(String username, String password) {
    public static Optional<Credentials> fromBasic(String header) {
      if (header == null || !header.regionMatches(true, 0, "Basic ", 0, 6)) {
        return Optional.empty();
      }
      try {
        String decoded = new String(
            Base64.getDecoder().decode(header.substring(6).trim()), StandardCharsets.UTF_8);
        int colon = decoded.indexOf(':');
        if (colon <= 0) {
          return Optional.empty();
        }
        return Optional.of(
            new Credentials(decoded.substring(0, colon), decoded.substring(colon + 1)));
      } catch (IllegalArgumentException e) {
        return Optional.empty();
      }
    }

    @Override
    public String toString() {
      return "Credentials[" + username + "]";
    }
  }

  /**
   * A verified password: whose, at which credential version, until when; and for database and
   * robot accounts the account row as read then, with the {@link Database#accountsVersion} read
   * before it, so that while no account changed anywhere the row need not be read again.
   */
  private record Remembered(
      long accountId, long credentialVersion, long expiresAt, Account account, long version) {
    /** Verified before, with the row read at {@code current}: no account changed since. */
    boolean current(long current, long now) {
      return account != null && current >= 0 && version == current && expiresAt > now;
    }

    /** Verified before for this very row (same account, same credentials), still in time. */
    boolean verifies(Account row, long now) {
      return accountId == row.id()
          && credentialVersion == row.credentialVersion()
          && expiresAt > now;
    }

    /** The same verification, kept with the row as read at {@code current}. */
    Remembered with(Account row, long current) {
      return new Remembered(accountId, credentialVersion, expiresAt, row, current);
    }
  }

  /**
   * A user or robot row as far as checking its credentials goes; {@code passwordHash} is an OIDC
   * user's CLI secret hash.
   */
  private record Account(
      long id,
      String passwordHash,
      boolean usable,
      long credentialVersion,
      Principal principal,
      String source,
      long usableUntil) {}

  public static final String ROBOT_PREFIX = "robot$";

  private final Database database;
  private final UserDao users;
  private final RobotDao robots;
  private final PasswordHasher hasher;
  private final ObjectMapper json;
  private final Clock clock;
  private final LoginThrottle throttle;
  private final AuditLog audit;
  private final IdentityProvider provider;
  private final LdapDirectory ldap;
  private final ExternalUserService externalUsers;
  private final UserIdentityDao identities = new UserIdentityDao();
  private final byte[] rememberKey = new byte[32];
  /** HMAC-SHA256 keyed with {@link #rememberKey}; only ever cloned, never used itself. */
  private final Mac rememberMac;

  private final Map<String, Remembered> remembered = new ConcurrentHashMap<>();

  public Authenticator(
      Database database,
      UserDao users,
      RobotDao robots,
      PasswordHasher hasher,
      ObjectMapper json,
      LoginThrottle throttle,
      AuditLog audit,
      Clock clock) {
    this(
        database,
        users,
        robots,
        hasher,
        json,
        throttle,
        audit,
        clock,
        IdentityProvider.DATABASE,
        null,
        null);
  }

  /**
   * @param ldap the directory, with {@link IdentityProvider#LDAP}
   * @param externalUsers records LDAP users at login, with {@link IdentityProvider#LDAP}
   */
  public Authenticator(
      Database database,
      UserDao users,
      RobotDao robots,
      PasswordHasher hasher,
      ObjectMapper json,
      LoginThrottle throttle,
      AuditLog audit,
      Clock clock,
      IdentityProvider provider,
      LdapDirectory ldap,
      ExternalUserService externalUsers) {
    this.provider = provider;
    this.ldap = ldap;
    this.externalUsers = externalUsers;
    this.throttle = throttle;
    this.audit = audit;
    this.database = database;
    this.users = users;
    this.robots = robots;
    this.hasher = hasher;
    this.json = json;
    this.clock = clock;
    new SecureRandom().nextBytes(rememberKey);
    try {
      rememberMac = Mac.getInstance("HmacSHA256");
      rememberMac.init(new SecretKeySpec(rememberKey, "HmacSHA256"));
    } catch (GeneralSecurityException e) {
      throw new IllegalStateException(e);
    }
  }

  /**
   * The user or robot account ({@code robot$…}) these credentials belong to; empty when they are
   * wrong, or the account is disabled or expired. Failures are throttled per user and source
   * address ({@link LoginThrottle}: slower, then 429).
   */
  public Optional<Principal> authenticate(
      Credentials credentials, String address, String userAgent) {
    return authenticate(credentials, address, userAgent, Map.of());
  }

  /**
   * The same, for a login that is audited whether or not the password was verified a moment ago
   * (a browser session's login, {@link SessionService}); {@code detail} goes into the audit
   * record of the success or failure.
   */
  Optional<Principal> login(
      Credentials credentials, String address, String userAgent, Map<String, String> detail) {
    return authenticate(credentials, address, userAgent, detail);
  }

  private Optional<Principal> authenticate(
      Credentials credentials, String address, String userAgent, Map<String, String> detail) {
    throttle.beforeAttempt(credentials.username(), address);
    boolean[] fresh = new boolean[1];
    Optional<Principal> principal = check(credentials, fresh);
    AuditActor actor = new AuditActor(
        credentials.username().startsWith(ROBOT_PREFIX) ? ActorType.ROBOT : ActorType.USER,
        credentials.username(),
        address,
        userAgent);
    if (principal.isPresent()) {
      throttle.succeeded(credentials.username(), address);
      // A login is a verification of the password; requests that reuse a remembered one are not.
      if (fresh[0] || !detail.isEmpty()) {
        audit.record(actor.event(AuditAction.LOGIN, AuditOutcome.SUCCESS, detail));
      }
    } else {
      throttle.failed(credentials.username(), address);
      audit.record(actor.event(AuditAction.LOGIN, AuditOutcome.FAILURE, detail));
    }
    return principal;
  }

  private Optional<Principal> check(Credentials credentials, boolean[] fresh) {
    if (credentials.username().length() > 255 || credentials.password().length() > 1024) {
      return Optional.empty();
    }
    if (provider == IdentityProvider.LDAP && !local(credentials.username())) {
      return checkLdap(credentials, fresh);
    }
    String key = rememberKey(credentials);
    long now = clock.millis();
    // Read before the row: a change committed after this read makes the entry stale at once.
    long version = database.accountsVersion();
    Remembered hit = remembered.get(key);
    if (hit != null && hit.current(version, now)) {
      // Verified before, and no account changed on any node since the row was read.
      return Optional.of(hit.account().principal());
    }
    Optional<Account> found = account(credentials.username());
    if (found.isEmpty()
        || !found.get().usable()
        || found.get().passwordHash() == null
        || !allowed(found.get())) {
      // Spend the time of a real check, so timing does not tell which names exist.
      hasher.verify(credentials.password(), DUMMY_HASH);
      return Optional.empty();
    }
    Account account = found.get();
    if (hit != null && hit.verifies(account, now)) {
      remembered.put(key, hit.with(account, version));
      return Optional.of(account.principal());
    }
    if (!hasher.verify(credentials.password(), account.passwordHash())) {
      return Optional.empty();
    }
    fresh[0] = true;
    remember(key, account, version, now);
    return Optional.of(account.principal());
  }

  /**
   * An LDAP user: a remembered verification while the row is unchanged (kept with the row, read
   * again only after an account changed, as for database users), else a bind at the directory
   * (503 when it cannot be reached), after which the row and groups are updated.
   */
  private Optional<Principal> checkLdap(Credentials credentials, boolean[] fresh) {
    Optional<String> name = ExternalUserService.username(credentials.username());
    if (name.isEmpty() || credentials.password().isEmpty()) {
      return Optional.empty();
    }
    String key = rememberKey(new Credentials(name.get(), credentials.password()));
    long now = clock.millis();
    // As for database users (decision 018): the row is read again only after an account changed.
    long version = database.accountsVersion();
    Remembered hit = remembered.get(key);
    if (hit != null && hit.current(version, now)) {
      return Optional.of(hit.account().principal());
    }
    Optional<Account> found = account(name.get());
    if (hit != null
        && found.isPresent()
        && found.get().usable()
        && allowed(found.get())
        && hit.verifies(found.get(), now)) {
      remembered.put(key, hit.with(found.get(), version));
      return Optional.of(found.get().principal());
    }
    if (found.isPresent() && (!found.get().usable() || !allowed(found.get()))) {
      return Optional.empty();
    }
    Optional<LdapDirectory.Entry> entry = ldap.authenticate(name.get(), credentials.password());
    if (entry.isEmpty()) {
      return Optional.empty();
    }
    Optional<ExternalUserService.Login> login = externalUsers.login(
        IdentityProvider.LDAP,
        name.get(),
        entry.get().dn(),
        entry.get().email(),
        entry.get().groups(),
        entry.get().admin(),
        false);
    login.ifPresent(done ->
        remember(key, done.principal().id(), done.credentialVersion(), clock.millis(), null, -1));
    fresh[0] = login.isPresent();
    return login.map(done -> done.principal());
  }

  /** Remembers a database or robot account's verified password with its row (see above). */
  private void remember(String key, Account account, long version, long now) {
    remember(key, account.id(), account.credentialVersion(), now, account, version);
  }

  private void remember(
      String key, long accountId, long credentialVersion, long now, Account account, long version) {
    if (remembered.size() >= MAX_REMEMBERED) {
      remembered.entrySet().removeIf(entry -> entry.getValue().expiresAt() <= now);
      if (remembered.size() >= MAX_REMEMBERED) {
        remembered.clear();
      }
    }
    // A robot account that expires sooner is not remembered past its expiry.
    long until = Math.min(
        now + REMEMBER.toMillis(), account == null ? Long.MAX_VALUE : account.usableUntil());
    remembered.put(key, new Remembered(accountId, credentialVersion, until, account, version));
  }

  /** Accounts that authenticate against the database whatever the provider. */
  private static boolean local(String name) {
    return name.equals(IdentityBootstrap.ADMIN) || name.startsWith(ROBOT_PREFIX);
  }

  /** Whether the account may log in with the configured provider. */
  private boolean allowed(Account account) {
    return account.source() == null
        || account.principal().name().equals(IdentityBootstrap.ADMIN)
        || account.source().equals(provider.value());
  }

  /** The principal a token's subject names, if the account still exists and is usable. */
  public Optional<Principal> bySubject(String subject) {
    return account(subject)
        .filter(account -> account.usable() && allowed(account))
        .map(Account::principal);
  }

  /** The credential version of a usable account (refresh tokens carry it). */
  public Optional<Long> credentialVersion(String subject) {
    return account(subject)
        .filter(account -> account.usable() && allowed(account))
        .map(Account::credentialVersion);
  }

  public Optional<UserDao.UserRow> user(String username) {
    return database.read(c -> users.find(c, username));
  }

  private Optional<Account> account(String name) {
    if (name.startsWith(ROBOT_PREFIX)) {
      return database
          .read(c -> robots.find(c, name))
          .map(robot -> new Account(
              robot.id(),
              robot.secretHash(),
              !robot.disabled()
                  && (robot.expiresAt() == null || robot.expiresAt() > clock.millis()),
              robot.credentialVersion(),
              new Principal.Robot(robot.id(), robot.name(), permissions(robot.permissions())),
              null,
              robot.expiresAt() == null ? Long.MAX_VALUE : robot.expiresAt()));
    }
    return database.read(c -> {
      Optional<UserDao.UserRow> found = users.find(c, name);
      if (found.isEmpty()) {
        return Optional.<Account>empty();
      }
      UserDao.UserRow user = found.get();
      String hash = user.passwordHash();
      Principal principal = principal(user);
      if (!user.source().equals(IdentityProvider.DATABASE.value())) {
        // An external user: its groups as of the last login; an OIDC user's CLI secret.
        Optional<UserIdentityDao.IdentityRow> identity = identities.find(c, user.id());
        hash = identity.map(UserIdentityDao.IdentityRow::cliSecretHash).orElse(null);
        principal = new Principal.User(
            user.id(),
            user.username(),
            user.admin(),
            identity.map(UserIdentityDao.IdentityRow::groups).orElse(Set.of()));
      }
      return Optional.of(new Account(
          user.id(),
          hash,
          !user.disabled(),
          user.credentialVersion(),
          principal,
          user.source(),
          Long.MAX_VALUE));
    });
  }

  /** A robot's permission list: {@code {"<project or *>": ["pull", …]}}; unknown actions dropped. */
  Map<String, Set<Action>> permissions(String text) {
    Map<String, Set<Action>> permissions = new java.util.HashMap<>();
    try {
      JsonNode root = json.readTree(text);
      root.fields().forEachRemaining(entry -> {
        java.util.EnumSet<Action> actions = java.util.EnumSet.noneOf(Action.class);
        entry.getValue().forEach(action -> Action.parse(action.asText()).ifPresent(actions::add));
        permissions.put(entry.getKey(), actions);
      });
    } catch (java.io.IOException | RuntimeException e) {
      return Map.of();
    }
    return permissions;
  }

  static Principal principal(UserDao.UserRow user) {
    return new Principal.User(user.id(), user.username(), user.admin(), Set.of());
  }

  private String rememberKey(Credentials credentials) {
    try {
      // A copy of a keyed prototype: Mac.getInstance searches and verifies the JCE providers on
      // every call, several times the cost of the HMAC itself, on every Basic request.
      Mac mac = (Mac) rememberMac.clone();
      mac.update(credentials.username().getBytes(StandardCharsets.UTF_8));
      mac.update((byte) 0);
      return Base64.getEncoder()
          .encodeToString(mac.doFinal(credentials.password().getBytes(StandardCharsets.UTF_8)));
    } catch (CloneNotSupportedException e) {
      throw new IllegalStateException(e);
    }
  }

  private static final String DUMMY_HASH = "$argon2id$v=19$m=19456,t=2,p=1$c29tZXNhbHRzb21lc2FsdA$"
      + "9Qkq2yJ0yVQqC4kX3m9VJ3Qqv8M3m2a8h6m2v3w9s2E";
}
