package dev.berth.config;

import java.io.IOException;
import java.io.StringReader;
import java.nio.file.Files;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Set;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import org.yaml.snakeyaml.DumperOptions;
import org.yaml.snakeyaml.LoaderOptions;
import org.yaml.snakeyaml.Yaml;
import org.yaml.snakeyaml.error.YAMLException;
import org.yaml.snakeyaml.nodes.MappingNode;
import org.yaml.snakeyaml.nodes.Node;
import org.yaml.snakeyaml.nodes.NodeTuple;
import org.yaml.snakeyaml.nodes.ScalarNode;
import org.yaml.snakeyaml.nodes.SequenceNode;
import org.yaml.snakeyaml.nodes.Tag;

/**
 * Loads {@link BerthConfig}: defaults, then the YAML file, then {@code BERTH_*} environment
 * variables, then command-line overrides; then validates. Any problem is one {@link
 * ConfigException} whose message names the key.
 */
public final class ConfigLoader {
  private static final Pattern DURATION = Pattern.compile("(\\d+)(ms|s|m|h|d)");
  private static final Set<String> SECRET_WORDS =
      Set.of("password", "secret", "access-key", "checkpoint-key");

  public ConfigLoader() {}

  /**
   * @param file the YAML file, or null for defaults only
   * @param environment usually {@code System.getenv()}
   * @param overrides key path → value, from the command line
   */
  public BerthConfig load(
      Path file, Map<String, String> environment, Map<String, String> overrides) {
    Map<String, Object> defaults = RecordBinder.toTree(BerthConfig.defaults());
    Map<String, Object> tree = RecordBinder.toTree(BerthConfig.defaults());
    if (file != null) {
      String text;
      try {
        text = Files.readString(file);
      } catch (NoSuchFileException e) {
        throw new ConfigException("configuration file not found: " + file);
      } catch (IOException e) {
        throw new ConfigException(
            "configuration file " + file + " cannot be read: " + e.getMessage());
      }
      Object fromFile;
      try {
        Node root = new Yaml(new LoaderOptions()).compose(new StringReader(text));
        fromFile = root == null ? null : plain(root);
      } catch (YAMLException e) {
        throw new ConfigException(
            "configuration file " + file + " is not valid YAML: " + firstLine(e.getMessage()));
      }
      if (fromFile != null && !"".equals(fromFile)) {
        if (!(fromFile instanceof Map<?, ?> map)) {
          throw new ConfigException("configuration file " + file + " must be a YAML mapping");
        }
        merge(tree, map, "");
      }
    }
    Map<String, String> leaves = new LinkedHashMap<>();
    collectLeaves(defaults, "", leaves);
    for (Map.Entry<String, String> leaf : leaves.entrySet()) {
      String value = environment.get(leaf.getValue());
      if (value != null) {
        set(tree, leaf.getKey(), value);
      }
    }
    for (Map.Entry<String, String> override : overrides.entrySet()) {
      if (!leaves.containsKey(override.getKey())) {
        throw new ConfigException("unknown configuration key '" + override.getKey() + "'");
      }
      set(tree, override.getKey(), override.getValue());
    }
    BerthConfig config = RecordBinder.bind(BerthConfig.class, tree, "");
    validate(config);
    return config;
  }

  /** The environment variable that overrides a key path: {@code server.addr} → {@code BERTH_SERVER_ADDR}. */
  public static String environmentName(String keyPath) {
    return "BERTH_" + keyPath.replace('.', '_').replace('-', '_').toUpperCase(Locale.ROOT);
  }

  /** The effective configuration as YAML, secrets masked. */
  public String describe(BerthConfig config) {
    Map<String, Object> tree = RecordBinder.toTree(config);
    mask(tree);
    DumperOptions options = new DumperOptions();
    options.setDefaultFlowStyle(DumperOptions.FlowStyle.BLOCK);
    options.setIndent(2);
    return new Yaml(options).dump(tree);
  }

