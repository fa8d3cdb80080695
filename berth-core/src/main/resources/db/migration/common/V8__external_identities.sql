-- Berth metadata, version 8: users of an external identity provider (LDAP, OIDC; issue 4 §1).

-- What Berth keeps of an LDAP or OIDC user besides its users row (source 'ldap' or 'oidc', no
-- password hash): the identity at the provider (an LDAP DN, or an OIDC issuer and subject), the
-- provider's group names as of the last login (newline-separated; project members of type
-- 'group' match them, also for requests that reach the provider not at all: bearer tokens, CLI
-- secrets), and for OIDC users the Argon2id hash of the CLI secret that registry clients log in
-- with.
CREATE TABLE user_identities (
  user_id BIGINT PRIMARY KEY REFERENCES users(id) ON DELETE CASCADE,
  external_id VARCHAR(1024) NOT NULL,
  groups_list TEXT NOT NULL,
  cli_secret_hash VARCHAR(255),
  updated_at BIGINT NOT NULL
);
