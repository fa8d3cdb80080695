package dev.berth.it;

import static org.assertj.core.api.Assertions.assertThat;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import dev.berth.testkit.BerthProcess;
import dev.berth.testkit.ContainerTools;
import dev.berth.testkit.HaproxyProcess;
import dev.berth.testkit.OciImages;
import dev.berth.testkit.OciLayout;
import dev.berth.testkit.OciLayout.Image;
import dev.berth.testkit.OciLayout.Index;
import dev.berth.testkit.PostgresServer;
import dev.berth.testkit.RegistryClient;
import dev.berth.testkit.RegistryClient.Response;
import dev.berth.testkit.S3Server;
import java.io.UncheckedIOException;
import java.net.URI;
import java.net.http.HttpRequest.BodyPublishers;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.sql.Connection;
import java.sql.DriverManager;
import java.sql.ResultSet;
import java.sql.Statement;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.Collections;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Map;
import java.util.Random;
import java.util.Set;
import java.util.TreeMap;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicLong;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.DisplayName;
import org.junit.jupiter.api.MethodOrderer;
import org.junit.jupiter.api.Order;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.TestMethodOrder;
import org.junit.jupiter.api.io.CleanupMode;
import org.junit.jupiter.api.io.TempDir;

/**
 * Issue 3 §4: three Berth nodes (real processes) on one PostgreSQL and one S3 bucket (s3proxy),
 * behind HAProxy running the repository's {@code config/haproxy.cfg} (round robin, health checks
 * on {@code /readyz}). Everything goes through the balancer, so consecutive requests of one client
 * land on different nodes; then eight clients push and pull while one node is killed with SIGKILL
 * and restarted.
 */
@TestMethodOrder(MethodOrderer.OrderAnnotation.class)
class ClusterIT {
  private static final int NODES = 3;
  /** Short, so that the chaos test can watch garbage collection remove abandoned sessions. */
  private static final Duration UPLOAD_EXPIRY = Duration.ofSeconds(5);

  private static final String OCI_MANIFEST = OciLayout.OCI_MANIFEST;

  /** Kept when a test fails: the nodes' logs and HAProxy's are in it. */
  @TempDir(cleanup = CleanupMode.ON_SUCCESS)
  static Path directory;

  private static String databaseUrl;
  private static S3Server s3;
  private static final List<BerthProcess> nodes = new ArrayList<>();
  private static HaproxyProcess haproxy;
  private static ContainerTools tools;

  @BeforeAll
  static void startCluster() throws Exception {
    long started = System.nanoTime();
    PostgresServer postgres = PostgresServer.shared();
    databaseUrl = postgres.createDatabase();
    s3 = S3Server.start();
    System.out.printf(
        "cluster: PostgreSQL and s3proxy up after %d ms%n",
        (System.nanoTime() - started) / 1_000_000);
    for (int i = 1; i <= NODES; i++) {
      BerthProcess.Builder node = BerthProcess.builder(directory.resolve("node-" + i))
          .env("BERTH_METADATA_URL", databaseUrl)
          .env("BERTH_METADATA_USERNAME", PostgresServer.USER)
          .env("BERTH_METADATA_PASSWORD", PostgresServer.PASSWORD)
          .readyTimeout(Duration.ofSeconds(90))
          .env("BERTH_UPLOADS_EXPIRY", UPLOAD_EXPIRY.toSeconds() + "s");
      s3.environment("cluster").forEach(node::env);
      nodes.add(node.build());
    }
    // The first node creates the bucket and the schema; the others then start together.
    nodes.getFirst().start();
    System.out.printf(
        "cluster: first node up after %d ms%n", (System.nanoTime() - started) / 1_000_000);
    CompletableFuture.allOf(nodes.subList(1, NODES).stream()
            .map(node -> CompletableFuture.runAsync(node::start))
            .toArray(CompletableFuture[]::new))
        .join();
    haproxy = HaproxyProcess.start(
        Path.of(System.getProperty("berth.home"), "config", "haproxy.cfg"),
        directory.resolve("haproxy"),
        nodes.stream().map(BerthProcess::hostPort).toList());
    tools = new ContainerTools(directory.resolve("tools"));
    System.out.printf(
        "cluster: %d nodes, PostgreSQL, s3proxy and HAProxy up in %d ms%n",
        NODES, (System.nanoTime() - started) / 1_000_000);
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
    if (s3 != null) {
      s3.close();
    }
    if (databaseUrl != null) {
      PostgresServer.shared().dropDatabase(databaseUrl);
    }
  }

