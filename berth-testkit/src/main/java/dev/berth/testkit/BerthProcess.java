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
import java.nio.file.StandardOpenOption;
import java.time.Duration;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Objects;
import java.util.concurrent.TimeUnit;

/**
 * A Berth server running as a child JVM ({@code java -jar berth.jar serve}), the way users run it.
 *
 * <p>The port is picked once and kept, so {@link #start()} after {@link #stop()} or {@link
 * #kill9()} brings the same registry back on the same address and data directory. The child's
 * stdout and stderr go to {@value #LOG_FILE_NAME} in the data directory; {@link #log()} returns it
 * for failure messages.
 *
 * <p>Deliberately free of berth-core types: it tests the jar from the outside.
 */
public final class BerthProcess implements AutoCloseable {

  public static final String LOG_FILE_NAME = "berth-process.log";

  private static final Duration READY_TIMEOUT = Duration.ofSeconds(30);
  private static final Duration STOP_TIMEOUT = Duration.ofSeconds(30);

  private final Path jar;
  private final Path dataDirectory;
  private final Map<String, String> environment;
  private final List<String> jvmOptions;
  private final int port;
  private final Duration readyTimeout;
  private final boolean tls;
  private final HttpClient http;
  private Process process;

  private BerthProcess(Builder builder) {
    this.jar = Objects.requireNonNull(builder.jar, "jar");
    this.dataDirectory = Objects.requireNonNull(builder.dataDirectory, "dataDirectory");
    this.environment = Map.copyOf(builder.environment);
    this.jvmOptions = List.copyOf(builder.jvmOptions);
    this.port = builder.port != 0 ? builder.port : freePort();
    this.readyTimeout = builder.readyTimeout;
    this.tls = builder.environment.containsKey("BERTH_SERVER_TLS_CERT_FILE");
    HttpClient.Builder client = HttpClient.newBuilder()
        .version(HttpClient.Version.HTTP_1_1)
        .connectTimeout(Duration.ofSeconds(2));
    if (tls) {
      // The test's own self-signed certificate: the readiness probe need not verify it.
      client.sslContext(trustingEverything());
    }
    this.http = client.build();
    if (!Files.isRegularFile(jar)) {
      throw new IllegalStateException("Berth jar not found at "
          + jar
          + "; build it with `mvn -DskipTests package` in the repository root");
    }
  }

  /** A builder whose jar comes from the system property {@code berth.jar} (set by failsafe). */
  public static Builder builder(Path dataDirectory) {
    String jar = System.getProperty("berth.jar");
    if (jar == null) {
      throw new IllegalStateException("system property berth.jar is not set");
    }
    return new Builder().jar(Path.of(jar)).dataDirectory(dataDirectory);
  }

  /** Starts Berth on {@code dataDirectory} with the jar named by {@code berth.jar}. */
  public static BerthProcess start(Path dataDirectory) {
    return builder(dataDirectory).start();
  }

  /**
   * Starts the child process and waits until {@code GET /v2/} answers 200 (or 401, when
   * authentication is on).
   *
   * @throws IllegalStateException if it is already running, exits early or is not ready in time
   */
  public synchronized BerthProcess start() {
    if (process != null && process.isAlive()) {
      throw new IllegalStateException("Berth is already running as pid " + process.pid());
    }
    try {
      Files.createDirectories(dataDirectory);
      Path java = Path.of(System.getProperty("java.home"), "bin", "java");
      List<String> command = new ArrayList<>();
      command.add(java.toString());
      command.addAll(jvmOptions);
      command.addAll(List.of(
          "-jar",
          jar.toString(),
          "serve",
          "--addr",
          hostPort(),
          "--data",
          dataDirectory.toString()));
      ProcessBuilder builder = new ProcessBuilder(command);
      builder.environment().putAll(environment);
      builder.redirectErrorStream(true);
      builder.redirectOutput(ProcessBuilder.Redirect.appendTo(logFile().toFile()));
      Files.writeString(
          logFile(),
          "---- " + String.join(" ", command) + System.lineSeparator(),
          StandardCharsets.UTF_8,
          StandardOpenOption.CREATE,
          StandardOpenOption.APPEND);
      process = builder.start();
    } catch (IOException e) {
      throw new UncheckedIOException("cannot start Berth", e);
    }
    awaitReady();
    return this;
  }

  private void awaitReady() {
    long deadline = System.nanoTime() + readyTimeout.toNanos();
    HttpRequest ping = HttpRequest.newBuilder(URI.create(url() + "/v2/"))
        .timeout(Duration.ofSeconds(2))
        .build();
    String lastProblem = "no answer";
    while (System.nanoTime() < deadline) {
      if (!process.isAlive()) {
        throw new IllegalStateException(
            "Berth exited with status " + process.exitValue() + " before it was ready\n" + log());
      }
      try {
        HttpResponse<Void> response = http.send(ping, HttpResponse.BodyHandlers.discarding());
        // 401 is a ready registry with authentication switched on.
        if (response.statusCode() == 200 || response.statusCode() == 401) {
          return;
        }
        lastProblem = "GET /v2/ answered " + response.statusCode();
      } catch (IOException e) {
        lastProblem = e.toString();
      } catch (InterruptedException e) {
        Thread.currentThread().interrupt();
        throw new IllegalStateException("interrupted while waiting for Berth", e);
      }
      sleep(Duration.ofMillis(100));
    }
    String log = log();
    kill9();
    throw new IllegalStateException(
        "Berth was not ready within " + readyTimeout + " (" + lastProblem + ")\n" + log);
  }

