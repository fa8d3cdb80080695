-- Berth metadata, version 5: identities, projects and roles (issue 4).

-- People. password_hash is an Argon2id PHC string, null for users of an external identity
-- provider (OIDC, LDAP). credential_version changes with the password (or disabling), which
-- drops verified Basic credentials that nodes remember briefly.
CREATE TABLE users (
  id ${id},
  username VARCHAR(255) ${bytewise} NOT NULL UNIQUE,
  password_hash VARCHAR(255),
  email VARCHAR(255),
  admin BOOLEAN NOT NULL DEFAULT FALSE,
  disabled BOOLEAN NOT NULL DEFAULT FALSE,
  source VARCHAR(16) NOT NULL DEFAULT 'database',
  credential_version BIGINT NOT NULL DEFAULT 0,
  created_at BIGINT NOT NULL,
  updated_at BIGINT NOT NULL
);

-- A project is the first component of a repository name (the default project for one-component
-- names). Public projects may be pulled by anyone.
CREATE TABLE projects (
  id ${id},
  name VARCHAR(255) ${bytewise} NOT NULL UNIQUE,
  public BOOLEAN NOT NULL DEFAULT FALSE,
  created_at BIGINT NOT NULL
);

-- Members: users (by name) or groups (by the identity provider's group name), with a role.
CREATE TABLE project_members (
  project_id BIGINT NOT NULL REFERENCES projects(id) ON DELETE CASCADE,
  member_type VARCHAR(8) NOT NULL,
  member_name VARCHAR(255) NOT NULL,
  role VARCHAR(32) NOT NULL,
  PRIMARY KEY (project_id, member_type, member_name)
);
CREATE INDEX project_members_name ON project_members(member_type, member_name);

-- Robot accounts: robot$<name> (system level, project_id null) or robot$<project>+<name>.
-- permissions is JSON: {"<project or *>": ["pull", "push", ...]}.
CREATE TABLE robots (
  id ${id},
  name VARCHAR(255) ${bytewise} NOT NULL UNIQUE,
  project_id BIGINT REFERENCES projects(id) ON DELETE CASCADE,
  secret_hash VARCHAR(255) NOT NULL,
  permissions TEXT NOT NULL,
  description VARCHAR(1024),
  expires_at BIGINT,
  disabled BOOLEAN NOT NULL DEFAULT FALSE,
  credential_version BIGINT NOT NULL DEFAULT 0,
  created_at BIGINT NOT NULL
);
