package dev.berth.testkit.contract;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import dev.berth.metadata.BlobDao;
import dev.berth.metadata.Database;
import dev.berth.metadata.ManifestDao;
import dev.berth.metadata.NewManifest;
import dev.berth.metadata.Referrer;
import dev.berth.metadata.RepositoryDao;
import dev.berth.metadata.StoredManifest;
import dev.berth.metadata.TagDao;
import dev.berth.metadata.UploadDao;
import dev.berth.metadata.UploadHashState;
import dev.berth.metadata.UploadSession;
import dev.berth.oci.Digest;
import dev.berth.oci.ErrorCode;
import dev.berth.oci.MediaType;
import dev.berth.oci.RegistryException;
import java.nio.charset.StandardCharsets;
import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;
import java.sql.Connection;
import java.sql.PreparedStatement;
import java.sql.ResultSet;
import java.sql.SQLException;
import java.sql.Statement;
import java.util.ArrayList;
import java.util.HashSet;
import java.util.List;
import java.util.Optional;
import java.util.Set;
import java.util.concurrent.Callable;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

/**
 * The behaviour of the metadata database and its DAOs, the same on every backend. A backend
 * passes by subclassing this with an {@link #openDatabase()} that returns a new, empty, migrated
 * database:
 *
 * <pre>{@code
 * class SqliteMetadataTest extends MetadataContract {
 *   @TempDir Path dir;
 *   @Override protected Database openDatabase() { return Database.open("jdbc:sqlite:" + dir.resolve("berth.db")); }
 * }
 * }</pre>
 *
 * Orders are lexical by code point (what the distribution spec asks of catalog and tag listings),
 * so a backend with a locale collation fails here rather than in a client. After each test the
 * suite checks that the test left no transaction open and no connection taken: a write and a read
 * still complete.
 */
public abstract class MetadataContract {
  private static final String SBOM = "application/vnd.example.sbom.v1+json";
  private static final String SIGNATURE = "application/vnd.example.signature.v1+json";

  protected Database database;
  protected final RepositoryDao repositories = new RepositoryDao();
  protected final BlobDao blobs = new BlobDao();
  protected final ManifestDao manifests = new ManifestDao();
  protected final TagDao tags = new TagDao();
  protected final UploadDao uploads = new UploadDao();

  /** A new, empty database with the schema migrated; called before each test. */
  protected abstract Database openDatabase();

  /**
   * What the database does by itself some time after a bulk load (on PostgreSQL, autovacuum's
   * VACUUM ANALYZE: statistics for the planner, the visibility map for index-only scans).
   */
  protected void afterBulkLoad(String... tables) {}

  /** Releases what {@link #openDatabase()} set up; called after each test, once it is closed. */
  protected void cleanup() {}

  @BeforeEach
  final void open() {
    database = openDatabase();
    assertThat(database.read((Connection c) -> repositories.list(c, null, 10)))
        .as("a new database is empty")
        .isEmpty();
  }

  @AfterEach
  final void checkNothingLeftBehind() throws Exception {
    try {
      CompletableFuture<Boolean> probe = CompletableFuture.supplyAsync(() -> {
        database.write(c -> repositories.findId(c, "probe"));
        return database.isHealthy();
      });
      assertThat(probe.get(10, TimeUnit.SECONDS))
          .as("a write and a read complete after the test (no transaction or connection held)")
          .isTrue();
    } finally {
      try {
        database.close();
      } finally {
        cleanup();
      }
    }
  }

  // --- repositories ------------------------------------------------------------------------------

  @Test
  void repositoryIsCreatedOnceAndFoundByName() {
    long first = database.write(c -> repositories.getOrCreate(c, "library/alpine"));
    long again = database.write(c -> repositories.getOrCreate(c, "library/alpine"));
    long other = database.write(c -> repositories.getOrCreate(c, "library/busybox"));

    assertThat(again).isEqualTo(first);
    assertThat(other).isNotEqualTo(first);
    assertThat(database.read((Connection c) -> repositories.findId(c, "library/alpine")))
        .hasValue(first);
    assertThat(database.read((Connection c) -> repositories.findId(c, "library/nothing")))
        .isEmpty();
  }

  @Test
  void repositoriesListInLexicalOrder() {
    for (String name : List.of("b", "a/c", "c/d/e", "a", "a-b", "a0", "Z")) {
      database.write(c -> repositories.getOrCreate(c, name));
    }

    // Code-point order: '-' (0x2d) < '/' (0x2f) < '0' (0x30) and upper case before lower.
    assertThat(database.read((Connection c) -> repositories.list(c, null, 100)))
        .containsExactly("Z", "a", "a-b", "a/c", "a0", "b", "c/d/e");
    assertThat(database.read((Connection c) -> repositories.list(c, "", 100))).hasSize(7);
  }