  @Test
  @Order(1)
  @DisplayName("skopeo and podman push and pull through the balancer; every node serves the image")
  void skopeoAndPodmanThroughTheBalancer() throws Exception {
    String balancer = haproxy.hostPort();
    Path source = directory.resolve("skopeo-source");
    Image image = OciImages.singleImage(source, "v1", 3, 301);
    tools.copy("oci:" + source + ":v1", "docker://" + balancer + "/cluster/skopeo:v1");
    Path back = directory.resolve("skopeo-back");
    tools.copy("docker://" + balancer + "/cluster/skopeo:v1", "oci:" + back + ":v1");
    OciLayout pulled = OciLayout.open(back);
    pulled.verifyComplete("v1");
    assertThat(pulled.readImage("v1").manifest().digest())
        .isEqualTo(image.manifest().digest());
    assertThat(pulled.readImage("v1").layerDigests()).isEqualTo(image.layerDigests());
    assertEveryNodeServes("cluster/skopeo", "v1", image.manifest().digest());

    Path podmanSource = directory.resolve("podman-source");
    Image podmanImage = OciImages.singleImage(podmanSource, "v1", 2, 302);
    String imageId = lastLine(tools.podman("pull", "-q", "oci:" + podmanSource + ":v1"));
    assertThat("sha256:" + imageId).isEqualTo(podmanImage.config().digest());
    String target = balancer + "/cluster/podman:v1";
    tools.podman("tag", imageId, target);
    Path digestFile = directory.resolve("podman-digest");
    tools.podman("push", "--tls-verify=false", "--digestfile", digestFile.toString(), target);
    String pushed = Files.readString(digestFile).strip();
    tools.podman("rmi", "--force", imageId);
    assertThat(lastLine(tools.podman("pull", "-q", "--tls-verify=false", target)))
        .isEqualTo(imageId);
    assertThat(
            tools.podman("image", "inspect", "--format", "{{.Digest}}", target).strip())
        .isEqualTo(pushed);
    assertEveryNodeServes("cluster/podman", "v1", pushed);
  }

  @Test
  @Order(2)
  @DisplayName("a multi-platform index pushed with skopeo --all pulls back identical")
  void multiPlatformIndexThroughTheBalancer() {
    String balancer = haproxy.hostPort();
    Path source = directory.resolve("index-source");
    Index index = OciImages.multiPlatformIndex(source, "multi", 303);
    tools.copy("oci:" + source + ":multi", "docker://" + balancer + "/cluster/multi:v1", "--all");
    Path back = directory.resolve("index-back");
    tools.copy("docker://" + balancer + "/cluster/multi:v1", "oci:" + back + ":multi", "--all");

    OciLayout pulled = OciLayout.open(back);
    pulled.verifyComplete("multi");
    Index pulledIndex = pulled.readIndex(pulled.resolve("multi"));
    assertThat(pulledIndex.index().digest()).isEqualTo(index.index().digest());
    assertThat(pulledIndex.manifestDigests()).isEqualTo(index.manifestDigests());
    assertEveryNodeServes("cluster/multi", "v1", index.index().digest());
  }