  /**
   * A YAML node as plain values: mappings as maps, every scalar as its text. {@code ~} and
   * {@code null} become null (the key keeps its default); an empty value ({@code key:}) stays an
   * empty string, so that a key left empty is reported rather than silently defaulted.
   */
  private static Object plain(Node node) {
    if (node instanceof MappingNode mapping) {
      Map<String, Object> map = new LinkedHashMap<>();
      for (NodeTuple tuple : mapping.getValue()) {
        Object key = plain(tuple.getKeyNode());
        map.put(String.valueOf(key), plain(tuple.getValueNode()));
      }
      return map;
    }
    if (node instanceof SequenceNode sequence) {
      List<Object> list = new ArrayList<>();
      for (Node item : sequence.getValue()) {
        list.add(plain(item));
      }
      return list;
    }
    ScalarNode scalar = (ScalarNode) node;
    if (Tag.NULL.equals(scalar.getTag()) && !scalar.getValue().isEmpty()) {
      return null;
    }
    return scalar.getValue();
  }

  private static void validate(BerthConfig c) {
    require(c.dataDir() != null && !c.dataDir().isBlank(), "data-dir", "must not be empty");
    String addr = c.server().addr();
    int colon = addr == null ? -1 : addr.lastIndexOf(':');
    require(colon >= 0, "server.addr", "must be HOST:PORT, got '" + addr + "'");
    try {
      int port = Integer.parseInt(addr.substring(colon + 1));
      require(port >= 0 && port <= 65535, "server.addr", "port must be 0..65535, got " + port);
    } catch (NumberFormatException e) {
      throw new ConfigException(
          "bad value for configuration key 'server.addr': port is not a number in '" + addr + "'");
    }
    String external = c.server().externalUrl();
    require(
        external == null
            || external.isEmpty()
            || external.startsWith("http://")
            || external.startsWith("https://"),
        "server.external-url",
        "must start with http:// or https://");
    BerthConfig.TlsConfig tls = c.server().tls();
    boolean cert = tls.certFile() != null && !tls.certFile().isEmpty();
    boolean key = tls.keyFile() != null && !tls.keyFile().isEmpty();
    require(cert == key, "server.tls", "cert-file and key-file must be given together");
    if (cert) {
      require(
          Files.isReadable(Path.of(tls.certFile())),
          "server.tls.cert-file",
          "cannot read " + tls.certFile());
      require(
          Files.isReadable(Path.of(tls.keyFile())),
          "server.tls.key-file",
          "cannot read " + tls.keyFile());
    }
    require(
        !c.server().shutdownTimeout().isNegative(),
        "server.shutdown-timeout",
        "must not be negative");
    require(
        Set.of("filesystem", "memory", "s3").contains(c.storage().driver()),
        "storage.driver",
        "must be filesystem, memory or s3, got '" + c.storage().driver() + "'");
    if (c.storage().driver().equals("s3")) {
      BerthConfig.S3Config s3 = c.storage().s3();
      require(!s3.bucket().isBlank(), "storage.s3.bucket", "must be set when storage.driver is s3");
      require(!s3.region().isBlank(), "storage.s3.region", "must not be empty");
      require(
          s3.redirectExpiry().compareTo(Duration.ofSeconds(1)) >= 0
              && s3.redirectExpiry().compareTo(Duration.ofDays(7)) <= 0,
          "storage.s3.redirect-expiry",
          "must be between 1s and 7d (the longest a presigned URL can be valid)");
      String endpoint = s3.endpoint();
      require(
          endpoint.isEmpty() || endpoint.startsWith("http://") || endpoint.startsWith("https://"),
          "storage.s3.endpoint",
          "must start with http:// or https://, got '" + endpoint + "'");
      require(
          s3.accessKey().isEmpty() == s3.secretKey().isEmpty(),
          "storage.s3",
          "access-key and secret-key must be given together");
    }
    String url = c.metadataUrl();
    require(
        url.startsWith("jdbc:sqlite:") || url.startsWith("jdbc:postgresql:"),
        "metadata.url",
        "must be a jdbc:sqlite: or jdbc:postgresql: URL, got '"
            + url.replaceAll("(?i)(password=)[^&]*", "$1********") + "'");
    require(
        c.metadata().poolSize() >= 1,
        "metadata.pool-size",
        "must be at least 1, got " + c.metadata().poolSize());
    require(
        !c.uploads().expiry().isNegative() && !c.uploads().expiry().isZero(),
        "uploads.expiry",
        "must be positive");
    require(c.uploads().chunkMinLength() >= 0, "uploads.chunk-min-length", "must not be negative");
    require(!c.gc().gracePeriod().isNegative(), "gc.grace-period", "must not be negative");
    require(!c.gc().linkHold().isNegative(), "gc.link-hold", "must not be negative");
    require(
        c.gc().busyShare() >= 1 && c.gc().busyShare() <= 100,
        "gc.busy-share",
        "must be a percentage from 1 to 100, got " + c.gc().busyShare());
    require(
        c.auth().tokenLifetime().compareTo(java.time.Duration.ofSeconds(60)) >= 0
            && c.auth().tokenLifetime().compareTo(java.time.Duration.ofHours(24)) <= 0,
        "auth.token-lifetime",
        "must be between 60s and 24h");
    require(
        c.auth().tokenService().matches("[A-Za-z0-9._:-]{1,100}"),
        "auth.token-service",
        "must be 1-100 letters, digits or . _ : -");
    require(
        c.auth().sessionIdleTimeout().compareTo(Duration.ofSeconds(1)) >= 0
            && c.auth().sessionIdleTimeout().compareTo(Duration.ofDays(7)) <= 0,
        "auth.session-idle-timeout",
        "must be between 1s and 7d");
    require(
        c.auth().sessionMaxAge().compareTo(Duration.ofSeconds(1)) >= 0
            && c.auth().sessionMaxAge().compareTo(Duration.ofDays(30)) <= 0,
        "auth.session-max-age",
        "must be between 1s and 30d");
    validateProvider(c.auth());
    require(
        isSchedule(c.gc().schedule()),
        "gc.schedule",
        "must be off, @hourly, @daily or an interval such as 6h, got '" + c.gc().schedule() + "'");
    BerthConfig.AuditConfig audit = c.audit();
    require(audit.retentionDays() >= 0, "audit.retention-days", "must not be negative (0: keep)");
    require(
        audit.checkpointKey().isEmpty() || audit.checkpointKey().length() >= 16,
        "audit.checkpoint-key",
        "must be at least 16 characters (empty: generated in the data directory)");
    require(audit.checkpointInterval() >= 1, "audit.checkpoint-interval", "must be at least 1");
    require(audit.pullBatchSize() >= 1, "audit.pull-batch-size", "must be at least 1");
    BerthConfig.SyslogConfig syslog = audit.syslog();
    require(
        Set.of("udp", "tcp", "tls").contains(syslog.transport()),
        "audit.syslog.transport",
        "must be udp, tcp or tls, got '" + syslog.transport() + "'");
    require(
        syslog.port() >= 1 && syslog.port() <= 65535,
        "audit.syslog.port",
        "must be 1..65535, got " + syslog.port());
    try {
      dev.berth.audit.SyslogForwarder.facility(syslog.facility());
    } catch (IllegalArgumentException e) {
      throw new ConfigException(
          "bad value for configuration key 'audit.syslog.facility': " + e.getMessage());
    }
    if (syslog.enabled()) {
      require(!syslog.host().isBlank(), "audit.syslog.host", "must be set when enabled");
      if (!syslog.tlsCaFile().isEmpty()) {
        require(
            Files.isReadable(Path.of(syslog.tlsCaFile())),
            "audit.syslog.tls-ca-file",
            "cannot read " + syslog.tlsCaFile());
      }
    }
    require(
        Set.of("trace", "debug", "info", "warn", "error").contains(c.log().level()),
        "log.level",
        "must be one of trace, debug, info, warn, error; got '" + c.log().level() + "'");
    require(
        Set.of("plain", "json").contains(c.log().format()),
        "log.format",
        "must be plain or json, got '" + c.log().format() + "'");
  }

