package dev.berth.admin;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import dev.berth.auth.AccessController;
import dev.berth.auth.Action;
import dev.berth.auth.Authenticator;
import dev.berth.auth.IdentityService;
import dev.berth.auth.Principal;
import dev.berth.auth.ProjectDao;
import dev.berth.auth.RegistryAccess;
import dev.berth.auth.RobotDao;
import dev.berth.auth.Role;
import dev.berth.auth.UserDao;
import dev.berth.http.Exchange;
import dev.berth.metadata.Database;
import dev.berth.metadata.UsageDao;
import dev.berth.oci.ErrorCode;
import dev.berth.oci.RegistryException;
import dev.berth.oci.RepositoryName;
import java.io.IOException;
import java.net.URLEncoder;
import java.nio.charset.StandardCharsets;
import java.util.List;

/**
 * Users, projects and members in the management API.
 *
 * <pre>
 *   GET  /api/v1/users[?n=&amp;last=]           admin          → {"users":[…]} (Link to the next page)
 *   POST /api/v1/users                         admin          {"username","password","email","admin"} → 201
 *   GET  /api/v1/users/{name}                  admin or self  → user
 *   DELETE /api/v1/users/{name}                admin          → 204 (not "admin")
 *   PUT  /api/v1/users/{name}/password         admin or self  {"password","currentPassword"} → 204
 *   PUT  /api/v1/users/{name}/disabled         admin          {"disabled":bool} → 204
 *   PUT  /api/v1/users/{name}/admin            admin          {"admin":bool} → 204
 *   GET  /api/v1/projects[?n=&amp;last=]        anyone         → the projects the caller may pull from
 *   POST /api/v1/projects                      may create     {"name","public"} → 201
 *   GET  /api/v1/projects/{p}                  pull           → project
 *   PUT  /api/v1/projects/{p}                  project admin  {"public":bool} → 204
 *   DELETE /api/v1/projects/{p}                project admin  → 204 when empty, else 409
 *   GET  /api/v1/projects/{p}/members          read-audit     → {"members":[{"type","name","role"}]}
 *   PUT  /api/v1/projects/{p}/members          manage members {"type","name","role"} → 204
 *   DELETE /api/v1/projects/{p}/members/{type}/{name}  manage members → 204
 *   GET  /api/v1/robots                        admin          → {"robots":[…]}
 *   GET  /api/v1/projects/{p}/robots           manage robots  → the project's robots
 *   POST /api/v1/robots                        admin, or manage robots in "project"
 *        {"name","project","permissions":{"<project>":["pull","push"]},"expiresInDays","description"}
 *        → 201 with "secret", shown this once
 *   POST /api/v1/robots/{name}/secret          (same)         → 200 {"secret"}: the old one stops
 *   PUT  /api/v1/robots/{name}/disabled        (same)         {"disabled":bool} → 204
 *   DELETE /api/v1/robots/{name}               (same)         → 204
 * </pre>
 */
final class IdentityHandler {
  static final String USERS = "/api/v1/users";
  static final String PROJECTS = "/api/v1/projects";
  static final String ROBOTS = "/api/v1/robots";
  private static final int MAX_BODY = 16 << 10;

  private final IdentityService identities;
  private final AccessController access;
  private final Database database;
  private final UsageDao usage;
  private final ObjectMapper json;

  IdentityHandler(
      IdentityService identities,
      AccessController access,
      Database database,
      UsageDao usage,
      ObjectMapper json) {
    this.identities = identities;
    this.access = access;
    this.database = database;
    this.usage = usage;
    this.json = json;
  }

