-- Berth metadata, version 10: browser sessions of the management API and runtime settings
-- (issue 4 §4 and §6, decision 014).

-- One row per logged-in browser. id_hash is the lower-case hex SHA-256 of the session id that the
-- cookie carries; the raw id is never stored, so a copy of the database opens no session.
-- credential_version is the user's at login: a password change or disabling the user changes
-- it, which ends the session on every node. expires_at is the absolute end (created_at +
-- auth.session-max-age); the idle end (last_seen_at + auth.session-idle-timeout) is computed at
-- each lookup, because the idle timeout may change at runtime.
CREATE TABLE sessions (
  id_hash VARCHAR(64) PRIMARY KEY,
  user_id BIGINT NOT NULL REFERENCES users(id) ON DELETE CASCADE,
  credential_version BIGINT NOT NULL,
  csrf_token VARCHAR(64) NOT NULL,
  created_at BIGINT NOT NULL,
  last_seen_at BIGINT NOT NULL,
  expires_at BIGINT NOT NULL
);
CREATE INDEX sessions_user ON sessions(user_id);
CREATE INDEX sessions_expires ON sessions(expires_at);
CREATE INDEX sessions_last_seen ON sessions(last_seen_at);

-- Settings changed at runtime through /api/v1/system/settings: the key as in the configuration
-- file (auth.users-create-projects), its value as text. A row overrides the file and environment
-- on every node; no row means the configured value counts.
CREATE TABLE settings (
  name VARCHAR(100) PRIMARY KEY,
  value VARCHAR(255) NOT NULL,
  updated_at BIGINT NOT NULL,
  updated_by VARCHAR(255) NOT NULL
);
