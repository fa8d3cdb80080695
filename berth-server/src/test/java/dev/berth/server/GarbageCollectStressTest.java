package dev.berth.server;

import static org.assertj.core.api.Assertions.assertThat;

import com.fasterxml.jackson.databind.JsonNode;
import dev.berth.config.ConfigLoader;
import java.io.ByteArrayOutputStream;
import java.io.PrintStream;
import java.net.http.HttpResponse;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.HashSet;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Random;
import java.util.Set;
import java.util.concurrent.ConcurrentLinkedQueue;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.atomic.AtomicLong;
import org.junit.jupiter.api.Test;

/**
 * Online garbage collection under load (issue 5, "Proof"): 8 clients push images that share
 * layers, delete manifests, tags and blob links, re-push identical content HEAD-first, mount
 * across repositories and upload chunked and monolithic, while collections with no grace period
 * run back to back, pruning the links that deleted manifests released (decision 012; links a
 * client relied on are held for the default {@code gc.link-hold} of an hour). Each client owns one repository, so it knows exactly what must be there.
 *
 * <p>At the end: no client ever got a 5xx; a blob the client's own repository links is never 404;
 * every image a client holds, and every manifest the API lists, pulls completely with correct
 * digests; after one last run a dry run finds nothing more to delete and {@code gc --verify}
 * finds storage and metadata consistent.
 *
 * <p>One subclass per backend ({@link #backend()}): SQLite and the filesystem, PostgreSQL and S3.
 */
abstract class GarbageCollectStressTest {
  private static final int CLIENTS = 8;
  private static final Duration LOAD = Duration.ofSeconds(25);
  private static final int SHARED_LAYERS = 6;

  private record Image(String tag, String digest, byte[] body, List<byte[]> blobs) {}

  private final ConcurrentLinkedQueue<String> violations = new ConcurrentLinkedQueue<>();
  private final AtomicLong requests = new AtomicLong();
  private final AtomicLong collectedBlobs = new AtomicLong();
  private final AtomicLong prunedLinks = new AtomicLong();
  private final AtomicLong runs = new AtomicLong();
  private final AtomicBoolean stop = new AtomicBoolean();
  private final List<byte[]> sharedLayers = new ArrayList<>();
  private InProcessBerth berth;

  @Test
  void clientsNeverSeeA5xxNorLoseAnImageWhileCollectionsRun() throws Exception {
    Path dataDir = Files.createTempDirectory("berth-gc-stress-");
    // At full width while the clients run (gc.busy-share 100): giving way to them (decision
    // 016) only adds rests between items, and the races are likeliest without those.
    berth = new InProcessBerth(
        withBackend(Map.of("gc.grace-period", "0s", "gc.busy-share", "100")), dataDir);
    berth.start();
    try {
      for (int i = 0; i < SHARED_LAYERS; i++) {
        sharedLayers.add(Content.random(2048 + 512 * i));
      }
      ExecutorService threads = Executors.newFixedThreadPool(CLIENTS + 1);
      List<Future<Map<String, Image>>> clients = new ArrayList<>();
      for (int i = 0; i < CLIENTS; i++) {
        int client = i;
        clients.add(threads.submit(() -> client(client)));
      }
      Future<?> collector = threads.submit(this::collectInALoop);
      Thread.sleep(LOAD.toMillis());
      stop.set(true);
      List<Map<String, Image>> held = new ArrayList<>();
      for (Future<Map<String, Image>> client : clients) {
        held.add(client.get(60, TimeUnit.SECONDS));
      }
      collector.get(60, TimeUnit.SECONDS);
      threads.shutdown();

      System.out.printf(
          "gc stress: %d requests, %d collections, %d links pruned, %d blobs collected during the"
              + " load%n",
          requests.get(), runs.get(), prunedLinks.get(), collectedBlobs.get());
      assertThat(violations).as("after %s requests", requests.get()).isEmpty();
      assertThat(runs.get()).as("collections run during the load").isGreaterThan(5);
      assertThat(collectedBlobs.get()).as("blobs collected during the load").isPositive();
      assertThat(prunedLinks.get()).as("links pruned during the load").isPositive();

      JsonNode last = awaitRun(submit(false, false));
      assertThat(last.path("errors").asInt()).isZero();
      for (int i = 0; i < CLIENTS; i++) {
        for (Image image : held.get(i).values()) {
          pullCompletely(repository(i), image.tag(), image.digest());
        }
      }
      for (String repository : berth.catalog()) {
        for (String tag : berth.tags(repository)) {
          pullCompletely(repository, tag, null);
        }
      }
      assertThat(violations).isEmpty();
      JsonNode dry = awaitRun(submit(true, false));
      assertThat(dry.path("blobsDeleted").asLong())
          .as("unreferenced blobs left: %s", dry.path("deleted"))
          .isZero();
      assertThat(dry.path("orphansDeleted").asLong())
          .as("orphan files left: %s", dry.path("deleted"))
          .isZero();

      berth.close();
      ByteArrayOutputStream report = new ByteArrayOutputStream();
      PrintStream print = new PrintStream(report, true, StandardCharsets.UTF_8);
      assertThat(Main.run(
              new String[] {"gc", "--verify", "--data", dataDir.toString()},
              backendEnvironment(),
              print,
              print))
          .as("gc --verify: %s", report)
          .isZero();
    } finally {
      stop.set(true);
      berth.close();
      InProcessBerth.deleteRecursively(dataDir);
    }
  }

