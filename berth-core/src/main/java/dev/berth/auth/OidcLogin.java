package dev.berth.auth;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ObjectNode;
import com.nimbusds.jose.JWSAlgorithm;
import com.nimbusds.jose.jwk.source.JWKSourceBuilder;
import com.nimbusds.jose.proc.JWSVerificationKeySelector;
import com.nimbusds.jose.proc.SecurityContext;
import com.nimbusds.jose.util.DefaultResourceRetriever;
import com.nimbusds.jwt.JWTClaimsSet;
import com.nimbusds.jwt.proc.DefaultJWTClaimsVerifier;
import com.nimbusds.jwt.proc.DefaultJWTProcessor;
import dev.berth.config.BerthConfig;
import dev.berth.oci.ErrorCode;
import dev.berth.oci.RegistryException;
import java.io.IOException;
import java.net.URI;
import java.net.URLEncoder;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.charset.StandardCharsets;
import java.security.GeneralSecurityException;
import java.security.MessageDigest;
import java.security.SecureRandom;
import java.time.Clock;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Base64;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.TreeSet;
import javax.crypto.Mac;
import javax.crypto.spec.SecretKeySpec;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The OpenID Connect authorization code flow with PKCE (S256), state and nonce, for people
 * logging in with a browser ({@code auth.oidc}).
 *
 * <p>The flow's state (state, nonce, PKCE verifier, redirect URL) travels in a short-lived
 * cookie signed with HMAC-SHA256, not in this node's memory: the callback may reach another node
 * of a cluster behind a load balancer. The HMAC key is derived from the token signing key, which
 * every node of a cluster already shares ({@code auth.token-key-file}), so there is no second
 * secret to distribute. A replayed code is refused by the provider (a code is single-use); a
 * cookie or state that was tampered with, or is older than {@link #FLOW_LIFETIME}, is refused
 * here.
 *
 * <p>The ID token is verified with nimbus-jose-jwt: signature by a key from the provider's JWKS
 * (asymmetric algorithms only), issuer, audience = client id, expiry, and the nonce. The
 * provider's discovery document is read at the first login, not at start-up, so that Berth starts
 * while the provider is down; until it answers, logins get 503.
 *
 * <p>Some providers keep ID tokens thin and give the user name or the groups only at the userinfo
 * endpoint. When the ID token lacks the username claim or the groups claim, the userinfo endpoint
 * is asked with the access token and fills in what is missing (the ID token wins where both have
 * a claim, as in Harbor); its answer is used only if its {@code sub} is the ID token's (OpenID
 * Connect Core §5.3.2). If the endpoint fails, the login goes on with the ID token's claims.
 */
public final class OidcLogin {
  private static final Logger log = LoggerFactory.getLogger(OidcLogin.class);
  static final Duration FLOW_LIFETIME = Duration.ofMinutes(10);
  private static final Set<JWSAlgorithm> ALGORITHMS = Set.of(
      JWSAlgorithm.RS256,
      JWSAlgorithm.RS384,
      JWSAlgorithm.RS512,
      JWSAlgorithm.PS256,
      JWSAlgorithm.PS384,
      JWSAlgorithm.PS512,
      JWSAlgorithm.ES256,
      JWSAlgorithm.ES384,
      JWSAlgorithm.ES512,
      JWSAlgorithm.EdDSA);

  /** The endpoints from the provider's discovery document; {@code userInfo} may be null. */
  private record Endpoints(
      URI authorization, URI token, URI userInfo, DefaultJWTProcessor<SecurityContext> processor) {}

  /** A login started: where to send the browser, and the signed flow state for the cookie. */
  public record Start(URI redirect, String cookie) {}

  /**
   * A verified person.
   *
   * @param subject {@code <issuer>#<sub>}
   * @param newCliSecret whether the login asked for a new CLI secret
   */
  public record Identity(
      String subject, String username, String email, Set<String> groups, boolean newCliSecret) {}

  private final BerthConfig.OidcConfig config;
  private final byte[] stateKey;
  private final HttpClient http;
  private final ObjectMapper json;
  private final Clock clock;
  private final SecureRandom random = new SecureRandom();
  private volatile Endpoints endpoints;

  /** @param stateKey the HMAC key for the flow cookie (see the class comment) */
  public OidcLogin(BerthConfig.OidcConfig config, byte[] stateKey, ObjectMapper json, Clock clock) {
    this.config = config;
    this.stateKey = stateKey.clone();
    this.json = json;
    this.clock = clock;
    this.http = HttpClient.newBuilder()
        .connectTimeout(Duration.ofSeconds(10))
        .followRedirects(HttpClient.Redirect.NEVER)
        .build();
  }