  void handle(Exchange exchange, String path, RegistryAccess.Caller caller) throws IOException {
    String method = exchange.method();
    if (path.equals(ROBOTS) || path.startsWith(ROBOTS + "/")) {
      robots(exchange, path, caller);
      return;
    }
    if (path.equals(USERS)) {
      caller.requireAdmin(exchange);
      switch (method) {
        case "GET", "HEAD" -> listUsers(exchange);
        case "POST" -> {
          JsonNode body = body(exchange);
          UserDao.UserRow created = identities.createUser(
              text(body, "username", true),
              text(body, "password", true),
              text(body, "email", false),
              flag(body, "admin", false),
              caller.actor(exchange));
          exchange.setHeader("Location", USERS + "/" + created.username());
          send(exchange, 201, user(created));
        }
        default -> throw AdminHandler.notAllowed(exchange, "GET, POST");
      }
      return;
    }
    if (path.startsWith(USERS + "/")) {
      String[] parts = path.substring(USERS.length() + 1).split("/", -1);
      String name = parts[0];
      boolean self =
          caller.principal().name().equals(name) && caller.principal() instanceof Principal.User;
      if (parts.length == 1) {
        switch (method) {
          case "GET", "HEAD" -> {
            if (!self) {
              caller.requireAdmin(exchange);
            }
            send(exchange, 200, user(identities.user(name).orElseThrow(() -> noUser(name))));
          }
          case "DELETE" -> {
            caller.requireAdmin(exchange);
            identities.deleteUser(name, caller.actor(exchange));
            exchange.sendEmpty(204);
          }
          default -> throw AdminHandler.notAllowed(exchange, "GET, DELETE");
        }
        return;
      }
      if (parts.length == 2 && method.equals("PUT")) {
        JsonNode body = body(exchange);
        switch (parts[1]) {
          case "password" -> {
            boolean admin = AccessController.isAdmin(caller.principal()) || !caller.enabled();
            if (!self && !admin) {
              caller.requireAdmin(exchange);
            }
            identities.changePassword(
                name,
                text(body, "currentPassword", false),
                text(body, "password", true),
                !self,
                caller.actor(exchange));
          }
          case "disabled" -> {
            caller.requireAdmin(exchange);
            identities.setDisabled(name, flag(body, "disabled", true), caller.actor(exchange));
          }
          case "admin" -> {
            caller.requireAdmin(exchange);
            identities.setAdmin(name, flag(body, "admin", true), caller.actor(exchange));
          }
          default -> throw noRoute(exchange);
        }
        exchange.sendEmpty(204);
        return;
      }
      throw noRoute(exchange);
    }
    if (path.equals(PROJECTS)) {
      switch (method) {
        case "GET", "HEAD" -> listProjects(exchange, caller);
        case "POST" -> {
          JsonNode body = body(exchange);
          if (caller.enabled()) {
            if (caller.anonymous()) {
              caller.requireAuthenticated(exchange);
            }
            if (!access.mayCreateProjects(caller.principal())) {
              throw new RegistryException(
                  ErrorCode.DENIED, "only administrators may create projects here");
            }
          }
          ProjectDao.ProjectRow created = identities.createProject(
              text(body, "name", true),
              flag(body, "public", false),
              caller.principal(),
              caller.actor(exchange));
          exchange.setHeader("Location", PROJECTS + "/" + created.name());
          send(exchange, 201, project(created));
        }
        default -> throw AdminHandler.notAllowed(exchange, "GET, POST");
      }
      return;
    }
    String[] parts = path.substring(PROJECTS.length() + 1).split("/", -1);
    String project = RepositoryName.project(parts[0]);
    if (parts.length == 1) {
      switch (method) {
        case "GET", "HEAD" -> {
          caller.requireInProject(exchange, project, Action.PULL);
          send(
              exchange,
              200,
              project(identities
                  .project(project)
                  .orElseThrow(() -> new RegistryException(
                      ErrorCode.NOT_FOUND, "project not found: " + project))));
        }
        case "PUT" -> {
          caller.requireInProject(exchange, project, Action.MANAGE_MEMBERS);
          identities.setPublic(
              project, flag(body(exchange), "public", true), caller.actor(exchange));
          exchange.sendEmpty(204);
        }
        case "DELETE" -> {
          caller.requireInProject(exchange, project, Action.MANAGE_MEMBERS);
          identities.deleteProject(
              project,
              database.read(c -> usage.project(c, project)).repositories() > 0,
              caller.actor(exchange));
          exchange.sendEmpty(204);
        }
        default -> throw AdminHandler.notAllowed(exchange, "GET, PUT, DELETE");
      }
      return;
    }
    if (parts.length == 2 && parts[1].equals("robots")) {
      if (!method.equals("GET") && !method.equals("HEAD")) {
        throw AdminHandler.notAllowed(exchange, "GET");
      }
      caller.requireInProject(exchange, project, Action.MANAGE_ROBOTS);
      sendRobots(exchange, identities.robots(project));
      return;
    }
    if (parts[1].equals("members")) {
      if (parts.length == 2) {
        switch (method) {
          case "GET", "HEAD" -> {
            caller.requireInProject(exchange, project, Action.READ_AUDIT);
            ObjectNode root = json.createObjectNode();
            ArrayNode array = root.putArray("members");
            for (ProjectDao.Member member : identities.members(project)) {
              ObjectNode node = array.addObject();
              node.put("type", member.type());
              node.put("name", member.name());
              node.put("role", member.role().value());
            }
            send(exchange, 200, root);
          }
          case "PUT" -> {
            caller.requireInProject(exchange, project, Action.MANAGE_MEMBERS);
            JsonNode body = body(exchange);
            String type = text(body, "type", false);
            identities.putMember(
                project,
                new ProjectDao.Member(
                    type == null ? ProjectDao.Member.USER : type,
                    text(body, "name", true),
                    Role.parse(text(body, "role", true))),
                caller.actor(exchange));
            exchange.sendEmpty(204);
          }
          default -> throw AdminHandler.notAllowed(exchange, "GET, PUT");
        }
        return;
      }
      if (parts.length == 4 && method.equals("DELETE")) {
        caller.requireInProject(exchange, project, Action.MANAGE_MEMBERS);
        identities.removeMember(project, parts[2], parts[3], caller.actor(exchange));
        exchange.sendEmpty(204);
        return;
      }
    }
    throw noRoute(exchange);
  }

