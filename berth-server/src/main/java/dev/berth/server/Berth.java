package dev.berth.server;

import com.fasterxml.jackson.databind.ObjectMapper;
import dev.berth.admin.AdminHandler;
import dev.berth.config.BerthConfig;
import dev.berth.distribution.BlobService;
import dev.berth.distribution.ManifestParser;
import dev.berth.distribution.ManifestService;
import dev.berth.distribution.RegistryHandler;
import dev.berth.distribution.RepositoryService;
import dev.berth.distribution.UploadService;
import dev.berth.gc.GarbageCollectDao;
import dev.berth.gc.GarbageCollectJob;
import dev.berth.gc.GarbageCollectService;
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
import dev.berth.storage.s3.S3BlobDriver;
import java.io.IOException;
import java.nio.channels.FileChannel;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Clock;
import java.util.concurrent.CompletableFuture;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/** The composition root: builds every part from the configuration with plain constructors. */
public final class Berth implements AutoCloseable {
  private static final Logger log = LoggerFactory.getLogger(Berth.class);

  private final FileChannel lockChannel;
  private final Database database;
  private final BlobDriver driver;
  private final HttpServer http;
  private final GarbageCollectJob gc;

  private Berth(
      FileChannel lockChannel,
      Database database,
      BlobDriver driver,
      HttpServer http,
      GarbageCollectJob gc) {
    this.lockChannel = lockChannel;
    this.database = database;
    this.driver = driver;
    this.http = http;
    this.gc = gc;
  }

  public static Berth start(BerthConfig config) throws Exception {
    Path dataDir = Files.createDirectories(Path.of(config.dataDir()));
    FileChannel lockChannel = lockDataDir(dataDir);
    // Start-up runs in parallel: the metadata database opens (and migrates) and the JSON parsers
    // load on their own threads while storage connects and Jetty starts on this one. The /v2
    // routes wait for the registry, and start() returns only when everything is ready.
    CompletableFuture<Database> opening =
        CompletableFuture.supplyAsync(() -> openDatabase(config), Berth::startThread);
    CompletableFuture<Json> parsers = CompletableFuture.supplyAsync(Json::new, Berth::startThread);
    CompletableFuture<RegistryHandler> registry = new CompletableFuture<>();
    CompletableFuture<AdminHandler> admin = new CompletableFuture<>();
    BlobDriver driver = null;
    HttpServer http = null;
    Database database = null;
    try {
      driver = openDriver(config);
      BlobDriver storage = driver;
      String addr = config.server().addr();
      int colon = addr.lastIndexOf(':');
      String host = addr.substring(0, colon);
      if (host.startsWith("[") && host.endsWith("]")) {
        host = host.substring(1, host.length() - 1);
      }
      BerthConfig.TlsConfig tls = config.server().tls();
      http = new HttpServer(
          new HttpServer.Settings(
              host.isEmpty() ? "0.0.0.0" : host,
              Integer.parseInt(addr.substring(colon + 1)),
              tls.enabled() ? tls.certFile() : null,
              tls.enabled() ? tls.keyFile() : null,
              config.server().http2(),
              config.log().accessLog(),
              config.server().shutdownTimeout()),
          new ErrorResponses(),
          () -> registry.isDone() && opening.join().isHealthy() && storageReachable(storage));
      http.route("/v2", exchange -> registry.join().handle(exchange));
      http.route("/api/v1", exchange -> admin.join().handle(exchange));
      http.start();
      database = unwrap(opening);
      Json json = unwrap(parsers);
      BlobStore store = new BlobStore(driver);
      registry.complete(registry(config, database, store, json));
      GarbageCollectService collector = garbageCollector(config, database, store, json.mapper());
      // Read-only means nothing is deleted either: no scheduled runs, and the API refuses them.
      String schedule = config.server().readOnly() ? "off" : config.gc().schedule();
      GarbageCollectJob gc = new GarbageCollectJob(
              collector, schedule, config.gc().deleteUntagged(), Clock.systemUTC())
          .start();
      admin.complete(
          new AdminHandler(gc, collector, json.mapper(), config.server().readOnly()));
      if (config.server().readOnly()) {
        log.warn("read-only mode: pushes and deletes are refused");
      }
      return new Berth(lockChannel, database, driver, http, gc);
    } catch (Exception | Error e) {
      registry.completeExceptionally(e);
      admin.completeExceptionally(e);
      if (http != null) {
        try {
          http.close();
        } catch (Exception suppressed) {
          e.addSuppressed(suppressed);
        }
      }
      Database opened =
          database != null ? database : opening.exceptionally(t -> null).join();
      if (opened != null) {
        opened.close();
      }
      if (driver != null) {
        driver.close();
      }
      lockChannel.close();
      throw e;
    }
  }

