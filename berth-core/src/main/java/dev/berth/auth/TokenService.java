package dev.berth.auth;

import com.nimbusds.jose.JOSEException;
import com.nimbusds.jose.JOSEObjectType;
import com.nimbusds.jose.JWSAlgorithm;
import com.nimbusds.jose.JWSHeader;
import com.nimbusds.jose.crypto.RSASSASigner;
import com.nimbusds.jose.crypto.RSASSAVerifier;
import com.nimbusds.jwt.JWTClaimsSet;
import com.nimbusds.jwt.SignedJWT;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.nio.file.attribute.PosixFilePermissions;
import java.security.GeneralSecurityException;
import java.security.KeyFactory;
import java.security.KeyPairGenerator;
import java.security.MessageDigest;
import java.security.interfaces.RSAPrivateCrtKey;
import java.security.interfaces.RSAPublicKey;
import java.security.spec.PKCS8EncodedKeySpec;
import java.security.spec.RSAPublicKeySpec;
import java.text.ParseException;
import java.time.Clock;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Base64;
import java.util.Date;
import java.util.HexFormat;
import java.util.LinkedHashMap;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.Set;
import java.util.UUID;
import java.util.concurrent.ConcurrentHashMap;

/**
 * Issues and verifies the registry's bearer tokens: JWTs signed with RS256 as the Docker
 * registry token specification describes ({@code iss}, {@code sub}, {@code aud}, {@code exp},
 * {@code nbf}, {@code iat}, {@code jti}, {@code access}). Verification accepts RS256 with this
 * service's key only (no {@code none}, no HMAC with the public key), the configured audience and
 * issuer, and the time window with 30 s of clock skew. Every node of a cluster must load the
 * same key file, so a token issued by one node is accepted by all.
 *
 * <p>Refresh tokens (OAuth2 {@code refresh_token} grant) are JWTs of type {@code refresh} that
 * name the subject and its credential version: changing the password revokes them.
 */
public final class TokenService {
  private static final Duration SKEW = Duration.ofSeconds(30);
  private static final JOSEObjectType ACCESS = new JOSEObjectType("JWT");
  private static final JOSEObjectType REFRESH = new JOSEObjectType("refresh+jwt");

  /** What a verified access token grants. */
  public record Claims(String subject, List<Scope> access, long expiresAtMillis) {
    /** Whether the token grants {@code action} on the resource. */
    public boolean grants(String type, String name, String action) {
      for (Scope scope : access) {
        if (scope.type().equals(type)
            && scope.name().equals(name)
            && (scope.actions().contains(action) || scope.actions().contains("*"))) {
          return true;
        }
      }
      return false;
    }
  }

  /** A verified refresh token. */
  public record Refresh(String subject, long credentialVersion) {}

  private final RSAPrivateCrtKey privateKey;
  /** Longer tokens are refused unread. */
  private static final int MAX_TOKEN_LENGTH = 16_384;

  /** Verified access tokens kept at most (then all are dropped and verified again). */
  static final int RECENT_LIMIT = 10_000;

  private final RSAPublicKey publicKey;
  private final String keyId;
  private final ConcurrentHashMap<String, Verified> recent = new ConcurrentHashMap<>();
  private final String issuer;
  private final String service;
  private final Duration lifetime;
  private final Duration refreshLifetime;
  private final Clock clock;

  public TokenService(
      RSAPrivateCrtKey privateKey,
      String issuer,
      String service,
      Duration lifetime,
      Duration refreshLifetime,
      Clock clock) {
    this.privateKey = privateKey;
    this.publicKey = publicKey(privateKey);
    this.keyId = keyId(publicKey);
    this.issuer = issuer;
    this.service = service;
    this.lifetime = lifetime;
    this.refreshLifetime = refreshLifetime;
    this.clock = clock;
  }

  public String service() {
    return service;
  }

  public Duration lifetime() {
    return lifetime;
  }

  /** An access token for {@code subject} granting {@code access}. */
  public String issue(String subject, List<Scope> access) {
    long now = clock.millis();
    List<Map<String, Object>> claims = new ArrayList<>();
    for (Scope scope : access) {
      Map<String, Object> entry = new LinkedHashMap<>();
      entry.put("type", scope.type());
      entry.put("name", scope.name());
      entry.put("actions", scope.actions().stream().sorted().toList());
      claims.add(entry);
    }
    JWTClaimsSet set = new JWTClaimsSet.Builder()
        .issuer(issuer)
        .subject(subject)
        .audience(service)
        .issueTime(new Date(now))
        .notBeforeTime(new Date(now))
        .expirationTime(new Date(now + lifetime.toMillis()))
        .jwtID(UUID.randomUUID().toString())
        .claim("access", claims)
        .build();
    return sign(set, ACCESS);
  }