  @Test
  @Order(3)
  @DisplayName("the chunks of one upload land on different nodes; every node reports the session")
  void chunkedUploadAcrossNodes() {
    RegistryClient balancer = haproxy.client();
    int chunk = 64 * 1024;
    byte[] blob = random(6 * chunk + 1000, 304);
    String digest = OciLayout.sha256(blob);

    Response started = balancer.post("/v2/cluster/chunked/blobs/uploads/", new byte[0]);
    assertThat(started.status()).as("%s", started).isEqualTo(202);
    String uuid = started.requiredHeader("Docker-Upload-UUID");
    String location = started.requiredHeader("Location");
    List<String> patchedBy = new ArrayList<>();
    for (int offset = 0, n = 0; offset < blob.length; offset += chunk, n++) {
      int end = Math.min(blob.length, offset + chunk);
      Response patched = balancer.patch(
          location,
          Arrays.copyOfRange(blob, offset, end),
          "Content-Type",
          "application/octet-stream",
          "Content-Range",
          offset + "-" + (end - 1));
      assertThat(patched.status()).as("%s", patched).isEqualTo(202);
      assertThat(patched.requiredHeader("Range")).isEqualTo("0-" + (end - 1));
      patchedBy.add(patched.requiredHeader(HaproxyProcess.NODE_HEADER));
      location = patched.requiredHeader("Location");
      if (n == 2) {
        // Halfway: every node, asked directly, reports the same state of the session.
        for (BerthProcess node : nodes) {
          Response status = node.client().get(pathOf(location));
          assertThat(status.status()).as("%s", status).isEqualTo(204);
          assertThat(status.requiredHeader("Range")).isEqualTo("0-" + (end - 1));
          assertThat(status.requiredHeader("Docker-Upload-UUID")).isEqualTo(uuid);
        }
      }
    }
    Response finished = balancer.put(
        location + (location.contains("?") ? "&" : "?") + "digest=" + digest, new byte[0]);
    assertThat(finished.status()).as("%s", finished).isEqualTo(201);
    assertThat(finished.requiredHeader("Docker-Content-Digest")).isEqualTo(digest);

    System.out.println("cluster: the 7 PATCH requests of one upload were served by " + patchedBy);
    assertThat(Set.copyOf(patchedBy)).hasSizeGreaterThanOrEqualTo(2);
    // The nodes' own access logs agree: at least two of them took chunks of this upload.
    long nodesThatPatched = nodes.stream()
        .filter(node -> node.log().contains("\"PATCH /v2/cluster/chunked/blobs/uploads/" + uuid))
        .count();
    assertThat(nodesThatPatched).isGreaterThanOrEqualTo(2);
    for (BerthProcess node : nodes) {
      // storage.s3.redirect is on (the default): the node sends the client to the bucket.
      assertThat(node.client().get("/v2/cluster/chunked/blobs/" + digest).status())
          .isEqualTo(307);
      Response pulled = node.client().getFollowingRedirect("/v2/cluster/chunked/blobs/" + digest);
      assertThat(pulled.status()).as("%s", pulled).isEqualTo(200);
      assertThat(pulled.body()).isEqualTo(blob);
    }
  }

  @Test
  @Order(4)
  @DisplayName("a cross-repository mount on one node is visible on every node")
  void crossRepositoryMount() {
    RegistryClient balancer = haproxy.client();
    byte[] blob = random(10_000, 305);
    String digest = OciLayout.sha256(blob);
    Response pushed = balancer.post(
        "/v2/cluster/mount-source/blobs/uploads/?digest=" + digest,
        blob,
        "Content-Type",
        "application/octet-stream");
    assertThat(pushed.status()).as("%s", pushed).isEqualTo(201);

    Set<String> mountedBy = new LinkedHashSet<>();
    for (int n = 0; n < NODES; n++) {
      String target = "cluster/mount-target-" + n;
      Response mounted = balancer.post(
          "/v2/" + target + "/blobs/uploads/?mount=" + digest + "&from=cluster/mount-source",
          new byte[0]);
      assertThat(mounted.status()).as("%s", mounted).isEqualTo(201);
      assertThat(mounted.requiredHeader("Location")).endsWith("/v2/" + target + "/blobs/" + digest);
      mountedBy.add(mounted.requiredHeader(HaproxyProcess.NODE_HEADER));
      for (BerthProcess node : nodes) {
        Response head = node.client().head("/v2/" + target + "/blobs/" + digest);
        assertThat(head.status()).as("%s on %s", head, node.hostPort()).isEqualTo(200);
        assertThat(head.requiredHeader("Content-Length")).isEqualTo(String.valueOf(blob.length));
      }
    }
    System.out.println("cluster: the 3 mounts were served by " + mountedBy);
  }

