package dev.berth.storage.s3;

import dev.berth.config.BerthConfig;
import dev.berth.config.ConfigException;
import dev.berth.storage.BlobDriver;
import dev.berth.storage.BlobNotFoundException;
import dev.berth.storage.BlobWriter;
import java.io.ByteArrayInputStream;
import java.io.IOException;
import java.io.InputStream;
import java.net.URI;
import java.nio.ByteBuffer;
import java.nio.channels.Channels;
import java.nio.channels.ClosedChannelException;
import java.nio.channels.NonWritableChannelException;
import java.nio.channels.ReadableByteChannel;
import java.nio.channels.SeekableByteChannel;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Optional;
import java.util.OptionalLong;
import java.util.Set;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import software.amazon.awssdk.auth.credentials.AwsBasicCredentials;
import software.amazon.awssdk.auth.credentials.AwsCredentialsProvider;
import software.amazon.awssdk.auth.credentials.DefaultCredentialsProvider;
import software.amazon.awssdk.auth.credentials.StaticCredentialsProvider;
import software.amazon.awssdk.core.ResponseInputStream;
import software.amazon.awssdk.core.checksums.RequestChecksumCalculation;
import software.amazon.awssdk.core.checksums.ResponseChecksumValidation;
import software.amazon.awssdk.core.exception.SdkException;
import software.amazon.awssdk.core.sync.RequestBody;
import software.amazon.awssdk.http.urlconnection.UrlConnectionHttpClient;
import software.amazon.awssdk.regions.Region;
import software.amazon.awssdk.services.s3.S3Client;
import software.amazon.awssdk.services.s3.S3ClientBuilder;
import software.amazon.awssdk.services.s3.S3Configuration;
import software.amazon.awssdk.services.s3.model.CompletedPart;
import software.amazon.awssdk.services.s3.model.GetObjectRequest;
import software.amazon.awssdk.services.s3.model.GetObjectResponse;
import software.amazon.awssdk.services.s3.model.ListMultipartUploadsRequest;
import software.amazon.awssdk.services.s3.model.ListMultipartUploadsResponse;
import software.amazon.awssdk.services.s3.model.ListObjectsV2Request;
import software.amazon.awssdk.services.s3.model.ListObjectsV2Response;
import software.amazon.awssdk.services.s3.model.MultipartUpload;
import software.amazon.awssdk.services.s3.model.ObjectIdentifier;
import software.amazon.awssdk.services.s3.model.S3Exception;
import software.amazon.awssdk.services.s3.model.S3Object;
import software.amazon.awssdk.services.s3.presigner.S3Presigner;