  @Test
  void repositoryListingPagesWithAnExclusiveLastAndALimit() {
    for (String name : List.of("e", "d", "c", "b", "a")) {
      database.write(c -> repositories.getOrCreate(c, name));
    }

    assertThat(database.read((Connection c) -> repositories.list(c, null, 2)))
        .containsExactly("a", "b");
    assertThat(database.read((Connection c) -> repositories.list(c, "b", 2)))
        .containsExactly("c", "d");
    assertThat(database.read((Connection c) -> repositories.list(c, "d", 2))).containsExactly("e");
    assertThat(database.read((Connection c) -> repositories.list(c, "e", 2))).isEmpty();
    assertThat(database.read((Connection c) -> repositories.list(c, "bb", 10)))
        .as("last need not be a name")
        .containsExactly("c", "d", "e");
    assertThat(database.read((Connection c) -> repositories.list(c, null, 0))).isEmpty();
  }

  // --- blobs -------------------------------------------------------------------------------------

  @Test
  void blobIsRecordedOnceWithItsFirstSize() {
    Digest digest = digest("layer");
    assertThat(database.read((Connection c) -> blobs.size(c, digest))).isEmpty();

    database.write(c -> insertBlob(c, digest, 1234));
    database.write(c -> insertBlob(c, digest, 99));

    assertThat(database.read((Connection c) -> blobs.size(c, digest))).hasValue(1234);
  }

  @Test
  void linkMakesABlobVisibleInOneRepositoryOnly() {
    Digest digest = digest("layer");
    long alpine = database.write(c -> repositories.getOrCreate(c, "alpine"));
    database.write(c -> repositories.getOrCreate(c, "busybox"));
    database.write(c -> insertBlob(c, digest, 42));

    assertThat(database.read((Connection c) -> blobs.linkedSize(c, "alpine", digest)))
        .as("before link")
        .isEmpty();
    assertThat(database.write((Connection c) -> blobs.link(c, alpine, digest))).isTrue();
    assertThat(database.write((Connection c) -> blobs.link(c, alpine, digest)))
        .as("linked already")
        .isFalse();

    assertThat(database.read((Connection c) -> blobs.linkedSize(c, "alpine", digest)))
        .hasValue(42);
    assertThat(database.read((Connection c) -> blobs.linkedSize(c, "busybox", digest)))
        .isEmpty();
    assertThat(database.read((Connection c) -> blobs.linkedSize(c, "unknown", digest)))
        .isEmpty();
    assertThat(database.read((Connection c) -> blobs.linkedSize(c, "alpine", digest("other"))))
        .isEmpty();
  }

  @Test
  void unlinkHidesTheBlobButKeepsItsRecord() {
    Digest digest = digest("layer");
    long repository = database.write(c -> repositories.getOrCreate(c, "alpine"));
    database.write(c -> insertBlob(c, digest, 42));
    database.write(c -> blobs.link(c, repository, digest));

    assertThat(database.write((Connection c) -> blobs.unlink(c, repository, digest)))
        .isTrue();
    assertThat(database.write((Connection c) -> blobs.unlink(c, repository, digest)))
        .isFalse();

    assertThat(database.read((Connection c) -> blobs.linkedSize(c, "alpine", digest)))
        .isEmpty();
    assertThat(database.read((Connection c) -> blobs.size(c, digest))).hasValue(42);
    assertThat(database.write((Connection c) -> blobs.link(c, repository, digest)))
        .as("link again")
        .isTrue();
  }

  @Test
  void markListedReturnsWhatARepositoryLacksInTheOrderGiven() {
    Digest a = digest("a");
    Digest b = digest("b");
    Digest c3 = digest("c");
    long repository = database.write(c -> repositories.getOrCreate(c, "alpine"));
    database.write(c -> insertBlob(c, b, 1));
    database.write(c -> blobs.link(c, repository, b));

    assertThat(database.write((Connection c) -> blobs.markListed(c, repository, List.of(c3, b, a))))
        .containsExactly(c3, a);
    assertThat(database.write((Connection c) -> blobs.markListed(c, repository, List.of(b))))
        .isEmpty();
    assertThat(database.write((Connection c) -> blobs.markListed(c, repository, List.of())))
        .isEmpty();
  }

  @Test
  void linkingAnUnrecordedBlobFails() {
    long repository = database.write(c -> repositories.getOrCreate(c, "alpine"));

    assertThatThrownBy(() -> database.write(c -> blobs.link(c, repository, digest("never stored"))))
        .isInstanceOf(RegistryException.class);
    assertThat(
            database.read((Connection c) -> blobs.linkedSize(c, "alpine", digest("never stored"))))
        .isEmpty();
  }

  // --- manifests ---------------------------------------------------------------------------------

