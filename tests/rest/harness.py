"""The REST suite's own servers and node: a private Redis and MariaDB started
by scripts/dev-services.sh under .run/rest (as the chaos suite does, on other
ports), an empty database and Redis, and one baton-node with a key file."""

import os
import secrets
import signal
import subprocess
import time
import urllib.request
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]
RUN_DIR = Path(os.environ.get("REST_RUN_DIR", REPO / ".run" / "rest"))
LOG_DIR = RUN_DIR / "logs"
REDIS_PORT = int(os.environ.get("REST_REDIS_PORT", "6398"))
MYSQL_PORT = int(os.environ.get("REST_MYSQL_PORT", "3398"))
GRPC_PORT = int(os.environ.get("REST_GRPC_PORT", "19391"))
HTTP_PORT = int(os.environ.get("REST_HTTP_PORT", "18391"))
MYSQL_PASSWORD = os.environ.get("BATON_MYSQL_PASSWORD") or "baton-dev-password"
MYSQL_DB = "baton"
NODE_BIN = os.environ.get("BATON_NODE_BIN") or str(REPO / ".build" / "debug" / "baton-node")
REDIS_URL = f"redis://127.0.0.1:{REDIS_PORT}/0"
MYSQL_URL = f"mysql://baton:{MYSQL_PASSWORD}@127.0.0.1:{MYSQL_PORT}/{MYSQL_DB}"
# WatchTask streams one key may hold open: small, so the limit is cheap to reach.
MAX_WATCHES_PER_KEY = 2


def child_env(**extra):
    """Never another cluster's servers or keys."""
    env = dict(os.environ)
    for name in ("REDIS_ADDR", "MYSQL_DSN", "BATON_API_KEYS_FILE", "LD_PRELOAD", "FAKETIME"):
        env.pop(name, None)
    env.update(extra)
    return env


def dev_services(*args, timeout=300):
    LOG_DIR.mkdir(parents=True, exist_ok=True)
    env = child_env(BATON_RUN_DIR=str(RUN_DIR), BATON_REDIS_PORT=str(REDIS_PORT),
                    BATON_MYSQL_PORT=str(MYSQL_PORT), BATON_MYSQL_PASSWORD=MYSQL_PASSWORD)
    with open(LOG_DIR / "dev-services.log", "a") as out:
        out.write(f"--- dev-services.sh {' '.join(args)} at {time.strftime('%H:%M:%S')}\n")
        out.flush()
        result = subprocess.run([str(REPO / "scripts" / "dev-services.sh"), *args], env=env, stdout=out, stderr=out,
                                stdin=subprocess.DEVNULL, timeout=timeout, start_new_session=True)
    if result.returncode != 0:
        raise RuntimeError(f"scripts/dev-services.sh {' '.join(args)} failed; see {LOG_DIR / 'dev-services.log'}")


def mysql_root(sql):
    socket_path = RUN_DIR / "mysql" / "mysqld.sock"
    result = subprocess.run(["mariadb", "--no-defaults", f"--socket={socket_path}", "-uroot", "-N", "-e", sql],
                            capture_output=True, text=True, timeout=60, stdin=subprocess.DEVNULL)
    if result.returncode != 0:
        raise RuntimeError(f"mariadb: {result.stderr.strip()}")
    return result.stdout


def redis_cli(*args):
    result = subprocess.run(["redis-cli", "-p", str(REDIS_PORT), *args], capture_output=True, text=True, timeout=10,
                            stdin=subprocess.DEVNULL)
    if result.returncode != 0:
        raise RuntimeError(f"redis-cli {' '.join(args)}: {result.stderr.strip()}")
    return result.stdout


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


