-- Tracing (--otel-endpoint): the W3C traceparent of the API span that
-- created a task, so that every attempt's span continues that trace. NULL
-- when the node does not trace (the default): nothing more per row. The
-- worker reads it with the row its start already reads; no index (nothing
-- looks a task up by its trace). A nullable column at the end is an
-- INSTANT change in MariaDB 10.3+: no table copy, whatever the row count.
ALTER TABLE task ADD COLUMN IF NOT EXISTS traceparent VARCHAR(55) CHARACTER SET ascii COLLATE ascii_bin NULL, ALGORITHM=INSTANT;
