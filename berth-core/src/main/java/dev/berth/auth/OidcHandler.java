package dev.berth.auth;

import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ObjectNode;
import dev.berth.audit.ActorType;
import dev.berth.audit.AuditAction;
import dev.berth.audit.AuditActor;
import dev.berth.audit.AuditLog;
import dev.berth.audit.AuditOutcome;
import dev.berth.http.Exchange;
import dev.berth.oci.ErrorCode;
import dev.berth.oci.RegistryException;
import java.io.IOException;
import java.util.Map;
import java.util.Optional;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/**
 * The browser side of OIDC ({@code auth.provider: oidc}) and the CLI secrets of OIDC users.
 *
 * <pre>
 *   GET  /api/v1/oidc/login[?new-cli-secret=true]  → 302 to the provider, with the flow cookie
 *   GET  /api/v1/oidc/callback?code&amp;state          → 200 {"username","admin","groups",
 *                                                  "csrfToken","cliSecret"?}, Set-Cookie
 *                                                  berth_session
 *   POST /api/v1/users/{name}/cli-secret           the user itself → 200 {"username","cliSecret"}
 * </pre>
 *
 * The callback creates or updates the user (source {@code oidc}) and shows a CLI secret when the
 * user has none yet or asked for a new one ({@code new-cli-secret}); Berth keeps only its
 * Argon2id hash, so it is shown this once. Registry clients log in with the username and this
 * secret ({@code docker login -u alice -p <secret>}). The callback also starts a browser session
 * ({@link SessionService}, the same cookie and CSRF token as {@code POST /api/v1/session}), so
 * the web UI is signed in by the provider; any session id the browser presented is discarded.
 */
public final class OidcHandler {
  public static final String PREFIX = "/api/v1/oidc";
  private static final String COOKIE = "berth_oidc";
  private static final Pattern CLI_SECRET = Pattern.compile("/api/v1/users/([^/]+)/cli-secret/?");

  private final OidcLogin login;
  private final ExternalUserService users;
  private final RegistryAccess access;
  private final SessionService sessions;
  private final AuditLog audit;
  private final ObjectMapper json;
  private final String externalUrl;

  public OidcHandler(
      OidcLogin login,
      ExternalUserService users,
      RegistryAccess access,
      SessionService sessions,
      AuditLog audit,
      ObjectMapper json,
      String externalUrl) {
    this.sessions = sessions;
    this.audit = audit;
    this.login = login;
    this.users = users;
    this.access = access;
    this.json = json;
    this.externalUrl = externalUrl;
  }

  /** Whether a path is the CLI secret route (under the management API's users). */
  public static boolean isCliSecret(String path) {
    return CLI_SECRET.matcher(path).matches();
  }

  public void handle(Exchange exchange) throws IOException {
    String path = exchange.path();
    Matcher cliSecret = CLI_SECRET.matcher(path);
    if (cliSecret.matches()) {
      rotate(exchange, cliSecret.group(1));
      return;
    }
    if (!exchange.method().equals("GET")) {
      exchange.setHeader("Allow", "GET");
      throw new RegistryException(ErrorCode.UNSUPPORTED, "use GET");
    }
    String base = exchange.baseUrl(externalUrl);
    switch (path) {
      case PREFIX + "/login" -> {
        OidcLogin.Start start = login.start(
            base + PREFIX + "/callback", "true".equals(exchange.query("new-cli-secret")));
        exchange.addHeader(
            "Set-Cookie", cookie(start.cookie(), base, OidcLogin.FLOW_LIFETIME.toSeconds()));
        exchange.setHeader("Location", start.redirect().toString());
        exchange.setHeader("Cache-Control", "no-store");
        exchange.sendEmpty(302);
      }
      case PREFIX + "/callback" -> callback(exchange, base);
      default -> throw new RegistryException(ErrorCode.NOT_FOUND, "no route for " + path);
    }
  }

  private void callback(Exchange exchange, String base) throws IOException {
    // The flow cookie is single-use: cleared whatever the outcome.
    exchange.addHeader("Set-Cookie", cookie("", base, 0));
    String[] username = {""};
    try {
      callback(exchange, base, username);
    } catch (RegistryException e) {
      // A refused login is on record like a wrong password (the name, when the provider gave one).
      audit.record(new AuditActor(
              ActorType.USER, username[0], exchange.remoteAddress(), exchange.header("User-Agent"))
          .event(
              AuditAction.LOGIN,
              AuditOutcome.FAILURE,
              Map.of("method", "oidc", "reason", shorten(String.valueOf(e.getMessage())))));
      throw e;
    }
  }

