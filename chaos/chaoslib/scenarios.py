"""The five fault scenarios. Each starts a fresh cluster on an empty database
and an empty Redis, so one scenario's leftovers never blur the next."""

import random
import re
import threading
import time
from datetime import datetime, timezone

from . import stores
from .checks import short
from .client import RETRYING
from .common import log
from .nodes import Cluster


class Suite:
    def __init__(self, baton, service):
        self.baton = baton
        self.service = service
        self.cluster = None

    # --- per scenario ---------------------------------------------------------

    def fresh_cluster(self, run, skews=None, order=(1, 2, 3), leader=None, extra_args=()):
        if self.cluster is not None:
            self.cluster.stop()
            self.cluster = None
        stores.reset()
        self.service.reset()
        cluster = Cluster(skews, extra_args)
        self.cluster = cluster
        run.cluster = cluster
        cluster.mark(f"scenario {run.name}")
        check = None
        if leader is not None:
            check = lambda: self.baton.stats(node=leader, total=2).leader_node_id == f"server-{leader}"  # noqa: E731
        cluster.start(order, first_leader_check=check)
        cluster.start_supervisor()

        def operational():
            stats = self.baton.stats(total=3)
            return stats.leader_node_id and len(stats.workers) == 3

        if not _wait(operational, 30):
            raise RuntimeError("the fresh cluster has no leader or not three workers after 30s")
        run.log_offsets = cluster.offsets()

    def leader(self):
        try:
            return self.baton.stats(total=5).leader_node_id
        except Exception:
            return ""

    def finish(self, run, endpoint, fault_end=None, min_wait_after_fault=0.0):
        """The checks every scenario shares, after its tasks settled."""
        self.check_exits(run)
        run.check_statuses()
        run.check_leaks()
        run.check_new_work(endpoint)
        if fault_end is not None:
            left = fault_end + min_wait_after_fault - time.time()
            if left > 0:
                time.sleep(left)


    def check_exits(self, run):
        """A node that exited on its own (a crash, or a worker fenced off by a
        false death) is a failure even though the supervisor restarted it."""
        for node_id, exits in self.cluster.unexpected_exits().items():
            codes = ", ".join(str(code) for _, code in exits)
            run.fail(f"{node_id} exited on its own {len(exits)} time(s) (exit code {codes}); see its log")
            node = self.cluster.nodes[int(node_id.split("-")[1])]
            lines = [line for line in node.log_since(run.log_offsets.get(node.n, 0)).splitlines()
                     if "error" in line.lower() or "fenced" in line.lower() or "declared dead" in line.lower()]
            for line in lines[-3:]:
                run.failures.append("    " + line.strip()[:220])
            exits.clear()


def _wait(predicate, seconds, interval=0.2):
    end = time.monotonic() + seconds
    while time.monotonic() < end:
        try:
            if predicate():
                return True
        except Exception:
            pass
        time.sleep(interval)
    return False


# --- 1. instant restart ----------------------------------------------------------

def explained_by_kills(calls, instants, window=1.0):
    """A task's extra calls are explained when each call before one was in
    progress at a kill, or ended within `window` s before it (its outcome may
    not have been written yet). calls: sorted by start."""
    for prev in calls[:-1]:
        if not any(prev.start <= k + 0.05 and (prev.end is None or prev.end >= k - window) for k in instants):
            return False
    return True