  /** The flow cookie's HMAC key derived from the token signing key's bytes. */
  public static byte[] stateKey(byte[] signingKey) {
    try {
      MessageDigest sha = MessageDigest.getInstance("SHA-256");
      sha.update("berth oidc flow state\u0000".getBytes(StandardCharsets.UTF_8));
      return sha.digest(signingKey);
    } catch (GeneralSecurityException e) {
      throw new IllegalStateException(e);
    }
  }

  /** Starts a login: the authorize URL and the signed state for the cookie. */
  public Start start(String callbackUrl, boolean newCliSecret) {
    Endpoints provider = endpoints();
    String state = randomText();
    String nonce = randomText();
    String verifier = randomText() + randomText();
    ObjectNode flow = json.createObjectNode();
    flow.put("state", state);
    flow.put("nonce", nonce);
    flow.put("verifier", verifier);
    flow.put("callback", callbackUrl);
    flow.put("renew", newCliSecret);
    flow.put("expires", clock.millis() + FLOW_LIFETIME.toMillis());
    String payload;
    try {
      payload =
          Base64.getUrlEncoder().withoutPadding().encodeToString(json.writeValueAsBytes(flow));
    } catch (IOException e) {
      throw new IllegalStateException(e);
    }
    Map<String, String> query = new LinkedHashMap<>();
    query.put("response_type", "code");
    query.put("client_id", config.clientId());
    query.put("redirect_uri", callbackUrl);
    query.put("scope", config.scopes().trim());
    query.put("state", state);
    query.put("nonce", nonce);
    query.put(
        "code_challenge", Base64.getUrlEncoder().withoutPadding().encodeToString(sha256(verifier)));
    query.put("code_challenge_method", "S256");
    String separator = provider.authorization().getRawQuery() == null ? "?" : "&";
    return new Start(
        URI.create(provider.authorization() + separator + form(query)),
        payload + "." + sign(payload));
  }

  /**
   * Finishes a login at the callback: checks the cookie and state, exchanges the code and
   * verifies the ID token. 401 for anything a browser or attacker sent wrong, 503 when the
   * provider cannot be reached.
   */
  public Identity finish(String cookie, String state, String code) {
    JsonNode flow = verifyCookie(cookie);
    if (state == null
        || !MessageDigest.isEqual(
            state.getBytes(StandardCharsets.UTF_8),
            flow.path("state").asText().getBytes(StandardCharsets.UTF_8))) {
      throw refused("the state does not match this browser's login; start again");
    }
    if (code == null || code.isEmpty()) {
      throw refused("the provider sent no code");
    }
    Endpoints provider = endpoints();
    Map<String, String> form = new LinkedHashMap<>();
    form.put("grant_type", "authorization_code");
    form.put("code", code);
    form.put("redirect_uri", flow.path("callback").asText());
    form.put("code_verifier", flow.path("verifier").asText());
    form.put("client_id", config.clientId());
    HttpRequest.Builder request = HttpRequest.newBuilder(provider.token())
        .timeout(Duration.ofSeconds(15))
        .header("Content-Type", "application/x-www-form-urlencoded")
        .header("Accept", "application/json")
        .POST(HttpRequest.BodyPublishers.ofString(form(form)));
    if (!config.clientSecret().isEmpty()) {
      request.header(
          "Authorization",
          "Basic "
              + Base64.getEncoder()
                  .encodeToString((encode(config.clientId()) + ":" + encode(config.clientSecret()))
                      .getBytes(StandardCharsets.UTF_8)));
    }
    HttpResponse<byte[]> response = send(request.build(), "exchanging the code");
    if (response.statusCode() != 200) {
      log.info("OIDC token endpoint refused a code: HTTP {}", response.statusCode());
      throw refused("the identity provider refused the code (used already, or expired)");
    }
    String idToken;
    String accessToken;
    try {
      JsonNode answer = json.readTree(response.body());
      idToken = answer.path("id_token").asText("");
      accessToken = answer.path("access_token").asText("");
    } catch (IOException e) {
      throw refused("the identity provider's token answer is not JSON");
    }
    if (idToken.isEmpty()) {
      throw refused("the identity provider sent no ID token");
    }
    JWTClaimsSet claims;
    try {
      claims = provider.processor().process(idToken, null);
    } catch (Exception e) {
      log.info("OIDC ID token refused: {}", e.getMessage());
      throw refused("the ID token is not valid: " + e.getMessage());
    }
    if (!MessageDigest.isEqual(
        flow.path("nonce").asText().getBytes(StandardCharsets.UTF_8),
        String.valueOf(claims.getClaim("nonce")).getBytes(StandardCharsets.UTF_8))) {
      throw refused("the ID token's nonce does not match this login");
    }
    Map<String, Object> userInfo = Map.of();
    boolean thin = claims.getClaim(config.usernameClaim()) == null
        || (!config.groupsClaim().isEmpty() && claims.getClaim(config.groupsClaim()) == null);
    if (thin && provider.userInfo() != null && !accessToken.isEmpty()) {
      userInfo = userInfo(provider.userInfo(), accessToken, claims.getSubject());
    }
    Object name = claim(claims, userInfo, config.usernameClaim());
    String username = ExternalUserService.username(name == null ? null : name.toString())
        .orElseThrow(() -> refused("the claim '" + config.usernameClaim()
            + "' (ID token, or userinfo) is missing or not a usable user name (nor may it be"
            + " 'admin')"));
    Set<String> groups = config.groupsClaim().isEmpty()
        ? new TreeSet<>()
        : groups(claim(claims, userInfo, config.groupsClaim()));
    Object email = claim(claims, userInfo, "email");
    return new Identity(
        config.issuer() + "#" + claims.getSubject(),
        username,
        email == null ? null : email.toString(),
        groups,
        flow.path("renew").asBoolean(false));
  }

