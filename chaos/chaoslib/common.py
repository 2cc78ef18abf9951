"""Paths, ports and small helpers shared by the chaos harness."""

import os
import sys
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]
CHAOS = REPO / "chaos"
RUN_DIR = Path(os.environ.get("CHAOS_RUN_DIR", REPO / ".run" / "chaos"))
LOG_DIR = RUN_DIR / "logs"
PID_DIR = RUN_DIR / "pids"

REDIS_PORT = 6395
MYSQL_PORT = 3395
MYSQL_PASSWORD = os.environ.get("BATON_MYSQL_PASSWORD") or "baton-dev-password"
MYSQL_DB = "baton"  # created by scripts/dev-services.sh (with baton_test)
NAMESPACE = "baton"  # the nodes' default Redis key prefix

NODE_BIN = os.environ.get("BATON_NODE_BIN") or str(REPO / ".build" / "debug" / "baton-node")
GRPC_PORT = {n: 19090 + n for n in (1, 2, 3)}
HTTP_PORT = {n: 18080 + n for n in (1, 2, 3)}

REDIS_URL = f"redis://127.0.0.1:{REDIS_PORT}/0"
MYSQL_URL = f"mysql://baton:{MYSQL_PASSWORD}@127.0.0.1:{MYSQL_PORT}/{MYSQL_DB}"

_T0 = time.time()
_summary = None


def log(message):
    """A timestamped progress line (seconds since the harness started)."""
    line = f"[{time.time() - _T0:7.1f}s] {message}"
    print(line, flush=True)
    _append(line)


def say(message=""):
    """A plain line of the report."""
    print(message, flush=True)
    _append(message)


def _append(line):
    global _summary
    try:
        if _summary is None:
            LOG_DIR.mkdir(parents=True, exist_ok=True)
            _summary = open(LOG_DIR / "chaos.log", "a", buffering=1)
        _summary.write(line + "\n")
    except OSError:
        pass


def child_env(**extra):
    """The environment for child processes: never another cluster's servers."""
    env = dict(os.environ)
    for name in ("REDIS_ADDR", "MYSQL_DSN", "BATON_API_KEYS_FILE", "LD_PRELOAD", "FAKETIME"):
        env.pop(name, None)
    env.update(extra)
    return env


class Deadline:
    def __init__(self, seconds):
        self.end = time.monotonic() + seconds

    def left(self):
        return self.end - time.monotonic()

    def passed(self):
        return time.monotonic() >= self.end


def wait_until(predicate, seconds, interval=0.2, what="condition"):
    """Polls predicate() until truthy; returns its value, or None at the deadline."""
    deadline = Deadline(seconds)
    while True:
        try:
            value = predicate()
        except Exception:  # a fault in progress: keep polling until the deadline
            value = None
        if value:
            return value
        if deadline.passed():
            return None
        time.sleep(min(interval, max(0.01, deadline.left())))


def die(message):
    print(f"chaos: {message}", file=sys.stderr, flush=True)
    raise SystemExit(2)