  /** The blob driver {@code storage.driver} names. */
  static BlobDriver openDriver(BerthConfig config) throws IOException {
    return switch (config.storage().driver()) {
      case "memory" -> new MemoryBlobDriver();
      case "s3" -> S3BlobDriver.connect(config.storage().s3());
      default -> new FsBlobDriver(Path.of(config.blobRoot()));
    };
  }

  /** Garbage collection over the registry's database and store (also for {@code berth gc --verify}). */
  static GarbageCollectService garbageCollector(
      BerthConfig config, Database database, BlobStore store, ObjectMapper json) {
    return new GarbageCollectService(
        database,
        store,
        new UploadDao(),
        new GarbageCollectDao(new BlobDao()),
        json,
        config.gc().gracePeriod(),
        config.uploads().expiry(),
        Clock.systemUTC());
  }

  static Database openDatabase(BerthConfig config) {
    BerthConfig.MetadataConfig metadata = config.metadata();
    return Database.open(
        config.metadataUrl(), metadata.username(), metadata.password(), metadata.poolSize());
  }

  /** The JSON parsers, which take a while to load and are built off the start-up path. */
  private record Json(ObjectMapper mapper, ManifestParser manifests) {
    Json() {
      this(new ObjectMapper(), new ManifestParser());
    }
  }

  private static RegistryHandler registry(
      BerthConfig config, Database database, BlobStore store, Json json) {
    RepositoryDao repositories = new RepositoryDao();
    BlobDao blobs = new BlobDao();
    ManifestDao manifests = new ManifestDao();
    TagDao tags = new TagDao();
    UploadDao uploads = new UploadDao();
    return new RegistryHandler(
        new ManifestService(
            database, repositories, blobs, manifests, tags, json.manifests(), json.mapper()),
        new BlobService(database, repositories, blobs, store),
        new UploadService(database, repositories, blobs, uploads, store),
        new RepositoryService(database, repositories, tags),
        json.mapper(),
        new RegistryHandler.Settings(
            config.server().externalUrl(),
            config.server().readOnly(),
            config.uploads().chunkMinLength()));
  }

  private static void startThread(Runnable task) {
    Thread.ofPlatform().name("berth-start").daemon().start(task);
  }

  /** Waits for a start-up task; its failure is rethrown as itself, not wrapped. */
  private static <T> T unwrap(CompletableFuture<T> future) throws Exception {
    try {
      return future.join();
    } catch (java.util.concurrent.CompletionException e) {
      if (e.getCause() instanceof Exception cause) {
        throw cause;
      }
      if (e.getCause() instanceof Error error) {
        throw error;
      }
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
    FileChannel lock = DataDirectoryLock.tryLock(dataDir);
    if (lock == null) {
      throw new IllegalStateException(
          "data directory " + dataDir.toAbsolutePath() + " is in use by another Berth process");
    }
    return lock;
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
      gc.close();
      http.close();
    } finally {
      database.close();
      driver.close();
      lockChannel.close();
    }
  }
}
