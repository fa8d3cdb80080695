package dev.berth.auth;

import dev.berth.oci.ErrorCode;
import dev.berth.oci.RegistryException;
import java.util.ArrayList;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Set;

/**
 * A resource scope of the registry token protocol: {@code repository:team/app:pull,push} or
 * {@code registry:catalog:*}. The name sits between the first and the last colon, so names with
 * a port ({@code host:5000/app}) parse too; a resource class ({@code repository(plugin)}) is
 * dropped from the type.
 */
public record Scope(String type, String name, Set<String> actions) {
  public static final String REPOSITORY = "repository";
  public static final String REGISTRY = "registry";

  public Scope {
    actions = Set.copyOf(actions);
  }

  public static Scope repository(String name, Set<String> actions) {
    return new Scope(REPOSITORY, name, actions);
  }

  /** Parses one {@code scope} parameter, which may hold several scopes separated by spaces. */
  public static List<Scope> parseAll(String parameter) {
    List<Scope> scopes = new ArrayList<>();
    for (String part : parameter.trim().split("\\s+")) {
      if (!part.isEmpty()) {
        scopes.add(parse(part));
      }
    }
    return scopes;
  }

  public static Scope parse(String text) {
    int first = text.indexOf(':');
    int last = text.lastIndexOf(':');
    if (first <= 0 || last == first || last == text.length() - 1 && first == last) {
      throw invalid(text);
    }
    String type = text.substring(0, first);
    int paren = type.indexOf('(');
    if (paren > 0 && type.endsWith(")")) {
      type = type.substring(0, paren);
    }
    String name = text.substring(first + 1, last);
    if (name.isEmpty() || type.isEmpty()) {
      throw invalid(text);
    }
    Set<String> actions = new LinkedHashSet<>();
    for (String action : text.substring(last + 1).split(",")) {
      if (!action.isBlank()) {
        actions.add(action.trim());
      }
    }
    return new Scope(type, name, actions);
  }

  private static RegistryException invalid(String text) {
    String shown = text.length() > 200 ? text.substring(0, 200) + "…" : text;
    return new RegistryException(
        ErrorCode.INVALID_REQUEST, "invalid scope '" + shown + "'; expected type:name:actions");
  }

  @Override
  public String toString() {
    return type + ":" + name + ":" + String.join(",", actions.stream().sorted().toList());
  }
}