  @Test
  @Order(10)
  @DisplayName("8 clients push and pull while a node is killed (SIGKILL) and restarted")
  void clientsKeepWorkingWhileANodeIsKilledAndRestarted() throws Exception {
    ChaosRun run = new ChaosRun(haproxy.url(), 8, 306);
    long started = System.nanoTime();
    ExecutorService clients = Executors.newFixedThreadPool(run.clients);
    List<Future<?>> running = new ArrayList<>();
    for (int c = 0; c < run.clients; c++) {
      int client = c;
      running.add(clients.submit(() -> {
        run.client(client);
        return null;
      }));
    }
    BerthProcess victim = nodes.get(1);
    try {
      Thread.sleep(5_000);
      long pid = victim.pid();
      run.killedAt = run.now();
      victim.kill9();
      System.out.printf("chaos: killed node 2 (pid %d) at %d ms%n", pid, run.killedAt);
      Thread.sleep(2_000);
      victim.start();
      run.restartedAt = run.now();
      System.out.printf(
          "chaos: node 2 ready again (pid %d) at %d ms%n", victim.pid(), run.restartedAt);
      Thread.sleep(6_000);
    } finally {
      run.stop = true;
      clients.shutdown();
    }
    for (Future<?> client : running) {
      client.get(60, TimeUnit.SECONDS); // a client that gave up rethrows its failure here
    }
    long loadMillis = (System.nanoTime() - started) / 1_000_000;

    // Every image any client saw committed, from every node directly.
    ExecutorService checkers = Executors.newFixedThreadPool(8);
    List<Future<?>> checks = new ArrayList<>();
    for (BerthProcess node : nodes) {
      for (Pushed image : run.pushed) {
        checks.add(checkers.submit(() -> {
          image.verifyOn(node.client());
          return null;
        }));
      }
    }
    for (Future<?> check : checks) {
      check.get(60, TimeUnit.SECONDS);
    }
    checkers.shutdown();

    // Abandoned sessions (a chunk failed, so the client began the blob again) outlive nothing
    // but their expiry: after it, a garbage-collection run removes them on every node's view.
    long sessionsBefore = uploadRows();
    Thread.sleep(UPLOAD_EXPIRY.plusSeconds(1));
    JsonNode gc = collectGarbage();
    long sessionsAfter = uploadRows();
    for (String session : run.abandoned) {
      for (BerthProcess node : nodes) {
        assertThat(node.client().get(session).status()).as("GET %s", session).isEqualTo(404);
      }
    }

    Map<Integer, Integer> failures = new TreeMap<>(run.failuresByStatus);
    System.out.printf(
        "chaos: %d clients, %d images pushed and pulled back in %d ms (%d blobs uploaded), %d"
            + " requests; %d failed attempts %s (0 = connection error), all retried, between"
            + " %d ms and %d ms (kill at %d ms, node ready at %d ms); %d abandoned upload"
            + " sessions; upload rows before GC %d, after %d; GC run: %s; %d images x %d nodes"
            + " verified%n",
        run.clients,
        run.pushed.size(),
        loadMillis,
        run.blobsUploaded.get(),
        run.requests.get(),
        run.failureTimes.size(),
        failures,
        run.failureTimes.stream().mapToLong(Long::longValue).min().orElse(-1),
        run.failureTimes.stream().mapToLong(Long::longValue).max().orElse(-1),
        run.killedAt,
        run.restartedAt,
        run.abandoned.size(),
        sessionsBefore,
        sessionsAfter,
        gc,
        run.pushed.size(),
        NODES);
    System.out.println(
        "chaos: requests per node through HAProxy (whole class): " + haproxy.requestsPerServer());
    assertThat(run.pushed).hasSizeGreaterThanOrEqualTo(run.clients);
    assertThat(failures.keySet())
        .as("statuses of failed attempts")
        .allMatch(s -> s == 0 || s >= 502);
    // Errors only around the kill: from the kill until the balancer has seen the node back.
    assertThat(run.failureTimes)
        .allMatch(t -> t >= run.killedAt && t <= run.restartedAt + 5_000, "around the kill");
    assertThat(gc.path("status").asText()).isEqualTo("succeeded");
    assertThat(sessionsAfter).isZero();
  }

