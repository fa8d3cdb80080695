package dev.berth.server;

import static dev.berth.server.Logins.basic;
import static dev.berth.server.Logins.text;
import static org.assertj.core.api.Assertions.assertThat;

import com.unboundid.ldap.listener.InMemoryDirectoryServer;
import com.unboundid.ldap.listener.InMemoryDirectoryServerConfig;
import com.unboundid.ldap.listener.InMemoryListenerConfig;
import com.unboundid.ldap.listener.interceptor.InMemoryInterceptedSimpleBindRequest;
import com.unboundid.ldap.listener.interceptor.InMemoryOperationInterceptor;
import java.net.ServerSocket;
import java.net.URLEncoder;
import java.net.http.HttpResponse;
import java.nio.charset.StandardCharsets;
import java.util.Map;
import java.util.concurrent.atomic.AtomicInteger;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

/**
 * {@code auth.provider: ldap} against a real LDAP server (UnboundID's in-memory directory,
 * speaking the LDAP protocol on a port): logins by binding as the user, group members in
 * projects, the admin group, LDAP filter injection, and what happens when the directory is down.
 */
class LdapAuthTest {
  private static final String ADMIN_PASSWORD = "Admin-Secret-1";
  private static final String BASE = "dc=example,dc=org";
  private static final String SERVICE_DN = "cn=berth-service," + BASE;
  private static final AtomicInteger userBinds = new AtomicInteger();
  private static InMemoryDirectoryServer directory;
  private static InProcessBerth berth;

  @BeforeAll
  static void start() throws Exception {
    InMemoryDirectoryServerConfig config = new InMemoryDirectoryServerConfig(BASE);
    config.addAdditionalBindCredentials(SERVICE_DN, "service-secret");
    config.setListenerConfigs(InMemoryListenerConfig.createLDAPConfig("ldap", 0));
    config.addInMemoryOperationInterceptor(new InMemoryOperationInterceptor() {
      @Override
      public void processSimpleBindRequest(InMemoryInterceptedSimpleBindRequest request) {
        if (request.getRequest().getBindDN().startsWith("uid=")) {
          userBinds.incrementAndGet();
        }
      }
    });
    directory = new InMemoryDirectoryServer(config);
    directory.add("dn: " + BASE, "objectClass: top", "objectClass: domain", "dc: example");
    directory.add("dn: ou=people," + BASE, "objectClass: organizationalUnit", "ou: people");
    directory.add("dn: ou=groups," + BASE, "objectClass: organizationalUnit", "ou: groups");
    person("carol", "carol-password");
    person("dave", "dave-password");
    person("erin", "erin-password");
    person("grace", "grace-password");
    directory.add(
        "dn: cn=developers,ou=groups," + BASE,
        "objectClass: groupOfNames",
        "cn: developers",
        "member: uid=carol,ou=people," + BASE);
    directory.add(
        "dn: cn=registry-admins,ou=groups," + BASE,
        "objectClass: groupOfNames",
        "cn: registry-admins",
        "member: uid=dave,ou=people," + BASE);
    directory.startListening();
    berth = InProcessBerth.withAuth(ADMIN_PASSWORD, ldapSettings(directory.getListenPort()));
    berth.start();
  }

  static Map<String, String> ldapSettings(int port) {
    return Map.of(
        "auth.provider",
        "ldap",
        "auth.ldap.url",
        "ldap://127.0.0.1:" + port,
        "auth.ldap.bind-dn",
        SERVICE_DN,
        "auth.ldap.bind-password",
        "service-secret",
        "auth.ldap.user-base-dn",
        "ou=people," + BASE,
        "auth.ldap.user-filter",
        "(&(objectClass=inetOrgPerson)(uid={0}))",
        "auth.ldap.group-base-dn",
        "ou=groups," + BASE,
        "auth.ldap.group-filter",
        "(&(objectClass=groupOfNames)(member={0}))",
        "auth.ldap.admin-group",
        "cn=registry-admins,ou=groups," + BASE,
        "auth.ldap.timeout",
        "2s");
  }

  private static void person(String uid, String password) throws Exception {
    directory.add(
        "dn: uid=" + uid + ",ou=people," + BASE,
        "objectClass: inetOrgPerson",
        "uid: " + uid,
        "cn: " + uid,
        "sn: " + uid,
        "mail: " + uid + "@example.org",
        "userPassword: " + password);
  }

