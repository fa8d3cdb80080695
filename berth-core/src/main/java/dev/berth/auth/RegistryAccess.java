package dev.berth.auth;

import dev.berth.audit.ActorType;
import dev.berth.audit.AuditAction;
import dev.berth.audit.AuditActor;
import dev.berth.audit.AuditLog;
import dev.berth.audit.AuditOutcome;
import dev.berth.http.Exchange;
import dev.berth.metadata.Database;
import dev.berth.oci.ErrorCode;
import dev.berth.oci.RegistryException;
import dev.berth.oci.RepositoryName;
import java.util.Map;
import java.util.Optional;
import java.util.Set;

/**
 * Authentication and authorization of one {@code /v2} request, as the Docker registry token
 * specification describes it: a request without credentials, or whose bearer token does not
 * cover what it needs, gets {@code 401} with {@code WWW-Authenticate: Bearer realm="<base>/service/token",
 * service="…",scope="repository:<name>:<actions>"}; Basic credentials are accepted directly too.
 *
 * <p>Answers to a caller who may not do something: no credentials → 401 (so clients log in);
 * a pull of something the caller may not pull → 404 {@code NAME_UNKNOWN}, the same answer as
 * for a repository that does not exist; a push or delete → 403 {@code DENIED} naming the action
 * (a push into a project that does not exist would create it, so no answer to a push could hide
 * whether a project exists; a clear refusal serves the user better).
 * A push into a project that does not exist creates it (private, the pusher its Project Admin)
 * when the pusher may create projects.
 */
public final class RegistryAccess {
  public static final String TOKEN_PATH = "/service/token";

  private final boolean enabled;
  private final Database database;
  private final Authenticator authenticator;
  private final AccessController access;
  private final TokenService tokens;
  private final ProjectDao projects;
  private final String externalUrl;
  private final AuditLog audit;
  /** Browser sessions, accepted by {@link #managementCaller} only; null when access is off. */
  private final SessionService sessions;

  public RegistryAccess(
      boolean enabled,
      Database database,
      Authenticator authenticator,
      AccessController access,
      TokenService tokens,
      ProjectDao projects,
      String externalUrl,
      AuditLog audit,
      SessionService sessions) {
    this.audit = audit;
    this.sessions = sessions;
    this.enabled = enabled;
    this.database = database;
    this.authenticator = authenticator;
    this.access = access;
    this.tokens = tokens;
    this.projects = projects;
    this.externalUrl = externalUrl;
  }

  /** Access off ({@code auth.enabled: false}): everyone may do everything. */
  public static RegistryAccess disabled() {
    return new RegistryAccess(false, null, null, null, null, null, "", null, null);
  }

  public boolean enabled() {
    return enabled;
  }

  /**
   * Who is calling the management API ({@code /api/v1}): Basic or bearer credentials as {@link
   * #caller}, else the user of a valid browser session cookie ({@value SessionService#COOKIE}),
   * else anonymous. A request authenticated by the cookie that may change state (any method but
   * GET, HEAD and OPTIONS) must carry the session's CSRF token in {@value #CSRF_HEADER}, else 403:
   * a browser sends the cookie with requests other sites make it send, but only a page of ours
   * can read the token. Credentials in {@code Authorization} take precedence and need no token.
   *
   * <p>Only this method reads the cookie: {@code /v2} and the token endpoint call {@link #caller},
   * so a page elsewhere cannot drive the registry with a user's cookie.
   */
  public Caller managementCaller(Exchange exchange) {
    String header = exchange.header("Authorization");
    if (!enabled || sessions == null || (header != null && !header.isBlank())) {
      return caller(exchange);
    }
    Optional<SessionService.Session> session = sessions.find(sessionId(exchange));
    if (session.isEmpty()) {
      return new Caller(Principal.ANONYMOUS, null);
    }
    if (!safe(exchange.method()) && !session.get().csrfMatches(exchange.header(CSRF_HEADER))) {
      throw new RegistryException(
          ErrorCode.DENIED,
          "missing or wrong " + CSRF_HEADER + " header: a request authenticated by the session"
              + " cookie that changes something must carry the session's CSRF token (from POST or"
              + " GET /api/v1/session)");
    }
    return new Caller(session.get().principal(), null);
  }

  /** The header that carries the session's CSRF token. */
  public static final String CSRF_HEADER = "X-CSRF-Token";

  /** Methods that change nothing, and so need no CSRF token. */
  static boolean safe(String method) {
    return method.equals("GET") || method.equals("HEAD") || method.equals("OPTIONS");
  }

