"""The operator storm: random operator calls (PauseTaskType, ResumeTaskType,
CancelTask, RetryTask, BulkCancelTasks) on all three nodes while tasks are
created, each recorded with the client's own instants. Afterwards the calls
the business service saw are held against them: what an operator call
promises once it returned must hold for every call that started later."""

import random
import threading
import time
from collections import defaultdict
from dataclasses import dataclass

from .client import NOT_SUCCEEDED, TERMINAL, S, error_code, seconds, status_name
from .common import log

# A worker's call reaches the service a moment after its start write
# committed: a call that arrives this soon after an operator call returned
# may still belong to a start that came first.
SLACK = 0.05
# A later call is still excused when the attempt's own start write (the
# task's started_at, known for its latest attempt) came before the operator
# call returned and the call followed it soon: a started attempt may wait up
# to the worker's ready limit (250 ms) for its slot, then the call travels.
# An attempt that waited longer (RUNNING long before it held a slot) is no
# excuse.
SLOW_DELIVERY = 0.75
# A cancelled task's running call is aborted within a second (DESIGN.md,
# guarantee 8): RetryTask waits this long after a cancel of the task, so a
# rightful new attempt never overlaps the aborted one.
RETRY_AFTER_CANCEL = 2.0
# created_at within this of a bulk filter's created_after may fall either
# side of it (microsecond rounding): such tasks are left out of the checks
# that need to know whether the filter matched them.
EDGE = 0.002

WAITING = [v for v in NOT_SUCCEEDED if v not in TERMINAL]
FAILED = S.Value("TASK_STATUS_FAILED")
CANCELLED = S.Value("TASK_STATUS_CANCELLED")
# What each operator call may answer in a storm without faults.
EXPECTED_CODES = {"create": {"OK"}, "pause": {"OK"}, "resume": {"OK"}, "bulk-cancel": {"OK"},
                  "cancel": {"OK", "FAILED_PRECONDITION"}, "retry": {"OK", "FAILED_PRECONDITION"}}


@dataclass
class Op:
    kind: str          # create, pause, resume, cancel, retry, bulk-cancel
    target: str        # a task id or a task type
    node: int
    sent: float        # time.time() just before the call
    returned: float    # time.time() just after it answered
    code: str          # "OK" or the gRPC status name
    response: object = None
    created_after: float = None   # bulk-cancel's filter
    created_before: float = None


