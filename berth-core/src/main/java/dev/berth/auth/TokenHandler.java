package dev.berth.auth;

import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ObjectNode;
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
import java.io.IOException;
import java.net.URLDecoder;
import java.nio.charset.StandardCharsets;
import java.time.Instant;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.Set;

/**
 * The token endpoint ({@code /service/token}) of the Docker registry token specification.
 *
 * <ul>
 *   <li>{@code GET ?service=…&scope=…[&scope=…]}, with Basic credentials or none (anonymous):
 *       {@code {"token","access_token","expires_in","issued_at"}}.
 *   <li>{@code POST} form, OAuth2: {@code grant_type=password} ({@code username}, {@code
 *       password}, {@code scope}, {@code access_type=offline} adds a {@code refresh_token}) and
 *       {@code grant_type=refresh_token} ({@code refresh_token}, {@code scope}).
 * </ul>
 *
 * A token grants, of what each scope asks, only what the caller may do (possibly nothing: the
 * specification's answer to a request for more is a token with less, not an error); {@code
 * registry:catalog:*} is granted to every authenticated caller, whose listing is then filtered.
 * Wrong credentials are 401.
 */
public final class TokenHandler {
  private static final int MAX_FORM = 16 << 10;

  private final Database database;
  private final Authenticator authenticator;
  private final AccessController access;
  private final TokenService tokens;
  private final ObjectMapper json;
  private final AuditLog audit;

  public TokenHandler(
      Database database,
      Authenticator authenticator,
      AccessController access,
      TokenService tokens,
      ObjectMapper json,
      AuditLog audit) {
    this.audit = audit;
    this.database = database;
    this.authenticator = authenticator;
    this.access = access;
    this.tokens = tokens;
    this.json = json;
  }

  public void handle(Exchange exchange) throws IOException {
    switch (exchange.method()) {
      case "GET" -> get(exchange);
      case "POST" -> post(exchange);
      default -> {
        exchange.setHeader("Allow", "GET, POST");
        throw new RegistryException(
            ErrorCode.UNSUPPORTED, exchange.method() + " is not allowed here; use GET, POST");
      }
    }
  }

  private void get(Exchange exchange) throws IOException {
    checkService(exchange.query("service"));
    Principal principal = Principal.ANONYMOUS;
    String header = exchange.header("Authorization");
    if (header != null && !header.isBlank()) {
      Optional<Authenticator.Credentials> credentials = Authenticator.Credentials.fromBasic(header);
      principal = credentials
          .flatMap(given -> authenticator.authenticate(
              given, exchange.remoteAddress(), exchange.header("User-Agent")))
          .orElseThrow(() -> {
            exchange.setHeader("WWW-Authenticate", "Basic realm=\"" + tokens.service() + "\"");
            return new RegistryException(ErrorCode.UNAUTHORIZED, "invalid username or password");
          });
    }
    List<Scope> requested = new ArrayList<>();
    for (String scope : exchange.queryValues("scope")) {
      requested.addAll(Scope.parseAll(scope));
    }
    ObjectNode body = issue(principal, requested, exchange);
    body.put("token", body.path("access_token").asText());
    send(exchange, body);
  }

  private void post(Exchange exchange) throws IOException {
    Map<String, String> form = form(exchange.readBody(MAX_FORM, ErrorCode.SIZE_INVALID));
    checkService(form.get("service"));
    String grant = form.getOrDefault("grant_type", "");
    Principal principal;
    long credentialVersion;
    switch (grant) {
      case "password" -> {
        String username = form.get("username");
        String password = form.get("password");
        if (username == null || password == null) {
          throw oauthError("invalid_request", "username and password are required");
        }
        principal = authenticator
            .authenticate(
                new Authenticator.Credentials(username, password),
                exchange.remoteAddress(),
                exchange.header("User-Agent"))
            .orElseThrow(() ->
                new RegistryException(ErrorCode.UNAUTHORIZED, "invalid username or password"));
        credentialVersion = authenticator.credentialVersion(principal.name()).orElseThrow();
      }
      case "refresh_token" -> {
        TokenService.Refresh refresh = tokens
            .verifyRefresh(form.get("refresh_token"))
            .orElseThrow(() -> new RegistryException(
                ErrorCode.UNAUTHORIZED, "the refresh token is invalid or expired"));
        long current = authenticator
            .credentialVersion(refresh.subject())
            .filter(version -> version == refresh.credentialVersion())
            .orElseThrow(() -> new RegistryException(
                ErrorCode.UNAUTHORIZED, "the refresh token has been revoked"));
        principal = authenticator.bySubject(refresh.subject()).orElseThrow();
        credentialVersion = current;
      }
      default ->
        throw oauthError("unsupported_grant_type", "grant_type must be password or refresh_token");
    }
    List<Scope> requested = new ArrayList<>();
    String scopes = form.get("scope");
    if (scopes != null) {
      requested.addAll(Scope.parseAll(scopes));
    }
    ObjectNode body = issue(principal, requested, exchange);
    body.put("scope", String.join(" ", requested.stream().map(Scope::toString).toList()));
    if (grant.equals("refresh_token") || "offline".equals(form.get("access_type"))) {
      body.put("refresh_token", tokens.issueRefresh(principal.name(), credentialVersion));
    }
    send(exchange, body);
  }

