package dev.berth.testkit;

import static org.assertj.core.api.Assertions.assertThat;

import org.junit.jupiter.api.Test;

/** The log tail that a failing end-to-end test's message carries. */
class BerthExtensionTest {
  @Test
  void lastLinesKeepsTheEndOfTheLog() {
    assertThat(BerthExtension.lastLines("a\nb\nc\nd\n", 2)).isEqualTo("c\nd");
    assertThat(BerthExtension.lastLines("a\nb\nc\nd", 2)).isEqualTo("c\nd");
    assertThat(BerthExtension.lastLines("a\nb\n", 5)).isEqualTo("a\nb");
    assertThat(BerthExtension.lastLines("only", 3)).isEqualTo("only");
    assertThat(BerthExtension.lastLines("", 3)).isEmpty();
  }
}
