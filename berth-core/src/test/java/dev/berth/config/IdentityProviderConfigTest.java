package dev.berth.config;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.util.HashMap;
import java.util.Map;
import org.junit.jupiter.api.Test;

/** {@code auth.provider} and its {@code auth.ldap} and {@code auth.oidc} settings. */
class IdentityProviderConfigTest {
  private static BerthConfig load(Map<String, String> overrides) {
    return new ConfigLoader().load(null, Map.of(), overrides);
  }

  private static Map<String, String> ldap() {
    Map<String, String> settings = new HashMap<>();
    settings.put("auth.provider", "ldap");
    settings.put("auth.ldap.url", "ldaps://ad.example.com:636");
    settings.put("auth.ldap.user-base-dn", "OU=People,DC=example,DC=com");
    settings.put("auth.ldap.user-filter", "(sAMAccountName={0})");
    return settings;
  }

  @Test
  void theDefaultIsTheDatabase() {
    assertThat(load(Map.of()).auth().provider()).isEqualTo("database");
  }

  @Test
  void anUnknownProviderIsNamed() {
    assertThatThrownBy(() -> load(Map.of("auth.provider", "kerberos")))
        .hasMessageContaining("'auth.provider'")
        .hasMessageContaining("database, ldap or oidc");
  }

  @Test
  void ldapNeedsAUrlABaseAndAFilterWithTheUsername() {
    assertThat(load(ldap()).auth().ldap().userFilter()).isEqualTo("(sAMAccountName={0})");

    Map<String, String> http = ldap();
    http.put("auth.ldap.url", "http://ad.example.com");
    assertThatThrownBy(() -> load(http)).hasMessageContaining("'auth.ldap.url'");
    Map<String, String> noBase = ldap();
    noBase.put("auth.ldap.user-base-dn", "");
    assertThatThrownBy(() -> load(noBase)).hasMessageContaining("'auth.ldap.user-base-dn'");
    Map<String, String> fixedFilter = ldap();
    fixedFilter.put("auth.ldap.user-filter", "(uid=alice)");
    assertThatThrownBy(() -> load(fixedFilter)).hasMessageContaining("'auth.ldap.user-filter'");
    Map<String, String> noPassword = ldap();
    noPassword.put("auth.ldap.bind-dn", "cn=berth,dc=example,dc=com");
    assertThatThrownBy(() -> load(noPassword)).hasMessageContaining("'auth.ldap.bind-password'");
  }

  @Test
  void oidcNeedsAnIssuerAClientAndTheOpenidScope() {
    Map<String, String> oidc = new HashMap<>(Map.of(
        "auth.provider", "oidc",
        "auth.oidc.issuer", "https://sso.example.com/realms/main",
        "auth.oidc.client-id", "berth"));
    assertThat(load(oidc).auth().oidc().usernameClaim()).isEqualTo("preferred_username");

    Map<String, String> noClient = new HashMap<>(oidc);
    noClient.remove("auth.oidc.client-id");
    assertThatThrownBy(() -> load(noClient)).hasMessageContaining("'auth.oidc.client-id'");
    Map<String, String> noOpenid = new HashMap<>(oidc);
    noOpenid.put("auth.oidc.scopes", "profile email");
    assertThatThrownBy(() -> load(noOpenid)).hasMessageContaining("'auth.oidc.scopes'");
  }

  @Test
  void secretsAreMaskedInTheDescription() {
    Map<String, String> settings = ldap();
    settings.put("auth.ldap.bind-dn", "cn=berth,dc=example,dc=com");
    settings.put("auth.ldap.bind-password", "hunter22");
    settings.put("auth.oidc.client-secret", "oidc-secret");
    String described = new ConfigLoader().describe(load(settings));
    assertThat(described).doesNotContain("hunter22", "oidc-secret");
  }
}
