package dev.berth.server;

import com.fasterxml.jackson.databind.ObjectMapper;
import dev.berth.config.BerthConfig;
import dev.berth.distribution.BlobService;
import dev.berth.distribution.ManifestParser;
import dev.berth.distribution.ManifestService;
import dev.berth.distribution.RegistryHandler;
import dev.berth.distribution.RepositoryService;
import dev.berth.distribution.UploadService;
import dev.berth.http.ErrorResponses;
import dev.berth.http.HttpServer;
import dev.berth.metadata.BlobDao;
import dev.berth.metadata.Database;
import dev.berth.metadata.ManifestDao;
import dev.berth.metadata.RepositoryDao;
import dev.berth.metadata.TagDao;
import dev.berth.metadata.UploadDao;
import dev.berth.storage.BlobDriver;
import dev.berth.storage.BlobStore;
import dev.berth.storage.fs.FsBlobDriver;
import dev.berth.storage.memory.MemoryBlobDriver;
import java.io.IOException;
import java.nio.channels.FileChannel;
import java.nio.channels.FileLock;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/** The composition root: builds every part from the configuration with plain constructors. */
public final class Berth implements AutoCloseable {
  private static final Logger log = LoggerFactory.getLogger(Berth.class);

  private final FileChannel lockChannel;
  private final Database database;
  private final BlobDriver driver;
  private final HttpServer http;

  private Berth(FileChannel lockChannel, Database database, BlobDriver driver, HttpServer http) {
    this.lockChannel = lockChannel;
    this.database = database;
    this.driver = driver;
    this.http = http;
  }

  public static Berth start(BerthConfig config) throws Exception {
    Path dataDir = Files.createDirectories(Path.of(config.dataDir()));
    FileChannel lockChannel = lockDataDir(dataDir);
    Database database = null;
    BlobDriver driver = null;
    try {
      database = Database.open(config.metadataUrl());
      driver =
          switch (config.storage().driver()) {
            case "memory" -> new MemoryBlobDriver();
            default -> new FsBlobDriver(Path.of(config.blobRoot()));
          };
      BlobStore store = new BlobStore(driver);
      ObjectMapper json = new ObjectMapper();
      RepositoryDao repositories = new RepositoryDao();
      BlobDao blobs = new BlobDao();
      ManifestDao manifests = new ManifestDao();
      TagDao tags = new TagDao();
      UploadDao uploads = new UploadDao();
      RegistryHandler registry =
          new RegistryHandler(
              new ManifestService(database, repositories, blobs, manifests, tags, new ManifestParser(), json),
              new BlobService(database, repositories, blobs, store),
              new UploadService(database, repositories, blobs, uploads, store),
              new RepositoryService(database, repositories, tags),
              json,
              new RegistryHandler.Settings(
                  config.server().externalUrl(),
                  config.server().readOnly(),
                  config.uploads().chunkMinLength()));
      String addr = config.server().addr();
      int colon = addr.lastIndexOf(':');
      String host = addr.substring(0, colon);
      if (host.startsWith("[") && host.endsWith("]")) {
        host = host.substring(1, host.length() - 1);
      }
      BerthConfig.TlsConfig tls = config.server().tls();
      Database db = database;
      BlobDriver storage = driver;
      HttpServer http =
          new HttpServer(
              new HttpServer.Settings(
                  host.isEmpty() ? "0.0.0.0" : host,
                  Integer.parseInt(addr.substring(colon + 1)),
                  tls.enabled() ? tls.certFile() : null,
                  tls.enabled() ? tls.keyFile() : null,
                  config.server().http2(),
                  config.log().accessLog(),
                  config.server().shutdownTimeout()),
              new ErrorResponses(json),
              () -> db.isHealthy() && storageReachable(storage));
      http.route("/v2", registry::handle);
      http.start();
      if (config.server().readOnly()) {
        log.warn("read-only mode: pushes and deletes are refused");
      }
      return new Berth(lockChannel, database, driver, http);
    } catch (Exception | Error e) {
      if (database != null) {
        database.close();
      }
      if (driver != null) {
        driver.close();
      }
      lockChannel.close();
      throw e;
    }
  }

  private static boolean storageReachable(BlobDriver driver) {
    try {
      driver.stat("readyz-probe");
      return true;
    } catch (IOException | RuntimeException e) {
      return false;
    }
  }

  /** One process per data directory: a second one would split the single-writer database. */
  private static FileChannel lockDataDir(Path dataDir) throws IOException {
    FileChannel channel =
        FileChannel.open(dataDir.resolve(".lock"), StandardOpenOption.CREATE, StandardOpenOption.WRITE);
    FileLock lock = channel.tryLock();
    if (lock == null) {
      channel.close();
      throw new IllegalStateException(
          "data directory " + dataDir.toAbsolutePath() + " is in use by another Berth process");
    }
    return channel;
  }

  public int port() {
    return http.port();
  }

  public void join() throws InterruptedException {
    http.join();
  }

  @Override
  public void close() throws Exception {
    try {
      http.close();
    } finally {
      database.close();
      driver.close();
      lockChannel.close();
    }
  }
}
