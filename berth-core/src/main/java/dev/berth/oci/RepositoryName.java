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

  /** The project of one-component names ({@code alpine} belongs to {@code library}), as in Harbor. */
  public static final String DEFAULT_PROJECT = "library";

  /** The project the repository belongs to: its first component, or {@link #DEFAULT_PROJECT}. */
  public String project() {
    int slash = value.indexOf('/');
    return slash < 0 ? DEFAULT_PROJECT : value.substring(0, slash);
  }

  /** A project name: one component of the repository name grammar; NAME_INVALID otherwise. */
  public static String project(String name) {
    RepositoryName parsed = new RepositoryName(name);
    if (name.indexOf('/') >= 0) {
      throw new RegistryException(
          ErrorCode.NAME_INVALID,
          "a project name is one path component: " + name,
          java.util.Map.of("name", name));
    }
    return parsed.value();
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
