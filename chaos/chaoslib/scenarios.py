"""The fault scenarios. Each starts a fresh cluster on an empty database
and an empty Redis, so one scenario's leftovers never blur the next."""

import math
import random
import re
import threading
import time
from collections import Counter
from datetime import datetime, timezone

from . import stores
from .checks import short
from .client import MISFIRE_RUN_ALL, RETRYING, error_code, schedule_of, status_name
from .common import log, wait_until
from .nodes import Cluster
from .storm import Storm


class Suite:
    def __init__(self, baton, service, seed=None):
        self.baton = baton
        self.service = service
        self.cluster = None
        self.seed = seed  # operator-storm's; None: a fresh one each run

    # --- per scenario ---------------------------------------------------------

    def fresh_cluster(self, run, skews=None, order=(1, 2, 3), leader=None, extra_args=(), node_args=None):
        if self.cluster is not None:
            self.cluster.stop()
            self.cluster = None
        stores.reset()
        self.service.reset()
        cluster = Cluster(skews, extra_args, node_args)
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

    def finish(self, run, endpoint, fault_end=None, min_wait_after_fault=0.0, all_succeeded=True,
               expected_exits=None):
        """The checks every scenario shares, after its tasks settled.
        all_succeeded=False: the scenario checks its tasks' end states itself
        (some are cancelled or fail on purpose). expected_exits: see check_exits."""
        self.check_exits(run, expected_exits)
        if all_succeeded:
            run.check_statuses()
        run.check_leaks()
        run.check_new_work(endpoint)
        if fault_end is not None:
            left = fault_end + min_wait_after_fault - time.time()
            if left > 0:
                time.sleep(left)


    def check_exits(self, run, expected=None):
        """A node that exited on its own (a crash, or a worker fenced off by a
        false death) is a failure even though the supervisor restarted it.
        expected: {node id: (after, most)}: up to `most` exits after the
        instant `after` are the scenario's own doing (a node that really was
        declared dead stops itself) and only noted; never a death by a signal
        (negative code: a crash, e.g. a Swift trap)."""
        expected = expected or {}
        for node_id, exits in self.cluster.unexpected_exits().items():
            codes = ", ".join(str(code) for _, code in exits)
            after, most = expected.get(node_id, (None, 0))
            if after is not None and len(exits) <= most and all(at >= after and code >= 0 for at, code in exits):
                run.note(f"{node_id} exited on its own {len(exits)} time(s) (exit code {codes}), as expected")
                exits.clear()
                continue
            run.fail(f"{node_id} exited on its own {len(exits)} time(s) (exit code {codes}); see its log")
            node = self.cluster.nodes[int(node_id.split("-")[1])]
            lines = [line for line in node.log_since(run.log_offsets.get(node.n, 0)).splitlines()
                     if "error" in line.lower() or "fenced" in line.lower() or "declared dead" in line.lower()]
            for line in lines[-3:]:
                run.failures.append("    " + line.strip()[:220])
            exits.clear()


def _wait(predicate, seconds, interval=0.2):
    """Whether predicate() held within `seconds` (an exception counts as not yet)."""
    return bool(wait_until(predicate, seconds, interval))


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


def _explain_late(suite, run, task_ids, since):
    """Notes where late tasks were: their rows, and what the nodes logged
    above info from `since` on (the suite prints notes with a failure)."""
    ids = ", ".join(f"'{t}'" for t in task_ids[:40])
    try:
        rows = stores.SERVICES.mysql_root(
            "SELECT worker_id, attempt, generation, status, COUNT(*), MIN(started_at), MAX(started_at) "
            f"FROM {stores.MYSQL_DB}.task WHERE task_id IN ({ids}) GROUP BY 1, 2, 3, 4")
        run.note("late tasks (worker, attempt, generation, status, count, first start, last start): "
                 + "; ".join(" ".join(line.split("\t")) for line in rows.splitlines()))
    except Exception as error:
        run.note(f"late tasks: no rows ({error})")
    for node in suite.cluster.nodes.values():
        lines = [line for line in node.log_since(run.log_offsets.get(node.n, 0)).splitlines()
                 if " warning " in line or " error " in line or "restor" in line or "leader" in line]
        for line in lines[-12:]:
            run.note(f"server-{node.n}: {line[:300]}")


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
        _explain_late(suite, run, [t for t, _ in late], run_at)

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


