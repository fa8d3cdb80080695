package dev.berth.server;

import static org.assertj.core.api.Assertions.assertThat;

import java.util.Map;
import org.junit.jupiter.api.Test;

/** {@code audit.pulls}: pulls are on record by default, and only pulls are left out when off. */
class AuditPullsSettingTest {
  @Test
  void pullsAreRecordedByDefault() throws Exception {
    InProcessBerth berth = new InProcessBerth();
    try {
      berth.start();
      String records = pushPullPush(berth);

      assertThat(records).contains("\"action\":\"manifest.pull\"");
      assertThat(records).contains("\"action\":\"manifest.push\"");
    } finally {
      berth.close();
    }
  }

  @Test
  void offLeavesPullsOutAndKeepsEverythingElse() throws Exception {
    InProcessBerth berth = new InProcessBerth(Map.of("audit.pulls", "false"));
    try {
      berth.start();
      String records = pushPullPush(berth);

      assertThat(records).doesNotContain("manifest.pull");
      assertThat(records).contains("\"action\":\"manifest.push\"");
      assertThat(berth.audit().dropped()).isZero();
    } finally {
      berth.close();
    }
  }

  /** Pushes, pulls three times, pushes again; the audit records once the pulls had their time. */
  private static String pushPullPush(InProcessBerth berth) throws InterruptedException {
    berth.pushImage("pulls/app", "v1");
    for (int i = 0; i < 3; i++) {
      assertThat(berth
              .get("/v2/pulls/app/manifests/v1", "Accept", Content.OCI_MANIFEST)
              .statusCode())
          .isEqualTo(200);
    }
    berth.pushImage("pulls/app", "v2");
    String records = "";
    // Pull records are written in batches gathered for up to a second: wait for them, or 3 s.
    for (int attempt = 0; attempt < 30; attempt++) {
      records = InProcessBerth.json(berth.get("/api/v1/audit-logs?project=pulls&n=100"))
          .toString();
      if (records.contains("manifest.pull")) {
        break;
      }
      Thread.sleep(100);
    }
    return records;
  }
}
