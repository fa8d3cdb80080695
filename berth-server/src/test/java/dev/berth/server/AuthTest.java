package dev.berth.server;

import static org.assertj.core.api.Assertions.assertThat;

import com.fasterxml.jackson.databind.JsonNode;
import java.net.URLEncoder;
import java.net.http.HttpResponse;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.Base64;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

/**
 * Access control on {@code /v2} and the token endpoint (issue 4 §2–3), against a server with
 * {@code auth.enabled: true}: the Docker token protocol's challenge, Basic credentials, bearer
 * tokens and their scopes, projects created by a push, public and private projects, the
 * catalog filtered to what the caller may pull, and the management API's users and members.
 */
class AuthTest {
  private static final String ADMIN_PASSWORD = "Admin-Secret-1";
  private static InProcessBerth berth;

  @BeforeAll
  static void start() throws Exception {
    berth = InProcessBerth.withAuth(ADMIN_PASSWORD, Map.of());
    berth.start();
    createUser("alice", "alice-password");
    createUser("bob", "bob-password");
  }

  @AfterAll
  static void stop() throws Exception {
    berth.close();
  }

  @Test
  void anAnonymousRequestIsChallengedAsTheTokenSpecificationSays() {
    HttpResponse<byte[]> base = berth.get("/v2/");

    assertThat(base.statusCode()).isEqualTo(401);
    assertThat(base.headers().firstValue("WWW-Authenticate"))
        .hasValue("Bearer realm=\"http://127.0.0.1:" + berth.port()
            + "/service/token\",service=\"berth\"");
    assertThat(errorCode(base)).isEqualTo("UNAUTHORIZED");

    HttpResponse<byte[]> manifest = berth.get("/v2/private-stuff/app/manifests/v1");
    assertThat(manifest.statusCode()).isEqualTo(401);
    assertThat(manifest.headers().firstValue("WWW-Authenticate").orElseThrow())
        .contains("scope=\"repository:private-stuff/app:pull\"");
  }

  @Test
  void basicCredentialsAreAcceptedAndWrongOnesRefused() {
    assertThat(berth.get("/v2/", basic("admin", ADMIN_PASSWORD)).statusCode()).isEqualTo(200);
    assertThat(berth.get("/v2/", basic("alice", "alice-password")).statusCode()).isEqualTo(200);
    assertThat(berth.get("/v2/", basic("alice", "wrong")).statusCode()).isEqualTo(401);
    assertThat(berth.get("/v2/", basic("nobody", "whatever1")).statusCode()).isEqualTo(401);
    assertThat(berth.get("/v2/", "Authorization", "Basic !!!").statusCode()).isEqualTo(401);
  }

  @Test
  void aPushIntoAMissingProjectCreatesItWithThePusherAsProjectAdmin() {
    String image = pushImage("alice-team/app", "v1", basic("alice", "alice-password"));

    assertThat(berth
            .get("/v2/alice-team/app/manifests/v1", basic("alice", "alice-password"))
            .statusCode())
        .isEqualTo(200);
    JsonNode members = InProcessBerth.json(
        berth.get("/api/v1/projects/alice-team/members", basic("alice", "alice-password")));
    assertThat(members.path("members").toString())
        .contains("\"name\":\"alice\"", "\"role\":\"project-admin\"");

    // bob is no member: the private project looks as if it did not exist.
    HttpResponse<byte[]> hidden =
        berth.get("/v2/alice-team/app/manifests/" + image, basic("bob", "bob-password"));
    assertThat(hidden.statusCode()).isEqualTo(404);
    assertThat(errorCode(hidden)).isEqualTo("NAME_UNKNOWN");
    HttpResponse<byte[]> denied = berth.put(
        "/v2/alice-team/app/manifests/v2",
        Content.utf8("{}"),
        "Content-Type",
        Content.OCI_MANIFEST,
        "Authorization",
        basicValue("bob", "bob-password"));
    assertThat(denied.statusCode()).isEqualTo(403);
    assertThat(errorCode(denied)).isEqualTo("DENIED");
    assertThat(new String(denied.body(), StandardCharsets.UTF_8)).contains("bob", "push");

    // Made a guest, bob may pull but still not push or delete.
    memberPut("alice-team", "bob", "guest", basic("alice", "alice-password"));
    assertThat(berth
            .get("/v2/alice-team/app/manifests/v1", basic("bob", "bob-password"))
            .statusCode())
        .isEqualTo(200);
    assertThat(berth
            .delete("/v2/alice-team/app/manifests/v1", basic("bob", "bob-password"))
            .statusCode())
        .isEqualTo(403);
  }

