package dev.berth.storage.s3;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import dev.berth.config.BerthConfig;
import dev.berth.config.ConfigException;
import dev.berth.config.ConfigLoader;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.Map;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** {@code storage.s3} as a user writes it: in the file, from the environment, and wrong. */
class S3ConfigTest {
  private final ConfigLoader loader = new ConfigLoader();

  @TempDir
  Path directory;

  @Test
  void s3KeysLoadFromTheFileAndTheEnvironment() throws IOException {
    Path file = write("""
            storage:
              driver: s3
              s3:
                endpoint: http://127.0.0.1:9000
                bucket: registry
                prefix: berth/
                path-style: true
            """);

    BerthConfig config = loader.load(
        file,
        Map.of("BERTH_STORAGE_S3_ACCESS_KEY", "AKIA", "BERTH_STORAGE_S3_SECRET_KEY", "hush"),
        Map.of());

    assertThat(config.storage().s3())
        .isEqualTo(new BerthConfig.S3Config(
            "http://127.0.0.1:9000",
            "us-east-1",
            "registry",
            "berth/",
            "AKIA",
            "hush",
            true,
            false,
            true,
            Duration.ofMinutes(20)));
    assertThat(loader.describe(config)).contains("secret-key: '********'").doesNotContain("hush");
  }

  @Test
  void theDownloadRedirectIsOnByDefaultAndCanBeTurnedOffOrShortened() throws IOException {
    Path file = write("storage:\n  driver: s3\n  s3:\n    bucket: registry\n");

    BerthConfig config = loader.load(
        file,
        Map.of("BERTH_STORAGE_S3_REDIRECT", "false", "BERTH_STORAGE_S3_REDIRECT_EXPIRY", "90s"),
        Map.of());

    assertThat(loader.load(file, Map.of(), Map.of()).storage().s3().redirect()).isTrue();
    assertThat(config.storage().s3().redirect()).isFalse();
    assertThat(config.storage().s3().redirectExpiry()).isEqualTo(Duration.ofSeconds(90));
    assertThatThrownBy(
            () -> loader.load(file, Map.of("BERTH_STORAGE_S3_REDIRECT_EXPIRY", "8d"), Map.of()))
        .isInstanceOf(ConfigException.class)
        .hasMessageContaining("storage.s3.redirect-expiry");
  }

  @Test
  void theS3DriverNeedsABucket() throws IOException {
    Path file = write("storage:\n  driver: s3\n");

    assertThatThrownBy(() -> loader.load(file, Map.of(), Map.of()))
        .isInstanceOf(ConfigException.class)
        .hasMessage(
            "bad value for configuration key 'storage.s3.bucket': must be set when storage.driver"
                + " is s3");
  }

  @Test
  void anEndpointMustBeAUrlAndKeysComeInPairs() throws IOException {
    Path noScheme =
        write("storage:\n  driver: s3\n  s3:\n    bucket: b\n    endpoint: minio:9000\n");
    Path halfKeys = write("storage:\n  driver: s3\n  s3:\n    bucket: b\n    access-key: AKIA\n");

    assertThatThrownBy(() -> loader.load(noScheme, Map.of(), Map.of()))
        .hasMessageStartingWith("bad value for configuration key 'storage.s3.endpoint'");
    assertThatThrownBy(() -> loader.load(halfKeys, Map.of(), Map.of()))
        .hasMessageStartingWith("bad value for configuration key 'storage.s3'");
  }

  @Test
  void otherDriversIgnoreTheS3Section() throws IOException {
    Path file = write("storage:\n  driver: filesystem\n  s3:\n    endpoint: not checked\n");

    assertThat(loader.load(file, Map.of(), Map.of()).storage().driver()).isEqualTo("filesystem");
  }

  private Path write(String yaml) throws IOException {
    return Files.writeString(Files.createTempFile(directory, "berth", ".yml"), yaml);
  }
}
