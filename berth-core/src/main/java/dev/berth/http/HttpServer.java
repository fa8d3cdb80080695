package dev.berth.http;

import dev.berth.oci.ErrorCode;
import dev.berth.oci.RegistryException;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.LinkedHashMap;
import java.util.Map;
import java.util.concurrent.Executors;
import java.util.function.BooleanSupplier;
import org.eclipse.jetty.alpn.server.ALPNServerConnectionFactory;
import org.eclipse.jetty.http2.server.HTTP2CServerConnectionFactory;
import org.eclipse.jetty.http2.server.HTTP2ServerConnectionFactory;
import org.eclipse.jetty.server.Handler;
import org.eclipse.jetty.server.HttpConfiguration;
import org.eclipse.jetty.server.HttpConnectionFactory;
import org.eclipse.jetty.server.Request;
import org.eclipse.jetty.server.Response;
import org.eclipse.jetty.server.SecureRequestCustomizer;
import org.eclipse.jetty.server.Server;
import org.eclipse.jetty.server.ServerConnector;
import org.eclipse.jetty.server.SslConnectionFactory;
import org.eclipse.jetty.server.handler.GracefulHandler;
import org.eclipse.jetty.util.Callback;
import org.eclipse.jetty.util.ssl.SslContextFactory;
import org.eclipse.jetty.util.thread.QueuedThreadPool;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Jetty on virtual threads: every request runs blocking code on its own virtual thread. Routes are
 * a prefix table of endpoints; {@code /healthz} and {@code /readyz} are built in. Errors from any
 * endpoint become responses in {@link ErrorResponses}, and each request is logged once.
 */
public final class HttpServer implements AutoCloseable {
  private static final Logger log = LoggerFactory.getLogger(HttpServer.class);
  private static final Logger accessLog = LoggerFactory.getLogger("berth.access");

  /** A request handler for one route prefix. */
  @FunctionalInterface
  public interface Endpoint {
    void handle(Exchange exchange) throws IOException;
  }

  /** Listener settings. {@code tlsCert}/{@code tlsKey} are PEM files, or null for plain HTTP. */
  public record Settings(
      String host,
      int port,
      String tlsCert,
      String tlsKey,
      boolean http2,
      boolean accessLog,
      Duration shutdownTimeout) {}

  private final Settings settings;
  private final Map<String, Endpoint> routes = new LinkedHashMap<>();
  private final ErrorResponses errors;
  private final BooleanSupplier ready;
  private final Server server;
  private final ServerConnector connector;
  private volatile boolean stopping;
  private String activityPrefix;
  private RequestActivity activity;

  public HttpServer(Settings settings, ErrorResponses errors, BooleanSupplier ready) {
    this.settings = settings;
    this.errors = errors;
    this.ready = ready;
    QueuedThreadPool threads = new QueuedThreadPool(16, 4);
    threads.setName("berth-http");
    threads.setVirtualThreadsExecutor(Executors.newVirtualThreadPerTaskExecutor());
    server = new Server(threads);
    server.setStopTimeout(settings.shutdownTimeout().toMillis());
    server.setStopAtShutdown(false);
    HttpConfiguration http = new HttpConfiguration();
    http.setSendServerVersion(false);
    http.setSendDateHeader(true);
    http.setOutputBufferSize(64 * 1024);
    // Large uploads arrive in fewer, bigger chunks: fewer reads, fewer hash and write calls.
    http.setInputBufferSize(128 * 1024);
    http.setRequestHeaderSize(16 * 1024);
    http.setRelativeRedirectAllowed(true);
    if (settings.tlsCert() != null) {
      http.addCustomizer(new SecureRequestCustomizer(false));
      SslContextFactory.Server ssl = new SslContextFactory.Server();
      ssl.setKeyStore(PemKeyStores.load(settings.tlsCert(), settings.tlsKey()));
      ssl.setKeyStorePassword(PemKeyStores.PASSWORD);
      HttpConnectionFactory http1 = new HttpConnectionFactory(http);
      if (settings.http2()) {
        HTTP2ServerConnectionFactory h2 = new HTTP2ServerConnectionFactory(http);
        ALPNServerConnectionFactory alpn = new ALPNServerConnectionFactory();
        alpn.setDefaultProtocol(http1.getProtocol());
        connector = new ServerConnector(
            server, new SslConnectionFactory(ssl, alpn.getProtocol()), alpn, h2, http1);
      } else {
        connector =
            new ServerConnector(server, new SslConnectionFactory(ssl, http1.getProtocol()), http1);
      }
    } else if (settings.http2()) {
      connector = new ServerConnector(
          server, new HttpConnectionFactory(http), new HTTP2CServerConnectionFactory(http));
    } else {
      connector = new ServerConnector(server, new HttpConnectionFactory(http));
    }
    connector.getConnectionFactories().forEach(factory -> {
      if (factory instanceof org.eclipse.jetty.server.AbstractConnectionFactory abstractFactory) {
        abstractFactory.setInputBufferSize(http.getInputBufferSize());
      }
    });
    connector.setHost(settings.host());
    connector.setPort(settings.port());
    connector.setIdleTimeout(300_000);
    connector.setAcceptQueueSize(1024);
    server.addConnector(connector);
    // GracefulHandler lets requests in flight finish on stop, up to the stop timeout.
    GracefulHandler graceful = new GracefulHandler();
    graceful.setHandler(new Root());
    server.setHandler(graceful);
    server.setErrorHandler(new JsonErrorHandler(settings.accessLog()));
  }