/**
 * Keys as objects in one S3 bucket (AWS, MinIO, Ceph, ...), under an optional key prefix.
 *
 * <h2>Layout</h2>
 *
 * A key is stored in one of two shapes, and readers accept both:
 *
 * <pre>
 *   &lt;prefix&gt;&lt;key&gt;                          a whole object: written without append, or the target of a move
 *   &lt;prefix&gt;&lt;key&gt;~segment-&lt;n, 10 digits&gt;   one segment per appending writer (uploads in progress)
 * </pre>
 *
 * A key's content is its whole object when that exists, else its segments concatenated in the order
 * of {@code n}; a key holds nothing when it has neither. {@code ~} cannot occur in a key (keys are
 * checked as {@code FsBlobDriver} checks them), so a segment never collides with a key. Segments
 * are siblings of the key, not children ({@code key/part-n}), because MinIO and filesystem-backed
 * stores cannot hold an object {@code k} and an object {@code k/x} at once. {@link #list} skips
 * objects under the prefix that are neither a key nor a segment of one: another tool's, or a
 * store's temporary object of a PUT in flight (s3proxy's filesystem backend lists {@code
 * <object>-<uuid>} until the PUT completes; S3 lists no such thing).
 *
 * <h2>Appending without shared state</h2>
 *
 * S3 objects cannot be appended to, and an upload's chunks may arrive at different nodes. So {@link
 * #writer writer(key, true)} lists the key's segments (one LIST), and writes the next segment,
 * {@code n = last + 1}; the bytes already there are the sum of the listed sizes. Nothing is
 * remembered between calls, so any node can take the next chunk. If the key holds a whole object,
 * it first becomes segment 0 by a server-side copy. Two writers appending to one key at the same
 * time would both take the same {@code n}, and the later commit would win: the caller allows one
 * writer per key at a time ({@code UploadService} holds a lock per upload on each node and a claim
 * on the upload's row in the metadata database across nodes, then checks each chunk's offset
 * against {@link #stat}); a conditional PUT ({@code If-None-Match: *}) would also catch a race
 * between nodes, but not every S3-compatible store honours it, so it is not used.
 *
 * <h2>Memory</h2>
 *
 * A writer holds at most {@link #PART_SIZE} (8 MiB) of bytes, in a buffer that grows from 64 KiB
 * only as far as the bytes written need. A write that outgrows the buffer turns into a multipart
 * upload of that object, one 8 MiB part at a time; {@link BlobWriter#commit()} completes it (or
 * puts the small object in one request). One segment can so hold 10,000 × 8 MiB (about 78 GiB).
 * Readers stream one ranged GET at a time, with no buffer of their own. A move holds at most one
 * buffer of {@link #MIN_PART} (5 MiB), and only when it has segments smaller than that.
 *
 * <h2>Move</h2>
 *
 * A committed blob is always one whole object, so that reads of it are one ranged GET:
 *
 * <ul>
 *   <li>one piece (a whole object or a single segment): {@code CopyObject}, or, beyond S3's 5 GiB
 *       copy limit, a multipart upload of {@code UploadPartCopy} ranges of at most 5 GiB;
 *   <li>several segments: a multipart upload whose parts are {@code UploadPartCopy} of each
 *       segment. S3 wants every part but the last to be at least 5 MiB, so a segment smaller than
 *       that is read through the node into a buffer of at most 5 MiB, topped up from the head of
 *       the following segments (ranged GETs) until it is a valid part; the rest of a large segment
 *       is again copied server-side. Cost: bytes of small segments, plus at most 5 MiB per run of
 *       small segments, pass through the node twice (down and up); all other bytes never leave S3.
 * </ul>
 *
 * Then the source is deleted. Readers of the target see the old or the new content, never a mix (S3
 * makes a completed copy or multipart upload visible at once); a crash between copy and delete
 * leaves the source behind, which the upload-expiry job deletes.
 *
 * <h2>What the bucket needs</h2>
 *
 * Permissions {@code s3:GetObject}, {@code s3:PutObject}, {@code s3:DeleteObject}, {@code
 * s3:ListBucket} (without it S3 answers 403 instead of 404 for a missing key), {@code
 * s3:AbortMultipartUpload} and {@code s3:ListBucketMultipartUploads}; {@code s3:CreateBucket}
 * only with {@code create-bucket}.
 *
 * <h2>Abandoned multipart uploads</h2>
 *
 * A writer or move abandoned by a crashed node leaves an incomplete multipart upload, which S3
 * keeps (and bills) but which no LIST of objects shows. Garbage collection aborts them ({@link
 * #abortIncompleteWrites}): every incomplete upload under the prefix initiated longer than {@code
 * uploads.expiry} ago, in the phase that expires upload sessions. So the prefix must belong to
 * this registry alone (with an empty prefix, the whole bucket): another application's uploads
 * under it would be aborted too. A lifecycle rule {@code AbortIncompleteMultipartUpload} on the
 * bucket remains a useful backstop where garbage collection does not run.
 *
 * <h2>Download redirects</h2>
 *
 * With {@code storage.s3.redirect}, {@link #presignedGet} signs a {@code GET} of a committed blob's
 * object (always one whole object, see Move) with the driver's own credentials, locally, with no
 * request to S3; the registry answers the download with {@code 307} to it. The URL carries the
 * signature in its query, and a {@code Range} header is not part of what is signed, so the client
 * may ask for any range. It is valid for {@code redirect-expiry}, and no longer than the
 * credentials that signed it (a role's session credentials expire sooner).
 *
 * <h2>Consistency</h2>
 *
 * S3 has been strongly read-after-write consistent for PUT, DELETE and LIST since December 2020;
 * the segment listing relies on that, as do MinIO and Ceph RGW. Checksums are sent only where S3
 * requires them (multi-object delete), which S3-compatible stores accept; the registry verifies
 * every blob's digest itself.
 */
public final class S3BlobDriver implements BlobDriver {
  /** A writer's buffer at most, and the part size of its multipart uploads. */
  static final int PART_SIZE = 8 << 20;

  /** S3's smallest part, except for the last part of an upload. */
  static final int MIN_PART = 5 << 20;

  /** S3's largest CopyObject source and UploadPartCopy range. */
  static final long MAX_COPY = 5L << 30;

  private static final int INITIAL_BUFFER = 64 << 10;
  private static final int DELETE_BATCH = 1000;
  private static final String SEGMENT = "~segment-";
  private static final Pattern KEY = Pattern.compile("[A-Za-z0-9._-]+(/[A-Za-z0-9._-]+)*");
  private static final Pattern SEGMENT_OBJECT = Pattern.compile("(.+)~segment-(\\d+)");

  private final S3Client s3;
  private final String bucket;
  private final String root;
  private final long maxCopy;
  private final S3Presigner presigner; // null: downloads are not redirected

