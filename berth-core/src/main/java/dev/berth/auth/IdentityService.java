package dev.berth.auth;

import com.fasterxml.jackson.databind.ObjectMapper;
import dev.berth.audit.AuditAction;
import dev.berth.audit.AuditActor;
import dev.berth.audit.AuditLog;
import dev.berth.audit.AuditOutcome;
import dev.berth.metadata.Database;
import dev.berth.oci.ErrorCode;
import dev.berth.oci.RegistryException;
import dev.berth.oci.RepositoryName;
import java.security.SecureRandom;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.regex.Pattern;

/**
 * Users, projects and members: the rules behind the management API. Who may call what is
 * decided by the handler (system administrator, or a project permission); this class keeps the
 * data valid: name and password rules, the break-glass {@code admin} account, projects deleted
 * only when empty.
 */
public final class IdentityService {
  private static final Pattern USERNAME = Pattern.compile("[a-z0-9][a-z0-9._-]{0,62}");
  private static final int MIN_PASSWORD = 8;
  private static final int MAX_PASSWORD = 128;

  private static final String SECRET_ALPHABET =
      "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789";

  private final Database database;
  private final UserDao users;
  private final ProjectDao projects;
  private final RobotDao robots;
  private final PasswordHasher hasher;
  private final ObjectMapper json;
  private final SecureRandom random = new SecureRandom();
  private final AuditLog audit;

  public IdentityService(
      Database database,
      UserDao users,
      ProjectDao projects,
      RobotDao robots,
      PasswordHasher hasher,
      ObjectMapper json,
      AuditLog audit) {
    this.audit = audit;
    this.database = database;
    this.users = users;
    this.projects = projects;
    this.robots = robots;
    this.hasher = hasher;
    this.json = json;
  }

  // ---- users ----

  public UserDao.UserRow createUser(
      String username, String password, String email, boolean admin, AuditActor actor) {
    if (username == null || !USERNAME.matcher(username).matches()) {
      throw invalid("username must be 1-63 of a-z 0-9 . _ - starting with a letter or digit");
    }
    checkPassword(password);
    String hash = hasher.hash(password);
    return database.write(c -> {
      if (users.find(c, username).isPresent()) {
        throw new RegistryException(
            ErrorCode.CONFLICT, "user '" + username + "' exists already", Map.of("user", username));
      }
      long id = users.insert(c, username, hash, email, admin, "database");
      audit.record(
          c,
          actor.event(
              AuditAction.USER_CREATE,
              AuditOutcome.SUCCESS,
              Map.of("user", username, "admin", Boolean.toString(admin))));
      return users.find(c, id).orElseThrow();
    });
  }

  public Optional<UserDao.UserRow> user(String username) {
    return database.read(c -> users.find(c, username));
  }

  public List<UserDao.UserRow> users(String last, int limit) {
    return database.read(c -> users.list(c, last, limit));
  }

  /**
   * Changes a password. The user itself must give the current one; an administrator resetting
   * another user's password need not.
   */
  public void changePassword(
      String username, String current, String password, boolean reset, AuditActor actor) {
    checkPassword(password);
    UserDao.UserRow user = existing(username);
    if (!user.source().equals(IdentityProvider.DATABASE.value())) {
      throw invalid(
          "'" + username + "' logs in with " + user.source() + "; its password is not kept here");
    }
    if (!reset && (current == null || !hasher.verify(current, user.passwordHash()))) {
      throw new RegistryException(ErrorCode.DENIED, "the current password is wrong");
    }
    String hash = hasher.hash(password);
    database.write(c -> {
      users.setPassword(c, user.id(), hash);
      record(c, actor, AuditAction.USER_UPDATE, Map.of("user", username, "change", "password"));
      return null;
    });
  }

  public void setDisabled(String username, boolean disabled, AuditActor actor) {
    UserDao.UserRow user = existing(username);
    if (disabled && user.username().equals(IdentityBootstrap.ADMIN)) {
      throw new RegistryException(
          ErrorCode.DENIED, "the break-glass account 'admin' cannot be disabled");
    }
    database.write(c -> {
      users.setDisabled(c, user.id(), disabled);
      record(
          c,
          actor,
          AuditAction.USER_UPDATE,
          Map.of("user", username, "disabled", Boolean.toString(disabled)));
      return null;
    });
  }

