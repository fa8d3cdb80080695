package dev.berth.server;

import static dev.berth.server.Logins.basic;
import static dev.berth.server.Logins.text;
import static org.assertj.core.api.Assertions.assertThat;

import com.fasterxml.jackson.databind.JsonNode;
import com.nimbusds.oauth2.sdk.TokenRequest;
import java.net.CookieManager;
import java.net.URI;
import java.net.URLEncoder;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.List;
import java.util.Map;
import no.nav.security.mock.oauth2.MockOAuth2Server;
import no.nav.security.mock.oauth2.token.DefaultOAuth2TokenCallback;
import no.nav.security.mock.oauth2.token.OAuth2TokenCallback;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

/**
 * {@code auth.provider: oidc} against a real OpenID Connect provider (NAV's mock-oauth2-server,
 * over HTTP on a port): the browser's authorization code flow followed with redirects, the user
 * created with its groups, its CLI secret used by registry clients, refusals of a tampered
 * state and a replayed code, and a thin ID token completed from the userinfo endpoint.
 */
class OidcLoginTest {
  private static final String ADMIN_PASSWORD = "Admin-Secret-1";
  private static MockOAuth2Server provider;
  private static InProcessBerth berth;

  @BeforeAll
  static void start() throws Exception {
    provider = new MockOAuth2Server();
    provider.start();
    berth = InProcessBerth.withAuth(
        ADMIN_PASSWORD,
        Map.of(
            "auth.provider", "oidc",
            "auth.oidc.issuer", provider.issuerUrl("default").toString(),
            "auth.oidc.client-id", "berth",
            "auth.oidc.client-secret", "berth-client-secret",
            "auth.oidc.admin-group", "registry-admins"));
    berth.start();
  }

  @AfterAll
  static void stop() throws Exception {
    if (berth != null) {
      berth.close();
    }
    if (provider != null) {
      provider.shutdown();
    }
  }

  @Test
  void aPersonLogsInWithTheBrowserAndUsesTheCliSecretWithRegistryClients() throws Exception {
    nextLogin("grace", List.of("oidc-devs", "readers"));
    HttpResponse<String> page = browser()
        .send(
            HttpRequest.newBuilder(berth.uri("/api/v1/oidc/login")).build(),
            HttpResponse.BodyHandlers.ofString());

    assertThat(page.statusCode()).as(page.body()).isEqualTo(200);
    JsonNode login = InProcessBerth.JSON.readTree(page.body());
    assertThat(login.path("username").asText()).isEqualTo("grace");
    assertThat(login.path("groups").toString()).isEqualTo("[\"oidc-devs\",\"readers\"]");
    assertThat(login.path("admin").asBoolean()).isFalse();
    String secret = login.path("cliSecret").asText();
    assertThat(secret).hasSize(32);

    HttpResponse<byte[]> user = berth.get("/api/v1/users/grace", basic("admin", ADMIN_PASSWORD));
    assertThat(InProcessBerth.json(user).path("source").asText()).isEqualTo("oidc");

    // The CLI secret is the password for /v2 and the token endpoint; nothing else is.
    assertThat(berth.get("/v2/", basic("grace", secret)).statusCode()).isEqualTo(200);
    assertThat(berth.get("/v2/", basic("grace", "not-the-secret")).statusCode()).isEqualTo(401);
    Logins.projectWithGroup(
        berth, "oidc-team", "oidc-devs", "developer", basic("admin", ADMIN_PASSWORD));
    assertThat(Logins.pushImage(berth, "oidc-team/app", "v1", basic("grace", secret)))
        .isEqualTo(201);
    HttpResponse<byte[]> token = berth.get(
        "/service/token?service=berth&scope="
            + URLEncoder.encode("repository:oidc-team/app:pull,push", StandardCharsets.UTF_8),
        basic("grace", secret));
    assertThat(token.statusCode()).isEqualTo(200);
    String bearer = "Bearer " + InProcessBerth.json(token).path("token").asText();
    assertThat(
            berth.get("/v2/oidc-team/app/manifests/v1", "Authorization", bearer).statusCode())
        .isEqualTo(200);

    // A new secret replaces the old one at once.
    HttpResponse<byte[]> rotated =
        berth.post("/api/v1/users/grace/cli-secret", new byte[0], basic("grace", secret));
    assertThat(rotated.statusCode()).as(text(rotated)).isEqualTo(200);
    String renewed = InProcessBerth.json(rotated).path("cliSecret").asText();
    assertThat(berth.get("/v2/", basic("grace", secret)).statusCode()).isEqualTo(401);
    assertThat(berth.get("/v2/", basic("grace", renewed)).statusCode()).isEqualTo(200);
    // Nobody else renews grace's secret, not even an administrator.
    assertThat(berth
            .post("/api/v1/users/grace/cli-secret", new byte[0], basic("admin", ADMIN_PASSWORD))
            .statusCode())
        .isEqualTo(403);

    // A second browser login keeps the secret unless a new one is asked for.
    nextLogin("grace", List.of("oidc-devs"));
    JsonNode again = InProcessBerth.JSON.readTree(browser()
        .send(
            HttpRequest.newBuilder(berth.uri("/api/v1/oidc/login")).build(),
            HttpResponse.BodyHandlers.ofString())
        .body());
    assertThat(again.has("cliSecret")).isFalse();
    assertThat(berth.get("/v2/", basic("grace", renewed)).statusCode()).isEqualTo(200);
  }

