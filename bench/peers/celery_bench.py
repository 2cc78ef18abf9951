"""Celery 5, end to end: N noop tasks through a Redis broker (or MariaDB) to one solo worker.

    PEERS_REDIS_URL=redis://127.0.0.1:6396/0 python bench/peers/celery_bench.py [--tasks 20000]
    PEERS_CELERY_MYSQL_URL=mysql+pymysql://user:password@127.0.0.1:3306/db PEERS_REDIS_URL=… \
        python bench/peers/celery_bench.py --tasks 2000

With PEERS_CELERY_MYSQL_URL, the broker is kombu's SQLAlchemy transport
(`sqla+mysql+pymysql://`: a row a message, in that database) and the
results go to Celery's database backend (`db+mysql+pymysql://`: a row a
task) on the same server: Celery with durable messages and results, as
Baton keeps a row a task. Redis then only carries the counter below.

This file is both the driver (run as a script) and the Celery app the worker
imports (`celery -A celery_bench worker`). The driver starts the worker, waits
until it is ready, sends the tasks from one producer connection, waits until
the worker has executed all of them, stops the worker and prints

    PEER celery tasks=N e2e_per_s=N seconds=S send_per_s=N cpu_ms_per_task=… (peerlib.run)

Setup (docs/benchmarks.md says why it is fair), JSON messages, prefetch
multiplier 4 (the default). On Redis: pool solo (one process, tasks run
inline in the worker's event loop), no result backend. On MariaDB: pool
prefork with 2 processes (Celery's default), results stored, the transport
polled every 10 ms while the queue is empty (1 s by default). The end is
seen through a counter the worker adds to Redis from a background thread
(peerlib.done_counter), so counting costs the task no round trip.
"""

import os
import sys

import kombu.transport.sqlalchemy
import redis
import peerlib
from celery import Celery
from celery.signals import worker_ready

NAME = "celery_bench"
MYSQL_URL = os.environ.get("PEERS_CELERY_MYSQL_URL")
PEER = "celery-sqla" if MYSQL_URL else "celery"

app = Celery("celery_bench", broker=f"sqla+{MYSQL_URL}" if MYSQL_URL else peerlib.REDIS_URL)
app.conf.update(
    task_default_queue=peerlib.QUEUE,
    broker_connection_retry_on_startup=True,
    worker_hijack_root_logger=False,
)
# On Redis: solo runs one task at a time, so -c 1: prefetch is the default
# 4 x 1 (more prefetch measured no faster). On MariaDB: Celery's default,
# prefork with a process a core: until a worker process has forked, the
# database backend opens a new connection for every result (NullPool).
POOL = ["-P", "prefork", "-c", "2"] if MYSQL_URL else ["-P", "solo", "-c", "1"]

if MYSQL_URL:
    app.conf.update(result_backend=f"db+{MYSQL_URL}")
    # The transport sleeps this long whenever it finds the queue empty (1 s
    # by default): at the start and whenever the worker catches up with the
    # producer. broker_transport_options cannot set it here: the SQLAlchemy
    # transport hands every option to create_engine, which rejects it.
    kombu.transport.sqlalchemy.Transport.polling_interval = 0.01
else:
    app.conf.update(task_ignore_result=True, result_backend=None)


@app.task(name="peers.noop", ignore_result=not MYSQL_URL)
def noop():
    peerlib.done_counter.add()


@worker_ready.connect
def mark_ready(**_):
    redis.Redis.from_url(peerlib.REDIS_URL, socket_timeout=10).set(peerlib.READY_KEY, os.getpid())


# --- driver ------------------------------------------------------------------


def start_worker(pidfile, log):
    """The worker, in a process group of its own (peerlib.start_workers)."""
    command = [
        sys.executable, "-m", "celery", "--quiet", "-A", "celery_bench", "worker",
        *POOL, "-Q", peerlib.QUEUE, "-l", "WARNING",
        # cluster chatter (events between workers), not part of running a task
        "--without-gossip", "--without-mingle", "--without-heartbeat",
    ]
    return peerlib.start_workers([command], pidfile, log)


def send_all(tasks):
    """One producer connection, one message per task. Celery's Redis transport
    has no bulk publish: send_task, apply_async and group(...).apply_async()
    in chunks of 500 all make one LPUSH a message and measured the same
    (1,900-2,300/s alone); send_task with one producer is the plainest."""
    with app.producer_or_acquire() as producer:
        for _ in range(tasks):
            app.send_task("peers.noop", queue=peerlib.QUEUE, producer=producer, ignore_result=not MYSQL_URL)


if __name__ == "__main__":
    peerlib.main(NAME, lambda: peerlib.run(
        NAME, PEER, __doc__, start_worker,
        booted=lambda client: client.exists(peerlib.READY_KEY), send_all=send_all))
