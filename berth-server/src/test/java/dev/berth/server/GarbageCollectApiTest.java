package dev.berth.server;

import static org.assertj.core.api.Assertions.assertThat;

import com.fasterxml.jackson.databind.JsonNode;
import java.io.ByteArrayOutputStream;
import java.io.PrintStream;
import java.net.http.HttpResponse;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

/**
 * The management API for garbage collection, {@code berth gc}, and the delete-then-re-push story
 * with a collection in between, against a server with no grace period.
 */
class GarbageCollectApiTest {
  private static Path dataDir;
  private static InProcessBerth berth;

  @BeforeAll
  static void start() throws Exception {
    dataDir = Files.createTempDirectory("berth-gc-");
    berth = new InProcessBerth(Map.of("gc.grace-period", "0s"), dataDir);
    berth.start();
  }

  @AfterAll
  static void stop() throws Exception {
    try {
      berth.close();
    } finally {
      InProcessBerth.deleteRecursively(dataDir);
    }
  }

  @Test
  void aRunIsAcceptedThenListedAndReadBack() {
    HttpResponse<byte[]> accepted = berth.post(
        "/api/v1/gc/runs",
        utf8("{\"dryRun\":true,\"deleteUntagged\":false}"),
        "Content-Type",
        "application/json");

    assertThat(accepted.statusCode()).isEqualTo(202);
    JsonNode run = InProcessBerth.json(accepted);
    long id = run.path("id").asLong();
    assertThat(accepted.headers().firstValue("Location")).hasValue("/api/v1/gc/runs/" + id);
    assertThat(run.path("dryRun").asBoolean()).isTrue();
    assertThat(run.path("trigger").asText()).isEqualTo("api");

    JsonNode finished = awaitRun(id);
    assertThat(finished.path("status").asText()).isEqualTo("succeeded");
    assertThat(finished.path("finishedAt").isTextual()).isTrue();

    HttpResponse<byte[]> list = berth.get("/api/v1/gc/runs");
    assertThat(list.statusCode()).isEqualTo(200);
    List<Long> ids = new ArrayList<>();
    InProcessBerth.json(list)
        .path("runs")
        .forEach(node -> ids.add(node.path("id").asLong()));
    assertThat(ids).contains(id);
    assertThat(ids).isSortedAccordingTo((a, b) -> Long.compare(b, a));
  }

  @Test
  void badRequestsAreAnsweredWithJsonErrors() {
    HttpResponse<byte[]> notJson =
        berth.post("/api/v1/gc/runs", utf8("{dry"), "Content-Type", "application/json");
    assertThat(notJson.statusCode()).isEqualTo(400);
    assertThat(InProcessBerth.json(notJson).path("errors").path(0).path("code").asText())
        .isEqualTo("INVALID_REQUEST");

    HttpResponse<byte[]> wrongType = berth.post("/api/v1/gc/runs", utf8("{\"dryRun\":\"yes\"}"));
    assertThat(wrongType.statusCode()).isEqualTo(400);

    HttpResponse<byte[]> unknown = berth.get("/api/v1/gc/runs/987654");
    assertThat(unknown.statusCode()).isEqualTo(404);
    assertThat(
            InProcessBerth.json(unknown).path("errors").path(0).path("message").asText())
        .contains("987654");

    HttpResponse<byte[]> method = berth.delete("/api/v1/gc/runs");
    assertThat(method.statusCode()).isEqualTo(405);
    assertThat(method.headers().firstValue("Allow")).hasValue("GET, POST");

    assertThat(berth.get("/api/v1/nothing").statusCode()).isEqualTo(404);
  }

