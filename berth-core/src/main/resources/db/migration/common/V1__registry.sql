-- Berth metadata, version 1: the registry's source of truth.
-- Written in the SQL that SQLite and PostgreSQL share; ${id} is the dialect's auto-increment key,
-- ${bytes} its binary type, ${bytewise} the collation that orders listed names by byte value.

CREATE TABLE repositories (
  id ${id},
  name VARCHAR(255) ${bytewise} NOT NULL UNIQUE,
  created_at BIGINT NOT NULL
);

-- One row per stored content; bytes live in the blob store under the digest.
CREATE TABLE blobs (
  digest VARCHAR(200) PRIMARY KEY,
  size BIGINT NOT NULL,
  created_at BIGINT NOT NULL
);

-- A blob is visible in a repository only while this link exists.
CREATE TABLE repository_blobs (
  repository_id BIGINT NOT NULL REFERENCES repositories(id),
  digest VARCHAR(200) NOT NULL REFERENCES blobs(digest),
  created_at BIGINT NOT NULL,
  PRIMARY KEY (repository_id, digest)
);
CREATE INDEX repository_blobs_digest ON repository_blobs(digest);

CREATE TABLE manifests (
  id ${id},
  repository_id BIGINT NOT NULL REFERENCES repositories(id),
  digest VARCHAR(200) NOT NULL,
  media_type VARCHAR(255) NOT NULL,
  artifact_type VARCHAR(255),
  subject_digest VARCHAR(200),
  size BIGINT NOT NULL,
  annotations TEXT,
  content ${bytes} NOT NULL,
  created_at BIGINT NOT NULL,
  UNIQUE (repository_id, digest)
);
CREATE INDEX manifests_subject ON manifests(repository_id, subject_digest);

-- Blobs a manifest references (config, layers): what keeps them alive for garbage collection.
CREATE TABLE manifest_blobs (
  manifest_id BIGINT NOT NULL REFERENCES manifests(id) ON DELETE CASCADE,
  digest VARCHAR(200) NOT NULL,
  PRIMARY KEY (manifest_id, digest)
);
CREATE INDEX manifest_blobs_digest ON manifest_blobs(digest);

-- Manifests an index references (its children), by digest within the same repository.
CREATE TABLE manifest_references (
  parent_id BIGINT NOT NULL REFERENCES manifests(id) ON DELETE CASCADE,
  child_digest VARCHAR(200) NOT NULL,
  PRIMARY KEY (parent_id, child_digest)
);
CREATE INDEX manifest_references_child ON manifest_references(child_digest);

CREATE TABLE tags (
  repository_id BIGINT NOT NULL REFERENCES repositories(id),
  name VARCHAR(128) ${bytewise} NOT NULL,
  manifest_id BIGINT NOT NULL REFERENCES manifests(id) ON DELETE CASCADE,
  updated_at BIGINT NOT NULL,
  PRIMARY KEY (repository_id, name)
);
CREATE INDEX tags_manifest ON tags(manifest_id);

-- Upload sessions; their bytes live in the blob store under uploads/<id>/.
-- The repository is kept by name so that an abandoned upload leaves no repository behind.
CREATE TABLE uploads (
  id VARCHAR(64) PRIMARY KEY,
  repository VARCHAR(255) NOT NULL,
  started_at BIGINT NOT NULL,
  updated_at BIGINT NOT NULL
);
CREATE INDEX uploads_updated ON uploads(updated_at);
