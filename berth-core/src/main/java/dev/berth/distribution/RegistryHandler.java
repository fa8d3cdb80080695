package dev.berth.distribution;

import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import dev.berth.auth.Action;
import dev.berth.auth.RegistryAccess;
import dev.berth.http.BlobSender;
import dev.berth.http.Exchange;
import dev.berth.metadata.Referrer;
import dev.berth.metadata.StoredManifest;
import dev.berth.oci.Digest;
import dev.berth.oci.ErrorCode;
import dev.berth.oci.MediaType;
import dev.berth.oci.Reference;
import dev.berth.oci.RegistryException;
import dev.berth.oci.RepositoryName;
import dev.berth.oci.Tag;
import java.io.IOException;
import java.net.URI;
import java.net.URLEncoder;
import java.nio.channels.SeekableByteChannel;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;

/**
 * The {@code /v2} API (OCI distribution-spec v1.1): the one routes table, and the translation
 * between HTTP and the services. No registry logic lives here.
 */
public final class RegistryHandler {
  public static final String API_VERSION_HEADER = "Docker-Distribution-API-Version";
  private static final String DIGEST_HEADER = "Docker-Content-Digest";
  private static final String UPLOAD_UUID_HEADER = "Docker-Upload-UUID";
  private static final int DEFAULT_CATALOG_PAGE = 1000;
  private static final int MAX_PAGE = 100_000;

  /** Settings the routes need. */
  public record Settings(String externalUrl, boolean readOnly, long chunkMinLength) {}

  private final ManifestService manifests;
  private final BlobService blobs;
  private final UploadService uploads;
  private final RepositoryService repositories;
  private final ObjectMapper json;
  private final Settings settings;
  private final RegistryAccess access;

  public RegistryHandler(
      ManifestService manifests,
      BlobService blobs,
      UploadService uploads,
      RepositoryService repositories,
      ObjectMapper json,
      Settings settings,
      RegistryAccess access) {
    this.manifests = manifests;
    this.blobs = blobs;
    this.uploads = uploads;
    this.repositories = repositories;
    this.json = json;
    this.settings = settings;
    this.access = access;
  }

  public void handle(Exchange exchange) throws IOException {
    exchange.setHeader(API_VERSION_HEADER, "registry/2.0");
    String method = exchange.method();
    Route route = Route.parse(exchange.path());
    if (settings.readOnly() && isWrite(method) && !(route instanceof Route.Unknown)) {
      exchange.discardBody();
      throw new RegistryException(ErrorCode.UNSUPPORTED, "the registry is in read-only mode");
    }
    RegistryAccess.Caller caller = access.caller(exchange);
    switch (route) {
      case Route.Base() -> {
        allow(method, "GET", "HEAD");
        caller.requireAuthenticated(exchange);
        exchange.send(200, "application/json", "{}".getBytes(StandardCharsets.UTF_8));
      }
      case Route.Catalog() -> {
        allow(method, "GET");
        catalog(exchange, caller);
      }
      case Route.Tags(String name) -> {
        allow(method, "GET");
        RepositoryName repository = RepositoryName.of(name);
        caller.require(exchange, repository, Action.PULL);
        tags(exchange, repository);
      }
      case Route.Manifest(String name, String reference) -> {
        RepositoryName repository = RepositoryName.of(name);
        switch (method) {
          case "GET", "HEAD" -> {
            caller.require(exchange, repository, Action.PULL);
            getManifest(exchange, repository, Reference.parse(reference), caller);
          }
          case "PUT" -> {
            caller.require(exchange, repository, Action.PUSH);
            putManifest(exchange, repository, Reference.parse(reference), caller);
          }
          case "DELETE" -> {
            Reference parsed = Reference.parse(reference);
            caller.require(
                exchange,
                repository,
                parsed instanceof Tag ? Action.DELETE_TAG : Action.DELETE_ARTIFACT);
            manifests.delete(repository, parsed, caller.actor(exchange));
            exchange.sendEmpty(202);
          }
          default -> throw methodNotAllowed(method);
        }
      }
      case Route.Blob(String name, String digest) -> {
        RepositoryName repository = RepositoryName.of(name);
        switch (method) {
          case "GET", "HEAD" -> {
            caller.require(exchange, repository, Action.PULL);
            getBlob(exchange, repository, Digest.parse(digest));
          }
          case "DELETE" -> {
            caller.require(exchange, repository, Action.DELETE_ARTIFACT);
            blobs.delete(repository, Digest.parse(digest));
            exchange.sendEmpty(202);
          }
          default -> throw methodNotAllowed(method);
        }
      }
      case Route.UploadStart(String name) -> {
        allow(method, "POST");
        RepositoryName repository = RepositoryName.of(name);
        caller.require(exchange, repository, Action.PUSH);
        startUpload(exchange, repository, caller);
      }
      case Route.Upload(String name, String id) -> {
        RepositoryName repository = RepositoryName.of(name);
        caller.require(exchange, repository, Action.PUSH);
        upload(exchange, repository, id);
      }
      case Route.Referrers(String name, String digest) -> {
        allow(method, "GET", "HEAD");
        RepositoryName repository = RepositoryName.of(name);
        caller.require(exchange, repository, Action.PULL);
        referrers(exchange, repository, Digest.parse(digest));
      }
      case Route.Unknown() ->
        throw new RegistryException(ErrorCode.NOT_FOUND, "no route for " + exchange.path());
    }
  }