  public String issueRefresh(String subject, long credentialVersion) {
    long now = clock.millis();
    JWTClaimsSet set = new JWTClaimsSet.Builder()
        .issuer(issuer)
        .subject(subject)
        .audience(service)
        .issueTime(new Date(now))
        .expirationTime(new Date(now + refreshLifetime.toMillis()))
        .jwtID(UUID.randomUUID().toString())
        .claim("cv", credentialVersion)
        .build();
    return sign(set, REFRESH);
  }

  private String sign(JWTClaimsSet set, JOSEObjectType type) {
    SignedJWT jwt = new SignedJWT(
        new JWSHeader.Builder(JWSAlgorithm.RS256).type(type).keyID(keyId).build(), set);
    try {
      jwt.sign(new RSASSASigner(privateKey));
    } catch (JOSEException e) {
      throw new IllegalStateException("cannot sign a token: " + e.getMessage(), e);
    }
    return jwt.serialize();
  }

  /**
   * The access token's grants, or empty when it is not one this service issued and still valid.
   * A token whose signature and claims were verified before is looked up by its SHA-256 instead
   * of verified again (an RSA verification per request would cost bearer clients a third of
   * their throughput, issue 4 §3); its expiry and not-before are checked on every use, so a hit
   * accepts nothing a full verification would refuse: tokens are not revoked before they expire.
   */
  public Optional<Claims> verify(String token) {
    if (token == null || token.length() > MAX_TOKEN_LENGTH) {
      return Optional.empty();
    }
    String key = sha256(token);
    long now = clock.millis();
    Verified known = recent.get(key);
    if (known != null) {
      if (known.claims().expiresAtMillis() + SKEW.toMillis() < now) {
        recent.remove(key);
        return Optional.empty();
      }
      return known.notBeforeMillis() - SKEW.toMillis() > now
          ? Optional.empty()
          : Optional.of(known.claims());
    }
    Optional<JWTClaimsSet> set = verified(token, ACCESS);
    if (set.isEmpty()) {
      return Optional.empty();
    }
    try {
      List<Scope> access = new ArrayList<>();
      Object raw = set.get().getClaim("access");
      if (raw instanceof List<?> entries) {
        for (Object entry : entries) {
          if (entry instanceof Map<?, ?> map
              && map.get("type") instanceof String type
              && map.get("name") instanceof String name
              && map.get("actions") instanceof List<?> actions) {
            Set<String> names = new LinkedHashSet<>();
            actions.forEach(action -> names.add(String.valueOf(action)));
            access.add(new Scope(type, name, names));
          }
        }
      }
      Claims claims = new Claims(
          set.get().getSubject(),
          List.copyOf(access),
          set.get().getExpirationTime().getTime());
      Date notBefore = set.get().getNotBeforeTime();
      if (recent.size() >= RECENT_LIMIT) {
        recent.clear(); // crude, bounded, and rare: tokens live minutes
      }
      recent.put(
          key, new Verified(claims, notBefore == null ? Long.MIN_VALUE / 2 : notBefore.getTime()));
      return Optional.of(claims);
    } catch (RuntimeException e) {
      return Optional.empty();
    }
  }

  /** A verified access token's claims and its not-before time. */
  private record Verified(Claims claims, long notBeforeMillis) {}

  private static String sha256(String token) {
    try {
      return HexFormat.of()
          .formatHex(
              MessageDigest.getInstance("SHA-256").digest(token.getBytes(StandardCharsets.UTF_8)));
    } catch (GeneralSecurityException e) {
      throw new IllegalStateException(e);
    }
  }

  public Optional<Refresh> verifyRefresh(String token) {
    return verified(token, REFRESH).flatMap(set -> {
      try {
        Long version = set.getLongClaim("cv");
        return version == null
            ? Optional.empty()
            : Optional.of(new Refresh(set.getSubject(), version));
      } catch (ParseException e) {
        return Optional.empty();
      }
    });
  }