  // ---- the backend ----

  /**
   * Configuration keys that put the metadata and the blobs on the backend under test; none for
   * SQLite and the filesystem in the data directory.
   */
  protected abstract Map<String, String> backend();

  private Map<String, String> withBackend(Map<String, String> settings) {
    Map<String, String> all = new HashMap<>(backend());
    all.putAll(settings);
    return all;
  }

  /** The backend as {@code BERTH_*} variables, for {@code gc --verify}. */
  private Map<String, String> backendEnvironment() {
    Map<String, String> environment = new HashMap<>();
    backend().forEach((key, value) -> environment.put(ConfigLoader.environmentName(key), value));
    return environment;
  }

  // ---- one client: owns stress/c<i>, so it knows what its repository holds ----

  private Map<String, Image> client(int client) {
    Random random = new Random(1000 + client);
    String repository = repository(client);
    Map<String, Image> images = new LinkedHashMap<>();
    Set<String> linked = new HashSet<>();
    int serial = 0;
    try {
      while (!stop.get()) {
        int dice = random.nextInt(100);
        if (dice < 35 || images.isEmpty()) {
          Image image = newImage(client, "t" + serial++, random);
          push(repository, image, linked, random);
          images.put(image.tag(), image);
        } else if (dice < 55) {
          Image image = pick(images, random);
          deleteManifest(repository, image, images, linked);
          if (random.nextBoolean()) {
            // Delete, collect (the collector is busy meanwhile), re-push the identical image.
            push(repository, image, linked, random);
            images.put(image.tag(), image);
          }
        } else if (dice < 62) {
          Image image = pick(images, random);
          expect(
              berth.delete("/v2/" + repository + "/manifests/" + image.tag()), 202, "delete tag");
          images.remove(image.tag());
          // A run with deleteUntagged may now delete the manifest, and then prune the links only
          // it listed (decision 012): they are no longer known to be there.
          linked.removeAll(onlyIn(image, images));
        } else if (dice < 77) {
          mount(client, repository, linked, random);
        } else {
          push(repository, pick(images, random), linked, random); // identical re-push, HEAD first
        }
      }
    } catch (RuntimeException | AssertionError e) {
      violations.add("client " + client + " stopped: " + e);
    }
    return images;
  }

  private Image newImage(int client, String tag, Random random) {
    byte[] config = Content.utf8(
        "{\"client\":" + client + ",\"tag\":\"" + tag + "\",\"n\":" + random.nextLong() + "}");
    List<byte[]> blobs = new ArrayList<>();
    blobs.add(config);
    List<String> layers = new ArrayList<>();
    int count = 1 + random.nextInt(3);
    Set<Integer> chosen = new HashSet<>();
    while (chosen.size() < count) {
      chosen.add(random.nextInt(SHARED_LAYERS));
    }
    for (int index : chosen) {
      blobs.add(sharedLayers.get(index));
      layers.add(Content.descriptor(Content.OCI_LAYER, sharedLayers.get(index)));
    }
    byte[] body = Content.ociManifest(
        Content.descriptor(Content.OCI_CONFIG, config), layers.toArray(String[]::new));
    return new Image(tag, Content.sha256(body), body, blobs);
  }

