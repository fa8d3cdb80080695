package dev.berth.distribution;

/** A single HTTP byte range (RFC 9110 §14.1.2) resolved against a length. */
final class ByteRange {
  static final long[] UNSATISFIABLE = new long[0];

  private ByteRange() {}

  /**
   * @return {@code [first, last]} inclusive; null when the header should be ignored (not bytes, or
   *     several ranges, served whole as RFC 9110 allows); {@link #UNSATISFIABLE} for a range that
   *     lies outside the content
   */
  static long[] parse(String header, long length) {
    String value = header.trim();
    if (!value.startsWith("bytes=")) {
      return null;
    }
    value = value.substring(6).trim();
    if (value.contains(",")) {
      return null;
    }
    int dash = value.indexOf('-');
    if (dash < 0) {
      return null;
    }
    String first = value.substring(0, dash).trim();
    String last = value.substring(dash + 1).trim();
    try {
      if (first.isEmpty()) {
        long suffix = Long.parseLong(last);
        if (suffix <= 0 || length == 0) {
          return UNSATISFIABLE;
        }
        return new long[] {Math.max(0, length - suffix), length - 1};
      }
      long start = Long.parseLong(first);
      long end = last.isEmpty() ? length - 1 : Long.parseLong(last);
      // An open-ended range past the end is unsatisfiable, not invalid: test the end only if given.
      if (start < 0 || (!last.isEmpty() && end < start)) {
        return null;
      }
      if (start >= length) {
        return UNSATISFIABLE;
      }
      return new long[] {start, Math.min(end, length - 1)};
    } catch (NumberFormatException e) {
      return null;
    }
  }
}
