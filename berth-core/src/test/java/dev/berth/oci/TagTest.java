package dev.berth.oci;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

class TagTest {

  @ParameterizedTest
  @ValueSource(strings = {"latest", "v1.0.0", "1", "A", "_private", "V1-RC_2.x", "a..b", "a--"})
  void acceptsTagsTheSpecAllows(String tag) {
    assertThat(new Tag(tag).value()).isEqualTo(tag);
    assertThat(Tag.isValid(tag)).isTrue();
  }

  @ParameterizedTest
  @ValueSource(strings = {"", ".hidden", "-x", "a/b", "a:b", "a+b", "a b", "sha256:abc", "ü"})
  void rejectsTagsOutsideTheGrammar(String tag) {
    assertThat(Tag.isValid(tag)).isFalse();
    assertThatThrownBy(() -> new Tag(tag))
        .isInstanceOfSatisfying(
            RegistryException.class, e -> assertThat(e.code()).isEqualTo(ErrorCode.TAG_INVALID));
  }

  @Test
  void allowsOneHundredTwentyEightCharacters() {
    assertThat(Tag.isValid("a".repeat(128))).isTrue();
    assertThat(Tag.isValid("a".repeat(129))).isFalse();
    assertThatThrownBy(() -> new Tag("a".repeat(129))).isInstanceOf(RegistryException.class);
  }

  @Test
  void rejectsNull() {
    assertThat(Tag.isValid(null)).isFalse();
    assertThatThrownBy(() -> new Tag(null)).isInstanceOf(RegistryException.class);
  }
}
