package dev.berth.it;

import static org.assertj.core.api.Assertions.assertThat;

import com.fasterxml.jackson.databind.ObjectMapper;
import dev.berth.testkit.BerthProcess;
import dev.berth.testkit.ContainerTools;
import dev.berth.testkit.HaproxyProcess;
import dev.berth.testkit.OciImages;
import dev.berth.testkit.OciLayout;
import dev.berth.testkit.OciLayout.Image;
import dev.berth.testkit.PostgresServer;
import dev.berth.testkit.RegistryClient;
import dev.berth.testkit.RegistryClient.Response;
import dev.berth.testkit.S3Server;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Base64;
import java.util.List;
import java.util.Random;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.DisplayName;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.CleanupMode;
import org.junit.jupiter.api.io.TempDir;

/**
 * Access control in a cluster: three nodes on one PostgreSQL and one bucket with {@code
 * auth.token-key-file} pointing at one shared key, so a token issued by any node is accepted by
 * every node; a fourth node with its own key refuses it. Downloads are redirected to s3proxy
 * (the default).
 */
class ClusterAuthIT {
  private static final String PASSWORD = "cluster-admin-secret";
  private static final ObjectMapper JSON = new ObjectMapper();

  @TempDir(cleanup = CleanupMode.ON_SUCCESS)
  static Path directory;

  private static String databaseUrl;
  private static S3Server s3;
  private static final List<BerthProcess> nodes = new ArrayList<>();
  private static BerthProcess stranger;
  private static HaproxyProcess haproxy;
  private static ContainerTools tools;

  @BeforeAll
  static void startCluster() throws Exception {
    databaseUrl = PostgresServer.shared().createDatabase();
    s3 = S3Server.start();
    Path key = directory.resolve("token-key.pem");
    Process openssl = new ProcessBuilder(
            "openssl",
            "genpkey",
            "-algorithm",
            "RSA",
            "-pkeyopt",
            "rsa_keygen_bits:2048",
            "-out",
            key.toString())
        .redirectErrorStream(true)
        .start();
    assertThat(openssl.waitFor(60, TimeUnit.SECONDS)).isTrue();
    assertThat(openssl.exitValue())
        .as(new String(openssl.getInputStream().readAllBytes()))
        .isZero();
    for (int i = 1; i <= 3; i++) {
      nodes.add(
          node("node-" + i).env("BERTH_AUTH_TOKEN_KEY_FILE", key.toString()).build());
    }
    // Same database and bucket, but its own key (generated in its data directory).
    stranger = node("stranger").build();
    nodes.getFirst().start(); // creates the schema, the bucket and admin
    CompletableFuture.allOf(
            CompletableFuture.runAsync(() -> nodes.get(1).start()),
            CompletableFuture.runAsync(() -> nodes.get(2).start()),
            CompletableFuture.runAsync(() -> stranger.start()))
        .join();
    haproxy = HaproxyProcess.start(
        Path.of(System.getProperty("berth.home"), "config", "haproxy.cfg"),
        directory.resolve("haproxy"),
        nodes.stream().map(BerthProcess::hostPort).toList());
    tools = new ContainerTools(directory.resolve("tools"));
  }

  private static BerthProcess.Builder node(String name) {
    BerthProcess.Builder node = BerthProcess.builder(directory.resolve(name))
        .env("BERTH_METADATA_URL", databaseUrl)
        .env("BERTH_METADATA_USERNAME", PostgresServer.USER)
        .env("BERTH_METADATA_PASSWORD", PostgresServer.PASSWORD)
        .env("BERTH_AUTH_ENABLED", "true")
        .env("BERTH_ADMIN_PASSWORD", PASSWORD)
        .readyTimeout(Duration.ofSeconds(90));
    s3.environment("cluster-auth").forEach(node::env);
    return node;
  }

  @AfterAll
  static void stopCluster() throws Exception {
    if (haproxy != null) {
      haproxy.close();
    }
    if (tools != null) {
      tools.close();
    }
    for (BerthProcess node : nodes) {
      node.close();
    }
    if (stranger != null) {
      stranger.close();
    }
    if (s3 != null) {
      s3.close();
    }
    if (databaseUrl != null) {
      PostgresServer.shared().dropDatabase(databaseUrl);
    }
  }

