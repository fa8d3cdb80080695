package dev.berth.auth;

import dev.berth.metadata.Database;
import dev.berth.oci.RepositoryName;
import java.security.SecureRandom;
import java.util.Map;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * First start: creates the system administrator {@code admin} and the public default project
 * ({@code library}), once per installation (the check and the inserts are one transaction; on a
 * cluster the node that loses the race finds them made). The password comes from {@code
 * BERTH_ADMIN_PASSWORD}, or is generated and written to the log once; only its hash is stored.
 */
public final class IdentityBootstrap {
  private static final Logger log = LoggerFactory.getLogger(IdentityBootstrap.class);
  public static final String ADMIN = "admin";
  public static final String ADMIN_PASSWORD_VARIABLE = "BERTH_ADMIN_PASSWORD";
  private static final String ALPHABET =
      "ABCDEFGHJKLMNPQRSTUVWXYZabcdefghijkmnopqrstuvwxyz23456789";

  private final Database database;
  private final UserDao users;
  private final ProjectDao projects;
  private final PasswordHasher hasher;

  public IdentityBootstrap(
      Database database, UserDao users, ProjectDao projects, PasswordHasher hasher) {
    this.database = database;
    this.users = users;
    this.projects = projects;
    this.hasher = hasher;
  }

  /** Creates the administrator and the default project if this is the first start. */
  public void run(Map<String, String> environment) {
    // Every later start ends here, before paying for a password hash on the start-up path.
    if (database.read(users::count) > 0) {
      return;
    }
    String given = environment.get(ADMIN_PASSWORD_VARIABLE);
    boolean generated = given == null || given.isEmpty();
    String password = generated ? generate() : given;
    String hash = hasher.hash(password);
    boolean created = database.write(c -> {
      if (users.count(c) > 0) {
        return false;
      }
      users.insert(c, ADMIN, hash, null, true, "database");
      projects.getOrCreate(c, RepositoryName.DEFAULT_PROJECT, true);
      return true;
    });
    if (!created) {
      return;
    }
    if (generated) {
      log.warn(
          "created the system administrator '{}' with the generated password {} — it is shown"
              + " only this once; change it, or set {} before the first start",
          ADMIN,
          password,
          ADMIN_PASSWORD_VARIABLE);
    } else {
      log.info(
          "created the system administrator '{}' with the password from {}",
          ADMIN,
          ADMIN_PASSWORD_VARIABLE);
    }
  }

  private static String generate() {
    SecureRandom random = new SecureRandom();
    StringBuilder password = new StringBuilder(20);
    for (int i = 0; i < 20; i++) {
      password.append(ALPHABET.charAt(random.nextInt(ALPHABET.length())));
    }
    return password.toString();
  }
}
