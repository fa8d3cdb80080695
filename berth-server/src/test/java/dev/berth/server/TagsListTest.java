package dev.berth.server;

import static dev.berth.server.SpecAssertions.assertError;
import static dev.berth.server.SpecAssertions.header;
import static org.assertj.core.api.Assertions.assertThat;

import java.net.http.HttpResponse;
import java.util.ArrayList;
import java.util.List;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.DisplayName;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.RegisterExtension;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

/** spec.md §Listing Tags (end-8a, end-8b). */
class TagsListTest {
  @RegisterExtension
  static final InProcessBerth BERTH = new InProcessBerth();

  private static final String REPOSITORY = "listing/tags";
  /** Pushed in this (unsorted) order; mixed case and punctuation test ASCII ordering. */
  private static final List<String> PUSHED = List.of(
      "v2", "latest", "V1", "1.0", "alpha", "beta", "_private", "a-b", "a.b", "Z", "v10", "a_b");

  private static final List<String> SORTED = PUSHED.stream().sorted().toList();

  @BeforeAll
  static void pushTags() {
    byte[] manifest = BERTH.image(REPOSITORY);
    for (String tag : PUSHED) {
      BERTH.pushManifest(REPOSITORY, tag, Content.OCI_MANIFEST, manifest);
    }
  }

  @Test
  @DisplayName(
      "spec.md §Listing Tags / GET tags/list → 200 {name, tags} in lexical (ASCII) order, no Link")
  void allTags() {
    HttpResponse<byte[]> response = BERTH.get("/v2/" + REPOSITORY + "/tags/list");

    assertThat(response.statusCode()).isEqualTo(200);
    assertThat(header(response, "Content-Type")).startsWith("application/json");
    assertThat(InProcessBerth.json(response).get("name").asText()).isEqualTo(REPOSITORY);
    assertThat(Pages.entries(response, "tags")).containsExactlyElementsOf(SORTED);
    assertThat(header(response, "Link")).isNull();
  }

  @Test
  @DisplayName(
      "spec.md §Listing Tags / ?n=5 → the first 5 and Link: <...?last=...&n=5>; rel=\"next\"; following Links gives every tag once")
  void paginateWithLink() {
    HttpResponse<byte[]> first = BERTH.get("/v2/" + REPOSITORY + "/tags/list?n=5");

    assertThat(Pages.entries(first, "tags")).containsExactlyElementsOf(SORTED.subList(0, 5));
    String next = Pages.next(first);
    assertThat(next)
        .startsWith("/v2/" + REPOSITORY + "/tags/list?")
        .contains("n=5")
        .contains("last=" + SORTED.get(4));

    List<List<String>> pages = Pages.follow(BERTH, "/v2/" + REPOSITORY + "/tags/list?n=5", "tags");
    assertThat(pages).hasSize(3);
    assertThat(pages.get(2)).hasSize(2);
    List<String> all = new ArrayList<>();
    pages.forEach(all::addAll);
    assertThat(all).containsExactlyElementsOf(SORTED);
  }

  @Test
  @DisplayName("spec.md §Listing Tags / ?n= equal to the tag count → every tag and no Link header")
  void exactPage() {
    HttpResponse<byte[]> response =
        BERTH.get("/v2/" + REPOSITORY + "/tags/list?n=" + SORTED.size());

    assertThat(Pages.entries(response, "tags")).containsExactlyElementsOf(SORTED);
    assertThat(header(response, "Link")).isNull();
  }

  @Test
  @DisplayName("spec.md §Listing Tags / ?n= larger than the tag count → every tag, no Link")
  void largePage() {
    HttpResponse<byte[]> response = BERTH.get("/v2/" + REPOSITORY + "/tags/list?n=1000");

    assertThat(Pages.entries(response, "tags")).containsExactlyElementsOf(SORTED);
    assertThat(header(response, "Link")).isNull();
  }

  @Test
  @DisplayName("spec.md §Listing Tags / ?n=0 → 200 with an empty list and no Link header")
  void zero() {
    HttpResponse<byte[]> response = BERTH.get("/v2/" + REPOSITORY + "/tags/list?n=0");

    assertThat(response.statusCode()).isEqualTo(200);
    assertThat(Pages.entries(response, "tags")).isEmpty();
    assertThat(header(response, "Link")).isNull();
  }

  @Test
  @DisplayName(
      "spec.md §Listing Tags / ?last=<tag> → only the tags after it, in order; ?n=&last= combine")
  void last() {
    String after = SORTED.get(3);

    HttpResponse<byte[]> response = BERTH.get("/v2/" + REPOSITORY + "/tags/list?last=" + after);
    HttpResponse<byte[]> limited = BERTH.get("/v2/" + REPOSITORY + "/tags/list?n=2&last=" + after);

    assertThat(Pages.entries(response, "tags"))
        .containsExactlyElementsOf(SORTED.subList(4, SORTED.size()));
    assertThat(header(response, "Link")).isNull();
    assertThat(Pages.entries(limited, "tags")).containsExactlyElementsOf(SORTED.subList(4, 6));
    assertThat(Pages.next(limited)).contains("last=" + SORTED.get(5));
  }

  @Test
  @DisplayName("spec.md §Listing Tags / ?last= past the last tag → an empty list")
  void lastPastTheEnd() {
    HttpResponse<byte[]> response = BERTH.get("/v2/" + REPOSITORY + "/tags/list?last=zzz");

    assertThat(response.statusCode()).isEqualTo(200);
    assertThat(Pages.entries(response, "tags")).isEmpty();
  }

  @ParameterizedTest(name = "n={0}")
  @ValueSource(strings = {"abc", "-1", "1.5", "99999999999999999999"})
  @DisplayName("spec.md §Listing Tags / a bad n → 400 PAGINATION_NUMBER_INVALID")
  void badNumber(String n) {
    assertError(
        BERTH.get("/v2/" + REPOSITORY + "/tags/list?n=" + n), 400, "PAGINATION_NUMBER_INVALID");
  }

  @Test
  @DisplayName("spec.md §Listing Tags / an unknown repository → 404 NAME_UNKNOWN")
  void unknownRepository() {
    assertError(BERTH.get("/v2/listing/unknown/tags/list"), 404, "NAME_UNKNOWN");
    assertError(BERTH.get("/v2/listing/unknown/tags/list?n=0"), 404, "NAME_UNKNOWN");
  }

  @Test
  @DisplayName(
      "spec.md §Listing Tags / a repository whose tags were all deleted → 200 with an empty list")
  void noTagsLeft() {
    BERTH.pushImage("listing/untagged", "only");
    assertThat(BERTH.delete("/v2/listing/untagged/manifests/only").statusCode()).isEqualTo(202);

    HttpResponse<byte[]> response = BERTH.get("/v2/listing/untagged/tags/list");

    assertThat(response.statusCode()).isEqualTo(200);
    assertThat(Pages.entries(response, "tags")).isEmpty();
  }
}