  @Test
  void aTokenGrantsOnlyWhatTheCallerMayDoAndIsCheckedOnEveryRequest() {
    pushImage("token-team/app", "v1", basic("alice", "alice-password"));

    JsonNode aliceToken =
        token(basic("alice", "alice-password"), "repository:token-team/app:pull,push,delete");
    String bearer = "Bearer " + aliceToken.path("token").asText();
    assertThat(aliceToken.path("access_token").asText())
        .isEqualTo(aliceToken.path("token").asText());
    assertThat(aliceToken.path("expires_in").asLong()).isEqualTo(300);
    assertThat(berth
            .get("/v2/token-team/app/manifests/v1", "Authorization", bearer)
            .statusCode())
        .isEqualTo(200);

    // bob asks for the same and gets a token without those grants (not an error).
    JsonNode bobToken = token(basic("bob", "bob-password"), "repository:token-team/app:pull,push");
    HttpResponse<byte[]> refused = berth.get(
        "/v2/token-team/app/manifests/v1",
        "Authorization",
        "Bearer " + bobToken.path("token").asText());
    assertThat(refused.statusCode()).isEqualTo(401);
    assertThat(refused.headers().firstValue("WWW-Authenticate").orElseThrow())
        .contains("scope=\"repository:token-team/app:pull\"", "error=\"insufficient_scope\"");

    // A token for one repository does not open another.
    assertThat(berth
            .get("/v2/alice-other/app/manifests/v1", "Authorization", bearer)
            .statusCode())
        .isEqualTo(401);
  }

  @Test
  void tamperedTokensAreRefused() {
    pushImage("tamper/app", "v1", basic("alice", "alice-password"));
    String token = token(basic("alice", "alice-password"), "repository:tamper/app:pull")
        .path("token")
        .asText();
    String[] parts = token.split("\\.");
    Base64.Encoder url = Base64.getUrlEncoder().withoutPadding();
    String noneHeader =
        url.encodeToString("{\"alg\":\"none\",\"typ\":\"JWT\"}".getBytes(StandardCharsets.UTF_8));
    String payload = new String(Base64.getUrlDecoder().decode(parts[1]), StandardCharsets.UTF_8);
    String otherPayload = url.encodeToString(
        payload.replace("tamper/app", "alice-team/app").getBytes(StandardCharsets.UTF_8));

    for (String forged : List.of(
        noneHeader + "." + parts[1] + ".",
        parts[0] + "." + otherPayload + "." + parts[2],
        parts[0] + "." + parts[1] + "." + parts[2].substring(0, parts[2].length() - 4) + "AAAA",
        "not-a-jwt")) {
      HttpResponse<byte[]> response =
          berth.get("/v2/tamper/app/manifests/v1", "Authorization", "Bearer " + forged);
      assertThat(response.statusCode()).as(forged).isEqualTo(401);
      assertThat(response.headers().firstValue("WWW-Authenticate").orElseThrow())
          .contains("error=\"invalid_token\"");
    }
  }

  @Test
  void anonymousCallersPullPublicProjectsAndGetAnonymousTokens() {
    // "library" is created public at the first start; admin pushes a one-component name into it.
    pushImage("public-base", "v1", basic("admin", ADMIN_PASSWORD));

    assertThat(berth.get("/v2/public-base/manifests/v1").statusCode()).isEqualTo(200);
    JsonNode anonymous = InProcessBerth.json(berth.get(
        "/service/token?service=berth&scope=" + encode("repository:public-base:pull,push")));
    HttpResponse<byte[]> pull = berth.get(
        "/v2/public-base/manifests/v1",
        "Authorization",
        "Bearer " + anonymous.path("token").asText());
    assertThat(pull.statusCode()).isEqualTo(200);
    HttpResponse<byte[]> push = berth.put(
        "/v2/public-base/manifests/v2",
        Content.utf8("{}"),
        "Content-Type",
        Content.OCI_MANIFEST,
        "Authorization",
        "Bearer " + anonymous.path("token").asText());
    assertThat(push.statusCode()).isEqualTo(401);
    assertThat(berth.put("/v2/public-base/manifests/v2", Content.utf8("{}")).statusCode())
        .isEqualTo(401);
  }

