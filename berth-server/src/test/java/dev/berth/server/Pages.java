package dev.berth.server;

import static org.assertj.core.api.Assertions.assertThat;

import java.net.http.HttpResponse;
import java.util.ArrayList;
import java.util.List;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/** Follows RFC 5988 {@code Link: <url>; rel="next"} headers through a paginated listing. */
final class Pages {
  private static final Pattern NEXT = Pattern.compile("<([^>]+)>\\s*;\\s*rel=\"next\"");

  private Pages() {}

  /** The next page's URL from a response's Link header, or null on the last page. */
  static String next(HttpResponse<byte[]> response) {
    String link = response.headers().firstValue("Link").orElse(null);
    if (link == null) {
      return null;
    }
    Matcher matcher = NEXT.matcher(link);
    assertThat(matcher.find()).as("Link header %s has rel=\"next\"", link).isTrue();
    return matcher.group(1);
  }

  /** Every entry of the array field over all pages, following Link headers from the first URL. */
  static List<List<String>> follow(InProcessBerth berth, String first, String field) {
    List<List<String>> pages = new ArrayList<>();
    String url = first;
    while (url != null) {
      HttpResponse<byte[]> response = berth.get(url);
      assertThat(response.statusCode()).as(url).isEqualTo(200);
      pages.add(entries(response, field));
      url = next(response);
      assertThat(pages.size()).as("pagination ends").isLessThan(100);
    }
    return pages;
  }

  static List<String> entries(HttpResponse<byte[]> response, String field) {
    List<String> values = new ArrayList<>();
    InProcessBerth.json(response).get(field).forEach(node -> values.add(node.asText()));
    return values;
  }
}
