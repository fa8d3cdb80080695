package dev.berth.admin;

import dev.berth.http.Exchange;
import dev.berth.oci.ErrorCode;
import dev.berth.oci.RegistryException;
import java.io.IOException;
import java.io.InputStream;
import java.io.UncheckedIOException;
import java.util.Map;
import java.util.Optional;
import java.util.Properties;
import java.util.concurrent.ConcurrentHashMap;
import java.util.regex.Pattern;

/**
 * The management API's description, for anyone (no credentials needed):
 *
 * <pre>
 *   GET /api/v1/openapi.json   → the OpenAPI document (a resource next to this class)
 *   GET /api/v1/docs           → 301 to /api/v1/docs/
 *   GET /api/v1/docs/          → Swagger UI over that document
 *   GET /api/v1/docs/{file}    → Swagger UI's static files, from the org.webjars:swagger-ui jar
 * </pre>
 *
 * A file name is one path segment of letters, digits, {@code .}, {@code _} and {@code -} that
 * does not start with a dot, so no request reaches outside the webjar's directory; anything else is
 * 404. The page and its initializer are Berth's own (the webjar's load the petstore example).
 */
public final class ApiDocsHandler {
  public static final String SPEC = "/api/v1/openapi.json";
  public static final String DOCS = "/api/v1/docs";
  private static final Pattern FILE = Pattern.compile("[A-Za-z0-9][A-Za-z0-9._-]*");
  private static final String WEBJAR_VERSION =
      "META-INF/maven/org.webjars/swagger-ui/pom.properties";
  private static final Map<String, String> TYPES = Map.of(
      "js", "text/javascript; charset=utf-8",
      "css", "text/css; charset=utf-8",
      "html", "text/html; charset=utf-8",
      "png", "image/png",
      "map", "application/json",
      "txt", "text/plain; charset=utf-8");
  private static final Map<String, String> OWN_FILES = Map.of(
      "", "docs/index.html",
      "index.html", "docs/index.html",
      "swagger-initializer.js", "docs/swagger-initializer.js");

  private final byte[] spec;
  /** The webjar's directory on the class path, or empty when the jar is missing. */
  private final Optional<String> webjar;

  private final Map<String, Optional<byte[]>> files = new ConcurrentHashMap<>();

  public ApiDocsHandler() {
    this.spec = ownResource("openapi.json")
        .orElseThrow(() -> new IllegalStateException("openapi.json is not on the class path"));
    this.webjar = webjarDirectory();
  }

  public void handle(Exchange exchange) throws IOException {
    String path = exchange.path();
    if (!exchange.method().equals("GET") && !exchange.method().equals("HEAD")) {
      if (path.equals(SPEC) || path.equals(DOCS) || path.startsWith(DOCS + "/")) {
        throw AdminHandler.notAllowed(exchange, "GET");
      }
      throw notFound(path);
    }
    if (path.equals(SPEC)) {
      exchange.setHeader("Cache-Control", "no-cache");
      exchange.send(200, "application/json", spec);
      return;
    }
    if (path.equals(DOCS)) {
      exchange.setHeader("Location", DOCS + "/");
      exchange.sendEmpty(301);
      return;
    }
    if (!path.startsWith(DOCS + "/")) {
      throw notFound(path);
    }
    String name = path.substring(DOCS.length() + 1);
    String own = OWN_FILES.get(name);
    if (own != null) {
      exchange.setHeader("Cache-Control", "no-cache");
      byte[] bytes = file(own, () -> ownResource(own)).orElseThrow(() -> noFile(path));
      send(exchange, own, bytes);
      return;
    }
    if (!FILE.matcher(name).matches() || name.contains("..") || webjar.isEmpty()) {
      throw noFile(path);
    }
    String resource = webjar.get() + name;
    byte[] bytes =
        file(resource, () -> classPathResource(resource)).orElseThrow(() -> noFile(path));
    // The file names carry no version, so a day rather than forever: an upgrade shows within it.
    exchange.setHeader("Cache-Control", "public, max-age=86400");
    send(exchange, name, bytes);
  }

  private interface Loader {
    Optional<byte[]> load();
  }

  /** Each file read once (the set is the webjar's two dozen files; unknown names are not kept). */
  private Optional<byte[]> file(String key, Loader loader) {
    Optional<byte[]> cached = files.get(key);
    if (cached != null) {
      return cached;
    }
    Optional<byte[]> loaded = loader.load();
    if (loaded.isPresent()) {
      files.put(key, loaded);
    }
    return loaded;
  }

  private static void send(Exchange exchange, String name, byte[] bytes) throws IOException {
    int dot = name.lastIndexOf('.');
    String type =
        TYPES.getOrDefault(dot < 0 ? "" : name.substring(dot + 1), "application/octet-stream");
    exchange.setHeader("X-Content-Type-Options", "nosniff");
    exchange.send(200, type, bytes);
  }

  private static Optional<String> webjarDirectory() {
    try (InputStream in =
        ApiDocsHandler.class.getClassLoader().getResourceAsStream(WEBJAR_VERSION)) {
      if (in == null) {
        return Optional.empty();
      }
      Properties properties = new Properties();
      properties.load(in);
      return Optional.ofNullable(properties.getProperty("version"))
          .map(version -> "META-INF/resources/webjars/swagger-ui/" + version + "/");
    } catch (IOException e) {
      throw new UncheckedIOException(e);
    }
  }

  private static Optional<byte[]> ownResource(String name) {
    try (InputStream in = ApiDocsHandler.class.getResourceAsStream(name)) {
      return in == null ? Optional.empty() : Optional.of(in.readAllBytes());
    } catch (IOException e) {
      throw new UncheckedIOException(e);
    }
  }

  private static Optional<byte[]> classPathResource(String name) {
    try (InputStream in = ApiDocsHandler.class.getClassLoader().getResourceAsStream(name)) {
      return in == null ? Optional.empty() : Optional.of(in.readAllBytes());
    } catch (IOException e) {
      throw new UncheckedIOException(e);
    }
  }

  private static RegistryException noFile(String path) {
    return new RegistryException(ErrorCode.NOT_FOUND, "no such file: " + path);
  }

  private static RegistryException notFound(String path) {
    return new RegistryException(ErrorCode.NOT_FOUND, "no route for " + path);
  }
}
