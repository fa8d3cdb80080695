package dev.berth.auth;

import dev.berth.oci.ErrorCode;
import dev.berth.oci.RegistryException;
import java.time.Clock;
import java.time.Duration;
import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;

/**
 * Slows down and then refuses repeated failed logins. Failures are counted per (user, source
 * address) pair and per source address, in a window of {@link #WINDOW}:
 *
 * <ul>
 *   <li>from the {@value #SLOW_AFTER}th failure on, each further attempt waits one second more
 *       (at most {@value #MAX_DELAY_SECONDS}), which costs an attacker time and a virtual thread
 *       nothing;
 *   <li>after {@value #BLOCK_AFTER} failures of a pair, or {@value #ADDRESS_BLOCK_AFTER} from one
 *       address (password spraying), attempts get 429 {@code TOOMANYREQUESTS} until the window
 *       has passed.
 * </ul>
 *
 * A user is never locked out as such: the block holds for the attacking address only, so the
 * real {@code admin} logging in from elsewhere is unaffected, and every block ends by itself. A
 * success clears its pair. The counts live in this node's memory: losing them on a restart only
 * gives an attacker a fresh window, and on a cluster each node throttles on its own (a load
 * balancer spreading one attacker over N nodes gives it N times the attempts, still bounded).
 */
public final class LoginThrottle {
  static final Duration WINDOW = Duration.ofMinutes(5);
  static final int SLOW_AFTER = 3;
  static final int BLOCK_AFTER = 10;
  static final int ADDRESS_BLOCK_AFTER = 50;
  static final int MAX_DELAY_SECONDS = 5;
  private static final int MAX_ENTRIES = 100_000;

  private record Failures(int count, long windowStart) {}

  private final Clock clock;
  private final boolean sleep;
  private final Map<String, Failures> pairs = new ConcurrentHashMap<>();
  private final Map<String, Failures> addresses = new ConcurrentHashMap<>();

  /** @param sleep whether {@link #beforeAttempt} really waits (tests turn it off) */
  public LoginThrottle(Clock clock, boolean sleep) {
    this.clock = clock;
    this.sleep = sleep;
  }

  /** Before checking credentials: 429 while blocked, else waits as the failures so far ask. */
  public void beforeAttempt(String username, String address) {
    long now = clock.millis();
    int pair = current(pairs, key(username, address), now);
    int fromAddress = current(addresses, address, now);
    if (pair >= BLOCK_AFTER || fromAddress >= ADDRESS_BLOCK_AFTER) {
      throw new RegistryException(
          ErrorCode.TOOMANYREQUESTS,
          "too many failed logins from " + address + "; try again in a few minutes");
    }
    int delay = Math.min(MAX_DELAY_SECONDS, pair - SLOW_AFTER + 1);
    if (sleep && delay > 0) {
      try {
        Thread.sleep(Duration.ofSeconds(delay));
      } catch (InterruptedException e) {
        Thread.currentThread().interrupt();
      }
    }
  }

  public void failed(String username, String address) {
    long now = clock.millis();
    if (pairs.size() > MAX_ENTRIES || addresses.size() > MAX_ENTRIES) {
      pairs.entrySet().removeIf(entry -> expired(entry.getValue(), now));
      addresses.entrySet().removeIf(entry -> expired(entry.getValue(), now));
    }
    count(pairs, key(username, address), now);
    count(addresses, address, now);
  }

  public void succeeded(String username, String address) {
    if (!pairs.isEmpty()) { // the usual case, on every request with Basic credentials
      pairs.remove(key(username, address));
    }
  }

  private static void count(Map<String, Failures> map, String key, long now) {
    map.compute(
        key,
        (k, old) -> old == null || expired(old, now)
            ? new Failures(1, now)
            : new Failures(old.count() + 1, old.windowStart()));
  }

  private static int current(Map<String, Failures> map, String key, long now) {
    Failures failures = map.get(key);
    return failures == null || expired(failures, now) ? 0 : failures.count();
  }

  private static boolean expired(Failures failures, long now) {
    return now - failures.windowStart() > WINDOW.toMillis();
  }

  private static String key(String username, String address) {
    return username + "\u0000" + address;
  }
}