  /**
   * A driver over an existing client, for callers that build their own. {@code prefix} is the key
   * prefix inside the bucket ({@code berth/}; empty for the whole bucket).
   */
  public S3BlobDriver(S3Client s3, String bucket, String prefix) {
    this(s3, bucket, prefix, MAX_COPY, null);
  }

  /** With a smaller copy limit than S3's 5 GiB, so that tests can exercise the split copy. */
  S3BlobDriver(S3Client s3, String bucket, String prefix, long maxCopy) {
    this(s3, bucket, prefix, maxCopy, null);
  }

  private S3BlobDriver(
      S3Client s3, String bucket, String prefix, long maxCopy, S3Presigner presigner) {
    if (maxCopy < 2L * MIN_PART || maxCopy > MAX_COPY) {
      throw new IllegalArgumentException("copy limit out of range: " + maxCopy);
    }
    this.s3 = s3;
    this.bucket = bucket;
    this.root = normalisePrefix(prefix);
    this.maxCopy = maxCopy;
    this.presigner = presigner;
  }

  /**
   * Connects as {@code storage.s3} says and checks the bucket: an existing one is used as is, a
   * missing one is created when {@code create-bucket} is true.
   *
   * @throws ConfigException when the bucket is missing and may not be created
   * @throws IOException when S3 cannot be reached or refuses the check
   */
  public static S3BlobDriver connect(BerthConfig.S3Config config) throws IOException {
    S3Client client = client(config);
    try {
      ensureBucket(client, config);
    } catch (IOException | RuntimeException e) {
      client.close();
      throw e;
    }
    return new S3BlobDriver(
        client,
        config.bucket(),
        config.prefix(),
        MAX_COPY,
        config.redirect() ? presigner(config) : null);
  }

  static S3Client client(BerthConfig.S3Config config) {
    return clientBuilder(config).build();
  }

  /** The SDK's sync client with the JDK's URLConnection underneath (no Netty, no Apache). */
  static S3ClientBuilder clientBuilder(BerthConfig.S3Config config) {
    S3ClientBuilder builder = S3Client.builder()
        .httpClient(UrlConnectionHttpClient.builder()
            .connectionTimeout(Duration.ofSeconds(10))
            // A large server-side copy may take minutes before S3 answers.
            .socketTimeout(Duration.ofMinutes(5))
            .build())
        .region(Region.of(config.region()))
        .forcePathStyle(config.pathStyle())
        .credentialsProvider(credentials(config))
        .requestChecksumCalculation(RequestChecksumCalculation.WHEN_REQUIRED)
        .responseChecksumValidation(ResponseChecksumValidation.WHEN_REQUIRED);
    if (!config.endpoint().isEmpty()) {
      builder.endpointOverride(URI.create(config.endpoint()));
    }
    return builder;
  }

  /** Signs URLs as the client would send requests: same endpoint, addressing and credentials. */
  static S3Presigner presigner(BerthConfig.S3Config config) {
    S3Presigner.Builder builder = S3Presigner.builder()
        .region(Region.of(config.region()))
        .credentialsProvider(credentials(config))
        .serviceConfiguration(
            S3Configuration.builder().pathStyleAccessEnabled(config.pathStyle()).build());
    if (!config.endpoint().isEmpty()) {
      builder.endpointOverride(URI.create(config.endpoint()));
    }
    return builder.build();
  }

  private static AwsCredentialsProvider credentials(BerthConfig.S3Config config) {
    if (config.accessKey().isEmpty()) {
      return DefaultCredentialsProvider.builder().build();
    }
    return StaticCredentialsProvider.create(
        AwsBasicCredentials.create(config.accessKey(), config.secretKey()));
  }

  private static void ensureBucket(S3Client client, BerthConfig.S3Config config)
      throws IOException {
    String bucket = config.bucket();
    String where = config.endpoint().isEmpty() ? "region " + config.region() : config.endpoint();
    try {
      client.headBucket(b -> b.bucket(bucket));
      return;
    } catch (S3Exception e) {
      if (e.statusCode() != 404) {
        throw new IOException(
            "cannot use bucket '" + bucket + "' at " + where + ": " + describe(e), e);
      }
    } catch (SdkException e) {
      throw new IOException("cannot reach S3 at " + where + ": " + describe(e), e);
    }
    if (!config.createBucket()) {
      throw new ConfigException("bad value for configuration key 'storage.s3.bucket': bucket '"
          + bucket
          + "' does not exist at "
          + where
          + " (create it, or set storage.s3.create-bucket: true)");
    }
    try {
      client.createBucket(b -> b.bucket(bucket));
    } catch (SdkException e) {
      throw new IOException(
          "cannot create bucket '" + bucket + "' at " + where + ": " + describe(e), e);
    }
  }

  // --- BlobDriver ------------------------------------------------------------------------------

