package dev.berth.config;

/** A configuration problem, with a message naming the key; start-up stops on it. */
public final class ConfigException extends RuntimeException {
  public ConfigException(String message) {
    super(message);
  }
}
