package dev.berth.settings;

import com.fasterxml.jackson.databind.JsonNode;
import dev.berth.audit.AuditAction;
import dev.berth.audit.AuditActor;
import dev.berth.audit.AuditLog;
import dev.berth.audit.AuditOutcome;
import dev.berth.config.ConfigLoader;
import dev.berth.metadata.Database;
import dev.berth.oci.ErrorCode;
import dev.berth.oci.RegistryException;
import java.sql.Connection;
import java.sql.SQLException;
import java.time.Clock;
import java.time.Duration;
import java.util.EnumMap;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Objects;
import java.util.Optional;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.function.Consumer;

/**
 * The settings an administrator may change at runtime ({@link Setting}): the configured value
 * (file, environment) unless the {@code settings} table holds one, which then counts on every
 * node. Values are read from the database at each use, never cached, so a change counts on every
 * node of a cluster the moment it commits (the same reason {@code AccessController} reads roles
 * on every decision). A change and its audit records are one transaction.
 */
public final class SystemSettings {
  /** The configured values, used while the database holds none. */
  public record Defaults(
      boolean usersCreateProjects,
      int auditRetentionDays,
      Duration sessionIdleTimeout,
      Duration sessionMaxAge) {
    public Defaults {
      Objects.requireNonNull(sessionIdleTimeout, "sessionIdleTimeout");
      Objects.requireNonNull(sessionMaxAge, "sessionMaxAge");
    }
  }

  private final Database database;
  private final AuditLog audit;
  private final Map<Setting, String> defaults = new EnumMap<>(Setting.class);
  private final Clock clock;
  private final SettingsDao dao = new SettingsDao();
  private final List<Consumer<Setting>> listeners = new CopyOnWriteArrayList<>();

  public SystemSettings(Database database, AuditLog audit, Defaults defaults, Clock clock) {
    this.database = Objects.requireNonNull(database, "database");
    this.audit = audit;
    this.clock = Objects.requireNonNull(clock, "clock");
    this.defaults.put(
        Setting.USERS_CREATE_PROJECTS, Boolean.toString(defaults.usersCreateProjects()));
    this.defaults.put(
        Setting.AUDIT_RETENTION_DAYS, Integer.toString(defaults.auditRetentionDays()));
    this.defaults.put(
        Setting.SESSION_IDLE_TIMEOUT, ConfigLoader.formatDuration(defaults.sessionIdleTimeout()));
    this.defaults.put(
        Setting.SESSION_MAX_AGE, ConfigLoader.formatDuration(defaults.sessionMaxAge()));
  }

  /** Called after a change has committed on this node (e.g. to redefine a schedule). */
  public void onChange(Consumer<Setting> listener) {
    listeners.add(listener);
  }

  /** The database the settings live in. */
  public Database database() {
    return database;
  }

  public boolean usersCreateProjects(Connection c) throws SQLException {
    return Boolean.parseBoolean(text(c, Setting.USERS_CREATE_PROJECTS));
  }

  public int auditRetentionDays() {
    return database.read(c -> Integer.parseInt(text(c, Setting.AUDIT_RETENTION_DAYS)));
  }

  public Duration sessionIdleTimeout(Connection c) throws SQLException {
    return ConfigLoader.parseDuration(text(c, Setting.SESSION_IDLE_TIMEOUT));
  }

  public Duration sessionMaxAge(Connection c) throws SQLException {
    return ConfigLoader.parseDuration(text(c, Setting.SESSION_MAX_AGE));
  }

  /** Every setting's current canonical text, in declaration order. */
  public Map<Setting, String> all() {
    Map<String, String> stored = database.read(dao::all);
    Map<Setting, String> values = new LinkedHashMap<>();
    for (Setting setting : Setting.values()) {
      values.put(setting, stored.getOrDefault(setting.key(), defaults.get(setting)));
    }
    return values;
  }

  /**
   * Validates every change first (unknown key or bad value: {@code INVALID_REQUEST}, nothing
   * written), then stores them and one {@link AuditAction#SETTING_UPDATE} record each, in one
   * transaction.
   */
  public void update(Map<String, JsonNode> changes, AuditActor actor) {
    if (changes.isEmpty()) {
      throw invalid("no settings given; known settings: " + known());
    }
    Map<Setting, String> valid = new LinkedHashMap<>();
    for (Map.Entry<String, JsonNode> change : changes.entrySet()) {
      Setting setting = Setting.byKey(change.getKey())
          .orElseThrow(() -> invalid(
              "unknown setting '" + shorten(change.getKey()) + "'; known settings: " + known()));
      try {
        valid.put(setting, setting.canonical(change.getValue()));
      } catch (IllegalArgumentException e) {
        throw invalid(e.getMessage());
      }
    }
    long now = clock.millis();
    database.write(c -> {
      for (Map.Entry<Setting, String> change : valid.entrySet()) {
        String before = text(c, change.getKey());
        dao.put(c, change.getKey().key(), change.getValue(), actor.name(), now);
        if (audit != null) {
          audit.record(
              c,
              actor
                  .event(AuditAction.SETTING_UPDATE, AuditOutcome.SUCCESS)
                  .withDetail(Map.of(
                      "setting", change.getKey().key(),
                      "value", change.getValue(),
                      "previous", before)));
        }
      }
      return null;
    });
    for (Setting setting : valid.keySet()) {
      listeners.forEach(listener -> listener.accept(setting));
    }
  }

  private String text(Connection c, Setting setting) throws SQLException {
    Optional<String> stored = dao.find(c, setting.key());
    return stored.orElse(defaults.get(setting));
  }

  private static String known() {
    StringBuilder names = new StringBuilder();
    for (Setting setting : Setting.values()) {
      names.append(names.isEmpty() ? "" : ", ").append(setting.key());
    }
    return names.toString();
  }

  private static String shorten(String text) {
    return text.length() > 100 ? text.substring(0, 100) + "…" : text;
  }

  private static RegistryException invalid(String message) {
    return new RegistryException(ErrorCode.INVALID_REQUEST, message);
  }
}
