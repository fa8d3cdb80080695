package dev.berth.server;

import static org.assertj.core.api.Assertions.assertThat;

import java.io.ByteArrayOutputStream;
import java.net.URI;
import java.net.http.HttpResponse;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.concurrent.CyclicBarrier;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import org.junit.jupiter.api.Test;

/**
 * Two requests send a different chunk for the same offset of one upload session at the same
 * instant, to two nodes where the backend allows several: exactly one is accepted (202), the
 * other answers 416 with the session's length, and the blob finally committed holds the accepted
 * chunks only (its digest verifies, and no byte of a refused chunk is in it).
 */
abstract class ConcurrentChunksTest {
  private static final int ROUNDS = 40;
  private static final int CHUNK = 256 << 10;

  /** The nodes the two requests go to (the same node twice where only one may run). */
  protected abstract InProcessBerth first();

  protected abstract InProcessBerth second();

  @Test
  void exactlyOneOfTwoSimultaneousChunksForOneOffsetIsAccepted() throws Exception {
    String repository = "race/" + getClass().getSimpleName().toLowerCase();
    HttpResponse<byte[]> started =
        first().post("/v2/" + repository + "/blobs/uploads/", new byte[0]);
    assertThat(started.statusCode()).isEqualTo(202);
    // The path only: each request goes to the node it is sent to, not the one that answered.
    URI returned = URI.create(started.headers().firstValue("Location").orElseThrow());
    String location = returned.getRawPath()
        + (returned.getRawQuery() == null ? "" : "?" + returned.getRawQuery());
    ByteArrayOutputStream accepted = new ByteArrayOutputStream();
    List<byte[]> refused = new ArrayList<>();
    int firstWon = 0;
    int refusedWhileWriting = 0;
    try (ExecutorService pool = Executors.newFixedThreadPool(2)) {
      for (int round = 0; round < ROUNDS; round++) {
        long offset = accepted.size();
        byte[] a = Content.random(CHUNK);
        byte[] b = Content.random(CHUNK);
        CyclicBarrier together = new CyclicBarrier(2);
        Future<HttpResponse<byte[]>> fromFirst =
            pool.submit(() -> patch(first(), location, offset, a, together));
        Future<HttpResponse<byte[]>> fromSecond =
            pool.submit(() -> patch(second(), location, offset, b, together));
        HttpResponse<byte[]> one = fromFirst.get();
        HttpResponse<byte[]> two = fromSecond.get();

        assertThat(List.of(one.statusCode(), two.statusCode()))
            .as("round %d: %s / %s", round, body(one), body(two))
            .containsExactlyInAnyOrder(202, 416);
        HttpResponse<byte[]> loser = one.statusCode() == 416 ? one : two;
        long end = offset + CHUNK - 1;
        // Refused while the winner streams (another node: the claim is taken) or after it
        // (same node: the offset is behind): the session's length at that moment.
        assertThat(loser.headers().firstValue("Range").orElseThrow())
            .isIn(range(offset), "0-" + end);
        if (offset > 0 && loser.headers().firstValue("Range").orElseThrow().equals(range(offset))) {
          refusedWhileWriting++;
        }
        if (one.statusCode() == 202) {
          firstWon++;
          accepted.write(a);
          refused.add(b);
        } else {
          accepted.write(b);
          refused.add(a);
        }
        HttpResponse<byte[]> status = second().get(location);
        assertThat(status.statusCode()).isEqualTo(204);
        assertThat(status.headers().firstValue("Range")).hasValue("0-" + end);
      }
    }
    System.out.printf(
        "%s: %d rounds, the first request won %d times; the loser was refused while the winner"
            + " was writing %d times (after round 0)%n",
        getClass().getSimpleName(), ROUNDS, firstWon, refusedWhileWriting);

    byte[] blob = accepted.toByteArray();
    String digest = Content.sha256(blob);
    HttpResponse<byte[]> finished = first()
        .put(location + (location.contains("?") ? "&" : "?") + "digest=" + digest, new byte[0]);
    assertThat(finished.statusCode()).as(body(finished)).isEqualTo(201);
    HttpResponse<byte[]> pulled =
        second().getFollowingRedirect("/v2/" + repository + "/blobs/" + digest);
    assertThat(pulled.statusCode()).isEqualTo(200);
    assertThat(Content.sha256(pulled.body())).isEqualTo(digest);
    assertThat(pulled.body()).isEqualTo(blob);
    for (int round = 0; round < ROUNDS; round++) {
      byte[] chunk = Arrays.copyOfRange(blob, round * CHUNK, (round + 1) * CHUNK);
      assertThat(chunk)
          .as("round %d holds the refused chunk", round)
          .isNotEqualTo(refused.get(round));
    }
  }

  private static HttpResponse<byte[]> patch(
      InProcessBerth node, String location, long offset, byte[] chunk, CyclicBarrier together)
      throws Exception {
    together.await();
    return node.patch(
        location,
        chunk,
        "Content-Type",
        "application/octet-stream",
        "Content-Range",
        offset + "-" + (offset + chunk.length - 1));
  }

  /** The {@code Range} header of a session holding {@code size} bytes. */
  private static String range(long size) {
    return size == 0 ? "0-0" : "0-" + (size - 1);
  }

  private static String body(HttpResponse<byte[]> response) {
    return response.statusCode() + " " + new String(response.body());
  }
}