  @Test
  void theAdminGroupMakesASystemAdministrator() throws Exception {
    nextLogin("heidi", List.of("registry-admins"));
    JsonNode login = InProcessBerth.JSON.readTree(browser()
        .send(
            HttpRequest.newBuilder(berth.uri("/api/v1/oidc/login")).build(),
            HttpResponse.BodyHandlers.ofString())
        .body());
    assertThat(login.path("admin").asBoolean()).isTrue();
    assertThat(berth
            .get("/api/v1/users", basic("heidi", login.path("cliSecret").asText()))
            .statusCode())
        .isEqualTo(200);
  }

  @Test
  void aTamperedStateOrCookieAndAReplayedCodeAreRefused() throws Exception {
    HttpClient plain = HttpClient.newBuilder()
        .version(HttpClient.Version.HTTP_1_1)
        .followRedirects(HttpClient.Redirect.NEVER)
        .connectTimeout(Duration.ofSeconds(5))
        .build();
    HttpResponse<byte[]> start = berth.get("/api/v1/oidc/login");
    assertThat(start.statusCode()).isEqualTo(302);
    String cookie = start.headers().firstValue("Set-Cookie").orElseThrow().split(";")[0];
    URI authorize = URI.create(start.headers().firstValue("Location").orElseThrow());
    assertThat(authorize.getRawQuery()).contains("code_challenge_method=S256", "nonce=", "state=");
    nextLogin("ivan", List.of());
    HttpResponse<String> atProvider =
        plain.send(HttpRequest.newBuilder(authorize).build(), HttpResponse.BodyHandlers.ofString());
    assertThat(atProvider.statusCode()).as(atProvider.body()).isEqualTo(302);
    String callback = atProvider.headers().firstValue("Location").orElseThrow();
    assertThat(callback).startsWith(berth.uri("/api/v1/oidc/callback").toString());

    String state = query(callback, "state");
    String otherState = callback.replace("state=" + state, "state=x" + state);
    assertThat(berth.get(otherState, "Cookie", cookie).statusCode()).isEqualTo(401);
    String value = cookie.substring(cookie.indexOf('=') + 1);
    String forged = "berth_oidc=" + (value.charAt(0) == 'e' ? 'f' : 'e') + value.substring(1);
    assertThat(berth.get(callback, "Cookie", forged).statusCode()).isEqualTo(401);
    assertThat(berth.get(callback).statusCode()).isEqualTo(401);

    HttpResponse<byte[]> done = berth.get(callback, "Cookie", cookie);
    assertThat(done.statusCode()).as(text(done)).isEqualTo(200);
    assertThat(InProcessBerth.json(done).path("username").asText()).isEqualTo("ivan");

    HttpResponse<byte[]> replayed = berth.get(callback, "Cookie", cookie);
    assertThat(replayed.statusCode()).as(text(replayed)).isEqualTo(401);
  }

  @Test
  void theBrowserLoginStartsASessionAndIsOnRecord() throws Exception {
    nextLogin("judy", List.of("oidc-devs"));
    CookieManager cookies = new CookieManager();
    HttpClient browser = HttpClient.newBuilder()
        .version(HttpClient.Version.HTTP_1_1)
        .followRedirects(HttpClient.Redirect.NORMAL)
        .cookieHandler(cookies)
        .connectTimeout(Duration.ofSeconds(5))
        .build();
    HttpResponse<String> page = browser.send(
        HttpRequest.newBuilder(berth.uri("/api/v1/oidc/login")).build(),
        HttpResponse.BodyHandlers.ofString());
    assertThat(page.statusCode()).as(page.body()).isEqualTo(200);
    String csrf = InProcessBerth.JSON.readTree(page.body()).path("csrfToken").asText();
    assertThat(csrf).isNotEmpty();
    assertThat(page.headers().allValues("Set-Cookie"))
        .anySatisfy(c -> assertThat(c).startsWith("berth_session=").contains("HttpOnly"));

    // The cookie is a session like one from POST /api/v1/session: the user, the same CSRF token.
    HttpResponse<String> session = browser.send(
        HttpRequest.newBuilder(berth.uri("/api/v1/session")).build(),
        HttpResponse.BodyHandlers.ofString());
    assertThat(session.statusCode()).as(session.body()).isEqualTo(200);
    JsonNode who = InProcessBerth.JSON.readTree(session.body());
    assertThat(who.path("username").asText()).isEqualTo("judy");
    assertThat(who.path("csrfToken").asText()).isEqualTo(csrf);
    HttpRequest.Builder rotate = HttpRequest.newBuilder(berth.uri("/api/v1/users/judy/cli-secret"))
        .POST(HttpRequest.BodyPublishers.noBody());
    assertThat(
            browser.send(rotate.build(), HttpResponse.BodyHandlers.ofString()).statusCode())
        .as("a change without the CSRF token")
        .isEqualTo(403);
    assertThat(browser
            .send(rotate.header("X-CSRF-Token", csrf).build(), HttpResponse.BodyHandlers.ofString())
            .statusCode())
        .isEqualTo(200);

    // A refused login is on record too.
    assertThat(berth.get("/api/v1/oidc/callback?error=access_denied").statusCode())
        .isEqualTo(401);
    String logins = InProcessBerth.json(
            berth.get("/api/v1/audit-logs?action=login&n=100", basic("admin", ADMIN_PASSWORD)))
        .toString();
    assertThat(logins)
        .contains("\"actor\":\"judy\"", "\"method\":\"oidc\"", "access_denied")
        .doesNotContain(csrf);
  }

