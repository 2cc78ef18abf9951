"""The suite's private Redis (6395) and MariaDB (3395), run by
scripts/dev-services.sh under .run/chaos; faults use the pids it writes."""

import os
import signal
import subprocess
import time

from .common import (LOG_DIR, MYSQL_DB, MYSQL_PASSWORD, MYSQL_PORT, NAMESPACE, REDIS_PORT, REPO, RUN_DIR,
                     child_env, log)

SCRIPT = REPO / "scripts" / "dev-services.sh"


def _env():
    return child_env(BATON_RUN_DIR=str(RUN_DIR), BATON_REDIS_PORT=str(REDIS_PORT),
                     BATON_MYSQL_PORT=str(MYSQL_PORT), BATON_MYSQL_PASSWORD=MYSQL_PASSWORD)


def dev_services(*args, timeout=180):
    """Runs scripts/dev-services.sh with the private ports and run dir."""
    LOG_DIR.mkdir(parents=True, exist_ok=True)
    with open(LOG_DIR / "dev-services.log", "a") as out:
        out.write(f"--- dev-services.sh {' '.join(args)} at {time.strftime('%H:%M:%S')}\n")
        out.flush()
        # Its own session: a Ctrl-C in the terminal does not reach the servers
        # it starts; the harness stops them itself.
        result = subprocess.run([str(SCRIPT), *args], env=_env(), stdout=out, stderr=out,
                                stdin=subprocess.DEVNULL, timeout=timeout, start_new_session=True)
    if result.returncode != 0:
        raise RuntimeError(f"scripts/dev-services.sh {' '.join(args)} failed (exit {result.returncode}); "
                           f"see {LOG_DIR / 'dev-services.log'}")


def _pid(path):
    try:
        pid = int(path.read_text().strip())
    except (OSError, ValueError):
        return None
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return None
    except PermissionError:
        pass
    return pid


def redis_pid():
    return _pid(RUN_DIR / "redis" / "redis.pid")


def mysql_pid():
    return _pid(RUN_DIR / "mysql" / "mysqld.pid")


def redis_cli(*args, timeout=5):
    """redis-cli against the private Redis; returns stdout lines (raw)."""
    result = subprocess.run(["redis-cli", "-p", str(REDIS_PORT), "--raw", *args], capture_output=True,
                            text=True, timeout=timeout, stdin=subprocess.DEVNULL)
    if result.returncode != 0:
        raise RuntimeError(f"redis-cli {' '.join(args)}: {result.stderr.strip()}")
    return result.stdout.splitlines()


def mysql_root(sql, timeout=30):
    socket_path = RUN_DIR / "mysql" / "mysqld.sock"
    result = subprocess.run(["mariadb", "--no-defaults", f"--socket={socket_path}", "-uroot", "-N", "-e", sql],
                            capture_output=True, text=True, timeout=timeout, stdin=subprocess.DEVNULL)
    if result.returncode != 0:
        raise RuntimeError(f"mariadb: {result.stderr.strip()}")
    return result.stdout


def mysql_answers():
    env = child_env(MYSQL_PWD=MYSQL_PASSWORD)
    try:
        result = subprocess.run(["mariadb", "--no-defaults", "-h", "127.0.0.1", "-P", str(MYSQL_PORT), "-u", "baton",
                                 "-e", "SELECT 1", MYSQL_DB], capture_output=True, timeout=5, env=env,
                                stdin=subprocess.DEVNULL)
    except subprocess.TimeoutExpired:
        return False
    return result.returncode == 0


def _thaw_leftover_redis():
    """A harness killed during the Redis freeze left it SIGSTOPped: resume it."""
    pid = redis_pid()
    if pid is None:
        return
    try:
        state = open(f"/proc/{pid}/stat").read().rsplit(")", 1)[1].split()[0]
    except (OSError, IndexError):
        return
    if state in ("T", "t"):
        log(f"resuming the private redis-server (pid {pid}) an earlier run left stopped")
        os.kill(pid, signal.SIGCONT)


