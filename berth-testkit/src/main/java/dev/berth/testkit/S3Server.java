package dev.berth.testkit;

import dev.berth.config.BerthConfig;
import java.io.IOException;
import java.net.URI;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Comparator;
import java.util.stream.Stream;
import org.gaul.s3proxy.S3Proxy;
import org.gaul.s3proxy.auth.AuthenticationType;
import org.gaul.s3proxy.nio2blob.FilesystemNio2BlobStore;

/**
 * A real S3 API on a loopback port: s3proxy in-process over a temporary directory, with signature
 * v4 authentication as AWS does it. Starting it either works or throws, so a test that needs it
 * fails rather than skips when it cannot run.
 *
 * <p>Only s3proxy's filesystem backend is used (the module excludes the SDKs of its other
 * backends). It implements what the S3 driver calls, including {@code ListMultipartUploads} with
 * each upload's initiation time (the modification time of the upload's stub file).
 */
public final class S3Server implements AutoCloseable {
  public static final String ACCESS_KEY = "berth-test";
  public static final String SECRET_KEY = "berth-test-secret";

  private final Path directory;
  private final S3Proxy proxy;

  private S3Server(Path directory, S3Proxy proxy) {
    this.directory = directory;
    this.proxy = proxy;
  }

  public static S3Server start() throws Exception {
    Path directory = Files.createTempDirectory("berth-s3proxy");
    S3Proxy proxy = S3Proxy.builder()
        .blobStore(new FilesystemNio2BlobStore(directory.toRealPath().toString()))
        .endpoint(URI.create("http://127.0.0.1:0"))
        .awsAuthentication(AuthenticationType.AWS_V4, ACCESS_KEY, SECRET_KEY)
        .build();
    proxy.start();
    long deadline = System.nanoTime() + 30_000_000_000L;
    while (!proxy.getState().equals("STARTED")) {
      if (System.nanoTime() > deadline) {
        proxy.stop();
        throw new IllegalStateException("s3proxy did not start within 30 s: " + proxy.getState());
      }
      Thread.sleep(10);
    }
    return new S3Server(directory, proxy);
  }

  public String endpoint() {
    return "http://127.0.0.1:" + proxy.getPort();
  }

  /**
   * The {@code BERTH_STORAGE_*} environment of a Berth process whose blobs are in {@code bucket}
   * on this server (path-style, created by the first node that starts).
   */
  public java.util.Map<String, String> environment(String bucket) {
    return java.util.Map.of(
        "BERTH_STORAGE_DRIVER",
        "s3",
        "BERTH_STORAGE_S3_ENDPOINT",
        endpoint(),
        "BERTH_STORAGE_S3_BUCKET",
        bucket,
        "BERTH_STORAGE_S3_ACCESS_KEY",
        ACCESS_KEY,
        "BERTH_STORAGE_S3_SECRET_KEY",
        SECRET_KEY,
        "BERTH_STORAGE_S3_PATH_STYLE",
        "true",
        "BERTH_STORAGE_S3_CREATE_BUCKET",
        "true");
  }

  /** {@code storage.s3} for a bucket on this server. */
  public BerthConfig.S3Config config(String bucket, String prefix, boolean createBucket) {
    return new BerthConfig.S3Config(
        endpoint(), "us-east-1", bucket, prefix, ACCESS_KEY, SECRET_KEY, true, createBucket);
  }

  @Override
  public void close() throws IOException {
    try {
      proxy.stop();
    } catch (Exception e) {
      if (e instanceof InterruptedException) {
        Thread.currentThread().interrupt();
      }
      throw new IOException("s3proxy did not stop", e);
    } finally {
      deleteTree(directory);
    }
  }

  private static void deleteTree(Path root) throws IOException {
    if (!Files.exists(root)) {
      return;
    }
    try (Stream<Path> walk = Files.walk(root)) {
      for (Path path : walk.sorted(Comparator.reverseOrder()).toList()) {
        Files.deleteIfExists(path);
      }
    }
  }
}
