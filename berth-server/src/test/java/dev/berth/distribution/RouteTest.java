package dev.berth.distribution;

import static org.assertj.core.api.Assertions.assertThat;

import org.junit.jupiter.api.DisplayName;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

/**
 * {@link Route#parse}: the route is decided from the end of the path, so repository names may
 * contain any component, including {@code blobs}, {@code manifests}, {@code uploads}, {@code tags}
 * and {@code referrers} (spec.md's {@code <name>} grammar allows them).
 */
class RouteTest {
  private static final String DIGEST =
      "sha256:e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855";
  private static final String UUID = "0f8fad5b-d9cb-469f-a165-70867728950e";

  @Test
  @DisplayName("spec.md end-1 / /v2/ and /v2 are the base")
  void base() {
    assertThat(Route.parse("/v2/")).isEqualTo(new Route.Base());
    assertThat(Route.parse("/v2")).isEqualTo(new Route.Base());
  }

  @Test
  @DisplayName("catalog / /v2/_catalog")
  void catalog() {
    assertThat(Route.parse("/v2/_catalog")).isEqualTo(new Route.Catalog());
  }

  @Test
  @DisplayName("spec.md end-8a / <name>/tags/list, also for names containing tags or list")
  void tags() {
    assertThat(Route.parse("/v2/library/ubuntu/tags/list"))
        .isEqualTo(new Route.Tags("library/ubuntu"));
    assertThat(Route.parse("/v2/tags/tags/list")).isEqualTo(new Route.Tags("tags"));
    assertThat(Route.parse("/v2/a/tags/list/tags/list")).isEqualTo(new Route.Tags("a/tags/list"));
    assertThat(Route.parse("/v2/list/tags/list")).isEqualTo(new Route.Tags("list"));
  }

  @Test
  @DisplayName("spec.md end-3 / <name>/manifests/<reference> with a tag or a digest")
  void manifests() {
    assertThat(Route.parse("/v2/a/manifests/latest")).isEqualTo(new Route.Manifest("a", "latest"));
    assertThat(Route.parse("/v2/a/b/c/manifests/" + DIGEST))
        .isEqualTo(new Route.Manifest("a/b/c", DIGEST));
  }

  @Test
  @DisplayName(
      "spec.md end-3 / names with blobs, manifests, uploads, tags or referrers components route to manifests")
  void manifestsUnderKeywordNames() {
    assertThat(Route.parse("/v2/blobs/manifests/x")).isEqualTo(new Route.Manifest("blobs", "x"));
    assertThat(Route.parse("/v2/manifests/manifests/manifests"))
        .isEqualTo(new Route.Manifest("manifests", "manifests"));
    assertThat(Route.parse("/v2/a/blobs/uploads/manifests/v1"))
        .isEqualTo(new Route.Manifest("a/blobs/uploads", "v1"));
    assertThat(Route.parse("/v2/a/tags/list/manifests/latest"))
        .isEqualTo(new Route.Manifest("a/tags/list", "latest"));
    assertThat(Route.parse("/v2/referrers/manifests/" + DIGEST))
        .isEqualTo(new Route.Manifest("referrers", DIGEST));
  }

  @Test
  @DisplayName("spec.md end-2 / <name>/blobs/<digest>, also for names ending in blobs or uploads")
  void blobs() {
    assertThat(Route.parse("/v2/a/blobs/" + DIGEST)).isEqualTo(new Route.Blob("a", DIGEST));
    assertThat(Route.parse("/v2/x/blobs/blobs/" + DIGEST))
        .isEqualTo(new Route.Blob("x/blobs", DIGEST));
    assertThat(Route.parse("/v2/a/uploads/blobs/" + DIGEST))
        .isEqualTo(new Route.Blob("a/uploads", DIGEST));
    assertThat(Route.parse("/v2/manifests/blobs/" + DIGEST))
        .isEqualTo(new Route.Blob("manifests", DIGEST));
  }

  @Test
  @DisplayName(
      "spec.md end-4a / <name>/blobs/uploads/ with or without the slash, also for names containing blobs/uploads")
  void uploadStart() {
    assertThat(Route.parse("/v2/a/blobs/uploads/")).isEqualTo(new Route.UploadStart("a"));
    assertThat(Route.parse("/v2/a/blobs/uploads")).isEqualTo(new Route.UploadStart("a"));
    assertThat(Route.parse("/v2/blobs/uploads/blobs/uploads/"))
        .isEqualTo(new Route.UploadStart("blobs/uploads"));
    assertThat(Route.parse("/v2/a/blobs/uploads/blobs/uploads"))
        .isEqualTo(new Route.UploadStart("a/blobs/uploads"));
    assertThat(Route.parse("/v2/uploads/blobs/uploads/"))
        .isEqualTo(new Route.UploadStart("uploads"));
  }

  @Test
  @DisplayName(
      "spec.md end-5/6/13/14 / <name>/blobs/uploads/<id>, also for names containing blobs or uploads")
  void upload() {
    assertThat(Route.parse("/v2/a/blobs/uploads/" + UUID)).isEqualTo(new Route.Upload("a", UUID));
    assertThat(Route.parse("/v2/uploads/blobs/uploads/" + UUID))
        .isEqualTo(new Route.Upload("uploads", UUID));
    assertThat(Route.parse("/v2/a/blobs/blobs/uploads/" + UUID))
        .isEqualTo(new Route.Upload("a/blobs", UUID));
    assertThat(Route.parse("/v2/blobs/uploads/blobs/uploads/" + UUID))
        .isEqualTo(new Route.Upload("blobs/uploads", UUID));
    assertThat(Route.parse("/v2/manifests/blobs/uploads/" + UUID))
        .isEqualTo(new Route.Upload("manifests", UUID));
  }

  @Test
  @DisplayName("spec.md end-12a / <name>/referrers/<digest>")
  void referrers() {
    assertThat(Route.parse("/v2/a/b/referrers/" + DIGEST))
        .isEqualTo(new Route.Referrers("a/b", DIGEST));
    assertThat(Route.parse("/v2/referrers/referrers/" + DIGEST))
        .isEqualTo(new Route.Referrers("referrers", DIGEST));
  }

  @ParameterizedTest(name = "{0}")
  @ValueSource(
      strings = {
        "/v3/a/manifests/latest",
        "/v2a",
        "/",
        "/v2/foo",
        "/v2/manifests/latest",
        "/v2/blobs/" + DIGEST,
        "/v2/blobs/uploads/",
        "/v2/a/blobs/uploads/" + DIGEST,
        "/v2/a/unknown/thing",
        "/v2/a/tags/list/",
        "/v2/a/manifests",
        "/v2/tags/list"
      })
  @DisplayName("no route / anything else, including a keyword with no name before it, is Unknown")
  void unknown(String path) {
    assertThat(Route.parse(path)).isEqualTo(new Route.Unknown());
  }
}
