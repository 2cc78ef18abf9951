#!/usr/bin/env python3
"""Baton's multi-host test bed (scripts/testbed.sh runs it as root).

Ten hosts in network namespaces, each with one veth into a bridge that lives
in a namespace of its own (10.77.0.0/24 exists only inside them):

    db1-3  10.77.0.11-13  MariaDB Galera members (scripts/galera.sh; ports 3421-3423)
    rd1-3  10.77.0.21-23  redis-server (rd1 master, two replicas) and a Sentinel each
    app1-3 10.77.0.31-33  one baton-node each (gRPC 9091, HTTP 8081)
    lg     10.77.0.100    this harness: the load generator and the business
                          service every task calls (it records each call)

The nodes reach MariaDB by `mysql://…@10.77.0.11:3421,10.77.0.12:3422,10.77.0.13:3423/baton`
and Redis by `sentinel://10.77.0.21:26379,…/baton`. Tasks are created
through the nodes' gRPC API (BatchCreateTasks with idempotency keys, failing
over between nodes) and run through the `http` executor against the business
service, so a task run twice shows as two calls.

Scenarios (--scenarios, comma-separated; `quick` is db-kill alone, what `make test` runs):
    single      throughput on one plain MariaDB (same tuning, on db1), for comparison
    throughput  throughput on the Galera cluster, no fault
    db-kill     kill -9 of the Galera member every node talks to, under load
    redis-kill  kill -9 of the Redis master under load (Sentinel fails over)
    cut         the leader's host cut off for 20 s (its port taken off the bridge) under load
    delay       5 ms added to every reply of the database host: throughput (netem
                where the kernel has it, else a proxy on each db host; see scenario_delay)
Each fault scenario checks: every acknowledged task SUCCEEDED and was called
(lost = 0), and lists each task called more than once with why.
"""

import argparse
import ctypes
import json
import os
import signal
import subprocess
import sys
import threading
import time
import uuid
from collections import defaultdict
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
RUN = Path(os.environ.get("TESTBED_RUN_DIR") or REPO / ".run" / "testbed")
os.environ["CHAOS_RUN_DIR"] = str(RUN)  # chaoslib's logs go there too
sys.dont_write_bytecode = True
sys.path.insert(0, str(REPO / "chaos"))
sys.path.insert(0, str(REPO / "testkit"))  # batontest, the shared test kit

from batontest import procs as kit  # noqa: E402
from chaoslib.business import BusinessService  # noqa: E402
from chaoslib.client import SUCCEEDED, Baton, status_name  # noqa: E402
from chaoslib.common import child_env, log, say, wait_until  # noqa: E402

PREFIX = "btb"
SWITCH = f"{PREFIX}-sw"
HOSTS = {"db1": "10.77.0.11", "db2": "10.77.0.12", "db3": "10.77.0.13",
         "rd1": "10.77.0.21", "rd2": "10.77.0.22", "rd3": "10.77.0.23",
         "app1": "10.77.0.31", "app2": "10.77.0.32", "app3": "10.77.0.33",
         "lg": "10.77.0.100"}
LOGS = RUN / "logs"
PIDS = RUN / "pids"
NODE_BIN = os.environ.get("BATON_NODE_BIN") or str(REPO / ".build" / "debug" / "baton-node")
PASSWORD = "baton-dev-password"
GALERA_ENV = {"GALERA_DIR": str(RUN / "galera"), "GALERA_ADDRS": " ".join(HOSTS[f"db{n}"] for n in (1, 2, 3)),
              "GALERA_NETNS": " ".join(f"{PREFIX}-db{n}" for n in (1, 2, 3)), "BATON_MYSQL_PASSWORD": PASSWORD}
GALERA_URL = f"mysql://baton:{PASSWORD}@" + ",".join(f"{HOSTS[f'db{n}']}:{3420 + n}" for n in (1, 2, 3)) + "/baton"
SINGLE_URL = f"mysql://baton:{PASSWORD}@{HOSTS['db1']}:3420/baton"
REDIS_URL = "sentinel://" + ",".join(f"{HOSTS[f'rd{n}']}:26379" for n in (1, 2, 3)) + "/baton"
TASK_TYPE = "tb_work"


