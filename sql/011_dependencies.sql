-- Task dependencies (issue 25): CreateTask's depends_on. A task with
-- dependencies waits in WAITING (status 10, on no queue) until every task it
-- depends on SUCCEEDED; one that ends FAILED, TIMEOUT or CANCELLED ends it
-- CANCELLED, and so on down the graph.
--
-- task_dependency: one row per edge. Its primary key (parent_id, child_id)
-- answers "the dependents of these finished tasks" (a range per parent);
-- idx_task_dependency_child answers "the parents of these tasks" (results
-- for a start, the state of a revived dependent's parents).
CREATE TABLE IF NOT EXISTS task_dependency (
  parent_id CHAR(36) CHARACTER SET ascii COLLATE ascii_bin NOT NULL,
  child_id  CHAR(36) CHARACTER SET ascii COLLATE ascii_bin NOT NULL,
  PRIMARY KEY (parent_id, child_id),
  KEY idx_task_dependency_child (child_id, parent_id)
) ENGINE=InnoDB;

-- On the task row, so the hot path never reads the edge table for tasks
-- without dependencies or dependents:
-- depends_on: the parents as requested (ids, comma-separated; NULL for none), what the
--   task shows, and what tells a start to read the parents' results.
-- has_dependents: set (in the creating transaction, under the parent's row
--   lock) when a dependent is created; the outcome write looks at
--   task_dependency only for such rows (and a plain outcome write carries
--   `has_dependents = 0` in its WHERE, so a flag set after the worker read
--   the row is never missed).
-- waiting_on: how many parents have not SUCCEEDED yet; a success decrements
--   it under the dependent's row lock, and the dependent is released when it
--   reaches 0 (concurrent parents of a fan-in serialize on that row).
-- blocked_by: the dependency whose end cancelled this task (RetryTask of
--   that dependency brings it back to WAITING).
ALTER TABLE task
  ADD COLUMN IF NOT EXISTS depends_on MEDIUMTEXT NULL,
  ADD COLUMN IF NOT EXISTS has_dependents TINYINT NOT NULL DEFAULT 0,
  ADD COLUMN IF NOT EXISTS waiting_on INT NOT NULL DEFAULT 0,
  ADD COLUMN IF NOT EXISTS blocked_by CHAR(36) CHARACTER SET ascii COLLATE ascii_bin NULL;