  @Test
  void manifestIsStoredWithWhatWasLearntFromIt() {
    long repository = database.write(c -> repositories.getOrCreate(c, "alpine"));
    Digest subject = digest("subject");
    NewManifest manifest = manifest(
        "image", SBOM, subject, "{\"org.example\":\"yes\"}", List.of(digest("cfg")), List.of());

    long id = database.write(c -> manifests.insertIfAbsent(c, repository, manifest));

    StoredManifest stored = database
        .read(c -> manifests.findByDigest(c, "alpine", manifest.digest(), true))
        .orElseThrow();
    assertThat(stored.id()).isEqualTo(id);
    assertThat(stored.digest()).isEqualTo(manifest.digest());
    assertThat(stored.mediaType()).isEqualTo(MediaType.OCI_MANIFEST);
    assertThat(stored.artifactType()).isEqualTo(SBOM);
    assertThat(stored.subject()).isEqualTo(subject);
    assertThat(stored.size()).isEqualTo(manifest.content().length);
    assertThat(stored.annotationsJson()).isEqualTo("{\"org.example\":\"yes\"}");
    assertThat(stored.content()).isEqualTo(manifest.content());

    StoredManifest withoutContent = database
        .read(c -> manifests.findByDigest(c, "alpine", manifest.digest(), false))
        .orElseThrow();
    assertThat(withoutContent.content()).isNull();
    assertThat(withoutContent.size()).isEqualTo(manifest.content().length);
    assertThat(database.read((Connection c) -> manifests.findId(c, repository, manifest.digest())))
        .hasValue(id);
  }

  @Test
  void manifestWithoutOptionalFieldsStoresNulls() {
    long repository = database.write(c -> repositories.getOrCreate(c, "alpine"));
    NewManifest manifest = manifest("plain", null, null, null, List.of(), List.of());
    database.write(c -> manifests.insertIfAbsent(c, repository, manifest));

    StoredManifest stored = database
        .read(c -> manifests.findByDigest(c, "alpine", manifest.digest(), false))
        .orElseThrow();
    assertThat(stored.artifactType()).isNull();
    assertThat(stored.subject()).isNull();
    assertThat(stored.annotationsJson()).isNull();
  }

  @Test
  void insertIfAbsentIsIdempotent() {
    long repository = database.write(c -> repositories.getOrCreate(c, "alpine"));
    NewManifest manifest = manifest("image", null, null, null, List.of(digest("cfg")), List.of());
    NewManifest sameDigestOtherFields = new NewManifest(
        manifest.digest(),
        MediaType.OCI_INDEX,
        SBOM,
        null,
        "{}",
        manifest.content(),
        List.of(digest("x")),
        List.of(digest("y")));

    long first = database.write(c -> manifests.insertIfAbsent(c, repository, manifest));
    long second = database.write(c -> manifests.insertIfAbsent(c, repository, manifest));
    long third =
        database.write(c -> manifests.insertIfAbsent(c, repository, sameDigestOtherFields));

    assertThat(second).isEqualTo(first);
    assertThat(third).isEqualTo(first);
    StoredManifest stored = database
        .read(c -> manifests.findByDigest(c, "alpine", manifest.digest(), false))
        .orElseThrow();
    assertThat(stored.mediaType()).as("the first push wins").isEqualTo(MediaType.OCI_MANIFEST);
    assertThat(stored.artifactType()).isNull();
    assertThat(count("SELECT COUNT(*) FROM manifests")).isEqualTo(1);
    assertThat(count("SELECT COUNT(*) FROM manifest_blobs WHERE manifest_id = ?", first))
        .isEqualTo(1);
    assertThat(count("SELECT COUNT(*) FROM manifest_references WHERE parent_id = ?", first))
        .isZero();
  }

  @Test
  void manifestsBelongToTheirRepository() {
    long alpine = database.write(c -> repositories.getOrCreate(c, "alpine"));
    long busybox = database.write(c -> repositories.getOrCreate(c, "busybox"));
    NewManifest manifest = manifest("shared", null, null, null, List.of(), List.of());

    long inAlpine = database.write(c -> manifests.insertIfAbsent(c, alpine, manifest));
    assertThat(database.read(
            (Connection c) -> manifests.findByDigest(c, "busybox", manifest.digest(), false)))
        .isEmpty();
    assertThat(database.read((Connection c) -> manifests.findId(c, busybox, manifest.digest())))
        .isEmpty();

    long inBusybox = database.write(c -> manifests.insertIfAbsent(c, busybox, manifest));
    assertThat(inBusybox).isNotEqualTo(inAlpine);
    assertThat(database.read(
            (Connection c) -> manifests.findByDigest(c, "nothing", manifest.digest(), false)))
        .isEmpty();
  }

  @Test
  void manifestRecordsEachReferenceOnce() {
    long repository = database.write(c -> repositories.getOrCreate(c, "alpine"));
    Digest layer = digest("layer");
    Digest child = digest("child");
    NewManifest manifest = manifest(
        "dupes", null, null, null, List.of(layer, digest("cfg"), layer), List.of(child, child));

    long id = database.write(c -> manifests.insertIfAbsent(c, repository, manifest));

    assertThat(count("SELECT COUNT(*) FROM manifest_blobs WHERE manifest_id = ?", id))
        .isEqualTo(2);
    assertThat(count("SELECT COUNT(*) FROM manifest_references WHERE parent_id = ?", id))
        .isEqualTo(1);
  }

