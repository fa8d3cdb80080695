package dev.berth.testkit;

import java.io.IOException;
import java.nio.file.Path;

/**
 * A self-signed certificate for 127.0.0.1 and localhost, valid for a day, made with {@code
 * openssl req} (installed by {@code .ci/run}): PEM files a server can serve TLS from in a test.
 */
public record TestCertificate(Path cert, Path key) {

  /** Writes {@code cert.pem} and {@code key.pem} into {@code directory}. */
  public static TestCertificate create(Path directory) throws IOException, InterruptedException {
    Path cert = directory.resolve("cert.pem");
    Path key = directory.resolve("key.pem");
    Process openssl = new ProcessBuilder(
            "openssl",
            "req",
            "-x509",
            "-newkey",
            "rsa:2048",
            "-nodes",
            "-days",
            "1",
            "-subj",
            "/CN=localhost",
            "-addext",
            "subjectAltName=IP:127.0.0.1,DNS:localhost",
            "-keyout",
            key.toString(),
            "-out",
            cert.toString())
        .redirectErrorStream(true)
        .start();
    String output = new String(openssl.getInputStream().readAllBytes());
    if (openssl.waitFor() != 0) {
      throw new IllegalStateException("openssl req failed: " + output);
    }
    return new TestCertificate(cert, key);
  }
}
