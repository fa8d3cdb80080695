package dev.berth.gc;

/**
 * The state of a blob row ({@code blobs.state}), which makes online garbage collection safe
 * (decision 008). A blob is referenced while a repository links it ({@code repository_blobs}) or
 * a manifest lists it ({@code manifest_blobs}).
 *
 * <pre>
 *   (no row) ──upload commit──▶ LIVE ──GC claim──▶ DELETING ──GC, bytes deleted──▶ GONE (no row)
 *                                 ▲                   │
 *                                 └──upload commit────┘ (only after a GC that died half-way)
 * </pre>
 *
 * <ul>
 *   <li><b>→ LIVE</b>: only an upload commit ({@code UploadService}), holding the digest's lock
 *       ({@code Database.withDigestLock}), after the verified bytes were moved to the digest's
 *       address: bytes first, then the row, so no row ever points at missing bytes.
 *   <li><b>LIVE → DELETING</b>: only garbage collection, holding the digest's lock, in one
 *       transaction that locks the row ({@code FOR UPDATE} on PostgreSQL) and then re-checks that
 *       no repository links the blob, no manifest lists it and the grace period has passed.
 *       From here nothing may link it: every linking transaction (mount, dedupe of an upload)
 *       locks the row ({@code FOR SHARE}) and requires LIVE, so it either commits its link before
 *       the claim (which then sees the link and leaves the blob alone) or sees DELETING and
 *       falls back to a full upload. A DELETING blob has no link, so every {@code HEAD} and
 *       {@code GET} of it is 404 already.
 *   <li><b>DELETING → GONE</b>: only garbage collection, still holding the digest's lock: it
 *       deletes the bytes, then the row. A crash between the two leaves a DELETING row (the next
 *       run finishes it) or, after the row is gone, at worst an orphan file (the next run's
 *       storage walk removes it).
 *   <li><b>DELETING → LIVE</b>: only an upload commit of the same digest, holding the digest's
 *       lock, when a garbage collection died after its claim: the commit has just put fresh
 *       verified bytes at the address, so the row is true again. While a collection is running
 *       the lock keeps the commit waiting until the row is gone.
 * </ul>
 */
public enum BlobState {
  LIVE("live"),
  DELETING("deleting");

  private final String column;

  BlobState(String column) {
    this.column = column;
  }

  /** The value stored in {@code blobs.state}. */
  public String column() {
    return column;
  }

  public static BlobState fromColumn(String value) {
    for (BlobState state : values()) {
      if (state.column.equals(value)) {
        return state;
      }
    }
    throw new IllegalArgumentException("unknown blob state '" + value + "'");
  }
}
