-- Bounded reads by status (issue 26).
--
-- idx_task_status_id: a ListTasks page filtered by one status is a range
-- read in task id order (the API's order), never a sort of every row of the
-- status (FAILED grows without bound until retention).
-- idx_task_tenant_status_id: a tenant's caller filtering by status (its
-- task list, its dead letters, its backlog counts) reads its own rows only,
-- not every tenant's rows of that status.
--
-- Cost: every insert writes two more index entries, and every status change
-- moves an entry in each (as it does in idx_task_status_updated).
ALTER TABLE task
  ADD KEY IF NOT EXISTS idx_task_status_id (status, task_id),
  ADD KEY IF NOT EXISTS idx_task_tenant_status_id (tenant, status, task_id);
