"""What the peers' benchmarks share: counting executions cheaply, starting
and stopping the worker processes as one group, waiting for a condition with
a time limit, the measured run itself (tasks/s and CPU per task). Imported by
the drivers and by the Python worker processes (PYTHONPATH is this folder)."""

import argparse
import os
import signal
import sys
import threading
import time

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(HERE, "..", "..", "testkit"))  # batontest, the shared test kit

import redis  # noqa: E402
from batontest import procs  # noqa: E402

import cpu  # noqa: E402
# A private Redis: the driver deletes its keys; the workers get the URL through the environment.
REDIS_URL = os.environ.get("PEERS_REDIS_URL", "redis://127.0.0.1:6396/0")
QUEUE = "peers"
DONE_KEY = "peers:done"  # executions so far (done_counter)
READY_KEY = "peers:ready"  # set by the workers once they consume


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


# The one counter of this process (each worker process has its own).
done_counter = DoneCounter(REDIS_URL, DONE_KEY)


def start_workers(commands, pidfile, log, env=None):
    """`commands` started in this folder with PYTHONPATH on it, PEERS_REDIS_URL
    and `env` added, in one process group of their own (the test kit's
    ProcessGroup), so that stopping it stops all they started; the group id
    goes to `pidfile`."""
    group = procs.ProcessGroup(commands, log, dict(os.environ, PYTHONPATH=HERE, PEERS_REDIS_URL=REDIS_URL, **(env or {})),
                               HERE)
    if pidfile:
        procs.write_pid(pidfile, f"{group.pid}\n")
    return group


def stop_worker(worker, pidfile):
    """SIGTERM to the worker (a warm shutdown); SIGKILL after 15 s, and to the
    whole process group for anything left behind."""
    worker.stop(grace=15)
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


def run(name, peer, doc, start_worker, booted, send_all, prepare=None):
    """The measured run the peers share: parse the options, start the worker,
    wait until `booted(client)` says it consumes, `prepare()` what must be
    ready before the clock (a producer process), send the tasks, wait until
    every one ran, stop the worker, print the `PEER` line.

    CPU: this process's tree (the producer, the worker and all they started)
    and each `--cpu-pid` server's, sampled when the clock starts and when the
    last task has run (bench/peers/cpu.py)."""
    parser = argparse.ArgumentParser(description=doc.splitlines()[0])
    parser.add_argument("--tasks", type=int, default=20000)
    parser.add_argument("--timeout", type=float, default=300, help="seconds for the whole run")
    parser.add_argument("--pidfile", help="where to write the worker's process group id")
    parser.add_argument("--log", help="where the worker's output goes (default: this terminal)")
    parser.add_argument("--cpu-pid", type=int, action="append", default=[],
                        help="a server the peer uses (broker, database) whose CPU counts too; repeatable")
    args = parser.parse_args()
    # SIGTERM from the caller's time limit: leave through `finally`, stopping the worker.
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(f"{name}: terminated"))

    client = redis.Redis.from_url(REDIS_URL, socket_timeout=10)
    client.delete(DONE_KEY, READY_KEY)
    deadline = time.monotonic() + args.timeout
    worker = start_worker(args.pidfile, args.log)
    try:
        wait_until(name, "the worker booted", lambda: booted(client), min(deadline, time.monotonic() + 60), worker)
        if prepare:
            prepare(args.tasks)
        roots = [os.getpid()] + args.cpu_pid
        cpu_before = cpu.seconds(roots)
        start = time.monotonic()
        send_all(args.tasks)
        sent = time.monotonic()
        wait_until(name, f"{args.tasks} tasks executed",
                   lambda: int(client.get(DONE_KEY) or 0) >= args.tasks, deadline, worker)
        seconds = time.monotonic() - start
        cpu_after = cpu.seconds(roots)
    finally:
        stop_worker(worker, args.pidfile)
    spent = {root: cpu_after[root] - cpu_before[root] for root in roots}
    own = spent[os.getpid()]
    servers = sum(spent.values()) - own
    print(f"PEER {peer} tasks={args.tasks} e2e_per_s={args.tasks / seconds:.0f} "
          f"seconds={seconds:.2f} send_per_s={args.tasks / (sent - start):.0f} "
          f"cpu_ms_per_task={(own + servers) * 1000 / args.tasks:.3f} cpu_own_s={own:.2f} cpu_servers_s={servers:.2f}",
          flush=True)


def main(name, body):
    """Runs `body`; Ctrl-C ends it with a line (the worker was stopped on the way out)."""
    try:
        body()
    except KeyboardInterrupt:
        sys.exit(f"{name}: interrupted")