  /** The session id in the request's {@value SessionService#COOKIE} cookie, or null. */
  public static String sessionId(Exchange exchange) {
    return OidcHandler.cookieValue(
        String.join("; ", exchange.headers("Cookie")), SessionService.COOKIE);
  }

  /** Who is calling; 401 for bad credentials. Anonymous when none are sent or access is off. */
  public Caller caller(Exchange exchange) {
    if (!enabled) {
      return new Caller(Principal.ANONYMOUS, null);
    }
    String header = exchange.header("Authorization");
    if (header == null || header.isBlank()) {
      return new Caller(Principal.ANONYMOUS, null);
    }
    if (header.regionMatches(true, 0, "Bearer ", 0, 7)) {
      Optional<TokenService.Claims> claims = tokens.verify(header.substring(7).trim());
      if (claims.isEmpty()) {
        throw challenge(exchange, null, "invalid_token", "the bearer token is invalid or expired");
      }
      return new Caller(null, claims.get());
    }
    Optional<Authenticator.Credentials> credentials = Authenticator.Credentials.fromBasic(header);
    if (credentials.isEmpty()) {
      throw challenge(exchange, null, null, "unsupported Authorization header");
    }
    Optional<Principal> principal = authenticator.authenticate(
        credentials.get(), exchange.remoteAddress(), exchange.header("User-Agent"));
    if (principal.isEmpty()) {
      throw challenge(exchange, null, null, "invalid username or password");
    }
    return new Caller(principal.get(), null);
  }

  /**
   * The caller of a request: a principal (Basic credentials, or none) or the claims of a bearer
   * token (whose subject is resolved only when needed, e.g. to filter the catalog).
   */
  public final class Caller {
    private Principal principal;
    private final TokenService.Claims claims;

    Caller(Principal principal, TokenService.Claims claims) {
      this.principal = principal;
      this.claims = claims;
    }

    /** The principal; for a bearer token, looked up by the token's subject. */
    public Principal principal() {
      if (principal == null) {
        principal = claims.subject().equals(Principal.ANONYMOUS.name())
            ? Principal.ANONYMOUS
            : authenticator.bySubject(claims.subject()).orElse(Principal.ANONYMOUS);
      }
      return principal;
    }

    /** The caller as audit records name it, with the request's source. */
    public AuditActor actor(Exchange exchange) {
      String name = claims != null ? claims.subject() : principal.name();
      ActorType type;
      if (name.equals(Principal.ANONYMOUS.name())) {
        type = ActorType.ANONYMOUS;
      } else if (name.startsWith(Authenticator.ROBOT_PREFIX)) {
        type = ActorType.ROBOT;
      } else {
        type = ActorType.USER;
      }
      return new AuditActor(type, name, exchange.remoteAddress(), exchange.header("User-Agent"));
    }

    /** Whether access control is on at all. */
    public boolean enabled() {
      return enabled;
    }

    public boolean anonymous() {
      return claims == null
          ? principal instanceof Principal.Anonymous
          : claims.subject().equals(Principal.ANONYMOUS.name());
    }

    /** {@code /v2/} itself: any authenticated caller. */
    public void requireAuthenticated(Exchange exchange) {
      if (enabled && anonymous()) {
        throw challenge(exchange, null, null, "authentication required");
      }
    }

    /** Requires {@code action} on the repository; throws the answer described on the class. */
    public void require(Exchange exchange, RepositoryName repository, Action action) {
      if (!enabled) {
        return;
      }
      String project = repository.project();
      String scopeAction = scopeAction(action);
      if (claims != null) {
        if (claims.grants(Scope.REPOSITORY, repository.value(), scopeAction)) {
          // The protocol's one "delete" stands for three permissions and is granted for
          // deleting artifacts: deleting a tag or a repository needs that very permission too.
          if (!scopeAction.equals(action.value())
              && !database.read(c -> access.allowed(c, principal(), project)).contains(action)) {
            throw denied(repository, action);
          }
          if (action == Action.PUSH) {
            ensureProject(project, principal(), actor(exchange));
          }
          return;
        }
        throw challenge(
            exchange,
            Scope.repository(repository.value(), Set.of(scopeAction)),
            "insufficient_scope",
            "the token does not grant " + scopeAction + " on " + repository);
      }
      if (database.read(c -> access.allows(c, principal, project, action))) {
        if (action == Action.PUSH) {
          ensureProject(project, principal, actor(exchange));
        }
        return;
      }
      if (anonymous()) {
        throw challenge(
            exchange,
            Scope.repository(repository.value(), Set.of(scopeAction)),
            null,
            "authentication required");
      }
      if (action == Action.PULL) {
        throw new RegistryException(
            ErrorCode.NAME_UNKNOWN,
            "repository name not known to registry",
            Map.of("name", repository.value()));
      }
      throw denied(repository, action);
    }

