-- Tenants (issue 17): a task belongs to the tenant of the API key that
-- created it; rows from before belong to `default`.
--
-- Idempotency is per (tenant, type, key), and the key compares byte for
-- byte with trailing spaces significant (NO PAD): under the PAD SPACE
-- collation `k` and `k ` were one entry of the unique index but two values
-- to the lookup, so a key with a trailing space failed every later call.
-- idx_task_tenant_id serves a tenant's task list in id order.
ALTER TABLE task
  ADD COLUMN IF NOT EXISTS tenant VARCHAR(64) CHARACTER SET ascii COLLATE ascii_bin NOT NULL DEFAULT 'default' AFTER task_id,
  MODIFY idempotency_key VARCHAR(255) CHARACTER SET utf8mb4 COLLATE utf8mb4_nopad_bin NULL,
  DROP INDEX IF EXISTS uk_task_type_idempotency,
  ADD UNIQUE KEY IF NOT EXISTS uk_task_type_key_tenant (task_type, idempotency_key, tenant),
  ADD KEY IF NOT EXISTS idx_task_tenant_id (tenant, task_id);

-- Finished counts per tenant, so a tenant's GetStats costs what an admin's does.
ALTER TABLE task_status_count
  ADD COLUMN IF NOT EXISTS tenant VARCHAR(64) CHARACTER SET ascii COLLATE ascii_bin NOT NULL DEFAULT 'default' FIRST,
  DROP PRIMARY KEY,
  ADD PRIMARY KEY (tenant, status, shard);