# --- 5b. Redis data loss with a waiting DAG ------------------------------------------

def layered_dag(layers, width, fan_in, first=0):
    """Parents (indices, from `first`) of a root fanning out to `layers`
    layers of `width` tasks, each depending on `fan_in` tasks of the layer
    above, then a sink fanning in the last layer: topological order."""
    parents = [[]]
    above = [first]
    for _ in range(layers):
        start = first + len(parents)
        step = max(1, len(above) // fan_in)
        for i in range(width):
            parents.append(sorted({above[(i + j * step) % len(above)] for j in range(fan_in)}))
        above = list(range(start, start + width))
    parents.append(above)
    return parents


def create_dag(run, items, parents, batch=500):
    """Creates items (topological order) in batches: a parent of the same
    batch is "#N", an earlier one its id. Returns the ids."""
    ids = []
    for start in range(0, len(items), batch):
        chunk = items[start:start + batch]
        for offset, item in enumerate(chunk):
            item["depends_on"] = [f"#{p - start}" if p >= start else ids[p] for p in parents[start + offset]]
        ids += run.create(chunk, batch=batch)
    return ids


def check_dependency_order(run, calls, parents_of):
    """No call of a dependent started before every call of each of its
    parents had ended. Returns the gaps (first call of a dependent − the
    last end of its parents' calls, s)."""
    early, gaps = [], []
    for child, parents in parents_of.items():
        mine = calls.get(child, [])
        if not parents or not mine:
            continue
        first = min(c.start for c in mine)
        ends = [c.end for p in parents for c in calls.get(p, [])]
        called = all(calls.get(p) for p in parents)
        if not called or None in ends or first < max(ends):
            early.append(child)
            continue
        gaps.append(first - max(ends))
    if early:
        child = early[0]
        detail = "; ".join(f"{p}: {calls.get(p, [])}" for p in parents_of[child][:4])
        run.fail(f"{len(early)} dependents called before all their parents' calls ended, e.g. {child} "
                 f"{calls.get(child)} after {detail}")
    return gaps


def redis_data_loss_with_waiting_dag(suite, run):
    """A DAG of 2,402 tasks of 20-150 ms (a root fanning out to 60 layers of
    40, each task depending on 3 of the layer above, and a sink), beside two
    gates that fan out to 500 and 300 tasks of 5-30 ms, each fanning in to
    one. FLUSHALL 50 ms after the first gate's call ended (its 500 released
    and queued, most not yet run), with most of the DAG WAITING and parents
    running; the second gate ends about a second later (its release meets
    Redis without a leader or being restored). Every task SUCCEEDED, each
    called exactly once, and no call of a dependent started before every
    call of each of its parents had ended."""
    suite.fresh_cluster(run)
    baton, service = suite.baton, suite.service
    endpoint = service.url("/dag")
    baton.put_config("dag_step", endpoint, timeout_seconds=30, max_retries=3, retry_backoff_ms=500)
    rng = random.Random(25)
    parents = layered_dag(60, 40, 3)
    durations = [rng.randint(20, 150) for _ in parents]
    gates = []
    for gate_ms, fan in ((3000, 500), (4200, 300)):
        gate = len(parents)
        gates.append(gate)
        parents += [[]] + [[gate]] * fan + [list(range(gate + 1, gate + 1 + fan))]
        durations += [gate_ms] + [rng.randint(5, 30) for _ in range(fan)] + [10]
    items = [{"task_type": "dag_step", "payload": {"ms": str(ms)}} for ms in durations]
    t0 = time.time()
    ids = create_dag(run, items, parents)
    parents_of = {ids[i]: [ids[p] for p in ps] for i, ps in enumerate(parents)}
    log(f"  created {len(ids)} tasks with {sum(map(len, parents))} edges in {time.time() - t0:.1f}s; "
        f"{service.count()} called so far")
    first_gate = ids[gates[0]]
    if service.wait_calls(1, 30, predicate=lambda c: c.task_id == first_gate) < 1:
        run.fail("the first gate was not called within 30s")
        return
    index = next(i for i, c in enumerate(service.records()) if c.task_id == first_gate)
    if not _wait(lambda: service.records(since=index)[0].end is not None, 30, interval=0.01):
        run.fail("the first gate's call did not end within 30s")
        return
    time.sleep(0.05)
    stats = service.stats()
    suite.cluster.mark("FLUSHALL")
    stores.redis_cli("FLUSHALL")
    flushed = time.time()
    try:
        counts = run.counts()
    except Exception:
        counts = {}
    waiting = counts.get("TASK_STATUS_WAITING", 0)
    queued = counts.get("TASK_STATUS_QUEUED", 0) + counts.get("TASK_STATUS_SCHEDULED", 0)
    log(f"  FLUSHALL with {stats['records']} of {len(ids)} tasks called, {stats['open']} calls running; "
        f"just after: {waiting} WAITING, {queued} QUEUED or SCHEDULED")
    if waiting < len(ids) // 3:
        run.note(f"only {waiting} tasks WAITING at the FLUSHALL")
    if stats["open"] == 0:
        run.note("no call was running at the FLUSHALL")
    run.wait_settled(180, since=t0, fault_end=flushed)
    _note_restore(suite, run)
    suite.finish(run, endpoint)
    calls = run.check_calls()
    gaps = check_dependency_order(run, calls, parents_of)
    if gaps:
        run.note(f"a dependent's first call after its parents' last call ended: p50 {_percentile(gaps, 0.5) * 1000:.0f} ms, "
                 f"p99 {_percentile(gaps, 0.99) * 1000:.0f} ms, max {max(gaps) * 1000:.0f} ms ({len(gaps)} dependents)")


def _note_restore(suite, run):
    """What the leader put back after the data loss (its log), noted."""
    for node in suite.cluster.nodes.values():
        for line in node.log_since(run.log_offsets.get(node.n, 0)).splitlines():
            if "tasks put back" in line or "requeued tasks Redis did not hold" in line:
                run.note(f"{node.id}: {line.split(' baton: ', 1)[-1].strip()[:160]}")


# --- 6. operator storm ----------------------------------------------------------------

STORM_SECONDS = 60


def operator_storm(suite, run):
    """60 s of random operator calls on all three nodes (seeded: --seed)
    while two types' tasks of 20-400 ms are created, some failing their
    first attempt, some with no retries: PauseTaskType / ResumeTaskType,
    CancelTask, RetryTask, BulkCancelTasks; then every type resumed. Every
    task ends SUCCEEDED, FAILED or CANCELLED as its calls explain; no
    attempt ran twice or beside another; no call started while its type was
    paused, or after its task's cancel returned unless retried since, nor
    before the backoff after a failed attempt; a bulk cancel leaves none of
    its matches waiting or running."""
    suite.fresh_cluster(run)
    baton, service = suite.baton, suite.service
    endpoint = service.url("/storm")
    backoffs = {"storm_capped": 300, "storm_free": 500}  # retry_backoff_ms
    for task_type, backoff in backoffs.items():
        baton.put_config(task_type, endpoint, timeout_seconds=30, max_retries=2, retry_backoff_ms=backoff,
                         max_concurrency=12 if task_type == "storm_capped" else 0)
    seed = suite.seed if suite.seed is not None else random.randrange(1 << 31)
    log(f"  seed {seed} (run.py --seed {seed} repeats the operators' choices)")
    run.note(f"seed {seed}")
    storm = Storm(baton, run, backoffs, seed)
    t0 = time.time()
    storm.run_for(STORM_SECONDS)
    storm.resume_all()
    stormed = time.time()
    log(f"  storm over after {stormed - t0:.0f}s: {len(run.ids)} tasks, {len(storm.ops)} operator calls; "
        f"every type resumed")
    run.wait_settled(70, since=t0, fault_end=stormed)
    suite.finish(run, endpoint, all_succeeded=False)
    tasks = {task.task_id: task for task in baton.list_all() if task.task_id in run.type_of}
    storm.check(tasks, run.check_attempts())


# --- 7. a worker stopped across its death ------------------------------------------------

def worker_stopped_across_death(suite, run):
    """Tasks of 100-300 ms flowing on server-1 and -2; server-3's worker alone
    runs stopped_solo (30 tasks of 2-3.5 s, timeout 120 s). mariadbd killed -9,
    so what server-3 takes next waits for its start write's retry; 1.5 s
    later server-3 (not the leader) SIGSTOPped and mariadbd started again.
    Once the leader declared server-3's worker dead (heartbeat TTL 9 s), at
    least 15 s after the SIGSTOP: SIGCONT, with redis-server SIGSTOPped for
    its first 1.5 s (so the woken worker's start write lands before it can
    hear of its death). All SUCCEEDED within 40 s of the SIGCONT (a task the
    dead worker started would sit RUNNING until its timeout); only tasks
    whose call was in progress at the SIGSTOP or ended since the kill ran
    twice; server-3 may exit once (fenced), never by a crash."""
    solo_only = ["--task-types", "stopped_solo"]
    others = ["--task-types", "stopped_work,chaos_after"]
    suite.fresh_cluster(run, leader=1, node_args={1: others, 2: others, 3: solo_only})
    baton, service = suite.baton, suite.service
    endpoint = service.url("/stopped")
    for task_type in ("stopped_solo", "stopped_work"):
        baton.put_config(task_type, endpoint, timeout_seconds=120, max_retries=3, retry_backoff_ms=500)
    node = suite.cluster.nodes[3]
    worker_id = next(w.worker_id for w in baton.stats().workers if w.node_id == node.id)
    rng = random.Random(7)
    t0 = time.time()
    solo = set(run.create([{"task_type": "stopped_solo", "payload": {"ms": str(rng.randint(2000, 3500))}}
                           for _ in range(30)]))
    run.create([{"task_type": "stopped_work", "payload": {"ms": str(rng.randint(100, 300))}} for _ in range(600)])
    if service.wait_calls(10, 30, predicate=lambda c: c.task_id in solo and c.outcome == "open") < 10:
        run.fail(f"{node.id} was not running 10 stopped_solo calls within 30s of creation")
        return
    # Without MariaDB the victim's start write of what it takes next fails
    # and waits for a retry: work it holds unstarted across its death. Its
    # type runs nowhere else, so that work still waits when it wakes.
    suite.cluster.mark("mariadbd kill -9")
    killed = time.time()
    stores.kill_mysql()
    time.sleep(1.5)
    node.mark("SIGSTOP")
    stopped = node.freeze()
    queued, inflight = stores.worker_lists(worker_id)
    log(f"  mariadbd kill -9; 1.5s later SIGSTOP {node.id}, its worker holding {queued} queued, {inflight} in flight")
    if "could not start tasks" not in node.log_since(run.log_offsets[3]):
        run.note(f"{node.id} logged no start write waiting for a retry before its SIGSTOP: it may have held "
                 f"nothing unstarted")
    declared = False
    try:
        stores.start_mysql()
        if not _wait(stores.mysql_answers, 60):
            run.fail("MariaDB did not answer within 60s of its restart")
        suite.cluster.mark("mariadbd started again")
        declared = _wait(lambda: _declared_dead(suite, run, worker_id), 60)
        time.sleep(max(0.0, stopped + 15 - time.time()))
        # Redis away as it wakes: its heartbeat cannot tell it that it is
        # dead before its pending start write reaches MariaDB.
        suite.cluster.mark("redis SIGSTOP")
        stores.freeze_redis()
        woke = node.thaw()
        node.mark("SIGCONT")
        time.sleep(1.5)
    finally:
        node.thaw()
        stores.resume_redis()
    suite.cluster.mark("redis SIGCONT")
    log(f"  SIGCONT {node.id} after {woke - stopped:.1f}s ({'after' if declared else 'but no'} "
        f"'reclaimed dead worker'), redis-server SIGSTOPped for its first 1.5s")
    if not declared:
        run.fail(f"the leader never logged 'reclaimed dead worker' for {worker_id}: the scenario did not test "
                 f"what it is for")
    run.wait_settled(40, since=t0, fault_end=woke)
    if not _wait(lambda: node.exits, 15):
        run.note(f"{node.id} did not stop itself after waking")
    suite.finish(run, endpoint, expected_exits={node.id: (woke, 1)})
    run.check_calls(allowed=lambda task_id, calls: explained_by_kills(calls, [stopped], window=stopped - killed + 1))


def _declared_dead(suite, run, worker_id):
    logs = suite.cluster.logs_since(run.log_offsets)
    return any("reclaimed dead worker" in line and worker_id in line
               for text in logs.values() for line in text.splitlines())


# --- 8. Redis frozen during a resume -----------------------------------------------------

def redis_frozen_during_resume(suite, run):
    """A paused type with 300 short tasks parked; redis-server SIGSTOPped,
    ResumeTaskType called on a non-leader during the freeze (whatever it
    answers is recorded), SIGCONT 8 s after the freeze. All SUCCEEDED within
    30 s of the SIGCONT (no stranded parked backlog), none ran twice, none
    before the resume."""
    suite.fresh_cluster(run)
    baton, service = suite.baton, suite.service
    endpoint = service.url("/resume")
    task_type = "resume_backlog"
    baton.put_config(task_type, endpoint, timeout_seconds=30, max_retries=3, retry_backoff_ms=500)
    baton.pause_type(task_type)
    t0 = time.time()
    run.create([{"task_type": task_type, "payload": {"ms": "20"}} for _ in range(300)])
    if not _wait(lambda: stores.parked(task_type) >= 300, 30):
        run.fail(f"only {stores.parked(task_type)} of 300 entries were parked within 30s of creation")
        return
    leader = suite.leader()
    n = next(n for n in (1, 2, 3) if f"server-{n}" != leader)
    suite.cluster.mark("redis SIGSTOP")
    frozen = time.time()
    pid = stores.freeze_redis()
    try:
        log(f"  redis-server (pid {pid}) SIGSTOP with 300 entries parked; ResumeTaskType on server-{n}")
        sent = time.time()
        try:
            baton.resume_type(task_type, node=n, timeout=5, total=5)
            answer = "OK"
        except Exception as error:
            answer = error_code(error)
        run.note(f"ResumeTaskType on server-{n} during the freeze answered {answer} after {time.time() - sent:.1f}s")
        time.sleep(max(0.0, frozen + 8 - time.time()))
    finally:
        stores.resume_redis()
    thawed = time.time()
    suite.cluster.mark("redis SIGCONT")
    log(f"  redis-server SIGCONT after {thawed - frozen:.1f}s; ResumeTaskType had answered {answer}")
    if baton.get_config(task_type, node=n).paused:
        if answer == "OK":
            run.fail("ResumeTaskType answered OK but the type still reads paused")
        else:
            # The call failed before MySQL changed: an operator calls again.
            run.note("the type still read paused after the failed call: resumed again")
            baton.resume_type(task_type, node=n)
    run.wait_settled(30, since=t0, fault_end=thawed)
    suite.finish(run, endpoint)
    calls = run.check_calls()
    early = [(t, c) for t in run.ids for c in calls.get(t, []) if c.start < sent]
    if early:
        run.fail(f"{len(early)} tasks of the paused type were called before ResumeTaskType: "
                 + ", ".join(f"{t} {c!r}" for t, c in early[:4]))

# --- 9. the leader killed while schedules fire ---------------------------------------------

FIRE_SECONDS = 72
# The leader SIGSTOPped this many s after the puts, for this long: past the
# lock's TTL (10 s) and the firer's grace (5 s), so another node leads and
# catches up the missed fire times (RUN_ALL), and the stopped one wakes as a
# deposed leader whose pass (read before the stop) must write nothing.
LEADER_FREEZE = (44, 18.0)
# Each kill: this many s after the schedules were put, then this many s past
# the next whole second, the fire time of every schedule: inside the
# leader's pass over the 11 (fire transactions, then the pushes to Redis).
LEADER_KILLS = ((12, 0.004), (34, 0.012))
NS = 1_000_000_000


def fire_gaps(times, first, end, step):
    """One task per fire time from `first` up to `end` (excluded), every
    `step` (all in ns): the fire times with more than one task, those with
    none, and those that are no fire time of the range."""
    counts = Counter(times)
    expected = set(range(first, end, step))
    duplicated = sorted(t for t, n in counts.items() if n > 1)
    missing = sorted(expected - set(counts))
    extra = sorted(set(counts) - expected)
    return duplicated, missing, extra


def _clock(ns):
    return datetime.fromtimestamp(ns / NS, timezone.utc).strftime("%H:%M:%S.%f")[:-3]


def _percentile(values, q):
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(round(q * (len(ordered) - 1))))]


