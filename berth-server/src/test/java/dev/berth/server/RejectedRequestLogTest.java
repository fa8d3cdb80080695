package dev.berth.server;

import static org.assertj.core.api.Assertions.assertThat;

import ch.qos.logback.classic.Level;
import ch.qos.logback.classic.Logger;
import ch.qos.logback.classic.spi.ILoggingEvent;
import ch.qos.logback.core.read.ListAppender;
import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.InputStream;
import java.net.InetSocketAddress;
import java.net.Socket;
import java.nio.charset.StandardCharsets;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.DisplayName;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.RegisterExtension;
import org.slf4j.LoggerFactory;

/**
 * Requests Jetty rejects before they reach Berth's endpoints still get a JSON error and still
 * leave an access-log line with Jetty's reason; without it a client's 400 would leave no trace on
 * the server (podman's first TLS attempt with {@code --tls-verify=false} is such a request).
 */
class RejectedRequestLogTest {
  @RegisterExtension
  static final InProcessBerth BERTH = new InProcessBerth(Map.of("log.access-log", "true"));

  /** The start of a TLS ClientHello record, as a client trying https on this port sends it. */
  private static final byte[] CLIENT_HELLO = {
    0x16, 0x03, 0x01, 0x00, (byte) 0xa5, 0x01, 0x00, 0x00, (byte) 0xa1, 0x03, 0x03, 'a', 'b'
  };

  private final Logger accessLog = (Logger) LoggerFactory.getLogger("berth.access");
  private final ListAppender<ILoggingEvent> events = new ListAppender<>();

  private Level level;
  private boolean additive;

  @BeforeEach
  void capture() {
    // The tests' logging prints warnings only; the access log is INFO, captured here alone.
    level = accessLog.getLevel();
    additive = accessLog.isAdditive();
    accessLog.setLevel(Level.INFO);
    accessLog.setAdditive(false);
    events.start();
    accessLog.addAppender(events);
  }

  @AfterEach
  void release() {
    accessLog.detachAppender(events);
    accessLog.setLevel(level);
    accessLog.setAdditive(additive);
  }

  @Test
  @DisplayName("a TLS handshake on the plain-HTTP port → 400 JSON error, and an access-log line")
  void tlsHandshakeOnPlainPort() throws IOException, InterruptedException {
    String answer = exchange(CLIENT_HELLO);

    assertThat(answer).startsWith("HTTP/1.1 400 ");
    assertThat(answer).contains("application/json").contains("\"errors\"");
    List<String> lines = lines();
    assertThat(lines).hasSize(1);
    assertThat(lines.get(0))
        .startsWith("127.0.0.1 \"")
        .contains(" 400 rejected before routing: ")
        .contains("Illegal character CNTL=0x16")
        .endsWith("(a TLS handshake on this plain-HTTP port: the client tried https first)");
  }

  @Test
  @DisplayName("an encoded slash in a /v2 path → 400 NAME_INVALID, logged with method and path")
  void encodedSlashIsLoggedWithItsPath() throws IOException, InterruptedException {
    String request = "GET /v2/a%2Fb/manifests/latest HTTP/1.1\r\nHost: 127.0.0.1\r\n"
        + "Connection: close\r\n\r\n";
    String answer = exchange(request.getBytes(StandardCharsets.ISO_8859_1));

    assertThat(answer).startsWith("HTTP/1.1 400 ").contains("NAME_INVALID");
    assertThat(lines())
        .singleElement()
        .asString()
        .startsWith("127.0.0.1 \"GET /v2/a%2Fb/manifests/latest\" 400 rejected before routing: ");
  }

  @Test
  @DisplayName("a request that reaches an endpoint is logged once, as before, not as a rejection")
  void routedRequestIsNotARejection() throws IOException, InterruptedException {
    String request = "GET /v2/ HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n\r\n";
    String answer = exchange(request.getBytes(StandardCharsets.ISO_8859_1));

    assertThat(answer).startsWith("HTTP/1.1 200 ");
    List<String> lines = lines();
    assertThat(lines).singleElement().asString().contains("\"GET /v2/\" 200 ");
    assertThat(lines.get(0)).doesNotContain("rejected");
  }

  /**
   * The lines logged so far, once there is at least one or after 5 s. A routed request's line is
   * written after its response has gone out, so the client may have the answer first.
   */
  private List<String> lines() throws InterruptedException {
    long deadline = System.nanoTime() + 5_000_000_000L;
    while (true) {
      List<String> lines;
      synchronized (events) { // the appender appends under this lock
        lines = events.list.stream().map(ILoggingEvent::getFormattedMessage).toList();
      }
      if (!lines.isEmpty() || System.nanoTime() > deadline) {
        return lines;
      }
      Thread.sleep(10);
    }
  }

  private static String exchange(byte[] bytes) throws IOException {
    try (Socket socket = new Socket()) {
      socket.connect(new InetSocketAddress("127.0.0.1", BERTH.port()), 5_000);
      socket.setSoTimeout(10_000);
      socket.getOutputStream().write(bytes);
      socket.getOutputStream().flush();
      ByteArrayOutputStream all = new ByteArrayOutputStream();
      InputStream in = socket.getInputStream();
      in.transferTo(all);
      return all.toString(StandardCharsets.ISO_8859_1);
    }
  }
}
