package dev.berth.oci;

/** The one exception type for anything a client did wrong or a registry state it must hear about. */
public final class RegistryException extends RuntimeException {
  private final ErrorCode code;
  private final transient Object detail;

  public RegistryException(ErrorCode code, String message) {
    this(code, message, null, null);
  }

  public RegistryException(ErrorCode code, String message, Object detail) {
    this(code, message, detail, null);
  }

  public RegistryException(ErrorCode code, String message, Object detail, Throwable cause) {
    super(message == null ? code.message() : message, cause, false, false);
    this.code = code;
    this.detail = detail;
  }

  public ErrorCode code() {
    return code;
  }

  /** Optional structured detail for the error body (a JSON-serialisable value). */
  public Object detail() {
    return detail;
  }
}
