import java.net.URI;
import java.nio.file.Files;
import java.nio.file.Path;
import org.gaul.s3proxy.S3Proxy;
import org.gaul.s3proxy.auth.AuthenticationType;
import org.gaul.s3proxy.nio2blob.FilesystemNio2BlobStore;

/**
 * A standalone s3proxy for the GC benchmark, configured as berth-s3's tests configure it
 * (filesystem blob store, signature v4): run with the s3proxy classpath from ~/.m2,
 *
 * <pre>
 *   java -cp "$(cat s3proxy.classpath)" bench/gc/S3ProxyServer.java DIR PORT ACCESS_KEY SECRET_KEY
 * </pre>
 *
 * Buckets are directories under DIR. Runs until killed.
 */
public final class S3ProxyServer {
  public static void main(String[] args) throws Exception {
    Path directory = Path.of(args[0]);
    Files.createDirectories(directory);
    S3Proxy proxy = S3Proxy.builder()
        .blobStore(new FilesystemNio2BlobStore(directory.toRealPath().toString()))
        .endpoint(URI.create("http://127.0.0.1:" + Integer.parseInt(args[1])))
        .awsAuthentication(AuthenticationType.AWS_V2_OR_V4, args[2], args[3])
        .build();
    proxy.start();
    while (!proxy.getState().equals("STARTED")) {
      Thread.sleep(10);
    }
    System.out.println("s3proxy on http://127.0.0.1:" + proxy.getPort() + " over " + directory);
    Thread.currentThread().join();
  }
}