  private void robots(Exchange exchange, String path, RegistryAccess.Caller caller)
      throws IOException {
    String method = exchange.method();
    if (path.equals(ROBOTS)) {
      switch (method) {
        case "GET", "HEAD" -> {
          caller.requireAdmin(exchange);
          sendRobots(exchange, identities.robots(null));
        }
        case "POST" -> {
          JsonNode body = body(exchange);
          String project = text(body, "project", false);
          if (project == null) {
            caller.requireAdmin(exchange);
          } else {
            project = RepositoryName.project(project);
            caller.requireInProject(exchange, project, Action.MANAGE_ROBOTS);
          }
          JsonNode permissions = body.get("permissions");
          if (permissions == null || !permissions.isObject()) {
            throw AdminHandler.invalid(
                "'permissions' is required: {\"<project>\": [\"pull\", \"push\"]}");
          }
          java.util.Map<String, List<String>> map = new java.util.LinkedHashMap<>();
          for (java.util.Iterator<java.util.Map.Entry<String, JsonNode>> it = permissions.fields();
              it.hasNext(); ) {
            java.util.Map.Entry<String, JsonNode> entry = it.next();
            if (!entry.getValue().isArray()) {
              throw AdminHandler.invalid("permissions of '" + entry.getKey() + "' must be a list");
            }
            List<String> actions = new java.util.ArrayList<>();
            entry.getValue().forEach(action -> actions.add(action.asText()));
            map.put(entry.getKey(), actions);
          }
          JsonNode days = body.get("expiresInDays");
          if (days != null && !days.isNull() && !days.isInt()) {
            throw AdminHandler.invalid("'expiresInDays' must be a whole number");
          }
          IdentityService.RobotSecret created = identities.createRobot(
              text(body, "name", true),
              project,
              map,
              days == null || days.isNull() ? null : days.intValue(),
              text(body, "description", false),
              caller.actor(exchange));
          ObjectNode node = robot(created.robot());
          node.put("secret", created.secret());
          exchange.setHeader("Location", ROBOTS + "/" + created.robot().name());
          send(exchange, 201, node);
        }
        default -> throw AdminHandler.notAllowed(exchange, "GET, POST");
      }
      return;
    }
    String[] parts = path.substring(ROBOTS.length() + 1).split("/", -1);
    java.util.Optional<RobotDao.RobotRow> found = identities.robot(parts[0]);
    // Authorized before "not found", from the project its name gives when there is no such
    // robot, so that the answer tells no one without the permission whether it exists.
    String project = found.map(identities::projectOf).orElseGet(() -> projectInName(parts[0]));
    if (project == null) {
      caller.requireAdmin(exchange);
    } else {
      caller.requireInProject(exchange, project, Action.MANAGE_ROBOTS);
    }
    RobotDao.RobotRow robot = found.orElseThrow(
        () -> new RegistryException(ErrorCode.NOT_FOUND, "no robot '" + parts[0] + "'"));
    if (parts.length == 1) {
      switch (method) {
        case "GET", "HEAD" -> send(exchange, 200, robot(robot));
        case "DELETE" -> {
          identities.deleteRobot(robot.name(), caller.actor(exchange));
          exchange.sendEmpty(204);
        }
        default -> throw AdminHandler.notAllowed(exchange, "GET, DELETE");
      }
      return;
    }
    if (parts.length == 2 && parts[1].equals("secret") && method.equals("POST")) {
      ObjectNode node = json.createObjectNode();
      node.put("name", robot.name());
      node.put(
          "secret",
          identities.rotateSecret(robot.name(), caller.actor(exchange)).secret());
      send(exchange, 200, node);
      return;
    }
    if (parts.length == 2 && parts[1].equals("disabled") && method.equals("PUT")) {
      identities.setRobotDisabled(
          robot.name(), flag(body(exchange), "disabled", true), caller.actor(exchange));
      exchange.sendEmpty(204);
      return;
    }
    throw noRoute(exchange);
  }