def ns(host):
    return f"{PREFIX}-{host}"


def run(*argv, check=True, env=None, timeout=300, input=None):
    result = subprocess.run(argv, capture_output=True, text=True, env=env, timeout=timeout, input=input)
    if check and result.returncode != 0:
        raise RuntimeError(f"{' '.join(argv)}: {result.returncode}: {result.stderr.strip()[-500:]}")
    return result.stdout


# --- network -------------------------------------------------------------------------

def namespaces():
    return [line.split()[0] for line in run("ip", "netns", "list").splitlines()
            if line.split() and line.split()[0].startswith(PREFIX + "-")]


def setup_network():
    teardown_network()
    run("ip", "netns", "add", SWITCH)
    run("ip", "-n", SWITCH, "link", "add", "br0", "type", "bridge")
    run("ip", "-n", SWITCH, "link", "set", "br0", "up")
    for host, address in HOSTS.items():
        run("ip", "netns", "add", ns(host))
        run("ip", "link", "add", "eth0", "netns", ns(host), "type", "veth", "peer", "name", f"p-{host}", "netns", SWITCH)
        run("ip", "-n", SWITCH, "link", "set", f"p-{host}", "master", "br0", "up")
        run("ip", "-n", ns(host), "addr", "add", f"{address}/24", "dev", "eth0")
        run("ip", "-n", ns(host), "link", "set", "eth0", "up")
        run("ip", "-n", ns(host), "link", "set", "lo", "up")


def teardown_network():
    for name in namespaces():
        run("ip", "netns", "del", name, check=False)


def enter(host):
    """Moves this process (its main thread, and every thread and child it
    starts from now on) into host's network namespace."""
    libc = ctypes.CDLL(None, use_errno=True)
    with open(f"/var/run/netns/{ns(host)}") as handle:
        if libc.setns(handle.fileno(), 0x40000000) != 0:  # CLONE_NEWNET
            raise OSError(ctypes.get_errno(), f"setns {ns(host)}")


def cut(host):
    """Takes host's port off the bridge: every frame to and from it is
    dropped while its own link stays up (a partition the host cannot see,
    as a netem loss of 100% would be; this kernel may have no netem)."""
    run("ip", "-n", SWITCH, "link", "set", f"p-{host}", "nomaster")


def heal(host):
    run("ip", "-n", SWITCH, "link", "set", f"p-{host}", "master", "br0")


def has_netem():
    probe = run("tc", "-n", ns("db1"), "qdisc", "add", "dev", "eth0", "root", "netem", "delay", "0ms", check=False)
    del probe
    shown = run("tc", "-n", ns("db1"), "qdisc", "show", "dev", "eth0")
    run("tc", "-n", ns("db1"), "qdisc", "del", "dev", "eth0", "root", check=False)
    return "netem" in shown


# --- processes -----------------------------------------------------------------------

class Procs:
    """Every long-running process the bed started, by name (the test kit
    spawns and stops them; a pid file each for kill_leftovers)."""

    def __init__(self):
        self.procs = {}
        LOGS.mkdir(parents=True, exist_ok=True)
        PIDS.mkdir(parents=True, exist_ok=True)

    def spawn(self, name, host, argv, env=None):
        proc = kit.spawn(["ip", "netns", "exec", ns(host)] + [str(a) for a in argv], LOGS / f"{name}.log",
                         env or child_env())
        self.procs[name] = proc
        kit.write_pid(PIDS / f"{name}.pid", proc.pid)
        return proc

    def kill(self, name, sig=signal.SIGKILL):
        proc = self.procs.get(name)
        kit.kill(proc) if sig == signal.SIGKILL else kit.stop(proc, grace=15)
        (PIDS / f"{name}.pid").unlink(missing_ok=True)

    def stop_all(self):
        # Last started first: the nodes before the servers they use.
        for name in reversed(list(self.procs)):
            self.kill(name, signal.SIGTERM)


