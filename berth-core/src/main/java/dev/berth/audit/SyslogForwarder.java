package dev.berth.audit;

import dev.berth.metadata.Database;
import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.net.DatagramPacket;
import java.net.DatagramSocket;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.net.Socket;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.GeneralSecurityException;
import java.security.KeyStore;
import java.security.cert.Certificate;
import java.security.cert.CertificateFactory;
import java.sql.PreparedStatement;
import java.sql.ResultSet;
import java.time.Clock;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;
import java.util.Objects;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.TimeUnit;
import javax.net.ssl.SSLContext;
import javax.net.ssl.SSLParameters;
import javax.net.ssl.SSLSocket;
import javax.net.ssl.TrustManagerFactory;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Forwards audit records to a syslog receiver as RFC 5424 messages, over UDP (RFC 5426: one
 * message per datagram), TCP (RFC 6587 octet counting: {@code <length> SP <message>}) or TCP with
 * TLS (RFC 5425 framing, the same; the server's certificate checked against {@code tls-ca-file}
 * or the JVM's trust store, and its name against {@code host}).
 *
 * <p>Fed from the table, not from the append path: a virtual thread reads records committed
 * after the last one sent ({@code audit_forwarding.last_id}), at most {@value #BATCH} at a time,
 * sends them, then moves the cursor. So only committed records are sent (a rolled-back push never
 * is), requests never wait for the receiver, memory stays bounded, and a receiver that is down
 * holds records back in the database until it is up again. One node forwards at a time: the
 * cursor row carries a lease ({@value #LEASE_SECONDS} s, renewed by each pass) that another node
 * takes over when it expires. Delivery is at least once: a node that dies between sending and
 * moving the cursor leaves the batch to be sent again; the record id in each message tells a
 * duplicate. When forwarding starts for the first time, it starts at the current head rather than
 * sending the whole history.
 *
 * <p>Message: {@code <PRI>1 TIMESTAMP HOSTNAME APP-NAME PROCID MSGID [audit@32473 …] MSG}, PRI =
 * facility × 8 + severity (notice for success, warning for failure and denied), MSGID the
 * action, the structured data every field of the record (values escaped: {@code "}, {@code \} and
 * {@code ]} get a backslash), MSG a short line for people. 32473 is the private enterprise number
 * RFC 5612 reserves for documentation, as Berth has none of its own.
 */
public final class SyslogForwarder implements AutoCloseable {
  private static final Logger log = LoggerFactory.getLogger(SyslogForwarder.class);
  static final int BATCH = 500;
  private static final int LEASE_SECONDS = 30;
  private static final String SD_ID = "audit@32473";
  private static final List<String> FACILITIES = List.of(
      "kern",
      "user",
      "mail",
      "daemon",
      "auth",
      "syslog",
      "lpr",
      "news",
      "uucp",
      "cron",
      "authpriv",
      "ftp",
      "ntp",
      "security",
      "console",
      "solaris-cron",
      "local0",
      "local1",
      "local2",
      "local3",
      "local4",
      "local5",
      "local6",
      "local7");

  /** How messages travel. */
  public enum Transport {
    UDP,
    TCP,
    TLS;

    /** {@code udp}, {@code tcp} or {@code tls}. */
    public static Transport parse(String text) {
      return switch (text == null ? "" : text.toLowerCase(Locale.ROOT)) {
        case "udp" -> UDP;
        case "tcp" -> TCP;
        case "tls", "tcp+tls" -> TLS;
        default ->
          throw new IllegalArgumentException("must be udp, tcp or tls, got '" + text + "'");
      };
    }
  }

  /**
   * @param facility 0 to 23 ({@link #facility} parses names)
   * @param tlsCaFile PEM certificates to trust for TLS; empty for the JVM's trust store
   */
  public record Settings(
      Transport transport,
      String host,
      int port,
      int facility,
      String appName,
      String tlsCaFile,
      Duration pollInterval) {
    public Settings {
      Objects.requireNonNull(transport, "transport");
      Objects.requireNonNull(host, "host");
      Objects.requireNonNull(pollInterval, "pollInterval");
      if (host.isBlank()) {
        throw new IllegalArgumentException("audit.syslog.host: must be set");
      }
      if (port < 1 || port > 65535) {
        throw new IllegalArgumentException("audit.syslog.port: must be 1..65535, got " + port);
      }
      if (facility < 0 || facility > 23) {
        throw new IllegalArgumentException("audit.syslog.facility: must be 0..23");
      }
      appName = appName == null || appName.isBlank() ? "berth" : appName;
      tlsCaFile = tlsCaFile == null ? "" : tlsCaFile;
    }
  }

  private final Database database;
  private final Settings settings;
  private final String nodeId;
  private final Clock clock;
  private final String hostname;
  private final String procId;
  private final CountDownLatch stopping = new CountDownLatch(1);
  private final SSLContext tls;
  private Thread loop;
  private Socket socket;
  private DatagramSocket datagrams;
  private InetSocketAddress target;

  public SyslogForwarder(Database database, Settings settings, String nodeId, Clock clock) {
    this.database = Objects.requireNonNull(database, "database");
    this.settings = Objects.requireNonNull(settings, "settings");
    this.nodeId = Objects.requireNonNull(nodeId, "nodeId");
    this.clock = Objects.requireNonNull(clock, "clock");
    this.hostname = localHostname();
    this.procId = Long.toString(ProcessHandle.current().pid());
    this.tls = settings.transport() == Transport.TLS ? sslContext(settings.tlsCaFile()) : null;
  }

  /** A facility by name ({@code local0}, {@code auth}, …) or number (0 to 23). */
  public static int facility(String text) {
    String value = text == null ? "" : text.strip().toLowerCase(Locale.ROOT);
    int index = FACILITIES.indexOf(value);
    if (index >= 0) {
      return index;
    }
    try {
      int number = Integer.parseInt(value);
      if (number >= 0 && number <= 23) {
        return number;
      }
    } catch (NumberFormatException e) {
      // fall through
    }
    throw new IllegalArgumentException(
        "must be a facility name (local0 … local7, auth, authpriv, daemon, …) or 0..23, got '"
            + text + "'");
  }

  /** Starts forwarding on a virtual thread. */
  public SyslogForwarder start() {
    loop = Thread.ofVirtual().name("berth-audit-syslog").start(this::run);
    return this;
  }

  /** Sends what is committed and not yet sent, then stops (a last pass, no retry). */
  @Override
  public void close() {
    stopping.countDown();
    if (loop != null) {
      try {
        loop.join(Duration.ofSeconds(10));
      } catch (InterruptedException e) {
        Thread.currentThread().interrupt();
      }
    }
    disconnect();
  }

  /**
   * One pass: takes (or keeps) the lease, sends up to {@value #BATCH} records after the cursor
   * and moves it. Package-visible for tests.
   *
   * @return records sent; -1 when another node holds the lease
   */
  int forwardOnce() throws IOException {
    long now = clock.millis();
    Long cursor = database.write(c -> {
      try (PreparedStatement p = c.prepareStatement("UPDATE audit_forwarding SET lease_owner = ?,"
          + " lease_until = ? WHERE id = 1 AND (lease_owner = ? OR lease_owner IS NULL"
          + " OR lease_until < ?)")) {
        p.setString(1, nodeId);
        p.setLong(2, now + LEASE_SECONDS * 1000L);
        p.setString(3, nodeId);
        p.setLong(4, now);
        if (p.executeUpdate() == 0) {
          return null;
        }
      }
      long last;
      try (PreparedStatement p =
              c.prepareStatement("SELECT last_id FROM audit_forwarding WHERE id = 1");
          ResultSet rs = p.executeQuery()) {
        rs.next();
        last = rs.getLong(1);
      }
      if (last < 0) {
        AuditRows.Chain chain = AuditRows.chain(c, "");
        last = chain == null ? 0 : chain.lastId();
        try (PreparedStatement p =
            c.prepareStatement("UPDATE audit_forwarding SET last_id = ? WHERE id = 1")) {
          p.setLong(1, last);
          p.executeUpdate();
        }
      }
      return last;
    });
    if (cursor == null) {
      return -1;
    }
    List<AuditRecord> records = database.read(c -> {
      List<AuditRecord> page = new ArrayList<>();
      try (PreparedStatement p = c.prepareStatement(
          "SELECT " + AuditRows.COLUMNS + " FROM audit_log WHERE id > ? ORDER BY id LIMIT ?")) {
        p.setLong(1, cursor);
        p.setInt(2, BATCH);
        try (ResultSet rs = p.executeQuery()) {
          while (rs.next()) {
            page.add(AuditRows.read(rs));
          }
        }
      }
      return page;
    });
    if (records.isEmpty()) {
      return 0;
    }
    send(records);
    long sent = records.getLast().id();
    database.write(c -> {
      try (PreparedStatement p = c.prepareStatement("UPDATE audit_forwarding SET last_id = ?"
          + " WHERE id = 1 AND lease_owner = ? AND last_id = ?")) {
        p.setLong(1, sent);
        p.setString(2, nodeId);
        p.setLong(3, cursor);
        return p.executeUpdate();
      }
    });
    return records.size();
  }

  private void run() {
    Duration backoff = Duration.ZERO;
    while (true) {
      boolean stop = stopping.getCount() == 0;
      try {
        int sent;
        do {
          sent = forwardOnce();
        } while (sent == BATCH);
        backoff = Duration.ZERO;
      } catch (IOException | RuntimeException e) {
        disconnect();
        backoff = backoff.isZero()
            ? Duration.ofSeconds(1)
            : backoff.multipliedBy(2).compareTo(Duration.ofSeconds(30)) > 0
                ? Duration.ofSeconds(30)
                : backoff.multipliedBy(2);
        log.warn(
            "audit: cannot forward to syslog {}:{} ({}); retrying in {} s",
            settings.host(),
            settings.port(),
            e.getMessage(),
            backoff.toSeconds());
      }
      if (stop) {
        releaseLease();
        return;
      }
      try {
        stopping.await(
            backoff.isZero() ? settings.pollInterval().toMillis() : backoff.toMillis(),
            TimeUnit.MILLISECONDS);
      } catch (InterruptedException e) {
        return;
      }
    }
  }

  private void releaseLease() {
    try {
      database.write(c -> {
        try (PreparedStatement p = c.prepareStatement(
            "UPDATE audit_forwarding SET lease_until = 0 WHERE id = 1 AND lease_owner = ?")) {
          p.setString(1, nodeId);
          return p.executeUpdate();
        }
      });
    } catch (RuntimeException e) {
      // the lease expires on its own
    }
  }

  private void send(List<AuditRecord> records) throws IOException {
    for (AuditRecord record : records) {
      byte[] message = format(record, settings.facility(), settings.appName(), hostname, procId)
          .getBytes(StandardCharsets.UTF_8);
      switch (settings.transport()) {
        case UDP -> {
          if (datagrams == null) {
            datagrams = new DatagramSocket();
            target = new InetSocketAddress(settings.host(), settings.port());
          }
          datagrams.send(new DatagramPacket(message, message.length, target));
        }
        case TCP, TLS -> {
          OutputStream out = stream();
          out.write((message.length + " ").getBytes(StandardCharsets.US_ASCII));
          out.write(message);
        }
      }
    }
    if (socket != null) {
      socket.getOutputStream().flush();
    }
  }

  private OutputStream stream() throws IOException {
    if (socket == null) {
      Socket plain = new Socket();
      plain.connect(new InetSocketAddress(settings.host(), settings.port()), 10_000);
      if (settings.transport() == Transport.TLS) {
        SSLSocket secure = (SSLSocket)
            tls.getSocketFactory().createSocket(plain, settings.host(), settings.port(), true);
        SSLParameters parameters = secure.getSSLParameters();
        parameters.setEndpointIdentificationAlgorithm("HTTPS");
        secure.setSSLParameters(parameters);
        secure.startHandshake();
        socket = secure;
      } else {
        socket = plain;
      }
    }
    return socket.getOutputStream();
  }

  private void disconnect() {
    if (socket != null) {
      try {
        socket.close();
      } catch (IOException e) {
        // already gone
      }
      socket = null;
    }
    if (datagrams != null) {
      datagrams.close();
      datagrams = null;
    }
  }

  /** One RFC 5424 message for a record (without transport framing). */
  public static String format(
      AuditRecord record, int facility, String appName, String hostname, String procId) {
    AuditEvent e = record.event();
    int severity = e.outcome() == AuditOutcome.SUCCESS ? 5 : 4;
    StringBuilder m = new StringBuilder(512);
    m.append('<').append(facility * 8 + severity).append(">1 ");
    m.append(e.time()).append(' ');
    m.append(header(hostname, 255)).append(' ');
    m.append(header(appName, 48)).append(' ');
    m.append(header(procId, 128)).append(' ');
    m.append(header(e.action().label(), 32)).append(' ');
    m.append('[').append(SD_ID);
    param(m, "id", Long.toString(record.id()));
    param(m, "actorType", e.actorType().label());
    param(m, "actor", e.actorName());
    param(m, "sourceAddress", e.sourceAddress());
    param(m, "userAgent", e.userAgent());
    param(m, "action", e.action().label());
    param(m, "project", e.project());
    param(m, "repository", e.repository());
    param(m, "reference", e.reference());
    param(m, "digest", e.digest());
    param(m, "outcome", e.outcome().label());
    param(m, "detail", e.detailJson());
    param(m, "hash", record.hash());
    m.append("] ");
    m.append(e.actorType().label());
    if (!e.actorName().isEmpty()) {
      m.append(' ').append(e.actorName());
    }
    m.append(' ').append(e.action().label());
    if (!e.repository().isEmpty()) {
      m.append(' ').append(e.repository());
      if (!e.reference().isEmpty()) {
        m.append(e.reference().contains(":") ? "@" : ":").append(e.reference());
      }
    } else if (!e.project().isEmpty()) {
      m.append(' ').append(e.project());
    }
    m.append(' ').append(e.outcome().label());
    return m.toString();
  }

  /** An SD-PARAM; the value escapes {@code "}, {@code \} and {@code ]} (RFC 5424 §6.3.3). */
  private static void param(StringBuilder m, String name, String value) {
    m.append(' ').append(name).append("=\"");
    for (int i = 0; i < value.length(); i++) {
      char ch = value.charAt(i);
      if (ch == '"' || ch == '\\' || ch == ']') {
        m.append('\\');
      }
      m.append(ch);
    }
    m.append('"');
  }

  /** A header field: printable US-ASCII without spaces, at most {@code max}; "-" when empty. */
  private static String header(String value, int max) {
    StringBuilder out = new StringBuilder();
    for (int i = 0; i < value.length() && out.length() < max; i++) {
      char ch = value.charAt(i);
      out.append(ch > 32 && ch < 127 ? ch : '_');
    }
    return out.isEmpty() ? "-" : out.toString();
  }

  private static String localHostname() {
    try {
      return InetAddress.getLocalHost().getHostName();
    } catch (IOException e) {
      return "-";
    }
  }

  private static SSLContext sslContext(String caFile) {
    try {
      SSLContext context = SSLContext.getInstance("TLS");
      if (caFile.isEmpty()) {
        context.init(null, null, null);
        return context;
      }
      KeyStore trust = KeyStore.getInstance(KeyStore.getDefaultType());
      trust.load(null, null);
      try (InputStream in = Files.newInputStream(Path.of(caFile))) {
        int i = 0;
        for (Certificate certificate :
            CertificateFactory.getInstance("X.509").generateCertificates(in)) {
          trust.setCertificateEntry("ca-" + i++, certificate);
        }
        if (i == 0) {
          throw new IllegalArgumentException(
              "audit.syslog.tls-ca-file: no certificate in " + caFile);
        }
      }
      TrustManagerFactory factory =
          TrustManagerFactory.getInstance(TrustManagerFactory.getDefaultAlgorithm());
      factory.init(trust);
      context.init(null, factory.getTrustManagers(), null);
      return context;
    } catch (IOException | GeneralSecurityException e) {
      throw new IllegalArgumentException(
          "audit.syslog.tls-ca-file: cannot load " + caFile + ": " + e.getMessage(), e);
    }
  }
}
