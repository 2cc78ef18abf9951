-- Half the database work per task (issue 27): fewer index entries per row.
--
-- Every index entry an insert writes costs MariaDB work, and every entry
-- that holds `status` is moved (delete-marked, inserted, later purged) by
-- every status change: three or four times per task. `make bench-cost`
-- measured per noop task: the unique idempotency key ~41,000 instructions
-- (an entry for every task, though few carry a key), a second status
-- index ~137,000. So:
--
-- * idempotency keys live in a table of their own, written only for a task
--   that has one (its primary key is the uniqueness the task table's
--   unique key gave: type, key, tenant);
-- * one status index instead of three: (status, tenant, task_id,
--   updated_at). A status's rows across tenants are one range (counts,
--   sweeps, bulk pages); one tenant's are a range in task id order (its
--   lists, its dead letters, no sort); tenants holding a status are found
--   with one dive each; updated_at is in the entry so that a sweep for
--   rows untouched since a time reads the index alone. It replaces
--   (status, updated_at), (tenant, status, task_id) and (tenant, task_id):
--   a tenant's whole list merges its status ranges.
CREATE TABLE IF NOT EXISTS task_idempotency (
  task_type        VARCHAR(64) NOT NULL,
  idempotency_key  VARCHAR(255) CHARACTER SET utf8mb4 COLLATE utf8mb4_nopad_bin NOT NULL,
  tenant           VARCHAR(64) CHARACTER SET ascii COLLATE ascii_bin NOT NULL,
  task_id          CHAR(36) CHARACTER SET ascii COLLATE ascii_bin NOT NULL,
  PRIMARY KEY (task_type, idempotency_key, tenant),
  KEY idx_task_idempotency_task (task_id)
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_bin;

INSERT IGNORE INTO task_idempotency (task_type, idempotency_key, tenant, task_id)
SELECT task_type, idempotency_key, tenant, task_id FROM task WHERE idempotency_key IS NOT NULL;

ALTER TABLE task
  ADD KEY IF NOT EXISTS idx_task_status_tenant (status, tenant, task_id, updated_at),
  DROP KEY IF EXISTS idx_task_status_updated,
  DROP KEY IF EXISTS idx_task_tenant_status_id,
  DROP KEY IF EXISTS idx_task_tenant_id,
  DROP KEY IF EXISTS uk_task_type_key_tenant;
