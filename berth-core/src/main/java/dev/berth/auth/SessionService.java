package dev.berth.auth;

import dev.berth.audit.AuditAction;
import dev.berth.audit.AuditActor;
import dev.berth.audit.AuditLog;
import dev.berth.audit.AuditOutcome;
import dev.berth.metadata.Database;
import dev.berth.oci.ErrorCode;
import dev.berth.oci.RegistryException;
import dev.berth.settings.SystemSettings;
import java.nio.charset.StandardCharsets;
import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;
import java.security.SecureRandom;
import java.time.Clock;
import java.time.Duration;
import java.util.Base64;
import java.util.HexFormat;
import java.util.Map;
import java.util.Optional;

/**
 * Browser sessions of the management API (decision 014), as Harbor's portal has them: a login
 * with username and password through the {@link Authenticator} (so the throttle, the identity
 * provider and the login audit apply) yields a random 256-bit session id for an {@code HttpOnly}
 * cookie and a CSRF token that state-changing requests must echo in a header.
 *
 * <p>Sessions live in the metadata database, so any node of a cluster answers any request. Only
 * the SHA-256 of an id is stored. A session ends at logout, after {@code
 * auth.session-idle-timeout} without a request (a runtime setting, read at each lookup), at
 * {@code auth.session-max-age} after login whatever the use (also a runtime setting, read when a
 * session starts: a change counts for sessions started after it), and when its user's credential
 * version changes (a new password, the user disabled) or the user is deleted. Ended sessions are
 * deleted when next presented and by {@link PurgeSessionsJob}.
 */
public final class SessionService {
  public static final String COOKIE = "berth_session";
  /** Longer than any id this service issues (43 characters); longer cookies are not looked up. */
  private static final int MAX_ID_LENGTH = 100;

  /** A session just created: the id goes into the cookie and is never stored. */
  public record Started(String id, String csrfToken, Principal.User principal) {
    @Override
    public String toString() {
      return "Started[" + principal.name() + "]";
    }
  }

  /** A valid session's user and CSRF token. */
  public record Session(Principal.User principal, String csrfToken) {
    /** Whether {@code presented} (the {@code X-CSRF-Token} header) is this session's token. */
    public boolean csrfMatches(String presented) {
      return presented != null
          && MessageDigest.isEqual(
              presented.getBytes(StandardCharsets.UTF_8),
              csrfToken.getBytes(StandardCharsets.UTF_8));
    }
  }

  private final Database database;
  private final Authenticator authenticator;
  private final SystemSettings settings;
  private final AuditLog audit;
  private final Clock clock;
  private final SessionDao sessions = new SessionDao();
  private final SecureRandom random = new SecureRandom();

  public SessionService(
      Database database,
      Authenticator authenticator,
      SystemSettings settings,
      AuditLog audit,
      Clock clock) {
    this.database = database;
    this.authenticator = authenticator;
    this.settings = settings;
    this.audit = audit;
    this.clock = clock;
  }

  /**
   * Logs in and starts a new session. The session the client presented, if any, is deleted
   * first, whatever the outcome: a login never continues an existing id (session fixation).
   *
   * @throws RegistryException 401 for wrong credentials, 403 for a robot account, 429 when
   *     throttled
   */
  public Started login(
      Authenticator.Credentials credentials, String presentedId, String address, String userAgent) {
    discard(presentedId);
    Optional<Principal> principal =
        authenticator.login(credentials, address, userAgent, Map.of("method", "session"));
    if (principal.isEmpty()) {
      throw new RegistryException(ErrorCode.UNAUTHORIZED, "invalid username or password");
    }
    if (!(principal.get() instanceof Principal.User user)) {
      throw new RegistryException(
          ErrorCode.DENIED, "robot accounts cannot log in to a browser session");
    }
    return insert(user);
  }

  /**
   * Starts a session for a user whom an identity provider has just authenticated (the OIDC
   * callback, which records the login itself). Like {@link #login}, the session the client
   * presented is deleted first.
   */
  public Started start(Principal.User user, String presentedId) {
    discard(presentedId);
    return insert(user);
  }