  public void setAdmin(String username, boolean admin, AuditActor actor) {
    UserDao.UserRow user = existing(username);
    if (!admin && user.username().equals(IdentityBootstrap.ADMIN)) {
      throw new RegistryException(
          ErrorCode.DENIED, "the break-glass account 'admin' stays an administrator");
    }
    database.write(c -> {
      users.setAdmin(c, user.id(), admin);
      record(
          c,
          actor,
          AuditAction.USER_UPDATE,
          Map.of("user", username, "admin", Boolean.toString(admin)));
      return null;
    });
  }

  public void deleteUser(String username, AuditActor actor) {
    UserDao.UserRow user = existing(username);
    if (user.username().equals(IdentityBootstrap.ADMIN)) {
      throw new RegistryException(
          ErrorCode.DENIED, "the break-glass account 'admin' cannot be deleted");
    }
    database.write(c -> {
      users.delete(c, user.id());
      record(c, actor, AuditAction.USER_DELETE, Map.of("user", username));
      return null;
    });
  }

  private UserDao.UserRow existing(String username) {
    return user(username)
        .orElseThrow(() ->
            new RegistryException(ErrorCode.NOT_FOUND, "no user '" + shorten(username) + "'"));
  }

  private static void checkPassword(String password) {
    if (password == null || password.length() < MIN_PASSWORD || password.length() > MAX_PASSWORD) {
      throw invalid("a password has " + MIN_PASSWORD + " to " + MAX_PASSWORD + " characters");
    }
  }

  // ---- projects ----

  /** Creates a project; its creator (unless an administrator) becomes its Project Admin. */
  public ProjectDao.ProjectRow createProject(
      String name, boolean isPublic, Principal creator, AuditActor actor) {
    String project = RepositoryName.project(name);
    return database.write(c -> {
      if (projects.find(c, project).isPresent()) {
        throw new RegistryException(
            ErrorCode.CONFLICT,
            "project '" + project + "' exists already",
            Map.of("project", project));
      }
      long id = projects.getOrCreate(c, project, isPublic);
      if (creator instanceof Principal.User user && !user.admin()) {
        projects.putMember(
            c, id, new ProjectDao.Member(ProjectDao.Member.USER, user.name(), Role.PROJECT_ADMIN));
      }
      audit.record(
          c,
          actor
              .event(AuditAction.PROJECT_CREATE, AuditOutcome.SUCCESS)
              .withResource(project, "", "", "")
              .withDetail(Map.of("public", Boolean.toString(isPublic))));
      return projects.find(c, project).orElseThrow();
    });
  }

  public Optional<ProjectDao.ProjectRow> project(String name) {
    return database.read(c -> projects.find(c, name));
  }

  public List<ProjectDao.ProjectRow> projects(String last, int limit) {
    return database.read(c -> projects.list(c, last, limit));
  }

  public void setPublic(String project, boolean isPublic, AuditActor actor) {
    boolean changed = database.write(c -> {
      if (!projects.setPublic(c, project, isPublic)) {
        return false;
      }
      audit.record(
          c,
          actor
              .event(AuditAction.PROJECT_UPDATE, AuditOutcome.SUCCESS)
              .withResource(project, "", "", "")
              .withDetail(Map.of("public", Boolean.toString(isPublic))));
      return true;
    });
    if (!changed) {
      throw projectUnknown(project);
    }
  }

  /** Deletes a project that holds no repository. */
  public void deleteProject(String project, boolean hasRepositories, AuditActor actor) {
    if (hasRepositories) {
      throw new RegistryException(
          ErrorCode.CONFLICT,
          "project '" + project + "' still holds repositories; delete them first",
          Map.of("project", project));
    }
    boolean deleted = database.write(c -> {
      if (!projects.delete(c, project)) {
        return false;
      }
      audit.record(
          c,
          actor
              .event(AuditAction.PROJECT_DELETE, AuditOutcome.SUCCESS)
              .withResource(project, "", "", ""));
      return true;
    });
    if (!deleted) {
      throw projectUnknown(project);
    }
  }

  public List<ProjectDao.Member> members(String project) {
    return database.read(c -> projects.members(
        c, projects.find(c, project).orElseThrow(() -> projectUnknown(project)).id()));
  }