def _adopt(run, tasks):
    """Tasks the schedules created become the scenario's (checked as if it
    created them: SUCCEEDED, called once)."""
    for task in tasks:
        if task.task_id not in run.type_of:
            run.ids.append(task.task_id)
            run.type_of[task.task_id] = task.task_type
            run.expected_calls[task.task_id] = 1


def leader_killed_while_firing(suite, run):
    """Ten schedules `@every 1s` and one `*/2 * * * * *` (six fields, seconds
    first), all MISFIRE_RUN_ALL, firing tasks of 20 ms for 60 s; the leader
    killed -9 a few ms after a fire time (inside its fire pass) and
    restarted with the same command line at once, twice (it takes its own
    lock back at once). Then paused (next_fire_at read) and deleted. Per schedule
    exactly one task per fire time from its first (PutSchedule's
    next_fire_at) to the paused next_fire_at: no duplicate, no gap; all
    SUCCEEDED; only tasks whose call was in progress at a kill (or ended
    within 1 s before it) ran twice. Lateness (created_at - scheduled_for)
    is noted, not asserted."""
    suite.fresh_cluster(run)
    baton, service = suite.baton, suite.service
    endpoint = service.url("/cron")
    task_type = "cron_work"
    baton.put_config(task_type, endpoint, timeout_seconds=30, max_retries=3, retry_backoff_ms=500)
    specs = [(f"every-{i:02d}", "@every 1s", 1) for i in range(10)] + [("even-seconds", "*/2 * * * * *", 2)]
    step = {schedule_id: every * NS for schedule_id, _, every in specs}
    schedules, first = {}, {}
    t0 = time.time()
    for schedule_id, cron, _ in specs:
        schedule = schedule_of(schedule_id, cron, task_type, {"ms": "20"}, MISFIRE_RUN_ALL)
        first[schedule_id] = baton.put_schedule(schedule).next_fire_at.ToNanoseconds()
        schedules[schedule_id] = schedule
    log(f"  {len(schedules)} schedules put (RUN_ALL); first fire {_clock(min(first.values()))}")
    if service.wait_calls(len(schedules), 10) < len(schedules):
        run.fail(f"fewer than {len(schedules)} scheduled tasks called within 10s of the puts")
        return
    kills = []  # kill instants
    for at, past in LEADER_KILLS:
        time.sleep(max(0.0, t0 + at - time.time()))
        if not _wait(lambda: bool(suite.leader()), 15):
            run.fail(f"no leader to kill {at}s after the puts")
            return
        leader = suite.leader()
        time.sleep(max(0.0, math.ceil(time.time()) + past - time.time()))
        node = suite.cluster.nodes[int(leader.split("-")[1])]
        node.mark("kill -9 (leader, schedules firing)")
        instant, gap = node.kill9_restart()
        kills.append(instant)
        log(f"  kill -9 {leader} (the leader) {(instant % 1) * 1000:.0f} ms past a fire time; restarted after {gap * 1000:.0f} ms; {service.count()} calls so far")
        if gap > 1.0:
            run.fail(f"restart of {leader} took {gap:.2f}s (> 1s)")
        try:
            node.wait_ready(30)
        except RuntimeError as error:
            run.fail(str(error))
    frozen_node, woke = None, None
    time.sleep(max(0.0, t0 + LEADER_FREEZE[0] - time.time()))
    leader = suite.leader()
    if not leader:
        run.fail(f"no leader to stop {LEADER_FREEZE[0]}s after the puts")
        return
    frozen_node = suite.cluster.nodes[int(leader.split("-")[1])]
    time.sleep(max(0.0, math.ceil(time.time()) + 0.003 - time.time()))
    frozen_node.mark("SIGSTOP (leader, schedules firing)")
    stopped = frozen_node.freeze()
    try:
        time.sleep(LEADER_FREEZE[1])
    finally:
        woke = frozen_node.thaw()
    frozen_node.mark("SIGCONT")
    kills.append(stopped)
    log(f"  SIGSTOP {leader} (the leader) for {woke - stopped:.1f}s; leader meanwhile {suite.leader() or '?'}")
    time.sleep(max(0.0, t0 + FIRE_SECONDS - time.time()))
    # Paused before deleted: next_fire_at then names the first fire time
    # that never fired, the end of what each schedule owes.
    end = {}
    for schedule_id, schedule in schedules.items():
        schedule.paused = True
        baton.put_schedule(schedule)
        end[schedule_id] = baton.get_schedule(schedule_id).next_fire_at.ToNanoseconds()
    paused = time.time()
    suite.cluster.mark("schedules paused")
    log(f"  schedules paused {paused - t0:.0f}s after the puts; leader now {suite.leader() or '?'}")
    for schedule_id in schedules:
        _adopt(run, baton.list_all(schedule_id=schedule_id))
    run.wait_settled(60, since=t0, fault_end=paused)
    # Read again: final statuses, and any task fired since the pause.
    fired = {schedule_id: baton.list_all(schedule_id=schedule_id) for schedule_id in schedules}
    for tasks in fired.values():
        _adopt(run, tasks)
    # The stopped leader's worker was declared dead meanwhile: it stops itself once on waking.
    suite.finish(run, endpoint, expected_exits={frozen_node.id: (woke, 1)})
    run.check_calls(allowed=lambda task_id, calls: explained_by_kills(calls, kills))
    for schedule_id in schedules:
        _check_fires(run, schedule_id, fired[schedule_id], first[schedule_id], end[schedule_id], step[schedule_id])
    _note_lateness(run, fired, kills, service.calls_by_task())
    _note_schedule_logs(suite, run)
    for schedule_id in schedules:
        baton.delete_schedule(schedule_id)
        try:
            baton.get_schedule(schedule_id)
            run.fail(f"GetSchedule {schedule_id} still answers after DeleteSchedule")
        except Exception as error:
            if error_code(error) != "NOT_FOUND":
                run.fail(f"GetSchedule {schedule_id} after DeleteSchedule: {error_code(error)}, expected NOT_FOUND")


