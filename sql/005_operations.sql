-- Operations (issue 14): manual retry, pause, retention, search.

-- Counting triggers of an early 004 (development databases only): the store counts.
DROP TRIGGER IF EXISTS task_status_count_insert;
DROP TRIGGER IF EXISTS task_status_count_update;
DROP TRIGGER IF EXISTS task_status_count_delete;

-- Attempts made before the last RetryTask: retries count from there.
ALTER TABLE task ADD COLUMN IF NOT EXISTS retry_base INT NOT NULL DEFAULT 0;

-- Search by worker (ListTasks worker_id) and by idempotency key alone.
CREATE INDEX IF NOT EXISTS idx_task_worker_id ON task (worker_id, task_id);
CREATE INDEX IF NOT EXISTS idx_task_idempotency ON task (idempotency_key, task_id);

-- A paused type's tasks wait; retention of its finished tasks (0 = cluster default).
ALTER TABLE task_config ADD COLUMN IF NOT EXISTS paused BOOLEAN NOT NULL DEFAULT FALSE;
ALTER TABLE task_config ADD COLUMN IF NOT EXISTS retention_hours INT NOT NULL DEFAULT 0;
