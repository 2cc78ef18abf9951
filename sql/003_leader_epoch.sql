-- The highest leader epoch each cluster (Redis namespace) has seen. Redis
-- keeps the live epoch; this row keeps it from going backwards when Redis
-- loses its data, and fences every MySQL write a leader makes: such a write
-- applies only while its epoch is still the newest.
CREATE TABLE IF NOT EXISTS leader_epoch (
  cluster     VARCHAR(128) NOT NULL,
  epoch       BIGINT NOT NULL,
  updated_at  DATETIME(6) NOT NULL,
  PRIMARY KEY (cluster)
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_bin;
