"""Three baton-node processes started by the harness (never scripts/cluster.sh,
whose ports are fixed): kill -9, restart with the same command line, clock
skew through libfaketime (LD_PRELOAD, so the pid is the node's own)."""

import glob
import os
import signal
import threading
import time

from batontest import nodes as kit
from batontest import procs

from .common import GRPC_PORT, HTTP_PORT, LOG_DIR, MYSQL_URL, PID_DIR, REDIS_URL, log, wait_until

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


class Node(kit.NodeProcess):
    """server-N of the test kit's NodeProcess, plus the faults: kill -9 and
    restart, SIGSTOP / SIGCONT, a skewed wall clock, a supervisor's restart."""

    def __init__(self, n, skew=None, extra_args=()):
        super().__init__(f"server-{n}", GRPC_PORT[n], HTTP_PORT[n], REDIS_URL, MYSQL_URL, LOG_DIR / f"server-{n}.log",
                         LOG_DIR / "files", pidfile=PID_DIR / f"server-{n}.pid", flags=extra_args, label="chaos")
        self.n = n
        self.skew = skew  # e.g. "+30s", "-30s": libfaketime offset of the realtime clock
        self.extra_args = self.flags
        self.lock = threading.RLock()
        self.stopping = False
        self.exits = []  # (time, exit code) of exits nobody asked for
        self.frozen = False  # SIGSTOPped by the harness

    def env(self):
        env = super().env()
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
        return super().start()

    def kill9(self):
        """SIGKILL, reaped. Returns the instant of the kill (time.time())."""
        with self.lock:
            instant = time.time()
            procs.kill(self.proc)
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
        super().stop(grace)


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
            node.thaw()  # a SIGSTOPped node would sit out its grace period
        kit.stop_all(self.nodes.values(), grace=5.0)

    def kill_all(self):
        self.stop_supervisor()
        for node in self.nodes.values():
            node.stopping = True
        for node in self.nodes.values():
            procs.kill(node.proc)

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
    kit.kill_leftovers(PID_DIR.glob("server-*.pid"), GRPC_PORT.values(), log)