  @Test
  @DisplayName(
      "a token from node 1 pushes and pulls on nodes 2 and 3; a node with another key says 401")
  void aTokenFromOneNodeWorksOnEveryNodeWithTheSharedKey() throws Exception {
    String token = token(nodes.getFirst().client(), "repository:shared/app:push,pull");
    String bearer = "Bearer " + token;

    byte[] layer = new byte[300_000];
    new Random(4).nextBytes(layer);
    byte[] config =
        "{\"architecture\":\"amd64\",\"os\":\"linux\"}".getBytes(StandardCharsets.UTF_8);
    String layerDigest = OciLayout.sha256(layer);
    String configDigest = OciLayout.sha256(config);
    RegistryClient two = nodes.get(1).client();
    RegistryClient three = nodes.get(2).client();

    // Push on node 2 with node 1's token.
    assertThat(two.post(
                "/v2/shared/app/blobs/uploads/?digest=" + layerDigest,
                layer,
                "Authorization",
                bearer,
                "Content-Type",
                "application/octet-stream")
            .status())
        .isEqualTo(201);
    assertThat(two.post(
                "/v2/shared/app/blobs/uploads/?digest=" + configDigest,
                config,
                "Authorization",
                bearer,
                "Content-Type",
                "application/octet-stream")
            .status())
        .isEqualTo(201);
    byte[] manifest = ("{\"schemaVersion\":2,\"mediaType\":\"" + OciLayout.OCI_MANIFEST
            + "\",\"config\":{\"mediaType\":\"application/vnd.oci.image.config.v1+json\","
            + "\"digest\":\"" + configDigest + "\",\"size\":" + config.length + "},"
            + "\"layers\":[{\"mediaType\":\"application/vnd.oci.image.layer.v1.tar+gzip\","
            + "\"digest\":\"" + layerDigest + "\",\"size\":" + layer.length + "}]}")
        .getBytes(StandardCharsets.UTF_8);
    Response pushed = two.put(
        "/v2/shared/app/manifests/v1",
        manifest,
        "Authorization",
        bearer,
        "Content-Type",
        OciLayout.OCI_MANIFEST);
    assertThat(pushed.status()).as("%s", pushed).isEqualTo(201);

    // Pull on node 3 with the same token.
    Response pulledManifest = three.get(
        "/v2/shared/app/manifests/v1", "Authorization", bearer, "Accept", OciLayout.OCI_MANIFEST);
    assertThat(pulledManifest.status()).as("%s", pulledManifest).isEqualTo(200);
    assertThat(pulledManifest.body()).isEqualTo(manifest);
    Response pulledLayer =
        three.getFollowingRedirect("/v2/shared/app/blobs/" + layerDigest, "Authorization", bearer);
    assertThat(pulledLayer.status()).as("%s", pulledLayer).isEqualTo(200);
    assertThat(pulledLayer.body()).isEqualTo(layer);

    // And a push on node 3 too.
    assertThat(three
            .put(
                "/v2/shared/app/manifests/v2",
                manifest,
                "Authorization",
                bearer,
                "Content-Type",
                OciLayout.OCI_MANIFEST)
            .status())
        .isEqualTo(201);

    // Without a token, and on a node whose key is another: 401 with a challenge.
    assertThat(three
            .get("/v2/shared/app/manifests/v1", "Accept", OciLayout.OCI_MANIFEST)
            .status())
        .isEqualTo(401);
    Response refused = stranger
        .client()
        .get(
            "/v2/shared/app/manifests/v1",
            "Authorization",
            bearer,
            "Accept",
            OciLayout.OCI_MANIFEST);
    assertThat(refused.status()).as("%s", refused).isEqualTo(401);
    assertThat(refused.header("WWW-Authenticate"))
        .hasValueSatisfying(challenge -> assertThat(challenge).startsWith("Bearer realm="));
    // Its own token works there: the data is shared, only the key differs.
    String own = token(stranger.client(), "repository:shared/app:pull");
    assertThat(stranger
            .client()
            .get(
                "/v2/shared/app/manifests/v1",
                "Authorization",
                "Bearer " + own,
                "Accept",
                OciLayout.OCI_MANIFEST)
            .status())
        .isEqualTo(200);
  }

  @Test
  @DisplayName("skopeo logs in and pushes and pulls through HAProxy with access control on")
  void skopeoLoginAndPushThroughTheBalancer() throws Exception {
    String balancer = haproxy.hostPort();
    Path auth = directory.resolve("auth.json");
    tools.skopeo(
        "login",
        "--tls-verify=false",
        "--authfile",
        auth.toString(),
        "-u",
        "admin",
        "-p",
        PASSWORD,
        balancer);
    Path source = directory.resolve("source");
    Image image = OciImages.singleImage(source, "v1", 3, 401);
    tools.copy(
        "oci:" + source + ":v1",
        "docker://" + balancer + "/secure/app:v1",
        "--authfile",
        auth.toString());
    Path back = directory.resolve("back");
    tools.copy(
        "docker://" + balancer + "/secure/app:v1",
        "oci:" + back + ":v1",
        "--authfile",
        auth.toString());
    OciLayout pulled = OciLayout.open(back);
    pulled.verifyComplete("v1");
    assertThat(pulled.readImage("v1").manifest().digest())
        .isEqualTo(image.manifest().digest());
    System.out.println(
        "cluster-auth: requests per node through HAProxy: " + haproxy.requestsPerServer());
  }

  /** A token from a node's {@code /service/token}, with admin's Basic credentials. */
  private static String token(RegistryClient node, String scope) throws Exception {
    String basic =
        Base64.getEncoder().encodeToString(("admin:" + PASSWORD).getBytes(StandardCharsets.UTF_8));
    Response response =
        node.get("/service/token?service=berth&scope=" + scope, "Authorization", "Basic " + basic);
    assertThat(response.status()).as("%s", response).isEqualTo(200);
    return JSON.readTree(response.body()).path("token").asText();
  }
}