  /** The eight clients: their counters and what they saw committed. */
  private static final class ChaosRun {
    final String balancer;
    final int clients;
    final byte[][] sharedLayers;
    final long start = System.nanoTime();
    volatile boolean stop;
    volatile long killedAt = Long.MAX_VALUE;
    volatile long restartedAt = Long.MAX_VALUE;
    final AtomicLong requests = new AtomicLong();
    final AtomicLong blobsUploaded = new AtomicLong();
    final Map<Integer, Integer> failuresByStatus = new ConcurrentHashMap<>();
    final List<Long> failureTimes = Collections.synchronizedList(new ArrayList<>());
    final List<Pushed> pushed = Collections.synchronizedList(new ArrayList<>());
    final List<String> abandoned = Collections.synchronizedList(new ArrayList<>());

    ChaosRun(String balancer, int clients, long seed) {
      this.balancer = balancer;
      this.clients = clients;
      this.sharedLayers = new byte[][] {
        random(96 * 1024, seed), random(64 * 1024, seed + 1), random(32 * 1024, seed + 2)
      };
    }

    long now() {
      return (System.nanoTime() - start) / 1_000_000;
    }

    /** Pushes image after image into its own repository, pulling each back, until told to stop. */
    void client(int client) {
      RegistryClient http = new RegistryClient(URI.create(balancer));
      String repository = "chaos/client-" + client;
      for (int n = 0; !stop; n++) {
        byte[] own = random(48 * 1024, 1_000L * client + n);
        List<byte[]> layers = List.of(sharedLayers[0], sharedLayers[1], sharedLayers[2], own);
        byte[] config = ("{\"architecture\":\"amd64\",\"os\":\"linux\",\"client\":" + client
                + ",\"image\":" + n + "}")
            .getBytes(StandardCharsets.UTF_8);
        for (byte[] layer : layers) {
          pushBlob(http, repository, layer);
        }
        pushBlob(http, repository, config);
        byte[] manifest = manifest(config, layers);
        String tag = "v" + n;
        Response put = call(
            http,
            "PUT",
            "/v2/" + repository + "/manifests/" + tag,
            manifest,
            "Content-Type",
            OCI_MANIFEST);
        expect(put, 201);
        Pushed image = new Pushed(repository, tag, OciLayout.sha256(manifest), layers, config);
        pushed.add(image);
        // Pull it back through the balancer, as the client that pushed it would.
        image.verifyWith(this, http);
      }
    }

    /** A blob upload as clients do it: begin, one or two chunks, finish; begun again on error. */
    void pushBlob(RegistryClient http, String repository, byte[] blob) {
      String digest = OciLayout.sha256(blob);
      for (int attempt = 1; ; attempt++) {
        String session = null;
        try {
          Response head = call(http, "HEAD", "/v2/" + repository + "/blobs/" + digest, null);
          if (head.status() == 200) {
            return;
          }
          Response begun =
              expect(call(http, "POST", "/v2/" + repository + "/blobs/uploads/", new byte[0]), 202);
          session = begun.requiredHeader("Location");
          int half = blob.length / 2;
          Response first = expect(
              once(
                  http,
                  "PATCH",
                  session,
                  Arrays.copyOfRange(blob, 0, half),
                  "Content-Type",
                  "application/octet-stream",
                  "Content-Range",
                  "0-" + (half - 1)),
              202);
          Response second = expect(
              once(
                  http,
                  "PATCH",
                  first.requiredHeader("Location"),
                  Arrays.copyOfRange(blob, half, blob.length),
                  "Content-Type",
                  "application/octet-stream",
                  "Content-Range",
                  half + "-" + (blob.length - 1)),
              202);
          String location = second.requiredHeader("Location");
          expect(
              once(
                  http,
                  "PUT",
                  location + (location.contains("?") ? "&" : "?") + "digest=" + digest,
                  new byte[0]),
              201);
          blobsUploaded.incrementAndGet();
          return;
        } catch (Failed e) {
          if (attempt >= 5) {
            throw new AssertionError("gave up pushing " + digest + " to " + repository, e);
          }
          if (session != null) {
            abandoned.add(pathOf(session));
          }
          pause(attempt);
        }
      }
    }