  @Test
  void deletingAManifestDeletesItsTagsAndReferences() {
    long repository = database.write(c -> repositories.getOrCreate(c, "alpine"));
    NewManifest doomed = manifest(
        "doomed",
        null,
        null,
        null,
        List.of(digest("cfg"), digest("layer")),
        List.of(digest("child")));
    NewManifest kept = manifest("kept", null, null, null, List.of(digest("cfg")), List.of());
    long doomedId = database.write(c -> manifests.insertIfAbsent(c, repository, doomed));
    long keptId = database.write(c -> manifests.insertIfAbsent(c, repository, kept));
    database.write(c -> {
      tags.put(c, repository, "latest", doomedId);
      tags.put(c, repository, "v1", doomedId);
      tags.put(c, repository, "stable", keptId);
      return null;
    });

    assertThat(database.write((Connection c) -> manifests.delete(c, repository, doomed.digest())))
        .isTrue();
    assertThat(database.write((Connection c) -> manifests.delete(c, repository, doomed.digest())))
        .isFalse();

    assertThat(database.read(
            (Connection c) -> manifests.findByDigest(c, "alpine", doomed.digest(), false)))
        .isEmpty();
    assertThat(database.read((Connection c) -> manifests.findByTag(c, "alpine", "latest", false)))
        .isEmpty();
    assertThat(database.read((Connection c) -> tags.list(c, repository, null, 100)))
        .containsExactly("stable");
    assertThat(count("SELECT COUNT(*) FROM manifest_blobs WHERE manifest_id = ?", doomedId))
        .isZero();
    assertThat(count("SELECT COUNT(*) FROM manifest_references WHERE parent_id = ?", doomedId))
        .isZero();
    assertThat(count("SELECT COUNT(*) FROM manifest_blobs WHERE manifest_id = ?", keptId))
        .isEqualTo(1);
    assertThat(database.read((Connection c) -> manifests.findByTag(c, "alpine", "stable", false)))
        .map(StoredManifest::id)
        .hasValue(keptId);
  }

  @Test
  void deleteOnlyTouchesTheNamedRepository() {
    long alpine = database.write(c -> repositories.getOrCreate(c, "alpine"));
    long busybox = database.write(c -> repositories.getOrCreate(c, "busybox"));
    NewManifest manifest = manifest("shared", null, null, null, List.of(), List.of());
    database.write(c -> manifests.insertIfAbsent(c, alpine, manifest));
    database.write(c -> manifests.insertIfAbsent(c, busybox, manifest));

    database.write(c -> manifests.delete(c, alpine, manifest.digest()));

    assertThat(database.read(
            (Connection c) -> manifests.findByDigest(c, "busybox", manifest.digest(), false)))
        .isPresent();
  }

  @Test
  void absentListsWhatARepositoryLacksInTheOrderGiven() {
    long repository = database.write(c -> repositories.getOrCreate(c, "alpine"));
    NewManifest present = manifest("present", null, null, null, List.of(), List.of());
    database.write(c -> manifests.insertIfAbsent(c, repository, present));
    Digest missingA = digest("missing a");
    Digest missingB = digest("missing b");

    assertThat(database.read((Connection c) ->
            manifests.absent(c, repository, List.of(missingB, present.digest(), missingA))))
        .containsExactly(missingB, missingA);
    assertThat(database.read(
            (Connection c) -> manifests.absent(c, repository, List.of(present.digest()))))
        .isEmpty();
  }

  @Test
  void referrersAreFoundBySubjectOldestFirst() {
    long alpine = database.write(c -> repositories.getOrCreate(c, "alpine"));
    long busybox = database.write(c -> repositories.getOrCreate(c, "busybox"));
    NewManifest image = manifest("image", null, null, null, List.of(), List.of());
    Digest subject = image.digest();
    NewManifest sbom = manifest("sbom", SBOM, subject, "{\"k\":\"v\"}", List.of(), List.of());
    NewManifest signature = manifest("signature", SIGNATURE, subject, null, List.of(), List.of());
    NewManifest unrelated =
        manifest("unrelated", SBOM, digest("elsewhere"), null, List.of(), List.of());
    NewManifest otherRepository =
        manifest("other repository", SBOM, subject, null, List.of(), List.of());
    database.write(c -> {
      manifests.insertIfAbsent(c, alpine, image);
      manifests.insertIfAbsent(c, alpine, sbom);
      manifests.insertIfAbsent(c, alpine, signature);
      manifests.insertIfAbsent(c, alpine, unrelated);
      manifests.insertIfAbsent(c, busybox, otherRepository);
      return null;
    });

    List<Referrer> all = database.read(c -> manifests.referrers(c, "alpine", subject, null));
    assertThat(all).extracting(Referrer::digest).containsExactly(sbom.digest(), signature.digest());
    Referrer first = all.getFirst();
    assertThat(first.mediaType()).isEqualTo(MediaType.OCI_MANIFEST);
    assertThat(first.artifactType()).isEqualTo(SBOM);
    assertThat(first.size()).isEqualTo(sbom.content().length);
    assertThat(first.annotationsJson()).isEqualTo("{\"k\":\"v\"}");

    assertThat(
            database.read((Connection c) -> manifests.referrers(c, "alpine", subject, SIGNATURE)))
        .extracting(Referrer::digest)
        .containsExactly(signature.digest());
    assertThat(database.read(
            (Connection c) -> manifests.referrers(c, "alpine", subject, "application/none")))
        .isEmpty();
    assertThat(database.read(
            (Connection c) -> manifests.referrers(c, "alpine", digest("no referrers"), null)))
        .isEmpty();
    assertThat(database.read((Connection c) -> manifests.referrers(c, "busybox", subject, null)))
        .extracting(Referrer::digest)
        .containsExactly(otherRepository.digest());

    database.write(c -> manifests.delete(c, alpine, sbom.digest()));
    assertThat(database.read((Connection c) -> manifests.referrers(c, "alpine", subject, null)))
        .extracting(Referrer::digest)
        .containsExactly(signature.digest());
  }

