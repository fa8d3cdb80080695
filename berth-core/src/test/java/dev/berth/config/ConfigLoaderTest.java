package dev.berth.config;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.Map;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;
import org.junit.jupiter.params.provider.ValueSource;

class ConfigLoaderTest {
  private final ConfigLoader loader = new ConfigLoader();

  @TempDir
  Path dir;

  @Test
  void withoutFileOrEnvironmentEveryKeyHasItsDefault() {
    BerthConfig config = loader.load(null, Map.of(), Map.of());

    assertThat(config).isEqualTo(BerthConfig.defaults());
    assertThat(config.dataDir()).isEqualTo("./data");
    assertThat(config.server().addr()).isEqualTo("0.0.0.0:5000");
    assertThat(config.server().http2()).isTrue();
    assertThat(config.server().tls().enabled()).isFalse();
    assertThat(config.server().shutdownTimeout()).isEqualTo(Duration.ofSeconds(30));
    assertThat(config.storage().driver()).isEqualTo("filesystem");
    assertThat(config.uploads().expiry()).isEqualTo(Duration.ofHours(24));
    assertThat(config.log().level()).isEqualTo("info");
    assertThat(config.blobRoot()).isEqualTo("./data/blobs");
    assertThat(config.metadataUrl()).isEqualTo("jdbc:sqlite:./data/berth.db");
  }

  @Test
  void fileOverridesTheKeysItNamesAndKeepsTheRest() throws IOException {
    Path file = yaml("""
            data-dir: /var/lib/berth
            server:
              addr: 127.0.0.1:6000
              read-only: true
            uploads:
              expiry: 1h30m
              chunk-min-length: 5242880
            log:
              level: debug
              format: json
            """);

    BerthConfig config = loader.load(file, Map.of(), Map.of());

    assertThat(config.dataDir()).isEqualTo("/var/lib/berth");
    assertThat(config.server().addr()).isEqualTo("127.0.0.1:6000");
    assertThat(config.server().readOnly()).isTrue();
    assertThat(config.server().http2()).as("not in the file").isTrue();
    assertThat(config.uploads().expiry()).isEqualTo(Duration.ofMinutes(90));
    assertThat(config.uploads().chunkMinLength()).isEqualTo(5_242_880);
    assertThat(config.log().level()).isEqualTo("debug");
    assertThat(config.log().format()).isEqualTo("json");
    assertThat(config.blobRoot()).isEqualTo("/var/lib/berth/blobs");
    assertThat(config.metadataUrl()).isEqualTo("jdbc:sqlite:/var/lib/berth/berth.db");
  }

  @Test
  void emptyFileMeansDefaults() throws IOException {
    assertThat(loader.load(yaml(""), Map.of(), Map.of())).isEqualTo(BerthConfig.defaults());
    assertThat(loader.load(yaml("# only a comment\n"), Map.of(), Map.of()))
        .isEqualTo(BerthConfig.defaults());
  }

  @Test
  void sectionWhoseKeysAreAllCommentedOutKeepsItsDefaults() throws IOException {
    Path file = yaml("""
            server:
            #  addr: 127.0.0.1:6000
            uploads:
            """);

    assertThat(loader.load(file, Map.of(), Map.of())).isEqualTo(BerthConfig.defaults());
  }

  @Test
  void nullValueKeepsTheDefault() throws IOException {
    Path file = yaml("storage: ~\nuploads:\n  expiry: ~\nlog:\n  level: null\n");

    assertThat(loader.load(file, Map.of(), Map.of())).isEqualTo(BerthConfig.defaults());
  }

  @Test
  void emptyValueOfAKeyIsNamed() throws IOException {
    assertThatThrownBy(() -> loader.load(yaml("log:\n  level:\n"), Map.of(), Map.of()))
        .isInstanceOf(ConfigException.class)
        .hasMessageContaining("'log.level'");
    assertThatThrownBy(() -> loader.load(yaml("uploads:\n  expiry:\n"), Map.of(), Map.of()))
        .isInstanceOf(ConfigException.class)
        .hasMessageContaining("'uploads.expiry'");
  }