  /** The project of a project robot's name ({@code robot$<project>+<name>}), else null. */
  private static String projectInName(String name) {
    int plus = name.indexOf('+');
    if (!name.startsWith(Authenticator.ROBOT_PREFIX) || plus < 0) {
      return null;
    }
    try {
      return RepositoryName.project(name.substring(Authenticator.ROBOT_PREFIX.length(), plus));
    } catch (RegistryException e) {
      return null;
    }
  }

  private void sendRobots(Exchange exchange, List<RobotDao.RobotRow> rows) throws IOException {
    ObjectNode root = json.createObjectNode();
    ArrayNode array = root.putArray("robots");
    rows.forEach(row -> array.add(robot(row)));
    send(exchange, 200, root);
  }

  private ObjectNode robot(RobotDao.RobotRow row) {
    ObjectNode node = json.createObjectNode();
    node.put("name", row.name());
    String project = identities.projectOf(row);
    if (project != null) {
      node.put("project", project);
    }
    try {
      node.set("permissions", json.readTree(row.permissions()));
    } catch (IOException e) {
      node.put("permissions", row.permissions());
    }
    if (row.description() != null) {
      node.put("description", row.description());
    }
    if (row.expiresAt() != null) {
      node.put("expiresAt", java.time.Instant.ofEpochMilli(row.expiresAt()).toString());
    }
    node.put("disabled", row.disabled());
    node.put("createdAt", java.time.Instant.ofEpochMilli(row.createdAt()).toString());
    return node;
  }

