"""The bad inputs the gRPC API refuses (TaskRequestValidator,
BatonService batch limits) refused over REST too: 400 with a problem body
naming the field, and nothing created."""

import datetime

import pytest


def ts(days):
    t = datetime.datetime.now(datetime.timezone.utc) + datetime.timedelta(days=days)
    return t.strftime("%Y-%m-%dT%H:%M:%SZ")


BAD_CREATES = [
    ({"taskType": ""}, "task_type", "empty task type"),
    ({}, "task_type", "no task type"),
    ({"taskType": "x" * 65}, "task_type", "task type too long"),
    ({"taskType": "bad type!"}, "task_type", "task type with a space"),
    ({"taskType": "échec"}, "task_type", "task type not ASCII"),
    ({"taskType": "echo", "payload": {"big": "x" * (1 << 20)}}, "payload", "payload over 1 MiB"),
    ({"taskType": "echo", "payload": {f"k{i}": "" for i in range(1025)}}, "payload", "1,025 payload entries"),
    ({"taskType": "echo", "payload": {"": "v"}}, "payload", "empty payload key"),
    ({"taskType": "echo", "payload": {"k" * 257: "v"}}, "payload", "payload key over 256 bytes"),
    ({"taskType": "echo", "idempotencyKey": "k" * 256}, "idempotency_key", "idempotency key over 255 bytes"),
    ({"taskType": "echo", "timeoutSeconds": -1}, "timeout_seconds", "negative timeout"),
    ({"taskType": "echo", "timeoutSeconds": 0}, "timeout_seconds", "zero timeout"),
    ({"taskType": "echo", "timeoutSeconds": 86401}, "timeout_seconds", "timeout over the maximum"),
    ({"taskType": "echo", "maxRetries": -1}, "max_retries", "negative retries"),
    ({"taskType": "echo", "maxRetries": 101}, "max_retries", "retries over the maximum"),
    ({"taskType": "echo", "runAt": ts(400)}, "run_at", "runAt 400 days ahead"),
    ({"taskType": "echo", "runAt": "0001-01-01T00:00:00Z"}, "run_at", "runAt before 1970"),
    ({"taskType": "echo", "priority": 7}, "priority", "priority out of range (a number)"),
    ({"taskType": "echo", "priority": "PRIORITY_URGENT"}, None, "priority not a name"),
]


@pytest.mark.parametrize("body,field,what", BAD_CREATES, ids=[c[2] for c in BAD_CREATES])
def test_create_refuses_what_grpc_refuses(cluster, body, field, what):
    before = cluster.task_total()
    problem = cluster.submitter.post("/api/v1/tasks", body, expect=400).json()
    assert problem["code"] == "INVALID_ARGUMENT"
    if field:
        assert field.replace("_", "") in problem.get("detail", "").replace("_", "").lower() or \
            field in problem.get("detail", ""), f"{what}: detail should name {field}: {problem}"
    # The same item inside a batch: refused, and named by its index.
    batch = {"tasks": [{"taskType": "noop"}, body]}
    problem = cluster.submitter.post("/api/v1/tasks/batch", batch, expect=400).json()
    assert problem["code"] == "INVALID_ARGUMENT"
    assert cluster.task_total() == before


def test_batch_empty_and_too_big(cluster):
    before = cluster.task_total()
    for body in ({"tasks": []}, {}, {"tasks": [{"taskType": "noop"}] * 1001}):
        assert cluster.submitter.post("/api/v1/tasks/batch", body, expect=400).json()["code"] == "INVALID_ARGUMENT"
    cluster.submitter.post("/api/v1/tasks/batch", {"tasks": [{"taskType": "noop"}], "bogus": []}, expect=400)
    cluster.submitter.request("POST", "/api/v1/tasks/batch", data="[{}]", expect=400)
    assert cluster.task_total() == before


def test_batch_of_the_maximum_size_is_accepted(cluster):
    before = cluster.task_total()
    tasks = cluster.submitter.post("/api/v1/tasks/batch", {"tasks": [{"taskType": "noop"}] * 1000},
                                   expect=200).json()["tasks"]
    assert len(tasks) == 1000
    assert cluster.task_total() == before + 1000


def test_limits_at_their_edge_are_accepted(cluster):
    body = {"taskType": "n" * 64, "payload": {"k" * 256: "v", **{f"k{i}": "" for i in range(1023)}},
            "idempotencyKey": "i" * 255, "timeoutSeconds": 86400, "maxRetries": 100, "runAt": ts(365)}
    cluster.put_type("n" * 64, endpoint="noop")
    task = cluster.submitter.post("/api/v1/tasks", body, expect=201).json()["task"]
    assert len(task["payload"]) == 1024 and task["timeoutSeconds"] == 86400
    cluster.submitter.post(f"/api/v1/tasks/{task['taskId']}/cancel", {}, expect=200)