def instant_restart(suite, run):
    """3,000 tasks of 50-300 ms flowing under max_concurrency 20; three times a
    node is killed -9 and restarted with the same command line within 1 s (the
    leader, a non-leader, any). Only tasks whose call was in progress at a kill
    (or ended within 1 s before it) may run twice."""
    suite.fresh_cluster(run)
    baton, service = suite.baton, suite.service
    endpoint = service.url("/restart")
    baton.put_config("restart_work", endpoint, timeout_seconds=120, max_retries=3, retry_backoff_ms=500,
                     max_concurrency=20)
    rng = random.Random(1)
    items = [{"task_type": "restart_work", "payload": {"ms": str(rng.randint(50, 300))}} for _ in range(3000)]
    t0 = time.time()
    run.create(items)
    log(f"  created {len(items)} tasks in {time.time() - t0:.1f}s")
    if service.wait_calls(1, 20) < 1:
        run.fail("no task was called within 20s of creation")
        return
    flow = time.time()
    kills = []  # (instant, node id)
    killed = set()
    restarted_at = flow
    for kind, at in (("leader", 4), ("non-leader", 14), ("any", 24)):
        time.sleep(max(0.0, flow + at - time.time()))
        leader = suite.leader()
        ids = [f"server-{n}" for n in (1, 2, 3)]
        if kind == "leader":
            victim = leader or rng.choice(ids)
        elif kind == "non-leader":
            others = [i for i in ids if i != leader]
            fresh = [i for i in others if i not in killed]
            victim = rng.choice(fresh or others)
        else:
            victim = rng.choice(ids)
        node = suite.cluster.nodes[int(victim.split("-")[1])]
        try:
            waiting = sum(v for k, v in run.counts().items() if k in (
                "TASK_STATUS_PENDING", "TASK_STATUS_QUEUED", "TASK_STATUS_SCHEDULED", "TASK_STATUS_RUNNING",
                "TASK_STATUS_RETRYING"))
        except Exception:
            waiting = -1
        node.mark(f"kill -9 ({kind})")
        instant, gap = node.kill9_restart()
        restarted_at = time.time()
        kills.append((instant, victim))
        killed.add(victim)
        log(f"  kill -9 {victim} ({kind}{', the leader' if victim == leader and kind != 'leader' else ''}); restarted after "
            f"{gap * 1000:.0f} ms; {waiting if waiting >= 0 else '?'} tasks not yet finished")
        if gap > 1.0:
            run.fail(f"restart of {victim} took {gap:.2f}s (> 1s)")
        if waiting == 0:
            run.note(f"the flow had ended before the {kind} kill")
        try:
            node.wait_ready(30)
        except RuntimeError as error:
            run.fail(str(error))
    run.kills = kills
    run.wait_settled(90, since=t0, fault_end=restarted_at)
    suite.finish(run, endpoint)
    instants = [k for k, _ in kills]
    calls = run.check_calls(allowed=lambda task_id, calls: explained_by_kills(calls, instants))
    cut = sum(1 for task_id in run.ids for c in calls.get(task_id, []) if c.outcome == "cut")
    run.note(f"calls cut by the kills: {cut}")


# --- 2. Redis frozen ---------------------------------------------------------------

def redis_frozen(suite, run):
    """20 tasks of 25 s running; redis-server SIGSTOPped for 12 s. Every task
    SUCCEEDED, each called exactly once."""
    suite.fresh_cluster(run)
    baton, service = suite.baton, suite.service
    endpoint = service.url("/frozen")
    baton.put_config("frozen_long", endpoint, timeout_seconds=60, max_retries=3, retry_backoff_ms=1000)
    t0 = time.time()
    run.create([{"task_type": "frozen_long", "payload": {"ms": "25000"}} for _ in range(20)])
    running = service.wait_calls(20, 20, predicate=lambda c: c.outcome == "open")
    if running < 20:
        run.note(f"only {running} of 20 calls were running when Redis froze")
    leader_before = suite.leader()
    suite.cluster.mark("redis SIGSTOP")
    pid = stores.freeze_redis()
    log(f"  redis-server (pid {pid}) SIGSTOP with {running} calls running")
    try:
        time.sleep(12)
    finally:
        stores.resume_redis()
    resumed = time.time()
    suite.cluster.mark("redis SIGCONT")
    log("  redis-server SIGCONT after 12s")
    run.wait_settled(90, since=t0, fault_end=resumed)
    leader_after = suite.leader()
    run.note(f"leader {leader_before or '?'} before, {leader_after or '?'} after")
    suite.finish(run, endpoint)
    run.check_calls()


# --- 3. MariaDB killed ----------------------------------------------------------------

