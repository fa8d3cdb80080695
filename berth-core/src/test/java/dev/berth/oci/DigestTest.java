package dev.berth.oci;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.nio.charset.StandardCharsets;
import java.security.MessageDigest;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

class DigestTest {
  private static final String HEX64 =
      "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855";
  private static final String HEX128 =
      "cf83e1357eefb8bdf1542850d66d8007d620e4050b5715dc83f4a921d36ce9ce"
          + "47d0d13c5d85f2b0ff8318d2877eec2f63b931bd47417a81a538327af927da3e";

  @Test
  void parsesSha256() {
    Digest digest = Digest.parse("sha256:" + HEX64);

    assertThat(digest.algorithm()).isEqualTo("sha256");
    assertThat(digest.encoded()).isEqualTo(HEX64);
    assertThat(digest.toString()).isEqualTo("sha256:" + HEX64);
    assertThat(digest.jcaName()).isEqualTo("SHA-256");
  }

  @Test
  void parsesSha512() {
    Digest digest = Digest.parse("sha512:" + HEX128);

    assertThat(digest.algorithm()).isEqualTo("sha512");
    assertThat(digest.encoded()).isEqualTo(HEX128);
    assertThat(digest.jcaName()).isEqualTo("SHA-512");
  }

  @Test
  void sha256OfBytesMatchesTheWellKnownEmptyDigest() throws Exception {
    byte[] hash = MessageDigest.getInstance("SHA-256").digest("".getBytes(StandardCharsets.UTF_8));

    assertThat(Digest.sha256(hash)).isEqualTo(Digest.parse("sha256:" + HEX64));
    assertThat(Digest.of("sha256", hash)).isEqualTo(Digest.sha256(hash));
  }

  @Test
  void rejectsMd5AsUnsupported() {
    assertThatThrownBy(() -> Digest.parse("md5:d41d8cd98f00b204e9800998ecf8427e"))
        .isInstanceOfSatisfying(
            RegistryException.class, e -> assertThat(e.code()).isEqualTo(ErrorCode.DIGEST_INVALID))
        .hasMessageContaining("unsupported digest algorithm: md5");
  }

  @ParameterizedTest
  @ValueSource(
      strings = {
        "sha256:e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b85g", // bad hex
        "sha256:E3B0C44298FC1C149AFBF4C8996FB92427AE41E4649B934CA495991B7852B855", // upper case
        "sha256:e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855a", // 65 hex
        "sha256:e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b85", // 63 hex
        "sha512:e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855", // sha512, 64 hex
        "sha256",
        "sha256:",
        ":e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855",
        "SHA256:e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855",
        "sha256:e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855 ",
        " sha256:e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855",
        ""
      })
  void rejectsMalformedDigests(String text) {
    assertThatThrownBy(() -> Digest.parse(text))
        .isInstanceOfSatisfying(
            RegistryException.class, e -> assertThat(e.code()).isEqualTo(ErrorCode.DIGEST_INVALID));
  }

  @Test
  void rejectsTooLongAndNull() {
    assertThatThrownBy(() -> Digest.parse("sha256:" + "a".repeat(250)))
        .isInstanceOf(RegistryException.class);
    assertThatThrownBy(() -> Digest.parse(null)).isInstanceOf(RegistryException.class);
  }

  @Test
  void constructorValidatesLikeParse() {
    assertThatThrownBy(() -> new Digest("sha256", "abc")).isInstanceOf(RegistryException.class);
    assertThatThrownBy(() -> new Digest("md5", HEX64)).isInstanceOf(RegistryException.class);
  }

  @Test
  void tellsADigestFromATag() {
    assertThat(Digest.looksLikeDigest("sha256:" + HEX64)).isTrue();
    assertThat(Digest.looksLikeDigest("latest")).isFalse();
    assertThat(Digest.looksLikeDigest(":latest")).isFalse();
  }

  @Test
  void ordersByText() {
    Digest low = Digest.parse("sha256:" + "0".repeat(64));
    Digest high = Digest.parse("sha256:" + "f".repeat(64));

    assertThat(low).isLessThan(high);
    assertThat(Digest.parse("sha256:" + HEX64))
        .isEqualByComparingTo(Digest.parse("sha256:" + HEX64));
  }
}
