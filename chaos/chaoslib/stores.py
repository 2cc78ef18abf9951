"""The suite's private Redis (6395) and MariaDB (3395), run by
scripts/dev-services.sh under .run/chaos; faults use the pids it writes."""

import os
import signal
import time

from batontest.procs import process_state

from .common import KEYS, MYSQL_DB, SERVICES, log


def redis_cli(*args, timeout=5):
    """redis-cli against the private Redis; returns stdout lines (raw)."""
    return SERVICES.redis_cli(*args, timeout=timeout).splitlines()


mysql_answers = SERVICES.mysql_answers


def _thaw_leftover_redis():
    """A harness killed during the Redis freeze left it SIGSTOPped: resume it."""
    pid = SERVICES.redis_pid()
    if pid is not None and process_state(pid) in ("T", "t"):
        log(f"resuming the private redis-server (pid {pid}) an earlier run left stopped")
        os.kill(pid, signal.SIGCONT)


def start():
    """Both servers (installs what is missing, faketime included)."""
    resume_redis()
    _thaw_leftover_redis()
    SERVICES.start(timeout=180)


def stop():
    resume_redis()
    try:
        SERVICES.stop(timeout=60)
    except Exception as error:  # cleanup goes on
        log(f"stopping the private servers: {error}")


def reset():
    """An empty database and an empty Redis (nodes must be stopped)."""
    resume_redis()
    SERVICES.reset()


# --- faults -------------------------------------------------------------------

_frozen = set()


def freeze_redis():
    pid = SERVICES.redis_pid()
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
    pid = SERVICES.mysql_pid()
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
    SERVICES.start_mysql(timeout=180)


def status_counts():
    """Tasks per status in the table itself ({status number: count})."""
    counts = {}
    for line in SERVICES.mysql_root(f"SELECT status, COUNT(*) FROM {MYSQL_DB}.task GROUP BY status").splitlines():
        status, n = line.split()
        counts[int(status)] = int(n)
    return counts


def worker_lists(worker_id):
    """(queued, in flight): entries on a worker's own queue and those it took."""
    return (int(redis_cli("LLEN", KEYS.worker_queue(worker_id))[0]),
            int(redis_cli("LLEN", KEYS.worker_in_flight(worker_id))[0]))


def parked(task_type):
    """Queue entries of a paused type the dispatcher set aside (Redis)."""
    return int(redis_cli("LLEN", KEYS.parked(task_type))[0])


def redis_leaks():
    """What Baton left in Redis after everything settled: [] when clean."""
    leaks = []
    # Every check below reads 0 from a key that does not exist: a key shape
    # out of step with the nodes' would pass them all. The nodes keep this
    # key while Redis holds their state.
    if redis_cli("EXISTS", KEYS.sentinel)[0] != "1":
        leaks.append(f"{KEYS.sentinel} is missing: no Baton state under {KEYS.prefix} (key shapes out of step?)")
    for key in (KEYS.high_queue, KEYS.normal_queue):
        n = int(redis_cli("LLEN", key)[0])
        if n:
            leaks.append(f"{key} holds {n}")
    n = int(redis_cli("ZCARD", KEYS.delayed)[0])
    if n:
        leaks.append(f"{KEYS.delayed} holds {n}")
    for pattern in (KEYS.worker_queue("*"), KEYS.worker_in_flight("*")):
        for key in sorted(set(redis_cli("--scan", "--pattern", pattern))):
            n = int(redis_cli("LLEN", key)[0])
            if n:
                sample = redis_cli("LRANGE", key, "0", "2")
                leaks.append(f"{key} holds {n} (e.g. {', '.join(s[:60] for s in sample)})")
    # Every attempt acknowledged, handed back or reclaimed took its claim
    # with it: one left behind would drop every later copy of its entry.
    n = int(redis_cli("HLEN", KEYS.claims)[0])
    if n:
        sample = redis_cli("HGETALL", KEYS.claims)[:4]
        leaks.append(f"{KEYS.claims} holds {n} (e.g. {', '.join(s[:60] for s in sample)})")
    # Entries of a paused type wait in parked lists; once every type is
    # resumed none may stay behind.
    for task_type in sorted(set(redis_cli("SMEMBERS", KEYS.parked_types)) - {""}):
        n = parked(task_type)
        leaks.append(f"{KEYS.parked_types} lists {task_type} ({KEYS.parked(task_type)} holds {n})")
    inuse = redis_cli("HGETALL", KEYS.in_use)
    for field, value in zip(inuse[0::2], inuse[1::2]):
        try:
            if int(float(value)) != 0:
                leaks.append(f"{KEYS.in_use}[{field}] = {value}")
        except ValueError:
            leaks.append(f"{KEYS.in_use}[{field}] = {value!r}")
    return leaks