  public void putMember(String project, ProjectDao.Member member, AuditActor actor) {
    if (!member.type().equals(ProjectDao.Member.USER)
        && !member.type().equals(ProjectDao.Member.GROUP)) {
      throw invalid("a member's type is user or group");
    }
    if (member.name() == null || member.name().isBlank() || member.name().length() > 255) {
      throw invalid("a member's name has 1 to 255 characters");
    }
    database.write(c -> {
      long id =
          projects.find(c, project).orElseThrow(() -> projectUnknown(project)).id();
      if (member.type().equals(ProjectDao.Member.USER)
          && users.find(c, member.name()).isEmpty()) {
        throw new RegistryException(
            ErrorCode.NOT_FOUND, "no user '" + shorten(member.name()) + "'");
      }
      projects.putMember(c, id, member);
      audit.record(
          c,
          actor
              .event(AuditAction.MEMBER_UPDATE, AuditOutcome.SUCCESS)
              .withResource(project, "", "", "")
              .withDetail(Map.of(
                  "member",
                  member.type() + ":" + member.name(),
                  "role",
                  member.role().value())));
      return null;
    });
  }

  public void removeMember(String project, String type, String name, AuditActor actor) {
    boolean removed = database.write(c -> {
      boolean gone = projects.removeMember(
          c,
          projects.find(c, project).orElseThrow(() -> projectUnknown(project)).id(),
          type,
          name);
      if (gone) {
        audit.record(
            c,
            actor
                .event(AuditAction.MEMBER_REMOVE, AuditOutcome.SUCCESS)
                .withResource(project, "", "", "")
                .withDetail(Map.of("member", type + ":" + name)));
      }
      return gone;
    });
    if (!removed) {
      throw new RegistryException(
          ErrorCode.NOT_FOUND, "no member " + type + " '" + shorten(name) + "' in " + project);
    }
  }

  // ---- robot accounts ----

  /** A robot just created or given a new secret: the secret is shown this once. */
  public record RobotSecret(RobotDao.RobotRow robot, String secret) {}

  /**
   * Creates a robot account: {@code robot$<name>} at system level (project null; permissions
   * for any projects, {@code *} for all), or {@code robot$<project>+<name>} in one project
   * (permissions for that project only). Actions: pull, push, delete, delete-tag, read-audit,
   * scan.
   */
  public RobotSecret createRobot(
      String name,
      String project,
      Map<String, List<String>> permissions,
      Integer expiresInDays,
      String description,
      AuditActor actor) {
    if (name == null || !USERNAME.matcher(name).matches()) {
      throw invalid("a robot's name has 1-63 of a-z 0-9 . _ - starting with a letter or digit");
    }
    if (permissions == null || permissions.isEmpty()) {
      throw invalid("a robot needs permissions: {\"<project>\": [\"pull\", …]}");
    }
    if (expiresInDays != null && (expiresInDays < 1 || expiresInDays > 3650)) {
      throw invalid("expiresInDays is 1 to 3650 (omit it for no expiry)");
    }
    if (description != null && description.length() > 1024) {
      throw invalid("a description has at most 1024 characters");
    }
    Map<String, List<String>> checked = new java.util.TreeMap<>();
    for (Map.Entry<String, List<String>> entry : permissions.entrySet()) {
      String scope = entry.getKey();
      if (project != null && !scope.equals(project)) {
        throw invalid("a project robot's permissions are for its project '" + project + "' only");
      }
      if (!scope.equals("*")) {
        RepositoryName.project(scope);
      }
      List<String> actions = new java.util.ArrayList<>();
      for (String action : entry.getValue()) {
        Action parsed = Action.parse(action)
            .filter(a -> ROBOT_ACTIONS.contains(a))
            .orElseThrow(() -> invalid("unknown robot permission '" + shorten(action)
                + "'; one of pull, push, delete, delete-tag, read-audit, scan"));
        actions.add(parsed.value());
      }
      checked.put(scope, actions);
    }
    String fullName = Authenticator.ROBOT_PREFIX + (project == null ? "" : project + "+") + name;
    String secret = secret();
    String hash = hasher.hash(secret);
    String permissionJson;
    try {
      permissionJson = json.writeValueAsString(checked);
    } catch (com.fasterxml.jackson.core.JsonProcessingException e) {
      throw new IllegalStateException(e);
    }
    Long expiresAt = expiresInDays == null
        ? null
        : System.currentTimeMillis() + java.time.Duration.ofDays(expiresInDays).toMillis();
    RobotDao.RobotRow row = database.write(c -> {
      Long projectId = null;
      if (project != null) {
        projectId =
            projects.find(c, project).orElseThrow(() -> projectUnknown(project)).id();
      }
      if (robots.find(c, fullName).isPresent()) {
        throw new RegistryException(
            ErrorCode.CONFLICT,
            "robot '" + fullName + "' exists already",
            Map.of("robot", fullName));
      }
      robots.insert(c, fullName, projectId, hash, permissionJson, description, expiresAt);
      audit.record(
          c,
          actor
              .event(AuditAction.ROBOT_CREATE, AuditOutcome.SUCCESS)
              .withResource(project == null ? "" : project, "", "", "")
              .withDetail(Map.of("robot", fullName, "permissions", permissionJson)));
      return robots.find(c, fullName).orElseThrow();
    });
    return new RobotSecret(row, secret);
  }

