"""gRPC access to the three nodes, failing over between them (a node may be
down on purpose). Generated stubs live in chaos/gen (make chaos-proto)."""

import itertools
import sys
import threading
import time

from .common import CHAOS, GRPC_PORT

sys.path.insert(0, str(CHAOS / "gen"))

import grpc  # noqa: E402
from google.protobuf.timestamp_pb2 import Timestamp  # noqa: E402

from baton.v1 import admin_service_pb2 as admin_pb  # noqa: E402
from baton.v1 import admin_service_pb2_grpc as admin_grpc  # noqa: E402
from baton.v1 import task_service_pb2 as pb  # noqa: E402
from baton.v1 import task_service_pb2_grpc as task_grpc  # noqa: E402

S = pb.TaskStatus
TERMINAL = {S.Value("TASK_STATUS_SUCCEEDED"), S.Value("TASK_STATUS_FAILED"), S.Value("TASK_STATUS_CANCELLED"),
            S.Value("TASK_STATUS_TIMEOUT")}
SUCCEEDED = S.Value("TASK_STATUS_SUCCEEDED")
RETRYING = S.Value("TASK_STATUS_RETRYING")
TERMINAL_FAILURES = [S.Value("TASK_STATUS_FAILED"), S.Value("TASK_STATUS_CANCELLED"), S.Value("TASK_STATUS_TIMEOUT")]
# The statuses the server stores and filters on: the proto also names
# WAITING (dependencies), which its list filter refuses until they come.
STORED = [v for v in S.values() if S.Value("TASK_STATUS_PENDING") <= v <= S.Value("TASK_STATUS_RETRYING")]
NOT_SUCCEEDED = [v for v in STORED if v != SUCCEEDED]
TERMINAL_NAMES = {S.Name(v) for v in TERMINAL}

MISFIRE_RUN_ALL = admin_pb.MisfirePolicy.Value("MISFIRE_RUN_ALL")

RETRY_CODES = {grpc.StatusCode.UNAVAILABLE, grpc.StatusCode.DEADLINE_EXCEEDED, grpc.StatusCode.UNKNOWN,
               grpc.StatusCode.INTERNAL, grpc.StatusCode.CANCELLED, grpc.StatusCode.RESOURCE_EXHAUSTED}


def status_name(value):
    return S.Name(value).replace("TASK_STATUS_", "")


def timestamp(seconds):
    ts = Timestamp()
    ts.FromNanoseconds(int(seconds * 1e9))
    return ts


def seconds(ts):
    """A protobuf Timestamp as epoch seconds (None when unset)."""
    return ts.ToNanoseconds() / 1e9 if ts.seconds or ts.nanos else None


def schedule_of(schedule_id, cron, task_type, payload, misfire):
    """An admin_pb.Schedule for PutSchedule (UTC)."""
    return admin_pb.Schedule(schedule_id=schedule_id, cron=cron, task_type=task_type, payload=payload,
                             misfire=misfire)


def error_code(error):
    """A failed call's gRPC status name (the exception's type otherwise)."""
    code = getattr(error, "code", None)
    return code().name if callable(code) else type(error).__name__