  private Optional<JWTClaimsSet> verified(String token, JOSEObjectType type) {
    if (token == null || token.length() > MAX_TOKEN_LENGTH) {
      return Optional.empty();
    }
    try {
      SignedJWT jwt = SignedJWT.parse(token);
      JWSHeader header = jwt.getHeader();
      // Only our algorithm and our key: rules out "none" and HMAC keyed with the public key.
      if (!JWSAlgorithm.RS256.equals(header.getAlgorithm())
          || !type.equals(header.getType())
          || !jwt.verify(new RSASSAVerifier(publicKey))) {
        return Optional.empty();
      }
      JWTClaimsSet set = jwt.getJWTClaimsSet();
      long now = clock.millis();
      if (!issuer.equals(set.getIssuer())
          || set.getAudience() == null
          || !set.getAudience().contains(service)
          || set.getSubject() == null
          || set.getExpirationTime() == null
          || set.getExpirationTime().getTime() + SKEW.toMillis() < now
          || (set.getNotBeforeTime() != null
              && set.getNotBeforeTime().getTime() - SKEW.toMillis() > now)) {
        return Optional.empty();
      }
      return Optional.of(set);
    } catch (ParseException | JOSEException | RuntimeException e) {
      return Optional.empty();
    }
  }

  // ---- keys ----

  /**
   * Loads an RSA private key from a PEM file (PKCS#8, {@code BEGIN PRIVATE KEY}, as {@code
   * openssl genpkey -algorithm RSA} writes it); when the file does not exist and {@code create} is
   * set, generates a 2048-bit key and writes it there (readable by the owner only).
   */
  public static RSAPrivateCrtKey loadOrCreateKey(Path file, boolean create) throws IOException {
    if (!Files.exists(file)) {
      if (!create) {
        throw new IOException("token signing key " + file + " does not exist");
      }
      try {
        KeyPairGenerator generator = KeyPairGenerator.getInstance("RSA");
        generator.initialize(2048);
        RSAPrivateCrtKey key = (RSAPrivateCrtKey) generator.generateKeyPair().getPrivate();
        String pem = "-----BEGIN PRIVATE KEY-----\n"
            + Base64.getMimeEncoder(64, "\n".getBytes(StandardCharsets.US_ASCII))
                .encodeToString(key.getEncoded())
            + "\n-----END PRIVATE KEY-----\n";
        Files.createDirectories(file.toAbsolutePath().getParent());
        Path temporary = file.resolveSibling(file.getFileName() + ".tmp");
        Files.writeString(
            temporary,
            pem,
            StandardOpenOption.CREATE,
            StandardOpenOption.TRUNCATE_EXISTING,
            StandardOpenOption.WRITE);
        try {
          Files.setPosixFilePermissions(temporary, PosixFilePermissions.fromString("rw-------"));
        } catch (UnsupportedOperationException ignored) {
          // not a POSIX file system
        }
        Files.move(temporary, file, java.nio.file.StandardCopyOption.ATOMIC_MOVE);
        return key;
      } catch (GeneralSecurityException e) {
        throw new IOException("cannot generate a token signing key: " + e.getMessage(), e);
      }
    }
    String pem = Files.readString(file, StandardCharsets.US_ASCII);
    int begin = pem.indexOf("-----BEGIN PRIVATE KEY-----");
    int end = pem.indexOf("-----END PRIVATE KEY-----");
    if (begin < 0 || end < begin) {
      throw new IOException(
          "token signing key " + file + " is not a PKCS#8 PEM private key (BEGIN PRIVATE KEY)");
    }
    String body =
        pem.substring(begin + "-----BEGIN PRIVATE KEY-----".length(), end).replaceAll("\\s", "");
    try {
      PKCS8EncodedKeySpec spec = new PKCS8EncodedKeySpec(Base64.getDecoder().decode(body));
      if (KeyFactory.getInstance("RSA").generatePrivate(spec) instanceof RSAPrivateCrtKey key) {
        if (key.getModulus().bitLength() < 2048) {
          throw new IOException("token signing key " + file + " is shorter than 2048 bits");
        }
        return key;
      }
      throw new IOException("token signing key " + file + " is not an RSA key");
    } catch (GeneralSecurityException | IllegalArgumentException e) {
      throw new IOException(
          "token signing key " + file + " is not a valid RSA private key: " + e.getMessage(), e);
    }
  }

  private static RSAPublicKey publicKey(RSAPrivateCrtKey key) {
    try {
      return (RSAPublicKey) KeyFactory.getInstance("RSA")
          .generatePublic(new RSAPublicKeySpec(key.getModulus(), key.getPublicExponent()));
    } catch (GeneralSecurityException e) {
      throw new IllegalStateException(e);
    }
  }

  /** A stable key id: the first 16 bytes of the SHA-256 of the public modulus, in hex. */
  private static String keyId(RSAPublicKey key) {
    try {
      byte[] hash = MessageDigest.getInstance("SHA-256").digest(key.getModulus().toByteArray());
      return HexFormat.of().formatHex(hash, 0, 16);
    } catch (GeneralSecurityException e) {
      throw new IllegalStateException(e);
    }
  }
}