  private ObjectNode issue(Principal principal, List<Scope> requested, Exchange exchange) {
    List<Scope> granted = database.read(c -> {
      List<Scope> result = new ArrayList<>();
      for (Scope scope : requested) {
        Set<String> actions = new LinkedHashSet<>();
        if (scope.type().equals(Scope.REPOSITORY)) {
          RepositoryName name;
          try {
            name = RepositoryName.of(scope.name());
          } catch (RegistryException e) {
            continue;
          }
          Set<Action> allowed = access.allowed(c, principal, name.project());
          for (String action : scope.actions()) {
            if (grants(allowed, action)) {
              actions.add(action);
            }
          }
          if (scope.actions().contains("*")) {
            for (String action : List.of("pull", "push", "delete")) {
              if (grants(allowed, action)) {
                actions.add(action);
              }
            }
          }
        } else if (scope.type().equals(Scope.REGISTRY)
            && scope.name().equals("catalog")
            && !(principal instanceof Principal.Anonymous)) {
          actions.add("*");
        }
        if (!actions.isEmpty()) {
          result.add(new Scope(scope.type(), scope.name(), actions));
        }
      }
      return result;
    });
    String token = tokens.issue(principal.name(), granted);
    List<String> pushes = granted.stream()
        .filter(scope -> scope.actions().contains("push"))
        .map(Scope::toString)
        .toList();
    if (!pushes.isEmpty()) {
      // Tokens that allow pushing are recorded; read-only tokens are as frequent as pulls.
      audit.record(new AuditActor(
              principal instanceof Principal.Robot ? ActorType.ROBOT : ActorType.USER,
              principal.name(),
              exchange.remoteAddress(),
              exchange.header("User-Agent"))
          .event(
              AuditAction.TOKEN_ISSUE,
              AuditOutcome.SUCCESS,
              Map.of("scope", String.join(" ", pushes))));
    }
    ObjectNode body = json.createObjectNode();
    body.put("access_token", token);
    body.put("expires_in", tokens.lifetime().toSeconds());
    body.put("issued_at", Instant.now().toString());
    return body;
  }

  private static boolean grants(Set<Action> allowed, String action) {
    return switch (action) {
      case "pull" -> allowed.contains(Action.PULL);
      case "push" -> allowed.contains(Action.PUSH);
      case "delete" -> allowed.contains(Action.DELETE_ARTIFACT);
      default -> false;
    };
  }

  private void checkService(String service) {
    if (service != null && !service.isEmpty() && !service.equals(tokens.service())) {
      throw new RegistryException(
          ErrorCode.INVALID_REQUEST,
          "unknown service '" + (service.length() > 100 ? service.substring(0, 100) : service)
              + "'; this is " + tokens.service());
    }
  }

  private static RegistryException oauthError(String error, String message) {
    return new RegistryException(ErrorCode.INVALID_REQUEST, message, Map.of("error", error));
  }

  private void send(Exchange exchange, ObjectNode body) throws IOException {
    exchange.setHeader("Cache-Control", "no-store");
    exchange.send(200, "application/json", json.writeValueAsBytes(body));
  }

  static Map<String, String> form(byte[] body) {
    Map<String, String> form = new LinkedHashMap<>();
    String text = new String(body, StandardCharsets.UTF_8);
    for (String pair : text.split("&")) {
      if (pair.isEmpty()) {
        continue;
      }
      int equals = pair.indexOf('=');
      try {
        String key = URLDecoder.decode(
            equals < 0 ? pair : pair.substring(0, equals), StandardCharsets.UTF_8);
        String value =
            equals < 0 ? "" : URLDecoder.decode(pair.substring(equals + 1), StandardCharsets.UTF_8);
        form.putIfAbsent(key, value);
      } catch (IllegalArgumentException e) {
        throw new RegistryException(ErrorCode.INVALID_REQUEST, "the form body is not URL-encoded");
      }
    }
    return form;
  }
}
