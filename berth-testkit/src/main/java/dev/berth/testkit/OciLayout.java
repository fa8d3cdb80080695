package dev.berth.testkit;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import java.io.BufferedOutputStream;
import java.io.ByteArrayInputStream;
import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.io.UncheckedIOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.security.DigestOutputStream;
import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;
import java.util.ArrayList;
import java.util.HexFormat;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Map;
import java.util.Objects;
import java.util.SequencedSet;
import java.util.SplittableRandom;
import java.util.zip.Deflater;
import java.util.zip.GZIPOutputStream;

/**
 * An OCI image layout directory ({@code oci-layout}, {@code index.json}, {@code blobs/sha256/…}) as
 * skopeo's {@code oci:DIR:TAG} transport reads and writes it.
 *
 * <p>{@link #create} starts an empty layout to write images into, in pure Java and with
 * deterministic content: the same seeds give the same digests. {@link #open} reads one a tool
 * wrote, and {@link #verifyComplete} checks that everything a tag points at is present and intact —
 * what "the image pulled back completely" means.
 */
public final class OciLayout {

  public static final String OCI_MANIFEST = "application/vnd.oci.image.manifest.v1+json";
  public static final String OCI_INDEX = "application/vnd.oci.image.index.v1+json";
  public static final String OCI_CONFIG = "application/vnd.oci.image.config.v1+json";
  public static final String OCI_LAYER_GZIP = "application/vnd.oci.image.layer.v1.tar+gzip";
  public static final String DOCKER_MANIFEST =
      "application/vnd.docker.distribution.manifest.v2+json";
  public static final String DOCKER_MANIFEST_LIST =
      "application/vnd.docker.distribution.manifest.list.v2+json";

  private static final String REF_NAME = "org.opencontainers.image.ref.name";
  private static final String CREATED = "2024-01-01T00:00:00Z";
  private static final ObjectMapper JSON = new ObjectMapper();

  private final Path directory;

  private OciLayout(Path directory) {
    this.directory = directory;
  }

  /** Creates an empty layout in {@code directory} (created if missing). */
  public static OciLayout create(Path directory) {
    try {
      Files.createDirectories(directory.resolve("blobs/sha256"));
      Files.writeString(directory.resolve("oci-layout"), "{\"imageLayoutVersion\":\"1.0.0\"}");
      Files.writeString(directory.resolve("index.json"), "{\"schemaVersion\":2,\"manifests\":[]}");
    } catch (IOException e) {
      throw new UncheckedIOException(e);
    }
    return new OciLayout(directory);
  }

  /** Opens a layout some tool wrote. */
  public static OciLayout open(Path directory) {
    if (!Files.isRegularFile(directory.resolve("index.json"))) {
      throw new AssertionError("no OCI layout at " + directory + " (index.json missing)");
    }
    return new OciLayout(directory);
  }

  public Path directory() {
    return directory;
  }

  /** {@code oci:<dir>:<tag>}, the skopeo/podman transport reference. */
  public String reference(String tag) {
    return "oci:" + directory + ":" + tag;
  }

  public Path blobPath(String digest) {
    if (!digest.startsWith("sha256:")) {
      throw new IllegalArgumentException("not a sha256 digest: " + digest);
    }
    return directory.resolve("blobs/sha256").resolve(digest.substring("sha256:".length()));
  }

  public byte[] read(Blob blob) {
    try {
      return Files.readAllBytes(blobPath(blob.digest()));
    } catch (IOException e) {
      throw new UncheckedIOException(e);
    }
  }

  // ---- writing ----

  /** Stores {@code content} as a blob and returns its descriptor. */
  public Blob writeBlob(String mediaType, byte[] content) {
    String digest = sha256(content);
    try {
      Path path = blobPath(digest);
      if (!Files.exists(path)) {
        Files.write(path, content);
      }
    } catch (IOException e) {
      throw new UncheckedIOException(e);
    }
    return new Blob(mediaType, digest, content.length);
  }

