"""What the peers' benchmarks share: counting executions cheaply, waiting
for a condition with a time limit, stopping a worker and its process group.
Imported by the drivers and by the worker processes (PYTHONPATH is this folder)."""

import argparse
import os
import signal
import subprocess
import sys
import threading
import time

import redis


class DoneCounter:
    """Executions counted in memory and added to a Redis key every 5 ms by a
    daemon thread: an INCR per task would put a round trip on every task."""

    def __init__(self, url, key):
        self._url, self._key = url, key
        self._lock = threading.Lock()
        self._done = 0
        self._thread = None

    def add(self):
        with self._lock:
            self._done += 1
            if self._thread is None:  # started in the (forked) process that runs tasks
                self._thread = threading.Thread(target=self._flush_forever, daemon=True)
                self._thread.start()

    def _flush_forever(self):
        client = redis.Redis.from_url(self._url, socket_timeout=10)
        sent = 0
        while True:
            time.sleep(0.005)
            done = self._done
            if done != sent:
                client.incrby(self._key, done - sent)
                sent = done



def stop_worker(worker, pidfile):
    """SIGTERM to the worker (a warm shutdown); SIGKILL after 15 s, and to the
    whole process group for anything left behind."""
    if worker.poll() is None:
        worker.terminate()
        try:
            worker.wait(timeout=15)
        except subprocess.TimeoutExpired:
            worker.kill()
            worker.wait(timeout=5)
    try:
        os.killpg(worker.pid, signal.SIGKILL)
    except ProcessLookupError:
        pass
    if pidfile and os.path.exists(pidfile):
        os.remove(pidfile)


def wait_until(name, what, predicate, deadline, worker):
    """Polls `predicate` every 5 ms; exits with a message (`name`: the
    benchmark) if the worker ends or the deadline passes first."""
    while not predicate():
        if worker.poll() is not None:
            sys.exit(f"{name}: the worker exited ({worker.returncode}) while waiting for {what}")
        if time.monotonic() > deadline:
            sys.exit(f"{name}: FAILED: {what} not reached within the time limit")
        time.sleep(0.005)


def run(name, peer, doc, url, done_key, ready_key, start_worker, booted, send_all):
    """The measured run both peers share: parse the options, start the worker,
    wait until `booted(client)` says it consumes, send the tasks, wait until
    every one ran, stop the worker, print the `PEER` line."""
    parser = argparse.ArgumentParser(description=doc.splitlines()[0])
    parser.add_argument("--tasks", type=int, default=20000)
    parser.add_argument("--timeout", type=float, default=300, help="seconds for the whole run")
    parser.add_argument("--pidfile", help="where to write the worker's process group id")
    parser.add_argument("--log", help="where the worker's output goes (default: this terminal)")
    args = parser.parse_args()
    # SIGTERM from the caller's time limit: leave through `finally`, stopping the worker.
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(f"{name}: terminated"))

    client = redis.Redis.from_url(url, socket_timeout=10)
    client.delete(done_key, ready_key)
    deadline = time.monotonic() + args.timeout
    worker = start_worker(args.pidfile, args.log)
    try:
        wait_until(name, "the worker booted", lambda: booted(client), min(deadline, time.monotonic() + 60), worker)
        start = time.monotonic()
        send_all(args.tasks)
        sent = time.monotonic()
        wait_until(name, f"{args.tasks} tasks executed",
                   lambda: int(client.get(done_key) or 0) >= args.tasks, deadline, worker)
        seconds = time.monotonic() - start
    finally:
        stop_worker(worker, args.pidfile)
    print(f"PEER {peer} tasks={args.tasks} e2e_per_s={args.tasks / seconds:.0f} "
          f"seconds={seconds:.2f} send_per_s={args.tasks / (sent - start):.0f}", flush=True)


def main(name, body):
    """Runs `body`; Ctrl-C ends it with a line (the worker was stopped on the way out)."""
    try:
        body()
    except KeyboardInterrupt:
        sys.exit(f"{name}: interrupted")