  @Test
  void aDryRunReportsWhatTheRealRunThenDeletes() {
    String repository = "gc/dry";
    byte[] config = Content.randomConfig();
    byte[] layer = Content.random(1000);
    String configDigest = berth.pushBlob(repository, config);
    String layerDigest = berth.pushBlob(repository, layer);
    String manifest = berth.pushManifest(
        repository,
        "v1",
        Content.OCI_MANIFEST,
        Content.ociManifest(
            Content.descriptor(Content.OCI_CONFIG, config),
            Content.descriptor(Content.OCI_LAYER, layer)));
    assertThat(berth.delete("/v2/" + repository + "/manifests/" + manifest).statusCode())
        .isEqualTo(202);
    assertThat(berth.delete("/v2/" + repository + "/blobs/" + configDigest).statusCode())
        .isEqualTo(202);
    assertThat(berth.delete("/v2/" + repository + "/blobs/" + layerDigest).statusCode())
        .isEqualTo(202);

    JsonNode dry = awaitRun(submit(true, false));
    JsonNode real = awaitRun(submit(false, false));

    assertThat(strings(dry.path("deleted").path("blobs"))).contains(configDigest, layerDigest);
    assertThat(strings(real.path("deleted"))).isEqualTo(strings(dry.path("deleted")));
    assertThat(real.path("blobsDeleted").asLong())
        .isEqualTo(dry.path("blobsDeleted").asLong());
    assertThat(real.path("bytesFreed").asLong())
        .isEqualTo(dry.path("bytesFreed").asLong());
    assertThat(Files.exists(blobFile(layerDigest))).isFalse();
  }

  @Test
  void deleteCollectThenRePushTheSameImage() {
    String repository = "gc/repush";
    byte[] config = Content.randomConfig();
    byte[] layer = Content.random(4000);
    byte[] manifestBody = Content.ociManifest(
        Content.descriptor(Content.OCI_CONFIG, config),
        Content.descriptor(Content.OCI_LAYER, layer));
    berth.pushBlob(repository, config);
    String layerDigest = berth.pushBlob(repository, layer);
    String manifest = berth.pushManifest(repository, "latest", Content.OCI_MANIFEST, manifestBody);

    // Delete everything, as a cleanup policy would, and collect.
    assertThat(berth.delete("/v2/" + repository + "/manifests/" + manifest).statusCode())
        .isEqualTo(202);
    for (byte[] blob : List.of(config, layer)) {
      assertThat(berth
              .delete("/v2/" + repository + "/blobs/" + Content.sha256(blob))
              .statusCode())
          .isEqualTo(202);
    }
    JsonNode run = awaitRun(submit(false, false));
    assertThat(strings(run.path("deleted").path("blobs"))).contains(layerDigest);
    assertThat(Files.exists(blobFile(layerDigest))).isFalse();

    // The client checks first, as docker and skopeo do: 404, so it uploads again.
    for (byte[] blob : List.of(config, layer)) {
      assertThat(
              berth.head("/v2/" + repository + "/blobs/" + Content.sha256(blob)).statusCode())
          .isEqualTo(404);
      berth.pushBlob(repository, blob);
    }
    berth.pushManifest(repository, "latest", Content.OCI_MANIFEST, manifestBody);

    HttpResponse<byte[]> pulled =
        berth.get("/v2/" + repository + "/manifests/latest", "Accept", Content.OCI_MANIFEST);
    assertThat(pulled.statusCode()).isEqualTo(200);
    assertThat(pulled.body()).isEqualTo(manifestBody);
    HttpResponse<byte[]> pulledLayer = berth.get("/v2/" + repository + "/blobs/" + layerDigest);
    assertThat(pulledLayer.statusCode()).isEqualTo(200);
    assertThat(Content.sha256(pulledLayer.body())).isEqualTo(layerDigest);
    assertThat(awaitRun(submit(false, false)).path("deleted").path("blobs").toString())
        .doesNotContain(layerDigest);
  }

  @Test
  void deletingAnImageFreesItsLayersAtTheNextRun() {
    String repository = "gc/image-delete";
    byte[] config = Content.randomConfig();
    byte[] layer = Content.random(2500);
    berth.pushBlob(repository, config);
    String layerDigest = berth.pushBlob(repository, layer);
    String manifest = berth.pushManifest(
        repository,
        "v1",
        Content.OCI_MANIFEST,
        Content.ociManifest(
            Content.descriptor(Content.OCI_CONFIG, config),
            Content.descriptor(Content.OCI_LAYER, layer)));
    assertThat(berth.delete("/v2/" + repository + "/manifests/" + manifest).statusCode())
        .isEqualTo(202);

    JsonNode run = awaitRun(submit(false, false));

    assertThat(strings(run.path("deleted").path("links")))
        .contains(repository + "@" + layerDigest, repository + "@" + Content.sha256(config));
    assertThat(strings(run.path("deleted").path("blobs")))
        .contains(layerDigest, Content.sha256(config));
    assertThat(berth.head("/v2/" + repository + "/blobs/" + layerDigest).statusCode())
        .isEqualTo(404);
    assertThat(Files.exists(blobFile(layerDigest))).isFalse();
  }

