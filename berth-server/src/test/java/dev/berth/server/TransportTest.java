package dev.berth.server;

import static org.assertj.core.api.Assertions.assertThat;

import dev.berth.config.ConfigLoader;
import dev.berth.testkit.TestCertificate;
import java.io.ByteArrayInputStream;
import java.io.InputStream;
import java.io.OutputStream;
import java.net.InetSocketAddress;
import java.net.Socket;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.KeyStore;
import java.security.cert.CertificateFactory;
import java.time.Duration;
import java.util.Map;
import javax.net.ssl.SSLContext;
import javax.net.ssl.TrustManagerFactory;
import org.junit.jupiter.api.DisplayName;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** What the listener does before any registry logic: TLS from PEM files, HTTP/2, TLS probes. */
class TransportTest {
  @TempDir
  Path dir;

  @Test
  @DisplayName("server.tls: HTTPS from PEM files, HTTP/2 negotiated by ALPN")
  void servesTlsFromPemFilesWithHttp2() throws Exception {
    TestCertificate certificate = TestCertificate.create(dir);
    Path cert = certificate.cert();
    Path key = certificate.key();

    try (Berth berth = Berth.start(new ConfigLoader()
        .load(
            null,
            Map.of(),
            Map.of(
                "server.addr",
                "127.0.0.1:0",
                "data-dir",
                dir.resolve("data").toString(),
                "server.tls.cert-file",
                cert.toString(),
                "server.tls.key-file",
                key.toString(),
                "log.access-log",
                "false",
                "auth.enabled",
                "false")))) {
      HttpClient client = HttpClient.newBuilder()
          .sslContext(trusting(cert))
          .version(HttpClient.Version.HTTP_2)
          .connectTimeout(Duration.ofSeconds(5))
          .build();
      HttpResponse<String> response = client.send(
          HttpRequest.newBuilder(URI.create("https://127.0.0.1:" + berth.port() + "/v2/"))
              .build(),
          HttpResponse.BodyHandlers.ofString());

      assertThat(response.statusCode()).isEqualTo(200);
      assertThat(response.version()).isEqualTo(HttpClient.Version.HTTP_2);
      assertThat(response.headers().firstValue("Docker-Distribution-API-Version"))
          .hasValue("registry/2.0");
    }
  }

  @Test
  @DisplayName(
      "plain port answers a TLS ClientHello at once, so insecure clients fall back to HTTP")
  void plainPortRejectsTlsHandshakeAtOnce() throws Exception {
    try (Berth berth = Berth.start(new ConfigLoader()
            .load(
                null,
                Map.of(),
                Map.of(
                    "server.addr", "127.0.0.1:0",
                    "data-dir", dir.resolve("plain").toString(),
                    "log.access-log", "false")));
        Socket socket = new Socket()) {
      socket.connect(new InetSocketAddress("127.0.0.1", berth.port()), 5000);
      socket.setSoTimeout(2000);
      long started = System.nanoTime();
      OutputStream out = socket.getOutputStream();
      // The start of a TLS 1.2 ClientHello record: handshake (0x16), version 3.1, length.
      out.write(
          new byte[] {0x16, 0x03, 0x01, 0x00, (byte) 0xa5, 0x01, 0x00, 0x00, (byte) 0xa1, 0x03, 0x03
          });
      out.flush();
      InputStream in = socket.getInputStream();
      byte[] reply = in.readNBytes(12);
      long millis = (System.nanoTime() - started) / 1_000_000;

      // An HTTP answer (not a TLS alert, not a hang): Go's TLS client then reports
      // "server gave HTTP response to HTTPS client" and skopeo, podman and buildah retry over HTTP.
      assertThat(new String(reply, java.nio.charset.StandardCharsets.US_ASCII))
          .startsWith("HTTP/1.1 400");
      assertThat(millis).isLessThan(1000);
    }
  }

  private static SSLContext trusting(Path cert) throws Exception {
    KeyStore trust = KeyStore.getInstance(KeyStore.getDefaultType());
    trust.load(null, null);
    trust.setCertificateEntry(
        "berth",
        CertificateFactory.getInstance("X.509")
            .generateCertificate(new ByteArrayInputStream(Files.readAllBytes(cert))));
    TrustManagerFactory factory =
        TrustManagerFactory.getInstance(TrustManagerFactory.getDefaultAlgorithm());
    factory.init(trust);
    SSLContext context = SSLContext.getInstance("TLS");
    context.init(null, factory.getTrustManagers(), null);
    return context;
  }
}
