package dev.berth.auth;

import dev.berth.oci.ErrorCode;
import dev.berth.oci.RegistryException;
import java.util.Locale;

/** A project role, with Harbor's meanings; what each may do is {@link Permissions}. */
public enum Role {
  LIMITED_GUEST("limited-guest"),
  GUEST("guest"),
  DEVELOPER("developer"),
  MAINTAINER("maintainer"),
  PROJECT_ADMIN("project-admin");

  private final String value;

  Role(String value) {
    this.value = value;
  }

  /** The name in the API and the database ({@code project-admin}, …). */
  public String value() {
    return value;
  }

  public static Role parse(String value) {
    for (Role role : values()) {
      if (role.value.equals(value.toLowerCase(Locale.ROOT))) {
        return role;
      }
    }
    throw new RegistryException(
        ErrorCode.INVALID_REQUEST,
        "unknown role '" + value + "'; one of limited-guest, guest, developer, maintainer,"
            + " project-admin");
  }
}