  @Test
  void theCatalogListsOnlyWhatTheCallerMayPull() {
    pushImage("catalog-alice/one", "v1", basic("alice", "alice-password"));
    pushImage("catalog-bob/two", "v1", basic("bob", "bob-password"));

    List<String> alice = catalog(basic("alice", "alice-password"));
    List<String> bob = catalog(basic("bob", "bob-password"));
    List<String> admin = catalog(basic("admin", ADMIN_PASSWORD));

    assertThat(alice).contains("catalog-alice/one").doesNotContain("catalog-bob/two");
    assertThat(bob).contains("catalog-bob/two").doesNotContain("catalog-alice/one");
    assertThat(admin).contains("catalog-alice/one", "catalog-bob/two");
  }

  @Test
  void theTokenEndpointSpeaksOAuth2PasswordAndRefreshGrants() {
    HttpResponse<byte[]> issued = berth.post(
        "/service/token",
        Content.utf8("grant_type=password&service=berth&client_id=test&access_type=offline"
            + "&username=alice&password=alice-password&scope="
            + encode("repository:alice-team/app:pull")),
        "Content-Type",
        "application/x-www-form-urlencoded");
    assertThat(issued.statusCode()).isEqualTo(200);
    JsonNode body = InProcessBerth.json(issued);
    assertThat(body.path("access_token").asText()).isNotEmpty();
    String refresh = body.path("refresh_token").asText();
    assertThat(refresh).isNotEmpty();

    HttpResponse<byte[]> refreshed = berth.post(
        "/service/token",
        Content.utf8("grant_type=refresh_token&service=berth&refresh_token=" + refresh + "&scope="
            + encode("repository:alice-team/app:pull")),
        "Content-Type",
        "application/x-www-form-urlencoded");
    assertThat(refreshed.statusCode()).isEqualTo(200);
    assertThat(InProcessBerth.json(refreshed).path("access_token").asText()).isNotEmpty();

    HttpResponse<byte[]> wrong = berth.post(
        "/service/token",
        Content.utf8("grant_type=password&username=alice&password=nope"),
        "Content-Type",
        "application/x-www-form-urlencoded");
    assertThat(wrong.statusCode()).isEqualTo(401);
    HttpResponse<byte[]> unsupported =
        berth.post("/service/token", Content.utf8("grant_type=client_credentials"));
    assertThat(unsupported.statusCode()).isEqualTo(400);
  }

  @Test
  void garbageCollectionNeedsASystemAdministrator() {
    assertThat(berth.get("/api/v1/gc/runs").statusCode()).isEqualTo(401);
    assertThat(berth.get("/api/v1/gc/runs", basic("alice", "alice-password")).statusCode())
        .isEqualTo(403);
    assertThat(berth.get("/api/v1/gc/runs", basic("admin", ADMIN_PASSWORD)).statusCode())
        .isEqualTo(200);
  }

  @Test
  void theGcCommandUsesBerthUserAndSaysWhatIsMissing() {
    String server = "http://127.0.0.1:" + berth.port();
    java.io.ByteArrayOutputStream out = new java.io.ByteArrayOutputStream();
    java.io.PrintStream print = new java.io.PrintStream(out, true, StandardCharsets.UTF_8);

    assertThat(
            Main.run(new String[] {"gc", "--server", server, "--dry-run"}, Map.of(), print, print))
        .isEqualTo(1);
    assertThat(out.toString(StandardCharsets.UTF_8)).contains("401", "BERTH_USER");

    out.reset();
    assertThat(Main.run(
            new String[] {"gc", "--server", server, "--dry-run", "--wait"},
            Map.of("BERTH_USER", "admin", "BERTH_PASSWORD", ADMIN_PASSWORD),
            print,
            print))
        .as(out.toString(StandardCharsets.UTF_8))
        .isZero();
    assertThat(out.toString(StandardCharsets.UTF_8)).contains("succeeded");
  }

