-- Tenant-tight reads (issue 26).
--
-- idx_task_tenant_status_id: a tenant's caller filtering by status (its
-- task list, its dead letters, its backlog counts) reads its own rows only,
-- in task id order (no sort), not every tenant's rows of that status.
--
-- Cost: every insert writes one more index entry, and every status change
-- moves one. A second index, (status, task_id), for an admin's status list
-- in id order without a sort, cost CreateTask and end-to-end throughput too
-- much with this one (make bench, same machine: created/s 18,956 → 10,919
-- and 13,620 with both): it is not kept (see docs/benchmarks.md).
ALTER TABLE task
  ADD KEY IF NOT EXISTS idx_task_tenant_status_id (tenant, status, task_id);