  /** A claim from the ID token, else from the userinfo answer; null in neither. */
  private static Object claim(JWTClaimsSet idToken, Map<String, Object> userInfo, String name) {
    Object value = idToken.getClaim(name);
    return value != null ? value : userInfo.get(name);
  }

  /** A groups claim as names: a list of them, or one name alone. */
  static Set<String> groups(Object claim) {
    Set<String> groups = new TreeSet<>();
    if (claim instanceof List<?> list) {
      list.forEach(group -> groups.add(String.valueOf(group)));
    } else if (claim instanceof String single) {
      groups.add(single);
    }
    return groups;
  }

  /**
   * The userinfo endpoint's claims for the access token, or none when it fails or answers for
   * another subject. Strings stay strings, arrays become lists of strings.
   */
  private Map<String, Object> userInfo(URI endpoint, String accessToken, String subject) {
    HttpResponse<byte[]> response;
    try {
      response = send(
          HttpRequest.newBuilder(endpoint)
              .timeout(Duration.ofSeconds(15))
              .header("Authorization", "Bearer " + accessToken)
              .header("Accept", "application/json")
              .GET()
              .build(),
          "reading its userinfo endpoint");
    } catch (RegistryException e) {
      return Map.of(); // logged by send; the ID token's claims are used alone
    }
    if (response.statusCode() != 200) {
      log.warn(
          "OIDC userinfo endpoint answered HTTP {}; using the ID token's claims alone",
          response.statusCode());
      return Map.of();
    }
    try {
      return userInfoClaims(json.readTree(response.body()), subject);
    } catch (IOException e) {
      log.warn("OIDC userinfo answer is not JSON (a signed one is not supported); using the ID"
          + " token's claims alone");
      return Map.of();
    }
  }

  /** The claims of a userinfo answer, if it is an object about {@code subject}; else none. */
  static Map<String, Object> userInfoClaims(JsonNode answer, String subject) {
    if (answer == null || !answer.isObject()) {
      return Map.of();
    }
    if (subject == null || !subject.equals(answer.path("sub").asText(null))) {
      log.warn("OIDC userinfo answer is about another subject; its claims are not used");
      return Map.of();
    }
    Map<String, Object> claims = new LinkedHashMap<>();
    answer.properties().forEach(field -> {
      JsonNode value = field.getValue();
      if (value.isArray()) {
        List<String> items = new ArrayList<>();
        value.forEach(item -> items.add(item.asText()));
        claims.put(field.getKey(), items);
      } else if (value.isValueNode() && !value.isNull()) {
        claims.put(field.getKey(), value.asText());
      }
    });
    return claims;
  }

  /** Whether the admin group is configured and among the groups; null when not configured. */
  public Boolean admin(Set<String> groups) {
    return config.adminGroup().isEmpty() ? null : groups.contains(config.adminGroup());
  }

  private JsonNode verifyCookie(String cookie) {
    if (cookie == null || cookie.indexOf('.') < 0) {
      throw refused("no login in progress in this browser; start at /api/v1/oidc/login");
    }
    String payload = cookie.substring(0, cookie.indexOf('.'));
    String signature = cookie.substring(cookie.indexOf('.') + 1);
    if (!MessageDigest.isEqual(
        sign(payload).getBytes(StandardCharsets.UTF_8),
        signature.getBytes(StandardCharsets.UTF_8))) {
      throw refused("the login state was tampered with; start again");
    }
    JsonNode flow;
    try {
      flow = json.readTree(Base64.getUrlDecoder().decode(payload));
    } catch (IOException | IllegalArgumentException e) {
      throw refused("the login state is not readable; start again");
    }
    if (flow.path("expires").asLong(0) < clock.millis()) {
      throw refused("the login took too long; start again");
    }
    return flow;
  }