  /** HEAD each blob first, upload those missing, then the manifest under its tag. */
  private void push(String repository, Image image, Set<String> linked, Random random) {
    for (byte[] blob : image.blobs()) {
      String digest = Content.sha256(blob);
      HttpResponse<byte[]> head = berth.head("/v2/" + repository + "/blobs/" + digest);
      check(head, "HEAD blob");
      if (head.statusCode() == 200) {
        continue;
      }
      if (linked.contains(digest)) {
        violations.add("HEAD " + repository + " " + digest + " is 404 but the repository links it");
      }
      upload(repository, blob, random);
      linked.add(digest);
    }
    HttpResponse<byte[]> put = berth.put(
        "/v2/" + repository + "/manifests/" + image.tag(),
        image.body(),
        "Content-Type",
        Content.OCI_MANIFEST);
    expect(put, 201, "PUT manifest " + repository + ":" + image.tag());
  }

  /** Monolithic or chunked; retried when the blob was collected between a check and the link. */
  private void upload(String repository, byte[] blob, Random random) {
    String digest = Content.sha256(blob);
    for (int attempt = 1; ; attempt++) {
      HttpResponse<byte[]> done;
      if (random.nextBoolean()) {
        done = berth.post(
            "/v2/" + repository + "/blobs/uploads/?digest=" + digest,
            blob,
            "Content-Type",
            "application/octet-stream");
      } else {
        HttpResponse<byte[]> started = expect(
            berth.post("/v2/" + repository + "/blobs/uploads/", new byte[0]), 202, "start upload");
        String location = started.headers().firstValue("Location").orElseThrow();
        HttpResponse<byte[]> patched = expect(
            berth.patch(location, blob, "Content-Type", "application/octet-stream"),
            202,
            "PATCH upload");
        String next = patched.headers().firstValue("Location").orElseThrow();
        done = berth.put(next + (next.contains("?") ? "&" : "?") + "digest=" + digest, new byte[0]);
      }
      check(done, "upload");
      if (done.statusCode() == 201) {
        return;
      }
      // BLOB_UPLOAD_INVALID "retry": the dedupe link lost the race with a collection.
      if (done.statusCode() != 400 || attempt >= 3) {
        violations.add(
            "upload " + digest + " to " + repository + ": " + done.statusCode() + " " + body(done));
        throw new IllegalStateException("upload failed");
      }
    }
  }

  private void deleteManifest(
      String repository, Image image, Map<String, Image> images, Set<String> linked) {
    expect(
        berth.delete("/v2/" + repository + "/manifests/" + image.digest()), 202, "delete manifest");
    images.remove(image.tag());
    for (String digest : onlyIn(image, images)) {
      if (linked.remove(digest)) {
        // 404 when a collection pruned the released link first (decision 012).
        HttpResponse<byte[]> deleted = berth.delete("/v2/" + repository + "/blobs/" + digest);
        check(deleted, "delete blob");
        if (deleted.statusCode() != 202 && deleted.statusCode() != 404) {
          violations.add(
              "delete blob " + digest + ": " + deleted.statusCode() + " " + body(deleted));
        }
      }
    }
  }

  /** The digests of {@code image} that none of {@code others} uses. */
  private static Set<String> onlyIn(Image image, Map<String, Image> others) {
    Set<String> only = new HashSet<>();
    image.blobs().forEach(blob -> only.add(Content.sha256(blob)));
    for (Image other : others.values()) {
      other.blobs().forEach(blob -> only.remove(Content.sha256(blob)));
    }
    return only;
  }

  /** Mounts a shared layer from another client's repository; falls back to the upload offered. */
  private void mount(int client, String repository, Set<String> linked, Random random) {
    byte[] layer = sharedLayers.get(random.nextInt(SHARED_LAYERS));
    String digest = Content.sha256(layer);
    String from = repository((client + 1 + random.nextInt(CLIENTS - 1)) % CLIENTS);
    HttpResponse<byte[]> response = berth.post(
        "/v2/" + repository + "/blobs/uploads/?mount=" + digest + "&from=" + from, new byte[0]);
    check(response, "mount");
    if (response.statusCode() == 201) {
      linked.add(digest);
      return;
    }
    expect(response, 202, "mount fallback");
    String location = response.headers().firstValue("Location").orElseThrow();
    HttpResponse<byte[]> done = berth.put(
        location + (location.contains("?") ? "&" : "?") + "digest=" + digest,
        layer,
        "Content-Type",
        "application/octet-stream");
    check(done, "upload after mount");
    if (done.statusCode() == 201) {
      linked.add(digest);
    } else if (done.statusCode() != 400) {
      violations.add("upload after a refused mount: " + done.statusCode() + " " + body(done));
    }
  }