  private static void validateProvider(BerthConfig.AuthConfig auth) {
    require(
        Set.of("database", "ldap", "oidc").contains(auth.provider()),
        "auth.provider",
        "must be database, ldap or oidc, got '" + auth.provider() + "'");
    if (auth.provider().equals("ldap")) {
      BerthConfig.LdapConfig ldap = auth.ldap();
      require(
          ldap.url().startsWith("ldap://") || ldap.url().startsWith("ldaps://"),
          "auth.ldap.url",
          "must start with ldap:// or ldaps:// when auth.provider is ldap, got '" + ldap.url()
              + "'");
      require(
          !ldap.userBaseDn().isBlank(),
          "auth.ldap.user-base-dn",
          "must be set when auth.provider is ldap");
      require(
          ldap.userFilter().contains("{0}"),
          "auth.ldap.user-filter",
          "must contain {0} (the username), e.g. (uid={0}) or (sAMAccountName={0})");
      require(
          ldap.bindDn().isEmpty() || !ldap.bindPassword().isEmpty(),
          "auth.ldap.bind-password",
          "must be set with bind-dn");
      require(
          ldap.groupBaseDn().isEmpty() || !ldap.groupFilter().isBlank(),
          "auth.ldap.group-filter",
          "must be set with group-base-dn");
      require(ldap.timeout().isPositive(), "auth.ldap.timeout", "must be positive");
    }
    if (auth.provider().equals("oidc")) {
      BerthConfig.OidcConfig oidc = auth.oidc();
      require(
          oidc.issuer().startsWith("https://") || oidc.issuer().startsWith("http://"),
          "auth.oidc.issuer",
          "must be an http(s) URL when auth.provider is oidc, got '" + oidc.issuer() + "'");
      require(
          !oidc.clientId().isBlank(),
          "auth.oidc.client-id",
          "must be set when auth.provider is oidc");
      require(
          java.util.Arrays.asList(oidc.scopes().trim().split("\\s+")).contains("openid"),
          "auth.oidc.scopes",
          "must contain openid");
      require(!oidc.usernameClaim().isBlank(), "auth.oidc.username-claim", "must not be empty");
    }
  }