def _check_fires(run, schedule_id, tasks, first, end, step):
    if first % step:
        run.fail(f"{schedule_id}: first fire {_clock(first)} is not on its {step // NS}s grid")
    times = [task.scheduled_for.ToNanoseconds() for task in tasks]
    duplicated, missing, extra = fire_gaps(times, first, end, step)
    expected = len(range(first, end, step))
    log(f"  {schedule_id}: {len(tasks)} tasks for {expected} fire times {_clock(first)}..{_clock(end - step)}")
    if duplicated:
        ids = {t: [task.task_id for task in tasks if task.scheduled_for.ToNanoseconds() == t] for t in duplicated}
        run.fail(f"{schedule_id}: {len(duplicated)} fire times with more than one task (duplicates): "
                 + "; ".join(f"{_clock(t)} {short(ids[t], 3)}" for t in duplicated[:4]))
    if missing:
        run.fail(f"{schedule_id}: {len(missing)} of {expected} fire times without a task (RUN_ALL gaps): "
                 + ", ".join(_clock(t) for t in missing[:8]))
    if extra:
        run.fail(f"{schedule_id}: {len(extra)} tasks for no fire time of {_clock(first)}..{_clock(end - step)}: "
                 + ", ".join(_clock(t) for t in extra[:8]))
    bad = [task for task in tasks if status_name(task.status) != "SUCCEEDED"]
    if bad:
        run.fail(f"{schedule_id}: {len(bad)} tasks not SUCCEEDED: "
                 + ", ".join(f"{task.task_id} {status_name(task.status)}" for task in bad[:4]))