def start():
    """Both servers (installs what is missing, faketime included)."""
    resume_redis()
    _thaw_leftover_redis()
    dev_services("start")
    if redis_pid() is None or mysql_pid() is None:
        raise RuntimeError("the private Redis/MariaDB did not leave pid files under " + str(RUN_DIR)
                           + " (is something else answering on 6395/3395?)")


def stop():
    resume_redis()
    try:
        dev_services("stop", timeout=60)
    except Exception as error:  # cleanup goes on
        log(f"stopping the private servers: {error}")


def reset():
    """An empty database and an empty Redis (nodes must be stopped)."""
    resume_redis()
    redis_cli("FLUSHALL")
    mysql_root(f"DROP DATABASE IF EXISTS {MYSQL_DB}; "
               f"CREATE DATABASE {MYSQL_DB} CHARACTER SET utf8mb4 COLLATE utf8mb4_bin;")


# --- faults -------------------------------------------------------------------

_frozen = set()


def freeze_redis():
    pid = redis_pid()
    if pid is None:
        raise RuntimeError("no redis-server pid")
    _frozen.add(pid)
    os.kill(pid, signal.SIGSTOP)
    return pid


def resume_redis():
    """SIGCONT every Redis the harness froze (always safe to call)."""
    for pid in list(_frozen):
        try:
            os.kill(pid, signal.SIGCONT)
        except ProcessLookupError:
            pass
        _frozen.discard(pid)


def kill_mysql():
    pid = mysql_pid()
    if pid is None:
        raise RuntimeError("no mariadbd pid")
    os.kill(pid, signal.SIGKILL)
    for _ in range(100):
        try:
            os.kill(pid, 0)
        except ProcessLookupError:
            break
        time.sleep(0.05)
    return pid


def start_mysql():
    dev_services("start", "mysql")


def status_counts():
    """Tasks per status in the table itself ({status number: count})."""
    counts = {}
    for line in mysql_root(f"SELECT status, COUNT(*) FROM {MYSQL_DB}.task GROUP BY status").splitlines():
        status, n = line.split()
        counts[int(status)] = int(n)
    return counts


def worker_lists(worker_id):
    """(queued, in flight): entries on a worker's own queue and those it took."""
    return tuple(int(redis_cli("LLEN", f"{NAMESPACE}:worker:{worker_id}:{name}")[0]) for name in ("queue", "inflight"))


def parked(task_type):
    """Queue entries of a paused type the dispatcher set aside (Redis)."""
    return int(redis_cli("LLEN", f"{NAMESPACE}:parked:{task_type}")[0])


def redis_leaks():
    """What Baton left in Redis after everything settled: [] when clean."""
    ns = NAMESPACE
    leaks = []
    for key in (f"{ns}:queue:high", f"{ns}:queue:normal"):
        n = int(redis_cli("LLEN", key)[0])
        if n:
            leaks.append(f"{key} holds {n}")
    n = int(redis_cli("ZCARD", f"{ns}:delayed")[0])
    if n:
        leaks.append(f"{ns}:delayed holds {n}")
    for pattern in (f"{ns}:worker:*:queue", f"{ns}:worker:*:inflight"):
        for key in sorted(set(redis_cli("--scan", "--pattern", pattern))):
            n = int(redis_cli("LLEN", key)[0])
            if n:
                sample = redis_cli("LRANGE", key, "0", "2")
                leaks.append(f"{key} holds {n} (e.g. {', '.join(s[:60] for s in sample)})")
    # Entries of a paused type wait in parked lists; once every type is
    # resumed none may stay behind.
    for task_type in sorted(set(redis_cli("SMEMBERS", f"{ns}:parked")) - {""}):
        n = parked(task_type)
        leaks.append(f"{ns}:parked lists {task_type} ({ns}:parked:{task_type} holds {n})")
    inuse = redis_cli("HGETALL", f"{ns}:inuse")
    for field, value in zip(inuse[0::2], inuse[1::2]):
        try:
            if int(float(value)) != 0:
                leaks.append(f"{ns}:inuse[{field}] = {value}")
        except ValueError:
            leaks.append(f"{ns}:inuse[{field}] = {value!r}")
    return leaks
