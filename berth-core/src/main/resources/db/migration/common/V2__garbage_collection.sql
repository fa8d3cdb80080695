-- Berth metadata, version 2: online garbage collection (docs/decisions/008-online-gc.md).

-- A blob's state (dev.berth.gc.BlobState): 'live', or 'deleting' once garbage collection has
-- claimed it (no link may be made to it then; its bytes are being removed). 'gone' is no row.
ALTER TABLE blobs ADD COLUMN state VARCHAR(16) NOT NULL DEFAULT 'live';
-- When a reference to the blob was last removed (a repository link, or a manifest that listed
-- it); the grace period counts from the later of this and created_at. 0: never.
ALTER TABLE blobs ADD COLUMN unreferenced_at BIGINT NOT NULL DEFAULT 0;

-- One row per garbage-collection run, what it found and freed (or, dry, would have).
CREATE TABLE gc_runs (
  id ${id},
  started_at BIGINT NOT NULL,
  finished_at BIGINT,
  dry_run BOOLEAN NOT NULL,
  delete_untagged BOOLEAN NOT NULL,
  trigger_source VARCHAR(16) NOT NULL,
  status VARCHAR(16) NOT NULL,
  blobs_deleted BIGINT NOT NULL DEFAULT 0,
  manifests_deleted BIGINT NOT NULL DEFAULT 0,
  uploads_deleted BIGINT NOT NULL DEFAULT 0,
  orphans_deleted BIGINT NOT NULL DEFAULT 0,
  bytes_freed BIGINT NOT NULL DEFAULT 0,
  errors INTEGER NOT NULL DEFAULT 0,
  error_message TEXT,
  report TEXT
);
CREATE INDEX gc_runs_started ON gc_runs(started_at);
