"""A harness's private Redis and MariaDB: scripts/dev-services.sh (the one
place that knows how to install, configure and start them) run with the
harness's own ports and run directory, so that a suite never touches the
developer's servers or another suite's; then emptied, queried and faulted
through the pid files that script writes."""

import subprocess
import time
from pathlib import Path

from .childenv import child_env
from .paths import DEV_SERVICES, MYSQL_PASSWORD
from .procs import pid_alive


class DevServices:
    """Redis on `redis_port` and MariaDB on `mysql_port`, data, sockets and
    pids under `run_dir` (redis/, mysql/), the script's output in
    `log_dir`/dev-services.log."""

    def __init__(self, run_dir, redis_port, mysql_port, log_dir=None, password=MYSQL_PASSWORD, database="baton"):
        self.run_dir = Path(run_dir)
        self.redis_port = int(redis_port)
        self.mysql_port = int(mysql_port)
        self.log_dir = Path(log_dir) if log_dir else self.run_dir / "logs"
        self.password = password
        self.database = database
        self.redis_url = f"redis://127.0.0.1:{self.redis_port}/0"
        self.mysql_url = f"mysql://baton:{password}@127.0.0.1:{self.mysql_port}/{database}"
        self.redis_pidfile = self.run_dir / "redis" / "redis.pid"
        self.mysql_pidfile = self.run_dir / "mysql" / "mysqld.pid"
        self.mysql_socket = self.run_dir / "mysql" / "mysqld.sock"

    # --- the script ---------------------------------------------------------------

    def run(self, *args, timeout=240):
        """scripts/dev-services.sh ARGS with the private ports and run dir; RuntimeError when it fails."""
        self.log_dir.mkdir(parents=True, exist_ok=True)
        log = self.log_dir / "dev-services.log"
        env = child_env(BATON_RUN_DIR=str(self.run_dir), BATON_REDIS_PORT=str(self.redis_port),
                        BATON_MYSQL_PORT=str(self.mysql_port), BATON_MYSQL_PASSWORD=self.password)
        with open(log, "a") as out:
            out.write(f"--- dev-services.sh {' '.join(args)} at {time.strftime('%H:%M:%S')}\n")
            out.flush()
            # Its own session: a Ctrl-C in the terminal does not reach the servers
            # it starts; the harness stops them itself.
            result = subprocess.run([str(DEV_SERVICES), *args], env=env, stdout=out, stderr=out,
                                    stdin=subprocess.DEVNULL, timeout=timeout, start_new_session=True)
        if result.returncode != 0:
            raise RuntimeError(f"scripts/dev-services.sh {' '.join(args)} failed (exit {result.returncode}); see {log}")

    def start(self, timeout=240):
        """Both servers (the script installs what is missing). RuntimeError when
        either is not this run's own: the script would use a server that already
        answers on the port, and the harness would then empty someone else's."""
        self.run("start", timeout=timeout)
        self.check_ours()

    def check_ours(self):
        for name, pid, port in (("Redis", self.redis_pid(), self.redis_port),
                                ("MariaDB", self.mysql_pid(), self.mysql_port)):
            if pid is None:
                raise RuntimeError(f"no private {name} pid file under {self.run_dir}: is a {name} this run did not "
                                   f"start answering on port {port}? Stop it, or free the port")

    def stop(self, timeout=120):
        self.run("stop", timeout=timeout)

    def start_mysql(self, timeout=240):
        self.run("start", "mysql", timeout=timeout)

    # --- pids ---------------------------------------------------------------------

    def redis_pid(self):
        return pid_alive(self.redis_pidfile)

    def mysql_pid(self):
        return pid_alive(self.mysql_pidfile)

    # --- clients ------------------------------------------------------------------

    def redis_cli(self, *args, timeout=10):
        """redis-cli --raw against the private Redis; its stdout. RuntimeError when it fails."""
        result = subprocess.run(["redis-cli", "-p", str(self.redis_port), "--raw", *args], capture_output=True,
                                text=True, timeout=timeout, stdin=subprocess.DEVNULL)
        if result.returncode != 0:
            raise RuntimeError(f"redis-cli {' '.join(args)}: {result.stderr.strip()}")
        return result.stdout

    def mysql_root(self, sql, timeout=60):
        """SQL as MariaDB's root over the private socket (-N: no column names); its stdout."""
        result = subprocess.run(["mariadb", "--no-defaults", f"--socket={self.mysql_socket}", "-uroot", "-N", "-e", sql],
                                capture_output=True, text=True, timeout=timeout, stdin=subprocess.DEVNULL)
        if result.returncode != 0:
            raise RuntimeError(f"mariadb: {result.stderr.strip()}")
        return result.stdout

    def mysql_answers(self, timeout=5):
        """Whether the `baton` user can query its database over TCP (as the nodes do)."""
        env = child_env(MYSQL_PWD=self.password)
        try:
            result = subprocess.run(["mariadb", "--no-defaults", "-h", "127.0.0.1", "-P", str(self.mysql_port), "-u",
                                     "baton", "-e", "SELECT 1", self.database], capture_output=True, timeout=timeout,
                                    env=env, stdin=subprocess.DEVNULL)
        except subprocess.TimeoutExpired:
            return False
        return result.returncode == 0

    def reset(self):
        """An empty Redis and an empty database (its nodes stopped: they would write on)."""
        self.redis_cli("FLUSHALL")
        self.mysql_root(f"DROP DATABASE IF EXISTS {self.database}; "
                        f"CREATE DATABASE {self.database} CHARACTER SET utf8mb4 COLLATE utf8mb4_bin;")