  @Test
  void aChangedPasswordStopsTheOldOneAtOnce() {
    createUser("carol", "carol-password");
    assertThat(berth.get("/v2/", basic("carol", "carol-password")).statusCode()).isEqualTo(200);

    HttpResponse<byte[]> changed = berth.put(
        "/api/v1/users/carol/password",
        Content.utf8(
            "{\"currentPassword\":\"carol-password\",\"password\":\"carol-new-password\"}"),
        "Authorization",
        basicValue("carol", "carol-password"));
    assertThat(changed.statusCode()).isEqualTo(204);

    assertThat(berth.get("/v2/", basic("carol", "carol-password")).statusCode()).isEqualTo(401);
    assertThat(berth.get("/v2/", basic("carol", "carol-new-password")).statusCode())
        .isEqualTo(200);
    HttpResponse<byte[]> disabled = berth.put(
        "/api/v1/users/carol/disabled",
        Content.utf8("{\"disabled\":true}"),
        basic("admin", ADMIN_PASSWORD));
    assertThat(disabled.statusCode()).isEqualTo(204);
    assertThat(berth.get("/v2/", basic("carol", "carol-new-password")).statusCode())
        .isEqualTo(401);
    assertThat(berth
            .put(
                "/api/v1/users/admin/disabled",
                Content.utf8("{\"disabled\":true}"),
                basic("admin", ADMIN_PASSWORD))
            .statusCode())
        .isEqualTo(403);
  }

  @Test
  void aProjectRobotPushesIntoItsProjectOnlyAndARotatedSecretStopsAtOnce() {
    pushImage("robot-team/app", "v1", basic("alice", "alice-password"));
    HttpResponse<byte[]> created = berth.post(
        "/api/v1/robots",
        Content.utf8("{\"name\":\"ci\",\"project\":\"robot-team\","
            + "\"permissions\":{\"robot-team\":[\"pull\",\"push\"]},\"expiresInDays\":30}"),
        basic("alice", "alice-password"));
    assertThat(created.statusCode())
        .as(new String(created.body(), StandardCharsets.UTF_8))
        .isEqualTo(201);
    JsonNode robot = InProcessBerth.json(created);
    assertThat(robot.path("name").asText()).isEqualTo("robot$robot-team+ci");
    String secret = robot.path("secret").asText();
    assertThat(secret).hasSize(32);

    pushImage("robot-team/app", "from-ci", basic("robot$robot-team+ci", secret));
    HttpResponse<byte[]> elsewhere = berth.put(
        "/v2/alice-team/app/manifests/from-ci",
        Content.utf8("{}"),
        with(basic("robot$robot-team+ci", secret), "Content-Type", Content.OCI_MANIFEST));
    assertThat(elsewhere.statusCode()).isEqualTo(403);
    assertThat(berth
            .delete("/v2/robot-team/app/manifests/v1", basic("robot$robot-team+ci", secret))
            .statusCode())
        .as("no delete permission")
        .isEqualTo(403);

    // bob, no member, may not manage the project's robots.
    assertThat(berth
            .get("/api/v1/projects/robot-team/robots", basic("bob", "bob-password"))
            .statusCode())
        .isEqualTo(404);
    HttpResponse<byte[]> rotated = berth.post(
        "/api/v1/robots/robot$robot-team+ci/secret", new byte[0], basic("alice", "alice-password"));
    assertThat(rotated.statusCode()).isEqualTo(200);
    String newSecret = InProcessBerth.json(rotated).path("secret").asText();
    assertThat(berth.get("/v2/", basic("robot$robot-team+ci", secret)).statusCode())
        .isEqualTo(401);
    assertThat(berth.get("/v2/", basic("robot$robot-team+ci", newSecret)).statusCode())
        .isEqualTo(200);
    JsonNode listed = InProcessBerth.json(
        berth.get("/api/v1/projects/robot-team/robots", basic("alice", "alice-password")));
    assertThat(listed.toString()).contains("robot$robot-team+ci").doesNotContain(newSecret);
  }

  @Test
  void aSystemRobotPullsEverywhereItIsAllowedAndOnlyAdminsCreateIt() {
    pushImage("system-robot/app", "v1", basic("alice", "alice-password"));
    String body = "{\"name\":\"mirror\",\"permissions\":{\"*\":[\"pull\"]}}";
    assertThat(berth
            .post("/api/v1/robots", Content.utf8(body), basic("alice", "alice-password"))
            .statusCode())
        .isEqualTo(403);
    HttpResponse<byte[]> created =
        berth.post("/api/v1/robots", Content.utf8(body), basic("admin", ADMIN_PASSWORD));
    assertThat(created.statusCode()).isEqualTo(201);
    String secret = InProcessBerth.json(created).path("secret").asText();

    JsonNode token = token(basic("robot$mirror", secret), "repository:system-robot/app:pull,push");
    HttpResponse<byte[]> pull = berth.get(
        "/v2/system-robot/app/manifests/v1",
        "Authorization",
        "Bearer " + token.path("token").asText());
    assertThat(pull.statusCode()).isEqualTo(200);
    assertThat(berth
            .post(
                "/api/v1/robots",
                Content.utf8("{\"name\":\"bad\",\"permissions\":{\"*\":[\"own-everything\"]}}"),
                basic("admin", ADMIN_PASSWORD))
            .statusCode())
        .isEqualTo(400);
  }

