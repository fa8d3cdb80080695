package dev.berth.admin;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ObjectNode;
import dev.berth.auth.RegistryAccess;
import dev.berth.http.Exchange;
import dev.berth.oci.ErrorCode;
import dev.berth.oci.RegistryException;
import dev.berth.settings.Setting;
import dev.berth.settings.SystemSettings;
import java.io.IOException;
import java.util.LinkedHashMap;
import java.util.Map;

/**
 * The settings a system administrator may change at runtime (Harbor's {@code /configurations}).
 *
 * <pre>
 *   GET /api/v1/system/settings  admin → 200 {"auth.users-create-projects":bool,
 *                                 "audit.retention-days":int,"auth.session-idle-timeout":"30m"}
 *   PUT /api/v1/system/settings  admin, some of those keys → 200 all of them, as GET
 *                                 (400 for an unknown key or a bad value: nothing changes)
 * </pre>
 */
final class SettingsHandler {
  static final String PATH = "/api/v1/system/settings";
  private static final int MAX_BODY = 16 << 10;

  private final SystemSettings settings;
  private final ObjectMapper json;

  SettingsHandler(SystemSettings settings, ObjectMapper json) {
    this.settings = settings;
    this.json = json;
  }

  static boolean serves(String path) {
    return path.equals(PATH);
  }

  void handle(Exchange exchange, RegistryAccess.Caller caller, boolean readOnly)
      throws IOException {
    caller.requireAdmin(exchange);
    switch (exchange.method()) {
      case "GET", "HEAD" -> send(exchange);
      case "PUT" -> {
        byte[] body = exchange.readBody(MAX_BODY, ErrorCode.SIZE_INVALID);
        if (readOnly) {
          throw new RegistryException(ErrorCode.UNSUPPORTED, "the registry is in read-only mode");
        }
        JsonNode request;
        try {
          request = json.readTree(body);
        } catch (IOException e) {
          throw AdminHandler.invalid("body is not JSON: " + e.getMessage());
        }
        if (request == null || !request.isObject()) {
          throw AdminHandler.invalid("body must be a JSON object of settings");
        }
        Map<String, JsonNode> changes = new LinkedHashMap<>();
        request.fields().forEachRemaining(field -> changes.put(field.getKey(), field.getValue()));
        settings.update(changes, caller.actor(exchange));
        send(exchange);
      }
      default -> throw AdminHandler.notAllowed(exchange, "GET, PUT");
    }
  }

  private void send(Exchange exchange) throws IOException {
    ObjectNode body = json.createObjectNode();
    for (Map.Entry<Setting, String> entry : settings.all().entrySet()) {
      String key = entry.getKey().key();
      String value = entry.getValue();
      switch (entry.getKey()) {
        case USERS_CREATE_PROJECTS -> body.put(key, Boolean.parseBoolean(value));
        case AUDIT_RETENTION_DAYS -> body.put(key, Integer.parseInt(value));
        case SESSION_IDLE_TIMEOUT, SESSION_MAX_AGE -> body.put(key, value);
      }
    }
    exchange.send(200, "application/json", json.writeValueAsBytes(body));
  }
}
