-- Schedules (issue 25): task templates the leader creates at each fire time
-- of a cron expression, exactly once per (schedule, fire time).
--
-- schedule: one row per schedule. idx_schedule_due answers the leader's one
-- question per tick, "which unpaused schedule is due next", from the head of
-- an index range (never a scan of the schedules).
CREATE TABLE IF NOT EXISTS schedule (
  schedule_id VARCHAR(64) CHARACTER SET ascii COLLATE ascii_bin NOT NULL,
  tenant VARCHAR(64) CHARACTER SET ascii COLLATE ascii_bin NOT NULL DEFAULT 'default',
  cron VARCHAR(255) NOT NULL,
  time_zone VARCHAR(64) NOT NULL DEFAULT '',
  task_type VARCHAR(64) NOT NULL,
  payload MEDIUMTEXT NOT NULL,
  priority TINYINT NOT NULL DEFAULT 0,
  paused TINYINT(1) NOT NULL DEFAULT 0,
  misfire TINYINT NOT NULL DEFAULT 0,
  overlap TINYINT NOT NULL DEFAULT 0,
  timeout_seconds INT NULL,
  max_retries INT NULL,
  next_fire_at DATETIME(6) NULL,
  last_fire_at DATETIME(6) NULL,
  last_task_id CHAR(36) CHARACTER SET ascii COLLATE ascii_bin NULL,
  created_at DATETIME(6) NOT NULL,
  updated_at DATETIME(6) NOT NULL,
  PRIMARY KEY (schedule_id),
  KEY idx_schedule_due (paused, next_fire_at),
  KEY idx_schedule_type (task_type)
) ENGINE=InnoDB;

-- schedule_fire: the fire times that created a task. Its primary key is what
-- makes a fire happen once, whichever leader (or TriggerSchedule) writes it:
-- the task and this row commit together. A side table, so a plain CreateTask
-- writes no index entry for it; idx_schedule_fire_task lists a schedule's
-- tasks in id order (ListTasks by schedule_id).
CREATE TABLE IF NOT EXISTS schedule_fire (
  schedule_id VARCHAR(64) CHARACTER SET ascii COLLATE ascii_bin NOT NULL,
  scheduled_for DATETIME(6) NOT NULL,
  task_id CHAR(36) CHARACTER SET ascii COLLATE ascii_bin NOT NULL,
  PRIMARY KEY (schedule_id, scheduled_for),
  KEY idx_schedule_fire_task (schedule_id, task_id)
) ENGINE=InnoDB;

-- What a task shows of the schedule that created it (not indexed: lists by
-- schedule read schedule_fire).
ALTER TABLE task
  ADD COLUMN IF NOT EXISTS schedule_id VARCHAR(64) CHARACTER SET ascii COLLATE ascii_bin NULL,
  ADD COLUMN IF NOT EXISTS scheduled_for DATETIME(6) NULL;