  /** The forms {@code dev.berth.gc.GarbageCollectSchedule} accepts. */
  private static boolean isSchedule(String value) {
    String text = value == null ? "" : value.strip();
    if (text.isEmpty()
        || text.equals("off")
        || text.equals("@hourly")
        || text.equals("@daily")
        || text.equals("@midnight")) {
      return true;
    }
    try {
      Duration interval = parseDuration(text);
      return interval.isPositive();
    } catch (RuntimeException e) {
      return false;
    }
  }

  private static void require(boolean condition, String key, String message) {
    if (!condition) {
      throw new ConfigException("bad value for configuration key '" + key + "': " + message);
    }
  }

  @SuppressWarnings("unchecked")
  private static void merge(Map<String, Object> target, Map<?, ?> source, String prefix) {
    for (Map.Entry<?, ?> field : source.entrySet()) {
      String name = String.valueOf(field.getKey());
      String key = prefix + name;
      if (!target.containsKey(name)) {
        throw new ConfigException("unknown configuration key '" + key + "'");
      }
      Object existing = target.get(name);
      Object value = field.getValue();
      if (value == null || (existing instanceof Map<?, ?> && "".equals(value))) {
        // "key: ~", or "section:" whose keys are all commented out: not set, so the default stays.
        continue;
      }
      if (existing instanceof Map<?, ?> && value instanceof Map<?, ?> nested) {
        merge((Map<String, Object>) existing, nested, key + ".");
      } else if (existing instanceof Map<?, ?>) {
        throw new ConfigException(
            "bad value for configuration key '" + key + "': must be a mapping");
      } else {
        target.put(name, value);
      }
    }
  }