def mariadb_killed(suite, run):
    """200 tasks of 100 ms (type timeout 10 s); mariadbd killed -9 mid-run and
    started again 5 s later. All SUCCEEDED, none ran twice."""
    suite.fresh_cluster(run)
    baton, service = suite.baton, suite.service
    endpoint = service.url("/db")
    baton.put_config("db_kill", endpoint, timeout_seconds=10, max_retries=3, retry_backoff_ms=500,
                     max_concurrency=10)
    t0 = time.time()
    run.create([{"task_type": "db_kill", "payload": {"ms": "100"}} for _ in range(200)])
    done = service.wait_calls(40, 30, predicate=lambda c: c.outcome == "ok")
    suite.cluster.mark("mariadbd kill -9")
    pid = stores.kill_mysql()
    log(f"  mariadbd (pid {pid}) kill -9 after {done} calls ended; {service.count()} started")
    time.sleep(5)
    t_start = time.time()
    stores.start_mysql()
    if not _wait(stores.mysql_answers, 60, interval=0.2):
        run.fail("MariaDB did not answer within 60s of its restart")
        return
    restarted = time.time()
    suite.cluster.mark("mariadbd started again")
    log(f"  mariadbd started again ({restarted - t_start:.1f}s to answer)")
    # Past the type's timeout (10 s) plus the recoverer's grace (5 s): a task
    # the outage left RUNNING would end TIMEOUT or run again by then.
    run.wait_settled(60, since=t0, fault_end=restarted)
    suite.finish(run, endpoint, fault_end=restarted, min_wait_after_fault=20)
    run.check_calls()


# --- 4. skewed clocks ------------------------------------------------------------------

TIME_RE = re.compile(r"(\d{4}-\d{2}-\d{2})[T ](\d{2}:\d{2}:\d{2}(?:\.\d+)?)(Z|[+-]\d{2}:?\d{2})?")


def _log_clock_offset(node, since):
    """Seconds between the node's newest log timestamp and the real time it was
    written (approximated by now): shows the faked clock took effect."""
    text = node.log_since(since)
    stamps = TIME_RE.findall(text)
    if not stamps:
        return None
    day, clock, zone = stamps[-1]
    try:
        moment = datetime.fromisoformat(f"{day}T{clock}{'+00:00' if zone in ('', 'Z') else zone}")
    except ValueError:
        return None
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=timezone.utc)
    return moment.timestamp() - time.time()