def kill_leftovers():
    """Processes a bed killed by -9 left behind (their pids were recorded):
    only while the pid still runs something of the bed's (an address of
    10.77.0.0/24 in its command line; Redis retitles itself, so the kit's
    program check does not fit)."""
    for pidfile in PIDS.glob("*.pid") if PIDS.exists() else []:
        try:
            pid = int(pidfile.read_text())
            if b"10.77.0." in Path(f"/proc/{pid}/cmdline").read_bytes():
                os.kill(pid, signal.SIGKILL)
        except (ValueError, OSError):
            pass
        pidfile.unlink(missing_ok=True)


def galera(*args):
    env = dict(os.environ)
    env.update(GALERA_ENV)
    return run(str(REPO / "scripts" / "galera.sh"), *args, env=env, timeout=600)


def db_sql(sql, member="node2"):
    """A query as root over a member's socket (sockets cross namespaces)."""
    return run("mariadb", "--no-defaults", f"--socket={RUN / 'galera' / member / 'mysqld.sock'}", "-uroot", "-N",
               "-B", "baton", input=sql, env=child_env())


def redis_cli(host, port, *args):
    return run("redis-cli", "-h", HOSTS[host], "-p", str(port), *args, check=False, timeout=5).strip()


class Bed:
    def __init__(self, procs):
        self.procs = procs
        self.mysql_url = GALERA_URL
        self.restarts = defaultdict(int)
        self.supervising = False

    # Redis with Sentinel ------------------------------------------------------------
    def start_redis(self):
        for n in (1, 2, 3):
            folder = RUN / f"rd{n}"
            folder.mkdir(parents=True, exist_ok=True)
            replica = [] if n == 1 else ["--replicaof", HOSTS["rd1"], "6379"]
            self.procs.spawn(f"redis-{n}", f"rd{n}", ["redis-server", "--bind", HOSTS[f"rd{n}"], "--port", "6379",
                                                      "--dir", folder, "--save", "", "--appendonly", "no", "--protected-mode", "no",
                                                      "--repl-diskless-sync", "yes", "--repl-diskless-sync-delay", "0",
                                                      *replica])
        for n in (1, 2, 3):
            conf = RUN / f"rd{n}" / "sentinel.conf"
            conf.write_text(f"port 26379\nbind {HOSTS[f'rd{n}']}\nprotected-mode no\ndir {RUN / f'rd{n}'}\n"
                            f"sentinel monitor baton {HOSTS['rd1']} 6379 2\n"
                            "sentinel down-after-milliseconds baton 2000\nsentinel failover-timeout baton 6000\n"
                            "sentinel parallel-syncs baton 1\n")
            self.procs.spawn(f"sentinel-{n}", f"rd{n}", ["redis-sentinel", conf])

        def ready():
            for n in (1, 2, 3):
                fields = redis_cli(f"rd{n}", 26379, "sentinel", "master", "baton").splitlines()
                info = dict(zip(fields[::2], fields[1::2]))
                if info.get("num-slaves") != "2" or info.get("num-other-sentinels") != "2":
                    return False
            return True
        if not wait_until(ready, 60, interval=0.3):
            raise RuntimeError("the Sentinels did not find the replicas and each other within 60 s")

    def redis_master(self):
        answer = redis_cli("rd1", 26379, "sentinel", "get-master-addr-by-name", "baton").splitlines()
        return next(host for host, address in HOSTS.items() if address == answer[0])

    # MariaDB ----------------------------------------------------------------------------
    def start_galera(self):
        galera("start")

    def reset_database(self, single=False):
        statement = "DROP DATABASE IF EXISTS baton; CREATE DATABASE baton CHARACTER SET utf8mb4 COLLATE utf8mb4_bin;"
        if single:
            run("mariadb", "--no-defaults", f"--socket={RUN / 'galera' / 'single' / 'mysqld.sock'}", "-uroot", "-e",
                statement, env=child_env())
        else:
            run("mariadb", "--no-defaults", f"--socket={RUN / 'galera' / 'node1' / 'mysqld.sock'}", "-uroot", "-e",
                statement, env=child_env())

    # Baton nodes ---------------------------------------------------------------------------
    def node_argv(self, n):
        return [NODE_BIN, "--id", f"app{n}", "--host", HOSTS[f"app{n}"], "--grpc-port", "9091", "--worker-port", "8081",
                "--redis", REDIS_URL, "--mysql", self.mysql_url, "--migrations", REPO / "sql",
                # Off loopback on purpose, inside namespaces nothing else reaches: open and plaintext waived.
                "--allow-open-api", "--allow-plaintext"]

    def start_node(self, n):
        self.procs.spawn(f"app{n}", f"app{n}", self.node_argv(n))

    def start_nodes(self):
        # One first: it applies the migrations; the others find them done.
        self.start_node(1)
        if not wait_until(lambda: self.ready(1), 120, interval=0.3):
            raise RuntimeError(f"app1 not ready within 120 s; see {LOGS / 'app1.log'}")
        self.start_node(2)
        self.start_node(3)
        for n in (2, 3):
            if not wait_until(lambda: self.ready(n), 60, interval=0.3):
                raise RuntimeError(f"app{n} not ready within 60 s; see {LOGS / f'app{n}.log'}")
        self.supervising = True

    def stop_nodes(self):
        self.supervising = False
        for n in (1, 2, 3):
            self.procs.kill(f"app{n}", signal.SIGTERM)

    def ready(self, n):
        import urllib.request
        try:
            with urllib.request.urlopen(f"http://{HOSTS[f'app{n}']}:8081/ready", timeout=1) as response:
                return response.status == 200
        except Exception:
            return False

    def supervise(self):
        """A node that exits on its own (a fenced worker stops itself) is
        started again with the same command line, and counted."""
        def loop():
            while True:
                time.sleep(0.5)
                if not self.supervising:
                    continue
                for n in (1, 2, 3):
                    proc = self.procs.procs.get(f"app{n}")
                    if proc is not None and proc.poll() is not None and self.supervising:
                        self.restarts[n] += 1
                        log(f"  app{n} exited ({proc.returncode}); started again")
                        self.start_node(n)
        threading.Thread(target=loop, daemon=True).start()

    def leader(self, baton):
        stats = baton.stats()
        return int(stats.leader_node_id.removeprefix("app")) if stats.leader_node_id.startswith("app") else None


