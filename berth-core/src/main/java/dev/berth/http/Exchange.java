package dev.berth.http;

import dev.berth.oci.ErrorCode;
import dev.berth.oci.RegistryException;
import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.InterruptedIOException;
import java.nio.ByteBuffer;
import java.nio.charset.StandardCharsets;
import org.eclipse.jetty.http.HttpField;
import org.eclipse.jetty.http.HttpFields;
import org.eclipse.jetty.http.HttpHeader;
import org.eclipse.jetty.http.HttpURI;
import org.eclipse.jetty.io.Content;
import org.eclipse.jetty.server.Request;
import org.eclipse.jetty.server.Response;
import org.eclipse.jetty.util.Blocker;
import org.eclipse.jetty.util.Fields;

/**
 * One request and its response, in blocking style (handlers run on virtual threads). This is the
 * only place that knows Jetty's request and response API; handlers speak to this class.
 */
public final class Exchange {
  /** Receives request body bytes as they arrive. The buffer is valid only during the call. */
  @FunctionalInterface
  public interface BodySink {
    void accept(ByteBuffer bytes) throws IOException;
  }

  private final Request request;
  private final Response response;
  private final String path;
  private Fields query;
  private long bytesSent;

  public Exchange(Request request, Response response) {
    this.request = request;
    this.response = response;
    HttpURI uri = request.getHttpURI();
    String decoded = uri.getDecodedPath();
    this.path = decoded == null ? "/" : decoded;
  }

  public String method() {
    return request.getMethod();
  }

  public boolean isHead() {
    return "HEAD".equals(request.getMethod());
  }

  /** The decoded path. */
  public String path() {
    return path;
  }

  public String header(String name) {
    return request.getHeaders().get(name);
  }

  public String header(HttpHeader name) {
    return request.getHeaders().get(name);
  }

  /** Every value of a request header, in order (HTTP/2 clients send one Cookie field per cookie). */
  public java.util.List<String> headers(String name) {
    return request.getHeaders().getValuesList(name);
  }

  /** The first value of a query parameter, or null. */
  public String query(String name) {
    if (query == null) {
      query = Request.extractQueryParameters(request, StandardCharsets.UTF_8);
    }
    Fields.Field field = query.get(name);
    return field == null ? null : field.getValue();
  }

  /** Every value of a query parameter, in order; empty when absent. */
  public java.util.List<String> queryValues(String name) {
    query(name);
    Fields.Field field = query.get(name);
    return field == null ? java.util.List.of() : field.getValues();
  }

  public boolean hasQuery(String name) {
    query(name);
    return query.get(name) != null;
  }

  /** Declared request body length, or -1 when unknown (chunked). */
  public long contentLength() {
    return request.getLength();
  }

  /** The base URL clients should use for links: configured, forwarded, or the request's own. */
  public String baseUrl(String externalUrl) {
    if (externalUrl != null && !externalUrl.isEmpty()) {
      return externalUrl.endsWith("/")
          ? externalUrl.substring(0, externalUrl.length() - 1)
          : externalUrl;
    }
    HttpFields headers = request.getHeaders();
    String proto = firstValue(headers.get("X-Forwarded-Proto"));
    String host = firstValue(headers.get("X-Forwarded-Host"));
    if (proto == null) {
      proto = request.getHttpURI().getScheme();
      if (proto == null) {
        proto = request.isSecure() ? "https" : "http";
      }
    }
    if (host == null) {
      host = headers.get(HttpHeader.HOST);
    }
    if (host == null) {
      host = Request.getServerName(request) + ":" + Request.getServerPort(request);
    }
    return proto + "://" + host;
  }

  private static String firstValue(String header) {
    if (header == null || header.isBlank()) {
      return null;
    }
    int comma = header.indexOf(',');
    return (comma < 0 ? header : header.substring(0, comma)).trim();
  }

  public String remoteAddress() {
    return Request.getRemoteAddr(request);
  }

