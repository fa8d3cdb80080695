package dev.berth.config;

import com.fasterxml.jackson.core.JsonParser;
import com.fasterxml.jackson.databind.DeserializationContext;
import com.fasterxml.jackson.databind.DeserializationFeature;
import com.fasterxml.jackson.databind.JsonDeserializer;
import com.fasterxml.jackson.databind.JsonMappingException;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.PropertyNamingStrategies;
import com.fasterxml.jackson.databind.SerializationFeature;
import com.fasterxml.jackson.databind.cfg.CoercionAction;
import com.fasterxml.jackson.databind.cfg.CoercionInputShape;
import com.fasterxml.jackson.databind.exc.UnrecognizedPropertyException;
import com.fasterxml.jackson.databind.module.SimpleModule;
import com.fasterxml.jackson.databind.node.JsonNodeFactory;
import com.fasterxml.jackson.databind.node.ObjectNode;
import com.fasterxml.jackson.databind.node.TextNode;
import com.fasterxml.jackson.core.JsonGenerator;
import com.fasterxml.jackson.databind.JsonSerializer;
import com.fasterxml.jackson.databind.SerializerProvider;
import com.fasterxml.jackson.dataformat.yaml.YAMLFactory;
import com.fasterxml.jackson.dataformat.yaml.YAMLGenerator;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;
import java.time.Duration;
import java.util.Iterator;
import java.util.LinkedHashMap;
import java.util.Locale;
import java.util.Map;
import java.util.Set;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/**
 * Loads {@link BerthConfig}: defaults, then the YAML file, then {@code BERTH_*} environment
 * variables, then command-line overrides; then validates. Any problem is one {@link
 * ConfigException} whose message names the key.
 */
public final class ConfigLoader {
  private static final Pattern DURATION = Pattern.compile("(\\d+)(ms|s|m|h|d)");
  private static final Set<String> SECRET_WORDS = Set.of("password", "secret", "access-key", "token");

  private final ObjectMapper yaml;

  public ConfigLoader() {
    SimpleModule durations = new SimpleModule();
    durations.addDeserializer(Duration.class, new DurationDeserializer());
    durations.addSerializer(Duration.class, new DurationSerializer());
    yaml =
        new ObjectMapper(
                YAMLFactory.builder()
                    .disable(YAMLGenerator.Feature.WRITE_DOC_START_MARKER)
                    .enable(YAMLGenerator.Feature.MINIMIZE_QUOTES)
                    .build())
            .setPropertyNamingStrategy(PropertyNamingStrategies.KEBAB_CASE)
            .enable(DeserializationFeature.FAIL_ON_UNKNOWN_PROPERTIES)
            .enable(DeserializationFeature.FAIL_ON_NULL_FOR_PRIMITIVES)
            .disable(SerializationFeature.WRITE_DURATIONS_AS_TIMESTAMPS)
            .registerModule(durations);
    yaml.coercionConfigDefaults().setCoercion(CoercionInputShape.EmptyString, CoercionAction.Fail);
  }

  /**
   * @param file the YAML file, or null for defaults only
   * @param environment usually {@code System.getenv()}
   * @param overrides key path → value, from the command line
   */
  public BerthConfig load(Path file, Map<String, String> environment, Map<String, String> overrides) {
    ObjectNode tree = yaml.valueToTree(BerthConfig.defaults());
    if (file != null) {
      JsonNode fromFile;
      try {
        fromFile = yaml.readTree(Files.readAllBytes(file));
      } catch (NoSuchFileException e) {
        throw new ConfigException("configuration file not found: " + file);
      } catch (IOException e) {
        throw new ConfigException("configuration file " + file + " is not valid YAML: " + firstLine(e.getMessage()));
      }
      if (fromFile != null && !fromFile.isMissingNode() && !fromFile.isNull()) {
        if (!fromFile.isObject()) {
          throw new ConfigException("configuration file " + file + " must be a YAML mapping");
        }
        merge(tree, (ObjectNode) fromFile, "");
      }
    }
    Map<String, String> leaves = new LinkedHashMap<>();
    collectLeaves(yaml.valueToTree(BerthConfig.defaults()), "", leaves);
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
    BerthConfig config;
    try {
      config = yaml.treeToValue(tree, BerthConfig.class);
    } catch (UnrecognizedPropertyException e) {
      throw new ConfigException("unknown configuration key '" + path(e) + "'");
    } catch (JsonMappingException e) {
      throw new ConfigException(
          "bad value for configuration key '" + path(e) + "': " + firstLine(e.getOriginalMessage()));
    } catch (IOException e) {
      throw new ConfigException("configuration: " + firstLine(e.getMessage()));
    }
    validate(config);
    return config;
  }

  /** The environment variable that overrides a key path: {@code server.addr} → {@code BERTH_SERVER_ADDR}. */
  public static String environmentName(String keyPath) {
    return "BERTH_" + keyPath.replace('.', '_').replace('-', '_').toUpperCase(Locale.ROOT);
  }