  @Test
  void aHeadAfterTheDeleteHoldsTheLinkForTheClientsNextManifest() {
    String repository = "gc/head-hold";
    byte[] layer = Content.random(1800);
    String layerDigest = berth.pushBlob(repository, layer);
    byte[] first = Content.randomConfig();
    berth.pushBlob(repository, first);
    String old = berth.pushManifest(
        repository,
        "old",
        Content.OCI_MANIFEST,
        Content.ociManifest(
            Content.descriptor(Content.OCI_CONFIG, first),
            Content.descriptor(Content.OCI_LAYER, layer)));
    assertThat(berth.delete("/v2/" + repository + "/manifests/" + old).statusCode())
        .isEqualTo(202);

    // A client checks the layer, skips its upload, and a collection runs before its manifest.
    assertThat(berth.head("/v2/" + repository + "/blobs/" + layerDigest).statusCode())
        .isEqualTo(200);
    JsonNode run = awaitRun(submit(false, false));
    assertThat(strings(run.path("deleted").path("blobs"))).doesNotContain(layerDigest);
    byte[] second = Content.randomConfig();
    berth.pushBlob(repository, second);
    berth.pushManifest(
        repository,
        "new",
        Content.OCI_MANIFEST,
        Content.ociManifest(
            Content.descriptor(Content.OCI_CONFIG, second),
            Content.descriptor(Content.OCI_LAYER, layer)));

    HttpResponse<byte[]> pulled = berth.get("/v2/" + repository + "/blobs/" + layerDigest);
    assertThat(pulled.statusCode()).isEqualTo(200);
    assertThat(Content.sha256(pulled.body())).isEqualTo(layerDigest);
  }

  @Test
  void storageUseIsReportedPerRepositoryAndPerProject() {
    byte[] shared = Content.random(1000);
    byte[] own = Content.random(500);
    byte[] configA = Content.randomConfig();
    byte[] configB = Content.randomConfig();
    berth.pushBlob("usage/a", configA);
    berth.pushBlob("usage/a", shared);
    berth.pushBlob("usage/a", own);
    berth.pushManifest(
        "usage/a",
        "v1",
        Content.OCI_MANIFEST,
        Content.ociManifest(
            Content.descriptor(Content.OCI_CONFIG, configA),
            Content.descriptor(Content.OCI_LAYER, shared),
            Content.descriptor(Content.OCI_LAYER, own)));
    berth.pushBlob("usage/b", configB);
    berth.pushBlob("usage/b", shared);
    byte[] manifestB = Content.ociManifest(
        Content.descriptor(Content.OCI_CONFIG, configB),
        Content.descriptor(Content.OCI_LAYER, shared));
    berth.pushManifest("usage/b", "v1", Content.OCI_MANIFEST, manifestB);
    berth.pushBlob("elsewhere/x", own);

    JsonNode a = InProcessBerth.json(expectOk(berth.get("/api/v1/repositories/usage/a/usage")));
    assertThat(a.path("repository").asText()).isEqualTo("usage/a");
    assertThat(a.path("project").asText()).isEqualTo("usage");
    assertThat(a.path("blobs").asLong()).isEqualTo(3);
    assertThat(a.path("bytes").asLong()).isEqualTo(configA.length + 1500);
    assertThat(a.path("sharedBytes").asLong())
        .as("shared with usage/b and elsewhere/x")
        .isEqualTo(1500);
    assertThat(a.path("uniqueBytes").asLong()).isEqualTo(configA.length);
    assertThat(a.path("manifests").asLong()).isEqualTo(1);

    JsonNode project = InProcessBerth.json(expectOk(berth.get("/api/v1/projects/usage/usage")));
    assertThat(project.path("repositories").asLong()).isEqualTo(2);
    assertThat(project.path("blobs").asLong())
        .as("the shared layer counts once")
        .isEqualTo(4);
    assertThat(project.path("bytes").asLong()).isEqualTo(configA.length + configB.length + 1500);
    assertThat(project.path("sharedBytes").asLong()).as("only with elsewhere/x").isEqualTo(500);
    assertThat(project.path("manifests").asLong()).isEqualTo(2);
    assertThat(project.path("manifestBytes").asLong()).isGreaterThanOrEqualTo(manifestB.length);

    JsonNode empty =
        InProcessBerth.json(expectOk(berth.get("/api/v1/projects/nothing-here/usage")));
    assertThat(empty.path("repositories").asLong()).isZero();
    assertThat(empty.path("bytes").asLong()).isZero();
    HttpResponse<byte[]> unknown = berth.get("/api/v1/repositories/usage/none/usage");
    assertThat(unknown.statusCode()).isEqualTo(404);
    assertThat(errorCode(unknown)).isEqualTo("NAME_UNKNOWN");
    HttpResponse<byte[]> invalid = berth.get("/api/v1/projects/Not_Valid!/usage");
    assertThat(invalid.statusCode()).isEqualTo(400);
    assertThat(errorCode(invalid)).isEqualTo("NAME_INVALID");
  }