  @Override
  public SeekableByteChannel open(String key) throws IOException {
    check(key);
    List<Piece> pieces = io(() -> pieces(key));
    if (pieces.isEmpty()) {
      throw new BlobNotFoundException(key);
    }
    return new PiecesChannel(pieces);
  }

  @Override
  public BlobWriter writer(String key, boolean append) throws IOException {
    check(key);
    return io(() -> append ? appendingWriter(key) : new StreamingWriter(object(key), 0, true, key));
  }

  @Override
  public OptionalLong stat(String key) throws IOException {
    check(key);
    List<Piece> pieces = io(() -> pieces(key));
    return pieces.isEmpty() ? OptionalLong.empty() : OptionalLong.of(total(pieces));
  }

  @Override
  public void move(String from, String to) throws IOException {
    check(from);
    check(to);
    io(() -> {
      List<Piece> pieces = pieces(from);
      if (pieces.isEmpty()) {
        throw new BlobNotFoundException(from);
      }
      List<Piece> content = pieces.stream().filter(p -> p.size() > 0).toList();
      if (content.isEmpty()) {
        s3.putObject(b -> b.bucket(bucket).key(object(to)), RequestBody.empty());
      } else if (content.size() == 1) {
        copyWhole(content.getFirst(), object(to));
      } else {
        compose(content, object(to));
      }
      deleteKey(from);
      return null;
    });
  }

  /** One DELETE: a committed blob has no segments, and S3 answers a missing key with success. */
  @Override
  public void deleteWhole(String key) throws IOException {
    check(key);
    io(() -> {
      s3.deleteObject(b -> b.bucket(bucket).key(object(key)));
      return null;
    });
  }

  @Override
  public boolean delete(String key) throws IOException {
    check(key);
    return io(() -> deleteKey(key));
  }

  @Override
  public int deleteAll(String prefix) throws IOException {
    check(prefix);
    return io(() -> {
      List<String> objects =
          listObjects(directory(prefix)).stream().map(S3Object::key).toList();
      Set<String> keys = new LinkedHashSet<>();
      for (String object : objects) {
        keys.add(logicalKey(object));
      }
      deleteObjects(objects);
      return keys.size(); // keys, not objects: a segmented key counts once
    });
  }

  @Override
  public List<String> list(String prefix) throws IOException {
    check(prefix);
    return io(() -> {
      Set<String> keys = new LinkedHashSet<>();
      for (S3Object object : listObjects(directory(prefix))) {
        String key = logicalKey(object.key()); // a segmented key once, by its own name
        if (isKey(key)) {
          keys.add(key);
        }
      }
      return List.copyOf(keys);
    });
  }

  /**
   * Lists the bucket's incomplete multipart uploads under the prefix ({@code
   * ListMultipartUploads}, every page) and aborts those initiated before {@code startedBefore}.
   * An upload without an initiation time (a store that does not report one) is left alone, and
   * one that is gone by the time it is aborted (completed or aborted meanwhile) is not counted.
   *
   * @return the object each upload was writing, relative to the prefix
   */
  @Override
  public List<String> abortIncompleteWrites(Instant startedBefore, boolean dryRun)
      throws IOException {
    return io(() -> {
      List<MultipartUpload> abandoned = new ArrayList<>();
      ListMultipartUploadsRequest request = ListMultipartUploadsRequest.builder()
          .bucket(bucket)
          .prefix(root.isEmpty() ? null : root)
          .build();
      for (ListMultipartUploadsResponse page : s3.listMultipartUploadsPaginator(request)) {
        for (MultipartUpload upload : page.uploads()) {
          if (upload.initiated() != null && upload.initiated().isBefore(startedBefore)) {
            abandoned.add(upload);
          }
        }
      }
      List<String> objects = new ArrayList<>();
      for (MultipartUpload upload : abandoned) {
        if (!dryRun && !abort(upload.key(), upload.uploadId())) {
          continue;
        }
        objects.add(upload.key().substring(root.length()));
      }
      return objects;
    });
  }

  /** Aborts a multipart upload; false when S3 no longer knows it ({@code NoSuchUpload}). */
  private boolean abort(String object, String uploadId) {
    try {
      s3.abortMultipartUpload(b -> b.bucket(bucket).key(object).uploadId(uploadId));
      return true;
    } catch (S3Exception e) {
      if (e.statusCode() == 404) {
        return false;
      }
      throw e;
    }
  }

  @Override
  public Optional<URI> presignedGet(String key, Duration expiry) throws IOException {
    check(key);
    if (presigner == null) {
      return Optional.empty();
    }
    try {
      return Optional.of(presigner
          .presignGetObject(r ->
              r.signatureDuration(expiry).getObjectRequest(g -> g.bucket(bucket).key(object(key))))
          .url()
          .toURI());
    } catch (java.net.URISyntaxException e) {
      throw new IOException("presigned URL for " + key + " is not a URI", e);
    } catch (SdkException e) {
      throw new IOException("cannot sign a download of " + key + ": " + describe(e), e);
    }
  }

