package dev.berth.http;

import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import dev.berth.oci.ErrorCode;
import dev.berth.oci.RegistryException;
import java.io.IOException;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/** The one place an exception becomes an HTTP response: the spec's JSON error body. */
public final class ErrorResponses {
  private static final Logger log = LoggerFactory.getLogger(ErrorResponses.class);
  private final ObjectMapper json;

  public ErrorResponses(ObjectMapper json) {
    this.json = json;
  }

  /** Answers with the error a throwable stands for; never throws. */
  public void send(Exchange exchange, Throwable failure) {
    RegistryException error = toRegistryException(exchange, failure);
    if (exchange.isCommitted()) {
      log.debug("error after the response was committed: {}", error.getMessage());
      return;
    }
    try {
      exchange.send(
          error.code().status(), "application/json; charset=utf-8", body(error));
    } catch (IOException | RuntimeException e) {
      log.debug("could not send an error response: {}", e.toString());
    }
  }

  public byte[] body(RegistryException error) {
    ObjectNode root = json.createObjectNode();
    ArrayNode errors = root.putArray("errors");
    ObjectNode entry = errors.addObject();
    entry.put("code", error.code().code());
    entry.put("message", error.getMessage());
    if (error.detail() != null) {
      entry.set("detail", json.valueToTree(error.detail()));
    }
    try {
      return json.writeValueAsBytes(root);
    } catch (IOException e) {
      throw new IllegalStateException(e);
    }
  }

  private static RegistryException toRegistryException(Exchange exchange, Throwable failure) {
    if (failure instanceof RegistryException registry) {
      return registry;
    }
    if (failure instanceof IOException io && isClientGone(io)) {
      return new RegistryException(ErrorCode.BLOB_UPLOAD_INVALID, "request body: " + io.getMessage());
    }
    log.error("{} {} failed", exchange.method(), exchange.path(), failure);
    return new RegistryException(ErrorCode.INTERNAL, "internal error", null, failure);
  }

  private static boolean isClientGone(IOException e) {
    String name = e.getClass().getName();
    return name.contains("EofException") || name.contains("BadMessage") || e instanceof java.io.EOFException;
  }
}
