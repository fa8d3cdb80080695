package dev.berth.testkit;

import java.io.IOException;
import java.io.OutputStream;
import java.nio.charset.StandardCharsets;
import java.util.SplittableRandom;

/**
 * Writes a POSIX ustar archive, streaming, with fixed owners and times so the same input gives the
 * same bytes (and so the same layer digest) every run.
 */
final class TarWriter implements AutoCloseable {

  private static final int BLOCK = 512;
  private static final long MTIME = 1_700_000_000L;

  private final OutputStream out;

  TarWriter(OutputStream out) {
    this.out = out;
  }

  void directory(String name) throws IOException {
    header(name.endsWith("/") ? name : name + "/", 0, '5', 0755);
  }

  void file(String name, byte[] content) throws IOException {
    header(name, content.length, '0', 0644);
    out.write(content);
    pad(content.length);
  }

  /**
   * A file of {@code size} random bytes drawn from {@code random}, written without buffering it.
   */
  void randomFile(String name, long size, SplittableRandom random) throws IOException {
    header(name, size, '0', 0644);
    byte[] buffer = new byte[1 << 20];
    long remaining = size;
    while (remaining > 0) {
      int n = (int) Math.min(buffer.length, remaining);
      fillRandom(buffer, n, random);
      out.write(buffer, 0, n);
      remaining -= n;
    }
    pad(size);
  }

  static void fillRandom(byte[] buffer, int length, SplittableRandom random) {
    int i = 0;
    while (i < length) {
      long value = random.nextLong();
      for (int b = 0; b < 8 && i < length; b++, i++) {
        buffer[i] = (byte) value;
        value >>>= 8;
      }
    }
  }

  private void header(String name, long size, char type, int mode) throws IOException {
    byte[] nameBytes = name.getBytes(StandardCharsets.UTF_8);
    if (nameBytes.length > 100) {
      throw new IllegalArgumentException("tar entry name longer than 100 bytes: " + name);
    }
    byte[] header = new byte[BLOCK];
    System.arraycopy(nameBytes, 0, header, 0, nameBytes.length);
    octal(header, 100, 8, mode);
    octal(header, 108, 8, 0);
    octal(header, 116, 8, 0);
    octal(header, 124, 12, size);
    octal(header, 136, 12, MTIME);
    for (int i = 148; i < 156; i++) {
      header[i] = ' ';
    }
    header[156] = (byte) type;
    ascii(header, 257, "ustar\0");
    ascii(header, 263, "00");
    ascii(header, 265, "root");
    ascii(header, 297, "root");
    long checksum = 0;
    for (byte b : header) {
      checksum += b & 0xff;
    }
    String sum = String.format("%06o", checksum);
    ascii(header, 148, sum);
    header[154] = 0;
    header[155] = ' ';
    out.write(header);
  }

  private static void octal(byte[] header, int offset, int length, long value) {
    String digits = Long.toOctalString(value);
    if (digits.length() > length - 1) {
      throw new IllegalArgumentException("value too large for tar header: " + value);
    }
    String padded = "0".repeat(length - 1 - digits.length()) + digits;
    ascii(header, offset, padded);
    header[offset + length - 1] = 0;
  }

  private static void ascii(byte[] header, int offset, String text) {
    byte[] bytes = text.getBytes(StandardCharsets.US_ASCII);
    System.arraycopy(bytes, 0, header, offset, bytes.length);
  }

  private void pad(long size) throws IOException {
    int remainder = (int) (size % BLOCK);
    if (remainder != 0) {
      out.write(new byte[BLOCK - remainder]);
    }
  }

  /** Writes the two zero blocks that end an archive; does not close the underlying stream. */
  @Override
  public void close() throws IOException {
    out.write(new byte[2 * BLOCK]);
    out.flush();
  }
}