  @Override
  public void close() {
    if (presigner != null) {
      presigner.close();
    }
    s3.close();
  }

  // --- layout ----------------------------------------------------------------------------------

  /** One object that holds (part of) a key's content; {@code index} orders segments. */
  private record Piece(String object, long size, long index) {}

  private static void check(String key) {
    if (!isKey(key)) {
      throw new IllegalArgumentException("bad storage key: " + key);
    }
  }

  private static boolean isKey(String key) {
    return KEY.matcher(key).matches() && !key.contains("..");
  }

  private static String normalisePrefix(String prefix) {
    String trimmed = prefix == null ? "" : prefix.strip();
    while (trimmed.startsWith("/")) {
      trimmed = trimmed.substring(1);
    }
    while (trimmed.endsWith("/")) {
      trimmed = trimmed.substring(0, trimmed.length() - 1);
    }
    return trimmed.isEmpty() ? "" : trimmed + "/";
  }

  private String object(String key) {
    return root + key;
  }

  private String directory(String prefix) {
    return root + prefix + "/";
  }

  private String segment(String key, long index) {
    return object(key) + SEGMENT + String.format("%010d", index);
  }

  /** The key an object belongs to: itself, or the key whose segment it is. */
  private String logicalKey(String object) {
    String key = object.substring(root.length());
    Matcher segment = SEGMENT_OBJECT.matcher(key);
    return segment.matches() ? segment.group(1) : key;
  }

  /** A key's content in order: its whole object, else its segments; empty when it holds nothing. */
  private List<Piece> pieces(String key) {
    OptionalLong whole = headSize(object(key));
    if (whole.isPresent()) {
      return List.of(new Piece(object(key), whole.getAsLong(), 0));
    }
    return segments(key);
  }

  private List<Piece> segments(String key) {
    String prefix = object(key) + SEGMENT;
    List<Piece> segments = new ArrayList<>();
    for (S3Object object : listObjects(prefix)) {
      String number = object.key().substring(prefix.length());
      if (number.chars().allMatch(Character::isDigit) && !number.isEmpty()) {
        segments.add(new Piece(object.key(), object.size(), Long.parseLong(number)));
      }
    }
    segments.sort(Comparator.comparingLong(Piece::index));
    return segments;
  }

  private static long total(List<Piece> pieces) {
    long total = 0;
    for (Piece piece : pieces) {
      total += piece.size();
    }
    return total;
  }

  private OptionalLong headSize(String object) {
    try {
      return OptionalLong.of(s3.headObject(b -> b.bucket(bucket).key(object)).contentLength());
    } catch (S3Exception e) {
      if (e.statusCode() == 404) {
        return OptionalLong.empty();
      }
      throw e;
    }
  }

  private List<S3Object> listObjects(String prefix) {
    List<S3Object> objects = new ArrayList<>();
    ListObjectsV2Request request =
        ListObjectsV2Request.builder().bucket(bucket).prefix(prefix).build();
    for (ListObjectsV2Response page : s3.listObjectsV2Paginator(request)) {
      for (S3Object object : page.contents()) {
        if (!object.key().endsWith("/")) { // a "folder" marker made by some tools, not a key
          objects.add(object);
        }
      }
    }
    return objects;
  }

  private boolean deleteKey(String key) {
    List<String> objects = new ArrayList<>();
    if (headSize(object(key)).isPresent()) {
      objects.add(object(key));
    }
    for (Piece segment : segments(key)) {
      objects.add(segment.object());
    }
    deleteObjects(objects);
    return !objects.isEmpty();
  }

  private void deleteObjects(List<String> objects) {
    if (objects.size() == 1) {
      s3.deleteObject(b -> b.bucket(bucket).key(objects.getFirst()));
      return;
    }
    for (int from = 0; from < objects.size(); from += DELETE_BATCH) {
      List<ObjectIdentifier> batch =
          objects.subList(from, Math.min(objects.size(), from + DELETE_BATCH)).stream()
              .map(o -> ObjectIdentifier.builder().key(o).build())
              .toList();
      var response =
          s3.deleteObjects(b -> b.bucket(bucket).delete(d -> d.objects(batch).quiet(true)));
      if (response.hasErrors() && !response.errors().isEmpty()) {
        var error = response.errors().getFirst();
        throw S3Exception.builder()
            .message("cannot delete " + error.key() + ": " + error.code() + " " + error.message())
            .build();
      }
    }
  }

