package dev.berth.auth;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import com.nimbusds.jose.JWSAlgorithm;
import com.nimbusds.jose.JWSHeader;
import com.nimbusds.jose.crypto.MACSigner;
import com.nimbusds.jwt.JWTClaimsSet;
import com.nimbusds.jwt.SignedJWT;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.interfaces.RSAPrivateCrtKey;
import java.time.Clock;
import java.time.Duration;
import java.time.Instant;
import java.time.ZoneOffset;
import java.util.Date;
import java.util.List;
import java.util.Set;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class TokenServiceTest {
  private static final Instant NOW = Instant.parse("2026-11-28T10:00:00Z");
  private static RSAPrivateCrtKey key;
  private static RSAPrivateCrtKey otherKey;

  @BeforeAll
  static void keys(@TempDir Path dir) throws IOException {
    key = TokenService.loadOrCreateKey(dir.resolve("key.pem"), true);
    otherKey = TokenService.loadOrCreateKey(dir.resolve("other.pem"), true);
  }

  private static TokenService service(RSAPrivateCrtKey signing, String audience, Instant now) {
    return new TokenService(
        signing,
        "berth",
        audience,
        Duration.ofMinutes(5),
        Duration.ofDays(7),
        Clock.fixed(now, ZoneOffset.UTC));
  }

  private static final List<Scope> PULL = List.of(Scope.repository("team/app", Set.of("pull")));

  @Test
  void anIssuedTokenVerifiesAndGrantsWhatItSays() {
    TokenService tokens = service(key, "berth", NOW);
    TokenService.Claims claims = tokens.verify(tokens.issue("alice", PULL)).orElseThrow();

    assertThat(claims.subject()).isEqualTo("alice");
    assertThat(claims.grants("repository", "team/app", "pull")).isTrue();
    assertThat(claims.grants("repository", "team/app", "push")).isFalse();
    assertThat(claims.grants("repository", "team/other", "pull")).isFalse();
  }

  @Test
  void anExpiredTokenIsRefusedAfterTheClockSkew() {
    String token = service(key, "berth", NOW).issue("alice", PULL);

    assertThat(service(key, "berth", NOW.plusSeconds(300 + 29)).verify(token)).isPresent();
    assertThat(service(key, "berth", NOW.plusSeconds(300 + 31)).verify(token)).isEmpty();
    assertThat(service(key, "berth", NOW.minusSeconds(60)).verify(token))
        .as("not yet valid")
        .isEmpty();
  }

  @Test
  void aTokenVerifiedBeforeIsStillRefusedOnceExpiredAndATamperedCopyIsNotTakenForIt() {
    MutableClock clock = new MutableClock(NOW);
    TokenService tokens =
        new TokenService(key, "berth", "berth", Duration.ofMinutes(5), Duration.ofDays(7), clock);
    String token = tokens.issue("alice", PULL);
    assertThat(tokens.verify(token)).isPresent();
    assertThat(tokens.verify(token))
        .as("the second use, from the verified tokens")
        .isPresent();

    String[] parts = token.split("\\.");
    String otherClaims = service(key, "berth", NOW).issue("mallory", PULL).split("\\.")[1];
    assertThat(tokens.verify(parts[0] + "." + otherClaims + "." + parts[2]))
        .as("another token's claims under this token's signature")
        .isEmpty();

    clock.now = NOW.plusSeconds(300 + 31);
    assertThat(tokens.verify(token)).as("expired, although verified before").isEmpty();
    clock.now = NOW.minusSeconds(60);
    assertThat(tokens.verify(token)).as("not yet valid").isEmpty();
  }

  /** A clock the test moves. */
  private static final class MutableClock extends Clock {
    Instant now;

    MutableClock(Instant now) {
      this.now = now;
    }

    @Override
    public ZoneOffset getZone() {
      return ZoneOffset.UTC;
    }

    @Override
    public Clock withZone(java.time.ZoneId zone) {
      return this;
    }

    @Override
    public Instant instant() {
      return now;
    }
  }

  @Test
  void aTokenForAnotherAudienceOrFromAnotherKeyIsRefused() {
    String other = service(key, "another-registry", NOW).issue("alice", PULL);
    assertThat(service(key, "berth", NOW).verify(other)).isEmpty();

    String foreign = service(otherKey, "berth", NOW).issue("alice", PULL);
    assertThat(service(key, "berth", NOW).verify(foreign)).isEmpty();
  }

  @Test
  void algorithmConfusionIsRefused() throws Exception {
    JWTClaimsSet claims = new JWTClaimsSet.Builder()
        .issuer("berth")
        .subject("mallory")
        .audience("berth")
        .expirationTime(Date.from(NOW.plusSeconds(300)))
        .claim("access", List.of())
        .build();
    // HS256 keyed with the public key's bytes: the classic key-confusion forgery.
    SignedJWT hmac = new SignedJWT(new JWSHeader(JWSAlgorithm.HS256), claims);
    byte[] secret = new byte[64];
    System.arraycopy(key.getModulus().toByteArray(), 1, secret, 0, 64);
    hmac.sign(new MACSigner(secret));
    assertThat(service(key, "berth", NOW).verify(hmac.serialize())).isEmpty();

    String none = java.util.Base64.getUrlEncoder()
            .withoutPadding()
            .encodeToString("{\"alg\":\"none\"}".getBytes())
        + "."
        + java.util.Base64.getUrlEncoder()
            .withoutPadding()
            .encodeToString(claims.toString().getBytes())
        + ".";
    assertThat(service(key, "berth", NOW).verify(none)).isEmpty();
  }

  @Test
  void aRefreshTokenIsNotAnAccessTokenAndViceVersa() {
    TokenService tokens = service(key, "berth", NOW);
    String refresh = tokens.issueRefresh("alice", 3);
    String access = tokens.issue("alice", PULL);

    assertThat(tokens.verifyRefresh(refresh)).contains(new TokenService.Refresh("alice", 3));
    assertThat(tokens.verify(refresh)).isEmpty();
    assertThat(tokens.verifyRefresh(access)).isEmpty();
  }

  @Test
  void aKeyFileIsReadBackAndABadOneNamed(@TempDir Path dir) throws IOException {
    Path file = dir.resolve("token-key.pem");
    RSAPrivateCrtKey created = TokenService.loadOrCreateKey(file, true);
    assertThat(TokenService.loadOrCreateKey(file, false)).isEqualTo(created);

    Files.writeString(
        dir.resolve("bad.pem"), "-----BEGIN PRIVATE KEY-----\nAAAA\n-----END PRIVATE KEY-----\n");
    assertThatThrownBy(() -> TokenService.loadOrCreateKey(dir.resolve("bad.pem"), false))
        .isInstanceOf(IOException.class)
        .hasMessageContaining("bad.pem");
    assertThatThrownBy(() -> TokenService.loadOrCreateKey(dir.resolve("missing.pem"), false))
        .isInstanceOf(IOException.class)
        .hasMessageContaining("does not exist");
  }
}