  // --- tags --------------------------------------------------------------------------------------

  @Test
  void tagIsCreatedMovedAndDeleted() {
    long repository = database.write(c -> repositories.getOrCreate(c, "alpine"));
    NewManifest one = manifest("one", null, null, null, List.of(), List.of());
    NewManifest two = manifest("two", null, null, null, List.of(), List.of());
    long oneId = database.write(c -> manifests.insertIfAbsent(c, repository, one));
    long twoId = database.write(c -> manifests.insertIfAbsent(c, repository, two));

    database.write(c -> putTag(c, repository, "latest", oneId));
    assertThat(findByTag("alpine", "latest")).map(StoredManifest::digest).hasValue(one.digest());

    database.write(c -> putTag(c, repository, "latest", twoId));
    StoredManifest moved =
        database.read(c -> manifests.findByTag(c, "alpine", "latest", true)).orElseThrow();
    assertThat(moved.digest()).isEqualTo(two.digest());
    assertThat(moved.content()).isEqualTo(two.content());
    assertThat(database.read((Connection c) -> tags.list(c, repository, null, 10)))
        .containsExactly("latest");

    assertThat(database.write((Connection c) -> tags.delete(c, repository, "latest")))
        .isTrue();
    assertThat(database.write((Connection c) -> tags.delete(c, repository, "latest")))
        .isFalse();
    assertThat(findByTag("alpine", "latest")).isEmpty();
    assertThat(database.read(
            (Connection c) -> manifests.findByDigest(c, "alpine", two.digest(), false)))
        .as("deleting a tag keeps its manifest")
        .isPresent();
  }

  @Test
  void tagsAreScopedToTheirRepository() {
    long alpine = database.write(c -> repositories.getOrCreate(c, "alpine"));
    long busybox = database.write(c -> repositories.getOrCreate(c, "busybox"));
    long manifest = database.write(c ->
        manifests.insertIfAbsent(c, alpine, manifest("m", null, null, null, List.of(), List.of())));
    database.write(c -> putTag(c, alpine, "latest", manifest));

    assertThat(findByTag("busybox", "latest")).isEmpty();
    assertThat(database.read((Connection c) -> tags.list(c, busybox, null, 10))).isEmpty();
    assertThat(database.write((Connection c) -> tags.delete(c, busybox, "latest")))
        .isFalse();
    assertThat(findByTag("alpine", "latest")).isPresent();
  }

  @Test
  void tagsListInLexicalOrderAndPage() {
    long repository = database.write(c -> repositories.getOrCreate(c, "alpine"));
    long manifest = database.write(c -> manifests.insertIfAbsent(
        c, repository, manifest("m", null, null, null, List.of(), List.of())));
    for (String tag : List.of("v1", "latest", "V2", "1.0", "_x", "v1.0-rc", "v1-rc")) {
      database.write(c -> putTag(c, repository, tag, manifest));
    }

    // Code-point order: digits, upper case, '_', lower case; "v1" before its extensions.
    assertThat(database.read((Connection c) -> tags.list(c, repository, null, 100)))
        .containsExactly("1.0", "V2", "_x", "latest", "v1", "v1-rc", "v1.0-rc");
    assertThat(database.read((Connection c) -> tags.list(c, repository, null, 3)))
        .containsExactly("1.0", "V2", "_x");
    assertThat(database.read((Connection c) -> tags.list(c, repository, "_x", 3)))
        .containsExactly("latest", "v1", "v1-rc");
    assertThat(database.read((Connection c) -> tags.list(c, repository, "v1-rc", 3)))
        .containsExactly("v1.0-rc");
    assertThat(database.read((Connection c) -> tags.list(c, repository, "v1.0-rc", 3)))
        .isEmpty();
    assertThat(database.read((Connection c) -> tags.list(c, repository, "m", 100)))
        .containsExactly("v1", "v1-rc", "v1.0-rc");
    assertThat(database.read((Connection c) -> tags.list(c, repository, null, 0)))
        .isEmpty();
  }

  // --- upload sessions ---------------------------------------------------------------------------

