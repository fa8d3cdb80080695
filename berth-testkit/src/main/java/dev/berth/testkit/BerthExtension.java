package dev.berth.testkit;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Comparator;
import java.util.List;
import java.util.Locale;
import java.util.function.Consumer;
import java.util.stream.Stream;
import org.junit.jupiter.api.extension.AfterAllCallback;
import org.junit.jupiter.api.extension.BeforeAllCallback;
import org.junit.jupiter.api.extension.ExtensionContext;
import org.junit.jupiter.api.extension.TestExecutionExceptionHandler;
import org.junit.jupiter.api.extension.TestWatcher;

/**
 * One Berth process for a test class, on a fresh temporary directory; register it as a static
 * field:
 *
 * <pre>{@code
 * @RegisterExtension static final BerthExtension BERTH = new BerthExtension();
 * }</pre>
 *
 * <p>When a test fails, the server's log is printed to stderr and the directory is kept (its path
 * is printed) so the data can be inspected; otherwise it is deleted after the class, unless the
 * system property {@value #KEEP_PROPERTY} is {@code true}. The failure's own message also gets the
 * log's last {@value #FAILURE_LOG_LINES} lines, so the test summary (often all a CI run shows)
 * says what the server saw.
 */
public final class BerthExtension
    implements BeforeAllCallback, AfterAllCallback, TestWatcher, TestExecutionExceptionHandler {

  /** Set this system property to {@code true} to keep the directories of passing classes too. */
  public static final String KEEP_PROPERTY = "berth.it.keep";

  private static final int LOG_TAIL_CHARACTERS = 20_000;
  private static final int FAILURE_LOG_LINES = 30;

  private final Consumer<BerthProcess.Builder> options;
  private Path workDirectory;
  private BerthProcess berth;
  private ContainerTools tools;
  private boolean failed;

  public BerthExtension() {
    this(builder -> {});
  }

  /** With extra options, e.g. {@code builder -> builder.env("BERTH_LOG_LEVEL", "debug")}. */
  public BerthExtension(Consumer<BerthProcess.Builder> options) {
    this.options = options;
  }

  @Override
  public void beforeAll(ExtensionContext context) throws IOException {
    workDirectory = Files.createTempDirectory(
        // lower case: podman names images pulled from an oci: path after the path
        "berth-it-"
            + context.getRequiredTestClass().getSimpleName().toLowerCase(Locale.ROOT)
            + "-");
    BerthProcess.Builder builder = BerthProcess.builder(workDirectory.resolve("data"));
    options.accept(builder);
    berth = builder.start();
    tools = new ContainerTools(workDirectory.resolve("tools"));
  }

  @Override
  public void afterAll(ExtensionContext context) {
    if (berth != null) {
      berth.close();
    }
    if (tools != null) {
      tools.close();
    }
    if (failed || context.getExecutionException().isPresent()) {
      System.err.println(
          "Kept the data of the failed " + context.getDisplayName() + " in " + workDirectory);
    } else if (Boolean.getBoolean(KEEP_PROPERTY)) {
      System.err.println("Kept the data of " + context.getDisplayName() + " in " + workDirectory);
    } else {
      deleteRecursively(workDirectory);
    }
  }

  @Override
  public void testFailed(ExtensionContext context, Throwable cause) {
    failed = true;
    if (berth != null) {
      String log = berth.log();
      System.err.println("---- "
          + context.getDisplayName()
          + " failed; Berth log "
          + berth.logFile()
          + " (last "
          + LOG_TAIL_CHARACTERS
          + " characters) ----\n"
          + log.substring(Math.max(0, log.length() - LOG_TAIL_CHARACTERS))
          + "\n---- end of Berth log ----");
    }
  }

  /** Adds the server log's last lines to a failing test's assertion message (see above). */
  @Override
  public void handleTestExecutionException(ExtensionContext context, Throwable failure)
      throws Throwable {
    if (berth == null) {
      throw failure;
    }
    String tail = "\n---- the last "
        + FAILURE_LOG_LINES
        + " lines of the Berth log "
        + berth.logFile()
        + " ----\n"
        + lastLines(berth.log(), FAILURE_LOG_LINES);
    if (failure instanceof AssertionError assertion) {
      AssertionError richer = new AssertionError(assertion.getMessage() + tail, assertion);
      richer.setStackTrace(assertion.getStackTrace());
      throw richer;
    }
    failure.addSuppressed(new IllegalStateException("Berth log" + tail));
    throw failure;
  }

  static String lastLines(String text, int count) {
    List<String> lines = text.lines().toList();
    return String.join("\n", lines.subList(Math.max(0, lines.size() - count), lines.size()));
  }

  public BerthProcess berth() {
    return berth;
  }

  /** skopeo, podman and buildah sealed off in this class's directory. */
  public ContainerTools tools() {
    return tools;
  }

  /** {@code 127.0.0.1:<port>}. */
  public String hostPort() {
    return berth.hostPort();
  }

  /** {@code docker://127.0.0.1:<port>/<repositoryAndTag>}, for skopeo. */
  public String docker(String repositoryAndTag) {
    return "docker://" + berth.hostPort() + "/" + repositoryAndTag;
  }

  /** A new raw HTTP client for this registry (make a new one after a restart). */
  public RegistryClient client() {
    return berth.client();
  }

  /** A directory {@code name} under this class's temporary directory, created if missing. */
  public Path directory(String name) {
    try {
      return Files.createDirectories(workDirectory.resolve("work").resolve(name));
    } catch (IOException e) {
      throw new UncheckedIOException(e);
    }
  }

  private static void deleteRecursively(Path directory) {
    if (directory == null || !Files.exists(directory)) {
      return;
    }
    try (Stream<Path> paths = Files.walk(directory)) {
      paths.sorted(Comparator.reverseOrder()).forEach(path -> path.toFile().delete());
    } catch (IOException e) {
      System.err.println("could not delete " + directory + ": " + e);
    }
  }
}
