-- The running SHA-256 of a chunked upload session (decision 015): Bouncy Castle's encoded digest
-- state after the last chunk, and how many bytes it covers. Written with the release of each
-- chunk's claim; a node without the hash in memory resumes from it instead of re-reading the
-- stored prefix, and only when hashed_bytes equals the session's stored length. NULL for
-- sessions that hash with the JDK (one PATCH or PUT with the whole blob).
ALTER TABLE uploads ADD COLUMN hash_state ${bytes};
ALTER TABLE uploads ADD COLUMN hashed_bytes BIGINT;
