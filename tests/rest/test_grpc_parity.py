"""A task, a log page, a task type and the errors read the same over REST and
gRPC: the REST bodies are the gRPC messages in the proto JSON mapping
(google.protobuf.json_format writes the reference form)."""

import sys
import time

import grpc
import pytest
from google.protobuf import json_format

import harness


def generate_stubs():
    """Python stubs of proto/baton/v1, generated now (so they never lag behind the protos)."""
    import grpc_tools
    from grpc_tools import protoc
    out = harness.REPO / ".build-rest" / "gen"
    out.mkdir(parents=True, exist_ok=True)
    bundled = str(__import__("pathlib").Path(grpc_tools.__file__).parent / "_proto")
    protos = sorted(str(p.relative_to(harness.REPO / "proto")) for p in (harness.REPO / "proto" / "baton" / "v1").glob("*.proto"))
    code = protoc.main(["protoc", "-I", str(harness.REPO / "proto"), "-I", bundled, f"--python_out={out}",
                        f"--grpc_python_out={out}", *protos])
    assert code == 0, f"grpc_tools.protoc failed ({code})"
    return out


sys.path.insert(0, str(generate_stubs()))
from baton.v1 import admin_service_pb2 as admin_pb  # noqa: E402
from baton.v1 import admin_service_pb2_grpc as admin_grpc  # noqa: E402
from baton.v1 import task_service_pb2 as pb  # noqa: E402
from baton.v1 import task_service_pb2_grpc as task_grpc  # noqa: E402


def as_json(message):
    return json_format.MessageToDict(message)  # lowerCamelCase, enums by name, int64 as strings, defaults omitted


class Grpc:
    def __init__(self, cluster, key):
        self.channel = grpc.insecure_channel(cluster.node.grpc_target)
        self.tasks = task_grpc.TaskServiceStub(self.channel)
        self.admin = admin_grpc.AdminServiceStub(self.channel)
        self.metadata = (("authorization", f"Bearer {key}"),)

    def call(self, stub, method, request):
        return getattr(stub, method)(request, metadata=self.metadata, timeout=10)


@pytest.fixture(scope="module")
def rpc(cluster):
    client = Grpc(cluster, cluster.keys.admin)
    yield client
    client.channel.close()


def test_task_reads_the_same(cluster, rpc):
    body = {"taskType": "echo", "priority": "PRIORITY_HIGH", "payload": {"k": "v", "ü": "ß"}, "idempotencyKey": "parity-1",
            "maxRetries": 4, "timeoutSeconds": 9, "runAt": "2020-01-02T03:04:05.123456Z"}
    rest = cluster.submitter.post("/api/v1/tasks", body, expect=201).json()["task"]
    task_id = rest["taskId"]
    cluster.submitter.wait(task_id, "TASK_STATUS_SUCCEEDED")
    over_rest = cluster.admin.task(task_id)
    over_grpc = as_json(rpc.call(rpc.tasks, "GetTask", pb.GetTaskRequest(task_id=task_id)).task)
    assert over_rest == over_grpc
    # And a task created over gRPC reads over REST as gRPC answered it.
    request = json_format.ParseDict({"taskType": "noop", "payload": {"a": "b"}}, pb.CreateTaskRequest())
    answered = rpc.call(rpc.tasks, "CreateTask", request).task
    cluster.admin.wait(answered.task_id, "TASK_STATUS_SUCCEEDED")
    over_grpc = as_json(rpc.call(rpc.tasks, "GetTask", pb.GetTaskRequest(task_id=answered.task_id)).task)
    assert cluster.admin.task(answered.task_id) == over_grpc


def test_list_page_reads_the_same(cluster, rpc):
    rest = cluster.admin.get("/api/v1/tasks", params={"taskType": "echo", "pageSize": 3, "statuses": "SUCCEEDED"}, expect=200).json()
    grpc_page = as_json(rpc.call(rpc.tasks, "ListTasks", pb.ListTasksRequest(
        task_type="echo", page_size=3, statuses=[pb.TASK_STATUS_SUCCEEDED])))
    assert rest == grpc_page