  /**
   * A gzip'd tar layer of {@code files} random files of {@code fileSize} bytes each, plus a small
   * text file naming the seed; the same seed gives the same layer.
   */
  public Layer writeLayer(long seed, int files, int fileSize) {
    return writeLayer(Deflater.BEST_SPEED, tar -> {
      SplittableRandom random = new SplittableRandom(seed);
      String dir = "layer-" + seed;
      tar.directory(dir);
      tar.file(dir + "/seed.txt", ("seed " + seed + "\n").getBytes(StandardCharsets.UTF_8));
      for (int i = 0; i < files; i++) {
        tar.randomFile(dir + "/file-" + i + ".bin", fileSize, random);
      }
    });
  }

  /**
   * A layer holding one file of {@code size} random bytes, written streaming (never held in
   * memory). It is gzip'd without compression (stored blocks) so writing it is fast; random bytes
   * would not compress anyway.
   */
  public Layer writeLargeLayer(long seed, long size) {
    return writeLayer(Deflater.NO_COMPRESSION, tar -> {
      tar.directory("large");
      tar.randomFile("large/random-" + seed + ".bin", size, new SplittableRandom(seed));
    });
  }

  /** A gzip'd tar layer with exactly the given files (path → content). */
  public Layer writeLayer(Map<String, byte[]> files) {
    return writeLayer(Deflater.DEFAULT_COMPRESSION, tar -> {
      for (var file : files.entrySet()) {
        tar.file(file.getKey(), file.getValue());
      }
    });
  }

  private interface TarContent {
    void writeTo(TarWriter tar) throws IOException;
  }

  private Layer writeLayer(int level, TarContent content) {
    try {
      Path temporary = Files.createTempFile(directory.resolve("blobs/sha256"), ".layer-", ".tmp");
      MessageDigest compressed = messageDigest();
      MessageDigest uncompressed = messageDigest();
      try (OutputStream file = new BufferedOutputStream(Files.newOutputStream(temporary), 1 << 16);
          OutputStream compressedOut = new DigestOutputStream(file, compressed);
          OutputStream gzip = new LeveledGzipOutputStream(compressedOut, level);
          OutputStream tarOut =
              new DigestOutputStream(new BufferedOutputStream(gzip, 1 << 16), uncompressed);
          TarWriter tar = new TarWriter(tarOut)) {
        content.writeTo(tar);
      }
      String digest = "sha256:" + HexFormat.of().formatHex(compressed.digest());
      String diffId = "sha256:" + HexFormat.of().formatHex(uncompressed.digest());
      long size = Files.size(temporary);
      Files.move(temporary, blobPath(digest), StandardCopyOption.REPLACE_EXISTING);
      return new Layer(new Blob(OCI_LAYER_GZIP, digest, size), diffId);
    } catch (IOException e) {
      throw new UncheckedIOException(e);
    }
  }

  /**
   * Writes an image config and manifest for {@code layers}; tags it in {@code index.json} unless
   * {@code tag} is null (a child of an index is not tagged itself).
   */
  public Image writeImage(String tag, String os, String architecture, List<Layer> layers) {
    ObjectNode config = JSON.createObjectNode();
    config.put("created", CREATED);
    config.put("architecture", architecture);
    config.put("os", os);
    ObjectNode runConfig = config.putObject("config");
    runConfig.putArray("Env").add("PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin");
    runConfig.putArray("Cmd").add("/bin/true");
    ObjectNode rootfs = config.putObject("rootfs");
    rootfs.put("type", "layers");
    ArrayNode diffIds = rootfs.putArray("diff_ids");
    ArrayNode history = config.putArray("history");
    for (Layer layer : layers) {
      diffIds.add(layer.diffId());
      history.addObject().put("created", CREATED).put("created_by", "OciLayout.writeLayer");
    }
    Blob configBlob = writeBlob(OCI_CONFIG, bytes(config));

    ObjectNode manifest = JSON.createObjectNode();
    manifest.put("schemaVersion", 2);
    manifest.put("mediaType", OCI_MANIFEST);
    manifest.set("config", descriptor(configBlob));
    ArrayNode layerArray = manifest.putArray("layers");
    for (Layer layer : layers) {
      layerArray.add(descriptor(layer.blob()));
    }
    Blob manifestBlob = writeBlob(OCI_MANIFEST, bytes(manifest));
    Image image = new Image(
        manifestBlob, configBlob, layers.stream().map(Layer::blob).toList(), os, architecture);
    if (tag != null) {
      tag(tag, manifestBlob);
    }
    return image;
  }

