package dev.berth.settings;

import com.fasterxml.jackson.databind.JsonNode;
import dev.berth.config.ConfigLoader;
import java.time.Duration;
import java.util.Optional;

/**
 * A setting that may change at runtime ({@code /api/v1/system/settings}), named by its
 * configuration key. Its value lives as text in the {@code settings} table, in the canonical
 * form {@link #canonical} makes; the API speaks JSON booleans, numbers and duration strings.
 */
public enum Setting {
  /** Whether every user may create projects; else administrators only. */
  USERS_CREATE_PROJECTS("auth.users-create-projects", Kind.BOOLEAN),
  /** Audit records older than this many days are purged daily; 0 keeps them. */
  AUDIT_RETENTION_DAYS("audit.retention-days", Kind.DAYS),
  /** A browser session unused this long ends. */
  SESSION_IDLE_TIMEOUT("auth.session-idle-timeout", Kind.DURATION, Duration.ofDays(7)),
  /** A browser session ends this long after its login whatever its use (new sessions). */
  SESSION_MAX_AGE("auth.session-max-age", Kind.DURATION, Duration.ofDays(30));

  /** The longest retention accepted (100 years). */
  static final int MAX_DAYS = 36_500;

  /** The shortest duration accepted. */
  static final Duration MIN_DURATION = Duration.ofSeconds(1);

  enum Kind {
    BOOLEAN,
    DAYS,
    DURATION
  }

  private final String key;
  private final Kind kind;
  /** The longest duration accepted, for {@link Kind#DURATION}; else null. */
  private final Duration maxDuration;

  Setting(String key, Kind kind) {
    this(key, kind, null);
  }

  Setting(String key, Kind kind, Duration maxDuration) {
    this.key = key;
    this.kind = kind;
    this.maxDuration = maxDuration;
  }

  public String key() {
    return key;
  }

  Kind kind() {
    return kind;
  }

  public static Optional<Setting> byKey(String key) {
    for (Setting setting : values()) {
      if (setting.key.equals(key)) {
        return Optional.of(setting);
      }
    }
    return Optional.empty();
  }

  /**
   * The canonical text of a JSON value for this setting; {@link IllegalArgumentException} with a
   * message for the caller when the value has the wrong type or is out of range.
   */
  String canonical(JsonNode value) {
    switch (kind) {
      case BOOLEAN -> {
        if (value == null || !value.isBoolean()) {
          throw new IllegalArgumentException("'" + key + "' must be true or false");
        }
        return Boolean.toString(value.booleanValue());
      }
      case DAYS -> {
        if (value == null
            || !value.isIntegralNumber()
            || !value.canConvertToInt()
            || value.intValue() < 0
            || value.intValue() > MAX_DAYS) {
          throw new IllegalArgumentException(
              "'" + key + "' must be a whole number of days from 0 (keep forever) to " + MAX_DAYS);
        }
        return Integer.toString(value.intValue());
      }
      case DURATION -> {
        String message = "'" + key + "' must be a duration from " + MIN_DURATION.toSeconds()
            + "s to " + maxDuration.toDays() + "d such as \"30m\" or \"8h\"";
        if (value == null || !value.isTextual() || value.textValue().length() > 32) {
          throw new IllegalArgumentException(message);
        }
        Duration duration;
        try {
          duration = ConfigLoader.parseDuration(value.textValue());
        } catch (RuntimeException e) {
          throw new IllegalArgumentException(message);
        }
        if (duration.compareTo(MIN_DURATION) < 0 || duration.compareTo(maxDuration) > 0) {
          throw new IllegalArgumentException(message);
        }
        return ConfigLoader.formatDuration(duration);
      }
    }
    throw new IllegalStateException(kind.name());
  }
}
