-- One writer at a time per upload session, whichever node it runs on: a chunk claims the row
-- (claim = a random token) until claim_until, renews the claim while it streams and releases it
-- when done; a chunk that finds a live claim of another is refused with 416 (UploadSession).
ALTER TABLE uploads ADD COLUMN claim VARCHAR(36);
ALTER TABLE uploads ADD COLUMN claim_until BIGINT NOT NULL DEFAULT 0;
