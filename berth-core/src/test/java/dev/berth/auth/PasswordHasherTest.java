package dev.berth.auth;

import static org.assertj.core.api.Assertions.assertThat;

import org.junit.jupiter.api.Test;

class PasswordHasherTest {
  private final PasswordHasher hasher = new PasswordHasher();

  @Test
  void aHashVerifiesItsPasswordOnlyAndIsSaltedEachTime() {
    String hash = hasher.hash("correct horse");

    assertThat(hash).startsWith("$argon2id$v=19$m=19456,t=2,p=1$").doesNotContain("correct");
    assertThat(hasher.verify("correct horse", hash)).isTrue();
    assertThat(hasher.verify("correct horse!", hash)).isFalse();
    assertThat(hasher.hash("correct horse")).isNotEqualTo(hash);
  }

  @Test
  void malformedOrHostileHashesNeverVerify() {
    assertThat(hasher.verify("x", null)).isFalse();
    assertThat(hasher.verify("x", "")).isFalse();
    assertThat(hasher.verify("x", "$argon2i$v=19$m=19456,t=2,p=1$c2FsdA$aGFzaA"))
        .isFalse();
    assertThat(hasher.verify("x", "$argon2id$v=19$m=99999999,t=2,p=1$c2FsdHNhbHQ$aGFzaA"))
        .as("a memory cost that would exhaust the heap")
        .isFalse();
    assertThat(hasher.verify("x", "$argon2id$v=19$m=19456,t=2,p=1$!!!$???")).isFalse();
  }
}
