package dev.berth.testkit;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpHeaders;
import java.net.http.HttpRequest;
import java.net.http.HttpRequest.BodyPublisher;
import java.net.http.HttpRequest.BodyPublishers;
import java.net.http.HttpResponse;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Optional;

/**
 * Raw HTTP requests to a registry, for what the real clients cannot express: deleting by digest,
 * Range reads, half-finished uploads. Redirects are not followed, so a test sees what the server
 * answered.
 *
 * <p>Paths are resolved against the registry's base URL, so both {@code /v2/...} and the absolute
 * {@code Location} a server returns work.
 */
public final class RegistryClient {

  /** An {@code Accept} header value naming every manifest type a modern client takes. */
  public static final String ACCEPT_MANIFESTS = String.join(
      ", ",
      OciLayout.OCI_MANIFEST,
      OciLayout.OCI_INDEX,
      OciLayout.DOCKER_MANIFEST,
      OciLayout.DOCKER_MANIFEST_LIST);

  private static final ObjectMapper JSON = new ObjectMapper();

  private final URI base;
  private final HttpClient http;

  public RegistryClient(URI base) {
    this.base = base;
    this.http = HttpClient.newBuilder()
        .version(HttpClient.Version.HTTP_1_1)
        .followRedirects(HttpClient.Redirect.NEVER)
        .connectTimeout(Duration.ofSeconds(5))
        .build();
  }

  public Response head(String path, String... headers) {
    return send("HEAD", path, BodyPublishers.noBody(), headers);
  }

  public Response get(String path, String... headers) {
    return send("GET", path, BodyPublishers.noBody(), headers);
  }

  /**
   * A {@code GET} that follows a {@code 307} to storage (a presigned URL of the bucket, {@code
   * storage.s3.redirect}) as registry clients do: the other headers ({@code Range}) go along,
   * credentials stay behind.
   */
  public Response getFollowingRedirect(String path, String... headers) {
    Response response = get(path, headers);
    if (response.status() != 307) {
      return response;
    }
    List<String> kept = new ArrayList<>();
    for (int i = 0; i < headers.length; i += 2) {
      if (!headers[i].equalsIgnoreCase("Authorization")) {
        kept.add(headers[i]);
        kept.add(headers[i + 1]);
      }
    }
    return get(response.requiredHeader("Location"), kept.toArray(String[]::new));
  }

  public Response delete(String path, String... headers) {
    return send("DELETE", path, BodyPublishers.noBody(), headers);
  }

  public Response post(String path, byte[] body, String... headers) {
    return send("POST", path, BodyPublishers.ofByteArray(body), headers);
  }

  public Response put(String path, byte[] body, String... headers) {
    return send("PUT", path, BodyPublishers.ofByteArray(body), headers);
  }

  public Response patch(String path, byte[] body, String... headers) {
    return send("PATCH", path, BodyPublishers.ofByteArray(body), headers);
  }

  /**
   * Sends one request.
   *
   * @param pathOrUrl a path such as {@code /v2/} or an absolute URL
   * @param headers alternating names and values
   */
  public Response send(String method, String pathOrUrl, BodyPublisher body, String... headers) {
    if (headers.length % 2 != 0) {
      throw new IllegalArgumentException("headers must be name/value pairs");
    }
    URI uri = resolve(pathOrUrl);
    HttpRequest.Builder request =
        HttpRequest.newBuilder(uri).timeout(Duration.ofMinutes(2)).method(method, body);
    for (int i = 0; i < headers.length; i += 2) {
      request.header(headers[i], headers[i + 1]);
    }
    try {
      HttpResponse<byte[]> response =
          http.send(request.build(), HttpResponse.BodyHandlers.ofByteArray());
      return new Response(method, uri, response.statusCode(), response.headers(), response.body());
    } catch (IOException e) {
      throw new UncheckedIOException(method + " " + uri + " failed", e);
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
      throw new IllegalStateException("interrupted during " + method + " " + uri, e);
    }
  }

  /** Resolves a path or an absolute URL (as in a {@code Location} header) against the base URL. */
  public URI resolve(String pathOrUrl) {
    return base.resolve(pathOrUrl);
  }

  /** One response; {@code body} is empty for HEAD. */
  public record Response(String method, URI uri, int status, HttpHeaders headers, byte[] body) {

    public Optional<String> header(String name) {
      return headers.firstValue(name);
    }

    /** The header's value, failing with the whole response described if it is missing. */
    public String requiredHeader(String name) {
      return header(name)
          .orElseThrow(() -> new AssertionError("missing header " + name + " in " + this));
    }

    /** The body parsed as JSON. */
    public JsonNode json() {
      try {
        return JSON.readTree(body);
      } catch (IOException e) {
        throw new AssertionError("body is not JSON: " + this, e);
      }
    }

    public String bodyText() {
      return new String(body, StandardCharsets.UTF_8);
    }

    @Override
    public String toString() {
      String contentType = header("Content-Type").orElse("");
      String shown;
      if (body.length == 0) {
        shown = "";
      } else if (contentType.contains("json") || contentType.startsWith("text/")) {
        String text = bodyText();
        shown = " body: " + text.substring(0, Math.min(1000, text.length()));
      } else {
        shown = " body: " + body.length + " bytes";
      }
      return method + " " + uri + " -> " + status + " " + headers.map() + shown;
    }
  }
}