  @Test
  void repositoriesArtifactsAndTagsAreListedAndDeletedWithTheSamePermissions() {
    String[] alice = basic("alice", "alice-password");
    String first = pushImage("listing/app", "v1", alice);
    String second = pushImage("listing/app", "v2", alice);
    pushImage("listing/other", "v1", alice);
    HttpResponse<byte[]> tagged = berth.put(
        "/v2/listing/app/manifests/release_1",
        berth
            .get("/v2/listing/app/manifests/v2", with(alice, "Accept", Content.OCI_MANIFEST))
            .body(),
        with(alice, "Content-Type", Content.OCI_MANIFEST));
    assertThat(tagged.statusCode()).isEqualTo(201);

    JsonNode repositories =
        InProcessBerth.json(berth.get("/api/v1/projects/listing/repositories?n=1", alice));
    assertThat(repositories.path("repositories").get(0).path("name").asText())
        .isEqualTo("listing/app");
    assertThat(repositories.path("repositories").get(0).path("artifacts").asLong())
        .isEqualTo(2);
    assertThat(berth
            .get("/api/v1/projects/listing/repositories?n=1", alice)
            .headers()
            .firstValue("Link"))
        .hasValue("</api/v1/projects/listing/repositories?last=listing%2Fapp&n=1>; rel=\"next\"");

    JsonNode artifacts =
        InProcessBerth.json(berth.get("/api/v1/repositories/listing/app/artifacts", alice));
    assertThat(artifacts.path("artifacts").get(0).path("digest").asText())
        .as("newest first")
        .isEqualTo(second);
    assertThat(artifacts.path("artifacts").get(0).path("tags").toString())
        .contains("release_1", "v2");
    assertThat(artifacts.path("artifacts").get(1).path("digest").asText()).isEqualTo(first);

    JsonNode found =
        InProcessBerth.json(berth.get("/api/v1/repositories/listing/app/tags?q=_", alice));
    assertThat(found.path("tags")).hasSize(1);
    assertThat(found.path("tags").get(0).path("name").asText())
        .as("'_' is a literal, not a LIKE wildcard")
        .isEqualTo("release_1");
    assertThat(berth
            .get("/api/v1/repositories/listing/app/tags?q=%27%20OR%201%3D1--", alice)
            .statusCode())
        .isEqualTo(200);

    // bob may not see or delete any of it.
    assertThat(berth
            .get("/api/v1/repositories/listing/app/artifacts", basic("bob", "bob-password"))
            .statusCode())
        .isEqualTo(404);
    assertThat(berth
            .delete("/api/v1/repositories/listing/app/tags/v1", basic("bob", "bob-password"))
            .statusCode())
        .isIn(403, 404);

    assertThat(berth
            .delete("/api/v1/repositories/listing/app/tags/release_1", alice)
            .statusCode())
        .isEqualTo(204);
    assertThat(berth
            .delete("/api/v1/repositories/listing/app/artifacts/" + first, alice)
            .statusCode())
        .isEqualTo(204);
    assertThat(berth.get("/v2/listing/app/manifests/v1", alice).statusCode()).isEqualTo(404);
    assertThat(berth.delete("/api/v1/repositories/listing/other", alice).statusCode())
        .isEqualTo(204);
    assertThat(berth.get("/v2/listing/other/tags/list", alice).statusCode()).isEqualTo(404);
    assertThat(catalog(alice)).contains("listing/app").doesNotContain("listing/other");
  }