  private static void collectLeaves(
      Map<String, Object> node, String prefix, Map<String, String> leaves) {
    for (Map.Entry<String, Object> field : node.entrySet()) {
      String key = prefix + field.getKey();
      if (field.getValue() instanceof Map<?, ?> nested) {
        @SuppressWarnings("unchecked")
        Map<String, Object> child = (Map<String, Object>) nested;
        collectLeaves(child, key + ".", leaves);
      } else {
        leaves.put(key, environmentName(key));
      }
    }
  }

  @SuppressWarnings("unchecked")
  private static void set(Map<String, Object> tree, String keyPath, String value) {
    String[] parts = keyPath.split("\\.");
    Map<String, Object> node = tree;
    for (int i = 0; i < parts.length - 1; i++) {
      Object child = node.get(parts[i]);
      if (!(child instanceof Map<?, ?>)) {
        child = new LinkedHashMap<String, Object>();
        node.put(parts[i], child);
      }
      node = (Map<String, Object>) child;
    }
    node.put(parts[parts.length - 1], value);
  }

  @SuppressWarnings("unchecked")
  private static void mask(Map<String, Object> node) {
    for (Map.Entry<String, Object> field : node.entrySet()) {
      if (field.getValue() instanceof Map<?, ?> nested) {
        mask((Map<String, Object>) nested);
      } else if (isSecret(field.getKey())
          && field.getValue() != null
          && !field.getValue().toString().isEmpty()) {
        field.setValue("********");
      }
    }
  }

  /** A key holding a secret: {@code password}, {@code secret-key}, a {@code token} (not {@code token-lifetime}). */
  private static boolean isSecret(String key) {
    for (String word : SECRET_WORDS) {
      if (key.contains(word)) {
        return true;
      }
    }
    return key.equals("token") || key.endsWith("-token");
  }

  private static String firstLine(String message) {
    if (message == null) {
      return "";
    }
    int newline = message.indexOf('\n');
    return newline < 0 ? message : message.substring(0, newline);
  }

  /** {@code 500ms}, {@code 30s}, {@code 5m}, {@code 24h}, {@code 7d}, {@code 1h30m}, or ISO-8601. */
  public static Duration parseDuration(String text) {
    String value = text.trim();
    if (value.startsWith("P") || value.startsWith("p")) {
      return Duration.parse(value);
    }
    if (value.equals("0")) {
      return Duration.ZERO;
    }
    Matcher matcher = DURATION.matcher(value);
    Duration total = Duration.ZERO;
    int at = 0;
    while (matcher.find() && matcher.start() == at) {
      long amount = Long.parseLong(matcher.group(1));
      total = total.plus(
          switch (matcher.group(2)) {
            case "ms" -> Duration.ofMillis(amount);
            case "s" -> Duration.ofSeconds(amount);
            case "m" -> Duration.ofMinutes(amount);
            case "h" -> Duration.ofHours(amount);
            default -> Duration.ofDays(amount);
          });
      at = matcher.end();
    }
    if (at == 0 || at != value.length()) {
      throw new IllegalArgumentException("not a duration: '" + text + "' (use e.g. 30s, 5m, 24h)");
    }
    return total;
  }

  /** A duration in the shortest form {@link #parseDuration} reads back ({@code 30m}). */
  public static String formatDuration(Duration duration) {
    long millis = duration.toMillis();
    if (millis % 86_400_000 == 0 && millis > 0) {
      return millis / 86_400_000 + "d";
    }
    if (millis % 3_600_000 == 0 && millis > 0) {
      return millis / 3_600_000 + "h";
    }
    if (millis % 60_000 == 0 && millis > 0) {
      return millis / 60_000 + "m";
    }
    if (millis % 1000 == 0) {
      return millis / 1000 + "s";
    }
    return millis + "ms";
  }
}
