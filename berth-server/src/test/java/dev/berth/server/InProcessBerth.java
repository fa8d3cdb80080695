package dev.berth.server;

import static org.assertj.core.api.Assertions.assertThat;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import dev.berth.config.ConfigLoader;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpRequest.BodyPublisher;
import java.net.http.HttpRequest.BodyPublishers;
import java.net.http.HttpResponse;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.Comparator;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.stream.Stream;
import org.junit.jupiter.api.extension.AfterAllCallback;
import org.junit.jupiter.api.extension.BeforeAllCallback;
import org.junit.jupiter.api.extension.ExtensionContext;

/**
 * One Berth running in this JVM for a test class, on a fresh data directory, and a plain HTTP/1.1
 * client for it that follows no redirects, so a test sees exactly what the server answered.
 * Register it as a static field:
 *
 * <pre>{@code
 * @RegisterExtension static final InProcessBerth BERTH = new InProcessBerth();
 * }</pre>
 */
public final class InProcessBerth implements BeforeAllCallback, AfterAllCallback {
  static final ObjectMapper JSON = new ObjectMapper();

  private final Map<String, String> overrides;
  private final Path dataDir;
  private final boolean ownsDataDir;
  private HttpClient http;
  private Berth berth;
  private URI base;
  private final Map<String, String> environment;

  public InProcessBerth() {
    this(Map.of());
  }

  /** With configuration overrides, e.g. {@code Map.of("server.read-only", "true")}. */
  public InProcessBerth(Map<String, String> overrides) {
    this(overrides, null);
  }

  /** On a given data directory (kept afterwards), so a second server can reuse the data. */
  public InProcessBerth(Map<String, String> overrides, Path dataDir) {
    this(overrides, dataDir, Map.of());
  }

  /**
   * With access control on ({@code auth.enabled: true}) and {@code admin}'s first password,
   * as {@code BERTH_ADMIN_PASSWORD} gives it.
   */
  public static InProcessBerth withAuth(String adminPassword, Map<String, String> overrides) {
    Map<String, String> settings = new HashMap<>(overrides);
    settings.put("auth.enabled", "true");
    return new InProcessBerth(settings, null, Map.of("BERTH_ADMIN_PASSWORD", adminPassword));
  }

  /** The same on a given data directory (kept afterwards), so a second server can reuse it. */
  public static InProcessBerth withAuth(
      String adminPassword, Map<String, String> overrides, Path dataDir) {
    Map<String, String> settings = new HashMap<>(overrides);
    settings.put("auth.enabled", "true");
    return new InProcessBerth(settings, dataDir, Map.of("BERTH_ADMIN_PASSWORD", adminPassword));
  }

  private InProcessBerth(
      Map<String, String> overrides, Path dataDir, Map<String, String> environment) {
    this.environment = environment;
    this.overrides = overrides;
    this.ownsDataDir = dataDir == null;
    try {
      this.dataDir = dataDir != null ? dataDir : Files.createTempDirectory("berth-spec-");
    } catch (IOException e) {
      throw new UncheckedIOException(e);
    }
  }

  @Override
  public void beforeAll(ExtensionContext context) throws Exception {
    start();
  }

  @Override
  public void afterAll(ExtensionContext context) throws Exception {
    close();
  }

  public void start() throws Exception {
    Map<String, String> settings = new HashMap<>();
    settings.put("server.addr", "127.0.0.1:0");
    settings.put("data-dir", dataDir.toString());
    settings.put("log.access-log", "false");
    // The protocol tests run without access control; the auth tests turn it on.
    settings.put("auth.enabled", "false");
    settings.putAll(overrides);
    berth = Berth.start(new ConfigLoader().load(null, Map.of(), settings), environment);
    base = URI.create("http://127.0.0.1:" + berth.port());
    http = HttpClient.newBuilder()
        .version(HttpClient.Version.HTTP_1_1)
        .followRedirects(HttpClient.Redirect.NEVER)
        .connectTimeout(Duration.ofSeconds(5))
        .build();
  }

  public void close() throws Exception {
    if (http != null) {
      // Idle keep-alive connections would hold up the server's graceful stop.
      http.shutdownNow();
      http = null;
    }
    try {
      if (berth != null) {
        berth.close();
        berth = null;
      }
    } finally {
      if (ownsDataDir) {
        deleteRecursively(dataDir);
      }
    }
  }

  public int port() {
    return berth.port();
  }

  /** The server's audit log, to record into as the request paths will. */
  public dev.berth.audit.AuditLog audit() {
    return berth.audit();
  }

  /** A path such as {@code /v2/} or an absolute URL (as in a {@code Location} header). */
  public URI uri(String pathOrUrl) {
    return base.resolve(pathOrUrl);
  }

  public HttpResponse<byte[]> get(String path, String... headers) {
    return send("GET", path, BodyPublishers.noBody(), headers);
  }

  /**
   * A {@code GET} that follows a {@code 307} to storage (a presigned URL) as registry clients do:
   * the other headers ({@code Range}) go along, credentials do not.
   */
  public HttpResponse<byte[]> getFollowingRedirect(String path, String... headers) {
    HttpResponse<byte[]> response = get(path, headers);
    if (response.statusCode() != 307) {
      return response;
    }
    List<String> kept = new ArrayList<>();
    for (int i = 0; i < headers.length; i += 2) {
      if (!headers[i].equalsIgnoreCase("Authorization")) {
        kept.add(headers[i]);
        kept.add(headers[i + 1]);
      }
    }
    return get(
        response.headers().firstValue("Location").orElseThrow(), kept.toArray(String[]::new));
  }

