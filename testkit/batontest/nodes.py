"""baton-node processes as the suites run them: a node's own flags (see
`baton-node --help`) on private ports, its log file, its pid file for the
next run's cleanup, /ready as the sign it serves, and several nodes started
and stopped together."""

import signal
from pathlib import Path

from . import procs
from .childenv import child_env
from .logfile import LogFile
from .paths import REPO, SQL, node_bin
from .waits import http_ok, wait_until


class NodeProcess:
    """One baton-node. `flags`: any further flags of the node's own
    (--api-keys-file, --capacity…); `namespace`: its Redis key prefix (None:
    the node's default, `baton`)."""

    def __init__(self, node_id, grpc_port, http_port, redis_url, mysql_url, log_path, files_dir,
                 pidfile=None, flags=(), namespace=None, binary=None, label="harness"):
        self.id = node_id
        self.grpc_port = grpc_port
        self.http_port = http_port
        self.redis_url = redis_url
        self.mysql_url = mysql_url
        self.log = LogFile(log_path)
        self.log_path = self.log.path
        self.files_dir = Path(files_dir)
        self.pidfile = Path(pidfile) if pidfile else None
        self.flags = list(flags)
        self.namespace = namespace
        self.binary = binary or node_bin()
        self.label = label  # who writes marker lines into its log
        self.proc = None
        self.base = f"http://127.0.0.1:{http_port}"
        self.grpc_target = f"127.0.0.1:{grpc_port}"

    def argv(self):
        namespace = ["--redis-namespace", self.namespace] if self.namespace else []
        return [self.binary, "--id", self.id, "--grpc-port", str(self.grpc_port), "--worker-port", str(self.http_port),
                "--redis", self.redis_url, "--mysql", self.mysql_url, "--migrations", str(SQL),
                "--log-dir", str(self.files_dir), *namespace, *self.flags]

    def env(self):
        # REDIS_ADDR / MYSQL_DSN name the private servers too: a node that lost
        # its flags must never fall back to the default (someone else's) ones.
        return child_env(REDIS_ADDR=self.redis_url, MYSQL_DSN=self.mysql_url)

    def command(self):
        return self.argv()

    def start(self, header=None):
        """Starts it (not waiting for /ready); returns the pid."""
        self.files_dir.mkdir(parents=True, exist_ok=True)
        self.proc = procs.spawn(self.command(), self.log_path, self.env(), cwd=REPO, header=header)
        if self.pidfile:
            procs.write_pid(self.pidfile, self.proc.pid)
        return self.proc.pid

    def alive(self):
        return self.proc is not None and self.proc.poll() is None

    def ready(self, timeout=1.0):
        return http_ok(f"{self.base}/ready", timeout)

    def wait_ready(self, seconds=60, tail_lines=15):
        """Until /ready answers 200; RuntimeError with the log's last lines
        when the node exits or the time runs out first."""
        ok = wait_until(lambda: self.ready() or (not self.alive() and "exited"), seconds, interval=0.1)
        if ok is not True:  # "exited" is truthy too
            why = f"exited {self.proc.returncode}" if not self.alive() else "no 200 from /ready"
            raise RuntimeError(f"{self.id} not ready within {seconds}s ({why}); last lines of {self.log_path}:\n"
                               f"{self.log.tail(tail_lines, '    ')}")

    def stop(self, grace=5.0):
        """SIGTERM, SIGKILL after `grace` s; the pid file goes. Returns the exit code."""
        code = procs.stop(self.proc, grace)
        if self.pidfile:
            self.pidfile.unlink(missing_ok=True)
        return code

    def keep(self):
        """Leave it running when the harness exits (--keep)."""
        procs.keep(self.proc)

    def mark(self, text):
        self.log.mark(self.label, text)

    def tail(self, lines):
        return self.log.tail(lines, "    ")

    def log_offset(self):
        return self.log.offset()

    def log_since(self, offset):
        return self.log.since(offset)


def numbered(base, count=3):
    """Ports base+1 … base+count by node number (the suites' node n listens on BASE + n)."""
    return {n: base + n for n in range(1, count + 1)}


def start_all(nodes, seconds=90):
    """Starts every node, then waits for each to be ready (they start in parallel)."""
    for node in nodes:
        node.start()
    for node in nodes:
        node.wait_ready(seconds)


def stop_all(nodes, grace=8.0):
    """SIGTERM to all at once (no node waits out another's graceful stop),
    then each reaped as NodeProcess.stop. Returns {id: exit code}."""
    for node in nodes:
        if node.alive():
            node.proc.send_signal(signal.SIGTERM)
    return {node.id: node.stop(grace) for node in nodes}


def kill_leftovers(pidfiles, grpc_ports, log=None):
    """Nodes a previous run left (--keep, or a harness killed hard), by their
    pid files, if the pid still runs a baton-node on one of `grpc_ports`."""
    marks = {str(port).encode() for port in grpc_ports}
    for pidfile in pidfiles:
        pid = procs.kill_leftover(pidfile, b"baton-node", marks)
        if pid is not None and log is not None:
            log(f"stopped a node an earlier run left (pid {pid})")