# --- load ----------------------------------------------------------------------------

class Load:
    """Creates tasks of TASK_TYPE through the nodes, in batches, from `threads`
    threads, at most `rate` a second (0: as fast as acknowledged). Records
    each acknowledged id with the time its batch was acknowledged."""

    def __init__(self, baton, threads=3, batch=50, rate=0, ms=0):
        self.baton = baton
        self.threads = threads
        self.batch = batch
        self.rate = rate
        self.ms = ms
        self.acked = {}
        self.errors = []
        self.stopping = threading.Event()
        self.lock = threading.Lock()
        self.workers = []

    def start(self):
        self.started = time.time()
        for k in range(self.threads):
            thread = threading.Thread(target=self._run, args=(k,), daemon=True)
            thread.start()
            self.workers.append(thread)

    def _run(self, k):
        tag = uuid.uuid4().hex[:10]
        sent = 0
        period = self.batch * self.threads / self.rate if self.rate else 0
        next_at = time.monotonic()
        while not self.stopping.is_set():
            items = [{"task_type": TASK_TYPE, "payload": {"ms": str(self.ms)}, "idempotency_key": f"{tag}-{sent + i}"}
                     for i in range(self.batch)]
            sent += self.batch
            try:
                ids = self.baton.create_batch(items, node=k % 3 + 1)
                now = time.time()
                with self.lock:
                    for task_id in ids:
                        self.acked[task_id] = now
            except Exception as error:  # unacknowledged: not the bed's to count
                self.errors.append(f"{type(error).__name__}: {str(error)[:200]}")
            if period:
                next_at += period
                time.sleep(max(0.0, next_at - time.monotonic()))

    def stop(self):
        self.stopping.set()
        for thread in self.workers:
            thread.join(timeout=120)
        self.stopped = time.time()