  private BlobWriter appendingWriter(String key) {
    List<Piece> segments = segments(key);
    OptionalLong whole = headSize(object(key));
    if (whole.isPresent()) {
      // A whole object (written without append, or moved here) becomes segment 0, server-side,
      // so that the appended bytes follow it; stale segments it had shadowed go first.
      deleteObjects(segments.stream().map(Piece::object).toList());
      Piece first = new Piece(segment(key, 0), whole.getAsLong(), 0);
      if (first.size() == 0) {
        s3.putObject(b -> b.bucket(bucket).key(first.object()), RequestBody.empty());
      } else {
        copyWhole(new Piece(object(key), whole.getAsLong(), 0), first.object());
      }
      s3.deleteObject(b -> b.bucket(bucket).key(object(key)));
      segments = List.of(first);
    }
    long next = segments.isEmpty() ? 0 : segments.getLast().index() + 1;
    // An appending writer creates a missing key even when nothing is written, as a file would.
    return new StreamingWriter(segment(key, next), total(segments), segments.isEmpty(), null);
  }

  // --- server-side copies --------------------------------------------------------------------

  /** Copies one object to {@code target}: CopyObject, or ranged part copies beyond the limit. */
  private void copyWhole(Piece source, String target) {
    if (source.size() <= maxCopy) {
      s3.copyObject(b -> b.sourceBucket(bucket)
          .sourceKey(source.object())
          .destinationBucket(bucket)
          .destinationKey(target));
      return;
    }
    try (Composer composer = new Composer(target)) {
      composer.copy(source, 0, source.size());
      composer.complete();
    }
  }

  /** Concatenates several segments into {@code target}; see the class comment for the strategy. */
  private void compose(List<Piece> pieces, String target) {
    try (Composer composer = new Composer(target)) {
      for (Piece piece : pieces) {
        long offset = 0;
        if (composer.pending() > 0) {
          // Top up the pending small part from the head of this piece.
          offset = Math.min(piece.size(), MIN_PART - composer.pending());
          composer.buffer(piece, 0, offset);
        }
        long rest = piece.size() - offset;
        if (rest == 0) {
          continue;
        }
        if (composer.pending() == 0 && rest >= MIN_PART) {
          composer.copy(piece, offset, piece.size());
        } else {
          composer.buffer(piece, offset, rest);
        }
      }
      composer.complete();
    }
  }

  /**
   * One multipart upload built from server-side part copies and, for small pieces, a pending part
   * of at most {@link #MIN_PART} bytes read through the node. The upload is started only when a
   * first part is due: content smaller than one part is a single PUT.
   */
  private final class Composer implements AutoCloseable {
    private final String target;
    private final List<CompletedPart> parts = new ArrayList<>();
    private String uploadId;
    private byte[] pending;
    private int pendingLength;
    private boolean completed;

    Composer(String target) {
      this.target = target;
    }

    int pending() {
      return pendingLength;
    }

    /** Copies {@code [from, to)} of a piece as parts of at most the copy limit, all ≥ 5 MiB. */
    void copy(Piece piece, long from, long to) {
      long length = to - from;
      long count = (length + maxCopy - 1) / maxCopy;
      // Near-equal parts: none above the limit, none below half of it (so none below 5 MiB).
      long base = length / count;
      long remainder = length % count;
      long start = from;
      for (long i = 0; i < count; i++) {
        long end = start + base + (i < remainder ? 1 : 0) - 1;
        String range = "bytes=" + start + "-" + end;
        start = end + 1;
        int number = parts.size() + 1;
        String etag = s3.uploadPartCopy(b -> b.sourceBucket(bucket)
                .sourceKey(piece.object())
                .destinationBucket(bucket)
                .destinationKey(target)
                .uploadId(uploadId())
                .partNumber(number)
                .copySourceRange(range))
            .copyPartResult()
            .eTag();
        parts.add(CompletedPart.builder().partNumber(number).eTag(etag).build());
      }
    }

    /** Reads {@code length} bytes of a piece into the pending part; flushes it when it is full. */
    void buffer(Piece piece, long from, long length) {
      if (length == 0) {
        return;
      }
      if (pending == null) {
        pending = new byte[MIN_PART];
      }
      String range = "bytes=" + from + "-" + (from + length - 1);
      try (InputStream in =
          s3.getObject(b -> b.bucket(bucket).key(piece.object()).range(range))) {
        int n = in.readNBytes(pending, pendingLength, (int) length);
        if (n != length) {
          throw S3Exception.builder()
              .message(piece.object() + " ended early: " + n + " of " + length + " bytes")
              .build();
        }
        pendingLength += n;
      } catch (IOException e) {
        throw software.amazon.awssdk.core.exception.SdkClientException.create(
            "reading " + piece.object() + ": " + e.getMessage(), e);
      }
      if (pendingLength == MIN_PART) {
        flush();
      }
    }