  @Test
  void pushesPullsDeletesLoginsAndChangesAreInTheAuditLog() throws Exception {
    String[] alice = basic("alice", "alice-password");
    String digest = pushImage("audited/app", "v1", alice);
    assertThat(berth
            .get("/v2/audited/app/manifests/v1", with(alice, "Accept", Content.OCI_MANIFEST))
            .statusCode())
        .isEqualTo(200);
    assertThat(berth.delete("/v2/audited/app/manifests/v1", alice).statusCode()).isEqualTo(202);
    assertThat(berth.get("/v2/", basic("alice", "not-her-password")).statusCode())
        .isEqualTo(401);
    memberPut("audited", "bob", "guest", alice);

    String[] admin = basic("admin", ADMIN_PASSWORD);
    JsonNode records = null;
    for (int attempt = 0; attempt < 50; attempt++) {
      records = InProcessBerth.json(berth.get("/api/v1/audit-logs?project=audited&n=100", admin));
      // Pulls are written off the request path, in batches: wait for the one above.
      if (records.toString().contains("manifest.pull")) {
        break;
      }
      Thread.sleep(100);
    }
    String text = records.toString();
    assertThat(text)
        .contains("\"action\":\"project.create\"")
        .contains("\"action\":\"manifest.push\"", digest)
        .contains("\"action\":\"manifest.pull\"")
        .contains("\"action\":\"tag.delete\"")
        .contains("\"action\":\"member.update\"")
        .contains("\"actor\":\"alice\"")
        .doesNotContain("alice-password");
    JsonNode failures = InProcessBerth.json(
        berth.get("/api/v1/audit-logs?action=login&outcome=failure&actor=alice", admin));
    assertThat(failures.path("records").size()).isPositive();
    assertThat(failures.toString()).doesNotContain("not-her-password");

    // A guest may read its project's audit, not the whole registry's.
    assertThat(berth
            .get("/api/v1/audit-logs?project=audited", basic("bob", "bob-password"))
            .statusCode())
        .isEqualTo(200);
    assertThat(berth.get("/api/v1/audit-logs", basic("bob", "bob-password")).statusCode())
        .isEqualTo(403);
    assertThat(berth.get("/api/v1/audit-logs").statusCode()).isEqualTo(401);
  }

  // ---- helpers ----

  private static void createUser(String name, String password) {
    HttpResponse<byte[]> created = berth.post(
        "/api/v1/users",
        Content.utf8("{\"username\":\"" + name + "\",\"password\":\"" + password + "\"}"),
        "Content-Type",
        "application/json",
        "Authorization",
        basicValue("admin", ADMIN_PASSWORD));
    assertThat(created.statusCode())
        .as(new String(created.body(), StandardCharsets.UTF_8))
        .isEqualTo(201);
  }

  private static void memberPut(String project, String user, String role, String... auth) {
    HttpResponse<byte[]> response = berth.put(
        "/api/v1/projects/" + project + "/members",
        Content.utf8("{\"type\":\"user\",\"name\":\"" + user + "\",\"role\":\"" + role + "\"}"),
        auth);
    assertThat(response.statusCode())
        .as(new String(response.body(), StandardCharsets.UTF_8))
        .isEqualTo(204);
  }

  /** Pushes a config, a layer and a manifest with the given credentials; returns its digest. */
  private static String pushImage(String repository, String tag, String... auth) {
    return berth.pushImage(repository, tag, auth);
  }

  private static JsonNode token(String[] auth, String scope) {
    HttpResponse<byte[]> response =
        berth.get("/service/token?service=berth&scope=" + encode(scope), auth);
    assertThat(response.statusCode()).isEqualTo(200);
    return InProcessBerth.json(response);
  }

  private static List<String> catalog(String[] auth) {
    HttpResponse<byte[]> response = berth.get("/v2/_catalog", auth);
    assertThat(response.statusCode()).isEqualTo(200);
    List<String> names = new ArrayList<>();
    InProcessBerth.json(response).path("repositories").forEach(n -> names.add(n.asText()));
    return names;
  }

  private static String[] basic(String user, String password) {
    return new String[] {"Authorization", basicValue(user, password)};
  }

  private static String basicValue(String user, String password) {
    return "Basic "
        + Base64.getEncoder()
            .encodeToString((user + ":" + password).getBytes(StandardCharsets.UTF_8));
  }

  private static String[] with(String[] headers, String name, String value) {
    String[] all = new String[headers.length + 2];
    System.arraycopy(headers, 0, all, 0, headers.length);
    all[headers.length] = name;
    all[headers.length + 1] = value;
    return all;
  }

  private static String errorCode(HttpResponse<byte[]> response) {
    return InProcessBerth.json(response).path("errors").path(0).path("code").asText();
  }

  private static String encode(String value) {
    return URLEncoder.encode(value, StandardCharsets.UTF_8);
  }
}
