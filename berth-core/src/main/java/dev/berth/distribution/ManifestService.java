package dev.berth.distribution;

import com.fasterxml.jackson.core.JsonProcessingException;
import com.fasterxml.jackson.databind.ObjectMapper;
import dev.berth.audit.AuditAction;
import dev.berth.audit.AuditActor;
import dev.berth.audit.AuditLog;
import dev.berth.audit.AuditOutcome;
import dev.berth.metadata.BlobDao;
import dev.berth.metadata.Database;
import dev.berth.metadata.ManifestDao;
import dev.berth.metadata.NewManifest;
import dev.berth.metadata.Referrer;
import dev.berth.metadata.RepositoryDao;
import dev.berth.metadata.StoredManifest;
import dev.berth.metadata.TagDao;
import dev.berth.oci.Digest;
import dev.berth.oci.DigestReference;
import dev.berth.oci.ErrorCode;
import dev.berth.oci.Manifest;
import dev.berth.oci.Reference;
import dev.berth.oci.RegistryException;
import dev.berth.oci.RepositoryName;
import dev.berth.oci.Tag;
import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;
import java.sql.Connection;
import java.sql.SQLException;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.OptionalLong;

/** Manifest push, pull and delete; the referrers index. */
public final class ManifestService {
  public static final int MAX_MANIFEST_BYTES = 4 << 20;

  /** The outcome of a push. */
  public record Pushed(Digest digest, Digest subject) {}

  private final Database database;
  private final RepositoryDao repositories;
  private final BlobDao blobs;
  private final ManifestDao manifests;
  private final TagDao tags;
  private final ManifestParser parser;
  private final ObjectMapper json;
  private final AuditLog audit;
  private final boolean recordPulls;

  /** @param audit where pushes, deletes (in their transaction) and pulls (batched) are recorded */
  public ManifestService(
      Database database,
      RepositoryDao repositories,
      BlobDao blobs,
      ManifestDao manifests,
      TagDao tags,
      ManifestParser parser,
      ObjectMapper json,
      AuditLog audit) {
    this(database, repositories, blobs, manifests, tags, parser, json, audit, true);
  }

  /** @param recordPulls whether {@link #recordPull} records ({@code audit.pulls}) */
  public ManifestService(
      Database database,
      RepositoryDao repositories,
      BlobDao blobs,
      ManifestDao manifests,
      TagDao tags,
      ManifestParser parser,
      ObjectMapper json,
      AuditLog audit,
      boolean recordPulls) {
    this.audit = audit;
    this.recordPulls = recordPulls;
    this.database = database;
    this.repositories = repositories;
    this.blobs = blobs;
    this.manifests = manifests;
    this.tags = tags;
    this.parser = parser;
    this.json = json;
  }

  public Pushed put(
      RepositoryName repository,
      Reference reference,
      String contentType,
      byte[] bytes,
      AuditActor actor) {
    Manifest manifest = parser.parse(contentType, bytes);
    Digest digest = switch (reference) {
      case DigestReference(Digest given) -> {
        Digest actual = hash(given.algorithm(), bytes);
        if (!actual.equals(given)) {
          throw new RegistryException(
              ErrorCode.DIGEST_INVALID,
              "manifest digest " + actual + " does not match " + given,
              Map.of("expected", given.toString(), "actual", actual.toString()));
        }
        yield actual;
      }
      case Tag tag -> hash("sha256", bytes);
    };
    NewManifest row = new NewManifest(
        digest,
        manifest.mediaType(),
        manifest.effectiveArtifactType(),
        manifest.subject() == null ? null : manifest.subject().digest(),
        annotationsJson(manifest.annotations()),
        bytes,
        manifest.requiredBlobs(),
        manifest.requiredManifests());
    database.write(c -> {
      long repositoryId = repositories.getOrCreate(c, repository.value());
      List<Digest> missingBlobs = blobs.markListed(c, repositoryId, manifest.requiredBlobs());
      if (!missingBlobs.isEmpty()) {
        throw new RegistryException(
            ErrorCode.MANIFEST_BLOB_UNKNOWN,
            "manifest references blob " + missingBlobs.getFirst() + " unknown to " + repository,
            Map.of("digest", missingBlobs.getFirst().toString()));
      }
      List<Digest> missingChildren =
          manifests.absent(c, repositoryId, manifest.requiredManifests());
      if (!missingChildren.isEmpty()) {
        // spec.md "Push": a missing referenced manifest MUST give MANIFEST_BLOB_UNKNOWN too.
        throw new RegistryException(
            ErrorCode.MANIFEST_BLOB_UNKNOWN,
            "index references manifest " + missingChildren.getFirst() + " unknown to " + repository,
            Map.of("digest", missingChildren.getFirst().toString()));
      }
      long manifestId = manifests.insertIfAbsent(c, repositoryId, row);
      if (reference instanceof Tag tag) {
        tags.put(c, repositoryId, tag.value(), manifestId);
      }
      audit.record(
          c,
          actor.event(
              AuditAction.MANIFEST_PUSH,
              AuditOutcome.SUCCESS,
              repository.project(),
              repository.value(),
              reference instanceof Tag tag ? tag.value() : "",
              digest.toString()));
      return null;
    });
    return new Pushed(digest, row.subject());
  }