  // ---- the collector ----

  private Void collectInALoop() {
    int n = 0;
    while (!stop.get()) {
      try {
        JsonNode run = awaitRun(submit(false, n++ % 3 == 2));
        runs.incrementAndGet();
        collectedBlobs.addAndGet(run.path("blobsDeleted").asLong());
        prunedLinks.addAndGet(run.path("linksPruned").asLong());
        if (run.path("errors").asInt() > 0 || !run.path("status").asText().equals("succeeded")) {
          violations.add("run " + run.path("id") + ": " + run);
        }
      } catch (RuntimeException | AssertionError e) {
        violations.add("collector: " + e);
        return null;
      }
    }
    return null;
  }

  private long submit(boolean dryRun, boolean deleteUntagged) {
    while (true) {
      HttpResponse<byte[]> response = berth.post(
          "/api/v1/gc/runs",
          Content.utf8("{\"dryRun\":" + dryRun + ",\"deleteUntagged\":" + deleteUntagged + "}"),
          "Content-Type",
          "application/json");
      if (response.statusCode() == 202) {
        return InProcessBerth.json(response).path("id").asLong();
      }
      expect(response, 409, "start a run");
      sleep(10);
    }
  }

  private JsonNode awaitRun(long id) {
    long deadline = System.nanoTime() + Duration.ofSeconds(60).toNanos();
    while (true) {
      JsonNode run =
          InProcessBerth.json(expect(berth.get("/api/v1/gc/runs/" + id), 200, "GET run"));
      if (!run.path("finishedAt").isNull()) {
        return run;
      }
      if (System.nanoTime() > deadline) {
        throw new AssertionError("run " + id + " did not finish");
      }
      sleep(5);
    }
  }

  // ---- checks ----

  /** The manifest and every blob it lists come back with the right digests. */
  private void pullCompletely(String repository, String tag, String expectedDigest) {
    HttpResponse<byte[]> manifest = berth.get(
        "/v2/" + repository + "/manifests/" + tag,
        "Accept",
        Content.OCI_MANIFEST + ", " + Content.OCI_INDEX);
    if (manifest.statusCode() != 200) {
      violations.add(
          "pull " + repository + ":" + tag + ": " + manifest.statusCode() + " " + body(manifest));
      return;
    }
    String digest = Content.sha256(manifest.body());
    if (expectedDigest != null && !digest.equals(expectedDigest)) {
      violations.add(
          "pull " + repository + ":" + tag + " gave " + digest + ", not " + expectedDigest);
    }
    JsonNode json = InProcessBerth.json(manifest);
    List<String> blobs = new ArrayList<>();
    blobs.add(json.path("config").path("digest").asText());
    json.path("layers").forEach(layer -> blobs.add(layer.path("digest").asText()));
    for (String blob : blobs) {
      HttpResponse<byte[]> pulled =
          berth.getFollowingRedirect("/v2/" + repository + "/blobs/" + blob);
      if (pulled.statusCode() != 200 || !Content.sha256(pulled.body()).equals(blob)) {
        violations.add(
            "pull " + repository + ":" + tag + " blob " + blob + ": " + pulled.statusCode());
      }
    }
  }

  private HttpResponse<byte[]> expect(HttpResponse<byte[]> response, int status, String what) {
    check(response, what);
    if (response.statusCode() != status) {
      violations.add(
          what + ": expected " + status + ", got " + response.statusCode() + " " + body(response));
      throw new IllegalStateException(what + " failed");
    }
    return response;
  }

  private void check(HttpResponse<byte[]> response, String what) {
    requests.incrementAndGet();
    if (response.statusCode() >= 500) {
      violations.add(what + " " + response.request().method() + " " + response.uri() + ": "
          + response.statusCode() + " " + body(response));
    }
  }

  private static String body(HttpResponse<byte[]> response) {
    return new String(response.body(), StandardCharsets.UTF_8);
  }

  private static Image pick(Map<String, Image> images, Random random) {
    List<Image> all = new ArrayList<>(images.values());
    return all.get(random.nextInt(all.size()));
  }

  private static String repository(int client) {
    return "stress/c" + client;
  }

  private static void sleep(long millis) {
    try {
      Thread.sleep(millis);
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
      throw new IllegalStateException(e);
    }
  }
}
