package dev.berth.oci;

import java.util.regex.Pattern;

/**
 * A repository name as spec.md defines it: path components of lower-case alphanumerics separated
 * by {@code .}, {@code _}, {@code __} or dashes, joined by {@code /}. The grammar alone rules out
 * {@code ..}, absolute paths and anything else that could leave the data directory.
 */
public record RepositoryName(String value) implements Comparable<RepositoryName> {
  public static final int MAX_LENGTH = 255;
  private static final Pattern GRAMMAR = Pattern.compile(
      "[a-z0-9]+(?:(?:\\.|_|__|-+)[a-z0-9]+)*(?:/[a-z0-9]+(?:(?:\\.|_|__|-+)[a-z0-9]+)*)*");

  public RepositoryName {
    if (value == null || value.isEmpty()) {
      throw new RegistryException(ErrorCode.NAME_INVALID, "repository name is empty");
    }
    if (value.length() > MAX_LENGTH) {
      throw new RegistryException(
          ErrorCode.NAME_INVALID,
          "repository name is longer than " + MAX_LENGTH + " characters",
          java.util.Map.of("name", value.substring(0, 64) + "…"));
    }
    if (!GRAMMAR.matcher(value).matches()) {
      throw new RegistryException(
          ErrorCode.NAME_INVALID,
          "invalid repository name: " + value,
          java.util.Map.of("name", value));
    }
  }

  public static RepositoryName of(String value) {
    return new RepositoryName(value);
  }

  @Override
  public int compareTo(RepositoryName other) {
    return value.compareTo(other.value);
  }

  @Override
  public String toString() {
    return value;
  }
}
