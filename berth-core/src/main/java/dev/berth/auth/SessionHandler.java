package dev.berth.auth;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ObjectNode;
import dev.berth.audit.ActorType;
import dev.berth.audit.AuditActor;
import dev.berth.http.Exchange;
import dev.berth.oci.ErrorCode;
import dev.berth.oci.RegistryException;
import java.io.IOException;
import java.net.URLDecoder;
import java.nio.charset.StandardCharsets;
import java.util.HashMap;
import java.util.Map;
import java.util.Optional;

/**
 * The browser session of the management API ({@link SessionService}).
 *
 * <pre>
 *   POST   /api/v1/session  {"username","password"} (JSON, or form fields)
 *                           → 200 {"username","admin","csrfToken"}, Set-Cookie berth_session
 *                             (401 wrong credentials, 403 robot account, 429 throttled)
 *   GET    /api/v1/session  → 200 {"username","admin","csrfToken"}; 401 without a valid session
 *   DELETE /api/v1/session  (X-CSRF-Token) → 204, the session deleted and the cookie expired
 * </pre>
 */
public final class SessionHandler {
  public static final String PATH = "/api/v1/session";
  private static final int MAX_BODY = 16 << 10;

  private final SessionService sessions;
  private final RegistryAccess access;
  private final ObjectMapper json;
  private final String externalUrl;

  public SessionHandler(
      SessionService sessions, RegistryAccess access, ObjectMapper json, String externalUrl) {
    this.sessions = sessions;
    this.access = access;
    this.json = json;
    this.externalUrl = externalUrl;
  }

  /** Whether a path is this handler's. */
  public static boolean serves(String path) {
    return path.equals(PATH) || path.equals(PATH + "/");
  }

  public void handle(Exchange exchange) throws IOException {
    exchange.setHeader("Cache-Control", "no-store");
    switch (exchange.method()) {
      case "POST" -> login(exchange);
      case "GET", "HEAD" -> {
        SessionService.Session session = sessions
            .find(RegistryAccess.sessionId(exchange))
            .orElseThrow(() -> new RegistryException(ErrorCode.UNAUTHORIZED, "no valid session"));
        send(exchange, session.principal(), session.csrfToken());
      }
      case "DELETE" -> logout(exchange);
      default -> {
        exchange.setHeader("Allow", "GET, POST, DELETE");
        throw new RegistryException(
            ErrorCode.UNSUPPORTED,
            exchange.method() + " is not allowed here; use GET, POST, DELETE");
      }
    }
  }

  private void login(Exchange exchange) throws IOException {
    byte[] body = exchange.readBody(MAX_BODY, ErrorCode.SIZE_INVALID);
    Map<String, String> fields = fields(exchange.header("Content-Type"), body);
    String username = fields.get("username");
    String password = fields.get("password");
    if (username == null || username.isEmpty() || password == null) {
      throw new RegistryException(
          ErrorCode.INVALID_REQUEST, "'username' and 'password' are required strings");
    }
    SessionService.Started started = sessions.login(
        new Authenticator.Credentials(username, password),
        RegistryAccess.sessionId(exchange),
        exchange.remoteAddress(),
        exchange.header("User-Agent"));
    exchange.addHeader("Set-Cookie", SessionService.cookie(started.id(), secure(exchange)));
    send(exchange, started.principal(), started.csrfToken());
  }

  private void logout(Exchange exchange) throws IOException {
    String id = RegistryAccess.sessionId(exchange);
    Optional<SessionService.Session> session = sessions.find(id);
    if (session.isPresent()) {
      // The same CSRF check as any state change: another site must not log the user out.
      RegistryAccess.Caller caller = access.managementCaller(exchange);
      AuditActor actor = new AuditActor(
          ActorType.USER,
          session.get().principal().name(),
          exchange.remoteAddress(),
          exchange.header("User-Agent"));
      if (caller.principal() instanceof Principal.User) {
        sessions.logout(id, actor);
      }
    }
    exchange.addHeader("Set-Cookie", SessionService.clearedCookie(secure(exchange)));
    exchange.sendEmpty(204);
  }

  private boolean secure(Exchange exchange) {
    return exchange.baseUrl(externalUrl).startsWith("https://");
  }

  /** The login's fields: a JSON object, or form fields ({@code application/x-www-form-urlencoded}). */
  private Map<String, String> fields(String contentType, byte[] body) {
    Map<String, String> fields = new HashMap<>();
    if (contentType != null
        && contentType
            .toLowerCase(java.util.Locale.ROOT)
            .startsWith("application/x-www-form-urlencoded")) {
      for (String pair : new String(body, StandardCharsets.UTF_8).split("&")) {
        int equals = pair.indexOf('=');
        if (equals <= 0) {
          continue;
        }
        try {
          fields.putIfAbsent(
              URLDecoder.decode(pair.substring(0, equals), StandardCharsets.UTF_8),
              URLDecoder.decode(pair.substring(equals + 1), StandardCharsets.UTF_8));
        } catch (IllegalArgumentException e) {
          throw new RegistryException(ErrorCode.INVALID_REQUEST, "the form is not URL-encoded");
        }
      }
      return fields;
    }
    JsonNode request;
    try {
      request = json.readTree(body);
    } catch (IOException e) {
      throw new RegistryException(
          ErrorCode.INVALID_REQUEST, "body is not JSON (or form fields): " + e.getMessage());
    }
    if (request == null || !request.isObject()) {
      throw new RegistryException(ErrorCode.INVALID_REQUEST, "body must be a JSON object");
    }
    for (String name : new String[] {"username", "password"}) {
      JsonNode value = request.get(name);
      if (value != null && !value.isNull()) {
        if (!value.isTextual()) {
          throw new RegistryException(ErrorCode.INVALID_REQUEST, "'" + name + "' must be a string");
        }
        fields.put(name, value.textValue());
      }
    }
    return fields;
  }

  private void send(Exchange exchange, Principal.User user, String csrfToken) throws IOException {
    ObjectNode body = json.createObjectNode();
    body.put("username", user.name());
    body.put("admin", user.admin());
    body.put("csrfToken", csrfToken);
    exchange.send(200, "application/json", json.writeValueAsBytes(body));
  }
}
