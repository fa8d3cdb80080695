package dev.berth.config;

import java.time.Duration;

/**
 * The whole configuration, loaded and validated once at start-up by {@link ConfigLoader}. Keys
 * are the kebab-case paths of these records ({@code server.external-url}); every key can be
 * overridden by an environment variable {@code BERTH_<PATH>} ({@code BERTH_SERVER_EXTERNAL_URL}).
 */
public record BerthConfig(
    String dataDir,
    ServerConfig server,
    StorageConfig storage,
    MetadataConfig metadata,
    UploadsConfig uploads,
    LogConfig log) {

  public record ServerConfig(
      String addr,
      String externalUrl,
      boolean readOnly,
      TlsConfig tls,
      boolean http2,
      Duration shutdownTimeout) {}

  public record TlsConfig(String certFile, String keyFile) {
    public boolean enabled() {
      return certFile != null && !certFile.isEmpty();
    }
  }

  public record StorageConfig(String driver, FilesystemConfig filesystem) {}

  public record FilesystemConfig(String root) {}

  public record MetadataConfig(String url) {}

  public record UploadsConfig(Duration expiry, long chunkMinLength) {}

  public record LogConfig(String level, String format, boolean accessLog) {}

  public static BerthConfig defaults() {
    return new BerthConfig(
        "./data",
        new ServerConfig("0.0.0.0:5000", "", false, new TlsConfig("", ""), true, Duration.ofSeconds(30)),
        new StorageConfig("filesystem", new FilesystemConfig("")),
        new MetadataConfig(""),
        new UploadsConfig(Duration.ofHours(24), 0),
        new LogConfig("info", "plain", true));
  }

  /** Where blobs live: {@code storage.filesystem.root}, or {@code <data-dir>/blobs}. */
  public String blobRoot() {
    String root = storage.filesystem().root();
    return root == null || root.isEmpty() ? dataDir + "/blobs" : root;
  }

  /** The metadata database URL: {@code metadata.url}, or SQLite at {@code <data-dir>/berth.db}. */
  public String metadataUrl() {
    String url = metadata.url();
    return url == null || url.isEmpty() ? "jdbc:sqlite:" + dataDir + "/berth.db" : url;
  }
}