def _note_lateness(run, fired, kills, calls):
    """created_at - scheduled_for of every task, and its first call's start
    - scheduled_for; fires near a kill (from 1 s before it until 1 s after
    the first task created after it) apart."""
    tasks = [task for group in fired.values() for task in group]
    if not tasks:
        return
    created = sorted(task.created_at.ToNanoseconds() / NS for task in tasks)
    windows = []
    for kill in kills:
        resumed = next((c for c in created if c > kill), None)
        if resumed is None:
            run.note(f"no scheduled task created after the kill at {_clock(int(kill * NS))}")
            continue
        windows.append((kill - 1, resumed + 1))
        run.note(f"kill at {_clock(int(kill * NS))}: fires resumed {resumed - kill:.1f}s later")
    late = [(task.created_at.ToNanoseconds() - task.scheduled_for.ToNanoseconds()) / NS for task in tasks]
    run.note(f"lateness (created_at - scheduled_for) of {len(late)} fires: p50 {_percentile(late, 0.5) * 1000:.0f} ms, "
             f"p99 {_percentile(late, 0.99) * 1000:.0f} ms, max {max(late) * 1000:.0f} ms")
    calm = [lateness for task, lateness in zip(tasks, late)
            if not any(a <= task.scheduled_for.ToNanoseconds() / NS <= b for a, b in windows)]
    if calm:
        run.note(f"fires not near a kill: {len(calm)}, {sum(1 for x in calm if x > 1)} later than 1s "
                 f"(p50 {_percentile(calm, 0.5) * 1000:.0f} ms, p99 {_percentile(calm, 0.99) * 1000:.0f} ms, "
                 f"max {max(calm) * 1000:.0f} ms)")
    called = [(calls[task.task_id][0].start - task.scheduled_for.ToNanoseconds() / NS, task) for task in tasks
              if calls.get(task.task_id)]
    if called:
        delays = [delay for delay, _ in called]
        calm_calls = [delay for delay, task in called
                      if not any(a <= task.scheduled_for.ToNanoseconds() / NS <= b for a, b in windows)]
        worst, task = max(called, key=lambda pair: pair[0])
        # A fire committed but not yet pushed to Redis when its leader died
        # waits for the reconciler ("requeued tasks Redis did not hold").
        run.note(f"first call - scheduled_for: p50 {_percentile(delays, 0.5) * 1000:.0f} ms, "
                 f"p99 {_percentile(delays, 0.99) * 1000:.0f} ms, max {worst * 1000:.0f} ms "
                 f"({task.schedule_id} {_clock(task.scheduled_for.ToNanoseconds())} {task.task_id}); "
                 f"not near a kill {sum(1 for x in calm_calls if x > 1)} of {len(calm_calls)} later than 1s")


def _note_schedule_logs(suite, run):
    """The nodes' warnings and errors about schedules, and the reconciler
    queueing what a dead leader committed but never pushed, counted by
    message."""
    found = Counter()
    for text in suite.cluster.logs_since(run.log_offsets).values():
        for line in text.splitlines():
            lower = line.lower()
            if ("schedule" in lower and ("warning" in lower or "error" in lower or "schedule fire" in lower)
                    or "requeued tasks redis did not hold" in lower):
                found[re.sub(r"^\S+\s+", "", line.strip())[:160]] += 1
    for message, n in found.most_common(5):
        run.note(f"node log, {n}x: {message}")


SCENARIOS = [
    ("instant-restart", instant_restart),
    ("redis-frozen", redis_frozen),
    ("mariadb-killed", mariadb_killed),
    ("skewed-clocks", skewed_clocks),
    ("redis-data-loss", redis_data_loss),
    ("redis-data-loss-with-waiting-dag", redis_data_loss_with_waiting_dag),
    ("operator-storm", operator_storm),
    ("worker-stopped-across-death", worker_stopped_across_death),
    ("redis-frozen-during-resume", redis_frozen_during_resume),
    ("leader-killed-while-firing", leader_killed_while_firing),
]