  /** Writes an image index over {@code images} (with their platforms) and tags it. */
  public Index writeIndex(String tag, List<Image> images) {
    ObjectNode index = JSON.createObjectNode();
    index.put("schemaVersion", 2);
    index.put("mediaType", OCI_INDEX);
    ArrayNode manifests = index.putArray("manifests");
    for (Image image : images) {
      ObjectNode entry = descriptor(image.manifest());
      entry.putObject("platform").put("architecture", image.architecture()).put("os", image.os());
      manifests.add(entry);
    }
    Blob indexBlob = writeBlob(OCI_INDEX, bytes(index));
    tag(tag, indexBlob);
    return new Index(indexBlob, List.copyOf(images));
  }

  /** Points {@code tag} in {@code index.json} at {@code target}, replacing an older entry. */
  public synchronized void tag(String tag, Blob target) {
    ObjectNode root = (ObjectNode) readJson(directory.resolve("index.json"));
    ArrayNode manifests = (ArrayNode) root.get("manifests");
    for (int i = manifests.size() - 1; i >= 0; i--) {
      if (tag.equals(manifests.get(i).path("annotations").path(REF_NAME).asText(null))) {
        manifests.remove(i);
      }
    }
    ObjectNode entry = descriptor(target);
    entry.putObject("annotations").put(REF_NAME, tag);
    manifests.add(entry);
    try {
      Files.write(directory.resolve("index.json"), bytes(root));
    } catch (IOException e) {
      throw new UncheckedIOException(e);
    }
  }

  // ---- reading ----

  /** The descriptor {@code index.json} names {@code tag} with. */
  public Blob resolve(String tag) {
    for (JsonNode entry : readJson(directory.resolve("index.json")).path("manifests")) {
      if (tag.equals(entry.path("annotations").path(REF_NAME).asText(null))) {
        return blob(entry);
      }
    }
    throw new AssertionError("tag " + tag + " not in " + directory.resolve("index.json"));
  }

  public JsonNode readJson(Blob blob) {
    return readJson(blobPath(blob.digest()));
  }

  /** Reads the image manifest {@code manifest} and the descriptors it lists. */
  public Image readImage(Blob manifest) {
    JsonNode json = readJson(manifest);
    Blob config = blob(json.path("config"));
    List<Blob> layers = new ArrayList<>();
    json.path("layers").forEach(layer -> layers.add(blob(layer)));
    JsonNode configJson = readJson(config);
    return new Image(
        manifest,
        config,
        List.copyOf(layers),
        configJson.path("os").asText(),
        configJson.path("architecture").asText());
  }

  public Image readImage(String tag) {
    return readImage(resolve(tag));
  }

  /** Reads the index {@code index} and each image it lists. */
  public Index readIndex(Blob index) {
    List<Image> images = new ArrayList<>();
    readJson(index).path("manifests").forEach(entry -> images.add(readImage(blob(entry))));
    return new Index(index, List.copyOf(images));
  }

  /**
   * The regular files in a (small) layer, path → content, with leading {@code ./} or {@code /}
   * removed from paths.
   */
  public Map<String, byte[]> readLayerFiles(Blob layer) {
    try (InputStream in = Files.newInputStream(blobPath(layer.digest()))) {
      return TarReader.regularFiles(in);
    } catch (IOException e) {
      throw new UncheckedIOException("cannot read layer " + layer, e);
    }
  }

  /** The regular files in a tar or gzip'd tar held in memory, as {@link #readLayerFiles}. */
  public static Map<String, byte[]> tarFiles(byte[] archive) {
    try {
      return TarReader.regularFiles(new ByteArrayInputStream(archive));
    } catch (IOException e) {
      throw new UncheckedIOException("cannot read tar archive", e);
    }
  }

  /**
   * Checks that every blob reachable from {@code tag} is present with the right size and sha256,
   * walking indexes and manifests.
   *
   * @return the digests checked, root first
   * @throws AssertionError naming the first missing or damaged blob
   */
  public SequencedSet<String> verifyComplete(String tag) {
    SequencedSet<String> seen = new LinkedHashSet<>();
    verify(resolve(tag), seen);
    return seen;
  }

