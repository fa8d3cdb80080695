package dev.berth.http;

import dev.berth.oci.ErrorCode;
import dev.berth.oci.RegistryException;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.util.Collection;
import java.util.Map;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The one place an exception becomes an HTTP response: the spec's JSON error body {@code
 * {"errors":[{"code","message","detail"}]}}. The body is small and flat, so it is written here
 * directly rather than through a data binder (which would otherwise load at start-up).
 */
public final class ErrorResponses {
  private static final Logger log = LoggerFactory.getLogger(ErrorResponses.class);
  /** Request bodies up to this size are read away before an error answer (see {@link #send}). */
  /** Bodies up to this are read away before an error answer: twice the largest manifest. */
  private static final long DISCARD_LIMIT = 8 << 20;

  /** Answers with the error a throwable stands for; never throws. */
  public void send(Exchange exchange, Throwable failure) {
    RegistryException error = toRegistryException(exchange, failure);
    if (exchange.isCommitted()) {
      log.debug("error after the response was committed: {}", error.getMessage());
      return;
    }
    // A refusal often comes before the request body is read; Jetty may then close the
    // connection after the answer, and a client that reuses it fails on its next request; and a
    // client still sending when the connection closes may get a reset instead of the answer (a
    // manifest over its 4 MiB limit was refused so, now and then). So a body up to 8 MiB is read
    // away first. A larger one (a refused blob upload) is left to Jetty rather than read in full.
    long length = exchange.contentLength();
    if (length > 0 && length <= DISCARD_LIMIT) {
      exchange.discardBody();
    }
    try {
      exchange.send(error.code().status(), "application/json; charset=utf-8", body(error));
    } catch (IOException | RuntimeException e) {
      log.debug("could not send an error response: {}", e.toString());
    }
  }

  public byte[] body(RegistryException error) {
    StringBuilder json = new StringBuilder(128);
    json.append("{\"errors\":[{\"code\":");
    string(json, error.code().code());
    json.append(",\"message\":");
    string(json, error.getMessage());
    if (error.detail() != null) {
      json.append(",\"detail\":");
      value(json, error.detail());
    }
    json.append("}]}");
    return json.toString().getBytes(StandardCharsets.UTF_8);
  }

  private static void value(StringBuilder json, Object value) {
    switch (value) {
      case null -> json.append("null");
      case Number number -> json.append(number);
      case Boolean bool -> json.append(bool);
      case Map<?, ?> map -> {
        json.append('{');
        boolean first = true;
        for (Map.Entry<?, ?> entry : new java.util.TreeMap<>(map).entrySet()) {
          if (!first) {
            json.append(',');
          }
          first = false;
          string(json, String.valueOf(entry.getKey()));
          json.append(':');
          value(json, entry.getValue());
        }
        json.append('}');
      }
      case Collection<?> list -> {
        json.append('[');
        boolean first = true;
        for (Object item : list) {
          if (!first) {
            json.append(',');
          }
          first = false;
          value(json, item);
        }
        json.append(']');
      }
      default -> string(json, value.toString());
    }
  }

  static void string(StringBuilder json, String text) {
    json.append('"');
    for (int i = 0; i < text.length(); i++) {
      char c = text.charAt(i);
      switch (c) {
        case '"' -> json.append("\\\"");
        case '\\' -> json.append("\\\\");
        case '\n' -> json.append("\\n");
        case '\r' -> json.append("\\r");
        case '\t' -> json.append("\\t");
        default -> {
          if (c < 0x20) {
            json.append(String.format("\\u%04x", (int) c));
          } else {
            json.append(c);
          }
        }
      }
    }
    json.append('"');
  }

  private static RegistryException toRegistryException(Exchange exchange, Throwable failure) {
    if (failure instanceof RegistryException registry) {
      return registry;
    }
    if (failure instanceof IOException io && isClientGone(io)) {
      return new RegistryException(
          ErrorCode.BLOB_UPLOAD_INVALID, "request body: " + io.getMessage());
    }
    log.error("{} {} failed", exchange.method(), exchange.path(), failure);
    return new RegistryException(ErrorCode.INTERNAL, "internal error", null, failure);
  }

  private static boolean isClientGone(IOException e) {
    String name = e.getClass().getName();
    return name.contains("EofException")
        || name.contains("BadMessage")
        || e instanceof java.io.EOFException;
  }
}