def skewed_clocks(suite, run):
    """server-2's clock +30 s (it leads), server-3's −30 s, server-1's true.
    Short tasks, 12 s tasks with a 15 s timeout, tasks delayed 5 s, and tasks
    whose first attempt fails (backoff 1 s). No early timeout, no early or
    late start, no worker declared dead, no duplicate."""
    suite.fresh_cluster(run, skews={2: "+30s", 3: "-30s"}, order=(2, 1, 3), leader=2)
    baton, service = suite.baton, suite.service
    for n, expect in ((2, 30), (3, -30)):
        node = suite.cluster.nodes[n]
        offset = _log_clock_offset(node, 0)
        if offset is None or abs(offset - expect) > 10:
            run.fail(f"libfaketime not in effect on server-{n}: its log clock is off by "
                     f"{'?' if offset is None else f'{offset:+.0f}s'}, expected {expect:+d}s")
            return
    endpoint = service.url("/skew")
    baton.put_config("skew_long", endpoint, timeout_seconds=15, max_retries=2, retry_backoff_ms=1000)
    baton.put_config("skew_short", endpoint, timeout_seconds=10, max_retries=2, retry_backoff_ms=1000)
    baton.put_config("skew_delayed", endpoint, timeout_seconds=10, max_retries=2, retry_backoff_ms=1000)
    baton.put_config("skew_retry", endpoint, timeout_seconds=10, max_retries=2, retry_backoff_ms=1000)

    samples = []  # (time, ids seen RETRYING)
    stop = threading.Event()

    def sample():
        while not stop.is_set():
            at = time.time()
            try:
                ids = baton.list_ids([RETRYING], "skew_retry")
                samples.append((at, time.time(), ids))
            except Exception:
                pass
            stop.wait(0.1)

    sampler = threading.Thread(target=sample, daemon=True)
    sampler.start()
    try:
        t0 = time.time()
        long_ids = run.create([{"task_type": "skew_long", "payload": {"ms": "12000"}} for _ in range(20)])
        run.create([{"task_type": "skew_short", "payload": {"ms": "50"}} for _ in range(200)])
        retry_ids = run.create([{"task_type": "skew_retry", "payload": {"ms": "50", "fail_first": "1"},
                                 "expected_calls": 2} for _ in range(40)])
        run_at = time.time() + 5
        delayed_ids = run.create([{"task_type": "skew_delayed", "payload": {"ms": "50"}, "run_at": run_at}
                                  for _ in range(40)])
        log(f"  created {len(run.ids)} tasks in {time.time() - t0:.1f}s (leader {suite.leader()})")
        run.wait_settled(60, since=t0)
    finally:
        stop.set()
        sampler.join(timeout=5)
    suite.finish(run, endpoint)
    calls = run.check_calls()

    early, late = [], []
    for task_id in delayed_ids:
        first = calls.get(task_id, [None])[0]
        if first is None:
            continue
        if first.start < run_at - 0.2:
            early.append((task_id, first.start - run_at))
        elif first.start > run_at + 10:
            late.append((task_id, first.start - run_at))
    if early:
        run.fail(f"{len(early)} delayed tasks called before run_at: "
                 + ", ".join(f"{t} {d:+.2f}s" for t, d in early[:4]))
    if late:
        run.fail(f"{len(late)} delayed tasks called more than 10s after run_at: "
                 + ", ".join(f"{t} {d:+.2f}s" for t, d in late[:4]))

    gaps, too_soon, too_late, unseen = [], [], [], []
    for task_id in retry_ids:
        mine = calls.get(task_id, [])
        if len(mine) < 2 or mine[0].end is None:
            continue
        failed, retry = mine[0], mine[1]
        gap = retry.start - failed.end
        gaps.append(gap)
        if gap < 0.75:  # 1000 ms backoff with ±20 % jitter, less measurement slack
            too_soon.append((task_id, gap))
        elif gap > 10:
            too_late.append((task_id, gap))
        window = [ids for asked, answered, ids in samples if asked > failed.end + 0.15 and answered < retry.start]
        if window and not any(task_id in ids for ids in window):
            unseen.append(task_id)
    if gaps:
        run.note(f"retry gaps {min(gaps):.2f}-{max(gaps):.2f}s (backoff 1s ±20%)")
    if too_soon:
        run.fail(f"{len(too_soon)} retries came sooner than the 1s backoff: "
                 + ", ".join(f"{t} after {g:.2f}s" for t, g in too_soon[:4]))
    if too_late:
        run.fail(f"{len(too_late)} retries came more than 10s after the failure: "
                 + ", ".join(f"{t} after {g:.1f}s" for t, g in too_late[:4]))
    if unseen:
        run.fail(f"{len(unseen)} tasks never read RETRYING during their backoff: {short(unseen, 4)}")

    # 12 s calls under a 15 s timeout: a call cut short is an early timeout.
    cut = [(t, c.end - c.start) for t in long_ids for c in calls.get(t, []) if c.outcome == "cut" and c.end]
    if cut:
        run.fail(f"{len(cut)} calls of 12s tasks (timeout 15s) were cut short: "
                 + ", ".join(f"{t} after {d:.1f}s" for t, d in cut[:4]))

    logs = suite.cluster.logs_since(run.log_offsets)
    dead = [(n, line) for n, text in logs.items() for line in text.splitlines() if "reclaimed dead worker" in line]
    if dead:
        run.fail(f"a worker was declared dead {len(dead)} times: {dead[0][1].strip()[:200]}")


# --- 5. Redis data loss --------------------------------------------------------------

def redis_data_loss(suite, run, count=50_000):
    """50,000 tasks of ~1 ms; FLUSHALL while most of them wait. Every task
    SUCCEEDED, each called exactly once."""
    suite.fresh_cluster(run)
    baton, service = suite.baton, suite.service
    endpoint = service.url("/flush")
    baton.put_config("flush_tiny", endpoint, timeout_seconds=30, max_retries=3, retry_backoff_ms=500)
    t0 = time.time()
    run.create([{"task_type": "flush_tiny", "payload": {"ms": "1"}} for _ in range(count)], batch=500, threads=3)
    created = time.time()
    log(f"  created {count} tasks in {created - t0:.1f}s ({count / max(0.001, created - t0):.0f}/s); "
        f"{service.count()} called so far")
    service.wait_calls(min(2000, count // 10), 30)
    before = service.count()
    suite.cluster.mark("FLUSHALL")
    stores.redis_cli("FLUSHALL")
    flushed = time.time()
    log(f"  FLUSHALL with {before} of {count} tasks called")
    if before >= count:
        run.note("every task had been called before FLUSHALL: the fault hit no waiting task")
    run.wait_settled(180, since=t0, fault_end=flushed)
    suite.finish(run, endpoint)
    run.check_calls()


SCENARIOS = [
    ("instant-restart", instant_restart),
    ("redis-frozen", redis_frozen),
    ("mariadb-killed", mariadb_killed),
    ("skewed-clocks", skewed_clocks),
    ("redis-data-loss", redis_data_loss),
]
