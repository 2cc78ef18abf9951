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

import argparse
import os
import signal
import subprocess
import sys
import time

import redis
from peerlib import DoneCounter, stop_worker, wait_until
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


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--tasks", type=int, default=20000)
    parser.add_argument("--timeout", type=float, default=300, help="seconds for the whole run")
    parser.add_argument("--pidfile", help="where to write the worker's process group id")
    parser.add_argument("--log", help="where the worker's output goes (default: this terminal)")
    args = parser.parse_args()
    # SIGTERM from the caller's time limit: leave through `finally`, stopping the worker.
    signal.signal(signal.SIGTERM, lambda *_: sys.exit("celery_bench: terminated"))

    client = redis.Redis.from_url(REDIS_URL, socket_timeout=10)
    client.delete(DONE_KEY, READY_KEY)
    deadline = time.monotonic() + args.timeout
    worker = start_worker(args.pidfile, args.log)
    try:
        wait_until(NAME, "worker ready", lambda: client.exists(READY_KEY), min(deadline, time.monotonic() + 60), worker)
        start = time.monotonic()
        send_all(args.tasks)
        sent = time.monotonic()
        wait_until(NAME, f"{args.tasks} tasks executed",
                   lambda: int(client.get(DONE_KEY) or 0) >= args.tasks, deadline, worker)
        seconds = time.monotonic() - start
    finally:
        stop_worker(worker, args.pidfile)
    print(f"PEER celery tasks={args.tasks} e2e_per_s={args.tasks / seconds:.0f} "
          f"seconds={seconds:.2f} send_per_s={args.tasks / (sent - start):.0f}", flush=True)


if __name__ == "__main__":
    try:
        main()
    except KeyboardInterrupt:  # Ctrl-C: the worker was stopped on the way out
        sys.exit("celery_bench: interrupted")
