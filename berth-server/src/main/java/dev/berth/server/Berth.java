package dev.berth.server;

import com.fasterxml.jackson.databind.ObjectMapper;
import dev.berth.admin.AdminHandler;
import dev.berth.admin.ApiDocsHandler;
import dev.berth.admin.AuditHandler;
import dev.berth.audit.AuditKey;
import dev.berth.audit.AuditLog;
import dev.berth.audit.AuditQuery;
import dev.berth.audit.PurgeAuditLogJob;
import dev.berth.audit.SyslogForwarder;
import dev.berth.auth.AccessController;
import dev.berth.auth.Authenticator;
import dev.berth.auth.ExternalUserService;
import dev.berth.auth.IdentityBootstrap;
import dev.berth.auth.IdentityProvider;
import dev.berth.auth.IdentityService;
import dev.berth.auth.LdapDirectory;
import dev.berth.auth.LoginThrottle;
import dev.berth.auth.OidcHandler;
import dev.berth.auth.OidcLogin;
import dev.berth.auth.PasswordHasher;
import dev.berth.auth.ProjectDao;
import dev.berth.auth.PurgeSessionsJob;
import dev.berth.auth.RegistryAccess;
import dev.berth.auth.RobotDao;
import dev.berth.auth.SessionHandler;
import dev.berth.auth.SessionService;
import dev.berth.auth.TokenHandler;
import dev.berth.auth.TokenService;
import dev.berth.auth.UserDao;
import dev.berth.auth.UserIdentityDao;
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
import dev.berth.http.RequestActivity;
import dev.berth.jobs.Pacer;
import dev.berth.jobs.Scheduler;
import dev.berth.jobs.Task;
import dev.berth.jobs.Worker;
import dev.berth.jobs.sql.SqlJobQueue;
import dev.berth.metadata.BlobDao;
import dev.berth.metadata.Database;
import dev.berth.metadata.ManifestDao;
import dev.berth.metadata.RepositoryDao;
import dev.berth.metadata.TagDao;
import dev.berth.metadata.UploadDao;
import dev.berth.metadata.UsageDao;
import dev.berth.oci.ErrorCode;
import dev.berth.oci.RegistryException;
import dev.berth.settings.Setting;
import dev.berth.settings.SystemSettings;
import dev.berth.storage.BlobDriver;
import dev.berth.storage.BlobStore;
import dev.berth.storage.fs.FsBlobDriver;
import dev.berth.storage.memory.MemoryBlobDriver;
import dev.berth.storage.s3.S3BlobDriver;
import java.io.IOException;
import java.net.InetAddress;
import java.nio.channels.FileChannel;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Clock;
import java.time.Duration;
import java.util.HashMap;
import java.util.Map;
import java.util.Optional;
import java.util.UUID;
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
  /** This node's job worker and scheduler; null in read-only mode or when off. */
  private final Worker worker;

  private final Scheduler scheduler;
  /** The audit log (decision 013); the request paths record into it. */
  private final AuditLog audit;
  /** Syslog forwarding of the audit log; null when off. */
  private final SyslogForwarder syslog;

  private Berth(
      FileChannel lockChannel,
      Database database,
      BlobDriver driver,
      HttpServer http,
      Worker worker,
      Scheduler scheduler,
      AuditLog audit,
      SyslogForwarder syslog) {
    this.lockChannel = lockChannel;
    this.database = database;
    this.driver = driver;
    this.http = http;
    this.worker = worker;
    this.scheduler = scheduler;
    this.audit = audit;
    this.syslog = syslog;
  }

  /**
   * How long after the last registry request the node still counts as busy, so that background
   * work does not spring back to full width between a client's requests (decision 016).
   */
  static final Duration ACTIVITY_QUIET_PERIOD = Duration.ofMillis(250);

  /**
   * The worker's settings: a collection holds its job for 30 s between heartbeats; two loops, so
   * that a schedule firing during a long collection is answered (skipped) at once rather than
   * queued behind it; a stop lets a running collection finish for 5 s, after which its job is
   * queued again and the next claim (here after a restart, or on another node) finishes it.
   */
  static final Worker.Settings WORKER = new Worker.Settings(
      Duration.ofSeconds(30),
      Duration.ofMillis(100),
      Duration.ofSeconds(10),
      2,
      Duration.ofSeconds(5));

  public static Berth start(BerthConfig config) throws Exception {
    return start(config, System.getenv());
  }

  /**
   * @param environment where {@code BERTH_ADMIN_PASSWORD} is looked up at the first start
   */
  public static Berth start(BerthConfig config, Map<String, String> environment) throws Exception {
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
    CompletableFuture<TokenHandler> tokens = new CompletableFuture<>();
    CompletableFuture<AuditHandler> auditApi = new CompletableFuture<>();
    CompletableFuture<OidcHandler> oidc = new CompletableFuture<>();
    CompletableFuture<SessionHandler> sessionApi = new CompletableFuture<>();
    BlobDriver driver = null;
    HttpServer http = null;
    Database database = null;
    Worker worker = null;
    Scheduler scheduler = null;
    AuditLog audit = null;
    SyslogForwarder syslog = null;
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
      RequestActivity activity = new RequestActivity(ACTIVITY_QUIET_PERIOD);
      http.trackActivity("/v2", activity);
      http.route("/v2", exchange -> registry.join().handle(exchange));
      ApiDocsHandler docs = new ApiDocsHandler();
      http.route(ApiDocsHandler.SPEC, docs::handle);
      http.route(ApiDocsHandler.DOCS, docs::handle);
      http.route(AuditHandler.PATH, exchange -> auditApi.join().handle(exchange));
      http.route(OidcHandler.PREFIX, exchange -> oidc(oidc).handle(exchange));
      http.route("/api/v1", exchange -> {
        if (SessionHandler.serves(exchange.path())) {
          SessionHandler handler = sessionApi.join();
          if (handler == null) {
            throw new RegistryException(
                ErrorCode.NOT_FOUND, "no browser sessions: auth.enabled is false");
          }
          handler.handle(exchange);
        } else if (OidcHandler.isCliSecret(exchange.path())) {
          oidc(oidc).handle(exchange);
        } else {
          admin.join().handle(exchange);
        }
      });
      http.route(RegistryAccess.TOKEN_PATH, exchange -> {
        TokenHandler handler = tokens.join();
        if (handler == null) {
          throw new RegistryException(
              ErrorCode.NOT_FOUND, "no token service: auth.enabled is false");
        }
        handler.handle(exchange);
      });
      http.start();
      database = unwrap(opening);
      Json json = unwrap(parsers);
      BlobStore store = new BlobStore(driver);
      AuditKey auditKey = AuditKey.resolve(config.audit().checkpointKey(), dataDir);
      audit = auditLog(config, database, auditKey);
      SystemSettings settings = new SystemSettings(
          database,
          audit,
          new SystemSettings.Defaults(
              config.auth().usersCreateProjects(),
              config.audit().retentionDays(),
              config.auth().sessionIdleTimeout(),
              config.auth().sessionMaxAge()),
          Clock.systemUTC());
      Access access = access(config, database, json.mapper(), environment, audit, settings);
      tokens.complete(access.tokens());
      oidc.complete(access.oidc());
      sessionApi.complete(access.sessionApi());
      registry.complete(registry(config, database, store, json, access.registry(), audit));
      GarbageCollectService collector = garbageCollector(
          config,
          database,
          store,
          json.mapper(),
          new Pacer(activity, config.gc().busyShare()));
      SqlJobQueue queue = new SqlJobQueue(database, Clock.systemUTC());
      GarbageCollectJob gc = new GarbageCollectJob(collector, database, queue);
      PurgeAuditLogJob purge = new PurgeAuditLogJob(
          database, audit, auditKey, settings::auditRetentionDays, Clock.systemUTC());
      PurgeSessionsJob sessionPurge =
          access.sessions() == null ? null : new PurgeSessionsJob(access.sessions());
      String nodeId = nodeId(dataDir);
      // Read-only means nothing is deleted either: no worker, no schedule, the API refuses runs.
      if (!config.server().readOnly()) {
        gc.start(nodeId);
        Map<String, Task> tasks = new HashMap<>(gc.tasks());
        tasks.putAll(purge.tasks());
        if (sessionPurge != null) {
          tasks.putAll(sessionPurge.tasks());
        }
        worker = new Worker(queue, nodeId, tasks, Clock.systemUTC(), WORKER);
        worker.start();
        scheduler = gcSchedule(config, database, queue, gc);
        scheduler = auditSchedule(database, queue, purge, scheduler);
        if (sessionPurge != null) {
          sessionPurge.schedule(scheduler);
        }
        // The retention is a runtime setting: a change redefines (or removes) the daily purge.
        Scheduler running = scheduler;
        settings.onChange(setting -> {
          if (setting == Setting.AUDIT_RETENTION_DAYS) {
            purge.schedule(running);
          }
        });
      }
      syslog = syslogForwarder(config, database, nodeId);
      auditApi.complete(
          new AuditHandler(new AuditQuery(database), json.mapper(), access.registry()));
      admin.complete(new AdminHandler(
          gc,
          collector,
          database,
          new UsageDao(),
          json.mapper(),
          config.server().readOnly(),
          access.registry(),
          new IdentityService(
              database,
              new UserDao(),
              new ProjectDao(),
              new RobotDao(),
              new PasswordHasher(),
              json.mapper(),
              audit),
          new AccessController(new ProjectDao(), settings),
          new ManifestService(
              database,
              new RepositoryDao(),
              new BlobDao(),
              new ManifestDao(),
              new TagDao(),
              json.manifests(),
              json.mapper(),
              audit),
          audit,
          settings));
      if (config.server().readOnly()) {
        log.warn("read-only mode: pushes and deletes are refused");
      }
      return new Berth(lockChannel, database, driver, http, worker, scheduler, audit, syslog);
    } catch (Exception | Error e) {
      registry.completeExceptionally(e);
      admin.completeExceptionally(e);
      tokens.completeExceptionally(e);
      auditApi.completeExceptionally(e);
      if (syslog != null) {
        syslog.close();
      }
      if (audit != null) {
        audit.close();
      }
      oidc.completeExceptionally(e);
      sessionApi.completeExceptionally(e);
      if (scheduler != null) {
        scheduler.close();
      }
      if (worker != null) {
        worker.close();
      }
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

  /**
   * Defines the cluster-wide GC schedule ({@code gc.schedule} as a fixed interval) and starts this
   * node's scheduler loop; with {@code off}, removes the schedule and returns null. The schedule
   * is one row for the cluster: the node that starts last decides its interval.
   */
  static Scheduler gcSchedule(
      BerthConfig config, Database database, SqlJobQueue queue, GarbageCollectJob gc) {
    Optional<Duration> interval = GarbageCollectJob.interval(config.gc().schedule());
    Duration poll =
        interval.filter(d -> d.compareTo(Duration.ofSeconds(1)) < 0).orElse(Duration.ofSeconds(1));
    Scheduler scheduler = new Scheduler(database, queue, Clock.systemUTC(), poll);
    if (interval.isEmpty()) {
      scheduler.remove(GarbageCollectJob.SCHEDULE);
      return null;
    }
    scheduler.define(
        GarbageCollectJob.SCHEDULE,
        GarbageCollectJob.SCHEDULED,
        gc.schedulePayload(config.gc().deleteUntagged()),
        interval.get());
    scheduler.start();
    return scheduler;
  }

  /** The audit log over the registry's database (decision 013). */
  static AuditLog auditLog(BerthConfig config, Database database, AuditKey key) {
    return new AuditLog(
        database,
        key,
        new AuditLog.Settings(
            config.audit().checkpointInterval(), config.audit().pullBatchSize()),
        Clock.systemUTC());
  }

  /**
   * Defines (or, at {@code audit.retention-days: 0}, removes) the daily audit purge, on the GC
   * schedule's scheduler or a new one, and returns the running scheduler. It runs even when no
   * schedule is on now: the retention and the session purge are defined on it, and the
   * retention may be switched on at runtime ({@code /api/v1/system/settings}).
   */
  static Scheduler auditSchedule(
      Database database, SqlJobQueue queue, PurgeAuditLogJob purge, Scheduler running) {
    Scheduler scheduler = running != null
        ? running
        : new Scheduler(database, queue, Clock.systemUTC(), Duration.ofSeconds(1));
    purge.schedule(scheduler);
    if (running == null) {
      scheduler.start();
    }
    return scheduler;
  }

  /** Syslog forwarding of the audit log when {@code audit.syslog.enabled}; null otherwise. */
  static SyslogForwarder syslogForwarder(BerthConfig config, Database database, String nodeId) {
    BerthConfig.SyslogConfig syslog = config.audit().syslog();
    if (!syslog.enabled()) {
      return null;
    }
    return new SyslogForwarder(
            database,
            new SyslogForwarder.Settings(
                SyslogForwarder.Transport.parse(syslog.transport()),
                syslog.host(),
                syslog.port(),
                SyslogForwarder.facility(syslog.facility()),
                syslog.appName(),
                syslog.tlsCaFile(),
                Duration.ofMillis(250)),
            nodeId,
            Clock.systemUTC())
        .start();
  }

  /**
   * This node's name on the job queue, kept in the data directory ({@code node-id}) so that a
   * restarted process knows the jobs its previous one held (one process per data directory).
   */
  static String nodeId(Path dataDir) throws IOException {
    Path file = dataDir.resolve("node-id");
    if (Files.exists(file)) {
      String id = Files.readString(file, StandardCharsets.UTF_8).strip();
      if (!id.isEmpty()) {
        return id;
      }
    }
    String host;
    try {
      host = InetAddress.getLocalHost().getHostName();
    } catch (IOException e) {
      host = "node";
    }
    String id = host + "-" + UUID.randomUUID().toString().substring(0, 8);
    Files.writeString(file, id + "\n", StandardCharsets.UTF_8);
    return id;
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
      BerthConfig config, Database database, BlobStore store, ObjectMapper json, Pacer pacer) {
    return new GarbageCollectService(
        database,
        store,
        new UploadDao(),
        new GarbageCollectDao(new BlobDao()),
        json,
        config.gc().gracePeriod(),
        config.gc().linkHold(),
        config.uploads().expiry(),
        Clock.systemUTC(),
        pacer);
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

  /**
   * Access control: the {@code /v2} gate, the token endpoint, OIDC logins (or null), and browser
   * sessions (null when access control is off).
   */
  private record Access(
      RegistryAccess registry,
      TokenHandler tokens,
      OidcHandler oidc,
      SessionService sessions,
      SessionHandler sessionApi) {}

  private static OidcHandler oidc(CompletableFuture<OidcHandler> oidc) {
    OidcHandler handler = oidc.join();
    if (handler == null) {
      throw new RegistryException(
          ErrorCode.NOT_FOUND, "no OIDC login here: auth.provider is not oidc");
    }
    return handler;
  }

  private static Access access(
      BerthConfig config,
      Database database,
      ObjectMapper json,
      Map<String, String> environment,
      AuditLog audit,
      SystemSettings settings)
      throws IOException {
    BerthConfig.AuthConfig auth = config.auth();
    if (!auth.enabled()) {
      log.warn("auth.enabled is false: anyone can push, pull and delete without credentials;"
          + " use this for throwaway local registries only");
      RegistryAccess open = RegistryAccess.disabled();
      return new Access(open, null, null, null, null);
    }
    UserDao users = new UserDao();
    ProjectDao projects = new ProjectDao();
    PasswordHasher hasher = new PasswordHasher();
    if (!config.server().readOnly()) {
      new IdentityBootstrap(database, users, projects, hasher).run(environment);
    }
    boolean generatedKey = auth.tokenKeyFile() == null || auth.tokenKeyFile().isEmpty();
    java.security.interfaces.RSAPrivateCrtKey signingKey =
        TokenService.loadOrCreateKey(Path.of(config.tokenKeyFile()), generatedKey);
    TokenService tokenService = new TokenService(
        signingKey,
        auth.tokenService(),
        auth.tokenService(),
        auth.tokenLifetime(),
        Duration.ofDays(7),
        Clock.systemUTC());
    IdentityProvider provider = IdentityProvider.parse(auth.provider());
    ExternalUserService externalUsers =
        new ExternalUserService(database, users, new UserIdentityDao(), hasher);
    Authenticator authenticator = new Authenticator(
        database,
        users,
        new RobotDao(),
        hasher,
        json,
        new LoginThrottle(Clock.systemUTC(), true),
        audit,
        Clock.systemUTC(),
        provider,
        provider == IdentityProvider.LDAP ? new LdapDirectory(auth.ldap()) : null,
        externalUsers);
    AccessController controller = new AccessController(projects, settings);
    SessionService sessions =
        new SessionService(database, authenticator, settings, audit, Clock.systemUTC());
    RegistryAccess registry = new RegistryAccess(
        true,
        database,
        authenticator,
        controller,
        tokenService,
        projects,
        config.server().externalUrl(),
        audit,
        sessions);
    OidcHandler oidc = null;
    if (provider == IdentityProvider.OIDC) {
      oidc = new OidcHandler(
          new OidcLogin(
              auth.oidc(), OidcLogin.stateKey(signingKey.getEncoded()), json, Clock.systemUTC()),
          externalUsers,
          registry,
          sessions,
          audit,
          json,
          config.server().externalUrl());
    }
    if (provider != IdentityProvider.DATABASE) {
      log.info(
          "identities from {}; the local admin account and robot accounts still use the"
              + " database",
          provider.value());
    }
    return new Access(
        registry,
        new TokenHandler(database, authenticator, controller, tokenService, json, audit),
        oidc,
        sessions,
        new SessionHandler(sessions, registry, json, config.server().externalUrl()));
  }

  private static RegistryHandler registry(
      BerthConfig config,
      Database database,
      BlobStore store,
      Json json,
      RegistryAccess access,
      AuditLog audit) {
    RepositoryDao repositories = new RepositoryDao();
    BlobDao blobs = new BlobDao();
    ManifestDao manifests = new ManifestDao();
    TagDao tags = new TagDao();
    UploadDao uploads = new UploadDao();
    return new RegistryHandler(
        new ManifestService(
            database,
            repositories,
            blobs,
            manifests,
            tags,
            json.manifests(),
            json.mapper(),
            audit,
            config.audit().pulls()),
        new BlobService(
            database,
            repositories,
            blobs,
            store,
            config.server().readOnly()
                ? Optional.empty()
                : Optional.of(BlobService.holdRefresh(config.gc().linkHold())),
            config.storage().s3().redirectExpiry()),
        new UploadService(database, repositories, blobs, uploads, store),
        new RepositoryService(database, repositories, tags),
        json.mapper(),
        new RegistryHandler.Settings(
            config.server().externalUrl(),
            config.server().readOnly(),
            config.uploads().chunkMinLength()),
        access);
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

  /** The audit log, for the request paths to record into. */
  public AuditLog audit() {
    return audit;
  }

  public void join() throws InterruptedException {
    http.join();
  }

  @Override
  public void close() throws Exception {
    try {
      // Jobs first (gracefully: a running collection gets the worker's stop grace), then HTTP,
      // and the database last.
      if (scheduler != null) {
        scheduler.close();
      }
      if (worker != null) {
        worker.close();
      }
      http.close();
    } finally {
      // After HTTP: the requests are done, so the queued pull records are all there to write;
      // then forwarding sends what the log holds.
      try {
        audit.close();
      } finally {
        if (syslog != null) {
          syslog.close();
        }
      }
      database.close();
      driver.close();
      lockChannel.close();
    }
  }
}