  private static javax.net.ssl.SSLContext trustingEverything() {
    try {
      javax.net.ssl.SSLContext context = javax.net.ssl.SSLContext.getInstance("TLS");
      context.init(
          null,
          new javax.net.ssl.TrustManager[] {
            new javax.net.ssl.X509TrustManager() {
              @Override
              public void checkClientTrusted(
                  java.security.cert.X509Certificate[] chain, String a) {}

              @Override
              public void checkServerTrusted(
                  java.security.cert.X509Certificate[] chain, String a) {}

              @Override
              public java.security.cert.X509Certificate[] getAcceptedIssuers() {
                return new java.security.cert.X509Certificate[0];
              }
            }
          },
          null);
      return context;
    } catch (java.security.GeneralSecurityException e) {
      throw new IllegalStateException(e);
    }
  }

  /** Sends SIGTERM and waits for the process to exit; returns its exit status. */
  public synchronized int stop() {
    if (process == null) {
      throw new IllegalStateException("Berth was never started");
    }
    process.destroy();
    try {
      if (!process.waitFor(STOP_TIMEOUT.toSeconds(), TimeUnit.SECONDS)) {
        process.destroyForcibly().waitFor();
        throw new IllegalStateException(
            "Berth did not exit within " + STOP_TIMEOUT + " of SIGTERM; killed it\n" + log());
      }
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
      throw new IllegalStateException("interrupted while stopping Berth", e);
    }
    return process.exitValue();
  }

  /** Kills the process without warning (SIGKILL), as a crash or an OOM killer would. */
  public synchronized void kill9() {
    if (process == null) {
      return;
    }
    process.destroyForcibly();
    try {
      process.waitFor();
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
      throw new IllegalStateException("interrupted while killing Berth", e);
    }
  }

  /** Stops the process if it is still running. */
  @Override
  public synchronized void close() {
    if (process != null && process.isAlive()) {
      stop();
    }
  }

  public synchronized boolean isAlive() {
    return process != null && process.isAlive();
  }

  /** {@code http://127.0.0.1:<port>} (https with TLS) without a trailing slash. */
  public String url() {
    return (tls ? "https://" : "http://") + hostPort();
  }

  /** {@code 127.0.0.1:<port>}, the registry host as image references name it. */
  public String hostPort() {
    return "127.0.0.1:" + port;
  }

  public int port() {
    return port;
  }

  public synchronized long pid() {
    if (process == null) {
      throw new IllegalStateException("Berth was never started");
    }
    return process.pid();
  }

  public Path dataDirectory() {
    return dataDirectory;
  }

  public Path logFile() {
    return dataDirectory.resolve(LOG_FILE_NAME);
  }

  /**
   * Everything the process (and earlier runs on this data directory) wrote to stdout and stderr.
   */
  public String log() {
    try {
      return Files.exists(logFile()) ? Files.readString(logFile(), StandardCharsets.UTF_8) : "";
    } catch (IOException e) {
      return "(cannot read " + logFile() + ": " + e + ")";
    }
  }

  /** A client for raw requests to this registry. */
  public RegistryClient client() {
    return new RegistryClient(URI.create(url()));
  }

  private static int freePort() {
    try (ServerSocket socket = new ServerSocket(0, 1, InetAddress.getLoopbackAddress())) {
      return socket.getLocalPort();
    } catch (IOException e) {
      throw new UncheckedIOException("cannot find a free port", e);
    }
  }

  private static void sleep(Duration duration) {
    try {
      Thread.sleep(duration);
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
      throw new IllegalStateException("interrupted", e);
    }
  }

  /** Options for a {@link BerthProcess}; {@link #start()} builds and starts it. */
  public static final class Builder {
    private Path jar;
    private Path dataDirectory;
    private final Map<String, String> environment = new LinkedHashMap<>();
    private final List<String> jvmOptions = new ArrayList<>();
    private int port;
    private Duration readyTimeout = READY_TIMEOUT;

    private Builder() {
      // Protocol and client tests run without access control unless they turn it on.
      environment.put("BERTH_AUTH_ENABLED", "false");
      // Nodes that share a database share its audit chain and so its checkpoint key, as a
      // cluster's configuration must say (decision 013); tests may override it.
      environment.put("BERTH_AUDIT_CHECKPOINT_KEY", "berth-it-shared-checkpoint-key");
      // The footprint bin/berth runs with, so a server that buffers a large blob in memory fails
      // here as it would for users.
      jvmOptions.addAll(List.of(
          "-XX:+UseSerialGC",
          "-Xms64m",
          "-Xmx192m",
          "-XX:MaxDirectMemorySize=96m",
          "-Xss512k",
          "--enable-native-access=ALL-UNNAMED"));
    }

    public Builder jar(Path jar) {
      this.jar = jar;
      return this;
    }

    public Builder dataDirectory(Path dataDirectory) {
      this.dataDirectory = dataDirectory;
      return this;
    }

    /** An environment variable for the child, e.g. {@code ("BERTH_LOG_LEVEL", "debug")}. */
    public Builder env(String name, String value) {
      environment.put(name, value);
      return this;
    }

    /** A JVM option placed before {@code -jar}, e.g. {@code -Xmx256m}; later ones win. */
    public Builder jvmOption(String option) {
      jvmOptions.add(option);
      return this;
    }

    /** A fixed port instead of a free one picked at build time. */
    public Builder port(int port) {
      this.port = port;
      return this;
    }

    /**
     * How long {@link BerthProcess#start()} waits for the server to answer (default 30 s); more
     * for tests that start several processes at once on a busy machine.
     */
    public Builder readyTimeout(Duration readyTimeout) {
      this.readyTimeout = readyTimeout;
      return this;
    }

    public BerthProcess build() {
      return new BerthProcess(this);
    }

    public BerthProcess start() {
      return build().start();
    }
  }
}
