package dev.berth.http;

import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.charset.StandardCharsets;
import org.eclipse.jetty.http.HttpHeader;
import org.eclipse.jetty.server.Request;
import org.eclipse.jetty.server.Response;
import org.eclipse.jetty.server.handler.ErrorHandler;
import org.eclipse.jetty.util.Callback;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Errors Jetty raises before a request reaches Berth (an ambiguous or undecodable URI, a header
 * too large) get the same spec-format JSON body as every other error, not an HTML page. Each is
 * written to the access log with Jetty's reason, as every request Berth answers is: such a
 * request never reaches the endpoints, so otherwise nothing would show why a client got a 400.
 * (A client that tries TLS on a plain-HTTP port, as podman and skopeo do first with
 * {@code --tls-verify=false}, shows up here as "Illegal character CNTL=0x16".)
 */
final class JsonErrorHandler extends ErrorHandler {
  private static final Logger accessLog = LoggerFactory.getLogger("berth.access");

  private final boolean logRejections;

  /** @param logRejections write each rejection to the access log ({@code log.access-log}) */
  JsonErrorHandler(boolean logRejections) {
    this.logRejections = logRejections;
  }

  @Override
  protected void generateResponse(
      Request request,
      Response response,
      int status,
      String message,
      Throwable cause,
      Callback callback)
      throws IOException {
    String code = switch (status) {
      case 400 ->
        request.getHttpURI().getPath().startsWith("/v2/") ? "NAME_INVALID" : "UNSUPPORTED";
      case 404 -> "NOT_FOUND";
      case 405 -> "UNSUPPORTED";
      case 413, 414, 431 -> "SIZE_INVALID";
      case 429 -> "TOOMANYREQUESTS";
      default -> status >= 500 ? "UNKNOWN" : "UNSUPPORTED";
    };
    String text = message == null ? "request rejected" : message;
    if (logRejections) {
      logRejection(request, status, text, cause);
    }
    String body = "{\"errors\":[{\"code\":\"" + code + "\",\"message\":\"" + escape(text) + "\"}]}";
    byte[] bytes = body.getBytes(StandardCharsets.UTF_8);
    response.getHeaders().put(HttpHeader.CONTENT_TYPE, "application/json; charset=utf-8");
    response.getHeaders().put(HttpHeader.CONTENT_LENGTH, bytes.length);
    response.write(true, ByteBuffer.wrap(bytes), callback);
  }

  private static void logRejection(Request request, int status, String text, Throwable cause) {
    if (!accessLog.isInfoEnabled()) {
      return;
    }
    String remote = Request.getRemoteAddr(request);
    String method = request.getMethod();
    String path = request.getHttpURI() == null ? null : request.getHttpURI().getPath();
    accessLog
        .atInfo()
        .addKeyValue("remote", remote)
        .addKeyValue("method", method)
        .addKeyValue("path", path)
        .addKeyValue("status", status)
        .addKeyValue("rejected", text)
        .log(
            "{} \"{} {}\" {} rejected before routing: {}{}",
            remote,
            method == null ? "-" : method,
            path == null ? "-" : path,
            status,
            text,
            text.endsWith("CNTL=0x16")
                ? " (a TLS handshake on this plain-HTTP port: the client tried https first)"
                : cause == null || cause.getMessage() == null || text.equals(cause.getMessage())
                    ? ""
                    : " (" + cause + ")");
  }

  private static String escape(String text) {
    StringBuilder out = new StringBuilder(text.length());
    for (char c : text.toCharArray()) {
      switch (c) {
        case '"' -> out.append("\\\"");
        case '\\' -> out.append("\\\\");
        default -> {
          if (c < 0x20) {
            out.append(String.format("\\u%04x", (int) c));
          } else {
            out.append(c);
          }
        }
      }
    }
    return out.toString();
  }
}
