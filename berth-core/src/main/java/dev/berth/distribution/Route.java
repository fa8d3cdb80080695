package dev.berth.distribution;

/**
 * A parsed {@code /v2} path. Names may contain any path component, including {@code blobs} or
 * {@code manifests}; the route is decided from the end of the path, where the grammar is
 * unambiguous (a digest always contains a colon, a repository name never does).
 */
public sealed interface Route {
  record Base() implements Route {}

  record Catalog() implements Route {}

  record Tags(String name) implements Route {}

  record Manifest(String name, String reference) implements Route {}

  record Blob(String name, String digest) implements Route {}

  record UploadStart(String name) implements Route {}

  record Upload(String name, String id) implements Route {}

  record Referrers(String name, String digest) implements Route {}

  record Unknown() implements Route {}

  static Route parse(String path) {
    if (path.equals("/v2") || path.equals("/v2/")) {
      return new Base();
    }
    if (!path.startsWith("/v2/")) {
      return new Unknown();
    }
    String rest = path.substring(4);
    if (rest.equals("_catalog")) {
      return new Catalog();
    }
    if (rest.endsWith("/blobs/uploads/") || rest.endsWith("/blobs/uploads")) {
      int at = rest.lastIndexOf("/blobs/uploads");
      return at > 0 ? new UploadStart(rest.substring(0, at)) : new Unknown();
    }
    if (rest.endsWith("/tags/list")) {
      return new Tags(rest.substring(0, rest.length() - "/tags/list".length()));
    }
    int last = rest.lastIndexOf('/');
    if (last <= 0) {
      return new Unknown();
    }
    String tail = rest.substring(last + 1);
    String head = rest.substring(0, last);
    int previous = head.lastIndexOf('/');
    if (previous <= 0) {
      return new Unknown();
    }
    String keyword = head.substring(previous + 1);
    String name = head.substring(0, previous);
    return switch (keyword) {
      case "manifests" -> new Manifest(name, tail);
      case "referrers" -> new Referrers(name, tail);
      case "blobs" -> new Blob(name, tail);
      case "uploads" -> {
        if (name.endsWith("/blobs") && !tail.contains(":")) {
          yield new Upload(name.substring(0, name.length() - "/blobs".length()), tail);
        }
        yield new Unknown();
      }
      default -> new Unknown();
    };
  }
}
