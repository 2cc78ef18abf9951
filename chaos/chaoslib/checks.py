"""What every scenario checks once its fault is over: terminal states, calls
per task (ran twice), leaks in Redis and GetStats, and new work."""

import time
import uuid

from . import stores
from .client import NOT_SUCCEEDED, SUCCEEDED, TERMINAL_FAILURES, TERMINAL_NAMES, status_name
from .common import log, wait_until


def short(ids, n=8):
    ids = list(ids)
    more = f" … (+{len(ids) - n})" if len(ids) > n else ""
    return ", ".join(ids[:n]) + more


def fmt_counts(counts):
    return ", ".join(f"{k.replace('TASK_STATUS_', '')} {v}" for k, v in sorted(counts.items()) if v)


class Run:
    """One scenario's bookkeeping: tasks created, failures found, figures."""

    def __init__(self, name, baton, service, cluster):
        self.name = name
        self.baton = baton
        self.service = service
        self.cluster = cluster
        self.failures = []
        self.notes = []
        self.ids = []                 # every task of the scenario, in creation order
        self.type_of = {}             # task id -> type
        self.expected_calls = {}      # task id -> calls a correct run makes (1, or 2 with fail_first)
        self.settle_seconds = None
        self.after_fault_seconds = None
        self.ran_twice = 0
        self.allowed_twice = 0
        self.started = time.time()

    def fail(self, message):
        log(f"  FAIL {self.name}: {message.splitlines()[0]}")
        self.failures.append(message)

    def note(self, message):
        self.notes.append(message)

    # --- creating -------------------------------------------------------------

    def create(self, items, batch=500, threads=1, node=None):
        """items: dicts (task_type, payload, optional run_at, max_retries,
        expected_calls). node: the node to ask (one thread only). Returns the
        ids in order."""
        tag = uuid.uuid4().hex[:8]
        for i, item in enumerate(items):
            item.setdefault("idempotency_key", f"{self.name}-{tag}-{i}")
        batches = [items[i:i + batch] for i in range(0, len(items), batch)]
        results = [None] * len(batches)
        if threads <= 1:
            for i, chunk in enumerate(batches):
                results[i] = self.baton.create_batch(chunk, node=node)
        else:
            from concurrent.futures import ThreadPoolExecutor
            with ThreadPoolExecutor(threads) as pool:
                for i, ids in enumerate(pool.map(lambda c: self.baton.create_batch(c[1], node=c[0] % 3 + 1),
                                                 enumerate(batches))):
                    results[i] = ids
        out = []
        for chunk, ids in zip(batches, results):
            if len(ids) != len(chunk):
                raise RuntimeError(f"BatchCreateTasks returned {len(ids)} tasks for {len(chunk)}")
            for item, task_id in zip(chunk, ids):
                self.type_of[task_id] = item["task_type"]
                self.expected_calls[task_id] = item.get("expected_calls", 1)
                out.append(task_id)
        self.ids.extend(out)
        return out

    # --- settling -------------------------------------------------------------

    def counts(self):
        stats = self.baton.stats(timeout=3, total=3)
        return dict(stats.tasks_by_status)

    def wait_settled(self, seconds, since=None, fault_end=None):
        """Waits until every task of the database is terminal (the database is
        the scenario's own). Records the settle time; fails at the deadline."""
        since = since or self.started
        expected = len(self.ids)
        last = {}

        def settled():
            nonlocal last
            counts = self.counts()
            last = counts
            total = sum(counts.values())
            waiting = sum(v for k, v in counts.items() if k not in TERMINAL_NAMES)
            return total >= expected and waiting == 0

        progress_at = time.monotonic()
        end = time.monotonic() + seconds
        ok = False
        while time.monotonic() < end:
            try:
                if settled():
                    ok = True
                    break
            except Exception:
                pass
            if time.monotonic() - progress_at >= 10:
                progress_at = time.monotonic()
                log(f"  waiting: {fmt_counts(last) or 'no answer'}")
            time.sleep(0.5)
        now = time.time()
        if ok:
            self.settle_seconds = now - since
            if fault_end is not None:
                self.after_fault_seconds = now - fault_end
            return True
        waiting = {k: v for k, v in last.items() if k not in TERMINAL_NAMES and v}
        self.fail(f"not settled within {seconds:.0f}s: {fmt_counts(last) or 'GetStats did not answer'}")
        self._describe_unfinished(waiting)
        return False

    def _describe_unfinished(self, waiting):
        if not waiting:
            return
        try:
            statuses = [s for s in NOT_SUCCEEDED if "TASK_STATUS_" + status_name(s) in waiting]
            tasks = self.baton.list_all(statuses=statuses, limit=2000)
        except Exception as error:
            self.fail(f"could not list the unfinished tasks: {error}")
            return
        by_status = {}
        for task in tasks:
            by_status.setdefault(status_name(task.status), []).append(task)
        for status, group in sorted(by_status.items()):
            sample = group[:5]
            lines = [f"    {t.task_id} attempt {t.attempt} worker {t.worker_id or '-'} "
                     f"updated {t.updated_at.ToDatetime().strftime('%H:%M:%S.%f')[:-3]}" for t in sample]
            self.failures.append(f"  {len(group)} stranded {status}:\n" + "\n".join(lines))

    def check_statuses(self, expect="SUCCEEDED"):
        """Every task of the scenario SUCCEEDED; otherwise which, and why."""
        try:
            bad = self.baton.list_all(statuses=NOT_SUCCEEDED)
        except Exception as error:
            self.fail(f"ListTasks failed: {error}")
            return
        mine = [t for t in bad if t.task_id in self.type_of]
        if not mine:
            return
        by_status = {}
        for task in mine:
            by_status.setdefault(status_name(task.status), []).append(task)
        summary = ", ".join(f"{len(v)} {k}" for k, v in sorted(by_status.items()))
        by_type = {}
        for task in mine:
            by_type[task.task_type] = by_type.get(task.task_type, 0) + 1
        types = ", ".join(f"{n} {t}" for t, n in sorted(by_type.items()))
        self.fail(f"{len(mine)} of {len(self.ids)} tasks not SUCCEEDED: {summary} (by type: {types})")
        groups = {}
        for task in mine:
            groups.setdefault((status_name(task.status), task.task_type), []).append(task)
        shown = [t for _, group in sorted(groups.items()) for t in group[:2]][:8]
        for status, group in [("", shown)]:
            for task in group:
                status = status_name(task.status)
                error = (task.error or "").replace("\n", " ")[:140]
                self.failures.append(f"    {status} {task.task_id} ({task.task_type}) attempt {task.attempt} "
                                     f"worker {task.worker_id or '-'}{': ' + error if error else ''}")

    # --- calls ----------------------------------------------------------------

    def check_calls(self, allowed=None, calls=None):
        """Tasks called more often than a correct run would (ran twice).
        allowed(task_id, calls) -> True when the extra call is explained by
        the fault (a worker that really died). Returns calls by task."""
        calls = calls if calls is not None else self.service.calls_by_task()
        twice, explained, never = [], [], []
        for task_id in self.ids:
            mine = calls.get(task_id, [])
            if not mine:
                never.append(task_id)
            elif len(mine) > self.expected_calls[task_id]:
                if allowed is not None and allowed(task_id, mine):
                    explained.append(task_id)
                else:
                    twice.append(task_id)
        self.ran_twice = len(twice) + len(explained)
        self.allowed_twice = len(explained)
        if twice:
            detail = "; ".join(f"{t}: " + ", ".join(repr(c) for c in calls[t][:3]) for t in twice[:3])
            what = "unexplained " if allowed is not None else ""
            self.fail(f"{len(twice)} tasks ran more than once ({what}duplicates): {detail}")
        succeeded_never = []
        if never:
            # A SUCCEEDED http task that the service never saw is a lie.
            for task_id in never[:200]:
                try:
                    if self.baton.get(task_id).status == SUCCEEDED:
                        succeeded_never.append(task_id)
                except Exception:
                    pass
            if succeeded_never:
                self.fail(f"{len(succeeded_never)} tasks SUCCEEDED without any call to the service: "
                          f"{short(succeeded_never)}")
        return calls

    def check_attempts(self, calls=None):
        """For tasks an operator may rightly run again (RetryTask) or that
        fail on purpose: no attempt of a task called twice, and never two
        calls of one task at once. Returns calls by task."""
        calls = calls if calls is not None else self.service.calls_by_task()
        repeated, overlapping = [], []
        for task_id in self.ids:
            mine = calls.get(task_id, [])
            attempts = [c.attempt for c in mine]
            if len(set(attempts)) != len(attempts):
                repeated.append(task_id)
            if any(prev.end is None or later.start < prev.end for prev, later in zip(mine, mine[1:])):
                overlapping.append(task_id)
        self.ran_twice = len(repeated)
        for what, bad in (("an attempt called twice", repeated), ("calls at the same time", overlapping)):
            if bad:
                detail = "; ".join(f"{t}: " + ", ".join(repr(c) for c in calls[t][:4]) for t in bad[:3])
                self.fail(f"{len(bad)} tasks with {what}: {detail}")
        return calls

    # --- leaks ----------------------------------------------------------------

    def check_leaks(self, seconds=15, workers=3):
        """Redis queues, in-flight lists and in-use counters empty; GetStats
        queue depths 0 and no worker running anything. Polls until clean:
        acknowledgements trail the outcomes by a moment."""
        found = []

        def clean():
            nonlocal found
            found = stores.redis_leaks()
            stats = self.baton.stats(timeout=3, total=3)
            if stats.queue_high or stats.queue_normal or stats.queue_delayed:
                found.append(f"GetStats queues high {stats.queue_high} normal {stats.queue_normal} "
                             f"delayed {stats.queue_delayed}")
            for w in stats.workers:
                if w.running or w.queued:
                    found.append(f"GetStats worker {w.worker_id}: running {w.running} queued {w.queued}")
            if len(stats.workers) != workers:
                found.append(f"GetStats lists {len(stats.workers)} workers "
                             f"({', '.join(w.worker_id for w in stats.workers)}), expected {workers}")
            # The counts GetStats keeps (finished ones counted in the writes'
            # own transactions) agree with the table, whatever the fault.
            table = {"TASK_STATUS_" + status_name(k): v for k, v in stores.status_counts().items()}
            reported = {k: v for k, v in stats.tasks_by_status.items() if v}
            if table != reported:
                found.append(f"GetStats counts {fmt_counts(reported)} but the table holds {fmt_counts(table)}")
            return not found

        if not wait_until(clean, seconds, interval=0.5):
            self.fail("leaked: " + "; ".join(found or ["(the checks did not answer)"]))

    def check_new_work(self, endpoint, n=20, seconds=30):
        """The cluster still serves: n new short tasks SUCCEED."""
        self.baton.put_config("chaos_after", endpoint, timeout_seconds=10, max_retries=2, retry_backoff_ms=200)
        tag = uuid.uuid4().hex[:8]
        items = [{"task_type": "chaos_after", "payload": {"ms": "10"}, "idempotency_key": f"after-{tag}-{i}"}
                 for i in range(n)]
        try:
            ids = self.baton.create_batch(items)
        except Exception as error:
            self.fail(f"new work: BatchCreateTasks failed: {error}")
            return
        succeeded = set()
        ended_badly = set()

        def done():
            succeeded.update(self.baton.list_ids([SUCCEEDED], "chaos_after", timeout=3) & set(ids))
            ended_badly.update(self.baton.list_ids(TERMINAL_FAILURES, "chaos_after", timeout=3) & set(ids))
            return len(succeeded) == len(ids) or len(succeeded | ended_badly) == len(ids)

        if not wait_until(done, seconds, interval=0.3) or ended_badly:
            left = []
            for task_id in [t for t in ids if t not in succeeded][:4]:
                try:
                    left.append(f"{task_id} {status_name(self.baton.get(task_id, total=3).status)}")
                except Exception:
                    left.append(f"{task_id} ?")
            self.fail(f"new work: {n - len(succeeded)} of {n} new tasks not SUCCEEDED (deadline {seconds}s): "
                      f"{', '.join(left)}")