  @Test
  void aProjectPolicyMakesEveryRunDeleteItsUntaggedManifests() {
    String policy = "/api/v1/projects/untagged-policy/gc-policy";
    assertThat(InProcessBerth.json(expectOk(berth.get(policy)))
            .path("deleteUntagged")
            .asBoolean())
        .isFalse();
    String repository = "untagged-policy/app";
    byte[] body = berth.image(repository);
    String digest =
        berth.pushManifest(repository, Content.sha256(body), Content.OCI_MANIFEST, body);
    byte[] keptBody = berth.image("gc/untagged-kept");
    String other = berth.pushManifest(
        "gc/untagged-kept", Content.sha256(keptBody), Content.OCI_MANIFEST, keptBody);

    HttpResponse<byte[]> set =
        berth.put(policy, utf8("{\"deleteUntagged\":true}"), "Content-Type", "application/json");
    assertThat(InProcessBerth.json(expectOk(set)).path("deleteUntagged").asBoolean())
        .isTrue();
    JsonNode run = awaitRun(submit(false, false));

    assertThat(strings(run.path("deleted").path("manifests")))
        .contains(repository + "@" + digest)
        .doesNotContain("gc/untagged-kept@" + other);
    assertThat(berth.get("/v2/" + repository + "/manifests/" + digest).statusCode())
        .isEqualTo(404);
    assertThat(berth.head("/v2/gc/untagged-kept/manifests/" + other).statusCode())
        .isEqualTo(200);

    assertThat(berth.put(policy, utf8("{\"deleteUntagged\":\"yes\"}")).statusCode())
        .isEqualTo(400);
    assertThat(berth.put(policy, utf8("[]")).statusCode()).isEqualTo(400);
    HttpResponse<byte[]> method = berth.delete(policy);
    assertThat(method.statusCode()).isEqualTo(405);
    assertThat(method.headers().firstValue("Allow")).hasValue("GET, PUT");
    assertThat(berth
            .put("/api/v1/projects/a/b/gc-policy", utf8("{\"deleteUntagged\":true}"))
            .statusCode())
        .isEqualTo(400);
    expectOk(berth.put(policy, utf8("{\"deleteUntagged\":false}")));
  }

  private static HttpResponse<byte[]> expectOk(HttpResponse<byte[]> response) {
    assertThat(response.statusCode())
        .as("%s", new String(response.body(), StandardCharsets.UTF_8))
        .isEqualTo(200);
    return response;
  }

  private static String errorCode(HttpResponse<byte[]> response) {
    return InProcessBerth.json(response).path("errors").path(0).path("code").asText();
  }

  @Test
  void theCommandLineStartsARunAndWaitsForIt() {
    ByteArrayOutputStream out = new ByteArrayOutputStream();
    ByteArrayOutputStream err = new ByteArrayOutputStream();

    int status = Main.run(
        new String[] {"gc", "--server", "http://127.0.0.1:" + berth.port(), "--dry-run", "--wait"},
        Map.of("BERTH_USER", "admin", "BERTH_PASSWORD", "secret"),
        new PrintStream(out, true, StandardCharsets.UTF_8),
        new PrintStream(err, true, StandardCharsets.UTF_8));

    assertThat(err.toString(StandardCharsets.UTF_8)).isEmpty();
    assertThat(status).isZero();
    assertThat(out.toString(StandardCharsets.UTF_8))
        .matches("(?s)gc run \\d+ succeeded \\(dry run.*blobs.*bytes.*\\n");
  }