class Node:
    def __init__(self, keys):
        self.keys = keys
        self.proc = None
        self.log_path = LOG_DIR / "node.log"
        self.base = f"http://127.0.0.1:{HTTP_PORT}"
        self.grpc_target = f"127.0.0.1:{GRPC_PORT}"

    def start(self):
        if not os.path.exists(NODE_BIN):
            raise RuntimeError(f"{NODE_BIN} does not exist: swift build --product baton-node, or set BATON_NODE_BIN")
        key_file = RUN_DIR / "api-keys"
        key_file.unlink(missing_ok=True)
        fd = os.open(key_file, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        with os.fdopen(fd, "w") as f:
            f.write(self.keys.file_text())
        secret_file = RUN_DIR / "jwt-secret"
        secret_file.unlink(missing_ok=True)
        fd = os.open(secret_file, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        with os.fdopen(fd, "w") as f:
            f.write(self.keys.jwt_secret + "\n")
        (LOG_DIR / "files").mkdir(parents=True, exist_ok=True)
        argv = [NODE_BIN, "--id", "rest-1", "--grpc-port", str(GRPC_PORT), "--worker-port", str(HTTP_PORT),
                "--redis", REDIS_URL, "--mysql", MYSQL_URL, "--migrations", str(REPO / "sql"),
                "--log-dir", str(LOG_DIR / "files"), "--api-keys-file", str(key_file),
                "--jwt-hs256-secret-file", str(secret_file),
                "--max-watches-per-key", str(MAX_WATCHES_PER_KEY), "--grace-period", "1", "--capacity", "8"]
        with open(self.log_path, "ab") as out:
            out.write(f"===== rest-tests: {' '.join(argv)} at {time.strftime('%H:%M:%S')} =====\n".encode())
            out.flush()
            self.proc = subprocess.Popen(argv, env=child_env(REDIS_ADDR=REDIS_URL, MYSQL_DSN=MYSQL_URL), stdout=out,
                                         stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL, cwd=str(REPO),
                                         start_new_session=True)
        (RUN_DIR / "node.pid").write_text(str(self.proc.pid))
        deadline = time.monotonic() + 90
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                raise RuntimeError(f"baton-node exited ({self.proc.returncode}); see {self.log_path}:\n{self.tail()}")
            try:
                with urllib.request.urlopen(self.base + "/ready", timeout=1) as response:
                    if response.status == 200:
                        return
            except Exception:
                pass
            time.sleep(0.1)
        raise RuntimeError(f"baton-node not ready within 90 s; see {self.log_path}:\n{self.tail()}")

    def tail(self, lines=30):
        try:
            return "\n".join(self.log_path.read_text(errors="replace").splitlines()[-lines:])
        except OSError:
            return ""

    def stop(self):
        if self.proc is None or self.proc.poll() is not None:
            return
        self.proc.send_signal(signal.SIGTERM)
        try:
            self.proc.wait(timeout=15)
        except subprocess.TimeoutExpired:
            self.proc.send_signal(signal.SIGKILL)
            self.proc.wait(timeout=10)
        (RUN_DIR / "node.pid").unlink(missing_ok=True)


def kill_leftover_node():
    """A node an earlier run left (a harness killed hard): by pid file, only if it still is a baton-node."""
    pidfile = RUN_DIR / "node.pid"
    try:
        pid = int(pidfile.read_text().strip())
        cmdline = Path(f"/proc/{pid}/cmdline").read_bytes().split(b"\0")
    except (OSError, ValueError):
        pidfile.unlink(missing_ok=True)
        return
    if cmdline and cmdline[0].endswith(b"baton-node") and str(GRPC_PORT).encode() in cmdline:
        os.kill(pid, signal.SIGKILL)
        time.sleep(0.5)
    pidfile.unlink(missing_ok=True)


def start():
    """Servers up, empty, node started. Returns (keys, node)."""
    kill_leftover_node()
    dev_services("start")
    if not (RUN_DIR / "redis" / "redis.pid").exists() or not (RUN_DIR / "mysql" / "mysqld.pid").exists():
        raise RuntimeError(f"no private Redis/MariaDB pid files under {RUN_DIR} (is something else on {REDIS_PORT}/{MYSQL_PORT}?)")
    redis_cli("FLUSHALL")
    mysql_root(f"DROP DATABASE IF EXISTS {MYSQL_DB}; CREATE DATABASE {MYSQL_DB} CHARACTER SET utf8mb4 COLLATE utf8mb4_bin;")
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
        dev_services("stop", timeout=120)
    except Exception as error:  # cleanup goes on
        print(f"rest-tests: stopping the private servers: {error}")