  @Test
  void uploadSessionIsInsertedFoundTouchedAndDeleted() {
    UploadSession session = new UploadSession("upload-1", "library/alpine", 1_000, 1_000);
    database.write(c -> insertUpload(c, session));

    assertThat(database.read((Connection c) -> uploads.find(c, "upload-1"))).hasValue(session);
    assertThat(database.read((Connection c) -> uploads.find(c, "upload-2"))).isEmpty();
    assertThat(database.read((Connection c) -> repositories.findId(c, "library/alpine")))
        .as("an upload creates no repository")
        .isEmpty();

    database.write(c -> touch(c, "upload-1", 5_000));
    assertThat(database.read((Connection c) -> uploads.find(c, "upload-1")))
        .hasValue(new UploadSession("upload-1", "library/alpine", 1_000, 5_000));

    assertThat(database.write((Connection c) -> uploads.delete(c, "upload-1"))).isTrue();
    assertThat(database.write((Connection c) -> uploads.delete(c, "upload-1"))).isFalse();
    assertThat(database.read((Connection c) -> uploads.find(c, "upload-1"))).isEmpty();
  }

  @Test
  void uploadIdsAreUnique() {
    database.write(c -> insertUpload(c, new UploadSession("same", "alpine", 1, 1)));

    assertThatThrownBy(
            () -> database.write(c -> insertUpload(c, new UploadSession("same", "busybox", 2, 2))))
        .isInstanceOf(RegistryException.class);
    assertThat(database.read((Connection c) -> uploads.find(c, "same")))
        .map(UploadSession::repository)
        .hasValue("alpine");
  }

  @Test
  void idleSinceListsStaleSessionsOldestFirstUpToALimit() {
    database.write(c -> {
      insertUpload(c, new UploadSession("c", "r", 100, 300));
      insertUpload(c, new UploadSession("a", "r", 100, 100));
      insertUpload(c, new UploadSession("fresh", "r", 100, 1_000));
      insertUpload(c, new UploadSession("b", "r", 100, 200));
      return null;
    });

    assertThat(database.read((Connection c) -> uploads.idleSince(c, 1_000, 10)))
        .extracting(UploadSession::id)
        .as("updated before 1000, exclusive")
        .containsExactly("a", "b", "c");
    assertThat(database.read((Connection c) -> uploads.idleSince(c, 1_000, 2)))
        .extracting(UploadSession::id)
        .containsExactly("a", "b");
    assertThat(database.read((Connection c) -> uploads.idleSince(c, 100, 10))).isEmpty();

    database.write(c -> touch(c, "a", 2_000));
    assertThat(database.read((Connection c) -> uploads.idleSince(c, 1_000, 10)))
        .extracting(UploadSession::id)
        .containsExactly("b", "c");
  }

  @Test
  void oneWriterAtATimeClaimsASessionAndSavesItsHashStateWhenItReleases() {
    database.write(c -> insertUpload(c, new UploadSession("u", "alpine", 1, 1)));
    assertThat(hashState("u")).as("a new session has no saved hash").isEmpty();
    // Every byte value survives, as Bouncy Castle's encoded digest state needs.
    byte[] state = new byte[256];
    for (int i = 0; i < state.length; i++) {
      state[i] = (byte) i;
    }

    assertThat(database.write((Connection c) -> uploads.claim(c, "u", "first", 10, 100)))
        .isTrue();
    assertThat(database.write((Connection c) -> uploads.claim(c, "u", "second", 20, 200)))
        .as("claimed by another until 100")
        .isFalse();
    database.write(c -> {
      uploads.release(c, "u", "first", 30, new UploadHashState(state, 1_000));
      return null;
    });

    assertThat(hashState("u")).hasValueSatisfying(saved -> {
      assertThat(saved.encoded()).isEqualTo(state);
      assertThat(saved.bytes()).isEqualTo(1_000);
    });
    assertThat(database.read((Connection c) -> uploads.find(c, "u")))
        .hasValue(new UploadSession("u", "alpine", 1, 30));

    assertThat(database.write((Connection c) -> uploads.claim(c, "u", "second", 40, 400)))
        .as("released")
        .isTrue();
    database.write(c -> {
      uploads.release(c, "u", "first", 50, new UploadHashState(new byte[] {9}, 2_000));
      return null;
    });
    assertThat(hashState("u"))
        .as("a writer whose claim was taken saves nothing")
        .map(UploadHashState::bytes)
        .hasValue(1_000L);
    database.write(c -> {
      uploads.release(c, "u", "second", 60);
      return null;
    });
    assertThat(hashState("u"))
        .as("a release without a state keeps the saved one")
        .map(UploadHashState::bytes)
        .hasValue(1_000L);
    assertThat(database.read((Connection c) -> uploads.find(c, "u")))
        .hasValue(new UploadSession("u", "alpine", 1, 60));
    assertThat(hashState("missing")).isEmpty();
  }

  private Optional<UploadHashState> hashState(String id) {
    return database.read(c -> uploads.hashState(c, id));
  }

  // --- transactions ------------------------------------------------------------------------------

