package dev.berth.server;

import static org.assertj.core.api.Assertions.assertThat;

import java.net.http.HttpResponse;
import java.nio.charset.StandardCharsets;
import java.util.Base64;
import java.util.List;

/** Credentials and authenticated pushes for the identity provider tests. */
final class Logins {
  private Logins() {}

  static String[] basic(String user, String password) {
    return new String[] {"Authorization", basicValue(user, password)};
  }

  static String basicValue(String user, String password) {
    return "Basic "
        + Base64.getEncoder()
            .encodeToString((user + ":" + password).getBytes(StandardCharsets.UTF_8));
  }

  static String[] with(String[] headers, String name, String value) {
    String[] all = new String[headers.length + 2];
    System.arraycopy(headers, 0, all, 0, headers.length);
    all[headers.length] = name;
    all[headers.length + 1] = value;
    return all;
  }

  static String text(HttpResponse<byte[]> response) {
    return new String(response.body(), StandardCharsets.UTF_8);
  }

  /** Pushes a config, a layer and a manifest; returns the manifest's status. */
  static int pushImage(InProcessBerth berth, String repository, String tag, String... auth) {
    byte[] config = Content.randomConfig();
    byte[] layer = Content.random(500);
    for (byte[] blob : List.of(config, layer)) {
      HttpResponse<byte[]> pushed = berth.post(
          "/v2/" + repository + "/blobs/uploads/?digest=" + Content.sha256(blob),
          blob,
          with(auth, "Content-Type", "application/octet-stream"));
      if (pushed.statusCode() != 201) {
        return pushed.statusCode();
      }
    }
    byte[] manifest = Content.ociManifest(
        Content.descriptor(Content.OCI_CONFIG, config),
        Content.descriptor(Content.OCI_LAYER, layer));
    return berth
        .put(
            "/v2/" + repository + "/manifests/" + tag,
            manifest,
            with(auth, "Content-Type", Content.OCI_MANIFEST))
        .statusCode();
  }

  /** A private project with one group member, made by {@code admin}. */
  static void projectWithGroup(
      InProcessBerth berth, String project, String group, String role, String... admin) {
    HttpResponse<byte[]> created = berth.post(
        "/api/v1/projects",
        Content.utf8("{\"name\":\"" + project + "\",\"public\":false}"),
        with(admin, "Content-Type", "application/json"));
    assertThat(created.statusCode()).as(text(created)).isEqualTo(201);
    HttpResponse<byte[]> member = berth.put(
        "/api/v1/projects/" + project + "/members",
        Content.utf8("{\"type\":\"group\",\"name\":\"" + group + "\",\"role\":\"" + role + "\"}"),
        with(admin, "Content-Type", "application/json"));
    assertThat(member.statusCode()).as(text(member)).isEqualTo(204);
  }
}