  /** The {@code Set-Cookie} value that hands a new session id to the browser. */
  public static String cookie(String id, boolean secure) {
    return COOKIE + "=" + id + "; Path=/; HttpOnly; SameSite=Lax" + (secure ? "; Secure" : "");
  }

  /** The {@code Set-Cookie} value that makes the browser forget its session id. */
  public static String clearedCookie(boolean secure) {
    return COOKIE + "=; Path=/; Max-Age=0; HttpOnly; SameSite=Lax" + (secure ? "; Secure" : "");
  }

  private Started insert(Principal.User user) {
    long version = authenticator
        .credentialVersion(user.name())
        .orElseThrow(
            () -> new RegistryException(ErrorCode.UNAUTHORIZED, "invalid username or password"));
    String id = randomToken();
    String csrf = randomToken();
    long now = clock.millis();
    database.write(c -> {
      Duration maxAge = settings.sessionMaxAge(c);
      sessions.insert(c, hash(id), user.id(), version, csrf, now, now + maxAge.toMillis());
      return null;
    });
    return new Started(id, csrf, user);
  }

  /**
   * The session an id names while it is valid; an ended one is deleted. A lookup refreshes the
   * session's last use (at most every tenth of the idle timeout, so most requests write nothing).
   */
  public Optional<Session> find(String id) {
    if (id == null || id.isEmpty() || id.length() > MAX_ID_LENGTH) {
      return Optional.empty();
    }
    String idHash = hash(id);
    long now = clock.millis();
    record Found(SessionDao.SessionRow row, Duration idle) {}
    Optional<Found> found = database.read(c -> {
      Optional<SessionDao.SessionRow> row = sessions.find(c, idHash);
      return row.isEmpty() ? Optional.<Found>empty() : Optional.of(new Found(row.get(), idle(c)));
    });
    if (found.isEmpty()) {
      return Optional.empty();
    }
    SessionDao.SessionRow row = found.get().row();
    long idle = found.get().idle().toMillis();
    boolean valid = row.expiresAt() > now
        && row.lastSeenAt() + idle > now
        && !row.userDisabled()
        && row.credentialVersion() == row.userCredentialVersion();
    Optional<Principal.User> user = valid
        ? authenticator
            .bySubject(row.username())
            .filter(Principal.User.class::isInstance)
            .map(Principal.User.class::cast)
        : Optional.empty();
    if (user.isEmpty()) {
      database.write(c -> sessions.delete(c, idHash));
      return Optional.empty();
    }
    if (now - row.lastSeenAt() >= Math.min(60_000L, idle / 10)) {
      database.write(c -> {
        sessions.touch(c, idHash, now);
        return null;
      });
    }
    return Optional.of(new Session(user.get(), row.csrfToken()));
  }

  /** Ends a session (logout) and records it; false when it was not valid. */
  public boolean logout(String id, AuditActor actor) {
    if (find(id).isEmpty()) {
      return false;
    }
    database.write(c -> {
      if (sessions.delete(c, hash(id))) {
        audit.record(c, actor.event(AuditAction.LOGOUT, AuditOutcome.SUCCESS));
      }
      return null;
    });
    return true;
  }

  /** Deletes every ended session; returns how many. */
  public int purgeExpired() {
    long now = clock.millis();
    return database.write(c -> sessions.deleteExpired(c, now, now - idle(c).toMillis()));
  }

  private void discard(String presentedId) {
    if (presentedId != null && !presentedId.isEmpty() && presentedId.length() <= MAX_ID_LENGTH) {
      database.write(c -> sessions.delete(c, hash(presentedId)));
    }
  }

  private Duration idle(java.sql.Connection c) throws java.sql.SQLException {
    return settings.sessionIdleTimeout(c);
  }

  private String randomToken() {
    byte[] bytes = new byte[32];
    random.nextBytes(bytes);
    return Base64.getUrlEncoder().withoutPadding().encodeToString(bytes);
  }

  static String hash(String id) {
    try {
      return HexFormat.of()
          .formatHex(
              MessageDigest.getInstance("SHA-256").digest(id.getBytes(StandardCharsets.UTF_8)));
    } catch (NoSuchAlgorithmException e) {
      throw new IllegalStateException(e);
    }
  }
}