    private RegistryException denied(RepositoryName repository, Action action) {
      return new RegistryException(
          ErrorCode.DENIED,
          "requested access to the resource is denied: " + principal().name() + " may not "
              + action.value() + " in " + repository,
          Map.of("name", repository.value(), "action", action.value()));
    }

    /** Management actions that only a system administrator may take (GC, users, settings). */
    public void requireAdmin(Exchange exchange) {
      if (!enabled) {
        return;
      }
      if (anonymous()) {
        throw challenge(exchange, null, null, "authentication required");
      }
      if (!AccessController.isAdmin(principal())) {
        throw new RegistryException(ErrorCode.DENIED, "only a system administrator may do this");
      }
    }

    /** A management action in a project (the same permission matrix as {@code /v2}). */
    public void requireInProject(Exchange exchange, String project, Action action) {
      if (!enabled) {
        return;
      }
      Set<Action> allowed = database.read(c -> access.allowed(c, principal(), project));
      if (allowed.contains(action)) {
        return;
      }
      if (anonymous()) {
        throw challenge(exchange, null, null, "authentication required");
      }
      if (!allowed.contains(Action.PULL)) {
        throw new RegistryException(
            ErrorCode.NOT_FOUND, "project not found: " + project, Map.of("project", project));
      }
      throw new RegistryException(
          ErrorCode.DENIED,
          principal().name() + " may not " + action.value() + " in project " + project,
          Map.of("project", project, "action", action.value()));
    }

    /** Whether the caller may pull from the repository, without an answer (for mounts). */
    public boolean mayPull(RepositoryName repository) {
      if (!enabled) {
        return true;
      }
      if (claims != null) {
        return claims.grants(Scope.REPOSITORY, repository.value(), "pull");
      }
      return database.read(c -> access.allows(c, principal, repository.project(), Action.PULL));
    }

    /** Whether the caller may list the project's repositories in the catalog. */
    public boolean mayList(String project) {
      if (!enabled) {
        return true;
      }
      return database.read(c -> access.allows(c, principal(), project, Action.PULL));
    }
  }

  /** The token protocol's name for an action: pull, push, or delete (for every deletion). */
  public static String scopeAction(Action action) {
    return switch (action) {
      case PULL -> "pull";
      case PUSH, CREATE_REPOSITORY -> "push";
      case DELETE_ARTIFACT, DELETE_TAG, DELETE_REPOSITORY -> "delete";
      default -> action.value();
    };
  }

  private void ensureProject(String project, Principal creator, AuditActor actor) {
    if (database.read(c -> projects.find(c, project)).isEmpty()) {
      createProject(project, creator, actor);
    }
  }

  /** Creates a project for its first pusher, who becomes its Project Admin. */
  public void createProject(String project, Principal creator, AuditActor actor) {
    database.write(c -> {
      if (projects.find(c, project).isEmpty()) {
        long id = projects.getOrCreate(c, project, false);
        if (creator instanceof Principal.User user && !user.admin()) {
          projects.putMember(
              c,
              id,
              new ProjectDao.Member(ProjectDao.Member.USER, user.name(), Role.PROJECT_ADMIN));
        }
        audit.record(
            c,
            actor
                .event(AuditAction.PROJECT_CREATE, AuditOutcome.SUCCESS)
                .withResource(project, "", "", "")
                .withDetail(Map.of("by", "push")));
      }
      return null;
    });
  }

  private RegistryException challenge(
      Exchange exchange, Scope scope, String error, String message) {
    StringBuilder value = new StringBuilder("Bearer realm=\"")
        .append(exchange.baseUrl(externalUrl))
        .append(TOKEN_PATH)
        .append("\",service=\"")
        .append(tokens.service())
        .append('"');
    if (scope != null) {
      value.append(",scope=\"").append(scope).append('"');
    }
    if (error != null) {
      value.append(",error=\"").append(error).append('"');
    }
    exchange.setHeader("WWW-Authenticate", value.toString());
    return new RegistryException(ErrorCode.UNAUTHORIZED, message);
  }
}