    private void flush() {
      int number = parts.size() + 1;
      byte[] bytes = pending;
      int length = pendingLength;
      String etag = s3.uploadPart(
              b -> b.bucket(bucket)
                  .key(target)
                  .uploadId(uploadId())
                  .partNumber(number)
                  .contentLength((long) length),
              body(bytes, length))
          .eTag();
      parts.add(CompletedPart.builder().partNumber(number).eTag(etag).build());
      pendingLength = 0;
    }

    void complete() {
      if (uploadId == null) {
        byte[] bytes = pending == null ? new byte[0] : pending;
        int length = pendingLength;
        s3.putObject(
            b -> b.bucket(bucket).key(target).contentLength((long) length), body(bytes, length));
      } else {
        if (pendingLength > 0) {
          flush();
        }
        s3.completeMultipartUpload(b ->
            b.bucket(bucket).key(target).uploadId(uploadId).multipartUpload(m -> m.parts(parts)));
      }
      completed = true;
      pending = null;
    }

    private String uploadId() {
      if (uploadId == null) {
        uploadId = s3.createMultipartUpload(b -> b.bucket(bucket).key(target)).uploadId();
      }
      return uploadId;
    }

    @Override
    public void close() {
      pending = null;
      if (!completed && uploadId != null) {
        abortQuietly(target, uploadId);
      }
    }
  }

  private void abortQuietly(String object, String uploadId) {
    try {
      s3.abortMultipartUpload(b -> b.bucket(bucket).key(object).uploadId(uploadId));
    } catch (SdkException e) {
      // Left for garbage collection (abortIncompleteWrites) once older than the upload expiry.
    }
  }

  private static RequestBody body(byte[] bytes, int length) {
    // Replayable for retries and the payload signature, without copying the buffer.
    return RequestBody.fromContentProvider(
        () -> new ByteArrayInputStream(bytes, 0, length), length, "application/octet-stream");
  }

  // --- writing ---------------------------------------------------------------------------------

  /**
   * Writes one object: buffered up to {@link #PART_SIZE}, then as a multipart upload of parts of
   * that size. Nothing is visible before {@link #commit()}.
   */
  private final class StreamingWriter implements BlobWriter {
    private final String target;
    private final long base;
    private final boolean putWhenEmpty;
    private final String replacedKey;
    private final List<CompletedPart> parts = new ArrayList<>();
    private byte[] buffer = new byte[0];
    private int filled;
    private long written;
    private String uploadId;
    private boolean closed;

    /**
     * @param replacedKey for a writer without append, the key whose segments the new whole object
     *     replaces (deleted on commit); null for a segment
     */
    StreamingWriter(String target, long base, boolean putWhenEmpty, String replacedKey) {
      this.target = target;
      this.base = base;
      this.putWhenEmpty = putWhenEmpty;
      this.replacedKey = replacedKey;
    }

    @Override
    public void write(ByteBuffer bytes) throws IOException {
      if (closed) {
        throw new ClosedChannelException();
      }
      while (bytes.hasRemaining()) {
        if (filled == buffer.length) {
          grow();
        }
        int n = Math.min(bytes.remaining(), buffer.length - filled);
        bytes.get(buffer, filled, n);
        filled += n;
        written += n;
        if (filled == PART_SIZE) {
          io(() -> {
            uploadPart();
            return null;
          });
        }
      }
    }

    private void grow() {
      int capacity = Math.min(PART_SIZE, Math.max(INITIAL_BUFFER, buffer.length * 2));
      byte[] larger = new byte[capacity];
      System.arraycopy(buffer, 0, larger, 0, filled);
      buffer = larger;
    }

    private void uploadPart() {
      if (uploadId == null) {
        uploadId = s3.createMultipartUpload(b -> b.bucket(bucket).key(target)).uploadId();
      }
      int number = parts.size() + 1;
      int length = filled;
      String etag = s3.uploadPart(
              b -> b.bucket(bucket)
                  .key(target)
                  .uploadId(uploadId)
                  .partNumber(number)
                  .contentLength((long) length),
              body(buffer, length))
          .eTag();
      parts.add(CompletedPart.builder().partNumber(number).eTag(etag).build());
      filled = 0;
    }

    @Override
    public long size() {
      return base + written;
    }

    @Override
    public void commit() throws IOException {
      if (closed) {
        throw new ClosedChannelException();
      }
      try {
        io(() -> {
          if (uploadId != null) {
            if (filled > 0) {
              uploadPart();
            }
            s3.completeMultipartUpload(b -> b.bucket(bucket)
                .key(target)
                .uploadId(uploadId)
                .multipartUpload(m -> m.parts(parts)));
            uploadId = null;
          } else if (filled > 0 || putWhenEmpty) {
            int length = filled;
            s3.putObject(
                b -> b.bucket(bucket).key(target).contentLength((long) length),
                body(buffer, length));
          }
          if (replacedKey != null) {
            deleteObjects(segments(replacedKey).stream().map(Piece::object).toList());
          }
          return null;
        });
      } finally {
        close();
      }
    }

