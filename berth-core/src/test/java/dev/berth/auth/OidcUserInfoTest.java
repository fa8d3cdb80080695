package dev.berth.auth;

import static org.assertj.core.api.Assertions.assertThat;

import com.fasterxml.jackson.databind.ObjectMapper;
import java.io.IOException;
import java.util.List;
import org.junit.jupiter.api.Test;

/** What a userinfo answer may add to a thin ID token (OpenID Connect Core §5.3.2). */
class OidcUserInfoTest {
  private static final ObjectMapper JSON = new ObjectMapper();

  @Test
  void claimsOfTheSameSubjectAreReadStringsAndListsAlike() throws IOException {
    var claims = OidcLogin.userInfoClaims(
        JSON.readTree("{\"sub\":\"s-1\",\"preferred_username\":\"ana\",\"groups\":[\"a\",\"b\"],"
            + "\"email_verified\":true,\"address\":{\"country\":\"NO\"},\"nickname\":null}"),
        "s-1");

    assertThat(claims)
        .containsEntry("preferred_username", "ana")
        .containsEntry("groups", List.of("a", "b"))
        .containsEntry("email_verified", "true")
        .doesNotContainKeys("address", "nickname");
  }

  @Test
  void anAnswerAboutAnotherSubjectOrWithoutOneIsNotUsed() throws IOException {
    assertThat(OidcLogin.userInfoClaims(
            JSON.readTree("{\"sub\":\"someone-else\",\"groups\":[\"admins\"]}"), "s-1"))
        .isEmpty();
    assertThat(OidcLogin.userInfoClaims(JSON.readTree("{\"groups\":[\"admins\"]}"), "s-1"))
        .isEmpty();
    assertThat(OidcLogin.userInfoClaims(JSON.readTree("[\"s-1\"]"), "s-1")).isEmpty();
  }

  @Test
  void aGroupsClaimIsAListOrOneName() {
    assertThat(OidcLogin.groups(List.of("b", "a"))).containsExactly("a", "b");
    assertThat(OidcLogin.groups("devs")).containsExactly("devs");
    assertThat(OidcLogin.groups(null)).isEmpty();
    assertThat(OidcLogin.groups(42)).isEmpty();
  }
}