  @Test
  void theProviderCannotLogInAsTheLocalAdmin() throws Exception {
    nextLogin("admin", List.of("registry-admins"));
    HttpResponse<String> page = browser()
        .send(
            HttpRequest.newBuilder(berth.uri("/api/v1/oidc/login")).build(),
            HttpResponse.BodyHandlers.ofString());
    assertThat(page.statusCode()).isEqualTo(401);
    assertThat(berth.get("/v2/", basic("admin", ADMIN_PASSWORD)).statusCode()).isEqualTo(200);
  }

  @Test
  void aThinIdTokenIsCompletedFromTheUserinfoEndpoint() throws Exception {
    ThinIdToken tokens = new ThinIdToken(
        "subject-ivan", Map.of("preferred_username", "ivan", "groups", List.of("registry-admins")));
    provider.enqueueCallback(tokens);
    HttpResponse<String> page = browser()
        .send(
            HttpRequest.newBuilder(berth.uri("/api/v1/oidc/login")).build(),
            HttpResponse.BodyHandlers.ofString());

    assertThat(tokens.thinTokens()).as("ID tokens issued without the profile").isEqualTo(1);
    assertThat(page.statusCode()).as(page.body()).isEqualTo(200);
    JsonNode login = InProcessBerth.JSON.readTree(page.body());
    assertThat(login.path("username").asText()).isEqualTo("ivan");
    assertThat(login.path("groups").toString()).isEqualTo("[\"registry-admins\"]");
    assertThat(login.path("admin").asBoolean()).isTrue();
    assertThat(berth
            .get("/api/v1/users", basic("ivan", login.path("cliSecret").asText()))
            .statusCode())
        .isEqualTo(200);
  }

  /**
   * A provider that keeps the ID token thin (its subject only) and puts the profile in the access
   * token, which mock-oauth2-server's userinfo endpoint answers with. The two tokens are told
   * apart by {@code audience}, which the mock asks for the access token only; {@link
   * #thinTokens} counts the tokens issued without the claims, so a mock that changed this would
   * fail the test rather than let it pass on a full ID token.
   */
  private static final class ThinIdToken implements OAuth2TokenCallback {
    private final String subject;
    private final Map<String, Object> accessTokenClaims;
    private boolean accessToken;
    private int thinTokens;

    ThinIdToken(String subject, Map<String, Object> accessTokenClaims) {
      this.subject = subject;
      this.accessTokenClaims = accessTokenClaims;
    }

    @Override
    public String issuerId() {
      return "default";
    }

    @Override
    public String subject(TokenRequest request) {
      return subject;
    }

    @Override
    public String typeHeader(TokenRequest request) {
      return "JWT";
    }

    @Override
    public synchronized List<String> audience(TokenRequest request) {
      accessToken = true;
      return List.of("berth-api");
    }

    @Override
    public synchronized Map<String, Object> addClaims(TokenRequest request) {
      Map<String, Object> claims = accessToken ? accessTokenClaims : Map.of();
      thinTokens += accessToken ? 0 : 1;
      accessToken = false;
      return claims;
    }

    synchronized int thinTokens() {
      return thinTokens;
    }

    @Override
    public long tokenExpiry() {
      return 3600;
    }
  }

  /** What the provider puts in the next ID token it issues. */
  private static void nextLogin(String username, List<String> groups) {
    provider.enqueueCallback(new DefaultOAuth2TokenCallback(
        "default",
        "subject-" + username,
        "JWT",
        null,
        Map.of(
            "preferred_username", username, "groups", groups, "email", username + "@example.org"),
        3600));
  }

  /** A browser: follows redirects and keeps cookies. */
  private static HttpClient browser() {
    return HttpClient.newBuilder()
        .version(HttpClient.Version.HTTP_1_1)
        .followRedirects(HttpClient.Redirect.NORMAL)
        .cookieHandler(new CookieManager())
        .connectTimeout(Duration.ofSeconds(5))
        .build();
  }

  private static String query(String url, String name) {
    for (String pair : URI.create(url).getRawQuery().split("&")) {
      if (pair.startsWith(name + "=")) {
        return pair.substring(name.length() + 1);
      }
    }
    throw new AssertionError("no " + name + " in " + url);
  }
}