def test_logs_read_the_same(cluster, rpc):
    task_id = cluster.submitter.create("sleep", payload={"ms": "5"})["task"]["taskId"]
    cluster.submitter.wait(task_id, "TASK_STATUS_SUCCEEDED")
    # Workers write log lines in batches: compare reads taken while nothing changed.
    for _ in range(50):
        before = cluster.admin.get(f"/api/v1/tasks/{task_id}/logs", expect=200).json()
        over_grpc = as_json(rpc.call(rpc.tasks, "GetTaskLogs", pb.GetTaskLogsRequest(task_id=task_id)))
        after = cluster.admin.get(f"/api/v1/tasks/{task_id}/logs", expect=200).json()
        if before == after and len(before.get("logs", [])) >= 2:
            break
        time.sleep(0.1)
    assert before == over_grpc


def test_task_type_reads_the_same(cluster, rpc):
    cluster.put_type("parity-type", executor="http", endpoint="https://example.com/x", headers={"X-A": "b"}, maxRetries=2,
                     retryBackoffMs=10, retentionHours=3)
    rest = cluster.admin.get("/api/v1/task-types/parity-type", expect=200).json()
    assert rest == as_json(rpc.call(rpc.admin, "GetTaskConfig", admin_pb.GetTaskConfigRequest(task_type="parity-type")))
    listed = cluster.admin.get("/api/v1/task-types", expect=200).json()
    assert listed == as_json(rpc.call(rpc.admin, "ListTaskConfigs", admin_pb.ListTaskConfigsRequest()))


def test_stats_have_the_same_shape(cluster, rpc):
    rest = cluster.admin.get("/api/v1/stats", expect=200).json()
    over_grpc = as_json(rpc.call(rpc.tasks, "GetStats", pb.GetStatsRequest()))
    assert rest.keys() == over_grpc.keys()
    assert rest["tasksByStatus"].keys() == over_grpc["tasksByStatus"].keys()
    assert [w["workerId"] for w in rest["workers"]] == [w["workerId"] for w in over_grpc["workers"]]


BAD = [
    ("CreateTask", "/api/v1/tasks", {"taskType": "echo", "timeoutSeconds": -1}),
    ("CreateTask", "/api/v1/tasks", {"taskType": "no-such-type"}),
    ("CreateTask", "/api/v1/tasks", {"taskType": "echo", "payload": {"": "x"}}),
    ("CreateTask", "/api/v1/tasks", {"taskType": "echo", "waitSeconds": 301}),
    ("BatchCreateTasks", "/api/v1/tasks/batch", {"tasks": [{"taskType": "echo", "waitSeconds": 3}]}),
    ("BatchCreateTasks", "/api/v1/tasks/batch", {"tasks": []}),
    ("BulkCancelTasks", "/api/v1/tasks/bulk-cancel", {"filter": {}}),
    ("BulkRetryTasks", "/api/v1/tasks/bulk-retry", {"filter": {"statuses": ["TASK_STATUS_RUNNING"]}}),
]


@pytest.mark.parametrize("method,path,body", BAD, ids=[f"{m}-{i}" for i, (m, _, _) in enumerate(BAD)])
def test_errors_carry_the_grpc_code_and_message(cluster, rpc, method, path, body):
    request_type = {"CreateTask": pb.CreateTaskRequest, "BatchCreateTasks": pb.BatchCreateTasksRequest,
                    "BulkCancelTasks": pb.BulkTasksRequest, "BulkRetryTasks": pb.BulkTasksRequest}[method]
    with pytest.raises(grpc.RpcError) as raised:
        rpc.call(rpc.tasks, method, json_format.ParseDict(body, request_type()))
    problem = cluster.admin.post(path, body, expect=None).json()
    assert problem["code"] == raised.value.code().name
    assert problem.get("detail") == raised.value.details()


def test_not_found_and_precondition_match(cluster, rpc):
    missing = "01890000-0000-7000-8000-000000000000"
    with pytest.raises(grpc.RpcError) as raised:
        rpc.call(rpc.tasks, "GetTask", pb.GetTaskRequest(task_id=missing))
    problem = cluster.admin.get(f"/api/v1/tasks/{missing}", expect=404).json()
    assert (problem["code"], problem.get("detail")) == (raised.value.code().name, raised.value.details())
    task_id = cluster.submitter.create("echo")["task"]["taskId"]
    cluster.submitter.wait(task_id, "TASK_STATUS_SUCCEEDED")
    with pytest.raises(grpc.RpcError) as raised:
        rpc.call(rpc.tasks, "CancelTask", pb.CancelTaskRequest(task_id=task_id))
    problem = cluster.admin.post(f"/api/v1/tasks/{task_id}/cancel", {}, expect=409).json()
    assert (problem["code"], problem.get("detail")) == (raised.value.code().name, raised.value.details())
