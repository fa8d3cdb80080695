package dev.berth.oci;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

class RepositoryNameTest {

  @ParameterizedTest
  @ValueSource(
      strings = {
        "a",
        "alpine",
        "library/alpine",
        "a/b/c",
        "a__b",
        "a--b",
        "a---b",
        "a.b",
        "a_b",
        "a-b",
        "0",
        "my-org/team.a/image_2",
        "x1/y2/z3/w4"
      })
  void acceptsNamesTheSpecAllows(String name) {
    assertThat(RepositoryName.of(name).value()).isEqualTo(name);
  }

  @ParameterizedTest
  @ValueSource(
      strings = {
        "..",
        "a..b",
        "../a",
        "a/../b",
        "a/.",
        "A",
        "Library/alpine",
        "library/Alpine",
        "/a",
        "a/",
        "a//b",
        "-a",
        "a-",
        "_a",
        "a_",
        ".a",
        "a.",
        "a___b",
        "a._b",
        "a b",
        "a:b",
        "a@b",
        "a\\b",
        "a/b/"
      })
  void rejectsNamesOutsideTheGrammar(String name) {
    assertThatThrownBy(() -> RepositoryName.of(name))
        .isInstanceOfSatisfying(
            RegistryException.class, e -> assertThat(e.code()).isEqualTo(ErrorCode.NAME_INVALID));
  }

  @Test
  void acceptsTwoHundredFiftyFiveCharactersAndRejectsTwoHundredFiftySix() {
    String longest = "a/".repeat(127) + "a"; // 255 characters
    assertThat(longest).hasSize(255);
    assertThat(RepositoryName.of(longest).value()).isEqualTo(longest);

    assertThatThrownBy(() -> RepositoryName.of("a".repeat(256)))
        .isInstanceOfSatisfying(
            RegistryException.class, e -> assertThat(e.code()).isEqualTo(ErrorCode.NAME_INVALID))
        .hasMessageContaining("longer than 255");
  }

  @Test
  void rejectsEmptyAndNull() {
    assertThatThrownBy(() -> RepositoryName.of("")).isInstanceOf(RegistryException.class);
    assertThatThrownBy(() -> RepositoryName.of(null)).isInstanceOf(RegistryException.class);
  }

  @Test
  void ordersLexically() {
    assertThat(RepositoryName.of("a-b")).isLessThan(RepositoryName.of("a/b"));
    assertThat(RepositoryName.of("library/alpine").toString()).isEqualTo("library/alpine");
  }
}
