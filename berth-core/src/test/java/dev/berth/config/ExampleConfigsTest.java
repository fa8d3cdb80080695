package dev.berth.config;

import static org.assertj.core.api.Assertions.assertThat;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.dataformat.yaml.YAMLMapper;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Iterator;
import java.util.List;
import java.util.Map;
import java.util.TreeSet;
import java.util.stream.Stream;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.MethodSource;

/** Every example configuration in the repository loads and validates. */
class ExampleConfigsTest {
  /** The repository's {@code config/}, seen from this module's directory (where tests run). */
  private static final Path EXAMPLES = Path.of("..", "config");

  private final ConfigLoader loader = new ConfigLoader();

  static List<Path> examples() throws IOException {
    try (Stream<Path> files = Files.walk(EXAMPLES)) {
      return files
          .filter(p -> p.getFileName().toString().endsWith(".yml"))
          .sorted()
          .toList();
    }
  }

  @Test
  void theExamplesAreFound() throws IOException {
    assertThat(examples()).contains(EXAMPLES.resolve("berth.example.yml"));
  }

  @ParameterizedTest
  @MethodSource("examples")
  void exampleLoadsAndValidates(Path example) {
    // An empty environment: the example alone must be a valid configuration.
    BerthConfig config = loader.load(example, Map.of(), Map.of());

    assertThat(config).isNotNull();
  }

  @Test
  void theFullExampleNamesEveryKeyWithItsDefault() throws IOException {
    Path full = EXAMPLES.resolve("berth.example.yml");

    assertThat(loader.load(full, Map.of(), Map.of())).isEqualTo(BerthConfig.defaults());
    YAMLMapper yaml = new YAMLMapper();
    assertThat(leaves(yaml.readTree(full.toFile()), ""))
        .isEqualTo(leaves(yaml.readTree(loader.describe(BerthConfig.defaults())), ""));
  }

  private static TreeSet<String> leaves(JsonNode node, String prefix) {
    TreeSet<String> keys = new TreeSet<>();
    Iterator<Map.Entry<String, JsonNode>> fields = node.fields();
    while (fields.hasNext()) {
      Map.Entry<String, JsonNode> field = fields.next();
      if (field.getValue().isObject()) {
        keys.addAll(leaves(field.getValue(), prefix + field.getKey() + "."));
      } else {
        keys.add(prefix + field.getKey());
      }
    }
    return keys;
  }
}
