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

/**
 * GET /v2/_catalog: not in OCI distribution-spec v1.1 but Distribution's "Listing Repositories",
 * paginated like spec.md §Listing Tags (n, last, RFC 5988 Link). This class owns its registry, so
 * the catalog holds exactly what it pushed.
 */
class CatalogTest {
  @RegisterExtension
  static final InProcessBerth BERTH = new InProcessBerth();

  private static final List<String> PUSHED = List.of(
      "zeta", "alpha/one", "alpha", "beta/x/y", "a-b", "alpha-two", "a.b", "a_b", "0numeric");
  private static final List<String> SORTED = PUSHED.stream().sorted().toList();

  @BeforeAll
  static void push() {
    for (String repository : PUSHED) {
      BERTH.pushBlob(repository, Content.utf8(repository));
    }
  }

  @Test
  @DisplayName(
      "Distribution §Listing Repositories / GET /v2/_catalog → 200 {repositories} in lexical order, no Link")
  void all() {
    HttpResponse<byte[]> response = BERTH.get("/v2/_catalog");

    assertThat(response.statusCode()).isEqualTo(200);
    assertThat(header(response, "Content-Type")).startsWith("application/json");
    assertThat(Pages.entries(response, "repositories")).containsExactlyElementsOf(SORTED);
    assertThat(header(response, "Link")).isNull();
  }

  @Test
  @DisplayName(
      "Distribution §Listing Repositories / ?n=4 → pages of 4 with Link rel=\"next\"; the last page has none")
  void paginate() {
    HttpResponse<byte[]> first = BERTH.get("/v2/_catalog?n=4");
    assertThat(Pages.entries(first, "repositories"))
        .containsExactlyElementsOf(SORTED.subList(0, 4));
    assertThat(Pages.next(first)).startsWith("/v2/_catalog?").contains("n=4").contains("last=");

    List<List<String>> pages = Pages.follow(BERTH, "/v2/_catalog?n=4", "repositories");

    assertThat(pages).extracting(List::size).containsExactly(4, 4, 1);
    List<String> all = new ArrayList<>();
    pages.forEach(all::addAll);
    assertThat(all).containsExactlyElementsOf(SORTED);
  }

  @Test
  @DisplayName("Distribution §Listing Repositories / ?n= equal to the count → all, no Link")
  void exactPage() {
    HttpResponse<byte[]> response = BERTH.get("/v2/_catalog?n=" + SORTED.size());

    assertThat(Pages.entries(response, "repositories")).containsExactlyElementsOf(SORTED);
    assertThat(header(response, "Link")).isNull();
  }

  @Test
  @DisplayName(
      "Distribution §Listing Repositories / ?last= → only names after it; with a slash in the name too")
  void last() {
    HttpResponse<byte[]> response = BERTH.get("/v2/_catalog?last=alpha");
    HttpResponse<byte[]> nested = BERTH.get("/v2/_catalog?n=1&last=alpha/one");

    assertThat(Pages.entries(response, "repositories"))
        .containsExactlyElementsOf(SORTED.subList(SORTED.indexOf("alpha") + 1, SORTED.size()));
    assertThat(Pages.entries(nested, "repositories"))
        .containsExactly(SORTED.get(SORTED.indexOf("alpha/one") + 1));
  }

  @Test
  @DisplayName("Distribution §Listing Repositories / ?n=0 → an empty list, no Link")
  void zero() {
    HttpResponse<byte[]> response = BERTH.get("/v2/_catalog?n=0");

    assertThat(response.statusCode()).isEqualTo(200);
    assertThat(Pages.entries(response, "repositories")).isEmpty();
    assertThat(header(response, "Link")).isNull();
  }

  @ParameterizedTest(name = "n={0}")
  @ValueSource(strings = {"x", "-5", "2.0"})
  @DisplayName("Distribution §Listing Repositories / a bad n → 400 PAGINATION_NUMBER_INVALID")
  void badNumber(String n) {
    assertError(BERTH.get("/v2/_catalog?n=" + n), 400, "PAGINATION_NUMBER_INVALID");
  }
}