  @Test
  void transactionThatThrowsIsRolledBackCompletely() {
    IllegalStateException failure = new IllegalStateException("the service changed its mind");
    NewManifest manifest = manifest("m", null, null, null, List.of(digest("cfg")), List.of());

    assertThatThrownBy(() -> database.write(c -> {
          long repository = repositories.getOrCreate(c, "alpine");
          insertBlob(c, digest("cfg"), 10);
          blobs.link(c, repository, digest("cfg"));
          long id = manifests.insertIfAbsent(c, repository, manifest);
          tags.put(c, repository, "latest", id);
          insertUpload(c, new UploadSession("u", "alpine", 1, 1));
          throw failure;
        }))
        .isSameAs(failure);

    assertThat(database.read((Connection c) -> repositories.list(c, null, 10))).isEmpty();
    assertThat(database.read((Connection c) -> blobs.size(c, digest("cfg")))).isEmpty();
    assertThat(database.read(
            (Connection c) -> manifests.findByDigest(c, "alpine", manifest.digest(), false)))
        .isEmpty();
    assertThat(database.read((Connection c) -> uploads.find(c, "u"))).isEmpty();
    assertThat(count("SELECT COUNT(*) FROM manifest_blobs")).isZero();
    assertThat(count("SELECT COUNT(*) FROM tags")).isZero();
    assertThat(count("SELECT COUNT(*) FROM repository_blobs")).isZero();
  }

  @Test
  void registryExceptionPassesThroughWriteUnchanged() {
    RegistryException denied = new RegistryException(ErrorCode.DENIED, "not yours");

    assertThatThrownBy(() -> database.write(c -> {
          repositories.getOrCreate(c, "alpine");
          throw denied;
        }))
        .isSameAs(denied);
    assertThat(database.read((Connection c) -> repositories.findId(c, "alpine")))
        .isEmpty();
  }

  @Test
  void sqlErrorBecomesUnavailableAndRollsBack() {
    assertThatThrownBy(() -> database.write(c -> {
          repositories.getOrCreate(c, "alpine");
          try (Statement s = c.createStatement()) {
            s.execute("SELECT * FROM no_such_table");
          }
          return null;
        }))
        .isInstanceOfSatisfying(
            RegistryException.class, e -> assertThat(e.code()).isEqualTo(ErrorCode.UNAVAILABLE))
        .hasCauseInstanceOf(SQLException.class);
    assertThat(database.read((Connection c) -> repositories.findId(c, "alpine")))
        .isEmpty();
  }

  @Test
  void writesCommitAfterARollback() {
    assertThatThrownBy(() -> database.write(c -> {
          repositories.getOrCreate(c, "rolled-back");
          throw new IllegalStateException();
        }))
        .isInstanceOf(IllegalStateException.class);

    database.write(c -> repositories.getOrCreate(c, "committed"));

    assertThat(database.read((Connection c) -> repositories.list(c, null, 10)))
        .containsExactly("committed");
  }

  @Test
  void concurrentWritesFromEightThreadsAllLand() throws Exception {
    int threads = 8;
    int writesEach = 10;
    List<Callable<List<Long>>> tasks = new ArrayList<>();
    for (int t = 0; t < threads; t++) {
      int thread = t;
      tasks.add(() -> {
        List<Long> ids = new ArrayList<>();
        for (int i = 0; i < writesEach; i++) {
          int at = i;
          String name = "thread-" + thread + "/repo-" + i;
          ids.add(database.write(c -> {
            long id = repositories.getOrCreate(c, name);
            insertUpload(c, new UploadSession(name, name, at, at));
            return id;
          }));
          // Reads run beside the writes and see at least this thread's own.
          assertThat(database.read((Connection c) -> repositories.findId(c, name)))
              .isPresent();
        }
        return ids;
      });
    }

    Set<Long> ids = new HashSet<>();
    try (ExecutorService executor = Executors.newFixedThreadPool(threads)) {
      for (Future<List<Long>> future : executor.invokeAll(tasks, 60, TimeUnit.SECONDS)) {
        ids.addAll(future.get());
      }
    }

    assertThat(ids).hasSize(threads * writesEach);
    assertThat(database.read((Connection c) -> repositories.list(c, null, 1000)))
        .hasSize(threads * writesEach);
    assertThat(count("SELECT COUNT(*) FROM uploads")).isEqualTo(threads * writesEach);
  }

  // --- helpers -----------------------------------------------------------------------------------

  /** A sha256 digest of some text. */
  protected static Digest digest(String text) {
    try {
      return Digest.sha256(
          MessageDigest.getInstance("SHA-256").digest(text.getBytes(StandardCharsets.UTF_8)));
    } catch (NoSuchAlgorithmException e) {
      throw new IllegalStateException(e);
    }
  }

  /** An OCI image manifest whose content is unique to {@code seed} and whose digest matches it. */
  protected static NewManifest manifest(
      String seed,
      String artifactType,
      Digest subject,
      String annotationsJson,
      List<Digest> blobs,
      List<Digest> children) {
    byte[] content = ("{\"schemaVersion\":2,\"mediaType\":\"" + MediaType.OCI_MANIFEST
            + "\",\"seed\":\"" + seed + "\"}")
        .getBytes(StandardCharsets.UTF_8);
    return new NewManifest(
        digest(new String(content, StandardCharsets.UTF_8)),
        MediaType.OCI_MANIFEST,
        artifactType,
        subject,
        annotationsJson,
        content,
        blobs,
        children);
  }

