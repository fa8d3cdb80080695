package dev.berth.metadata;

/**
 * An upload session row. The session's life:
 *
 * <pre>
 *   POST               → open      (row inserted; no bytes yet, no repository row created)
 *   PATCH / PUT body   → open      (bytes appended under uploads/&lt;id&gt;/; updated_at moves)
 *   PUT ?digest= ok    → committed (bytes moved to the blob, blob linked, row deleted: one transaction)
 *   PUT digest wrong   → cancelled (nothing committed; row and bytes deleted, as Distribution does)
 *   DELETE             → cancelled (row and bytes deleted)
 *   idle > expiry      → expired   (garbage collection deletes row and bytes)
 * </pre>
 *
 * The row lives in the database and the bytes in the blob store, so a session survives a restart;
 * the received length is the stored byte count, which is durable after each chunk. A chunk whose
 * connection breaks midway keeps the bytes that arrived; {@code GET} on the session reports them
 * and the client resumes from there.
 *
 * <p>While a chunk (or the final {@code PUT}) is being written the row carries that request's
 * claim ({@code claim}, {@code claim_until}; {@code UploadDao#claim}): one writer per session
 * across all nodes, so that two requests for the same offset cannot both append.
 *
 * <p>A chunked session's row also carries the running SHA-256 after its last chunk ({@code
 * hash_state}, {@code hashed_bytes}; {@link UploadHashState}), written in the statement that
 * releases the chunk's claim, so that the node taking the next chunk resumes it instead of
 * re-reading the stored bytes. It is a cache of what the stored bytes determine: used only when
 * {@code hashed_bytes} equals the stored length, and the final digest is checked on the bytes.
 */
public record UploadSession(String id, String repository, long startedAt, long updatedAt) {}
