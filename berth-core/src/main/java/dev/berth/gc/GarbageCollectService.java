package dev.berth.gc;

import com.fasterxml.jackson.core.JsonProcessingException;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import dev.berth.audit.AuditEvent;
import dev.berth.audit.AuditLog;
import dev.berth.distribution.UploadService;
import dev.berth.jobs.Pacer;
import dev.berth.metadata.Database;
import dev.berth.metadata.UploadDao;
import dev.berth.metadata.UploadSession;
import dev.berth.oci.Digest;
import dev.berth.oci.RepositoryName;
import dev.berth.storage.BlobStore;
import java.io.IOException;
import java.sql.Connection;
import java.sql.SQLException;
import java.time.Clock;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.List;
import java.util.Optional;
import java.util.OptionalLong;
import java.util.Set;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Semaphore;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Online garbage collection (decision 008): runs next to pushes and pulls, never blocks them, and
 * never deletes bytes a committed row points to. One run, in this order:
 *
 * <ol>
 *   <li>upload sessions idle longer than {@code uploads.expiry}: row, then bytes; then writes
 *       that the storage backend holds unfinished since before that (on S3, incomplete multipart
 *       uploads of nodes that died mid-write), aborted ({@link
 *       dev.berth.storage.BlobDriver#abortIncompleteWrites});
 *   <li>repository links no manifest of their repository lists, once neither held ({@code
 *       gc.link-hold} after a client relied on them) nor in the grace period of their release
 *       (decision 012): per link, locked and re-checked in its transaction;
 *   <li>blobs no repository links and no manifest lists, unreferenced for longer than {@code
 *       gc.grace-period} (and those an earlier run claimed): per digest, under the digest's lock,
 *       claim (LIVE → DELETING, re-checked in the transaction), delete the bytes, delete the row
 *       (see {@link BlobState});
 *   <li>the storage walk: files under {@code blobs/} with no row (under the digest's lock, so an
 *       upload between its move and its row is never taken for one) and files under {@code
 *       uploads/} with no session (monolithic uploads, which have no session, once older than the
 *       expiry);
 *   <li>with {@code deleteUntagged}, or in projects whose policy says so: manifests with no tag that no index of their repository lists
 *       and none has as subject, older than the grace period. Their blobs become collectable by
 *       the next run, so that a dry run can say exactly what this one deletes.
 * </ol>
 *
 * A dry run walks the same lists and deletes nothing. Failures of single items are counted and
 * left for the next run. {@link #start} records a run and {@link #collect} executes it; {@link
 * GarbageCollectJob} calls them from jobs on the database job queue.
 */
public final class GarbageCollectService {
  private static final Logger log = LoggerFactory.getLogger(GarbageCollectService.class);
  /** Items (links, blobs) a run works on at once. */
  static final int PARALLELISM = 32;

  /** Entries per list kept in a run's report. */
  public static final int REPORT_LIMIT = 1000;

  /** What a run is asked to do. */
  public record Options(boolean dryRun, boolean deleteUntagged) {}

  /** The offline comparison of storage with metadata ({@code berth gc --verify}). */
  public record Verification(
      long liveBlobs,
      List<String> orphans,
      List<String> missing,
      List<String> unfinishedDeletions) {
    public boolean consistent() {
      return orphans.isEmpty() && missing.isEmpty();
    }
  }

  private final Database database;
  private final BlobStore store;
  private final UploadDao uploads;
  private final GarbageCollectDao dao;
  private final ObjectMapper json;
  private final Duration gracePeriod;
  private final Duration linkHold;
  private final Duration uploadExpiry;
  private final Clock clock;
  private final Pacer pacer;

  /** A collector that never gives way to requests ({@link Pacer#UNPACED}). */
  public GarbageCollectService(
      Database database,
      BlobStore store,
      UploadDao uploads,
      GarbageCollectDao dao,
      ObjectMapper json,
      Duration gracePeriod,
      Duration linkHold,
      Duration uploadExpiry,
      Clock clock) {
    this(
        database,
        store,
        uploads,
        dao,
        json,
        gracePeriod,
        linkHold,
        uploadExpiry,
        clock,
        Pacer.UNPACED);
  }

  /** @param pacer keeps runs behind client requests while this node serves them (decision 016) */
  public GarbageCollectService(
      Database database,
      BlobStore store,
      UploadDao uploads,
      GarbageCollectDao dao,
      ObjectMapper json,
      Duration gracePeriod,
      Duration linkHold,
      Duration uploadExpiry,
      Clock clock,
      Pacer pacer) {
    this.database = database;
    this.store = store;
    this.uploads = uploads;
    this.dao = dao;
    this.json = json;
    this.gracePeriod = gracePeriod;
    this.linkHold = linkHold;
    this.uploadExpiry = uploadExpiry;
    this.clock = clock;
    this.pacer = pacer;
  }

  /** Records a new run as running and returns its id; {@link #collect} executes it. */
  public long start(Options options, String trigger) {
    return database.write(c -> start(c, options, trigger));
  }

  /**
   * {@link #start} inside the caller's transaction, so that the run commits together with the job
   * that executes it ({@link GarbageCollectJob}).
   */
  public long start(Connection c, Options options, String trigger) throws SQLException {
    return dao.insertRun(c, clock.millis(), options.dryRun(), options.deleteUntagged(), trigger);
  }

  /**
   * Marks every run left running except {@code runId} as interrupted: called when the job of run
   * {@code runId} starts, which holds the only GC job key, so no other run can be in progress.
   */
  public int markInterruptedExcept(long runId) {
    long now = clock.millis();
    return database.write(c -> dao.markInterruptedExcept(c, now, runId));
  }

  /**
   * Marks runs left running as interrupted unless a job of {@code jobType} is queued or running
   * (that job finishes its run; it marks the others when it starts). One statement, so a run
   * committed with its job meanwhile is never taken for a stale one.
   */
  public int markInterruptedWithoutJob(String jobType) {
    long now = clock.millis();
    return database.write(c -> dao.markInterruptedWithoutJob(c, now, jobType));
  }

  /** Marks runs a stopped process left running as interrupted (called once at start-up). */
  public int markInterrupted() {
    long now = clock.millis();
    return database.write(c -> dao.markInterrupted(c, now));
  }

  /** Whether a project's policy deletes untagged manifests on every run. */
  public boolean deletesUntagged(String project) {
    return database.read(c -> dao.deletesUntagged(c, project));
  }

  public void setDeletesUntagged(String project, boolean deleteUntagged) {
    setDeletesUntagged(project, deleteUntagged, null, null);
  }

  /** The same, with the change's audit record in its transaction (when {@code audit} is set). */
  public void setDeletesUntagged(
      String project, boolean deleteUntagged, AuditLog audit, AuditEvent record) {
    long now = clock.millis();
    database.write(c -> {
      dao.setDeletesUntagged(c, project, deleteUntagged, now);
      if (audit != null) {
        audit.record(c, record);
      }
      return null;
    });
  }

  public List<GarbageCollectRun> runs(int limit) {
    return database.read(c -> dao.runs(c, limit));
  }

  public Optional<GarbageCollectRun> run(long id) {
    return database.read(c -> dao.run(c, id));
  }

  /** Executes a run {@link #start} recorded, records its outcome and returns it. */
  public GarbageCollectRun collect(long runId, Options options) {
    GarbageCollectRun started =
        run(runId).orElseThrow(() -> new IllegalArgumentException("no run " + runId));
    Report report = new Report(options.dryRun());
    String status = GarbageCollectRun.SUCCEEDED;
    try {
      long now = clock.millis();
      long unreferencedBefore = now - gracePeriod.toMillis();
      long idleBefore = now - uploadExpiry.toMillis();
      long heldBefore = now - linkHold.toMillis();
      collectUploads(idleBefore, report);
      pruneLinks(unreferencedBefore, heldBefore, report);
      collectBlobs(unreferencedBefore, heldBefore, report);
      collectOrphans(idleBefore, report);
      // Untagged manifests: everywhere when the run asks, else in projects whose policy says so.
      Set<String> projects =
          options.deleteUntagged() ? Set.of() : database.read(dao::projectsDeletingUntagged);
      if (options.deleteUntagged() || !projects.isEmpty()) {
        collectManifests(unreferencedBefore, options.deleteUntagged() ? null : projects, report);
      }
    } catch (RuntimeException | IOException e) {
      log.warn("garbage collection run {} failed: {}", runId, e.toString());
      report.error(e);
      status = GarbageCollectRun.FAILED;
    }
    GarbageCollectRun finished = new GarbageCollectRun(
        runId,
        started.startedAt(),
        clock.millis(),
        options.dryRun(),
        options.deleteUntagged(),
        started.trigger(),
        status,
        report.links.size(),
        report.blobs.size(),
        report.manifests.size(),
        report.uploads.size(),
        report.orphans.size(),
        report.bytes,
        report.errors,
        report.lastError,
        report.toJson(json));
    database.write(c -> {
      dao.finishRun(c, finished);
      return null;
    });
    log.info(
        "garbage collection run {}{}: {} links, {} blobs, {} manifests, {} uploads, {} orphans,"
            + " {} bytes{}",
        runId,
        options.dryRun() ? " (dry run)" : "",
        finished.linksPruned(),
        finished.blobsDeleted(),
        finished.manifestsDeleted(),
        finished.uploadsDeleted(),
        finished.orphansDeleted(),
        finished.bytesFreed(),
        finished.errors() > 0 ? ", " + finished.errors() + " errors" : "");
    return finished;
  }

  private void collectUploads(long idleBefore, Report report) throws IOException {
    List<UploadSession> expired =
        pacer.paced(() -> database.read(c -> uploads.idleSince(c, idleBefore, Integer.MAX_VALUE)));
    for (UploadSession session : expired) {
      try {
        long size = pacer.paced(() -> {
          long bytes = store.uploadSize(session.id());
          if (!report.dryRun) {
            // Row first: no chunk can start on the session after that; bytes a chunk in flight
            // still writes are an orphan for the next run.
            database.write(c -> uploads.delete(c, session.id()));
            store.deleteUpload(session.id());
          }
          return bytes;
        });
        report.upload(session.id(), size);
      } catch (IOException | RuntimeException e) {
        report.error(e);
      }
    }
    abortIncompleteWrites(idleBefore, report);
  }

  /**
   * Writes a node died in the middle of, which hold storage outside every key: counted in the
   * report's {@code incompleteWrites} (not in a column of {@code gc_runs}: they free no bytes
   * that the run could count, since the backend does not say how many each held).
   */
  private void abortIncompleteWrites(long startedBefore, Report report) {
    try {
      List<String> writes = pacer.paced(() ->
          store.driver().abortIncompleteWrites(Instant.ofEpochMilli(startedBefore), report.dryRun));
      report.incompleteWrites.addAll(writes);
      if (!writes.isEmpty()) {
        log.info(
            "garbage collection: {} {} incomplete writes started before {}",
            report.dryRun ? "found" : "aborted",
            writes.size(),
            Instant.ofEpochMilli(startedBefore));
      }
    } catch (IOException | RuntimeException e) {
      report.error(e);
    }
  }

  private void pruneLinks(long releasedBefore, long heldBefore, Report report) {
    List<GarbageCollectDao.LinkCandidate> candidates =
        pacer.paced(() -> database.read(c -> dao.prunableLinks(c, releasedBefore, heldBefore)));
    if (report.dryRun) {
      candidates.forEach(link -> report.link(link.repository() + "@" + link.digest()));
      return;
    }
    inParallel(candidates, report, link -> {
      if (database.write(
          c -> dao.pruneLink(c, link.repositoryId(), link.digest(), releasedBefore, heldBefore))) {
        report.link(link.repository() + "@" + link.digest());
      }
    });
  }

  private void collectBlobs(long unreferencedBefore, long heldBefore, Report report) {
    // A dry run has pruned nothing, so it asks which blobs pruning would leave unreferenced.
    List<GarbageCollectDao.BlobCandidate> candidates =
        pacer.paced(() -> database.read(c -> report.dryRun
            ? dao.blobCandidatesAfterPruning(c, unreferencedBefore, unreferencedBefore, heldBefore)
            : dao.blobCandidates(c, unreferencedBefore)));
    if (report.dryRun) {
      candidates.forEach(candidate -> report.blob(candidate.digest(), candidate.size()));
      return;
    }
    inParallel(candidates, report, candidate -> {
      Digest digest = candidate.digest();
      boolean deleted = database.withDigestLock(digest, () -> {
        if (!database.write(c -> dao.claim(c, digest, unreferencedBefore))) {
          return false; // referenced again (mounted, linked, re-uploaded) meanwhile
        }
        store.deleteCommitted(digest);
        return database.write(c -> dao.deleteClaimed(c, digest));
      });
      if (deleted) {
        report.blob(digest, candidate.size());
      }
    });
  }

  /** One item of a run's work; a failure is counted and the item left for the next run. */
  private interface Item<T> {
    void collect(T item) throws IOException;
  }

  /**
   * Works through the items {@value #PARALLELISM} at a time on virtual threads. Each item keeps
   * its own sequence (its lock, claim, bytes, row: decision 008); running several at once lets
   * the database commit their transactions together (decision 006) and overlaps the storage
   * round trips, instead of paying one commit and one delete after another. While the node
   * serves requests, the items go one at a time, each followed by the pacer's rest (decision
   * 016): the items in flight finish first, then the next runs alone.
   */
  private <T> void inParallel(List<T> items, Report report, Item<T> work) {
    Semaphore permits = new Semaphore(PARALLELISM);
    try (ExecutorService threads = Executors.newVirtualThreadPerTaskExecutor()) {
      for (T item : items) {
        if (pacer.busy()) {
          permits.acquireUninterruptibly(PARALLELISM);
          try {
            pacer.paced(() -> {
              collectOne(item, report, work);
              return null;
            });
          } finally {
            permits.release(PARALLELISM);
          }
          continue;
        }
        permits.acquireUninterruptibly();
        threads.execute(() -> {
          try {
            collectOne(item, report, work);
          } finally {
            permits.release();
          }
        });
      }
    }
  }

  private static <T> void collectOne(T item, Report report, Item<T> work) {
    try {
      work.collect(item);
    } catch (IOException | RuntimeException e) {
      report.error(e);
    }
  }

  private void collectOrphans(long idleBefore, Report report) throws IOException {
    List<String> keys = pacer.paced(store::listBlobKeys);
    Set<String> known = pacer.paced(() -> database.read(dao::allDigests));
    for (String key : keys) {
      Optional<Digest> parsed = BlobStore.digestOfKey(key);
      if (parsed.isEmpty() || known.contains(parsed.get().toString())) {
        continue;
      }
      Digest digest = parsed.get();
      try {
        if (report.dryRun) {
          OptionalLong size = store.stat(digest);
          if (size.isPresent() && database.read(c -> dao.state(c, digest)).isEmpty()) {
            report.orphan(key, size.getAsLong());
          }
          continue;
        }
        long freed = pacer.paced(() -> database.withDigestLock(digest, () -> {
          // Under the lock no upload is between its move and its row: no row is final.
          if (database.read(c -> dao.state(c, digest)).isPresent()) {
            return -1L;
          }
          OptionalLong size = store.stat(digest);
          return size.isPresent() && store.delete(digest) ? size.getAsLong() : -1L;
        }));
        if (freed >= 0) {
          report.orphan(key, freed);
        }
      } catch (IOException | RuntimeException e) {
        report.error(e);
      }
    }
    List<String> ids = pacer.paced(store::listUploadIds);
    Set<String> sessions = pacer.paced(() -> database.read(dao::allUploadIds));
    for (String id : ids) {
      try {
        long size = pacer.paced(() -> {
          if (!isAbandonedUpload(id, sessions, idleBefore)) {
            return -1L;
          }
          long bytes = store.uploadSize(id);
          if (!report.dryRun) {
            store.deleteUpload(id);
          }
          return bytes;
        });
        if (size >= 0) {
          report.orphan(BlobStore.uploadKey(id), size);
        }
      } catch (IOException | RuntimeException e) {
        report.error(e);
      }
    }
  }

  /**
   * Upload bytes nobody will finish: a monolithic upload (no session; its name holds its start)
   * older than the expiry, or bytes of a session whose row is gone (rows precede bytes, so a
   * session in progress always has one).
   */
  private boolean isAbandonedUpload(String id, Set<String> sessions, long idleBefore) {
    if (id.startsWith(UploadService.WHOLE_UPLOAD_PREFIX)) {
      String rest = id.substring(UploadService.WHOLE_UPLOAD_PREFIX.length());
      int dash = rest.indexOf('-');
      try {
        return Long.parseLong(dash < 0 ? rest : rest.substring(0, dash)) < idleBefore;
      } catch (NumberFormatException e) {
        return false;
      }
    }
    String session =
        id.endsWith(".rewind") ? id.substring(0, id.length() - ".rewind".length()) : id;
    return !sessions.contains(session)
        && database.read(c -> uploads.find(c, session)).isEmpty();
  }

  /** @param projects the projects to clean, or null for all */
  private void collectManifests(long createdBefore, Set<String> projects, Report report) {
    List<GarbageCollectDao.ManifestCandidate> candidates =
        pacer.paced(() -> database.read(c -> dao.untaggedManifests(c, createdBefore)));
    for (GarbageCollectDao.ManifestCandidate candidate : candidates) {
      if (projects != null
          && !projects.contains(RepositoryName.of(candidate.repository()).project())) {
        continue;
      }
      try {
        boolean deleted = report.dryRun
            || pacer.paced(() ->
                database.write(c -> dao.deleteUntaggedManifest(c, candidate.id(), createdBefore)));
        if (deleted) {
          report.manifests.add(candidate.repository() + "@" + candidate.digest());
        }
      } catch (RuntimeException e) {
        report.error(e);
      }
    }
  }

  /**
   * Compares storage with metadata without changing either: files with no row (orphans), live
   * rows whose bytes are missing, and claims a stopped run left (finished by the next run).
   * Meant for a stopped server: uploads in progress on a running one show up as orphans.
   */
  public Verification verify() throws IOException {
    List<GarbageCollectDao.BlobCandidate> live = database.read(dao::liveBlobs);
    Set<String> known = database.read(dao::allDigests);
    List<String> missing = new ArrayList<>();
    for (GarbageCollectDao.BlobCandidate blob : live) {
      if (store.stat(blob.digest()).isEmpty()) {
        missing.add(blob.digest().toString());
      }
    }
    List<String> orphans = new ArrayList<>();
    for (String key : store.listBlobKeys()) {
      Optional<Digest> digest = BlobStore.digestOfKey(key);
      if (digest.isEmpty() || !known.contains(digest.get().toString())) {
        orphans.add(key);
      }
    }
    Set<String> sessions = database.read(dao::allUploadIds);
    for (String id : store.listUploadIds()) {
      String session =
          id.endsWith(".rewind") ? id.substring(0, id.length() - ".rewind".length()) : id;
      if (!sessions.contains(session)) {
        orphans.add(BlobStore.uploadKey(id));
      }
    }
    List<String> unfinished = new ArrayList<>();
    for (GarbageCollectDao.BlobCandidate candidate :
        database.read(c -> dao.blobCandidates(c, Long.MIN_VALUE))) {
      if (candidate.state() == BlobState.DELETING) {
        unfinished.add(candidate.digest().toString());
      }
    }
    return new Verification(live.size(), orphans, missing, unfinished);
  }

  /** What a run deleted (or would have). */
  private static final class Report {
    final boolean dryRun;
    final List<String> links = new ArrayList<>();
    final List<String> blobs = new ArrayList<>();
    final List<String> manifests = new ArrayList<>();
    final List<String> uploads = new ArrayList<>();
    final List<String> orphans = new ArrayList<>();
    final List<String> incompleteWrites = new ArrayList<>();
    long bytes;
    int errors;
    String lastError;

    Report(boolean dryRun) {
      this.dryRun = dryRun;
    }

    synchronized void link(String link) {
      links.add(link);
    }

    synchronized void blob(Digest digest, long size) {
      blobs.add(digest.toString());
      bytes += size;
    }

    synchronized void upload(String id, long size) {
      uploads.add(id);
      bytes += size;
    }

    synchronized void orphan(String key, long size) {
      orphans.add(key);
      bytes += size;
    }

    synchronized void error(Exception e) {
      errors++;
      lastError = e.getMessage() == null ? e.toString() : e.getMessage();
      log.debug("garbage collection: {}", lastError, e);
    }

    synchronized String toJson(ObjectMapper json) {
      ObjectNode root = json.createObjectNode();
      list(root.putArray("links"), links);
      list(root.putArray("blobs"), blobs);
      list(root.putArray("manifests"), manifests);
      list(root.putArray("uploads"), uploads);
      list(root.putArray("orphans"), orphans);
      list(root.putArray("incompleteWrites"), incompleteWrites);
      root.put(
          "truncated",
          links.size() > REPORT_LIMIT
              || blobs.size() > REPORT_LIMIT
              || manifests.size() > REPORT_LIMIT
              || uploads.size() > REPORT_LIMIT
              || orphans.size() > REPORT_LIMIT
              || incompleteWrites.size() > REPORT_LIMIT);
      try {
        return json.writeValueAsString(root);
      } catch (JsonProcessingException e) {
        throw new IllegalStateException(e);
      }
    }

    /** Sorted: items are collected in parallel, so in no fixed order. */
    private static void list(ArrayNode array, List<String> values) {
      values.stream().sorted().limit(REPORT_LIMIT).forEach(array::add);
    }
  }
}