class Baton:
    """TaskService / AdminService over the three nodes."""

    def __init__(self, targets=None):
        """targets: {n: "host:port"} of the nodes' gRPC servers (default: the
        chaos suite's three on loopback)."""
        targets = targets or {n: f"127.0.0.1:{port}" for n, port in GRPC_PORT.items()}
        options = [("grpc.initial_reconnect_backoff_ms", 100), ("grpc.min_reconnect_backoff_ms", 100),
                   ("grpc.max_reconnect_backoff_ms", 1000), ("grpc.max_receive_message_length", 64 << 20),
                   ("grpc.enable_retries", 0)]
        self.channels = {n: grpc.insecure_channel(target, options=options) for n, target in targets.items()}
        self.tasks = {n: task_grpc.TaskServiceStub(ch) for n, ch in self.channels.items()}
        self.admin = {n: admin_grpc.AdminServiceStub(ch) for n, ch in self.channels.items()}
        self._rotation = itertools.cycle(sorted(self.channels))
        self._lock = threading.Lock()

    def close(self):
        for channel in self.channels.values():
            channel.close()

    def _next(self):
        with self._lock:
            return next(self._rotation)

    def call(self, service, method, request, timeout=5.0, total=30.0, node=None):
        """One RPC; on UNAVAILABLE & co. tries the other nodes until `total` s pass."""
        end = time.monotonic() + total
        first = node or self._next()
        order = [first] + [n for n in sorted(self.channels) if n != first]
        last_error = None
        while True:
            for n in order:
                stub = (self.tasks if service == "task" else self.admin)[n]
                left = end - time.monotonic()
                if left <= 0:
                    raise last_error or TimeoutError(f"{method}: no node answered within {total}s")
                try:
                    return getattr(stub, method)(request, timeout=min(timeout, max(0.2, left)))
                except grpc.RpcError as error:
                    if error.code() not in RETRY_CODES:
                        raise
                    last_error = error
            time.sleep(0.2)

    # --- TaskService ----------------------------------------------------------

    def put_config(self, task_type, endpoint, timeout_seconds=30, max_retries=3, retry_backoff_ms=500,
                   max_concurrency=0, rate_limit=0):
        config = admin_pb.TaskConfig(task_type=task_type, executor="http", endpoint=endpoint,
                                     timeout_seconds=timeout_seconds, max_retries=max_retries,
                                     retry_backoff_ms=retry_backoff_ms, max_concurrency=max_concurrency,
                                     rate_limit_per_second=rate_limit, enabled=True)
        return self.call("admin", "PutTaskConfig", admin_pb.PutTaskConfigRequest(config=config))

    def create_batch(self, items, node=None):
        """items: dicts with task_type, payload, idempotency_key and optional
        run_at (epoch seconds), priority, max_retries, depends_on (task ids, or
        "#N": item N of this batch). Retried on other nodes; idempotency
        keys make a retried batch return the same tasks."""
        requests = []
        for item in items:
            request = pb.CreateTaskRequest(task_type=item["task_type"], payload=item.get("payload", {}),
                                           idempotency_key=item["idempotency_key"],
                                           priority=item.get("priority", 0), depends_on=item.get("depends_on", []))
            if item.get("max_retries") is not None:
                request.max_retries = item["max_retries"]
            if item.get("run_at") is not None:
                request.run_at.CopyFrom(timestamp(item["run_at"]))
            requests.append(request)
        response = self.call("task", "BatchCreateTasks", pb.BatchCreateTasksRequest(tasks=requests),
                             timeout=30, total=90, node=node)
        return [task.task_id for task in response.tasks]

    def get(self, task_id, timeout=3.0, total=10.0):
        return self.call("task", "GetTask", pb.GetTaskRequest(task_id=task_id), timeout=timeout, total=total).task

    def stats(self, timeout=3.0, total=6.0, node=None):
        return self.call("task", "GetStats", pb.GetStatsRequest(), timeout=timeout, total=total, node=node)

    def list_all(self, statuses=(), task_type="", limit=100_000, timeout=10.0, schedule_id=""):
        """Every task matching, paged (page size 1000)."""
        out = []
        token = ""
        while len(out) < limit:
            response = self.call("task", "ListTasks",
                                 pb.ListTasksRequest(statuses=list(statuses), task_type=task_type, page_size=1000,
                                                     page_token=token, schedule_id=schedule_id),
                                 timeout=timeout, total=30)
            out.extend(response.tasks)
            token = response.next_page_token
            if not token:
                break
        return out

    def list_ids(self, statuses, task_type, timeout=2.0):
        response = self.call("task", "ListTasks",
                             pb.ListTasksRequest(statuses=list(statuses), task_type=task_type, page_size=1000),
                             timeout=timeout, total=timeout)
        return {task.task_id for task in response.tasks}

    # --- operator calls -----------------------------------------------------------
    # Each goes to one chosen node (node=None: the next in turn) and fails over
    # only within `total`; the storm passes total=timeout so that each call's
    # own outcome is what it records.

    def get_config(self, task_type, node=None):
        return self.call("admin", "GetTaskConfig", admin_pb.GetTaskConfigRequest(task_type=task_type), node=node)

    def pause_type(self, task_type, node=None, timeout=10.0, total=30.0):
        return self.call("admin", "PauseTaskType", admin_pb.PauseTaskTypeRequest(task_type=task_type),
                         timeout=timeout, total=total, node=node)

    def resume_type(self, task_type, node=None, timeout=10.0, total=30.0):
        return self.call("admin", "ResumeTaskType", admin_pb.ResumeTaskTypeRequest(task_type=task_type),
                         timeout=timeout, total=total, node=node)

    def cancel(self, task_id, node=None, timeout=10.0, total=30.0):
        return self.call("task", "CancelTask", pb.CancelTaskRequest(task_id=task_id, reason="chaos"),
                         timeout=timeout, total=total, node=node).task

    def retry(self, task_id, node=None, timeout=10.0, total=30.0):
        return self.call("task", "RetryTask", pb.RetryTaskRequest(task_id=task_id, reason="chaos"),
                         timeout=timeout, total=total, node=node).task

    def bulk_cancel(self, task_type, created_after=None, created_before=None, node=None, timeout=10.0, total=30.0):
        """BulkCancelTasks of every non-terminal task of the type created in
        [created_after, created_before) (epoch seconds; None: unbounded)."""
        task_filter = pb.TaskFilter(task_type=task_type)
        if created_after is not None:
            task_filter.created_after.CopyFrom(timestamp(created_after))
        if created_before is not None:
            task_filter.created_before.CopyFrom(timestamp(created_before))
        return self.call("task", "BulkCancelTasks", pb.BulkTasksRequest(filter=task_filter, reason="chaos"),
                         timeout=timeout, total=total, node=node)

    # --- schedules ------------------------------------------------------------------

    def put_schedule(self, schedule, node=None):
        """PutSchedule of an admin_pb.Schedule (an upsert: pausing resends it)."""
        return self.call("admin", "PutSchedule", admin_pb.PutScheduleRequest(schedule=schedule), node=node)

    def get_schedule(self, schedule_id, node=None):
        return self.call("admin", "GetSchedule", admin_pb.GetScheduleRequest(schedule_id=schedule_id), node=node)

    def delete_schedule(self, schedule_id, node=None):
        return self.call("admin", "DeleteSchedule", admin_pb.DeleteScheduleRequest(schedule_id=schedule_id),
                         node=node)