  @AfterAll
  static void stop() throws Exception {
    if (berth != null) {
      berth.close();
    }
    if (directory != null) {
      directory.shutDown(true);
    }
  }

  @Test
  void aDirectoryUserLogsInAndIsRecordedAsAnLdapUser() {
    assertThat(berth.get("/v2/", basic("carol", "carol-password")).statusCode()).isEqualTo(200);

    HttpResponse<byte[]> user = berth.get("/api/v1/users/carol", basic("admin", ADMIN_PASSWORD));
    assertThat(user.statusCode()).isEqualTo(200);
    assertThat(InProcessBerth.json(user).path("source").asText()).isEqualTo("ldap");
    assertThat(InProcessBerth.json(user).path("email").asText()).isEqualTo("carol@example.org");
    assertThat(InProcessBerth.json(user).path("admin").asBoolean()).isFalse();
    // Its password lives in the directory, not here.
    HttpResponse<byte[]> change = berth.put(
        "/api/v1/users/carol/password",
        Content.utf8("{\"currentPassword\":\"carol-password\",\"password\":\"new-password\"}"),
        Logins.with(basic("carol", "carol-password"), "Content-Type", "application/json"));
    assertThat(change.statusCode()).as(text(change)).isEqualTo(400);
  }

  @Test
  void aVerifiedPasswordIsRememberedRatherThanBoundOnEveryRequest() {
    assertThat(berth.get("/v2/", basic("erin", "erin-password")).statusCode()).isEqualTo(200);
    int binds = userBinds.get();
    for (int i = 0; i < 5; i++) {
      assertThat(berth.get("/v2/", basic("erin", "erin-password")).statusCode()).isEqualTo(200);
    }
    assertThat(userBinds.get()).isEqualTo(binds);
  }

  @Test
  void aRememberedDirectoryUserDisabledHereIsRefusedAtOnceAndBoundOnceMoreWhenEnabled() {
    assertThat(berth.get("/v2/", basic("grace", "grace-password")).statusCode()).isEqualTo(200);
    assertThat(berth.get("/v2/", basic("grace", "grace-password")).statusCode()).isEqualTo(200);
    int binds = userBinds.get();

    HttpResponse<byte[]> disabled = berth.put(
        "/api/v1/users/grace/disabled",
        Content.utf8("{\"disabled\":true}"),
        basic("admin", ADMIN_PASSWORD));
    assertThat(disabled.statusCode()).isEqualTo(204);
    assertThat(berth.get("/v2/", basic("grace", "grace-password")).statusCode()).isEqualTo(401);

    HttpResponse<byte[]> enabled = berth.put(
        "/api/v1/users/grace/disabled",
        Content.utf8("{\"disabled\":false}"),
        basic("admin", ADMIN_PASSWORD));
    assertThat(enabled.statusCode()).isEqualTo(204);
    for (int i = 0; i < 3; i++) {
      assertThat(berth.get("/v2/", basic("grace", "grace-password")).statusCode())
          .isEqualTo(200);
    }
    // Disabling revoked what was remembered: the password is checked at the directory once more.
    assertThat(userBinds.get()).isEqualTo(binds + 1);
  }

  @Test
  void wrongEmptyAndUnknownCredentialsAreRefused() {
    assertThat(berth.get("/v2/", basic("dave", "wrong-password")).statusCode()).isEqualTo(401);
    // An empty password would be an "anonymous bind" that LDAP servers accept.
    int binds = userBinds.get();
    assertThat(berth.get("/v2/", basic("dave", "")).statusCode()).isEqualTo(401);
    assertThat(userBinds.get()).isEqualTo(binds);
    assertThat(berth.get("/v2/", basic("nobody", "whatever1")).statusCode()).isEqualTo(401);
    assertThat(tokenStatus("nobody2", "whatever1")).isEqualTo(401);
  }

  @Test
  void filterMetacharactersInTheUsernameMatchNobody() {
    int binds = userBinds.get();
    for (String name : new String[] {"*)(uid=*", "*", "carol)(|(uid=*", "car*"}) {
      assertThat(berth.get("/v2/", basic(name, "carol-password")).statusCode())
          .as(name)
          .isEqualTo(401);
    }
    assertThat(userBinds.get()).isEqualTo(binds);
  }