  /** The discovery document, read once (again after a failure). */
  private Endpoints endpoints() {
    Endpoints known = endpoints;
    if (known != null) {
      return known;
    }
    synchronized (this) {
      if (endpoints != null) {
        return endpoints;
      }
      String issuer = config.issuer();
      URI discovery =
          URI.create((issuer.endsWith("/") ? issuer.substring(0, issuer.length() - 1) : issuer)
              + "/.well-known/openid-configuration");
      HttpResponse<byte[]> response = send(
          HttpRequest.newBuilder(discovery)
              .timeout(Duration.ofSeconds(15))
              .GET()
              .build(),
          "reading its discovery document");
      JsonNode document;
      try {
        document = response.statusCode() == 200 ? json.readTree(response.body()) : null;
      } catch (IOException e) {
        document = null;
      }
      if (document == null
          || !document.path("issuer").asText().equals(issuer)
          || !document.hasNonNull("authorization_endpoint")
          || !document.hasNonNull("token_endpoint")
          || !document.hasNonNull("jwks_uri")) {
        log.warn(
            "OIDC discovery at {} failed: HTTP {}, or its issuer is not {}",
            discovery,
            response.statusCode(),
            issuer);
        throw new RegistryException(
            ErrorCode.UNAVAILABLE, "the identity provider's discovery document is not usable");
      }
      DefaultJWTProcessor<SecurityContext> processor = new DefaultJWTProcessor<>();
      try {
        processor.setJWSKeySelector(new JWSVerificationKeySelector<>(
            ALGORITHMS,
            JWKSourceBuilder.<SecurityContext>create(
                    URI.create(document.path("jwks_uri").asText()).toURL(),
                    new DefaultResourceRetriever(5_000, 5_000, 512 << 10))
                .build()));
      } catch (java.net.MalformedURLException e) {
        throw new RegistryException(ErrorCode.UNAVAILABLE, "the provider's jwks_uri is not a URL");
      }
      processor.setJWTClaimsSetVerifier(new DefaultJWTClaimsVerifier<>(
          config.clientId(),
          new JWTClaimsSet.Builder().issuer(issuer).build(),
          Set.of("sub", "exp", "iat", "nonce")));
      endpoints = new Endpoints(
          URI.create(document.path("authorization_endpoint").asText()),
          URI.create(document.path("token_endpoint").asText()),
          document.hasNonNull("userinfo_endpoint")
              ? URI.create(document.path("userinfo_endpoint").asText())
              : null,
          processor);
      return endpoints;
    }
  }

  private HttpResponse<byte[]> send(HttpRequest request, String what) {
    try {
      return http.send(request, HttpResponse.BodyHandlers.ofByteArray());
    } catch (IOException e) {
      log.warn("OIDC provider {} failed while {}: {}", config.issuer(), what, e.toString());
      throw new RegistryException(
          ErrorCode.UNAVAILABLE, "the identity provider cannot be reached; try again later");
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
      throw new RegistryException(ErrorCode.UNAVAILABLE, "interrupted");
    }
  }

  private String sign(String payload) {
    try {
      Mac mac = Mac.getInstance("HmacSHA256");
      mac.init(new SecretKeySpec(stateKey, "HmacSHA256"));
      return Base64.getUrlEncoder()
          .withoutPadding()
          .encodeToString(mac.doFinal(payload.getBytes(StandardCharsets.US_ASCII)));
    } catch (GeneralSecurityException e) {
      throw new IllegalStateException(e);
    }
  }

  private String randomText() {
    byte[] bytes = new byte[24];
    random.nextBytes(bytes);
    return Base64.getUrlEncoder().withoutPadding().encodeToString(bytes);
  }

  private static byte[] sha256(String text) {
    try {
      return MessageDigest.getInstance("SHA-256").digest(text.getBytes(StandardCharsets.US_ASCII));
    } catch (GeneralSecurityException e) {
      throw new IllegalStateException(e);
    }
  }

  private static String form(Map<String, String> values) {
    StringBuilder out = new StringBuilder();
    values.forEach((key, value) -> {
      if (!out.isEmpty()) {
        out.append('&');
      }
      out.append(encode(key)).append('=').append(encode(value));
    });
    return out.toString();
  }

  private static String encode(String value) {
    return URLEncoder.encode(value, StandardCharsets.UTF_8);
  }

  private static RegistryException refused(String message) {
    return new RegistryException(ErrorCode.UNAUTHORIZED, "OIDC login refused: " + message);
  }
}