def wait_done(bed, ids, seconds):
    """Waits until every id is SUCCEEDED in MySQL; returns {status name: count} of those not."""
    ids = list(ids)

    def pending():
        left = {}
        for start in range(0, len(ids), 5000):
            chunk = ",".join(f"'{i}'" for i in ids[start:start + 5000])
            for line in db_sql(f"SELECT status, COUNT(*) FROM task WHERE task_id IN ({chunk}) AND status <> {SUCCEEDED} "
                               "GROUP BY status", member=bed.db_member).splitlines():
                status, count = line.split()
                left[status_name(int(status))] = left.get(status_name(int(status)), 0) + int(count)
        return left
    wait_until(lambda: not pending(), seconds, interval=1.0)
    return pending()


def check(bed, service, load, name, fault_at, settle=120):
    """Lost and twice: every acknowledged task SUCCEEDED and called; each task
    called more than once, explained by its calls' attempts and times."""
    left = wait_done(bed, load.acked, settle)
    calls = service.calls_by_task()
    never = [t for t in load.acked if t not in calls]
    twice = {t: c for t, c in calls.items() if t in load.acked and len(c) > 1}
    failures = []
    if left:
        failures.append(f"not SUCCEEDED after {settle}s: {left}")
    if never:
        failures.append(f"{len(never)} acknowledged tasks never called (lost), e.g. {never[:3]}")
    say(f"  {name}: {len(load.acked)} tasks acknowledged, lost {len(never) if not left else '?'} "
        f"(not SUCCEEDED: {sum(left.values())}), called twice: {len(twice)}")
    shown = sorted(twice.items(), key=lambda kv: kv[1][0].start)[:20]
    logs = defaultdict(list)
    if shown:
        ids = ",".join(f"'{t}'" for t, _ in shown)
        for line in db_sql(f"SELECT task_id, attempt, worker_id, message FROM task_logs WHERE task_id IN ({ids}) ORDER BY id",
                           member=bed.db_member).splitlines():
            task_id, attempt, worker, message = line.split("\t", 3)
            logs[task_id].append(f"a{attempt}@{worker or '-'}: {message[:90]}")
    for task_id, task_calls in shown:
        described = "; ".join(f"attempt {c.attempt} {c.start - fault_at:+.2f}s..{c.end - fault_at:+.2f}s {c.outcome}"
                              for c in task_calls)
        say(f"    twice {task_id}: calls {described} (relative to the fault)")
        say(f"      logs: {' | '.join(logs[task_id])}")
    return failures, twice


def gaps(times, around, window=60):
    """The longest stretch without an event within `window` s after `around`."""
    near = sorted(t for t in times if around - 1 <= t <= around + window)
    if len(near) < 2:
        return None
    return max(b - a for a, b in zip(near, near[1:]))


# --- scenarios -------------------------------------------------------------------------

def throughput(bed, baton, service, name, seconds):
    load = Load(baton, threads=3, batch=100)
    load.start()
    time.sleep(seconds)
    load.stop()
    elapsed = load.stopped - load.started
    created = len(load.acked)
    left = wait_done(bed, load.acked, 180)
    done_at = time.time()
    records = service.records()
    ends = sorted(c.end for c in records if c.task_id in load.acked)
    # Executed per second while the load ran (the backlog drains after it).
    ran = sum(1 for t in ends if t <= load.stopped)
    say(f"  {name}: created {created / elapsed:.0f}/s, executed {ran / elapsed:.0f}/s during {elapsed:.0f}s; "
        f"all {created} done {done_at - load.started:.0f}s after the start ({created / (done_at - load.started):.0f}/s end to end)"
        + (f"; NOT DONE {left}" if left else ""))
    return {"created_per_s": created / elapsed, "executed_per_s": ran / elapsed,
            "end_to_end_per_s": created / (done_at - load.started)}, ([f"not done: {left}"] if left else [])


