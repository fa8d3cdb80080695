package dev.berth.config;

import java.lang.reflect.Constructor;
import java.lang.reflect.RecordComponent;
import java.time.Duration;
import java.util.LinkedHashMap;
import java.util.Locale;
import java.util.Map;

/**
 * Binds a configuration tree (maps of kebab-case keys to strings, numbers, booleans, nested maps)
 * to the configuration records, and back. Plain reflection over record components: loading the
 * configuration must not cost start-up time (a general-purpose data binder took 0.5–0.9 s cold).
 */
final class RecordBinder {
  private RecordBinder() {}

  /** A record as a tree: kebab-case keys in component order; durations as {@code 30s}. */
  static Map<String, Object> toTree(Record record) {
    Map<String, Object> tree = new LinkedHashMap<>();
    for (RecordComponent component : record.getClass().getRecordComponents()) {
      Object value;
      try {
        value = component.getAccessor().invoke(record);
      } catch (ReflectiveOperationException e) {
        throw new IllegalStateException(e);
      }
      String key = kebab(component.getName());
      if (value instanceof Record nested) {
        tree.put(key, toTree(nested));
      } else if (value instanceof Duration duration) {
        tree.put(key, ConfigLoader.formatDuration(duration));
      } else {
        tree.put(key, value);
      }
    }
    return tree;
  }

  /** Binds a tree to a record type; a value that does not fit names its key. */
  static <R extends Record> R bind(Class<R> type, Map<?, ?> tree, String prefix) {
    RecordComponent[] components = type.getRecordComponents();
    Object[] arguments = new Object[components.length];
    Class<?>[] types = new Class<?>[components.length];
    for (int i = 0; i < components.length; i++) {
      RecordComponent component = components[i];
      types[i] = component.getType();
      String key = prefix + kebab(component.getName());
      arguments[i] = convert(component.getType(), tree.get(kebab(component.getName())), key);
    }
    try {
      Constructor<R> constructor = type.getDeclaredConstructor(types);
      return constructor.newInstance(arguments);
    } catch (ReflectiveOperationException e) {
      throw new IllegalStateException("cannot build " + type.getSimpleName(), e);
    }
  }

  @SuppressWarnings("unchecked")
  private static Object convert(Class<?> type, Object value, String key) {
    if (Record.class.isAssignableFrom(type)) {
      if (!(value instanceof Map<?, ?> map)) {
        throw bad(key, "must be a mapping");
      }
      return bind((Class<? extends Record>) type, map, key + ".");
    }
    if (value instanceof Map<?, ?> || value instanceof java.util.List<?>) {
      throw bad(
          key,
          "must be a single value, not a " + (value instanceof Map<?, ?> ? "mapping" : "list"));
    }
    if (type == String.class) {
      return value == null ? null : value.toString();
    }
    String text = value == null ? "" : value.toString().trim();
    if (type == boolean.class) {
      return switch (text.toLowerCase(Locale.ROOT)) {
        case "true" -> true;
        case "false" -> false;
        default -> throw bad(key, "must be true or false, got '" + text + "'");
      };
    }
    if (type == int.class || type == long.class) {
      try {
        long number = Long.parseLong(text);
        if (type == int.class && (number < Integer.MIN_VALUE || number > Integer.MAX_VALUE)) {
          throw new NumberFormatException();
        }
        return type == int.class ? (Object) (int) number : (Object) number;
      } catch (NumberFormatException e) {
        throw bad(key, "must be a whole number, got '" + text + "'");
      }
    }
    if (type == Duration.class) {
      try {
        return ConfigLoader.parseDuration(text);
      } catch (RuntimeException e) {
        throw bad(key, e.getMessage());
      }
    }
    throw new IllegalStateException("unsupported configuration type " + type + " at " + key);
  }

  static String kebab(String camel) {
    StringBuilder out = new StringBuilder(camel.length() + 4);
    for (int i = 0; i < camel.length(); i++) {
      char c = camel.charAt(i);
      if (Character.isUpperCase(c)) {
        out.append('-').append(Character.toLowerCase(c));
      } else {
        out.append(c);
      }
    }
    return out.toString();
  }

  private static ConfigException bad(String key, String message) {
    return new ConfigException("bad value for configuration key '" + key + "': " + message);
  }
}