  /**
   * Streams the request body into a sink.
   *
   * @return bytes read
   */
  public long readBody(BodySink sink) throws IOException {
    long total = 0;
    while (true) {
      Content.Chunk chunk = request.read();
      if (chunk == null) {
        try (Blocker.Runnable blocker = Blocker.runnable()) {
          request.demand(blocker);
          blocker.block();
        }
        continue;
      }
      if (Content.Chunk.isFailure(chunk)) {
        Throwable failure = chunk.getFailure();
        chunk.release();
        if (failure instanceof IOException io) {
          throw io;
        }
        throw new IOException(failure);
      }
      try {
        ByteBuffer buffer = chunk.getByteBuffer();
        int n = buffer.remaining();
        if (n > 0) {
          sink.accept(buffer);
          total += n;
        }
      } finally {
        chunk.release();
      }
      if (chunk.isLast()) {
        return total;
      }
    }
  }

  /** Reads a whole body of at most {@code limit} bytes; larger → the given error. */
  public byte[] readBody(int limit, ErrorCode tooLarge) throws IOException {
    long declared = contentLength();
    if (declared > limit) {
      throw new RegistryException(tooLarge, "body larger than " + limit + " bytes");
    }
    ByteArrayOutputStream out = new ByteArrayOutputStream(declared > 0 ? (int) declared : 1024);
    readBody(bytes -> {
      if (out.size() + bytes.remaining() > limit) {
        throw new RegistryException(tooLarge, "body larger than " + limit + " bytes");
      }
      if (bytes.hasArray()) {
        out.write(bytes.array(), bytes.arrayOffset() + bytes.position(), bytes.remaining());
        bytes.position(bytes.limit());
      } else {
        byte[] copy = new byte[bytes.remaining()];
        bytes.get(copy);
        out.writeBytes(copy);
      }
    });
    return out.toByteArray();
  }

  /** Drains and discards any body, so the connection can be reused after an early answer. */
  public void discardBody() {
    try {
      readBody(bytes -> bytes.position(bytes.limit()));
    } catch (IOException | RuntimeException e) {
      // the client went away or sent garbage; the response is what matters
    }
  }

  public void setHeader(String name, String value) {
    response.getHeaders().put(name, value);
  }

  public void setHeader(HttpHeader name, String value) {
    response.getHeaders().put(name, value);
  }

  public void addHeader(String name, String value) {
    response.getHeaders().add(new HttpField(name, value));
  }

  public void status(int status) {
    response.setStatus(status);
  }

  public int status() {
    return response.getStatus();
  }

  public boolean isCommitted() {
    return response.isCommitted();
  }

  public long bytesSent() {
    return bytesSent;
  }

  /** Sends a complete response with a body (no body is written for HEAD). */
  public void send(int status, String contentType, byte[] body) throws IOException {
    response.setStatus(status);
    if (contentType != null) {
      response.getHeaders().put(HttpHeader.CONTENT_TYPE, contentType);
    }
    response.getHeaders().put(HttpHeader.CONTENT_LENGTH, body.length);
    if (isHead()) {
      write(true, ByteBuffer.allocate(0));
    } else {
      write(true, ByteBuffer.wrap(body));
    }
  }

  /** Sends a response without a body; {@code Content-Length: 0} unless already set. */
  public void sendEmpty(int status) throws IOException {
    response.setStatus(status);
    if (!response.getHeaders().contains(HttpHeader.CONTENT_LENGTH)) {
      response.getHeaders().put(HttpHeader.CONTENT_LENGTH, 0);
    }
    write(true, ByteBuffer.allocate(0));
  }

  /** Writes body bytes, blocking until the buffer has been handed to the network. */
  public void write(boolean last, ByteBuffer bytes) throws IOException {
    int n = bytes.remaining();
    try (Blocker.Callback callback = Blocker.callback()) {
      response.write(last, bytes, callback);
      callback.block();
    } catch (InterruptedIOException e) {
      throw e;
    }
    bytesSent += n;
  }
}
