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
    GcConfig gc,
    AuthConfig auth,
    AuditConfig audit,
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

  public record StorageConfig(String driver, FilesystemConfig filesystem, S3Config s3) {}

  public record FilesystemConfig(String root) {}

  /**
   * {@code storage.s3}: a bucket on S3 or an S3-compatible store (MinIO, Ceph). An empty endpoint
   * means AWS; empty keys mean the SDK's default credential chain (environment, profile, instance
   * role). {@code path-style} addresses the bucket in the path, as MinIO and Ceph usually need.
   * {@code redirect} answers a blob download with {@code 307} to a presigned URL valid for {@code
   * redirect-expiry}, so that the bytes go from the bucket to the client, not through the node.
   */
  public record S3Config(
      String endpoint,
      String region,
      String bucket,
      String prefix,
      String accessKey,
      String secretKey,
      boolean pathStyle,
      boolean createBucket,
      boolean redirect,
      Duration redirectExpiry) {

    /** Without the download redirect, for callers that only store bytes. */
    public S3Config(
        String endpoint,
        String region,
        String bucket,
        String prefix,
        String accessKey,
        String secretKey,
        boolean pathStyle,
        boolean createBucket) {
      this(
          endpoint,
          region,
          bucket,
          prefix,
          accessKey,
          secretKey,
          pathStyle,
          createBucket,
          false,
          Duration.ofMinutes(20));
    }
  }

  /**
   * {@code metadata}: where the source of truth lives. {@code url} is {@code jdbc:sqlite:…} (empty:
   * {@code <data-dir>/berth.db}) or {@code jdbc:postgresql://…}; {@code username}, {@code password}
   * and {@code pool-size} (connections per node) are used with PostgreSQL only.
   */
  public record MetadataConfig(String url, String username, String password, int poolSize) {}

  public record UploadsConfig(Duration expiry, long chunkMinLength) {}

  /**
   * {@code gc}: online garbage collection (decision 008). {@code grace-period}: how long a blob
   * stays after it lost its last reference; {@code link-hold}: how long a blob uploaded, mounted
   * or checked ({@code HEAD}/{@code GET}) in a repository stays linked there waiting for a
   * manifest that lists it (decision 012); {@code schedule}: {@code off}, {@code @hourly}, {@code
   * @daily} or an interval such as {@code 6h}; {@code delete-untagged}: whether scheduled runs
   * also delete untagged manifests; {@code busy-share}: the share of time in percent (1–100) a
   * run may take while its node serves registry requests (decision 016; 100: never gives way).
   */
  public record GcConfig(
      Duration gracePeriod,
      Duration linkHold,
      String schedule,
      boolean deleteUntagged,
      int busyShare) {}

  /**
   * {@code auth}: identities and access control (issue 4). {@code enabled}: off only for
   * throwaway local use (anonymous push and pull); {@code users-create-projects}: whether every
   * user may create a project (by pushing into it), else only administrators; {@code
   * token-key-file}: the PKCS#8 PEM RSA key that signs registry tokens, the same file on every
   * node (empty: {@code <data-dir>/token-key.pem}, generated at first start); {@code
   * token-lifetime}: how long a token is valid; {@code token-service}: the service name clients
   * ask tokens for and tokens are issued to; {@code provider}: where people's identities come
   * from, {@code database}, {@code ldap} or {@code oidc} (the local {@code admin} works with
   * each); {@code session-idle-timeout}: a browser session of the management API unused this
   * long ends (changeable at runtime, {@code /api/v1/system/settings}); {@code session-max-age}:
   * a session ends this long after login whatever its use (changeable at runtime too).
   */
  public record AuthConfig(
      boolean enabled,
      boolean usersCreateProjects,
      String tokenKeyFile,
      Duration tokenLifetime,
      String tokenService,
      String provider,
      LdapConfig ldap,
      OidcConfig oidc,
      Duration sessionIdleTimeout,
      Duration sessionMaxAge) {}

  /**
   * {@code auth.ldap}: an LDAP directory or Active Directory (decision 014). {@code url}: {@code
   * ldap://} or {@code ldaps://}; {@code bind-dn} and {@code bind-password}: the service account
   * that searches (empty: anonymous); {@code user-filter}: {@code {0}} is the username, escaped;
   * {@code group-filter}: {@code {0}} is the user's DN, {@code {1}} its username; {@code
   * admin-group}: a group DN or name whose members are system administrators (empty: Berth's own
   * admin flag counts).
   */
  public record LdapConfig(
      String url,
      String bindDn,
      String bindPassword,
      String userBaseDn,
      String userFilter,
      String groupBaseDn,
      String groupFilter,
      String groupNameAttribute,
      String adminGroup,
      Duration timeout) {}

  /**
   * {@code auth.oidc}: OpenID Connect for people (decision 014). {@code issuer}: the provider's
   * issuer URL (discovery at {@code <issuer>/.well-known/openid-configuration}); {@code scopes}:
   * space-separated; {@code username-claim}, {@code groups-claim}: ID token claims; {@code
   * admin-group}: a group whose members are system administrators (empty: Berth's own admin flag
   * counts). The redirect URL is {@code <server.external-url>/api/v1/oidc/callback}.
   */
  public record OidcConfig(
      String issuer,
      String clientId,
      String clientSecret,
      String scopes,
      String usernameClaim,
      String groupsClaim,
      String adminGroup) {}

  /**
   * {@code audit}: the operation audit log (decision 013). {@code retention-days}: records older
   * than this are purged daily (0: kept forever); {@code checkpoint-key}: the HMAC key that signs
   * the chain's checkpoints (empty: generated into {@code <data-dir>/audit-checkpoint.key}; nodes
   * sharing PostgreSQL must set the same one); {@code checkpoint-interval}: records between
   * signed checkpoints; {@code pulls}: whether manifest pulls are recorded (Harbor lets an
   * operator leave pull events out too); {@code pull-batch-size}: pull records queued at most,
   * written one batch per transaction (a crash loses at most this many).
   */
  public record AuditConfig(
      int retentionDays,
      String checkpointKey,
      int checkpointInterval,
      boolean pulls,
      int pullBatchSize,
      SyslogConfig syslog) {}

  /**
   * {@code audit.syslog}: forwarding to a syslog receiver as RFC 5424 messages. {@code
   * transport}: {@code udp}, {@code tcp} (octet counting) or {@code tls}; {@code facility}: a name
   * ({@code local0}, {@code auth}, …) or 0..23; {@code tls-ca-file}: PEM certificates to trust
   * (empty: the JVM's trust store).
   */
  public record SyslogConfig(
      boolean enabled,
      String transport,
      String host,
      int port,
      String facility,
      String appName,
      String tlsCaFile) {}

  public record LogConfig(String level, String format, boolean accessLog) {}

  public static BerthConfig defaults() {
    return new BerthConfig(
        "./data",
        new ServerConfig(
            "0.0.0.0:5000", "", false, new TlsConfig("", ""), true, Duration.ofSeconds(30)),
        new StorageConfig(
            "filesystem",
            new FilesystemConfig(""),
            new S3Config(
                "", "us-east-1", "", "", "", "", false, false, true, Duration.ofMinutes(20))),
        new MetadataConfig("", "", "", 16),
        new UploadsConfig(Duration.ofHours(24), 0),
        new GcConfig(Duration.ofHours(1), Duration.ofHours(1), "off", false, 10),
        new AuthConfig(
            true,
            true,
            "",
            Duration.ofMinutes(5),
            "berth",
            "database",
            new LdapConfig(
                "", "", "", "", "(uid={0})", "", "(member={0})", "cn", "", Duration.ofSeconds(5)),
            new OidcConfig(
                "", "", "", "openid profile email groups", "preferred_username", "groups", ""),
            Duration.ofMinutes(30),
            Duration.ofHours(12)),
        new AuditConfig(
            0,
            "",
            1000,
            true,
            20_000,
            new SyslogConfig(false, "udp", "", 514, "local0", "berth", "")),
        new LogConfig("info", "plain", true));
  }

  /** Where blobs live: {@code storage.filesystem.root}, or {@code <data-dir>/blobs}. */
  public String blobRoot() {
    String root = storage.filesystem().root();
    return root == null || root.isEmpty() ? dataDir + "/blobs" : root;
  }

  /** The token signing key: {@code auth.token-key-file}, or {@code <data-dir>/token-key.pem}. */
  public String tokenKeyFile() {
    String file = auth.tokenKeyFile();
    return file == null || file.isEmpty() ? dataDir + "/token-key.pem" : file;
  }

  /** The metadata database URL: {@code metadata.url}, or SQLite at {@code <data-dir>/berth.db}. */
  public String metadataUrl() {
    String url = metadata.url();
    return url == null || url.isEmpty() ? "jdbc:sqlite:" + dataDir + "/berth.db" : url;
  }
}
