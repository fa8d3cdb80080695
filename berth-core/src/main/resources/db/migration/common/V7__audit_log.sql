-- Berth metadata, version 7: the operation audit log (dev.berth.audit, decision 013).

-- One row per recorded operation, in chain order. The id is assigned by AuditLog as the chain
-- head's id + 1 under the head's lock, not by an identity (PostgreSQL sequences leave gaps on
-- rollback; here a gap means a deleted record). Empty strings, not NULLs, for absent values, so
-- the canonical form that is hashed has one spelling for "absent".
CREATE TABLE audit_log (
  id BIGINT PRIMARY KEY,
  -- Epoch milliseconds, when the operation happened.
  occurred_at BIGINT NOT NULL,
  -- 'user', 'robot', 'anonymous' or 'system'
  actor_type VARCHAR(16) NOT NULL,
  actor_name VARCHAR(255) ${bytewise} NOT NULL,
  source_address VARCHAR(64) NOT NULL,
  user_agent VARCHAR(512) NOT NULL,
  -- AuditAction's names: 'manifest.push', 'login', ...
  action VARCHAR(64) NOT NULL,
  project VARCHAR(255) ${bytewise} NOT NULL,
  repository VARCHAR(255) ${bytewise} NOT NULL,
  reference VARCHAR(255) NOT NULL,
  digest VARCHAR(160) NOT NULL,
  -- 'success', 'failure' or 'denied'
  outcome VARCHAR(16) NOT NULL,
  -- A JSON object of strings, keys sorted; '{}' when none.
  detail TEXT NOT NULL,
  -- Lower-case hex SHA-256: the previous record's hash, and this one's over it and the record.
  prev_hash VARCHAR(64) NOT NULL,
  hash VARCHAR(64) NOT NULL
);
CREATE INDEX audit_log_time ON audit_log(occurred_at);
CREATE INDEX audit_log_actor ON audit_log(actor_name, id);
CREATE INDEX audit_log_project ON audit_log(project, id);
CREATE INDEX audit_log_repository ON audit_log(repository, id);

-- The chain's head and anchor: one row (id 1), created by the first AuditLog, locked by every
-- append (FOR UPDATE on PostgreSQL; SQLite has one writer), so the chain stays one line.
--   last_id, last_hash, head_signature  the newest record and an HMAC over both (0 and 64 zeros:
--                                       empty chain)
--   anchor_id, anchor_hash, anchor_signature  the newest purged record, which the oldest kept one
--                                       links to (0: nothing purged), signed the same way
--   key_id                              which checkpoint key signs (an HMAC of a fixed text), so
--                                       that a node with another key refuses to start
CREATE TABLE audit_chain (
  id INTEGER PRIMARY KEY,
  last_id BIGINT NOT NULL,
  last_hash VARCHAR(64) NOT NULL,
  head_signature VARCHAR(64) NOT NULL,
  anchor_id BIGINT NOT NULL,
  anchor_hash VARCHAR(64) NOT NULL,
  anchor_signature VARCHAR(64) NOT NULL,
  key_id VARCHAR(64) NOT NULL
);

-- Signed checkpoints: every audit.checkpoint-interval records and when a node stops, the head's
-- id and hash with an HMAC-SHA256 over them under audit.checkpoint-key.
CREATE TABLE audit_checkpoints (
  id ${id},
  record_id BIGINT NOT NULL,
  hash VARCHAR(64) NOT NULL,
  signature VARCHAR(64) NOT NULL,
  created_at BIGINT NOT NULL
);
CREATE INDEX audit_checkpoints_record ON audit_checkpoints(record_id);

-- Syslog forwarding's progress, shared by the nodes: the last record sent, and the node that
-- holds the forwarding lease until lease_until (one node forwards at a time).
CREATE TABLE audit_forwarding (
  id INTEGER PRIMARY KEY,
  last_id BIGINT NOT NULL,
  lease_owner VARCHAR(255),
  lease_until BIGINT NOT NULL
);