    /** One request, retried (up to 5 attempts) on a connection error or a 5xx, as clients do. */
    Response call(RegistryClient http, String method, String path, byte[] body, String... headers) {
      for (int attempt = 1; ; attempt++) {
        try {
          return once(http, method, path, body, headers);
        } catch (Failed e) {
          if (attempt >= 5) {
            throw new AssertionError("gave up on " + method + " " + path, e);
          }
          pause(attempt);
        }
      }
    }

    /** One attempt; a connection error or a 5xx is counted and thrown as {@link Failed}. */
    Response once(RegistryClient http, String method, String path, byte[] body, String... headers) {
      requests.incrementAndGet();
      Response response;
      try {
        response = http.send(
            method,
            path,
            body == null ? BodyPublishers.noBody() : BodyPublishers.ofByteArray(body),
            headers);
      } catch (UncheckedIOException e) {
        failed(0);
        throw new Failed(method + " " + path + ": " + e.getCause());
      }
      if (response.status() >= 500) {
        failed(response.status());
        throw new Failed(response.toString());
      }
      return response;
    }

    private void failed(int status) {
      failureTimes.add(now());
      failuresByStatus.merge(status, 1, Integer::sum);
    }

    private static Response expect(Response response, int status) {
      if (response.status() != status) {
        throw new AssertionError("expected " + status + ": " + response);
      }
      return response;
    }

    private static void pause(int attempt) {
      try {
        Thread.sleep(200L * attempt);
      } catch (InterruptedException e) {
        Thread.currentThread().interrupt();
        throw new IllegalStateException(e);
      }
    }
  }

  /** An attempt that failed the way a retry can cure: no connection, or a 5xx. */
  private static final class Failed extends RuntimeException {
    Failed(String message) {
      super(message);
    }
  }

  /** An image a client saw committed (201 on its manifest). */
  private record Pushed(
      String repository, String tag, String digest, List<byte[]> layers, byte[] config) {

    /** Through the balancer, with the clients' retries. */
    void verifyWith(ChaosRun run, RegistryClient http) {
      Response manifest = run.call(
          http, "GET", "/v2/" + repository + "/manifests/" + tag, null, "Accept", OCI_MANIFEST);
      check(manifest);
      byte[] own = layers.getLast();
      Response blob =
          run.call(http, "GET", "/v2/" + repository + "/blobs/" + OciLayout.sha256(own), null);
      if (blob.status() == 307) {
        // storage.s3.redirect: the bytes come from the bucket
        blob = http.get(blob.requiredHeader("Location"));
      }
      assertThat(blob.status()).as("%s", blob).isEqualTo(200);
      assertThat(blob.body()).isEqualTo(own);
    }

    /** On one node, without retries: the manifest by tag and every blob it names. */
    void verifyOn(RegistryClient node) {
      check(node.get("/v2/" + repository + "/manifests/" + tag, "Accept", OCI_MANIFEST));
      List<byte[]> blobs = new ArrayList<>(layers);
      blobs.add(config);
      for (byte[] content : blobs) {
        String blobDigest = OciLayout.sha256(content);
        Response blob = node.getFollowingRedirect("/v2/" + repository + "/blobs/" + blobDigest);
        assertThat(blob.status()).as("%s", blob).isEqualTo(200);
        assertThat(OciLayout.sha256(blob.body())).isEqualTo(OciLayout.sha256(content));
      }
    }

    private void check(Response manifest) {
      assertThat(manifest.status()).as("%s", manifest).isEqualTo(200);
      assertThat(manifest.requiredHeader("Docker-Content-Digest")).isEqualTo(digest);
      assertThat(OciLayout.sha256(manifest.body())).isEqualTo(digest);
    }
  }