  @Test
  void environmentOverridesTheFile() throws IOException {
    Path file = yaml("server:\n  addr: 127.0.0.1:6000\nuploads:\n  expiry: 1h\n");

    BerthConfig config = loader.load(
        file,
        Map.of(
            "BERTH_SERVER_ADDR", "127.0.0.1:7000",
            "BERTH_UPLOADS_EXPIRY", "2h",
            "BERTH_SERVER_READ_ONLY", "true",
            "BERTH_UPLOADS_CHUNK_MIN_LENGTH", "1024",
            "BERTH_SERVER_TLS_CERT_FILE", "",
            "BERTH_LOG_ACCESS_LOG", "false",
            "PATH", "/usr/bin",
            "BERTH_NOT_A_KEY", "ignored"),
        Map.of());

    assertThat(config.server().addr()).isEqualTo("127.0.0.1:7000");
    assertThat(config.uploads().expiry()).isEqualTo(Duration.ofHours(2));
    assertThat(config.server().readOnly()).isTrue();
    assertThat(config.uploads().chunkMinLength()).isEqualTo(1024);
    assertThat(config.log().accessLog()).isFalse();
  }

  @Test
  void commandLineOverridesTheEnvironment() {
    BerthConfig config = loader.load(
        null,
        Map.of("BERTH_SERVER_ADDR", "127.0.0.1:7000"),
        Map.of("server.addr", "127.0.0.1:8000", "storage.driver", "memory"));

    assertThat(config.server().addr()).isEqualTo("127.0.0.1:8000");
    assertThat(config.storage().driver()).isEqualTo("memory");
  }

  @ParameterizedTest
  @CsvSource({
    "server.addr, BERTH_SERVER_ADDR",
    "server.external-url, BERTH_SERVER_EXTERNAL_URL",
    "server.tls.cert-file, BERTH_SERVER_TLS_CERT_FILE",
    "uploads.chunk-min-length, BERTH_UPLOADS_CHUNK_MIN_LENGTH",
    "data-dir, BERTH_DATA_DIR"
  })
  void environmentNamesFollowTheKeyPath(String key, String variable) {
    assertThat(ConfigLoader.environmentName(key)).isEqualTo(variable);
  }

  // --- problems name the key ---------------------------------------------------------------------

  @Test
  void unknownKeyInTheFileIsNamed() throws IOException {
    assertThatThrownBy(
            () -> loader.load(yaml("server:\n  adr: 127.0.0.1:6000\n"), Map.of(), Map.of()))
        .isInstanceOf(ConfigException.class)
        .hasMessageContaining("unknown configuration key 'server.adr'");
    assertThatThrownBy(
            () -> loader.load(yaml("storage:\n  filesystem:\n    rot: /x\n"), Map.of(), Map.of()))
        .isInstanceOf(ConfigException.class)
        .hasMessageContaining("'storage.filesystem.rot'");
    assertThatThrownBy(() -> loader.load(yaml("datadir: /x\n"), Map.of(), Map.of()))
        .isInstanceOf(ConfigException.class)
        .hasMessageContaining("'datadir'");
  }

  @Test
  void unknownKeyOnTheCommandLineIsNamed() {
    assertThatThrownBy(() -> loader.load(null, Map.of(), Map.of("server.adr", "x")))
        .isInstanceOf(ConfigException.class)
        .hasMessageContaining("'server.adr'");
  }

