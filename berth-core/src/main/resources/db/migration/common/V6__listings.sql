-- Berth metadata, version 6: the management API lists a repository's artifacts newest first,
-- a page at a time (keyset on the id), in SQL.
CREATE INDEX manifests_repository_id ON manifests(repository_id, id);