class Storm:
    """One thread creates, one per type pauses and resumes it, one cancels
    and retries. Cancels, retries and bulk cancels share one thread so that
    a bulk cancel's leftovers are listed before any retry could requeue a
    task it matched."""

    def __init__(self, baton, run, backoffs, seed):
        """backoffs: {task type: its retry_backoff_ms}."""
        self.baton = baton
        self.run = run
        self.types = sorted(backoffs)
        self.backoffs = dict(backoffs)
        self.seed = seed
        self.ops = []
        self.lock = threading.Lock()
        self.created = {}       # task id -> time.time() just after its create call returned
        self.fail_first = {}    # task id -> max_retries override (None: the type's)
        self.last_cancel = {}   # task id -> when a CancelTask of it last returned OK
        self.last_bulk = {}     # task type -> when a BulkCancelTasks of it last returned OK
        self.findings = []      # failures seen during the storm
        self.end = 0.0

    # --- running ----------------------------------------------------------------

    def run_for(self, duration):
        self.end = time.time() + duration
        threads = [self._thread("creator", self._creator)]
        threads += [self._thread(f"pauser-{t}", self._pauser, t) for t in self.types]
        threads.append(self._thread("canceller", self._canceller))
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()

    def resume_all(self):
        """Whatever the storm left: every type resumed, so every task can end."""
        for task_type in self.types:
            self._call("resume", task_type, 1, lambda t=task_type: self.baton.resume_type(t, node=1))

    def _thread(self, name, body, *args):
        rng = random.Random(f"{self.seed}-{name}")  # per thread: its choices repeat whatever the timing

        def guarded():
            try:
                body(rng, *args)
            except Exception as error:
                self.findings.append(f"harness error in the storm's {name} thread: {error!r}")

        return threading.Thread(target=guarded, name=f"storm-{name}", daemon=True)

    def _running(self):
        return time.time() < self.end

    def _call(self, kind, target, node, fn, **filters):
        sent = time.time()
        try:
            response, code = fn(), "OK"
        except Exception as error:
            response, code = None, error_code(error)
        op = Op(kind, target, node, sent, time.time(), code, response, **filters)
        with self.lock:
            self.ops.append(op)
        return op

    def _creator(self, rng):
        """Batches of 1-60 tasks of one type on a random node, 20-400 ms each,
        about 100 a second: more than the workers run, so queues hold work
        when an operator strikes. A quarter fail their first attempt (503),
        half of those with no retries left (they end FAILED: something for
        RetryTask)."""
        while self._running():
            task_type = rng.choice(self.types)
            items = []
            for _ in range(rng.randint(1, 60)):
                item = {"task_type": task_type, "payload": {"ms": str(rng.randint(20, 400))}}
                if rng.random() < 0.25:
                    item["payload"]["fail_first"] = "1"
                    item["max_retries"] = 0 if rng.random() < 0.5 else None
                items.append(item)
            node = rng.randint(1, 3)
            sent = time.time()
            ids = self.run.create(items, node=node)
            returned = time.time()
            for task_id, item in zip(ids, items):
                self.created[task_id] = returned
                if "fail_first" in item["payload"]:
                    self.fail_first[task_id] = item["max_retries"]
            with self.lock:
                self.ops.append(Op("create", task_type, node, sent, returned, "OK", len(ids)))
            time.sleep(rng.uniform(0.1, 0.5))

    def _pauser(self, rng, task_type):
        """Pauses the type for 0.3-2 s, then resumes it, again and again
        (often: a pause only bites on work already on a worker's queue); the
        last call is always a resume."""
        while True:
            time.sleep(rng.uniform(0.3, 1.5))
            if not self._running():
                return
            node = rng.randint(1, 3)
            self._call("pause", task_type, node, lambda: self.baton.pause_type(task_type, node=node, total=10))
            time.sleep(rng.uniform(0.3, 2.0))
            node = rng.randint(1, 3)
            self._call("resume", task_type, node, lambda: self.baton.resume_type(task_type, node=node, total=10))

    def _canceller(self, rng):
        candidates = set()
        listed = 0.0
        last_bulk = time.time()
        while self._running():
            if time.time() - listed >= 2.0:
                candidates = self._retry_candidates()
                listed = time.time()
            roll = rng.random()
            if roll < 0.08 and time.time() - last_bulk >= 6.0:
                self._bulk_cancel(rng)
                last_bulk = time.time()
            elif roll < 0.4 and candidates:
                self._retry(rng, candidates)
            else:
                self._cancel(rng)
            time.sleep(rng.uniform(0.05, 0.25))

    def _cancel(self, rng):
        """Mostly one of the newest tasks (likely still waiting or running),
        now and then any (likely finished: FAILED_PRECONDITION)."""
        ids = self.run.ids
        if not ids:
            return
        roll = rng.random()
        task_id = rng.choice(ids[-50:] if roll < 0.6 else ids[-500:] if roll < 0.9 else ids)
        node = rng.randint(1, 3)
        op = self._call("cancel", task_id, node, lambda: self.baton.cancel(task_id, node=node, total=10))
        if op.code == "OK":
            self.last_cancel[task_id] = op.returned

    def _retry_candidates(self):
        """FAILED and CANCELLED tasks of the storm (newest first, a page per type)."""
        found = set()
        for task_type in self.types:
            try:
                found |= self.baton.list_ids([FAILED, CANCELLED], task_type, timeout=5)
            except Exception:
                pass
        return {t for t in found if t in self.created}

    def _retry(self, rng, candidates):
        now = time.time()
        ready = [t for t in candidates
                 if now - max(self.last_cancel.get(t, 0.0), self.last_bulk.get(self.run.type_of[t], 0.0))
                 >= RETRY_AFTER_CANCEL]
        if not ready:
            return
        task_id = rng.choice(sorted(ready))
        candidates.discard(task_id)
        node = rng.randint(1, 3)
        self._call("retry", task_id, node, lambda: self.baton.retry(task_id, node=node, total=10))

    def _bulk_cancel(self, rng):
        """Every non-terminal task of one type created in the last 1-6 s (or
        ever); then none it matched may still be waiting or running."""
        task_type = rng.choice(self.types)
        node = rng.randint(1, 3)
        before = time.time()
        after = before - rng.uniform(1.0, 6.0) if rng.random() < 0.7 else None
        op = self._call("bulk-cancel", task_type, node,
                        lambda: self.baton.bulk_cancel(task_type, after, before, node=node, total=10),
                        created_after=after, created_before=before)
        if op.code != "OK":
            return
        self.last_bulk[task_type] = op.returned
        left = [t for t in self.baton.list_all(statuses=WAITING, task_type=task_type)
                if self._matched(op, t.task_id, seconds(t.created_at))]
        if left:
            self.findings.append(
                f"BulkCancelTasks ({task_type}, node {node}; matched {op.response.matched}, changed "
                f"{op.response.changed}) left {len(left)} tasks it matched waiting or running: "
                + ", ".join(f"{t.task_id} {status_name(t.status)}" for t in left[:4]))

    def _matched(self, op, task_id, created_at, strict=True):
        """Whether a bulk cancel's filter surely matched the task (strict:
        visible when the call was sent, not at the created_after edge), or
        may have matched it (strict=False)."""
        if self.run.type_of.get(task_id) != op.target or created_at is None:
            return False
        if strict:
            created = self.created.get(task_id)
            if created is None or created >= op.sent:
                return False
        after = op.created_after
        if after is not None and created_at < after + (EDGE if strict else -EDGE):
            return False
        return created_at < op.created_before

    # --- checks -------------------------------------------------------------------

    def check(self, tasks, calls):
        """tasks: {task id: Task} once everything settled; calls: by task."""
        run = self.run
        for finding in self.findings:
            run.fail(finding)
        self._check_codes()
        self._check_end_states(tasks)
        self._check_paused_starts(tasks, calls)
        events = self._stops_and_goes(tasks)
        self._check_cancelled_starts(tasks, calls, events)
        self._check_backoffs(calls, events)
        self._summarize(tasks)

    def _check_codes(self):
        unexpected = defaultdict(int)
        for op in self.ops:
            if op.code not in EXPECTED_CODES[op.kind]:
                unexpected[(op.kind, op.code)] += 1
        if unexpected:
            self.run.fail("operator calls answered unexpectedly (no fault was injected): "
                          + ", ".join(f"{kind} {code} ×{n}" for (kind, code), n in sorted(unexpected.items())))

    def _check_end_states(self, tasks):
        """SUCCEEDED, FAILED (only a task whose service failed it) or
        CANCELLED (only a task some cancel may have reached)."""
        missing = [t for t in self.run.ids if t not in tasks]
        if missing:
            self.run.fail(f"{len(missing)} tasks missing from ListTasks: {', '.join(missing[:4])}")
        bulks = [op for op in self.ops if op.kind == "bulk-cancel" and op.code == "OK"]
        cancelled = {op.target for op in self.ops if op.kind == "cancel" and op.code == "OK"}
        wrong = []
        for task in tasks.values():
            name = status_name(task.status)
            if name == "SUCCEEDED":
                continue
            if name == "FAILED" and task.task_id in self.fail_first:
                continue
            if name == "CANCELLED" and (task.task_id in cancelled or any(
                    self._matched(op, task.task_id, seconds(task.created_at), strict=False) for op in bulks)):
                continue
            wrong.append(task)
        if wrong:
            self.run.fail(f"{len(wrong)} tasks ended in a state nothing explains: " + ", ".join(
                f"{t.task_id} {status_name(t.status)} attempt {t.attempt}" for t in wrong[:4]))

    def _started_before(self, call, task, instant):
        """Whether the call's attempt began (its start write) before
        `instant`, as far as the records tell: the call came within SLACK of
        it; or the attempt's start write (started_at, kept for a task's
        latest attempt only) came before it and the call within
        SLOW_DELIVERY of the write; or, for an earlier attempt (start write
        unknown), the call came within SLOW_DELIVERY of the instant."""
        if call.start <= instant + SLACK:
            return True
        if task is None or task.attempt != call.attempt:
            return call.start <= instant + SLOW_DELIVERY
        started = seconds(task.started_at)
        return started is not None and started <= instant and call.start - started <= SLOW_DELIVERY

    def pause_windows(self):
        """{type: [(from, to)]}: from a PauseTaskType's return to the sending
        of the next ResumeTaskType of the type."""
        windows = {}
        for task_type in self.types:
            mine = sorted((op for op in self.ops if op.target == task_type and op.kind in ("pause", "resume")),
                          key=lambda op: op.sent)
            spans, paused = [], None
            for op in mine:
                if op.kind == "pause" and op.code == "OK" and paused is None:
                    paused = op.returned
                elif op.kind == "resume" and paused is not None:
                    spans.append((paused, op.sent))
                    paused = None
            if paused is not None:
                spans.append((paused, float("inf")))
            windows[task_type] = spans
        return windows

    def _check_paused_starts(self, tasks, calls):
        windows = self.pause_windows()
        bad = []
        for task_id in self.run.ids:
            spans = windows.get(self.run.type_of[task_id], [])
            for call in calls.get(task_id, []):
                for paused, resumed in spans:
                    if paused < call.start < resumed and not self._started_before(call, tasks.get(task_id), paused):
                        bad.append((task_id, call, call.start - paused))
        if bad:
            self.run.fail(f"{len(bad)} calls started while their type was paused: " + "; ".join(
                f"{t} {c!r}, {late:.3f}s after the pause returned" for t, c, late in bad[:4]))

    def _stops_and_goes(self, tasks):
        """{task id: [(instant, 'stop' | 'go', what)]}: a cancel that returned
        (CancelTask, or a BulkCancelTasks that surely matched the task), a
        RetryTask that was sent and answered OK."""
        events = defaultdict(list)
        for op in self.ops:
            if op.code != "OK":
                continue
            if op.kind == "cancel":
                events[op.target].append((op.returned, "stop", f"CancelTask on node {op.node}"))
            elif op.kind == "retry":
                events[op.target].append((op.sent, "go", "RetryTask"))
            elif op.kind == "bulk-cancel":
                for task_id, task in tasks.items():
                    if self._matched(op, task_id, seconds(task.created_at)):
                        events[task_id].append((op.returned, "stop", f"BulkCancelTasks on node {op.node}"))
        for mine in events.values():
            mine.sort(key=lambda e: e[0])
        return events

    def _check_cancelled_starts(self, tasks, calls, events):
        bad = []
        for task_id, mine in events.items():
            for call in calls.get(task_id, []):
                before = [e for e in mine if e[0] < call.start]
                if not before or before[-1][1] != "stop":
                    continue  # never cancelled before it, or retried since
                instant, _, what = before[-1]
                if not self._started_before(call, tasks.get(task_id), instant):
                    bad.append((task_id, call, call.start - instant, what))
        if bad:
            self.run.fail(f"{len(bad)} calls started after their task's cancel returned (no RetryTask since): "
                          + "; ".join(f"{t} {c!r}, {late:.3f}s after {what}" for t, c, late, what in bad[:4]))

    def _check_backoffs(self, calls, events):
        """After a failed attempt (503) the next one waits for the type's
        backoff (±20 % jitter) unless an operator's RetryTask came between:
        an entry of an older state (a stale entry) never starts a RETRYING
        task early."""
        early = []
        for task_id in self.run.ids:
            base = self.backoffs[self.run.type_of[task_id]] / 1000
            mine = calls.get(task_id, [])
            for failed, later in zip(mine, mine[1:]):
                if failed.outcome != "503" or failed.end is None or later.start - failed.end >= 0.75 * base:
                    continue
                if any(kind == "go" and failed.end <= at <= later.start for at, kind, _ in events.get(task_id, [])):
                    continue
                early.append((task_id, later, later.start - failed.end, base))
        if early:
            self.run.fail(f"{len(early)} attempts started before their backoff after a failed one: " + "; ".join(
                f"{t} {c!r} {gap:.3f}s after the failure (backoff {base:.1f}s)" for t, c, gap, base in early[:4]))

    def _summarize(self, tasks):
        by_kind = defaultdict(lambda: defaultdict(int))
        for op in self.ops:
            by_kind[op.kind][op.code] += 1
        calls = ", ".join(f"{kind} " + "/".join(f"{n} {code}" for code, n in sorted(codes.items()))
                          for kind, codes in sorted(by_kind.items()))
        ends = defaultdict(int)
        for task in tasks.values():
            ends[status_name(task.status)] += 1
        bulks = [op.response for op in self.ops if op.kind == "bulk-cancel" and op.code == "OK"]
        paused = sum(len(spans) for spans in self.pause_windows().values())
        self.run.note(f"operator calls: {calls}")
        self.run.note(f"{paused} pauses; bulk cancels matched {sum(r.matched for r in bulks)}, changed "
                      f"{sum(r.changed for r in bulks)}; end states "
                      + ", ".join(f"{n} {s}" for s, n in sorted(ends.items())))
        log(f"  storm: {len(self.ops)} operator calls, {len(self.run.ids)} tasks")
