package dev.berth.testkit;

import java.io.BufferedInputStream;
import java.io.IOException;
import java.io.InputStream;
import java.nio.charset.StandardCharsets;
import java.util.LinkedHashMap;
import java.util.Map;
import java.util.zip.GZIPInputStream;

/** Reads the regular files of a small (optionally gzip'd) tar archive into memory. */
final class TarReader {

  private TarReader() {}

  /**
   * Path → content of every regular file; paths lose a leading {@code ./} or {@code /}. PAX and GNU
   * long-name entries are honoured for the entry that follows them.
   */
  static Map<String, byte[]> regularFiles(InputStream raw) throws IOException {
    InputStream in = new BufferedInputStream(raw);
    in.mark(2);
    int first = in.read();
    int second = in.read();
    in.reset();
    if (first == 0x1f && second == 0x8b) {
      in = new GZIPInputStream(in, 1 << 16);
    }
    Map<String, byte[]> files = new LinkedHashMap<>();
    String longName = null;
    while (true) {
      byte[] header = in.readNBytes(512);
      if (header.length < 512 || isZero(header)) {
        return files;
      }
      String name = text(header, 0, 100);
      String prefix = text(header, 345, 155);
      if (!prefix.isEmpty()) {
        name = prefix + "/" + name;
      }
      String sizeField = text(header, 124, 12).trim();
      long size = sizeField.isEmpty() ? 0 : Long.parseLong(sizeField, 8);
      char type = (char) header[156];
      byte[] content = in.readNBytes((int) size);
      in.skipNBytes((512 - size % 512) % 512);
      switch (type) {
        case 'x' -> longName = paxPath(content);
        case 'L' -> longName = new String(content, StandardCharsets.UTF_8).replace("\0", "");
        case '0', '\0' -> {
          files.put(normalize(longName != null ? longName : name), content);
          longName = null;
        }
        default -> longName = null;
      }
    }
  }

  private static String paxPath(byte[] content) {
    for (String record : new String(content, StandardCharsets.UTF_8).split("\n")) {
      int space = record.indexOf(' ');
      if (space > 0 && record.startsWith("path=", space + 1)) {
        return record.substring(space + 1 + "path=".length());
      }
    }
    return null;
  }

  private static String normalize(String name) {
    String result = name;
    while (result.startsWith("./") || result.startsWith("/")) {
      result = result.substring(result.startsWith("./") ? 2 : 1);
    }
    return result;
  }

  private static String text(byte[] header, int offset, int length) {
    int end = offset;
    while (end < offset + length && header[end] != 0) {
      end++;
    }
    return new String(header, offset, end - offset, StandardCharsets.UTF_8);
  }

  private static boolean isZero(byte[] block) {
    for (byte b : block) {
      if (b != 0) {
        return false;
      }
    }
    return true;
  }
}
