package dev.berth.testkit;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.List;
import java.util.Map;
import java.util.concurrent.TimeUnit;
import java.util.stream.Stream;

/**
 * Runs skopeo, podman and buildah the way a user would, but sealed off from the machine's own
 * setup: each instance has its own {@code HOME} (holding a signature policy that accepts anything,
 * so no {@code /etc/containers/policy.json} is needed and no credentials are picked up), its own
 * {@code TMPDIR}, and its own podman/buildah image store (vfs driver, private {@code --root} and
 * {@code --runroot}), so tests never touch {@code /var/lib/containers/storage}. The run root is a
 * short directory under {@code java.io.tmpdir} (podman limits its length); {@link #close} removes
 * it.
 *
 * <p>A command that exits non-zero fails with an {@link AssertionError} quoting its output.
 */
public final class ContainerTools implements AutoCloseable {

  private static final Duration TIMEOUT = Duration.ofMinutes(5);
  private static final String ACCEPT_ANYTHING =
      "{\"default\":[{\"type\":\"insecureAcceptAnything\"}]}";

  private final Path home;
  private final Path temporary;
  private final Path storageRoot;
  private final Path runRoot;

  /** Prepares a sealed-off environment under {@code workDirectory} (created if missing). */
  public ContainerTools(Path workDirectory) {
    this.home = workDirectory.resolve("home");
    this.temporary = workDirectory.resolve("tmp");
    this.storageRoot = workDirectory.resolve("storage");
    try {
      // podman refuses a run root longer than 50 characters, so it cannot live under workDirectory.
      this.runRoot = Files.createTempDirectory("berth-run-");
      if (runRoot.toString().length() > 50) {
        throw new IllegalStateException(
            "podman needs a run root of at most 50 characters; set java.io.tmpdir shorter than "
                + runRoot);
      }
      Files.createDirectories(home.resolve(".config/containers"));
      Files.writeString(home.resolve(".config/containers/policy.json"), ACCEPT_ANYTHING);
      Files.createDirectories(temporary);
      Files.createDirectories(storageRoot);
    } catch (IOException e) {
      throw new UncheckedIOException(e);
    }
  }

  /** Deletes the run root, which lives outside the work directory. */
  @Override
  public void close() {
    try (Stream<Path> paths = Files.walk(runRoot)) {
      paths.sorted(Comparator.reverseOrder()).forEach(path -> path.toFile().delete());
    } catch (IOException e) {
      System.err.println("could not delete " + runRoot + ": " + e);
    }
  }

  /** {@code skopeo ARGS…}; returns its stdout. */
  public String skopeo(String... arguments) {
    return new String(run("skopeo", List.of(), arguments), StandardCharsets.UTF_8);
  }

  /** {@code podman --root … --runroot … --storage-driver vfs ARGS…}. */
  public String podman(String... arguments) {
    return new String(run("podman", storageOptions(), arguments), StandardCharsets.UTF_8);
  }

  /** {@code buildah --root … --runroot … --storage-driver vfs ARGS…}. */
  public String buildah(String... arguments) {
    return new String(run("buildah", storageOptions(), arguments), StandardCharsets.UTF_8);
  }

  /**
   * {@code skopeo copy} between two references such as {@code oci:DIR:TAG} and {@code
   * docker://HOST/REPO:TAG}, over plain HTTP.
   */
  public String copy(String source, String destination, String... extraArguments) {
    List<String> arguments = new ArrayList<>(List.of("copy", "--quiet"));
    arguments.add("--src-tls-verify=false");
    arguments.add("--dest-tls-verify=false");
    arguments.addAll(List.of(extraArguments));
    arguments.add(source);
    arguments.add(destination);
    return skopeo(arguments.toArray(String[]::new));
  }

  /** The manifest bytes a registry serves for {@code docker://…} ({@code skopeo inspect --raw}). */
  public byte[] rawManifest(String dockerReference) {
    return run("skopeo", List.of(), "inspect", "--raw", "--tls-verify=false", dockerReference);
  }

  /** A scratch directory inside this environment, for files a command should write. */
  public Path temporaryDirectory() {
    return temporary;
  }

  private List<String> storageOptions() {
    return List.of(
        "--root",
        storageRoot.toString(),
        "--runroot",
        runRoot.toString(),
        "--storage-driver",
        "vfs");
  }

  private byte[] run(String tool, List<String> globalOptions, String... arguments) {
    List<String> command = new ArrayList<>();
    command.add(tool);
    command.addAll(globalOptions);
    command.addAll(List.of(arguments));
    ProcessBuilder builder = new ProcessBuilder(command);
    Map<String, String> environment = builder.environment();
    for (String inherited : List.of(
        "XDG_CONFIG_HOME",
        "XDG_DATA_HOME",
        "XDG_RUNTIME_DIR",
        "DOCKER_CONFIG",
        "REGISTRY_AUTH_FILE",
        "CONTAINERS_CONF",
        "CONTAINERS_REGISTRIES_CONF",
        "CONTAINERS_STORAGE_CONF")) {
      environment.remove(inherited);
    }
    environment.put("HOME", home.toString());
    environment.put("TMPDIR", temporary.toString());
    try {
      Path stdout = Files.createTempFile(temporary, tool + "-", ".out");
      Path stderr = Files.createTempFile(temporary, tool + "-", ".err");
      builder.redirectOutput(stdout.toFile());
      builder.redirectError(stderr.toFile());
      Process process;
      try {
        process = builder.start();
      } catch (IOException e) {
        throw new AssertionError(
            tool
                + " is not installed or cannot run ("
                + e.getMessage()
                + "); on Debian: apt-get install -y skopeo podman buildah",
            e);
      }
      boolean finished = process.waitFor(TIMEOUT.toSeconds(), TimeUnit.SECONDS);
      if (!finished) {
        process.destroyForcibly().waitFor();
      }
      byte[] out = Files.readAllBytes(stdout);
      String err = Files.readString(stderr, StandardCharsets.UTF_8);
      Files.delete(stdout);
      Files.delete(stderr);
      String described = String.join(" ", command)
          + (finished ? " exited with " + process.exitValue() : " did not finish within " + TIMEOUT)
          + "\n--- stdout:\n"
          + new String(out, StandardCharsets.UTF_8)
          + "\n--- stderr:\n"
          + err;
      if (!finished || process.exitValue() != 0) {
        throw new AssertionError(described);
      }
      return out;
    } catch (IOException e) {
      throw new UncheckedIOException(e);
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
      throw new IllegalStateException("interrupted while running " + tool, e);
    }
  }
}