  private static boolean isWrite(String method) {
    return switch (method) {
      case "PUT", "POST", "PATCH", "DELETE" -> true;
      default -> false;
    };
  }

  private static void allow(String method, String... allowed) {
    for (String candidate : allowed) {
      if (candidate.equals(method)) {
        return;
      }
    }
    throw methodNotAllowed(method);
  }

  private static RegistryException methodNotAllowed(String method) {
    return new RegistryException(
        ErrorCode.UNSUPPORTED, "method " + method + " is not allowed here");
  }

  // ---- manifests ----

  private void getManifest(
      Exchange exchange,
      RepositoryName repository,
      Reference reference,
      RegistryAccess.Caller caller)
      throws IOException {
    StoredManifest manifest = manifests.get(repository, reference, !exchange.isHead());
    exchange.setHeader(DIGEST_HEADER, manifest.digest().toString());
    String etag = "\"" + manifest.digest() + "\"";
    exchange.setHeader("ETag", etag);
    if (etag.equals(exchange.header("If-None-Match"))) {
      exchange.sendEmpty(304);
      return;
    }
    if (exchange.isHead()) {
      exchange.setHeader("Content-Type", manifest.mediaType());
      exchange.setHeader("Content-Length", Long.toString(manifest.size()));
      exchange.sendEmpty(200);
      return;
    }
    exchange.send(200, manifest.mediaType(), manifest.content());
    // A pull is a GET of the manifest (a HEAD only checks); recorded off the request path.
    manifests.recordPull(repository, reference, manifest.digest(), caller.actor(exchange));
  }

  private void putManifest(
      Exchange exchange,
      RepositoryName repository,
      Reference reference,
      RegistryAccess.Caller caller)
      throws IOException {
    byte[] body =
        exchange.readBody(ManifestService.MAX_MANIFEST_BYTES, ErrorCode.MANIFEST_TOO_LARGE);
    ManifestService.Pushed pushed = manifests.put(
        repository, reference, exchange.header("Content-Type"), body, caller.actor(exchange));
    exchange.setHeader(
        "Location",
        exchange.baseUrl(settings.externalUrl()) + "/v2/" + repository + "/manifests/"
            + pushed.digest());
    exchange.setHeader(DIGEST_HEADER, pushed.digest().toString());
    if (pushed.subject() != null) {
      exchange.setHeader("OCI-Subject", pushed.subject().toString());
    }
    exchange.sendEmpty(201);
  }

  // ---- blobs ----

  private void getBlob(Exchange exchange, RepositoryName repository, Digest digest)
      throws IOException {
    long size =
        exchange.isHead() ? blobs.check(repository, digest) : blobs.size(repository, digest);
    exchange.setHeader(DIGEST_HEADER, digest.toString());
    String etag = "\"" + digest + "\"";
    exchange.setHeader("ETag", etag);
    exchange.setHeader("Accept-Ranges", "bytes");
    exchange.setHeader("Cache-Control", "max-age=31536000");
    if (etag.equals(exchange.header("If-None-Match"))) {
      exchange.sendEmpty(304);
      return;
    }
    if (!exchange.isHead()) {
      // Like Distribution's redirect option: the bytes come from the bucket, not this node. The
      // client repeats its Range header there; HEAD stays here (no bytes to save).
      Optional<URI> location = blobs.downloadUrl(digest);
      if (location.isPresent()) {
        // The URL expires; the redirect must not be cached as the bytes may be.
        exchange.setHeader("Cache-Control", "no-store");
        exchange.setHeader("Location", location.get().toString());
        exchange.sendEmpty(307);
        return;
      }
    }
    if (!exchange.isHead()) {
      // Like Distribution's redirect option: the bytes come from the bucket, not this node. The
      // client repeats its Range header there; HEAD stays here (no bytes to save).
      Optional<URI> location = blobs.downloadUrl(digest);
      if (location.isPresent()) {
        // The URL expires; the redirect must not be cached as the bytes may be.
        exchange.setHeader("Cache-Control", "no-store");
        exchange.setHeader("Location", location.get().toString());
        exchange.sendEmpty(307);
        return;
      }
    }
    long offset = 0;
    long length = size;
    int status = 200;
    String range = exchange.header("Range");
    if (range != null) {
      long[] parsed = ByteRange.parse(range, size);
      if (parsed == ByteRange.UNSATISFIABLE) {
        exchange.setHeader("Content-Range", "bytes */" + size);
        throw new RegistryException(
            ErrorCode.RANGE_INVALID,
            "range " + range + " is not satisfiable for " + size + " bytes");
      }
      if (parsed != null) {
        offset = parsed[0];
        length = parsed[1] - parsed[0] + 1;
        status = 206;
        exchange.setHeader("Content-Range", "bytes " + parsed[0] + "-" + parsed[1] + "/" + size);
      }
    }
    exchange.status(status);
    exchange.setHeader("Content-Type", "application/octet-stream");
    exchange.setHeader("Content-Length", Long.toString(length));
    if (exchange.isHead()) {
      exchange.sendEmpty(status);
      return;
    }
    try (SeekableByteChannel channel = blobs.open(digest)) {
      BlobSender.send(exchange, channel, offset, length);
    }
  }

