"""The REST suite's own servers and node: a private Redis and MariaDB started
by scripts/dev-services.sh under .run/rest (as the chaos suite does, on other
ports), an empty database and Redis, and one baton-node with a key file.
Servers, node and waits come from the shared test kit (testkit/batontest)."""

import os
import secrets
import time
from pathlib import Path

from batontest import procs
from batontest.childenv import child_env  # noqa: F401 - the tests start helpers with it
from batontest.nodes import NodeProcess, kill_leftovers
from batontest.paths import REPO
from batontest.services import DevServices

RUN_DIR = Path(os.environ.get("REST_RUN_DIR", REPO / ".run" / "rest"))
LOG_DIR = RUN_DIR / "logs"
REDIS_PORT = int(os.environ.get("REST_REDIS_PORT", "6398"))
MYSQL_PORT = int(os.environ.get("REST_MYSQL_PORT", "3398"))
GRPC_PORT = int(os.environ.get("REST_GRPC_PORT", "19391"))
HTTP_PORT = int(os.environ.get("REST_HTTP_PORT", "18391"))
SERVICES = DevServices(RUN_DIR, REDIS_PORT, MYSQL_PORT, LOG_DIR)
MYSQL_DB = SERVICES.database
PIDFILE = RUN_DIR / "node.pid"
# WatchTask streams one key may hold open: small, so the limit is cheap to reach.
MAX_WATCHES_PER_KEY = 2


def mysql_root(sql):
    return SERVICES.mysql_root(sql)


class Keys:
    """One key per role in tenant `default`, a submitter and a viewer in
    tenant `other`, and a viewer used only to reach the per-key watch limit."""

    def __init__(self):
        self.admin = "adm-" + secrets.token_urlsafe(18)
        self.submitter = "sub-" + secrets.token_urlsafe(18)
        self.viewer = "vie-" + secrets.token_urlsafe(18)
        self.other = "oth-" + secrets.token_urlsafe(18)
        self.other_viewer = "ovi-" + secrets.token_urlsafe(18)
        self.watcher = "wat-" + secrets.token_urlsafe(18)
        # HS256 secret of the JWTs the node accepts beside the keys.
        self.jwt_secret = secrets.token_hex(32)

    def file_text(self):
        return "\n".join([
            "# written by tests/rest/harness.py",
            f"ops admin {self.admin}",
            f"ci submitter {self.submitter} default",
            f"dash viewer {self.viewer}",
            f"other-sub submitter {self.other} other",
            f"other-view viewer {self.other_viewer} other",
            f"watcher viewer {self.watcher}",
        ]) + "\n"

    # key id, role, tenant as whoami should answer them
    def identities(self):
        return {self.admin: ("ops", "admin", "default"), self.submitter: ("ci", "submitter", "default"),
                self.viewer: ("dash", "viewer", "default"), self.other: ("other-sub", "submitter", "other"),
                self.other_viewer: ("other-view", "viewer", "other"), self.watcher: ("watcher", "viewer", "default")}


def write_secret(path, text):
    """A file only this user can read, written anew."""
    path.unlink(missing_ok=True)
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(fd, "w") as f:
        f.write(text)


class Node(NodeProcess):
    def __init__(self, keys):
        self.keys = keys
        self.key_file = RUN_DIR / "api-keys"
        self.secret_file = RUN_DIR / "jwt-secret"
        super().__init__("rest-1", GRPC_PORT, HTTP_PORT, SERVICES.redis_url, SERVICES.mysql_url,
                         LOG_DIR / "node.log", LOG_DIR / "files", pidfile=PIDFILE, label="rest-tests",
                         flags=["--api-keys-file", str(self.key_file), "--jwt-hs256-secret-file", str(self.secret_file),
                                "--max-watches-per-key", str(MAX_WATCHES_PER_KEY), "--grace-period", "1",
                                "--capacity", "8"])

    def start(self):
        if not os.path.exists(self.binary):
            raise RuntimeError(f"{self.binary} does not exist: swift build --product baton-node, or set BATON_NODE_BIN")
        write_secret(self.key_file, self.keys.file_text())
        write_secret(self.secret_file, self.keys.jwt_secret + "\n")
        super().start(header=f"===== rest-tests: {' '.join(self.argv())} at {time.strftime('%H:%M:%S')} =====")
        self.wait_ready(90, tail_lines=30)

    def stop(self):
        return super().stop(grace=15)


def start():
    """Servers up, empty, node started. Returns (keys, node)."""
    # A SIGTERM (a CI time limit) unwinds through the fixtures' teardown, which stops the node.
    procs.interrupt_on_signals()
    kill_leftovers([PIDFILE], [GRPC_PORT])
    SERVICES.start(timeout=300)
    SERVICES.reset()
    keys = Keys()
    node = Node(keys)
    node.start()
    return keys, node


def stop(node):
    if node is not None:
        node.stop()
    if os.environ.get("REST_KEEP"):
        return
    try:
        SERVICES.stop(timeout=120)
    except Exception as error:  # cleanup goes on
        print(f"rest-tests: stopping the private servers: {error}")
