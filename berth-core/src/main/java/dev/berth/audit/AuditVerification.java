package dev.berth.audit;

import java.util.Optional;

/**
 * What {@link AuditVerifier#verify} found: how much it checked and the first problem, if any.
 *
 * @param records records whose hash and link were checked
 * @param checkpoints checkpoints whose signature and hash were checked
 * @param signaturesChecked false when no key was given: hashes and links only
 */
public record AuditVerification(
    long records, long checkpoints, boolean signaturesChecked, Optional<Problem> problem) {

  /** How the chain was broken at a record. */
  public enum Kind {
    /** The record's content no longer matches its hash. */
    EDITED,
    /** A record that was never appended: it sits between two records that link past it. */
    INSERTED,
    /** Records are missing: a gap in the ids, or the chain ends before its signed head. */
    DELETED,
    /**
     * The record does not link to the one before it and neither of the above explains it: the
     * previous record was rewritten with a new hash, or records were deleted and the rest
     * renumbered.
     */
    UNLINKED,
    /** A checkpoint, the head or the anchor does not match the chain or its signature. */
    SIGNATURE
  }

  /**
   * @param recordId the first bad record (for DELETED: the first missing id)
   * @param message one line for an operator
   */
  public record Problem(long recordId, Kind kind, String message) {}

  public boolean intact() {
    return problem.isEmpty();
  }

  /** One line: {@code intact: 1234 records, 2 checkpoints} or the problem. */
  public String describe() {
    return problem
        .map(p -> "broken at record " + p.recordId() + " ("
            + p.kind().name().toLowerCase(java.util.Locale.ROOT)
            + "): " + p.message())
        .orElse("intact: "
            + records
            + " records, "
            + checkpoints
            + " checkpoints"
            + (signaturesChecked ? "" : " (signatures not checked: no key)"));
  }
}
