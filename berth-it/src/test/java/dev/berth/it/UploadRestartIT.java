package dev.berth.it;

import static org.assertj.core.api.Assertions.assertThat;

import dev.berth.testkit.BerthExtension;
import dev.berth.testkit.BerthProcess;
import dev.berth.testkit.OciLayout;
import dev.berth.testkit.RegistryClient;
import dev.berth.testkit.RegistryClient.Response;
import java.util.Arrays;
import java.util.SplittableRandom;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.RegisterExtension;

/**
 * A chunked upload survives the server being killed (SIGKILL) between chunks: the client asks for
 * the session's progress, sends the rest from there and commits.
 */
class UploadRestartIT {

  private static final int MIB = 1 << 20;

  @RegisterExtension
  static final BerthExtension BERTH = new BerthExtension();

  @Test
  void chunkedUploadResumesAfterKill9() {
    byte[] blob = new byte[5 * MIB + 12_345];
    SplittableRandom random = new SplittableRandom(51);
    for (int i = 0; i < blob.length; i++) {
      blob[i] = (byte) random.nextInt(256);
    }
    String digest = OciLayout.sha256(blob);
    RegistryClient client = BERTH.client();

    Response started = client.post("/v2/restart/blob/blobs/uploads/", new byte[0]);
    assertThat(started.status()).as("%s", started).isEqualTo(202);
    String location = started.requiredHeader("Location");

    location = patch(client, location, blob, 0, 2 * MIB);
    location = patch(client, location, blob, 2 * MIB, 3 * MIB);

    BerthProcess berth = BERTH.berth();
    long oldPid = berth.pid();
    berth.kill9();
    berth.start();
    assertThat(berth.pid()).isNotEqualTo(oldPid);
    client = BERTH.client();

    Response status = client.get(location);
    assertThat(status.status()).as("%s", status).isEqualTo(204);
    String range = status.requiredHeader("Range");
    assertThat(range).as("progress after the restart").isEqualTo("0-" + (3 * MIB - 1));
    int offset = Integer.parseInt(range.substring(range.indexOf('-') + 1)) + 1;
    location = status.header("Location").orElse(location);

    location = patch(client, location, blob, offset, blob.length);

    String commit = location + (location.contains("?") ? "&" : "?") + "digest=" + digest;
    Response committed =
        client.put(commit, new byte[0], "Content-Type", "application/octet-stream");
    assertThat(committed.status()).as("%s", committed).isEqualTo(201);
    assertThat(committed.header("Docker-Content-Digest")).contains(digest);

    Response fetched = client.get("/v2/restart/blob/blobs/" + digest);
    assertThat(fetched.status()).as("%s", fetched).isEqualTo(200);
    assertThat(fetched.body().length).isEqualTo(blob.length);
    assertThat(OciLayout.sha256(fetched.body())).isEqualTo(digest);
  }

  /** PATCHes bytes [from, to) of {@code blob}; returns the next Location. */
  private static String patch(
      RegistryClient client, String location, byte[] blob, int from, int to) {
    Response response = client.patch(
        location,
        Arrays.copyOfRange(blob, from, to),
        "Content-Type",
        "application/octet-stream",
        "Content-Range",
        from + "-" + (to - 1));
    assertThat(response.status()).as("%s", response).isEqualTo(202);
    assertThat(response.header("Range")).as("%s", response).contains("0-" + (to - 1));
    return response.requiredHeader("Location");
  }
}
