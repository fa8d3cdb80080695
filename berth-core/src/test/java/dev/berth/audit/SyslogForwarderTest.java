package dev.berth.audit;

import static org.assertj.core.api.Assertions.assertThat;

import dev.berth.metadata.Database;
import java.io.BufferedInputStream;
import java.io.IOException;
import java.io.InputStream;
import java.net.DatagramPacket;
import java.net.DatagramSocket;
import java.net.InetAddress;
import java.net.ServerSocket;
import java.net.Socket;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.KeyStore;
import java.time.Clock;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.BlockingQueue;
import java.util.concurrent.LinkedBlockingQueue;
import java.util.concurrent.TimeUnit;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import javax.net.ssl.KeyManagerFactory;
import javax.net.ssl.SSLContext;
import javax.net.ssl.SSLServerSocket;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * Forwarding to real receivers started here, one per transport: a UDP socket, a TCP server that
 * reads RFC 6587 octet-counted frames, and the same over TLS with a certificate made by {@code
 * openssl}. Each parses what it gets as RFC 5424, structured data included.
 */
class SyslogForwarderTest {
  private static final String HOSTILE_AGENT = "tool/1 \"quoted\" back\\slash ]bracket[ é";

  @TempDir
  Path dir;

  private Database database;
  private AuditLog log;
  private final List<AutoCloseable> closing = new ArrayList<>();

  @BeforeEach
  void open() {
    database = Database.open("jdbc:sqlite:" + dir.resolve("berth.db"));
    log = new AuditLog(
        database,
        AuditKey.of("syslog-test-key-0123456789"),
        AuditLog.Settings.DEFAULTS,
        Clock.systemUTC());
  }

  @AfterEach
  void close() throws Exception {
    for (AutoCloseable c : closing.reversed()) {
      c.close();
    }
    log.close();
    database.close();
  }

  @Test
  void udpCarriesOneMessagePerDatagram() throws Exception {
    DatagramSocket receiver = new DatagramSocket(0, InetAddress.getLoopbackAddress());
    closing.add(receiver);
    BlockingQueue<String> messages = new LinkedBlockingQueue<>();
    Thread.ofVirtual().start(() -> {
      byte[] buffer = new byte[65_536];
      while (!receiver.isClosed()) {
        DatagramPacket packet = new DatagramPacket(buffer, buffer.length);
        try {
          receiver.receive(packet);
        } catch (IOException e) {
          return;
        }
        messages.add(new String(
            packet.getData(), packet.getOffset(), packet.getLength(), StandardCharsets.UTF_8));
      }
    });
    forwardAndCheck(SyslogForwarder.Transport.UDP, receiver.getLocalPort(), "", messages);
  }

  @Test
  void tcpFramesByOctetCounting() throws Exception {
    ServerSocket server = new ServerSocket(0, 10, InetAddress.getLoopbackAddress());
    closing.add(server);
    BlockingQueue<String> messages = octetCountingReceiver(server);
    forwardAndCheck(SyslogForwarder.Transport.TCP, server.getLocalPort(), "", messages);
  }

  @Test
  void tlsChecksTheReceiversCertificate() throws Exception {
    Path cert = dir.resolve("cert.pem");
    Path key = dir.resolve("key.pem");
    Path p12 = dir.resolve("server.p12");
    run(
        "openssl",
        "req",
        "-x509",
        "-newkey",
        "ec",
        "-pkeyopt",
        "ec_paramgen_curve:prime256v1",
        "-nodes",
        "-keyout",
        key.toString(),
        "-out",
        cert.toString(),
        "-days",
        "2",
        "-subj",
        "/CN=localhost",
        "-addext",
        "subjectAltName=DNS:localhost,IP:127.0.0.1");
    run(
        "openssl",
        "pkcs12",
        "-export",
        "-in",
        cert.toString(),
        "-inkey",
        key.toString(),
        "-out",
        p12.toString(),
        "-passout",
        "pass:changeit");
    KeyStore store = KeyStore.getInstance("PKCS12");
    try (InputStream in = Files.newInputStream(p12)) {
      store.load(in, "changeit".toCharArray());
    }
    KeyManagerFactory keys = KeyManagerFactory.getInstance(KeyManagerFactory.getDefaultAlgorithm());
    keys.init(store, "changeit".toCharArray());
    SSLContext context = SSLContext.getInstance("TLS");
    context.init(keys.getKeyManagers(), null, null);
    SSLServerSocket server = (SSLServerSocket) context
        .getServerSocketFactory()
        .createServerSocket(0, 10, InetAddress.getLoopbackAddress());
    closing.add(server);
    BlockingQueue<String> messages = octetCountingReceiver(server);
    forwardAndCheck(
        SyslogForwarder.Transport.TLS, server.getLocalPort(), cert.toString(), messages);
  }