  /** Routes requests whose path starts with {@code prefix} to an endpoint (first match wins). */
  public HttpServer route(String prefix, Endpoint endpoint) {
    routes.put(prefix, endpoint);
    return this;
  }

  /** Counts requests whose path starts with {@code prefix} in {@code activity} (decision 016). */
  public HttpServer trackActivity(String prefix, RequestActivity activity) {
    this.activityPrefix = prefix;
    this.activity = activity;
    return this;
  }

  public void start() throws Exception {
    server.start();
  }

  public int port() {
    return connector.getLocalPort();
  }

  public void join() throws InterruptedException {
    server.join();
  }

  /** Stops accepting, lets requests in flight finish (up to the shutdown timeout), then stops. */
  @Override
  public void close() throws Exception {
    stopping = true;
    try {
      server.stop();
    } catch (java.util.concurrent.TimeoutException e) {
      // Requests still running after the shutdown timeout are cut off; that is the setting's point.
      log.warn("shutdown timeout reached; {} ", e.getMessage());
    }
  }

  private final class Root extends Handler.Abstract {
    @Override
    public boolean handle(Request request, Response response, Callback callback) {
      long started = System.nanoTime();
      Exchange exchange = new Exchange(request, response);
      RequestActivity tracked =
          activity != null && exchange.path().startsWith(activityPrefix) ? activity : null;
      if (tracked != null) {
        tracked.started();
      }
      Throwable failure = null;
      try {
        dispatch(exchange);
      } catch (Throwable t) {
        failure = t;
        errors.send(exchange, t);
      } finally {
        if (tracked != null) {
          tracked.ended();
        }
      }
      if (settings.accessLog()) {
        log(exchange, started, failure);
      }
      if (failure != null && exchange.isCommitted() && !(failure instanceof RegistryException)) {
        callback.failed(failure);
      } else {
        callback.succeeded();
      }
      return true;
    }
  }

  private void dispatch(Exchange exchange) throws IOException {
    String path = exchange.path();
    switch (path) {
      case "/healthz" -> {
        exchange.send(200, "text/plain", "ok\n".getBytes(StandardCharsets.UTF_8));
        return;
      }
      case "/readyz" -> {
        boolean ok = !stopping && ready.getAsBoolean();
        exchange.send(
            ok ? 200 : 503,
            "text/plain",
            (ok ? "ready\n" : "not ready\n").getBytes(StandardCharsets.UTF_8));
        return;
      }
      default -> {}
    }
    for (Map.Entry<String, Endpoint> route : routes.entrySet()) {
      if (path.startsWith(route.getKey())) {
        route.getValue().handle(exchange);
        return;
      }
    }
    throw new RegistryException(ErrorCode.NOT_FOUND, "no route for " + path);
  }

  private static void log(Exchange exchange, long started, Throwable failure) {
    if (!accessLog.isInfoEnabled()) {
      return;
    }
    long micros = (System.nanoTime() - started) / 1000;
    accessLog
        .atInfo()
        .addKeyValue("remote", exchange.remoteAddress())
        .addKeyValue("method", exchange.method())
        .addKeyValue("path", exchange.path())
        .addKeyValue("status", exchange.status())
        .addKeyValue("bytes", exchange.bytesSent())
        .addKeyValue("ms", micros / 1000.0)
        .addKeyValue("agent", exchange.header("User-Agent"))
        .log(
            "{} \"{} {}\" {} {} {}ms",
            exchange.remoteAddress(),
            exchange.method(),
            exchange.path(),
            exchange.status(),
            exchange.bytesSent(),
            micros / 1000.0,
            failure == null || failure instanceof RegistryException ? null : failure);
  }
}
