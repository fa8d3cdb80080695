-- Berth metadata, version 4: garbage collection prunes repository links (decision 012) and
-- honours per-project policies.

-- When the repository last relied on the link (milliseconds; 0: never):
--   used_at     a client made it or relied on it: upload, mount, dedupe, or a HEAD/GET answered
--               200 (refreshed at most every few seconds). Holds the link for gc.link-hold
--               until a manifest lists the blob.
--   listed_at   a manifest of the repository listing the blob was committed; a hold older than
--               this has served its purpose.
--   released_at a manifest of the repository that listed the blob was deleted; the link is kept
--               for gc.grace-period after that.
-- A link that no manifest of its repository lists is pruned once it is neither held nor within
-- the grace period of its release.
ALTER TABLE repository_blobs ADD COLUMN used_at BIGINT NOT NULL DEFAULT 0;
ALTER TABLE repository_blobs ADD COLUMN listed_at BIGINT NOT NULL DEFAULT 0;
ALTER TABLE repository_blobs ADD COLUMN released_at BIGINT NOT NULL DEFAULT 0;
UPDATE repository_blobs SET used_at = created_at;

ALTER TABLE gc_runs ADD COLUMN links_pruned BIGINT NOT NULL DEFAULT 0;

-- Garbage-collection policy per project (the first component of a repository name, or the
-- default project for one-component names): delete untagged manifests on every run.
CREATE TABLE project_gc_policies (
  project VARCHAR(255) ${bytewise} PRIMARY KEY,
  delete_untagged BOOLEAN NOT NULL,
  updated_at BIGINT NOT NULL
);
