-- The built-in local task types every worker can run.
INSERT IGNORE INTO task_config
  (task_type, executor, endpoint, timeout_seconds, max_retries, retry_backoff_ms,
   max_concurrency, rate_limit_per_second, enabled, headers, created_at, updated_at)
VALUES
  ('echo',  'local', '', 60,   0, 1000, 0, 0, TRUE, '{}', UTC_TIMESTAMP(6), UTC_TIMESTAMP(6)),
  ('sleep', 'local', '', 3600, 0, 1000, 0, 0, TRUE, '{}', UTC_TIMESTAMP(6), UTC_TIMESTAMP(6)),
  ('fail',  'local', '', 60,   3, 1000, 0, 0, TRUE, '{}', UTC_TIMESTAMP(6), UTC_TIMESTAMP(6)),
  ('noop',  'local', '', 60,   0, 1000, 0, 0, TRUE, '{}', UTC_TIMESTAMP(6), UTC_TIMESTAMP(6));