  /** A row count, for what no DAO reads (references kept for garbage collection). */
  protected final long count(String sql, Object... parameters) {
    return database.read(c -> {
      try (PreparedStatement p = c.prepareStatement(sql)) {
        for (int i = 0; i < parameters.length; i++) {
          p.setObject(i + 1, parameters[i]);
        }
        try (ResultSet rs = p.executeQuery()) {
          rs.next();
          return rs.getLong(1);
        }
      }
    });
  }

  private Optional<StoredManifest> findByTag(String repository, String tag) {
    return database.read(c -> manifests.findByTag(c, repository, tag, false));
  }

  private Void insertBlob(Connection c, Digest digest, long size) throws SQLException {
    blobs.insertIfAbsent(c, digest, size);
    return null;
  }

  private Void putTag(Connection c, long repository, String tag, long manifest)
      throws SQLException {
    tags.put(c, repository, tag, manifest);
    return null;
  }

  private Void insertUpload(Connection c, UploadSession session) throws SQLException {
    uploads.insert(c, session);
    return null;
  }

  private Void touch(Connection c, String id, long now) throws SQLException {
    uploads.touch(c, id, now);
    return null;
  }

  /**
   * Issue 4 §4: a repository with 100,000 artifacts lists a page in under 100 ms (first page,
   * a page deep in the middle, a tag search), because every listing is a keyset query.
   */
  @Test
  void aRepositoryWithAHundredThousandArtifactsListsAPageInUnder100Milliseconds() {
    int count = 100_000;
    long repository = database.write(c -> repositories.getOrCreate(c, "big/app"));
    database.write(c -> {
      long now = System.currentTimeMillis();
      try (PreparedStatement manifest = c.prepareStatement(
          "INSERT INTO manifests (repository_id, digest, media_type, size, content, created_at)"
              + " VALUES (?, ?, ?, ?, ?, ?)")) {
        for (int i = 0; i < count; i++) {
          String text = "{\"n\":" + i + "}";
          byte[] content = text.getBytes(StandardCharsets.UTF_8);
          manifest.setLong(1, repository);
          manifest.setString(2, digest(text).toString());
          manifest.setString(3, MediaType.OCI_MANIFEST);
          manifest.setLong(4, content.length);
          manifest.setBytes(5, content);
          manifest.setLong(6, now + i);
          manifest.addBatch();
          if (i % 1000 == 999) {
            manifest.executeBatch();
          }
        }
        manifest.executeBatch();
      }
      try (PreparedStatement tag =
          c.prepareStatement("INSERT INTO tags (repository_id, name, manifest_id, updated_at)"
              + " SELECT repository_id, 'v' || id, id, created_at FROM manifests"
              + " WHERE repository_id = ?")) {
        tag.setLong(1, repository);
        tag.executeUpdate();
      }
      return null;
    });
    afterBulkLoad("manifests", "tags");
    dev.berth.metadata.ArtifactDao artifacts = new dev.berth.metadata.ArtifactDao();

    List<dev.berth.metadata.ArtifactDao.Artifact> first = timed(
        "first page",
        () -> database.read((Connection c) -> artifacts.artifacts(c, repository, 0, 51)));
    assertThat(first).hasSize(51);
    assertThat(first.getFirst().tags()).hasSize(1);
    long middle = first.getFirst().id() - count / 2;
    List<dev.berth.metadata.ArtifactDao.Artifact> deep = timed(
        "a page in the middle",
        () -> database.read((Connection c) -> artifacts.artifacts(c, repository, middle, 51)));
    assertThat(deep).hasSize(51);
    List<dev.berth.metadata.ArtifactDao.TagRow> tags = timed(
        "tags after a cursor",
        () -> database.read((Connection c) -> artifacts.tags(c, repository, null, "v5", 51)));
    assertThat(tags).hasSize(51);
    List<dev.berth.metadata.ArtifactDao.RepositorySummary> summaries = timed(
        "repositories of the project",
        () -> database.read(
            (Connection c) -> artifacts.repositories(c, "big", false, null, null, 51)));
    assertThat(summaries).hasSize(1);
    assertThat(summaries.getFirst().artifacts()).isEqualTo(count);
  }

  private <T> T timed(String what, Callable<T> query) {
    try {
      query.call(); // warm the statement and the page cache
      long best = Long.MAX_VALUE;
      T result = null;
      for (int i = 0; i < 3; i++) {
        long started = System.nanoTime();
        result = query.call();
        best = Math.min(best, System.nanoTime() - started);
      }
      System.out.printf("%s: %s in %.1f ms%n", getClass().getSimpleName(), what, best / 1e6);
      assertThat(best / 1_000_000).as(what + " in ms").isLessThan(100);
      return result;
    } catch (Exception e) {
      throw new IllegalStateException(e);
    }
  }
}
