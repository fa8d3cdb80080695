package dev.berth.server;

import static org.assertj.core.api.Assertions.assertThat;

import java.net.http.HttpResponse;
import java.util.Map;
import org.junit.jupiter.api.DisplayName;
import org.junit.jupiter.api.Nested;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.RegisterExtension;

/** Every URL Berth hands out works behind a reverse proxy or load balancer. */
class ExternalUrlTest {

  @Nested
  class FromRequestHeaders {
    @RegisterExtension
    static final InProcessBerth berth = new InProcessBerth();

    @Test
    @DisplayName("Location of an upload session uses the request's Host header")
    void locationUsesTheHostHeader() {
      HttpResponse<byte[]> response = berth.post("/v2/proxy/app/blobs/uploads/", new byte[0]);

      assertThat(response.statusCode()).isEqualTo(202);
      assertThat(response.headers().firstValue("Location").orElseThrow())
          .startsWith("http://127.0.0.1:" + berth.port() + "/v2/proxy/app/blobs/uploads/");
    }

    @Test
    @DisplayName("X-Forwarded-Proto and X-Forwarded-Host from a proxy shape the Location")
    void locationFollowsForwardedHeaders() {
      HttpResponse<byte[]> response = berth.post(
          "/v2/proxy/app/blobs/uploads/",
          new byte[0],
          "X-Forwarded-Proto",
          "https",
          "X-Forwarded-Host",
          "registry.example.com");

      assertThat(response.headers().firstValue("Location").orElseThrow())
          .startsWith("https://registry.example.com/v2/proxy/app/blobs/uploads/");
    }

    @Test
    @DisplayName(
        "pagination Link headers are relative, so they resolve against whatever the client used")
    void linkHeadersAreRelative() {
      berth.pushImage("proxy/a", "1");
      berth.pushImage("proxy/b", "1");

      HttpResponse<byte[]> page = berth.get("/v2/_catalog?n=1");

      assertThat(page.headers().firstValue("Link").orElseThrow()).startsWith("</v2/_catalog?");
    }
  }

  @Nested
  class FromConfiguration {
    @RegisterExtension
    static final InProcessBerth berth =
        new InProcessBerth(Map.of("server.external-url", "https://registry.example.com/"));

    @Test
    @DisplayName("server.external-url wins over request headers")
    void configuredExternalUrlWins() {
      HttpResponse<byte[]> response = berth.post(
          "/v2/proxy/app/blobs/uploads/", new byte[0], "X-Forwarded-Host", "elsewhere.example");

      assertThat(response.headers().firstValue("Location").orElseThrow())
          .startsWith("https://registry.example.com/v2/proxy/app/blobs/uploads/");
    }
  }
}