    @Override
    public void close() {
      if (closed) {
        return;
      }
      closed = true;
      buffer = null;
      if (uploadId != null) {
        abortQuietly(target, uploadId);
      }
    }
  }

  // --- reading ---------------------------------------------------------------------------------

  /**
   * A key's pieces read in order as one channel. Each read continues the current ranged GET; a
   * change of position, or the end of a piece, starts the next GET at the right piece and offset.
   */
  private final class PiecesChannel implements SeekableByteChannel {
    private final List<Piece> pieces;
    private final long[] starts;
    private final long size;
    private long position;
    private boolean open = true;
    private ResponseInputStream<GetObjectResponse> stream;
    private ReadableByteChannel streamChannel;
    private long streamPosition = -1;
    private long streamEnd;

    PiecesChannel(List<Piece> pieces) {
      this.pieces = pieces;
      this.starts = new long[pieces.size()];
      long offset = 0;
      for (int i = 0; i < pieces.size(); i++) {
        starts[i] = offset;
        offset += pieces.get(i).size();
      }
      this.size = offset;
    }

    @Override
    public int read(ByteBuffer dst) throws IOException {
      if (!open) {
        throw new ClosedChannelException();
      }
      if (position >= size) {
        return -1;
      }
      if (!dst.hasRemaining()) {
        return 0;
      }
      while (true) {
        if (stream == null || streamPosition != position || streamPosition >= streamEnd) {
          openAt(position);
        }
        int n = streamChannel.read(dst);
        if (n > 0) {
          position += n;
          streamPosition += n;
          return n;
        }
        if (n < 0 && streamPosition < streamEnd) {
          throw new IOException("S3 object ended early at byte " + streamPosition + " of the key");
        }
      }
    }

    private void openAt(long at) throws IOException {
      closeStream();
      int index = pieceAt(at);
      Piece piece = pieces.get(index);
      long local = at - starts[index];
      GetObjectRequest.Builder request =
          GetObjectRequest.builder().bucket(bucket).key(piece.object());
      if (local > 0) {
        request.range("bytes=" + local + "-");
      }
      stream = io(() -> s3.getObject(request.build()));
      streamChannel = Channels.newChannel(stream);
      streamPosition = at;
      streamEnd = starts[index] + piece.size();
    }

    /** The piece holding byte {@code at} (< size); empty pieces hold no byte and are skipped. */
    private int pieceAt(long at) {
      for (int i = pieces.size() - 1; i >= 0; i--) {
        if (starts[i] <= at && at < starts[i] + pieces.get(i).size()) {
          return i;
        }
      }
      throw new IllegalStateException("no piece holds byte " + at);
    }

    private void closeStream() {
      if (stream != null) {
        if (streamPosition < streamEnd) {
          stream.abort(); // rather than drain the rest of the range
        }
        try {
          stream.close();
        } catch (IOException | RuntimeException e) {
          // the connection is dropped either way
        }
        stream = null;
        streamChannel = null;
      }
    }

    @Override
    public int write(ByteBuffer src) {
      throw new NonWritableChannelException();
    }

    @Override
    public long position() throws IOException {
      if (!open) {
        throw new ClosedChannelException();
      }
      return position;
    }

    @Override
    public SeekableByteChannel position(long newPosition) throws IOException {
      if (!open) {
        throw new ClosedChannelException();
      }
      if (newPosition < 0) {
        throw new IllegalArgumentException("negative position: " + newPosition);
      }
      position = newPosition;
      return this;
    }

    @Override
    public long size() throws IOException {
      if (!open) {
        throw new ClosedChannelException();
      }
      return size;
    }

    @Override
    public SeekableByteChannel truncate(long size) {
      throw new NonWritableChannelException();
    }

    @Override
    public boolean isOpen() {
      return open;
    }

    @Override
    public void close() {
      open = false;
      closeStream();
    }
  }

  // --- errors ----------------------------------------------------------------------------------

  @FunctionalInterface
  private interface S3Call<T> {
    T call() throws IOException;
  }

  /** Runs S3 calls, turning the SDK's unchecked exceptions into the IOException callers expect. */
  private static <T> T io(S3Call<T> call) throws IOException {
    try {
      return call.call();
    } catch (SdkException e) {
      throw new IOException("S3: " + describe(e), e);
    }
  }

  private static String describe(SdkException e) {
    if (e instanceof S3Exception s3
        && s3.awsErrorDetails() != null
        && s3.awsErrorDetails().errorCode() != null) {
      String message = s3.awsErrorDetails().errorMessage();
      return s3.statusCode()
          + " "
          + s3.awsErrorDetails().errorCode()
          + (message == null ? "" : ": " + message);
    }
    return e.getMessage(); // e.g. a HEAD's error, which has no body to name a code
  }
}
