"""Three baton-node processes started by the harness (never scripts/cluster.sh,
whose ports are fixed): kill -9, restart with the same command line, clock
skew through libfaketime (LD_PRELOAD, so the pid is the node's own)."""

import glob
import os
import signal
import subprocess
import threading
import time
import urllib.request
from pathlib import Path

from .common import (GRPC_PORT, HTTP_PORT, LOG_DIR, MYSQL_URL, NODE_BIN, PID_DIR, REDIS_URL, REPO, child_env, log,
                     wait_until)

FAKETIME_LIBS = [
    "/usr/lib/x86_64-linux-gnu/faketime/libfaketimeMT.so.1",
    "/usr/lib/aarch64-linux-gnu/faketime/libfaketimeMT.so.1",
    "/usr/lib/faketime/libfaketimeMT.so.1",
    "/usr/local/lib/faketime/libfaketimeMT.so.1",
]


def faketime_lib():
    for path in FAKETIME_LIBS + glob.glob("/usr/lib/*/faketime/libfaketimeMT.so.1"):
        if os.path.exists(path):
            return path
    return None


def ready(n, timeout=1.0):
    try:
        with urllib.request.urlopen(f"http://127.0.0.1:{HTTP_PORT[n]}/ready", timeout=timeout) as response:
            return response.status == 200
    except Exception:
        return False


class Node:
    def __init__(self, n, skew=None, extra_args=()):
        self.n = n
        self.id = f"server-{n}"
        self.skew = skew  # e.g. "+30s", "-30s": libfaketime offset of the realtime clock
        self.extra_args = list(extra_args)
        self.proc = None
        self.log_path = LOG_DIR / f"{self.id}.log"
        self.lock = threading.RLock()
        self.stopping = False
        self.exits = []  # (time, exit code) of exits nobody asked for
        self.frozen = False  # SIGSTOPped by the harness

    def argv(self):
        return [NODE_BIN, "--id", self.id, "--grpc-port", str(GRPC_PORT[self.n]),
                "--worker-port", str(HTTP_PORT[self.n]), "--redis", REDIS_URL, "--mysql", MYSQL_URL,
                "--migrations", str(REPO / "sql"), "--log-dir", str(LOG_DIR / "files"), *self.extra_args]

    def env(self):
        # REDIS_ADDR / MYSQL_DSN name the private servers too: a node that lost
        # its flags must never fall back to the default (someone else's) ones.
        env = child_env(REDIS_ADDR=REDIS_URL, MYSQL_DSN=MYSQL_URL)
        if not self.skew:
            return env
        lib = faketime_lib()
        if lib is None:
            raise RuntimeError("libfaketime not found: apt-get install faketime (scripts/dev-services.sh install)")
        # Only the wall clock is skewed (as on another machine); monotonic clocks stay true.
        env.update(LD_PRELOAD=lib, FAKETIME=self.skew, FAKETIME_DONT_FAKE_MONOTONIC="1", FAKETIME_DISABLE_SHM="1")
        return env

    def command(self):
        if not self.skew:
            return self.argv()
        # Exec'd straight from Python with libfaketime preloaded, the Swift
        # binary loses its arguments (and the fake clock); through a shell's
        # `exec` it keeps both, and the pid is still the node's own.
        return ["/bin/sh", "-c", 'exec "$0" "$@"', *self.argv()]

    def start(self):
        self.stopping = False
        LOG_DIR.mkdir(parents=True, exist_ok=True)
        (LOG_DIR / "files").mkdir(parents=True, exist_ok=True)
        PID_DIR.mkdir(parents=True, exist_ok=True)
        out = open(self.log_path, "ab")
        try:
            self.proc = subprocess.Popen(self.command(), env=self.env(), stdout=out, stderr=subprocess.STDOUT,
                                         stdin=subprocess.DEVNULL, cwd=str(REPO), start_new_session=True)
        finally:
            out.close()
        (PID_DIR / f"{self.id}.pid").write_text(str(self.proc.pid))
        return self.proc.pid

    def alive(self):
        return self.proc is not None and self.proc.poll() is None

    def mark(self, text):
        with open(self.log_path, "a") as out:
            out.write(f"===== chaos: {text} at {time.strftime('%H:%M:%S')} =====\n")

    def kill9(self):
        """SIGKILL, reaped. Returns the instant of the kill (time.time())."""
        with self.lock:
            instant = time.time()
            if self.alive():
                self.proc.send_signal(signal.SIGKILL)
                self.proc.wait(timeout=10)
            return instant

    def kill9_restart(self):
        """kill -9, then the same command line at once. Returns (kill instant, gap s)."""
        with self.lock:
            instant = self.kill9()
            self.start()
            return instant, time.time() - instant

    def freeze(self):
        """SIGSTOP: the node stays up but does nothing (as a VM paused or a
        process stalled in swap). Returns the instant (time.time())."""
        with self.lock:
            instant = time.time()
            self.proc.send_signal(signal.SIGSTOP)
            self.frozen = True
            return instant

    def thaw(self):
        """SIGCONT (safe to call when not frozen). Returns the instant."""
        with self.lock:
            instant = time.time()
            if self.frozen and self.alive():
                self.proc.send_signal(signal.SIGCONT)
            self.frozen = False
            return instant

    def supervise(self):
        """Like a process supervisor: a node that exited on its own is noted and started again."""
        with self.lock:
            if self.stopping or self.proc is None or self.proc.poll() is None:
                return None
            code = self.proc.returncode
            self.exits.append((time.time(), code))
            self.mark(f"exited on its own (code {code}); started again")
            self.start()
            return code

    def stop(self, grace=5.0):
        """SIGTERM (graceful), SIGKILL after `grace` seconds."""
        self.stopping = True
        if not self.alive():
            return
        self.thaw()  # a SIGSTOPped node would sit out its grace period
        self.proc.send_signal(signal.SIGTERM)
        try:
            self.proc.wait(timeout=grace)
        except subprocess.TimeoutExpired:
            self.proc.send_signal(signal.SIGKILL)
            self.proc.wait(timeout=10)

    def wait_ready(self, seconds=60):
        ok = wait_until(lambda: ready(self.n) or (not self.alive() and "exited"), seconds, interval=0.1)
        if ok != True:  # noqa: E712 - "exited" is truthy too
            tail = self.tail(15)
            raise RuntimeError(f"{self.id} not ready within {seconds}s "
                               f"({'exited ' + str(self.proc.returncode) if not self.alive() else 'no 200 from /ready'})"
                               f"; last lines of {self.log_path}:\n{tail}")

    def tail(self, lines):
        try:
            text = self.log_path.read_text(errors="replace").splitlines()
        except OSError:
            return ""
        return "\n".join("    " + line for line in text[-lines:])

    def log_offset(self):
        try:
            return self.log_path.stat().st_size
        except OSError:
            return 0

    def log_since(self, offset):
        try:
            with open(self.log_path, "rb") as f:
                f.seek(offset)
                return f.read().decode(errors="replace")
        except OSError:
            return ""