  private void callback(Exchange exchange, String base, String[] username) throws IOException {
    String error = exchange.query("error");
    if (error != null) {
      throw new RegistryException(
          ErrorCode.UNAUTHORIZED, "OIDC login refused by the identity provider: " + shorten(error));
    }
    OidcLogin.Identity identity = login.finish(
        cookieValue(exchange.header("Cookie")), exchange.query("state"), exchange.query("code"));
    username[0] = identity.username();
    boolean newSecret = identity.newCliSecret() || !users.hasCliSecret(identity.username());
    ExternalUserService.Login done = users
        .login(
            IdentityProvider.OIDC,
            identity.username(),
            identity.subject(),
            identity.email(),
            identity.groups(),
            login.admin(identity.groups()),
            newSecret)
        .orElseThrow(() -> new RegistryException(
            ErrorCode.DENIED,
            "the name '" + identity.username()
                + "' belongs to a local account, or the user is disabled in Berth"));
    SessionService.Started session =
        sessions.start(done.principal(), RegistryAccess.sessionId(exchange));
    audit.record(new AuditActor(
            ActorType.USER,
            done.principal().name(),
            exchange.remoteAddress(),
            exchange.header("User-Agent"))
        .event(AuditAction.LOGIN, AuditOutcome.SUCCESS, Map.of("method", "oidc")));
    exchange.addHeader(
        "Set-Cookie", SessionService.cookie(session.id(), base.startsWith("https://")));
    ObjectNode body = json.createObjectNode();
    body.put("username", done.principal().name());
    body.put("csrfToken", session.csrfToken());
    body.put("admin", done.principal().admin());
    new java.util.TreeSet<>(done.principal().groups()).forEach(body.putArray("groups")::add);
    if (done.cliSecret() != null) {
      body.put("cliSecret", done.cliSecret());
      body.put(
          "message",
          "Your CLI secret, shown this once: docker login -u "
              + done.principal().name() + " -p <cliSecret> " + hostOf(base));
    } else {
      body.put(
          "message",
          "You have a CLI secret already. For a new one, log in at " + PREFIX
              + "/login?new-cli-secret=true");
    }
    exchange.setHeader("Cache-Control", "no-store");
    exchange.send(200, "application/json", json.writeValueAsBytes(body));
  }

  private void rotate(Exchange exchange, String name) throws IOException {
    if (!exchange.method().equals("POST")) {
      exchange.setHeader("Allow", "POST");
      throw new RegistryException(ErrorCode.UNSUPPORTED, "use POST");
    }
    RegistryAccess.Caller caller = access.managementCaller(exchange);
    caller.requireAuthenticated(exchange);
    if (!(caller.principal() instanceof Principal.User user) || !user.name().equals(name)) {
      throw new RegistryException(
          ErrorCode.DENIED, "only the user itself may renew its CLI secret");
    }
    ObjectNode body = json.createObjectNode();
    body.put("username", name);
    body.put("cliSecret", users.rotateCliSecret(name));
    exchange.setHeader("Cache-Control", "no-store");
    exchange.send(200, "application/json", json.writeValueAsBytes(body));
  }

  private static String cookie(String value, String base, long maxAge) {
    return COOKIE + "=" + value + "; Path=" + PREFIX + "; Max-Age=" + maxAge
        + "; HttpOnly; SameSite=Lax" + (base.startsWith("https://") ? "; Secure" : "");
  }

  static String cookieValue(String header) {
    return cookieValue(header, COOKIE);
  }

  /** The first value of the named cookie in a {@code Cookie} header, or null. */
  static String cookieValue(String header, String name) {
    if (header == null) {
      return null;
    }
    for (String part : header.split(";")) {
      String trimmed = part.trim();
      if (trimmed.startsWith(name + "=")) {
        String value = trimmed.substring(name.length() + 1);
        // RFC 6265 allows a quoted value (Java's own cookie manager sends one).
        return value.length() >= 2 && value.startsWith("\"") && value.endsWith("\"")
            ? value.substring(1, value.length() - 1)
            : value;
      }
    }
    return null;
  }

  private static String hostOf(String base) {
    return Optional.of(base.replaceFirst("^https?://", "")).orElse(base);
  }

  private static String shorten(String value) {
    return value.length() > 100 ? value.substring(0, 100) : value;
  }
}