def under_load(bed, baton, service, name, fault, rate=300, before=5, after=20):
    """Steady load; `fault()` returns the time the fault began and a note;
    then `after` s more of load, and the checks."""
    service.reset()
    load = Load(baton, threads=3, batch=20, rate=rate, ms=5)
    load.start()
    time.sleep(before)
    fault_at, note = fault()
    time.sleep(after)
    load.stop()
    failures, twice = check(bed, service, load, name, fault_at)
    starts = [c.start for c in service.records()]
    gap_calls = gaps(starts, fault_at)
    per_second = [sum(1 for t in starts if fault_at + k <= t < fault_at + k + 1) for k in range(-2, 20)]
    say(f"  {name}: task starts per second from 2 s before the fault: {per_second}")
    gap_creates = gaps(list(load.acked.values()), fault_at)
    say(f"  {name}: {note}; longest pause of task starts {gap_calls or 0:.1f}s, of create acknowledgements "
        f"{gap_creates or 0:.1f}s; create errors given up: {len(load.errors)}")
    return failures


def scenario_db_kill(bed, baton, service):
    # Every node lists db1 first: it is the member they all talk to.
    def fault():
        at = time.time()
        galera("kill", "1")
        return at, "Galera member db1 killed -9"
    bed.db_member = "node2"
    failures = under_load(bed, baton, service, "db-kill", fault)
    started = time.time()
    galera("start-node", "1")
    say(f"  db-kill: db1 rejoined (SST) in {time.time() - started:.0f}s")
    return failures


def scenario_redis_kill(bed, baton, service):
    def fault():
        master = bed.redis_master()
        at = time.time()
        bed.procs.kill(f"redis-{master[-1]}")
        bed.killed_redis = master
        return at, f"Redis master {master} killed -9"
    failures = under_load(bed, baton, service, "redis-kill", fault, after=25)
    master = bed.redis_master()
    say(f"  redis-kill: Sentinel names {master} master now")
    # The old master comes back as a replica of the new one.
    n = bed.killed_redis[-1]
    bed.procs.spawn(f"redis-{n}", f"rd{n}", ["redis-server", "--bind", HOSTS[f"rd{n}"], "--port", "6379",
                                             "--dir", RUN / f"rd{n}", "--save", "", "--appendonly", "no", "--protected-mode", "no",
                                             "--replicaof", HOSTS[master], "6379"])
    return failures


def scenario_cut(bed, baton, service):
    state = {}

    def fault():
        leader = bed.leader(baton) or 1
        state["n"] = leader
        at = time.time()
        cut(f"app{leader}")
        return at, f"app{leader} (the leader) cut off for 20 s"

    failures = []
    service.reset()
    load = Load(baton, threads=3, batch=20, rate=300, ms=5)
    load.start()
    time.sleep(5)
    fault_at, note = fault()
    n = state["n"]
    new_leader = wait_until(lambda: (bed.leader(baton) or n) != n and bed.leader(baton), 30, interval=0.5)
    took_over = time.time() - fault_at
    time.sleep(max(0.0, 20 - (time.time() - fault_at)))
    heal(f"app{n}")
    healed = time.time()
    # Did the cut node take work while cut? Its calls need the network, so
    # any call it made shows in the service's records (none can).
    time.sleep(15)
    load.stop()
    check_failures, twice = check(bed, service, load, "cut", fault_at)
    failures += check_failures
    # Tasks that needed a second attempt without a second call: where their
    # first attempt started (the cut node's start write landed, its call
    # never reached the service).
    first_workers = {}
    for line in db_sql("SELECT l.worker_id, COUNT(DISTINCT l.task_id) FROM task t JOIN task_logs l ON l.task_id = t.task_id "
                       "WHERE t.attempt > 1 AND l.attempt = 1 AND l.message LIKE 'started attempt%' GROUP BY l.worker_id",
                       member=bed.db_member).splitlines():
        worker, count = line.split("\t")
        first_workers[worker] = int(count)
    stepped = next((line[:24] for line in (LOGS / f"app{n}.log").read_text(errors="replace").splitlines()
                    if "stepping down" in line and line[:19] >= time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(fault_at))), None)
    starts = [c.start for c in service.records()]
    say(f"  cut: {note}; it stepped down at {stepped or 'never (was it leading?)'} (cut at "
        f"{time.strftime('%H:%M:%S', time.gmtime(fault_at))}); app{new_leader or '?'} led {took_over:.1f}s after the cut; "
        f"longest pause of task starts {gaps(starts, fault_at) or 0:.1f}s; app{n} stopped itself {bed.restarts[n]}x after the heal "
        f"(declared dead) and was started again; tasks with a second attempt, by where attempt 1 started: {first_workers}")
    if not new_leader:
        failures.append("no other node took the lead within 30 s of the cut")
    back = wait_until(lambda: bed.ready(n), 60, interval=0.5)
    say(f"  cut: app{n} ready again {time.time() - healed:.0f}s after the heal" if back else
        f"  cut: app{n} not ready 60 s after the heal")
    return failures


