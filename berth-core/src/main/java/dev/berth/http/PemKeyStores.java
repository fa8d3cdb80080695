package dev.berth.http;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.GeneralSecurityException;
import java.security.KeyFactory;
import java.security.KeyStore;
import java.security.PrivateKey;
import java.security.cert.Certificate;
import java.security.cert.CertificateFactory;
import java.security.spec.PKCS8EncodedKeySpec;
import java.util.ArrayList;
import java.util.Base64;
import java.util.List;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/** Builds an in-memory key store from PEM files: a certificate chain and a PKCS#8 private key. */
final class PemKeyStores {
  static final String PASSWORD = "berth";
  private static final Pattern BLOCK =
      Pattern.compile("-----BEGIN ([A-Z ]+)-----([^-]+)-----END \\1-----");

  private PemKeyStores() {}

  static KeyStore load(String certFile, String keyFile) {
    try {
      String certText = Files.readString(Path.of(certFile), StandardCharsets.US_ASCII);
      String keyText = Files.readString(Path.of(keyFile), StandardCharsets.US_ASCII);
      CertificateFactory factory = CertificateFactory.getInstance("X.509");
      List<Certificate> chain = new ArrayList<>();
      Matcher certs = BLOCK.matcher(certText);
      while (certs.find()) {
        if (certs.group(1).equals("CERTIFICATE")) {
          chain.add(factory.generateCertificate(
              new java.io.ByteArrayInputStream(decode(certs.group(2)))));
        }
      }
      if (chain.isEmpty()) {
        throw new IllegalArgumentException(
            "server.tls.cert-file: no CERTIFICATE block in " + certFile);
      }
      Matcher key = BLOCK.matcher(keyText);
      PrivateKey privateKey = null;
      while (key.find() && privateKey == null) {
        if (key.group(1).equals("PRIVATE KEY")) {
          byte[] der = decode(key.group(2));
          for (String algorithm : List.of("RSA", "EC", "Ed25519")) {
            try {
              privateKey =
                  KeyFactory.getInstance(algorithm).generatePrivate(new PKCS8EncodedKeySpec(der));
              break;
            } catch (GeneralSecurityException e) {
              // try the next algorithm
            }
          }
        }
      }
      if (privateKey == null) {
        throw new IllegalArgumentException("server.tls.key-file: no PKCS#8 'PRIVATE KEY' block in "
            + keyFile + " (convert with: openssl pkcs8 -topk8 -nocrypt -in KEY -out KEY.pk8)");
      }
      KeyStore store = KeyStore.getInstance("PKCS12");
      store.load(null, null);
      store.setKeyEntry(
          "berth", privateKey, PASSWORD.toCharArray(), chain.toArray(Certificate[]::new));
      return store;
    } catch (IOException | GeneralSecurityException e) {
      throw new IllegalArgumentException(
          "server.tls: cannot load " + certFile + " / " + keyFile + ": " + e.getMessage(), e);
    }
  }

  private static byte[] decode(String base64) {
    return Base64.getMimeDecoder().decode(base64.replaceAll("\\s", ""));
  }
}