  private void verify(Blob blob, SequencedSet<String> seen) {
    if (!seen.add(blob.digest())) {
      return;
    }
    Path path = blobPath(blob.digest());
    if (!Files.isRegularFile(path)) {
      throw new AssertionError("blob " + blob + " missing from " + directory);
    }
    try {
      long size = Files.size(path);
      if (size != blob.size()) {
        throw new AssertionError("blob " + blob + " has " + size + " bytes in " + directory);
      }
      String actual = sha256(path);
      if (!actual.equals(blob.digest())) {
        throw new AssertionError("blob " + blob + " has digest " + actual + " in " + directory);
      }
    } catch (IOException e) {
      throw new UncheckedIOException(e);
    }
    String mediaType = blob.mediaType() == null ? "" : blob.mediaType();
    if (mediaType.equals(OCI_INDEX) || mediaType.equals(DOCKER_MANIFEST_LIST)) {
      readJson(blob).path("manifests").forEach(entry -> verify(blob(entry), seen));
    } else if (mediaType.equals(OCI_MANIFEST) || mediaType.equals(DOCKER_MANIFEST)) {
      JsonNode manifest = readJson(blob);
      verify(blob(manifest.path("config")), seen);
      manifest.path("layers").forEach(layer -> verify(blob(layer), seen));
    }
  }

  // ---- digests and JSON ----

  public static String sha256(byte[] content) {
    return "sha256:" + HexFormat.of().formatHex(messageDigest().digest(content));
  }

  public static String sha256(Path file) throws IOException {
    MessageDigest digest = messageDigest();
    byte[] buffer = new byte[1 << 20];
    try (InputStream in = Files.newInputStream(file)) {
      for (int n; (n = in.read(buffer)) > 0; ) {
        digest.update(buffer, 0, n);
      }
    }
    return "sha256:" + HexFormat.of().formatHex(digest.digest());
  }

  private static MessageDigest messageDigest() {
    try {
      return MessageDigest.getInstance("SHA-256");
    } catch (NoSuchAlgorithmException e) {
      throw new IllegalStateException(e);
    }
  }

  private static JsonNode readJson(Path path) {
    try {
      return JSON.readTree(path.toFile());
    } catch (IOException e) {
      throw new UncheckedIOException("cannot read JSON " + path, e);
    }
  }

  private static byte[] bytes(JsonNode json) {
    try {
      return JSON.writeValueAsBytes(json);
    } catch (IOException e) {
      throw new UncheckedIOException(e);
    }
  }

  private static ObjectNode descriptor(Blob blob) {
    ObjectNode node = JSON.createObjectNode();
    node.put("mediaType", blob.mediaType());
    node.put("digest", blob.digest());
    node.put("size", blob.size());
    return node;
  }

  private static Blob blob(JsonNode descriptor) {
    return new Blob(
        descriptor.path("mediaType").asText(null),
        descriptor.path("digest").asText(),
        descriptor.path("size").asLong());
  }

  /** A content descriptor: media type, {@code sha256:…} digest and size in bytes. */
  public record Blob(String mediaType, String digest, long size) {
    public Blob {
      Objects.requireNonNull(digest, "digest");
    }
  }

  /** A layer blob and the digest of its uncompressed tar (the config's {@code diff_id}). */
  public record Layer(Blob blob, String diffId) {}

  /** An image manifest with its config and layers, and the platform its config names. */
  public record Image(
      Blob manifest, Blob config, List<Blob> layers, String os, String architecture) {

    public List<String> layerDigests() {
      return layers.stream().map(Blob::digest).toList();
    }
  }

  /** An image index and the images it lists, in order. */
  public record Index(Blob index, List<Image> images) {

    public List<String> manifestDigests() {
      return images.stream().map(image -> image.manifest().digest()).toList();
    }
  }

  /** GZIPOutputStream with a chosen compression level; its header carries no name or time. */
  private static final class LeveledGzipOutputStream extends GZIPOutputStream {
    LeveledGzipOutputStream(OutputStream out, int level) throws IOException {
      super(out, 1 << 16);
      def.setLevel(level);
    }
  }
}