  /** The effective configuration as YAML, secrets masked. */
  public String describe(BerthConfig config) {
    ObjectNode tree = yaml.valueToTree(config);
    mask(tree);
    try {
      return yaml.writeValueAsString(tree);
    } catch (IOException e) {
      throw new IllegalStateException(e);
    }
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
      throw new ConfigException("bad value for configuration key 'server.addr': port is not a number in '" + addr + "'");
    }
    String external = c.server().externalUrl();
    require(
        external == null || external.isEmpty() || external.startsWith("http://") || external.startsWith("https://"),
        "server.external-url",
        "must start with http:// or https://");
    BerthConfig.TlsConfig tls = c.server().tls();
    boolean cert = tls.certFile() != null && !tls.certFile().isEmpty();
    boolean key = tls.keyFile() != null && !tls.keyFile().isEmpty();
    require(cert == key, "server.tls", "cert-file and key-file must be given together");
    if (cert) {
      require(Files.isReadable(Path.of(tls.certFile())), "server.tls.cert-file", "cannot read " + tls.certFile());
      require(Files.isReadable(Path.of(tls.keyFile())), "server.tls.key-file", "cannot read " + tls.keyFile());
    }
    require(!c.server().shutdownTimeout().isNegative(), "server.shutdown-timeout", "must not be negative");
    require(
        Set.of("filesystem", "memory").contains(c.storage().driver()),
        "storage.driver",
        "must be filesystem or memory, got '" + c.storage().driver() + "'");
    String url = c.metadataUrl();
    require(url.startsWith("jdbc:sqlite:"), "metadata.url", "must be a jdbc:sqlite: URL, got '" + url + "'");
    require(!c.uploads().expiry().isNegative() && !c.uploads().expiry().isZero(), "uploads.expiry", "must be positive");
    require(c.uploads().chunkMinLength() >= 0, "uploads.chunk-min-length", "must not be negative");
    require(
        Set.of("trace", "debug", "info", "warn", "error").contains(c.log().level()),
        "log.level",
        "must be one of trace, debug, info, warn, error; got '" + c.log().level() + "'");
    require(
        Set.of("plain", "json").contains(c.log().format()),
        "log.format",
        "must be plain or json, got '" + c.log().format() + "'");
  }

  private static void require(boolean condition, String key, String message) {
    if (!condition) {
      throw new ConfigException("bad value for configuration key '" + key + "': " + message);
    }
  }

  private static void merge(ObjectNode target, ObjectNode source, String prefix) {
    Iterator<Map.Entry<String, JsonNode>> fields = source.fields();
    while (fields.hasNext()) {
      Map.Entry<String, JsonNode> field = fields.next();
      String key = prefix + field.getKey();
      JsonNode existing = target.get(field.getKey());
      if (existing == null) {
        throw new ConfigException("unknown configuration key '" + key + "'");
      }
      JsonNode value = field.getValue();
      if (value.isNull() || (existing.isObject() && value.isTextual() && value.asText().isEmpty())) {
        // "key: ~", or "section:" whose keys are all commented out: not set, so the default stays.
        continue;
      }
      if (existing.isObject() && field.getValue().isObject()) {
        merge((ObjectNode) existing, (ObjectNode) field.getValue(), key + ".");
      } else if (existing.isObject() && !field.getValue().isNull()) {
        throw new ConfigException("bad value for configuration key '" + key + "': must be a mapping");
      } else {
        target.set(field.getKey(), field.getValue());
      }
    }
  }

  private static void collectLeaves(JsonNode node, String prefix, Map<String, String> leaves) {
    Iterator<Map.Entry<String, JsonNode>> fields = node.fields();
    while (fields.hasNext()) {
      Map.Entry<String, JsonNode> field = fields.next();
      String key = prefix + field.getKey();
      if (field.getValue().isObject()) {
        collectLeaves(field.getValue(), key + ".", leaves);
      } else {
        leaves.put(key, environmentName(key));
      }
    }
  }

  private static void set(ObjectNode tree, String keyPath, String value) {
    String[] parts = keyPath.split("\\.");
    ObjectNode node = tree;
    for (int i = 0; i < parts.length - 1; i++) {
      JsonNode child = node.get(parts[i]);
      if (!(child instanceof ObjectNode)) {
        node.set(parts[i], JsonNodeFactory.instance.objectNode());
      }
      node = (ObjectNode) node.get(parts[i]);
    }
    node.set(parts[parts.length - 1], TextNode.valueOf(value));
  }

  private static void mask(JsonNode node) {
    if (!(node instanceof ObjectNode object)) {
      return;
    }
    Iterator<Map.Entry<String, JsonNode>> fields = object.fields();
    while (fields.hasNext()) {
      Map.Entry<String, JsonNode> field = fields.next();
      if (field.getValue().isObject()) {
        mask(field.getValue());
      } else if (isSecret(field.getKey()) && !field.getValue().asText("").isEmpty()) {
        field.setValue(TextNode.valueOf("********"));
      }
    }
  }

  private static boolean isSecret(String key) {
    for (String word : SECRET_WORDS) {
      if (key.contains(word)) {
        return true;
      }
    }
    return false;
  }

  private static String path(JsonMappingException e) {
    StringBuilder path = new StringBuilder();
    for (JsonMappingException.Reference reference : e.getPath()) {
      if (reference.getFieldName() != null) {
        if (!path.isEmpty()) {
          path.append('.');
        }
        path.append(reference.getFieldName());
      }
    }
    return path.toString();
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
      total =
          total.plus(
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

  static String format(Duration duration) {
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

  private static final class DurationSerializer extends JsonSerializer<Duration> {
    @Override
    public void serialize(Duration value, JsonGenerator generator, SerializerProvider provider)
        throws IOException {
      generator.writeString(format(value));
    }
  }

  private static final class DurationDeserializer extends JsonDeserializer<Duration> {
    @Override
    public Duration deserialize(JsonParser parser, DeserializationContext context) throws IOException {
      String text = parser.getValueAsString();
      if (text == null) {
        return (Duration) context.handleUnexpectedToken(Duration.class, parser);
      }
      try {
        return parseDuration(text);
      } catch (RuntimeException e) {
        return (Duration) context.handleWeirdStringValue(Duration.class, text, e.getMessage());
      }
    }
  }
}