  // ---- uploads ----

  private void startUpload(
      Exchange exchange, RepositoryName repository, RegistryAccess.Caller caller)
      throws IOException {
    String mount = exchange.query("mount");
    if (mount != null) {
      Digest digest = Digest.parse(mount);
      String from = exchange.query("from");
      // A mount needs pull on the source; without it the client gets an upload session, as for
      // a blob the source does not have (no answer tells the two apart).
      if (from != null
          && caller.mayPull(RepositoryName.of(from))
          && blobs.mount(repository, RepositoryName.of(from), digest)) {
        exchange.discardBody();
        blobCreated(exchange, repository, digest);
        return;
      }
      // Spec: when the mount cannot be done, fall back to an ordinary upload session.
    }
    String digestParameter = exchange.query("digest");
    if (digestParameter != null && mount == null) {
      Digest digest = Digest.parse(digestParameter);
      uploads.uploadWhole(repository, digest, exchange);
      blobCreated(exchange, repository, digest);
      return;
    }
    exchange.discardBody();
    String id = uploads.start(repository);
    uploadProgress(exchange, repository, id, 0);
    if (settings.chunkMinLength() > 0) {
      exchange.setHeader("OCI-Chunk-Min-Length", Long.toString(settings.chunkMinLength()));
    }
    exchange.sendEmpty(202);
  }

  private void upload(Exchange exchange, RepositoryName repository, String id) throws IOException {
    switch (exchange.method()) {
      case "GET" -> {
        long size = uploads.status(repository, id);
        uploadProgress(exchange, repository, id, size);
        exchange.sendEmpty(204);
      }
      case "PATCH" -> {
        String contentRange = exchange.header("Content-Range");
        UploadService.ChunkRange range =
            contentRange == null ? null : UploadService.ChunkRange.parse(contentRange);
        long size;
        try {
          size = uploads.append(repository, id, range, exchange);
        } catch (RegistryException e) {
          if (e.code() == ErrorCode.RANGE_INVALID
              && e.detail() instanceof Map<?, ?> detail
              && detail.get("size") instanceof Long current) {
            exchange.discardBody();
            uploadProgress(exchange, repository, id, current);
          }
          throw e;
        }
        uploadProgress(exchange, repository, id, size);
        exchange.sendEmpty(202);
      }
      case "PUT" -> {
        String digestParameter = exchange.query("digest");
        if (digestParameter == null) {
          exchange.discardBody();
          throw new RegistryException(
              ErrorCode.DIGEST_INVALID, "digest parameter is required to complete an upload");
        }
        Digest digest = Digest.parse(digestParameter);
        String contentRange = exchange.header("Content-Range");
        UploadService.ChunkRange range = contentRange != null && exchange.contentLength() != 0
            ? UploadService.ChunkRange.parse(contentRange)
            : null;
        uploads.finish(repository, id, digest, range, exchange);
        blobCreated(exchange, repository, digest);
      }
      case "DELETE" -> {
        uploads.cancel(repository, id);
        exchange.sendEmpty(204);
      }
      default -> throw methodNotAllowed(exchange.method());
    }
  }

  private void uploadProgress(Exchange exchange, RepositoryName repository, String id, long size) {
    exchange.setHeader(
        "Location",
        exchange.baseUrl(settings.externalUrl()) + "/v2/" + repository + "/blobs/uploads/" + id);
    exchange.setHeader("Range", "0-" + Math.max(0, size - 1));
    exchange.setHeader(UPLOAD_UUID_HEADER, id);
  }

  private void blobCreated(Exchange exchange, RepositoryName repository, Digest digest)
      throws IOException {
    exchange.setHeader(
        "Location",
        exchange.baseUrl(settings.externalUrl()) + "/v2/" + repository + "/blobs/" + digest);
    exchange.setHeader(DIGEST_HEADER, digest.toString());
    exchange.sendEmpty(201);
  }