  @ParameterizedTest
  @CsvSource(
      delimiter = '|',
      value = {
        "uploads:\\n  expiry: soon | uploads.expiry",
        "uploads:\\n  expiry: 0s | uploads.expiry",
        "uploads:\\n  chunk-min-length: -1 | uploads.chunk-min-length",
        "uploads:\\n  chunk-min-length: lots | uploads.chunk-min-length",
        "server:\\n  read-only: maybe | server.read-only",
        "server:\\n  addr: localhost | server.addr",
        "server:\\n  addr: localhost:http | server.addr",
        "server:\\n  addr: localhost:70000 | server.addr",
        "server:\\n  external-url: registry.example.com | server.external-url",
        "server:\\n  shutdown-timeout: 30 seconds | server.shutdown-timeout",
        "server:\\n  tls:\\n    cert-file: /no/such/cert.pem | server.tls",
        "server: 5000 | server",
        "storage:\\n  driver: azure | storage.driver",
        "storage:\\n  driver: s3 | storage.s3.bucket",
        "storage:\\n  driver: s3\\n  s3:\\n    bucket: b\\n    endpoint: minio:9000 | storage.s3.endpoint",
        "metadata:\\n  url: jdbc:mysql://db/berth | metadata.url",
        "metadata:\\n  pool-size: 0 | metadata.pool-size",
        "metadata:\\n  pool-size: many | metadata.pool-size",
        "gc:\\n  grace-period: -1h | gc.grace-period",
        "gc:\\n  schedule: every day | gc.schedule",
        "gc:\\n  schedule: 0s | gc.schedule",
        "gc:\\n  delete-untagged: sometimes | gc.delete-untagged",
        "gc:\\n  busy-share: 0 | gc.busy-share",
        "gc:\\n  busy-share: 101 | gc.busy-share",
        "gc:\\n  busy-share: half | gc.busy-share",
        "log:\\n  level: loud | log.level",
        "log:\\n  format: xml | log.format",
        "data-dir: '' | data-dir"
      })
  void badValueIsNamed(String content, String key) throws IOException {
    Path file = yaml(content.replace("\\n", "\n") + "\n");

    assertThatThrownBy(() -> loader.load(file, Map.of(), Map.of()))
        .isInstanceOf(ConfigException.class)
        .hasMessageContaining("'" + key);
  }

  @Test
  void tlsFilesMustBeReadable() throws IOException {
    Path cert = Files.writeString(dir.resolve("cert.pem"), "not checked here");
    Path file = yaml("server:\n  tls:\n    cert-file: " + cert + "\n    key-file: "
        + dir.resolve("missing.pem") + "\n");

    assertThatThrownBy(() -> loader.load(file, Map.of(), Map.of()))
        .isInstanceOf(ConfigException.class)
        .hasMessageContaining("'server.tls.key-file'");
  }

  @Test
  void badEnvironmentValueIsNamedByItsKey() {
    assertThatThrownBy(() -> loader.load(null, Map.of("BERTH_UPLOADS_EXPIRY", "soon"), Map.of()))
        .isInstanceOf(ConfigException.class)
        .hasMessageContaining("'uploads.expiry'");
    assertThatThrownBy(
            () -> loader.load(null, Map.of("BERTH_SERVER_HTTP2", "yes please"), Map.of()))
        .isInstanceOf(ConfigException.class)
        .hasMessageContaining("'server.http2'");
  }

  @Test
  void missingOrMalformedFileIsReported() throws IOException {
    assertThatThrownBy(() -> loader.load(dir.resolve("absent.yml"), Map.of(), Map.of()))
        .isInstanceOf(ConfigException.class)
        .hasMessageContaining("not found");
    assertThatThrownBy(() -> loader.load(yaml("server: [unclosed\n"), Map.of(), Map.of()))
        .isInstanceOf(ConfigException.class)
        .hasMessageContaining("not valid YAML");
    assertThatThrownBy(() -> loader.load(yaml("- a\n- b\n"), Map.of(), Map.of()))
        .isInstanceOf(ConfigException.class)
        .hasMessageContaining("must be a YAML mapping");
  }

  @Test
  void metadataOnPostgresqlTakesCredentialsAndAPoolSizeAndDescribeMasksThePassword()
      throws IOException {
    Path file = yaml("""
            metadata:
              url: jdbc:postgresql://db.example.com:5432/berth
              username: berth
              pool-size: 32
            """);

    BerthConfig config = loader.load(file, Map.of("BERTH_METADATA_PASSWORD", "s3cret"), Map.of());

    assertThat(config.metadataUrl()).isEqualTo("jdbc:postgresql://db.example.com:5432/berth");
    assertThat(config.metadata().username()).isEqualTo("berth");
    assertThat(config.metadata().password()).isEqualTo("s3cret");
    assertThat(config.metadata().poolSize()).isEqualTo(32);
    String described = loader.describe(config);
    assertThat(described).contains("username: berth", "pool-size: 32").doesNotContain("s3cret");
    assertThat(described).containsPattern("password: '?\\*{8}'?\n");
  }