  @Test
  void recordsWaitInTheDatabaseWhileTheReceiverIsDown() throws Exception {
    int port;
    try (ServerSocket probe = new ServerSocket(0, 1, InetAddress.getLoopbackAddress())) {
      port = probe.getLocalPort();
    }
    SyslogForwarder forwarder = new SyslogForwarder(
        database,
        new SyslogForwarder.Settings(
            SyslogForwarder.Transport.TCP,
            "127.0.0.1",
            port,
            16,
            "berth",
            "",
            Duration.ofMillis(50)),
        "node-1",
        Clock.systemUTC());
    closing.add(forwarder);
    forwarder.start();
    Thread.sleep(200);
    AuditRecord first = log.record(event("v1", AuditOutcome.SUCCESS));
    AuditRecord second = log.record(event("v2", AuditOutcome.SUCCESS));
    Thread.sleep(500); // the forwarder fails to connect and backs off

    ServerSocket server = new ServerSocket(port, 10, InetAddress.getLoopbackAddress());
    closing.add(server);
    BlockingQueue<String> messages = octetCountingReceiver(server);
    assertThat(parse(messages.poll(15, TimeUnit.SECONDS)).params())
        .containsEntry("id", Long.toString(first.id()));
    assertThat(parse(messages.poll(5, TimeUnit.SECONDS)).params())
        .containsEntry("id", Long.toString(second.id()));
  }

  @Test
  void aMessageIsRfc5424WithEscapedStructuredData() {
    AuditRecord record = new AuditRecord(
        7,
        AuditEvent.of(AuditAction.LOGIN, ActorType.USER, "ali]ce", AuditOutcome.FAILURE)
            .withTime(Instant.parse("2026-03-01T12:00:00.123Z"))
            .withSource("192.0.2.1", "a\"b\\c]d"),
        ChainHash.GENESIS,
        "ab".repeat(32));
    String message = SyslogForwarder.format(record, 10, "berth", "node 1", "42");

    assertThat(message)
        .startsWith("<84>1 2026-03-01T12:00:00.123Z node_1 berth 42 login "
            + "[audit@32473 id=\"7\" actorType=\"user\" actor=\"ali\\]ce\"");
    assertThat(message).contains("userAgent=\"a\\\"b\\\\c\\]d\"");
    Map<String, String> parsed = parse(message).params();
    assertThat(parsed).containsEntry("userAgent", "a\"b\\c]d").containsEntry("actor", "ali]ce");
    assertThat(SyslogForwarder.facility("local0")).isEqualTo(16);
    assertThat(SyslogForwarder.facility("authpriv")).isEqualTo(10);
    assertThat(SyslogForwarder.facility("3")).isEqualTo(3);
  }

  private void forwardAndCheck(
      SyslogForwarder.Transport transport, int port, String caFile, BlockingQueue<String> messages)
      throws Exception {
    log.record(event("before", AuditOutcome.SUCCESS));
    SyslogForwarder forwarder = new SyslogForwarder(
        database,
        new SyslogForwarder.Settings(
            transport, "127.0.0.1", port, 16, "berth", caFile, Duration.ofMillis(50)),
        "node-1",
        Clock.systemUTC());
    closing.add(forwarder);
    forwarder.start();
    // Forwarding starts at the head it finds: the first record is not sent.
    Thread.sleep(300);
    AuditRecord pushed = log.record(event("v1", AuditOutcome.SUCCESS));
    AuditRecord denied = log.record(event("v2", AuditOutcome.DENIED));

    Parsed first = parse(messages.poll(10, TimeUnit.SECONDS));
    Parsed second = parse(messages.poll(10, TimeUnit.SECONDS));
    assertThat(first.pri()).isEqualTo(16 * 8 + 5);
    assertThat(second.pri()).isEqualTo(16 * 8 + 4);
    assertThat(first.msgId()).isEqualTo("manifest.push");
    assertThat(first.appName()).isEqualTo("berth");
    assertThat(first.params())
        .containsEntry("id", Long.toString(pushed.id()))
        .containsEntry("actor", "alice")
        .containsEntry("userAgent", HOSTILE_AGENT)
        .containsEntry("repository", "library/alpine")
        .containsEntry("reference", "v1")
        .containsEntry("outcome", "success")
        .containsEntry("hash", pushed.hash());
    assertThat(second.params())
        .containsEntry("id", Long.toString(denied.id()))
        .containsEntry("outcome", "denied");
    assertThat(first.message()).isEqualTo("user alice manifest.push library/alpine:v1 success");
    assertThat(messages.poll(300, TimeUnit.MILLISECONDS)).as("nothing else").isNull();
  }

