"""procrastinate, end to end: N noop tasks through PostgreSQL to 2 worker processes.

    PEERS_PG_URL=postgresql://postgres@127.0.0.1:5496/peers PEERS_REDIS_URL=redis://127.0.0.1:6396/0 \\
        python bench/peers/procrastinate_bench.py [--tasks 20000]

This file is both the driver (run as a script) and the app the worker
imports (`procrastinate --app procrastinate_bench.app worker`). The driver
puts procrastinate's schema into the (empty) database, starts the workers,
waits until both have registered, defers the tasks, waits until the worker has
executed all of them, stops the worker and prints

    PEER procrastinate tasks=N e2e_per_s=N seconds=S send_per_s=N cpu_ms_per_task=… (peerlib.run)

Setup (docs/benchmarks.md says why it is fair): async noop task, 2 worker
processes (a process a core: one measured 1.4x slower) with concurrency 4
each (jobs at once in its event loop; 16 and 32 measured no faster: a
worker fetches one job a query), LISTEN/NOTIFY on (the default: a new job
wakes the worker), jobs kept when done (the default
`delete_jobs=never`: a row a task stays, as Baton keeps one), the producer
defers in batches of 1,000 with `batch_defer` (one statement a batch).
The end is seen through a counter each worker adds to Redis from a
background thread (peerlib.DoneCounter); Redis carries nothing else.
"""

import logging
import os
import sys

import procrastinate
import psycopg
import peerlib

PG_URL = os.environ.get("PEERS_PG_URL", "postgresql://postgres@127.0.0.1:5496/peers")
PROCESSES, CONCURRENCY = 2, 4
BATCH = 1000
NAME = "procrastinate_bench"

if __name__ == "__main__":
    # The driver's app is in __main__, the workers' in procrastinate_bench: both
    # fine here, but procrastinate warns about the first.
    logging.getLogger("procrastinate.blueprints").setLevel(logging.ERROR)
app = procrastinate.App(connector=procrastinate.PsycopgConnector(conninfo=PG_URL))


@app.task(name="peers.noop", queue=peerlib.QUEUE)
async def noop():
    peerlib.done_counter.add()


# --- driver ------------------------------------------------------------------


def start_worker(pidfile, log):
    """The schema first (setup, not measured), then the workers, in a process
    group of their own (peerlib.start_workers)."""
    with app.open():
        app.schema_manager.apply_schema()
    command = [
        sys.executable, "-m", "procrastinate", "--app", "procrastinate_bench.app", "--log-level", "warning",
        "worker", "--queues", peerlib.QUEUE, "--concurrency", str(CONCURRENCY),
    ]
    return peerlib.start_workers([command] * PROCESSES, pidfile, log, {"PEERS_PG_URL": PG_URL})


def booted(_client):
    """Each worker has registered itself in procrastinate_workers: its fetch loop starts next."""
    with psycopg.connect(PG_URL) as connection:
        return connection.execute("SELECT count(*) FROM procrastinate_workers").fetchone()[0] >= PROCESSES


def send_all(tasks):
    """`batch_defer`, procrastinate's bulk API, 1,000 jobs a call: one
    INSERT of them all (and one NOTIFY), on the connection `prepare` opened."""
    for first in range(0, tasks, BATCH):
        noop.batch_defer(*({} for _ in range(min(BATCH, tasks - first))))


if __name__ == "__main__":
    peerlib.main(NAME, lambda: peerlib.run(
        NAME, "procrastinate", __doc__, start_worker,
        booted=booted, send_all=send_all, prepare=lambda _tasks: app.open()))
