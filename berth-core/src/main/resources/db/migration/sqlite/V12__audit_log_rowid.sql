-- Berth metadata, version 12, SQLite only (on PostgreSQL it records the version and changes
-- nothing): audit_log's id becomes the table's rowid.
--
-- "id BIGINT PRIMARY KEY" (V7) is, on SQLite, a separate unique index beside the rowid, so each
-- record was six B-tree insertions; "INTEGER PRIMARY KEY" makes id the rowid itself, so five.
-- Pull records are written by the thousand a second under load (decision 017), and the insert is
-- most of their cost. Values, order and the other indexes are unchanged; ids are still assigned
-- by AuditLog, never by SQLite. The table is copied once, in this migration's transaction.
CREATE TABLE audit_log_v12 (
  id INTEGER PRIMARY KEY,
  occurred_at BIGINT NOT NULL,
  actor_type VARCHAR(16) NOT NULL,
  actor_name VARCHAR(255) NOT NULL,
  source_address VARCHAR(64) NOT NULL,
  user_agent VARCHAR(512) NOT NULL,
  action VARCHAR(64) NOT NULL,
  project VARCHAR(255) NOT NULL,
  repository VARCHAR(255) NOT NULL,
  reference VARCHAR(255) NOT NULL,
  digest VARCHAR(160) NOT NULL,
  outcome VARCHAR(16) NOT NULL,
  detail TEXT NOT NULL,
  prev_hash VARCHAR(64) NOT NULL,
  hash VARCHAR(64) NOT NULL
);
INSERT INTO audit_log_v12 (id, occurred_at, actor_type, actor_name, source_address, user_agent,
    action, project, repository, reference, digest, outcome, detail, prev_hash, hash)
  SELECT id, occurred_at, actor_type, actor_name, source_address, user_agent, action, project,
    repository, reference, digest, outcome, detail, prev_hash, hash
  FROM audit_log ORDER BY id;
DROP TABLE audit_log;
ALTER TABLE audit_log_v12 RENAME TO audit_log;
CREATE INDEX audit_log_time ON audit_log(occurred_at);
CREATE INDEX audit_log_actor ON audit_log(actor_name, id);
CREATE INDEX audit_log_project ON audit_log(project, id);
CREATE INDEX audit_log_repository ON audit_log(repository, id);
