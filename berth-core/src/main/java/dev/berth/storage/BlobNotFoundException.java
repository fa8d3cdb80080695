package dev.berth.storage;

import java.io.IOException;

/** A driver key holds nothing. */
public final class BlobNotFoundException extends IOException {
  public BlobNotFoundException(String key) {
    super("no such key: " + key);
  }
}