class Cluster:
    def __init__(self, skews=None, extra_args=(), node_args=None):
        """extra_args: flags for every node; node_args: {n: flags} for one."""
        skews = skews or {}
        node_args = node_args or {}
        self.nodes = {n: Node(n, skews.get(n), [*extra_args, *node_args.get(n, ())]) for n in (1, 2, 3)}

    def start(self, order=(1, 2, 3), first_leader_check=None):
        """Starts the nodes in `order`; with first_leader_check, waits after the
        first node for that callable to return true (e.g. it leads)."""
        for i, n in enumerate(order):
            self.nodes[n].start()
            if i == 0 and first_leader_check is not None:
                self.nodes[n].wait_ready()
                if not wait_until(first_leader_check, 30, interval=0.2):
                    raise RuntimeError(f"server-{n} did not become leader within 30s")
        for n in order:
            self.nodes[n].wait_ready()

    def start_supervisor(self):
        self._stop_supervisor = threading.Event()

        def loop():
            while not self._stop_supervisor.wait(0.5):
                for node in self.nodes.values():
                    code = node.supervise()
                    if code is not None:
                        log(f"  {node.id} exited on its own (code {code}); started again")

        self._supervisor = threading.Thread(target=loop, daemon=True)
        self._supervisor.start()

    def stop_supervisor(self):
        if getattr(self, "_supervisor", None) is not None:
            self._stop_supervisor.set()
            self._supervisor.join(timeout=5)
            self._supervisor = None

    def unexpected_exits(self):
        return {node.id: node.exits for node in self.nodes.values() if node.exits}

    def stop(self):
        self.stop_supervisor()
        for node in self.nodes.values():
            node.stopping = True
            if node.alive():
                node.thaw()
                node.proc.send_signal(signal.SIGTERM)
        for node in self.nodes.values():
            node.stop(grace=5.0)

    def kill_all(self):
        self.stop_supervisor()
        for node in self.nodes.values():
            node.stopping = True
        for node in self.nodes.values():
            if node.alive():
                node.proc.send_signal(signal.SIGKILL)
        for node in self.nodes.values():
            if node.proc is not None:
                try:
                    node.proc.wait(timeout=10)
                except subprocess.TimeoutExpired:
                    pass

    def mark(self, text):
        for node in self.nodes.values():
            node.mark(text)

    def offsets(self):
        return {n: node.log_offset() for n, node in self.nodes.items()}

    def logs_since(self, offsets):
        return {n: node.log_since(offsets.get(n, 0)) for n, node in self.nodes.items()}


def kill_leftovers():
    """Nodes a previous run left (--keep, or a harness killed hard): by pid file,
    only if that pid still runs a baton-node."""
    if not PID_DIR.exists():
        return
    for pidfile in PID_DIR.glob("server-*.pid"):
        try:
            pid = int(pidfile.read_text().strip())
            cmdline = Path(f"/proc/{pid}/cmdline").read_bytes().split(b"\0")
        except (OSError, ValueError):
            pidfile.unlink(missing_ok=True)
            continue
        ports = {str(port).encode() for port in GRPC_PORT.values()}
        if cmdline and cmdline[0].endswith(b"baton-node") and ports & set(cmdline):
            log(f"stopping a node left by an earlier run (pid {pid})")
            try:
                os.kill(pid, signal.SIGKILL)
            except ProcessLookupError:
                pass
            for _ in range(100):  # until gone (an orphan, reaped by init)
                try:
                    if b") Z" in Path(f"/proc/{pid}/stat").read_bytes():
                        break
                except OSError:
                    break
                time.sleep(0.05)
        pidfile.unlink(missing_ok=True)
