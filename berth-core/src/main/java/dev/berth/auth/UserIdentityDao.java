package dev.berth.auth;

import dev.berth.metadata.Database;
import java.sql.Connection;
import java.sql.PreparedStatement;
import java.sql.ResultSet;
import java.sql.SQLException;
import java.util.Arrays;
import java.util.Optional;
import java.util.Set;
import java.util.TreeSet;

/** What Berth keeps of an LDAP or OIDC user besides its {@code users} row. */
public final class UserIdentityDao {
  /**
   * @param externalId the LDAP DN, or {@code <issuer>#<subject>} for OIDC
   * @param groups the provider's group names as of the last login
   * @param cliSecretHash an OIDC user's CLI secret (Argon2id), null until one is made
   */
  public record IdentityRow(
      long userId, String externalId, Set<String> groups, String cliSecretHash) {}

  public Optional<IdentityRow> find(Connection c, long userId) throws SQLException {
    try (PreparedStatement p = c.prepareStatement(
        "SELECT external_id, groups_list, cli_secret_hash FROM user_identities WHERE user_id = ?")) {
      p.setLong(1, userId);
      try (ResultSet rs = p.executeQuery()) {
        if (!rs.next()) {
          return Optional.empty();
        }
        String list = rs.getString(2);
        Set<String> groups = new TreeSet<>();
        if (!list.isEmpty()) {
          groups.addAll(Arrays.asList(list.split("\n")));
        }
        return Optional.of(new IdentityRow(userId, rs.getString(1), groups, rs.getString(3)));
      }
    }
  }

  /** Records the identity and groups of a login; keeps the CLI secret. */
  public void put(Connection c, long userId, String externalId, Set<String> groups)
      throws SQLException {
    Database.accountsChanged(c); // account caches on every node drop what they hold
    String list = String.join(
        "\n", new TreeSet<>(groups.stream().filter(g -> !g.contains("\n")).toList()));
    try (PreparedStatement p = c.prepareStatement(
        "INSERT INTO user_identities (user_id, external_id, groups_list, updated_at)"
            + " VALUES (?, ?, ?, ?) ON CONFLICT (user_id) DO UPDATE SET"
            + " external_id = excluded.external_id, groups_list = excluded.groups_list,"
            + " updated_at = excluded.updated_at")) {
      p.setLong(1, userId);
      p.setString(2, externalId);
      p.setString(3, list);
      p.setLong(4, System.currentTimeMillis());
      p.executeUpdate();
    }
  }

  /**
   * Sets a new CLI secret hash and changes the user's credential version, so that nodes forget
   * verifications of the old secret at once.
   */
  public boolean setCliSecret(Connection c, long userId, String hash) throws SQLException {
    Database.accountsChanged(c); // account caches on every node drop what they hold
    try (PreparedStatement p = c.prepareStatement(
        "UPDATE user_identities SET cli_secret_hash = ?, updated_at = ? WHERE user_id = ?")) {
      p.setString(1, hash);
      p.setLong(2, System.currentTimeMillis());
      p.setLong(3, userId);
      if (p.executeUpdate() == 0) {
        return false;
      }
    }
    try (PreparedStatement p = c.prepareStatement(
        "UPDATE users SET credential_version = credential_version + 1, updated_at = ?"
            + " WHERE id = ?")) {
      p.setLong(1, System.currentTimeMillis());
      p.setLong(2, userId);
      p.executeUpdate();
    }
    return true;
  }
}
