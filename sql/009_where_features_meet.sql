-- Where features meet (issue 26).

-- Bumped each time a task waits anew (a retry scheduled, RetryTask): its
-- queue entry carries it, and a start write starts a row only for the
-- entry of its current generation, so a stale entry (left by a cancel and
-- a retry, or a restore) can never start a newer state of its task.
ALTER TABLE task ADD COLUMN IF NOT EXISTS generation INT NOT NULL DEFAULT 0;
-- When a RETRYING task is due again (a restore after Redis lost its data
-- puts it back in the delayed set at that time, not on its queue).
ALTER TABLE task ADD COLUMN IF NOT EXISTS retry_at DATETIME(6) NULL;

-- The paused types, which every start write reads (locking: a pause and a
-- start write wait for each other) in one dive that usually finds none.
ALTER TABLE task_config ADD KEY IF NOT EXISTS idx_task_config_paused (paused);

-- Raised by every change of a type's limits or pause (MySQL's clock, so it
-- only grows across nodes and across a delete and re-create): the leader's
-- copy in Redis never goes back to an older pause state.
ALTER TABLE task_config ADD COLUMN IF NOT EXISTS limits_version BIGINT UNSIGNED NOT NULL DEFAULT 0;

-- Workers the leader declared dead, per cluster (its Redis namespace). A start write of a fenced worker (one
-- that was stopped across its death and woke) changes nothing: the row and
-- the start lock each other, so a start either lands before the leader
-- recovers the worker's rows, or is refused.
CREATE TABLE IF NOT EXISTS worker_fence (
  cluster     VARCHAR(128) NOT NULL,
  worker_id   VARCHAR(128) NOT NULL,
  fenced_at   DATETIME(6) NOT NULL,
  PRIMARY KEY (cluster, worker_id),
  KEY idx_worker_fence_at (fenced_at)
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_bin;