  public HttpResponse<byte[]> head(String path, String... headers) {
    return send("HEAD", path, BodyPublishers.noBody(), headers);
  }

  public HttpResponse<byte[]> delete(String path, String... headers) {
    return send("DELETE", path, BodyPublishers.noBody(), headers);
  }

  public HttpResponse<byte[]> post(String path, byte[] body, String... headers) {
    return send("POST", path, BodyPublishers.ofByteArray(body), headers);
  }

  public HttpResponse<byte[]> put(String path, byte[] body, String... headers) {
    return send("PUT", path, BodyPublishers.ofByteArray(body), headers);
  }

  public HttpResponse<byte[]> patch(String path, byte[] body, String... headers) {
    return send("PATCH", path, BodyPublishers.ofByteArray(body), headers);
  }

  /** One request; {@code headers} alternate names and values. */
  public HttpResponse<byte[]> send(
      String method, String pathOrUrl, BodyPublisher body, String... headers) {
    HttpRequest.Builder request =
        HttpRequest.newBuilder(uri(pathOrUrl)).timeout(Duration.ofSeconds(30)).method(method, body);
    for (int i = 0; i < headers.length; i += 2) {
      request.header(headers[i], headers[i + 1]);
    }
    try {
      return http.send(request.build(), HttpResponse.BodyHandlers.ofByteArray());
    } catch (IOException e) {
      throw new UncheckedIOException(method + " " + pathOrUrl, e);
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
      throw new IllegalStateException(e);
    }
  }

  // ---- pushes that a test needs as set-up, each checked ----

  /**
   * Pushes a blob in one {@code POST ?digest=} and returns its digest; {@code headers} (name,
   * value pairs) are sent too, e.g. credentials.
   */
  public String pushBlob(String repository, byte[] content, String... headers) {
    String digest = Content.sha256(content);
    HttpResponse<byte[]> response = post(
        "/v2/" + repository + "/blobs/uploads/?digest=" + digest,
        content,
        withHeader(headers, "Content-Type", "application/octet-stream"));
    assertThat(response.statusCode()).as("push blob %s", digest).isEqualTo(201);
    return digest;
  }

  /** Pushes a manifest and returns the digest the registry reported; {@code headers} as above. */
  public String pushManifest(
      String repository, String reference, String mediaType, byte[] body, String... headers) {
    HttpResponse<byte[]> response = put(
        "/v2/" + repository + "/manifests/" + reference,
        body,
        withHeader(headers, "Content-Type", mediaType));
    assertThat(response.statusCode())
        .as("push manifest %s:%s: %s", repository, reference, new String(response.body()))
        .isEqualTo(201);
    String digest = response.headers().firstValue("Docker-Content-Digest").orElseThrow();
    assertThat(digest).isEqualTo(Content.sha256(body));
    return digest;
  }

  /**
   * Pushes an OCI image manifest with a fresh config and one fresh layer; returns its digest.
   * {@code headers} (e.g. credentials) go with every request.
   */
  public String pushImage(String repository, String reference, String... headers) {
    return pushManifest(
        repository, reference, Content.OCI_MANIFEST, image(repository, headers), headers);
  }

  /** Pushes a fresh config and layer and returns an OCI image manifest over them (not pushed). */
  public byte[] image(String repository, String... headers) {
    byte[] config = Content.randomConfig();
    byte[] layer = Content.random(300);
    pushBlob(repository, config, headers);
    pushBlob(repository, layer, headers);
    return Content.ociManifest(
        Content.descriptor(Content.OCI_CONFIG, config),
        Content.descriptor(Content.OCI_LAYER, layer));
  }

  private static String[] withHeader(String[] headers, String name, String value) {
    String[] all = Arrays.copyOf(headers, headers.length + 2);
    all[headers.length] = name;
    all[headers.length + 1] = value;
    return all;
  }

  /** Every repository in the catalog. */
  public List<String> catalog() {
    HttpResponse<byte[]> response = get("/v2/_catalog?n=10000");
    assertThat(response.statusCode()).isEqualTo(200);
    List<String> names = new ArrayList<>();
    json(response).get("repositories").forEach(node -> names.add(node.asText()));
    return names;
  }

  /** A repository's tags, or null when the repository is unknown. */
  public List<String> tags(String repository) {
    HttpResponse<byte[]> response = get("/v2/" + repository + "/tags/list");
    if (response.statusCode() == 404) {
      return null;
    }
    assertThat(response.statusCode()).isEqualTo(200);
    List<String> tags = new ArrayList<>();
    json(response).get("tags").forEach(node -> tags.add(node.asText()));
    return tags;
  }

  public static JsonNode json(HttpResponse<byte[]> response) {
    try {
      return JSON.readTree(response.body());
    } catch (IOException e) {
      throw new AssertionError("not JSON: " + new String(response.body()), e);
    }
  }

  static void deleteRecursively(Path dir) throws IOException {
    if (!Files.exists(dir)) {
      return;
    }
    try (Stream<Path> walk = Files.walk(dir)) {
      for (Path p : walk.sorted(Comparator.reverseOrder()).toList()) {
        Files.deleteIfExists(p);
      }
    }
  }
}