def greeting_ms(host, port):
    """Connect to the first byte of the server's greeting, best of five."""
    import socket
    best = None
    for _ in range(5):
        started = time.perf_counter()
        with socket.create_connection((host, port), timeout=5) as connection:
            connection.recv(1)
        took = (time.perf_counter() - started) * 1000
        best = took if best is None else min(best, took)
    return best


def scenario_delay(bed, baton, service, cluster):
    """Throughput with every reply of the database host 5 ms late. With netem:
    on db1's interface (replication to the other members pays it too).
    Without (this kernel may lack it): the nodes reach each member through a
    proxy on its host that holds each reply 5 ms, measured against the same
    proxies at 0 ms so the proxies' own cost is not counted as latency."""
    failures = []
    if has_netem():
        run("tc", "-n", ns("db1"), "qdisc", "add", "dev", "eth0", "root", "netem", "delay", "5ms")
        try:
            _, failures = throughput(bed, baton, service, "netem 5 ms on db1", bed.seconds)
        finally:
            run("tc", "-n", ns("db1"), "qdisc", "del", "dev", "eth0", "root", check=False)
        return failures
    url = f"mysql://baton:{PASSWORD}@" + ",".join(f"{HOSTS[f'db{n}']}:{3430 + n}" for n in (1, 2, 3)) + "/baton"
    for ms in (0, 5):
        for n in (1, 2, 3):
            bed.procs.spawn(f"delay-{n}", f"db{n}", [sys.executable, REPO / "chaos" / "delayproxy.py",
                                                     f"{HOSTS[f'db{n}']}:{3430 + n}", f"{HOSTS[f'db{n}']}:{3420 + n}", ms])
        time.sleep(0.5)
        say(f"  delay: the server's greeting through the proxy of db1 takes {greeting_ms(HOSTS['db1'], 3431):.1f} ms "
            f"(directly {greeting_ms(HOSTS['db1'], 3421):.1f} ms)")
        cluster(url, single=False)
        service.reset()
        _, fail = throughput(bed, baton, service, f"Galera through a proxy holding replies {ms} ms", bed.seconds)
        failures += fail
        bed.stop_nodes()
        for n in (1, 2, 3):
            bed.procs.kill(f"delay-{n}")
    cluster(GALERA_URL, single=False)
    return failures


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--scenarios", default="single,throughput,db-kill,redis-kill,cut,delay")
    parser.add_argument("--seconds", type=float, default=20, help="length of each throughput run")
    parser.add_argument("--database", choices=("galera", "single"), default="galera",
                        help="what the scenarios after `single` run on (single: no db-kill)")
    parser.add_argument("--keep", action="store_true", help="leave the bed up (scripts/testbed.sh down removes it)")
    args = parser.parse_args()
    chosen = [s.strip() for s in args.scenarios.split(",") if s.strip()]
    if chosen == ["quick"]:
        chosen = ["db-kill"]
    known = {"single", "throughput", "db-kill", "redis-kill", "cut", "delay"}
    if set(chosen) - known:
        raise SystemExit(f"unknown scenarios {set(chosen) - known}; choose from {sorted(known)}")
    if not os.access(NODE_BIN, os.X_OK):
        raise SystemExit(f"no baton-node at {NODE_BIN} (build it, or set BATON_NODE_BIN)")

    for sig in (signal.SIGINT, signal.SIGTERM, signal.SIGHUP):
        signal.signal(sig, lambda s, f: (_ for _ in ()).throw(KeyboardInterrupt(f"signal {s}")))
    RUN.mkdir(parents=True, exist_ok=True)
    kill_leftovers()
    # Every bed starts from empty servers (the SST tools stay) and new logs.
    import shutil
    shutil.rmtree(LOGS, ignore_errors=True)
    for folder in [RUN / "galera" / m for m in ("node1", "node2", "node3", "single")] + [RUN / f"rd{n}" for n in (1, 2, 3)]:
        shutil.rmtree(folder, ignore_errors=True)
    procs = Procs()
    bed = Bed(procs)
    bed.seconds = args.seconds
    bed.db_member = "node1"
    service = None
    baton = None
    failures = []
    t0 = time.time()
    try:
        log("network: 10 hosts in namespaces on a bridge (10.77.0.0/24)")
        setup_network()
        enter("lg")
        service = BusinessService(host=HOSTS["lg"])
        service.start()
        service.self_check()
        log(f"business service on {HOSTS['lg']}:{service.port}")
        bed.start_redis()
        log("Redis master rd1, replicas rd2 rd3, three Sentinels")
        baton = Baton({n: f"{HOSTS[f'app{n}']}:9091" for n in (1, 2, 3)})
        bed.supervise()

        def cluster(mysql_url, single):
            bed.stop_nodes()
            bed.mysql_url = mysql_url
            bed.reset_database(single=single)
            redis_cli(bed.redis_master(), 6379, "FLUSHALL")
            bed.start_nodes()
            baton.put_config(TASK_TYPE, service.url("/tb"), timeout_seconds=30, max_retries=5, retry_backoff_ms=500)
            time.sleep(5.5)  # a config change is in force on every node within 5 s
            log(f"  three Baton nodes on {'one MariaDB' if single else 'Galera'} (leader app{bed.leader(baton)})")

        if "single" in chosen:
            galera("start-single")
            bed.db_member = "single"
            cluster(SINGLE_URL, single=True)
            service.reset()
            _, fail = throughput(bed, baton, service, "single MariaDB", args.seconds)
            failures += fail
            bed.stop_nodes()
            galera("stop-single")
        rest = [s for s in chosen if s != "single"]
        if rest and args.database == "single":
            galera("start-single")
            bed.db_member = "single"
            cluster(SINGLE_URL, single=True)
        elif rest:
            log("Galera: db1-3 (scripts/galera.sh)")
            started = time.time()
            bed.start_galera()
            log(f"  Galera synced in {time.time() - started:.0f}s")
            bed.db_member = "node1"
            cluster(GALERA_URL, single=False)
        for name in rest:
            log(f"scenario {name}")
            service.reset()
            if name == "throughput":
                _, fail = throughput(bed, baton, service, "Galera", args.seconds)
            elif name == "db-kill":
                fail = scenario_db_kill(bed, baton, service)
            elif name == "redis-kill":
                fail = scenario_redis_kill(bed, baton, service)
            elif name == "cut":
                fail = scenario_cut(bed, baton, service)
            else:
                fail = scenario_delay(bed, baton, service, cluster)
            failures += [f"{name}: {f}" for f in fail]
    except KeyboardInterrupt as interrupt:
        failures.append(f"interrupted ({interrupt})")
    except Exception as error:
        import traceback
        traceback.print_exc()
        failures.append(f"harness error: {error!r}")
    finally:
        if not args.keep:
            bed.supervising = False
            if baton is not None:
                baton.close()
            procs.stop_all()
            if service is not None:
                service.stop()
            galera("stop")
            galera("stop-single")
            teardown_network()
    say(f"test bed: {len(failures)} failures in {time.time() - t0:.0f}s; logs in {LOGS}")
    for failure in failures:
        say(f"  FAIL {failure}")
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())
