package dev.berth.auth;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import dev.berth.oci.RegistryException;
import java.util.Set;
import org.junit.jupiter.api.Test;

class ScopeTest {
  @Test
  void parsesTheSpecificationsExamples() {
    assertThat(Scope.parse("repository:samalba/my-app:pull,push"))
        .isEqualTo(new Scope("repository", "samalba/my-app", Set.of("pull", "push")));
    assertThat(Scope.parse("registry:catalog:*"))
        .isEqualTo(new Scope("registry", "catalog", Set.of("*")));
    assertThat(Scope.parse("repository(plugin):host:5000/app:pull"))
        .isEqualTo(new Scope("repository", "host:5000/app", Set.of("pull")));
    assertThat(Scope.parseAll("repository:a:pull repository:b:push")).hasSize(2);
    assertThat(Scope.parse("repository:a:pull,push").toString())
        .isEqualTo("repository:a:pull,push");
  }

  @Test
  void badScopesAreInvalidRequests() {
    for (String bad : new String[] {"repository", "repository:", ":a:pull", "repository::pull"}) {
      assertThatThrownBy(() -> Scope.parse(bad)).as(bad).isInstanceOf(RegistryException.class);
    }
  }
}