  private void listUsers(Exchange exchange) throws IOException {
    int n = AdminHandler.pageSize(exchange);
    String last = exchange.query("last");
    List<UserDao.UserRow> rows = identities.users(last, n + 1);
    ObjectNode root = json.createObjectNode();
    ArrayNode array = root.putArray("users");
    rows.stream().limit(n).forEach(row -> array.add(user(row)));
    if (rows.size() > n) {
      exchange.setHeader(
          "Link",
          "<" + USERS + "?last=" + encode(rows.get(n - 1).username()) + "&n=" + n
              + ">; rel=\"next\"");
    }
    send(exchange, 200, root);
  }

  private void listProjects(Exchange exchange, RegistryAccess.Caller caller) throws IOException {
    int n = AdminHandler.pageSize(exchange);
    String after = exchange.query("last");
    ObjectNode root = json.createObjectNode();
    ArrayNode array = root.putArray("projects");
    String next = null;
    int found = 0;
    while (next == null) {
      List<ProjectDao.ProjectRow> rows = identities.projects(after, 500);
      for (ProjectDao.ProjectRow row : rows) {
        if (caller.mayList(row.name())) {
          if (found == n) {
            next = array.get(array.size() - 1).path("name").asText();
            break;
          }
          array.add(project(row));
          found++;
        }
      }
      if (rows.size() < 500) {
        break;
      }
      after = rows.getLast().name();
    }
    if (next != null) {
      exchange.setHeader(
          "Link", "<" + PROJECTS + "?last=" + encode(next) + "&n=" + n + ">; rel=\"next\"");
    }
    send(exchange, 200, root);
  }

  private ObjectNode user(UserDao.UserRow row) {
    ObjectNode node = json.createObjectNode();
    node.put("username", row.username());
    if (row.email() != null) {
      node.put("email", row.email());
    }
    node.put("admin", row.admin());
    node.put("disabled", row.disabled());
    node.put("source", row.source());
    return node;
  }

  private ObjectNode project(ProjectDao.ProjectRow row) {
    ObjectNode node = json.createObjectNode();
    node.put("name", row.name());
    node.put("public", row.isPublic());
    return node;
  }

  private JsonNode body(Exchange exchange) throws IOException {
    byte[] bytes = exchange.readBody(MAX_BODY, ErrorCode.SIZE_INVALID);
    JsonNode node;
    try {
      node = json.readTree(bytes);
    } catch (IOException e) {
      throw AdminHandler.invalid("body is not JSON: " + e.getMessage());
    }
    if (node == null || !node.isObject()) {
      throw AdminHandler.invalid("body must be a JSON object");
    }
    return node;
  }

  private static String text(JsonNode body, String name, boolean required) {
    JsonNode value = body.get(name);
    if (value == null || value.isNull()) {
      if (required) {
        throw AdminHandler.invalid("'" + name + "' is required");
      }
      return null;
    }
    if (!value.isTextual()) {
      throw AdminHandler.invalid("'" + name + "' must be a string");
    }
    return value.textValue();
  }

  private static boolean flag(JsonNode body, String name, boolean required) {
    JsonNode value = body.get(name);
    if (value == null || value.isNull()) {
      if (required) {
        throw AdminHandler.invalid("'" + name + "' is required and must be true or false");
      }
      return false;
    }
    if (!value.isBoolean()) {
      throw AdminHandler.invalid("'" + name + "' must be true or false");
    }
    return value.booleanValue();
  }

  private static RegistryException noUser(String name) {
    return new RegistryException(
        ErrorCode.NOT_FOUND,
        "no user '" + (name.length() > 100 ? name.substring(0, 100) : name) + "'");
  }

  private static RegistryException noRoute(Exchange exchange) {
    return new RegistryException(ErrorCode.NOT_FOUND, "no route for " + exchange.path());
  }

  private void send(Exchange exchange, int status, JsonNode body) throws IOException {
    exchange.send(status, "application/json", json.writeValueAsBytes(body));
  }

  private static String encode(String value) {
    return URLEncoder.encode(value, StandardCharsets.UTF_8);
  }
}