  private static AuditEvent event(String tag, AuditOutcome outcome) {
    return AuditEvent.of(AuditAction.MANIFEST_PUSH, ActorType.USER, "alice", outcome)
        .withSource("192.0.2.10", HOSTILE_AGENT)
        .withResource("library", "library/alpine", tag, "sha256:" + "ab".repeat(32));
  }

  /** Accepts connections and reads {@code LENGTH SP MESSAGE} frames (RFC 6587 §3.4.1). */
  private static BlockingQueue<String> octetCountingReceiver(ServerSocket server) {
    BlockingQueue<String> messages = new LinkedBlockingQueue<>();
    Thread.ofVirtual().start(() -> {
      while (!server.isClosed()) {
        Socket socket;
        try {
          socket = server.accept();
        } catch (IOException e) {
          return;
        }
        Thread.ofVirtual().start(() -> {
          try (socket;
              InputStream in = new BufferedInputStream(socket.getInputStream())) {
            while (true) {
              int length = 0;
              int ch;
              while ((ch = in.read()) != ' ') {
                if (ch < 0) {
                  return;
                }
                if (ch < '0' || ch > '9') {
                  throw new IOException("bad frame length character " + ch);
                }
                length = length * 10 + (ch - '0');
              }
              messages.add(new String(in.readNBytes(length), StandardCharsets.UTF_8));
            }
          } catch (IOException e) {
            messages.add("receiver error: " + e);
          }
        });
      }
    });
    return messages;
  }

  record Parsed(
      int pri,
      String timestamp,
      String hostname,
      String appName,
      String procId,
      String msgId,
      String sdId,
      Map<String, String> params,
      String message) {}

  private static final Pattern HEADER = Pattern.compile(
      "<(\\d{1,3})>1 (\\S+) (\\S+) (\\S+) (\\S+) (\\S+) \\[(\\S+)(.*)", Pattern.DOTALL);

  /** Parses an RFC 5424 message with one SD-ELEMENT, un-escaping its PARAM-VALUEs. */
  static Parsed parse(String text) {
    assertThat(text).as("a message arrived").isNotNull();
    Matcher m = HEADER.matcher(text);
    assertThat(m.matches()).as("RFC 5424 header: " + text).isTrue();
    String rest = m.group(8);
    Map<String, String> params = new LinkedHashMap<>();
    int i = 0;
    while (rest.charAt(i) == ' ') {
      int equals = rest.indexOf('=', i);
      String name = rest.substring(i + 1, equals);
      assertThat(rest.charAt(equals + 1)).isEqualTo('"');
      StringBuilder value = new StringBuilder();
      int j = equals + 2;
      while (rest.charAt(j) != '"') {
        char ch = rest.charAt(j);
        if (ch == '\\' && "\"\\]".indexOf(rest.charAt(j + 1)) >= 0) {
          value.append(rest.charAt(j + 1));
          j += 2;
        } else {
          assertThat(ch).as("an unescaped ] would end the element").isNotEqualTo(']');
          value.append(ch);
          j++;
        }
      }
      params.put(name, value.toString());
      i = j + 1;
    }
    assertThat(rest.charAt(i)).isEqualTo(']');
    String message = rest.substring(i + 1).startsWith(" ") ? rest.substring(i + 2) : "";
    return new Parsed(
        Integer.parseInt(m.group(1)),
        m.group(2),
        m.group(3),
        m.group(4),
        m.group(5),
        m.group(6),
        m.group(7),
        params,
        message);
  }

  private void run(String... command) throws Exception {
    Process process = new ProcessBuilder(command).redirectErrorStream(true).start();
    byte[] output = process.getInputStream().readAllBytes();
    assertThat(process.waitFor(30, TimeUnit.SECONDS)).isTrue();
    assertThat(process.exitValue())
        .as(String.join(" ", command) + ": " + new String(output, StandardCharsets.UTF_8))
        .isZero();
  }
}