  @Test
  void verifyFindsOrphansWithoutChangingAnything() throws Exception {
    awaitRun(submit(false, false));
    // Offline: on SQLite the running server holds the database's write lock.
    berth.close();
    byte[] stray = Content.random(64);
    String digest = Content.sha256(stray);
    Path file = blobFile(digest);
    try {
      ByteArrayOutputStream report = new ByteArrayOutputStream();
      assertThat(verify(report)).as("consistent after a run: %s", report).isZero();
      assertThat(report.toString(StandardCharsets.UTF_8)).contains("consistent: ");

      Files.createDirectories(file.getParent());
      Files.write(file, stray);
      ByteArrayOutputStream inconsistent = new ByteArrayOutputStream();
      assertThat(verify(inconsistent)).isEqualTo(1);
      assertThat(inconsistent.toString(StandardCharsets.UTF_8))
          .contains("orphan", digest.substring("sha256:".length()), "inconsistent");
      assertThat(Files.exists(file)).as("verify changes nothing").isTrue();
    } finally {
      berth.start();
    }
    awaitRun(submit(false, false));
    assertThat(Files.exists(file)).as("the next run removes the orphan").isFalse();
  }

  private static int verify(ByteArrayOutputStream out) {
    PrintStream print = new PrintStream(out, true, StandardCharsets.UTF_8);
    return Main.run(
        new String[] {"gc", "--verify", "--data", dataDir.toString()}, Map.of(), print, print);
  }

  @Test
  void usageErrorsExitWithTwo() {
    PrintStream quiet = new PrintStream(new ByteArrayOutputStream(), true, StandardCharsets.UTF_8);
    assertThat(Main.run(new String[] {"gc"}, Map.of(), quiet, quiet)).isEqualTo(2);
    assertThat(Main.run(
            new String[] {"gc", "--verify", "--server", "http://x"}, Map.of(), quiet, quiet))
        .isEqualTo(2);
  }

  /** Submits a run, retrying while another test's run is still in progress (409). */
  static long submit(boolean dryRun, boolean deleteUntagged) {
    long deadline = System.nanoTime() + Duration.ofSeconds(30).toNanos();
    while (true) {
      HttpResponse<byte[]> response = berth.post(
          "/api/v1/gc/runs",
          utf8("{\"dryRun\":" + dryRun + ",\"deleteUntagged\":" + deleteUntagged + "}"),
          "Content-Type",
          "application/json");
      if (response.statusCode() == 202) {
        return InProcessBerth.json(response).path("id").asLong();
      }
      assertThat(response.statusCode()).isEqualTo(409);
      assertThat(System.nanoTime()).as("a run in progress ends").isLessThan(deadline);
      pause();
    }
  }

  static JsonNode awaitRun(long id) {
    long deadline = System.nanoTime() + Duration.ofSeconds(30).toNanos();
    while (true) {
      HttpResponse<byte[]> response = berth.get("/api/v1/gc/runs/" + id);
      assertThat(response.statusCode()).isEqualTo(200);
      JsonNode run = InProcessBerth.json(response);
      if (!run.path("finishedAt").isNull()) {
        assertThat(run.path("errors").asInt())
            .as("errors: %s", run.path("lastError"))
            .isZero();
        return run;
      }
      assertThat(System.nanoTime()).as("run %s finishes", id).isLessThan(deadline);
      pause();
    }
  }

  private static Path blobFile(String digest) {
    String hex = digest.substring("sha256:".length());
    return dataDir.resolve("blobs/blobs/sha256/" + hex.substring(0, 2) + "/" + hex);
  }

  private static List<String> strings(JsonNode node) {
    List<String> values = new ArrayList<>();
    if (node.isArray()) {
      node.forEach(item -> values.add(item.asText()));
    } else {
      node.fieldNames().forEachRemaining(name -> values.add(name + "=" + node.get(name)));
    }
    return values;
  }

  private static byte[] utf8(String text) {
    return text.getBytes(StandardCharsets.UTF_8);
  }

  private static void pause() {
    try {
      Thread.sleep(20);
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
      throw new IllegalStateException(e);
    }
  }
}