  /** Looks a manifest up by tag or digest; MANIFEST_UNKNOWN (or NAME_UNKNOWN) when absent. */
  public StoredManifest get(RepositoryName repository, Reference reference, boolean withContent) {
    Optional<StoredManifest> found = database.read(c -> switch (reference) {
      case Tag tag -> manifests.findByTag(c, repository.value(), tag.value(), withContent);
      case DigestReference(Digest digest) ->
        manifests.findByDigest(c, repository.value(), digest, withContent);
    });
    return found.orElseThrow(() -> unknown(repository, reference));
  }

  /**
   * Deletes a tag (by tag) or a manifest with all its tags (by digest). Blobs stay linked: other
   * manifests may share them, and garbage collection decides what is unreferenced.
   */
  public void delete(RepositoryName repository, Reference reference, AuditActor actor) {
    database.write(c -> {
      OptionalLong repositoryId = repositories.findId(c, repository.value());
      if (repositoryId.isEmpty()) {
        throw nameUnknown(repository);
      }
      boolean deleted = switch (reference) {
        case Tag tag -> tags.delete(c, repositoryId.getAsLong(), tag.value());
        case DigestReference(Digest digest) -> {
          OptionalLong manifestId = manifests.findId(c, repositoryId.getAsLong(), digest);
          if (manifestId.isPresent()) {
            // Its blobs may have lost their last reference: their grace period starts.
            blobs.markUnreferencedByManifest(c, manifestId.getAsLong());
          }
          yield manifests.delete(c, repositoryId.getAsLong(), digest);
        }
      };
      if (!deleted) {
        throw new RegistryException(
            ErrorCode.MANIFEST_UNKNOWN, "manifest unknown: " + repository + ":" + reference);
      }
      audit.record(
          c,
          switch (reference) {
            case Tag tag ->
              actor.event(
                  AuditAction.TAG_DELETE,
                  AuditOutcome.SUCCESS,
                  repository.project(),
                  repository.value(),
                  tag.value(),
                  "");
            case DigestReference(Digest digest) ->
              actor.event(
                  AuditAction.MANIFEST_DELETE,
                  AuditOutcome.SUCCESS,
                  repository.project(),
                  repository.value(),
                  "",
                  digest.toString());
          });
      return null;
    });
  }

  /**
   * Records a pull off the request path (batched; a crash loses at most one batch), unless
   * {@code audit.pulls} is off.
   */
  public void recordPull(
      RepositoryName repository, Reference reference, Digest digest, AuditActor actor) {
    if (!recordPulls) {
      return;
    }
    audit.recordPull(
        actor,
        repository.project(),
        repository.value(),
        reference instanceof Tag tag ? tag.value() : "",
        digest);
  }

  public List<Referrer> referrers(RepositoryName repository, Digest subject, String artifactType) {
    return database.read(c -> manifests.referrers(c, repository.value(), subject, artifactType));
  }

  private RegistryException unknown(RepositoryName repository, Reference reference) {
    boolean repositoryExists =
        database.read(c -> repositories.findId(c, repository.value()).isPresent());
    if (!repositoryExists) {
      return nameUnknown(repository);
    }
    return new RegistryException(
        ErrorCode.MANIFEST_UNKNOWN,
        "manifest unknown: " + repository + (reference instanceof Tag ? ":" : "@") + reference,
        Map.of(reference instanceof Tag ? "Tag" : "Digest", reference.toString()));
  }

  static RegistryException nameUnknown(RepositoryName repository) {
    return new RegistryException(
        ErrorCode.NAME_UNKNOWN,
        "repository name not known to registry: " + repository,
        Map.of("name", repository.value()));
  }

  private String annotationsJson(Map<String, String> annotations) {
    if (annotations.isEmpty()) {
      return null;
    }
    try {
      return json.writeValueAsString(annotations);
    } catch (JsonProcessingException e) {
      throw new IllegalStateException(e);
    }
  }

  static Digest hash(String algorithm, byte[] bytes) {
    try {
      MessageDigest md = MessageDigest.getInstance(Digest.jcaName(algorithm));
      return Digest.of(algorithm, md.digest(bytes));
    } catch (NoSuchAlgorithmException e) {
      throw new IllegalStateException(e);
    }
  }

  /** For tests and tools: does the repository hold this manifest? */
  public boolean exists(Connection c, long repositoryId, Digest digest) throws SQLException {
    return manifests.findId(c, repositoryId, digest).isPresent();
  }
}