  // ---- listings ----

  private void catalog(Exchange exchange, RegistryAccess.Caller caller) throws IOException {
    int n = pageSize(exchange, DEFAULT_CATALOG_PAGE);
    String last = exchange.query("last");
    List<String> names = n == 0 ? List.of() : visible(caller, last, n + 1);
    boolean more = names.size() > n;
    if (more) {
      names = names.subList(0, n);
      exchange.setHeader(
          "Link", "</v2/_catalog?last=" + encode(names.getLast()) + "&n=" + n + ">; rel=\"next\"");
    }
    ObjectNode root = json.createObjectNode();
    ArrayNode array = root.putArray("repositories");
    names.forEach(array::add);
    exchange.send(200, "application/json", json.writeValueAsBytes(root));
  }

  /**
   * Up to {@code limit} repository names after {@code last} that the caller may pull: the others
   * are left out, as if they did not exist.
   */
  private List<String> visible(RegistryAccess.Caller caller, String last, int limit) {
    if (!access.enabled()) {
      return repositories.catalog(last, limit);
    }
    Map<String, Boolean> listable = new HashMap<>();
    List<String> visible = new ArrayList<>();
    String after = last;
    int batch = Math.max(limit, 1000);
    while (visible.size() < limit) {
      List<String> names = repositories.catalog(after, batch);
      for (String name : names) {
        String project = RepositoryName.of(name).project();
        if (listable.computeIfAbsent(project, caller::mayList)) {
          visible.add(name);
          if (visible.size() == limit) {
            break;
          }
        }
      }
      if (names.size() < batch) {
        break;
      }
      after = names.getLast();
    }
    return visible;
  }

  private void tags(Exchange exchange, RepositoryName repository) throws IOException {
    int n = pageSize(exchange, MAX_PAGE);
    String last = exchange.query("last");
    List<String> names = repositories.tags(repository, last, n + 1);
    if (n == 0) {
      // Spec: n=0 is an empty list without a Link (the query above still checks the name).
      names = List.of();
    }
    boolean more = names.size() > n;
    if (more) {
      names = names.subList(0, n);
      exchange.setHeader(
          "Link",
          "</v2/" + repository + "/tags/list?last=" + encode(names.getLast()) + "&n=" + n
              + ">; rel=\"next\"");
    }
    StringBuilder body = new StringBuilder(names.size() * 24 + 64);
    body.append("{\"name\":\"").append(repository.value()).append("\",\"tags\":[");
    for (int i = 0; i < names.size(); i++) {
      if (i > 0) {
        body.append(',');
      }
      // Tags match [a-zA-Z0-9_][a-zA-Z0-9._-]*: nothing to escape.
      body.append('"').append(names.get(i)).append('"');
    }
    body.append("]}");
    exchange.send(200, "application/json", body.toString().getBytes(StandardCharsets.UTF_8));
  }

  private static int pageSize(Exchange exchange, int defaultSize) {
    String text = exchange.query("n");
    if (text == null || text.isEmpty()) {
      return defaultSize;
    }
    try {
      int n = Integer.parseInt(text);
      if (n < 0) {
        throw new NumberFormatException();
      }
      return Math.min(n, MAX_PAGE);
    } catch (NumberFormatException e) {
      throw new RegistryException(
          ErrorCode.PAGINATION_NUMBER_INVALID, "n must be a non-negative integer, got " + text);
    }
  }

  private static String encode(String value) {
    return URLEncoder.encode(value, StandardCharsets.UTF_8);
  }

  private void referrers(Exchange exchange, RepositoryName repository, Digest subject)
      throws IOException {
    String artifactType = exchange.query("artifactType");
    if (artifactType != null && artifactType.isEmpty()) {
      artifactType = null;
    }
    List<Referrer> found = manifests.referrers(repository, subject, artifactType);
    ObjectNode root = json.createObjectNode();
    root.put("schemaVersion", 2);
    root.put("mediaType", MediaType.OCI_INDEX);
    ArrayNode list = root.putArray("manifests");
    for (Referrer referrer : found) {
      ObjectNode entry = list.addObject();
      entry.put("mediaType", referrer.mediaType());
      entry.put("digest", referrer.digest().toString());
      entry.put("size", referrer.size());
      if (referrer.artifactType() != null) {
        entry.put("artifactType", referrer.artifactType());
      }
      if (referrer.annotationsJson() != null) {
        entry.set("annotations", json.readTree(referrer.annotationsJson()));
      }
    }
    if (artifactType != null) {
      exchange.setHeader("OCI-Filters-Applied", "artifactType");
    }
    exchange.send(200, MediaType.OCI_INDEX, json.writeValueAsBytes(root));
  }
}
