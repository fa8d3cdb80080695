package dev.berth.oci;

/**
 * Every error Berth reports, with its OCI distribution-spec code (spec.md, "Error Codes") and the
 * HTTP status the spec gives. The first fourteen are the spec's; the rest are Distribution's codes
 * that clients also understand.
 */
public enum ErrorCode {
  BLOB_UNKNOWN(404, "blob unknown to registry"),
  BLOB_UPLOAD_INVALID(400, "blob upload invalid"),
  BLOB_UPLOAD_UNKNOWN(404, "blob upload unknown to registry"),
  DIGEST_INVALID(400, "provided digest did not match uploaded content"),
  MANIFEST_BLOB_UNKNOWN(404, "manifest references a manifest or blob unknown to registry"),
  MANIFEST_INVALID(400, "manifest invalid"),
  MANIFEST_UNKNOWN(404, "manifest unknown to registry"),
  NAME_INVALID(400, "invalid repository name"),
  NAME_UNKNOWN(404, "repository name not known to registry"),
  SIZE_INVALID(400, "provided length did not match content length"),
  UNAUTHORIZED(401, "authentication required"),
  DENIED(403, "requested access to the resource is denied"),
  UNSUPPORTED(405, "the operation is unsupported"),
  TOOMANYREQUESTS(429, "too many requests"),
  // Beyond the spec's list, with the statuses Distribution uses for them.
  RANGE_INVALID(416, "requested range not satisfiable"),
  MANIFEST_TOO_LARGE(413, "manifest too large"),
  PAGINATION_NUMBER_INVALID(400, "invalid number of results requested"),
  TAG_INVALID(400, "manifest tag did not match URI"),
  NOT_FOUND(404, "no such route"),
  // For the management API (/api/v1): a request that conflicts with work in progress.
  CONFLICT(409, "conflict with the current state"),
  INVALID_REQUEST(400, "invalid request"),
  UNAVAILABLE(503, "service unavailable"),
  INTERNAL(500, "internal server error");

  private final int status;
  private final String message;

  ErrorCode(int status, String message) {
    this.status = status;
    this.message = message;
  }

  public int status() {
    return status;
  }

  public String message() {
    return message;
  }

  /** The code as it appears in the JSON error body. */
  public String code() {
    return switch (this) {
      case RANGE_INVALID -> "BLOB_UPLOAD_INVALID";
      case MANIFEST_TOO_LARGE -> "SIZE_INVALID";
      case INTERNAL -> "UNKNOWN";
      default -> name();
    };
  }
}