  @Test
  void metadataDefaultsToSqliteWithoutCredentialsAndSixteenConnections() {
    BerthConfig.MetadataConfig metadata = loader.load(null, Map.of(), Map.of()).metadata();

    assertThat(metadata.username()).isEmpty();
    assertThat(metadata.password()).isEmpty();
    assertThat(metadata.poolSize()).isEqualTo(16);
  }

  @Test
  void garbageCollectionIsOffByDefaultWithAnHourOfGraceAndTheEnvironmentSetsIt() {
    BerthConfig.GcConfig defaults = loader.load(null, Map.of(), Map.of()).gc();
    assertThat(defaults.gracePeriod()).isEqualTo(Duration.ofHours(1));
    assertThat(defaults.schedule()).isEqualTo("off");
    assertThat(defaults.deleteUntagged()).isFalse();
    assertThat(defaults.busyShare()).isEqualTo(10);

    BerthConfig.GcConfig set = loader
        .load(
            null,
            Map.of(
                "BERTH_GC_GRACE_PERIOD",
                "0s",
                "BERTH_GC_SCHEDULE",
                "@daily",
                "BERTH_GC_DELETE_UNTAGGED",
                "true",
                "BERTH_GC_BUSY_SHARE",
                "100"),
            Map.of())
        .gc();
    assertThat(set.gracePeriod()).isZero();
    assertThat(set.schedule()).isEqualTo("@daily");
    assertThat(set.deleteUntagged()).isTrue();
    assertThat(set.busyShare()).isEqualTo(100);
    assertThat(
            loader.load(null, Map.of("BERTH_GC_SCHEDULE", "6h"), Map.of()).gc().schedule())
        .isEqualTo("6h");
  }

  @Test
  void aPasswordInTheMetadataUrlIsNotEchoedWhenTheUrlIsRejected() throws IOException {
    Path file = yaml("metadata:\n  url: jdbc:mysql://db/berth?user=berth&password=s3cret\n");

    assertThatThrownBy(() -> loader.load(file, Map.of(), Map.of()))
        .isInstanceOf(ConfigException.class)
        .hasMessageContaining("'metadata.url'")
        .hasMessageNotContaining("s3cret");
  }

  // --- durations ---------------------------------------------------------------------------------

  @ParameterizedTest
  @CsvSource({
    "500ms, PT0.5S",
    "30s, PT30S",
    "5m, PT5M",
    "24h, PT24H",
    "1h30m, PT1H30M",
    "7d, PT168H",
    "1m30s, PT1M30S",
    "0, PT0S",
    "PT10M, PT10M",
    "' 5m ', PT5M"
  })
  void parsesDurations(String text, String expected) {
    assertThat(ConfigLoader.parseDuration(text)).isEqualTo(Duration.parse(expected));
  }

  @ParameterizedTest
  @ValueSource(strings = {"", "5", "5x", "-5s", "1h 30m", "m5", "h", "30 s", "1.5h"})
  void rejectsMalformedDurations(String text) {
    assertThatThrownBy(() -> ConfigLoader.parseDuration(text)).isInstanceOf(RuntimeException.class);
  }

  // --- describe ----------------------------------------------------------------------------------

  @Test
  void describeWritesTheEffectiveConfigurationAsLoadableYaml() throws IOException {
    BerthConfig config = loader.load(
        null,
        Map.of("BERTH_UPLOADS_EXPIRY", "1h30m", "BERTH_SERVER_ADDR", "127.0.0.1:7000"),
        Map.of());

    String described = loader.describe(config);

    assertThat(described)
        .contains(
            "addr: 127.0.0.1:7000", "expiry: 90m", "shutdown-timeout: 30s", "read-only: false");
    assertThat(loader.load(yaml(described), Map.of(), Map.of())).isEqualTo(config);
  }

  // --- helpers -----------------------------------------------------------------------------------

  private Path yaml(String content) throws IOException {
    return Files.writeString(Files.createTempFile(dir, "berth", ".yml"), content);
  }
}
