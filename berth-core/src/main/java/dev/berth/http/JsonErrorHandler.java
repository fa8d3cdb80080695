package dev.berth.http;

import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.charset.StandardCharsets;
import org.eclipse.jetty.http.HttpHeader;
import org.eclipse.jetty.server.Request;
import org.eclipse.jetty.server.Response;
import org.eclipse.jetty.server.handler.ErrorHandler;
import org.eclipse.jetty.util.Callback;

/**
 * Errors Jetty raises before a request reaches Berth (an ambiguous or undecodable URI, a header
 * too large) get the same spec-format JSON body as every other error, not an HTML page.
 */
final class JsonErrorHandler extends ErrorHandler {
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
    String body = "{\"errors\":[{\"code\":\"" + code + "\",\"message\":\"" + escape(text) + "\"}]}";
    byte[] bytes = body.getBytes(StandardCharsets.UTF_8);
    response.getHeaders().put(HttpHeader.CONTENT_TYPE, "application/json; charset=utf-8");
    response.getHeaders().put(HttpHeader.CONTENT_LENGTH, bytes.length);
    response.write(true, ByteBuffer.wrap(bytes), callback);
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
