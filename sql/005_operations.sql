-- Operations (issue 14): manual retry, pause, retention, search.

-- Counting triggers of an early 004 (development databases only): the store counts.
DROP TRIGGER IF EXISTS task_status_count_insert;
DROP TRIGGER IF EXISTS task_status_count_update;
DROP TRIGGER IF EXISTS task_status_count_delete;

-- Attempts made before the last RetryTask: retries count from there.
ALTER TABLE task ADD COLUMN IF NOT EXISTS retry_base INT NOT NULL DEFAULT 0;

-- No index for the worker and idempotency-key filters of ListTasks: each
-- would cost every insert (and every start) an index entry; measured: CreateTask
-- throughput -35 %. A key is searched with its type (uk_task_type_idempotency),
-- a worker along the range the other filters choose.

-- A paused type's tasks wait; retention of its finished tasks (0 = cluster default).
ALTER TABLE task_config ADD COLUMN IF NOT EXISTS paused BOOLEAN NOT NULL DEFAULT FALSE;
ALTER TABLE task_config ADD COLUMN IF NOT EXISTS retention_hours INT NOT NULL DEFAULT 0;
