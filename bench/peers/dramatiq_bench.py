"""dramatiq, end to end: N noop tasks through a RedisBroker to 2 processes x 16 threads.

    PEERS_REDIS_URL=redis://127.0.0.1:6396/0 python bench/peers/dramatiq_bench.py [--tasks 20000]

This file is both the driver (run as a script) and the module the worker
imports (`dramatiq dramatiq_bench --processes 2 --threads 16`). The driver
starts the worker, waits until both processes have booted, enqueues the tasks
from one connection, waits until the worker has executed all of them, stops
the worker and prints

    PEER dramatiq tasks=N e2e_per_s=N seconds=S send_per_s=N cpu_ms_per_task=… (peerlib.run)

Setup (docs/benchmarks.md says why it is fair): dramatiq's default middleware
and prefetch (2 x threads per process), JSON messages, no result backend. The
end is seen through a counter each worker process adds to Redis from a
background thread, so counting costs the task no round trip.
"""

import os
import sys

import dramatiq
import redis
import peerlib
from dramatiq.brokers.redis import RedisBroker
from dramatiq.middleware import Middleware

PROCESSES, THREADS = 2, 16
NAME = "dramatiq_bench"


class ReadyMarker(Middleware):
    """Each worker process adds its pid to a set once its consumers run."""

    def after_worker_boot(self, broker, worker):
        redis.Redis.from_url(peerlib.REDIS_URL, socket_timeout=10).sadd(peerlib.READY_KEY, os.getpid())


broker = RedisBroker(url=peerlib.REDIS_URL)
broker.add_middleware(ReadyMarker())
dramatiq.set_broker(broker)


@dramatiq.actor(actor_name="peers_noop", queue_name=peerlib.QUEUE)
def noop():
    peerlib.done_counter.add()


# --- driver ------------------------------------------------------------------


def start_worker(pidfile, log):
    """The worker, in a process group of its own (peerlib.start_workers)."""
    command = [
        sys.executable, "-m", "dramatiq", "dramatiq_bench",
        "--processes", str(PROCESSES), "--threads", str(THREADS),
        "--path", peerlib.HERE, "--queues", peerlib.QUEUE,
        # idle threads stop at once; the default allows 10 minutes
        "--worker-shutdown-timeout", "10000",
    ]
    return peerlib.start_workers([command], pidfile, log)


def send_all(tasks):
    """One message per task through the broker's one connection pool. The
    RedisBroker has no bulk enqueue: actor.send and group(...).run() both run
    its enqueue script once a message; send is the plainest."""
    for _ in range(tasks):
        noop.send()


if __name__ == "__main__":
    peerlib.main(NAME, lambda: peerlib.run(
        NAME, "dramatiq", __doc__, start_worker,
        booted=lambda client: client.scard(peerlib.READY_KEY) >= PROCESSES, send_all=send_all))