  @Test
  void aGroupMemberGetsTheGroupsRoleInAProject() {
    Logins.projectWithGroup(
        berth, "ldap-team", "developers", "developer", basic("admin", ADMIN_PASSWORD));

    assertThat(Logins.pushImage(berth, "ldap-team/app", "v1", basic("carol", "carol-password")))
        .isEqualTo(201);
    assertThat(berth
            .get("/v2/ldap-team/app/manifests/v1", basic("carol", "carol-password"))
            .statusCode())
        .isEqualTo(200);
    // With a bearer token too: the groups are kept with the user, not only in this request.
    HttpResponse<byte[]> token = berth.get(
        "/service/token?service=berth&scope="
            + URLEncoder.encode("repository:ldap-team/app:pull,push", StandardCharsets.UTF_8),
        basic("carol", "carol-password"));
    assertThat(token.statusCode()).isEqualTo(200);
    String bearer = "Bearer " + InProcessBerth.json(token).path("token").asText();
    assertThat(
            berth.get("/v2/ldap-team/app/manifests/v1", "Authorization", bearer).statusCode())
        .isEqualTo(200);
    assertThat(berth.get("/api/v1/projects/ldap-team", "Authorization", bearer).statusCode())
        .isEqualTo(200);

    // erin is in no group: the project stays hidden and closed to her.
    assertThat(Logins.pushImage(berth, "ldap-team/app", "v2", basic("erin", "erin-password")))
        .isEqualTo(403);
  }

  @Test
  void theAdminGroupMakesSystemAdministrators() {
    HttpResponse<byte[]> users = berth.get("/api/v1/users", basic("dave", "dave-password"));
    assertThat(users.statusCode()).as(text(users)).isEqualTo(200);
    assertThat(berth.get("/api/v1/users", basic("carol", "carol-password")).statusCode())
        .isEqualTo(403);
  }

  @Test
  void theOauthPasswordGrantWorksWithTheDirectorysSpellingOfTheName() {
    HttpResponse<byte[]> token = berth.post(
        "/service/token",
        Content.utf8("grant_type=password&service=berth&username=Erin&password=erin-password"
            + "&access_type=offline&scope=repository%3Ax%2Fy%3Apull"),
        "Content-Type",
        "application/x-www-form-urlencoded");
    assertThat(token.statusCode()).as(text(token)).isEqualTo(200);
    assertThat(InProcessBerth.json(token).path("refresh_token").asText()).isNotEmpty();
  }

  @Test
  void localUsersOtherThanAdminDoNotLogInWithLdap() {
    // A local user made by the admin API cannot log in while the provider is ldap.
    HttpResponse<byte[]> created = berth.post(
        "/api/v1/users",
        Content.utf8("{\"username\":\"frank\",\"password\":\"frank-password\"}"),
        Logins.with(basic("admin", ADMIN_PASSWORD), "Content-Type", "application/json"));
    assertThat(created.statusCode()).isEqualTo(201);
    assertThat(berth.get("/v2/", basic("frank", "frank-password")).statusCode()).isEqualTo(401);
  }

  @Test
  void whenTheDirectoryIsDownLdapLoginsAre503AndTheLocalAdminStillWorks() throws Exception {
    int closedPort;
    try (ServerSocket socket = new ServerSocket(0)) {
      closedPort = socket.getLocalPort();
    }
    InProcessBerth down = InProcessBerth.withAuth(ADMIN_PASSWORD, ldapSettings(closedPort));
    down.start();
    try {
      HttpResponse<byte[]> ldapUser = down.get("/v2/", basic("carol", "carol-password"));
      assertThat(ldapUser.statusCode()).isEqualTo(503);
      assertThat(text(ldapUser)).contains("UNAVAILABLE", "LDAP");
      HttpResponse<byte[]> token = down.get(
          "/service/token?service=berth&scope=repository:x/y:pull",
          basic("carol", "carol-password"));
      assertThat(token.statusCode()).isEqualTo(503);

      assertThat(down.get("/v2/", basic("admin", ADMIN_PASSWORD)).statusCode()).isEqualTo(200);
    } finally {
      down.close();
    }
  }

  private static int tokenStatus(String user, String password) {
    return berth
        .get("/service/token?service=berth&scope=repository:x/y:pull", basic(user, password))
        .statusCode();
  }
}
