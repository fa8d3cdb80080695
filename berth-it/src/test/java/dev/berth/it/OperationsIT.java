package dev.berth.it;

import static org.assertj.core.api.Assertions.assertThat;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import dev.berth.testkit.BerthProcess;
import dev.berth.testkit.RegistryClient.Response;
import java.io.InputStream;
import java.io.OutputStream;
import java.net.InetSocketAddress;
import java.net.Socket;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.DisplayName;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** Issue 2 §5: health endpoints, JSON logs, graceful shutdown with a request in flight. */
class OperationsIT {
  @TempDir
  Path dir;

  @Test
  @DisplayName("/healthz and /readyz answer 200; log.format=json writes one JSON object per line")
  void healthEndpointsAndJsonLogs() throws Exception {
    try (BerthProcess berth =
        BerthProcess.builder(dir).env("BERTH_LOG_FORMAT", "json").start()) {
      assertThat(berth.client().get("/healthz").status()).isEqualTo(200);
      assertThat(berth.client().get("/readyz").status()).isEqualTo(200);
      assertThat(berth.client().get("/v2/").status()).isEqualTo(200);
      berth.stop();

      ObjectMapper json = new ObjectMapper();
      List<String> lines =
          berth.log().lines().filter(line -> line.startsWith("{")).toList();
      assertThat(lines).isNotEmpty();
      boolean sawAccessLine = false;
      for (String line : lines) {
        JsonNode event = json.readTree(line);
        assertThat(event.has("level")).as(line).isTrue();
        if ("berth.access".equals(event.path("loggerName").asText())) {
          sawAccessLine |= event.path("formattedMessage").asText().contains("GET /readyz");
        }
      }
      assertThat(sawAccessLine)
          .as("an access log line for GET /readyz in %s", lines)
          .isTrue();
    }
  }

  @Test
  @DisplayName("SIGTERM lets a request in flight finish, then the process exits cleanly")
  void gracefulShutdownFinishesRequestsInFlight() throws Exception {
    try (BerthProcess berth = BerthProcess.start(dir)) {
      Response started = berth.client().post("/v2/graceful/blob/blobs/uploads/", new byte[0]);
      assertThat(started.status()).isEqualTo(202);
      String path = java.net.URI.create(started.requiredHeader("Location")).getRawPath();

      try (Socket socket = new Socket()) {
        socket.connect(new InetSocketAddress("127.0.0.1", berth.port()), 5000);
        socket.setSoTimeout(30_000);
        OutputStream out = socket.getOutputStream();
        byte[] chunk = new byte[64 * 1024];
        out.write(("PATCH " + path
                + " HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/octet-stream\r\n"
                + "Content-Range: 0-" + (2 * chunk.length - 1) + "\r\nContent-Length: "
                + 2 * chunk.length
                + "\r\n\r\n")
            .getBytes(StandardCharsets.US_ASCII));
        out.write(chunk);
        out.flush();
        Thread.sleep(300); // the request is now in flight, half its body sent

        CompletableFuture<Integer> exit = CompletableFuture.supplyAsync(berth::stop);
        Thread.sleep(500); // SIGTERM delivered while the body is still incomplete
        out.write(chunk);
        out.flush();

        InputStream in = socket.getInputStream();
        String status = new String(in.readNBytes(12), StandardCharsets.US_ASCII);
        assertThat(status).isEqualTo("HTTP/1.1 202");
        assertThat(exit.get(30, TimeUnit.SECONDS))
            .as("exit status after SIGTERM")
            .isIn(0, 143);
      }

      // The session persisted: after a restart it reports both chunks.
      berth.start();
      Response status = berth.client().get(path);
      assertThat(status.status()).isEqualTo(204);
      assertThat(status.requiredHeader("Range")).isEqualTo("0-131071");
    }
  }
}