  private static final java.util.Set<Action> ROBOT_ACTIONS = java.util.EnumSet.of(
      Action.PULL,
      Action.PUSH,
      Action.DELETE_ARTIFACT,
      Action.DELETE_TAG,
      Action.READ_AUDIT,
      Action.SCAN);

  public Optional<RobotDao.RobotRow> robot(String name) {
    return database.read(c -> robots.find(c, name));
  }

  /** Every robot (project null) or a project's robots. */
  public List<RobotDao.RobotRow> robots(String project) {
    return database.read(c -> robots.list(
        c,
        project == null
            ? null
            : projects
                .find(c, project)
                .orElseThrow(() -> projectUnknown(project))
                .id()));
  }

  /** A new secret, shown once; the old one stops working at once. */
  public RobotSecret rotateSecret(String name, AuditActor actor) {
    String secret = secret();
    String hash = hasher.hash(secret);
    boolean rotated = database.write(c -> {
      if (!robots.setSecret(c, name, hash)) {
        return false;
      }
      record(c, actor, AuditAction.ROBOT_UPDATE, Map.of("robot", name, "change", "secret"));
      return true;
    });
    if (!rotated) {
      throw robotUnknown(name);
    }
    return new RobotSecret(robot(name).orElseThrow(), secret);
  }

  public void setRobotDisabled(String name, boolean disabled, AuditActor actor) {
    boolean changed = database.write(c -> {
      if (!robots.setDisabled(c, name, disabled)) {
        return false;
      }
      record(
          c,
          actor,
          AuditAction.ROBOT_UPDATE,
          Map.of("robot", name, "disabled", Boolean.toString(disabled)));
      return true;
    });
    if (!changed) {
      throw robotUnknown(name);
    }
  }

  public void deleteRobot(String name, AuditActor actor) {
    boolean deleted = database.write(c -> {
      if (!robots.delete(c, name)) {
        return false;
      }
      record(c, actor, AuditAction.ROBOT_DELETE, Map.of("robot", name));
      return true;
    });
    if (!deleted) {
      throw robotUnknown(name);
    }
  }

  private void record(
      java.sql.Connection c, AuditActor actor, AuditAction action, Map<String, String> detail)
      throws java.sql.SQLException {
    audit.record(c, actor.event(action, AuditOutcome.SUCCESS, detail));
  }

  /** The project a robot belongs to, or null for a system-level robot. */
  public String projectOf(RobotDao.RobotRow robot) {
    if (robot.projectId() == null) {
      return null;
    }
    String rest = robot.name().substring(Authenticator.ROBOT_PREFIX.length());
    return rest.substring(0, rest.indexOf('+'));
  }

  private String secret() {
    StringBuilder secret = new StringBuilder(32);
    for (int i = 0; i < 32; i++) {
      secret.append(SECRET_ALPHABET.charAt(random.nextInt(SECRET_ALPHABET.length())));
    }
    return secret.toString();
  }

  private static RegistryException robotUnknown(String name) {
    return new RegistryException(ErrorCode.NOT_FOUND, "no robot '" + shorten(name) + "'");
  }

  static RegistryException projectUnknown(String project) {
    return new RegistryException(
        ErrorCode.NOT_FOUND,
        "project not found: " + shorten(project),
        Map.of("project", shorten(project)));
  }

  private static RegistryException invalid(String message) {
    return new RegistryException(ErrorCode.INVALID_REQUEST, message);
  }

  private static String shorten(String value) {
    return value == null ? "" : value.length() > 100 ? value.substring(0, 100) + "…" : value;
  }
}
