"""Paths, ports and small helpers shared by the chaos harness (servers,
nodes, waits and child processes come from the shared test kit,
testkit/batontest, put on sys.path by chaos/run.py)."""

import os
import sys
from pathlib import Path

from batontest.childenv import child_env  # noqa: F401 - re-exported for chaoslib
from batontest.keys import RedisKeys
from batontest.nodes import numbered
from batontest.paths import REPO, node_bin
from batontest.progress import Progress
from batontest.services import DevServices
from batontest.waits import wait_until  # noqa: F401 - re-exported for chaoslib

CHAOS = REPO / "chaos"
RUN_DIR = Path(os.environ.get("CHAOS_RUN_DIR", REPO / ".run" / "chaos"))
LOG_DIR = RUN_DIR / "logs"
PID_DIR = RUN_DIR / "pids"

SERVICES = DevServices(RUN_DIR, 6395, 3395, LOG_DIR)  # database `baton`, created by scripts/dev-services.sh
REDIS_PORT = SERVICES.redis_port
MYSQL_PORT = SERVICES.mysql_port
MYSQL_DB = SERVICES.database
KEYS = RedisKeys()  # the nodes' default namespace, `baton`

NODE_BIN = node_bin()
GRPC_PORT = numbered(19090)
HTTP_PORT = numbered(18080)

REDIS_URL = SERVICES.redis_url
MYSQL_URL = SERVICES.mysql_url

_progress = Progress(LOG_DIR / "chaos.log")


def log(message):
    """A timestamped progress line (seconds since the harness started)."""
    _progress.log(message)


def say(message=""):
    """A plain line of the report."""
    _progress.say(message)


def die(message):
    print(f"chaos: {message}", file=sys.stderr, flush=True)
    raise SystemExit(2)
