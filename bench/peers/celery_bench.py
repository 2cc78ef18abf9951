"""Celery 5, end to end: N noop tasks through a Redis broker to one solo worker.

    PEERS_REDIS_URL=redis://127.0.0.1:6396/0 python bench/peers/celery_bench.py [--tasks 20000]

This file is both the driver (run as a script) and the Celery app the worker
imports (`celery -A celery_bench worker`). The driver starts the worker, waits
until it is ready, sends the tasks from one producer connection, waits until
the worker has executed all of them, stops the worker and prints

    PEER celery tasks=N e2e_per_s=N seconds=S send_per_s=N

Setup (docs/benchmarks.md says why it is fair): pool solo (one process, tasks
run inline in the worker's event loop), prefetch 4 (the default multiplier x 1),
no result backend, JSON messages. The end is seen through a counter the worker adds to Redis from
a background thread, so counting costs the task no round trip.
"""

import os
import subprocess
import sys

import redis
import peerlib
from peerlib import DoneCounter
from celery import Celery
from celery.signals import worker_ready

HERE = os.path.dirname(os.path.abspath(__file__))
# A private Redis: the driver deletes its keys; the worker gets the URL through the environment.
REDIS_URL = os.environ.get("PEERS_REDIS_URL", "redis://127.0.0.1:6396/0")
QUEUE = "peers"
NAME = "celery_bench"
DONE_KEY = "peers:done"
READY_KEY = "peers:ready"

app = Celery("celery_bench", broker=REDIS_URL)
app.conf.update(
    task_ignore_result=True,
    result_backend=None,
    task_default_queue=QUEUE,
    broker_connection_retry_on_startup=True,
    worker_hijack_root_logger=False,
)


done_counter = DoneCounter(REDIS_URL, DONE_KEY)


@app.task(name="peers.noop", ignore_result=True)
def noop():
    done_counter.add()


@worker_ready.connect
def mark_ready(**_):
    redis.Redis.from_url(REDIS_URL, socket_timeout=10).set(READY_KEY, os.getpid())


# --- driver ------------------------------------------------------------------


def start_worker(pidfile, log):
    """The worker in a session of its own, so that stopping it stops all it started."""
    command = [
        sys.executable, "-m", "celery", "--quiet", "-A", "celery_bench", "worker",
        # solo runs one task at a time, so -c 1: prefetch is the default 4 x 1
        # (more prefetch measured no faster)
        "-P", "solo", "-c", "1", "-Q", QUEUE, "-l", "WARNING",
        # cluster chatter (events between workers), not part of running a task
        "--without-gossip", "--without-mingle", "--without-heartbeat",
    ]
    env = dict(os.environ, PEERS_REDIS_URL=REDIS_URL, PYTHONPATH=HERE)
    output = open(log, "ab") if log else None
    worker = subprocess.Popen(command, cwd=HERE, env=env, start_new_session=True,
                              stdout=output, stderr=output)
    if pidfile:
        with open(pidfile, "w") as f:
            f.write(f"{worker.pid}\n")
    return worker


def send_all(tasks):
    """One producer connection, one message per task. Celery's Redis transport
    has no bulk publish: send_task, apply_async and group(...).apply_async()
    in chunks of 500 all make one LPUSH a message and measured the same
    (1,900-2,300/s alone); send_task with one producer is the plainest."""
    with app.producer_or_acquire() as producer:
        for _ in range(tasks):
            app.send_task("peers.noop", queue=QUEUE, producer=producer, ignore_result=True)


if __name__ == "__main__":
    peerlib.main(NAME, lambda: peerlib.run(
        NAME, "celery", __doc__, REDIS_URL, DONE_KEY, READY_KEY, start_worker,
        booted=lambda client: client.exists(READY_KEY), send_all=send_all))
