-- Berth metadata, version 3: background jobs any node can take, and cluster-wide schedules
-- (dev.berth.jobs; the states are documented on dev.berth.jobs.JobState).

CREATE TABLE jobs (
  id ${id},
  type VARCHAR(100) NOT NULL,
  payload TEXT NOT NULL,
  -- 'queued', 'running', 'succeeded' or 'failed'
  state VARCHAR(16) NOT NULL,
  -- At most one queued or running job per key (the partial unique index below); NULL: no key.
  unique_key VARCHAR(255),
  -- Claims so far; the claim's number is the lease's fencing token.
  attempts INTEGER NOT NULL DEFAULT 0,
  max_attempts INTEGER NOT NULL,
  -- Not claimed before this time (epoch millis): the first run, or the next retry.
  run_after BIGINT NOT NULL,
  -- The node that holds the running job, and until when; another node may take it after that.
  lease_owner VARCHAR(255),
  lease_expires_at BIGINT,
  result TEXT,
  error TEXT,
  created_at BIGINT NOT NULL,
  updated_at BIGINT NOT NULL
);
-- The claim's walk (state = 'queued' in id order), and the lease-expiry sweep (state = 'running').
CREATE INDEX jobs_state ON jobs(state, id);
CREATE UNIQUE INDEX jobs_pending_key ON jobs(unique_key) WHERE state IN ('queued', 'running');

-- A schedule fires once per interval, cluster-wide: the node whose claim of a due row wins
-- enqueues the job and moves next_run_at on, in one transaction.
CREATE TABLE schedules (
  name VARCHAR(200) PRIMARY KEY,
  job_type VARCHAR(100) NOT NULL,
  payload TEXT NOT NULL,
  interval_millis BIGINT NOT NULL,
  next_run_at BIGINT NOT NULL,
  last_run_at BIGINT,
  last_job_id BIGINT
);
CREATE INDEX schedules_due ON schedules(next_run_at);
