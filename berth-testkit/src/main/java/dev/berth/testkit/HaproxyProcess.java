package dev.berth.testkit;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.net.InetAddress;
import java.net.ServerSocket;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.TreeSet;
import java.util.concurrent.TimeUnit;

/**
 * HAProxy ({@code haproxy}, the Debian package) as a child process in front of Berth nodes, on a
 * free loopback port. Its configuration is a template (the repository's {@code
 * config/haproxy.cfg}) whose {@code bind} line and {@code server} lines are replaced by the
 * loopback addresses; everything else is used as written, so the tests run the configuration the
 * documentation shows. The template must make each response name its server in {@value
 * #NODE_HEADER}. Output goes to {@code haproxy.log} in the work directory.
 */
public final class HaproxyProcess implements AutoCloseable {
  /** The response header naming the server that answered ({@code berth1}, …). */
  public static final String NODE_HEADER = "X-Berth-Node";

  private static final Duration READY_TIMEOUT = Duration.ofSeconds(30);

  private final Path directory;
  private final int port;
  private final Process process;

  private HaproxyProcess(Path directory, int port, Process process) {
    this.directory = directory;
    this.port = port;
    this.process = process;
  }

  /**
   * Writes {@code haproxy.cfg} into {@code directory} from {@code template} with servers {@code
   * berth1…berthN} at {@code backends} ({@code host:port}), starts HAProxy on it and waits until
   * every server has answered a request through it.
   */
  public static HaproxyProcess start(Path template, Path directory, List<String> backends) {
    int port = freePort();
    try {
      Files.createDirectories(directory);
      Path config = directory.resolve("haproxy.cfg");
      Files.writeString(config, configuration(Files.readString(template), port, backends));
      Path log = directory.resolve("haproxy.log");
      // -db: stay in the foreground, so that this process is HAProxy itself and stops on SIGTERM.
      ProcessBuilder builder = new ProcessBuilder("haproxy", "-db", "-f", config.toString());
      builder.redirectErrorStream(true);
      builder.redirectOutput(ProcessBuilder.Redirect.appendTo(log.toFile()));
      HaproxyProcess haproxy = new HaproxyProcess(directory, port, builder.start());
      haproxy.awaitServers(backends.size());
      return haproxy;
    } catch (IOException e) {
      throw new UncheckedIOException("cannot start haproxy (apt-get install haproxy)", e);
    }
  }

  /** The template with its {@code bind} line on {@code port} and one server line per backend. */
  static String configuration(String template, int port, List<String> backends) {
    StringBuilder out = new StringBuilder();
    boolean serversWritten = false;
    for (String line : template.split("\n", -1)) {
      String trimmed = line.strip();
      if (trimmed.startsWith("bind ")) {
        out.append(line, 0, line.indexOf("bind"))
            .append("bind 127.0.0.1:")
            .append(port)
            .append('\n');
      } else if (trimmed.startsWith("server ")) {
        if (!serversWritten) {
          String indent = line.substring(0, line.indexOf("server"));
          for (int i = 0; i < backends.size(); i++) {
            out.append(indent)
                .append("server berth")
                .append(i + 1)
                .append(' ')
                .append(backends.get(i))
                .append(" check\n");
          }
          serversWritten = true;
        }
      } else {
        out.append(line).append('\n');
      }
    }
    if (!serversWritten) {
      throw new IllegalArgumentException("the HAProxy template has no server lines");
    }
    return out.toString();
  }

  /** Waits until responses through HAProxy have come from {@code servers} distinct servers. */
  private void awaitServers(int servers) {
    HttpClient http = HttpClient.newBuilder()
        .version(HttpClient.Version.HTTP_1_1)
        .connectTimeout(Duration.ofSeconds(2))
        .build();
    HttpRequest ping = HttpRequest.newBuilder(URI.create(url() + "/v2/"))
        .timeout(Duration.ofSeconds(2))
        .build();
    Set<String> seen = new TreeSet<>();
    long deadline = System.nanoTime() + READY_TIMEOUT.toNanos();
    String lastProblem = "no answer";
    while (seen.size() < servers) {
      if (!process.isAlive()) {
        throw new IllegalStateException(
            "haproxy exited with status " + process.exitValue() + "\n" + log());
      }
      if (System.nanoTime() > deadline) {
        close();
        throw new IllegalStateException("haproxy did not reach " + servers + " servers within "
            + READY_TIMEOUT + " (saw " + seen + "; " + lastProblem + ")\n" + log());
      }
      try {
        HttpResponse<Void> response = http.send(ping, HttpResponse.BodyHandlers.discarding());
        // 401 is a ready registry with access control on.
        if (response.statusCode() == 200 || response.statusCode() == 401) {
          response.headers().firstValue(NODE_HEADER).ifPresent(seen::add);
        } else {
          lastProblem = "GET /v2/ answered " + response.statusCode();
        }
      } catch (IOException e) {
        lastProblem = e.toString();
      } catch (InterruptedException e) {
        Thread.currentThread().interrupt();
        throw new IllegalStateException("interrupted while waiting for haproxy", e);
      }
      if (seen.size() < servers) {
        try {
          Thread.sleep(100);
        } catch (InterruptedException e) {
          Thread.currentThread().interrupt();
          throw new IllegalStateException("interrupted while waiting for haproxy", e);
        }
      }
    }
  }

  /** {@code http://127.0.0.1:<port>}. */
  public String url() {
    return "http://" + hostPort();
  }

  public String hostPort() {
    return "127.0.0.1:" + port;
  }

  public long pid() {
    return process.pid();
  }

  /** A client for raw requests through the balancer. */
  public RegistryClient client() {
    return new RegistryClient(URI.create(url()));
  }

  /** HAProxy's log: one line per request, naming the server that took it. */
  public String log() {
    try {
      Path log = directory.resolve("haproxy.log");
      return Files.exists(log) ? Files.readString(log, StandardCharsets.UTF_8) : "";
    } catch (IOException e) {
      return "(cannot read haproxy.log: " + e + ")";
    }
  }

  /** Requests per server in the log ({@code berth/berth1} → count), from its httplog lines. */
  public Map<String, Integer> requestsPerServer() {
    Map<String, Integer> counts = new LinkedHashMap<>();
    for (String line : log().split("\n")) {
      for (String word : line.split(" ")) {
        if (word.startsWith("berth/")) {
          counts.merge(word, 1, Integer::sum);
        }
      }
    }
    return counts;
  }

  /** Stops HAProxy (SIGTERM to its pid, then SIGKILL after 10 s). */
  @Override
  public void close() {
    if (!process.isAlive()) {
      return;
    }
    process.destroy();
    try {
      if (!process.waitFor(10, TimeUnit.SECONDS)) {
        process.destroyForcibly().waitFor();
      }
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
    }
  }

  private static int freePort() {
    try (ServerSocket socket = new ServerSocket(0, 1, InetAddress.getLoopbackAddress())) {
      return socket.getLocalPort();
    } catch (IOException e) {
      throw new UncheckedIOException("cannot find a free port", e);
    }
  }
}
