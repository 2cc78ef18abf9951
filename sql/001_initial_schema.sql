-- Tasks, their log lines and per-type configuration.
-- task_id is a UUIDv7 (time-ordered), so inserts append to the primary key.

CREATE TABLE IF NOT EXISTS task (
  task_id          CHAR(36) CHARACTER SET ascii COLLATE ascii_bin NOT NULL,
  task_type        VARCHAR(64) NOT NULL,
  priority         TINYINT NOT NULL DEFAULT 0,
  payload          MEDIUMTEXT NOT NULL,
  status           TINYINT NOT NULL,
  worker_id        VARCHAR(128) NULL,
  attempt          INT NOT NULL DEFAULT 0,
  max_retries      INT NOT NULL,
  timeout_seconds  INT NOT NULL,
  worker_losses    INT NOT NULL DEFAULT 0,
  result           MEDIUMTEXT NULL,
  error            MEDIUMTEXT NULL,
  idempotency_key  VARCHAR(255) NULL,
  created_at       DATETIME(6) NOT NULL,
  updated_at       DATETIME(6) NOT NULL,
  started_at       DATETIME(6) NULL,
  finished_at      DATETIME(6) NULL,
  run_at           DATETIME(6) NULL,
  PRIMARY KEY (task_id),
  UNIQUE KEY uk_task_type_idempotency (task_type, idempotency_key),
  KEY idx_task_status_updated (status, updated_at),
  KEY idx_task_type_id (task_type, task_id)
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_bin;

CREATE TABLE IF NOT EXISTS task_logs (
  id          BIGINT UNSIGNED NOT NULL AUTO_INCREMENT,
  task_id     CHAR(36) CHARACTER SET ascii COLLATE ascii_bin NOT NULL,
  attempt     INT NOT NULL,
  worker_id   VARCHAR(128) NOT NULL DEFAULT '',
  level       VARCHAR(8) NOT NULL,
  message     MEDIUMTEXT NOT NULL,
  created_at  DATETIME(6) NOT NULL,
  PRIMARY KEY (id),
  KEY idx_task_logs_task (task_id, id)
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_bin;

CREATE TABLE IF NOT EXISTS task_config (
  task_type              VARCHAR(64) NOT NULL,
  executor               VARCHAR(16) NOT NULL,
  endpoint               VARCHAR(2048) NOT NULL DEFAULT '',
  timeout_seconds        INT NOT NULL,
  max_retries            INT NOT NULL,
  retry_backoff_ms       INT NOT NULL,
  max_concurrency        INT NOT NULL DEFAULT 0,
  rate_limit_per_second  INT NOT NULL DEFAULT 0,
  enabled                BOOLEAN NOT NULL DEFAULT TRUE,
  headers                MEDIUMTEXT NOT NULL,
  created_at             DATETIME(6) NOT NULL,
  updated_at             DATETIME(6) NOT NULL,
  PRIMARY KEY (task_type)
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_bin;