  private static byte[] manifest(byte[] config, List<byte[]> layers) {
    StringBuilder json = new StringBuilder()
        .append("{\"schemaVersion\":2,\"mediaType\":\"")
        .append(OCI_MANIFEST)
        .append("\",\"config\":")
        .append(descriptor(OciLayout.OCI_CONFIG, config))
        .append(",\"layers\":[");
    for (int i = 0; i < layers.size(); i++) {
      json.append(i == 0 ? "" : ",").append(descriptor(OciLayout.OCI_LAYER_GZIP, layers.get(i)));
    }
    return json.append("]}").toString().getBytes(StandardCharsets.UTF_8);
  }

  private static String descriptor(String mediaType, byte[] content) {
    return "{\"mediaType\":\"" + mediaType + "\",\"digest\":\"" + OciLayout.sha256(content)
        + "\",\"size\":" + content.length + "}";
  }

  /**
   * Each node, asked directly, serves {@code reference} with {@code digest}, and every manifest
   * and blob below it (walking an index's children).
   */
  private static void assertEveryNodeServes(String repository, String reference, String digest) {
    for (BerthProcess node : nodes) {
      assertServes(node.client(), repository, reference, digest);
    }
  }

  private static void assertServes(
      RegistryClient node, String repository, String reference, String digest) {
    Response manifest = node.get(
        "/v2/" + repository + "/manifests/" + reference, "Accept", RegistryClient.ACCEPT_MANIFESTS);
    assertThat(manifest.status()).as("%s", manifest).isEqualTo(200);
    assertThat(manifest.requiredHeader("Docker-Content-Digest")).isEqualTo(digest);
    assertThat(OciLayout.sha256(manifest.body())).isEqualTo(digest);
    JsonNode json = manifest.json();
    for (JsonNode child : json.path("manifests")) {
      String childDigest = child.path("digest").asText();
      assertServes(node, repository, childDigest, childDigest);
    }
    List<JsonNode> blobs = new ArrayList<>();
    if (json.has("config")) {
      blobs.add(json.path("config"));
    }
    json.path("layers").forEach(blobs::add);
    for (JsonNode descriptor : blobs) {
      String blobDigest = descriptor.path("digest").asText();
      Response blob = node.getFollowingRedirect("/v2/" + repository + "/blobs/" + blobDigest);
      assertThat(blob.status()).as("%s", blob).isEqualTo(200);
      assertThat(OciLayout.sha256(blob.body())).isEqualTo(blobDigest);
    }
  }

  /** Starts a garbage-collection run through the balancer and waits for it to finish. */
  private static JsonNode collectGarbage() throws InterruptedException {
    RegistryClient balancer = haproxy.client();
    Response started = balancer.post(
        "/api/v1/gc/runs",
        "{\"dryRun\":false}".getBytes(StandardCharsets.UTF_8),
        "Content-Type",
        "application/json");
    assertThat(started.status()).as("%s", started).isEqualTo(202);
    long id = started.json().path("id").asLong();
    long deadline = System.nanoTime() + Duration.ofSeconds(60).toNanos();
    while (true) {
      JsonNode run = balancer.get("/api/v1/gc/runs/" + id).json();
      if (!run.path("status").asText().equals("running") || System.nanoTime() > deadline) {
        ((ObjectNode) run).remove("deleted");
        return run;
      }
      Thread.sleep(200);
    }
  }

  private static long uploadRows() throws Exception {
    try (Connection c =
            DriverManager.getConnection(databaseUrl, PostgresServer.USER, PostgresServer.PASSWORD);
        Statement s = c.createStatement();
        ResultSet rs = s.executeQuery("SELECT count(*) FROM uploads")) {
      rs.next();
      return rs.getLong(1);
    }
  }

  /** The path and query of a {@code Location}, to send it to one node rather than the balancer. */
  private static String pathOf(String location) {
    URI uri = URI.create(location);
    return uri.getRawPath() + (uri.getRawQuery() == null ? "" : "?" + uri.getRawQuery());
  }

  private static byte[] random(int size, long seed) {
    byte[] bytes = new byte[size];
    new Random(seed).nextBytes(bytes);
    return bytes;
  }

  private static String lastLine(String output) {
    String[] lines = output.strip().split("\n");
    return lines[lines.length - 1].strip();
  }
}
