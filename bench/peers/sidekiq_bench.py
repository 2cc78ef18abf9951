"""Sidekiq, end to end: N noop jobs through Redis to 2 processes x 5 threads.

    PEERS_REDIS_URL=redis://127.0.0.1:6396/0 python bench/peers/sidekiq_bench.py [--tasks 20000]

The driver (this file) starts the Sidekiq processes (`sidekiq -r
./sidekiq_jobs.rb`), waits until each has sent its first heartbeat, starts
the producer (`ruby sidekiq_send.rb N`: Ruby and Sidekiq loaded before the
clock starts), lets it push the jobs, waits until the workers have executed
all of them, stops them and prints

    PEER sidekiq tasks=N e2e_per_s=N seconds=S send_per_s=N cpu_ms_per_task=… (peerlib.run)

Setup (docs/benchmarks.md says why it is fair): Sidekiq's default fetch (a
BRPOP a job), job logging at WARN (no line a job), 2 processes (MRI runs
one thread at a time: a process a core) x 5 threads, JSON jobs without
arguments, the producer's `Sidekiq::Client.push_bulk` of 1,000. The end is
seen through a counter each process adds to Redis from a thread every 5 ms.
"""

import os
import subprocess

import peerlib

PROCESSES, THREADS = 2, 5
NAME = "sidekiq_bench"

producer = None


def start_worker(pidfile, log):
    """The Sidekiq processes, in a process group of their own (peerlib.start_workers)."""
    command = ["sidekiq", "-r", "./sidekiq_jobs.rb", "-q", peerlib.QUEUE, "-c", str(THREADS),
               "-e", "production", "-t", "10"]
    return peerlib.start_workers([command] * PROCESSES, pidfile, log)


def prepare(tasks):
    """The producer, loaded and connected, waiting for the go."""
    global producer
    producer = subprocess.Popen(["ruby", "sidekiq_send.rb", str(tasks)], cwd=peerlib.HERE,
                                env=dict(os.environ, PEERS_REDIS_URL=peerlib.REDIS_URL),
                                stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True)
    if producer.stdout.readline().strip() != "ready":
        raise SystemExit(f"{NAME}: the producer did not start ({producer.wait()})")


def send_all(_tasks):
    producer.stdin.write("go\n")
    producer.stdin.close()
    if producer.wait() != 0:
        raise SystemExit(f"{NAME}: the producer failed ({producer.returncode})")


if __name__ == "__main__":
    peerlib.main(NAME, lambda: peerlib.run(
        NAME, "sidekiq", __doc__, start_worker,
        booted=lambda client: client.scard(peerlib.READY_KEY) >= PROCESSES, send_all=send_all, prepare=prepare))
