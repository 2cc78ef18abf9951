"""Task routes: each one's happy path and each error status it can produce."""

import datetime
import json
import time
import uuid

import pytest

MISSING = "01890000-0000-7000-8000-000000000000"


def now_rfc3339(delta_seconds=0):
    t = datetime.datetime.now(datetime.timezone.utc) + datetime.timedelta(seconds=delta_seconds)
    return t.strftime("%Y-%m-%dT%H:%M:%S.%fZ")


# --- create ---------------------------------------------------------------------------

def test_create_answers_201_and_the_task_in_proto_json(cluster):
    api = cluster.submitter
    body = api.create("echo", priority="PRIORITY_HIGH", payload={"a": "1", "b": "two"}, timeoutSeconds=7, maxRetries=2)
    task = body["task"]
    assert "deduplicated" not in body  # false is omitted
    assert task["taskType"] == "echo" and task["priority"] == "PRIORITY_HIGH"
    assert task["payload"] == {"a": "1", "b": "two"}
    assert task["timeoutSeconds"] == 7 and task["maxRetries"] == 2
    assert task["status"] in ("TASK_STATUS_QUEUED", "TASK_STATUS_SCHEDULED", "TASK_STATUS_RUNNING", "TASK_STATUS_SUCCEEDED")
    done = api.wait(task["taskId"], "TASK_STATUS_SUCCEEDED")
    assert done["result"] and "finishedAt" in done and "startedAt" in done and done["attempt"] == 1


ARGS = {"amount": 42, "items": [1, 2], "express": True, "note": None, "nested": {"to": "ops"}}


def test_create_with_args_returns_them_on_every_read(cluster):
    api = cluster.submitter
    task = api.create("echo", args=ARGS)["task"]
    assert task["args"] == ARGS and "payload" not in task
    assert api.task(task["taskId"])["args"] == ARGS
    listed = api.get(f"/api/v1/tasks?taskType=echo&pageSize=1000").json()["tasks"]
    assert [t["args"] for t in listed if t["taskId"] == task["taskId"]] == [ARGS]
    # The built-in echo answers the args as they were sent.
    done = api.wait(task["taskId"], "TASK_STATUS_SUCCEEDED")
    assert json.loads(done["result"]) == ARGS
    batch = api.post("/api/v1/tasks/batch", {"tasks": [{"taskType": "noop", "args": {"n": 1}}, {"taskType": "noop", "payload": {"n": "1"}}]},
                     expect=200).json()["tasks"]
    assert batch[0]["args"] == {"n": 1} and "payload" not in batch[0]
    assert batch[1]["payload"] == {"n": "1"} and "args" not in batch[1]


@pytest.mark.parametrize("body,words", [
    ({"args": {"a": 1}, "payload": {"a": "1"}}, "args and payload"),
    ({"args": {"big": "x" * ((1 << 20) + 1)}}, "args is larger"),
    ({"args": {f"k{i}": i for i in range(1025)}}, "args has 1025 keys"),
    ({"args": {"": 1}}, "args keys"),
    ({"args": [1, 2]}, "CreateTaskRequest"),
    ({"args": 42}, "CreateTaskRequest"),
    ({"args": "text"}, "CreateTaskRequest"),
])
def test_create_bad_args_is_400_and_creates_nothing(cluster, body, words):
    before = cluster.task_total()
    problem = cluster.submitter.post("/api/v1/tasks", {"taskType": "noop", **body}, expect=400).json()
    assert problem["code"] == "INVALID_ARGUMENT" and words in problem["detail"], problem
    assert cluster.task_total() == before


def test_create_with_defaults_omits_default_fields(cluster):
    task = cluster.submitter.create("noop")["task"]
    assert "priority" not in task  # PRIORITY_NORMAL is the default
    assert "payload" not in task and "args" not in task and "idempotencyKey" not in task and "runAt" not in task


def test_create_idempotency_key_answers_200_deduplicated(cluster):
    key = "idem-" + uuid.uuid4().hex
    first = cluster.submitter.create("noop", idempotencyKey=key)
    again = cluster.submitter.post("/api/v1/tasks", {"taskType": "noop", "idempotencyKey": key}, expect=200).json()
    assert again["deduplicated"] is True and again["task"]["taskId"] == first["task"]["taskId"]


def test_create_delayed_task_carries_run_at(cluster):
    run_at = now_rfc3339(3600)
    task = cluster.submitter.create("noop", runAt=run_at)["task"]
    assert task["runAt"][:19] == run_at[:19]
    assert cluster.submitter.task(task["taskId"])["status"] in ("TASK_STATUS_QUEUED", "TASK_STATUS_PENDING")
    cluster.submitter.post(f"/api/v1/tasks/{task['taskId']}/cancel", {}, expect=200)


@pytest.mark.parametrize("body,what", [
    ("{not json", "bad JSON"),
    ('["a"]', "not an object"),
    ('{"taskType": "echo", "bogus": 1}', "unknown field"),
    ('{"taskType": "echo", "priority": "PRIORITY_URGENT"}', "bad enum"),
    ('{"taskType": "echo", "payload": {"a": 1}}', "payload value not a string"),
    ('{"taskType": "echo", "timeoutSeconds": "soon"}', "wrong type"),
    ('{"taskType": 12}', "task type not a string"),
    ('{"taskType": "echo", "runAt": "tomorrow"}', "bad timestamp"),
    ("", "empty body"),
])
def test_create_malformed_body_is_400(cluster, body, what):
    before = cluster.task_total()
    response = cluster.submitter.request("POST", "/api/v1/tasks", data=body, expect=400)
    assert response.json()["code"] == "INVALID_ARGUMENT", what
    assert cluster.task_total() == before


def test_bodies_over_5_mib_are_413(cluster):
    before = cluster.task_total()
    big = {"taskType": "noop", "payload": {"a": "x" * (5 << 20)}}
    for path in ("/api/v1/tasks", "/api/v1/tasks/batch", f"/api/v1/tasks/{MISSING}/cancel", f"/api/v1/tasks/{MISSING}/retry",
                 "/api/v1/tasks/bulk-cancel", "/api/v1/tasks/bulk-retry"):
        assert cluster.admin.post(path, big, expect=413).json()["code"] == "RESOURCE_EXHAUSTED"
    cluster.admin.put("/api/v1/task-types/echo", {"executor": "local", "timeoutSeconds": 5, "endpoint": "x" * (5 << 20)}, expect=413)
    assert cluster.task_total() == before


def test_list_by_schedule(cluster):
    # A schedule's tasks (test_schedules.py makes some); none for one that never fired, a bad id is 400.
    assert cluster.viewer.get("/api/v1/tasks", params={"scheduleId": "never-fired"}, expect=200).json().get("tasks", []) == []
    cluster.viewer.get("/api/v1/tasks", params={"scheduleId": "x" * 65}, expect=400)


def test_list_unknown_parameter_is_400(cluster):
    cluster.viewer.get("/api/v1/tasks", params={"colour": "blue"}, expect=400)


def test_create_with_an_unknown_dependency_is_400(cluster):
    before = cluster.task_total()
    problem = cluster.submitter.post("/api/v1/tasks", {"taskType": "noop", "dependsOn": [MISSING]}, expect=400).json()
    assert problem["code"] == "INVALID_ARGUMENT"
    problem = cluster.submitter.post("/api/v1/tasks/batch", {"tasks": [{"taskType": "noop", "dependsOn": [MISSING]}]}, expect=400).json()
    assert problem["code"] == "INVALID_ARGUMENT"
    assert cluster.task_total() == before


def test_a_dependent_waits_for_its_parent(cluster):
    parent = cluster.submitter.create("noop", runAt=now_rfc3339(3600))["task"]
    child = cluster.submitter.post("/api/v1/tasks", {"taskType": "noop", "dependsOn": [parent["taskId"]]}, expect=201).json()["task"]
    assert child["status"] == "TASK_STATUS_WAITING"
    assert child["dependsOn"] == [parent["taskId"]]
    cluster.submitter.post(f"/api/v1/tasks/{parent['taskId']}/cancel", {}, expect=200)
    got = cluster.viewer.get(f"/api/v1/tasks/{child['taskId']}", expect=200).json()["task"]
    assert got["status"] == "TASK_STATUS_CANCELLED"
    assert parent["taskId"] in got.get("error", "")


def test_list_a_tasks_dependents(cluster):
    # ListTasks dependsOn=<id>: the tasks that depend on it, newest first, paged; waitingOn and blockedBy on each.
    parent = cluster.submitter.create("noop", runAt=now_rfc3339(3600))["task"]
    made = cluster.submitter.post("/api/v1/tasks/batch", {"tasks": [{"taskType": "noop", "dependsOn": [parent["taskId"]]}] * 3},
                                  expect=200).json()["tasks"]
    assert all(t["status"] == "TASK_STATUS_WAITING" and t["waitingOn"] == 1 for t in made), made
    ids = sorted((t["taskId"] for t in made), reverse=True)
    first = cluster.viewer.get("/api/v1/tasks", params={"dependsOn": parent["taskId"], "pageSize": 2}, expect=200).json()
    assert [t["taskId"] for t in first["tasks"]] == ids[:2]
    rest = cluster.viewer.get("/api/v1/tasks", params={"dependsOn": parent["taskId"], "pageSize": 2, "pageToken": first["nextPageToken"]},
                              expect=200).json()
    assert [t["taskId"] for t in rest["tasks"]] == ids[2:] and "nextPageToken" not in rest
    assert cluster.viewer.get("/api/v1/tasks", params={"dependsOn": ids[0]}, expect=200).json().get("tasks", []) == []
    cluster.viewer.get("/api/v1/tasks", params={"dependsOn": "not-a-task"}, expect=400)
    cluster.submitter.post(f"/api/v1/tasks/{parent['taskId']}/cancel", {}, expect=200)
    got = cluster.viewer.get(f"/api/v1/tasks/{ids[0]}", expect=200).json()["task"]
    assert got["status"] == "TASK_STATUS_CANCELLED" and got["blockedBy"] == parent["taskId"] and "waitingOn" not in got, got


# --- synchronous create (waitSeconds) ----------------------------------------------------

def test_create_with_wait_answers_the_finished_task(cluster):
    api = cluster.submitter
    started = time.monotonic()
    done = api.create("echo", waitSeconds=30, payload={"to": "ops"})["task"]
    assert done["status"] == "TASK_STATUS_SUCCEEDED" and done["result"] == '{"to":"ops"}', done
    failed = api.create("fail", waitSeconds=30, payload={"message": "no luck"})["task"]
    assert failed["status"] == "TASK_STATUS_FAILED" and "no luck" in failed["error"], failed
    assert time.monotonic() - started < 10


def test_create_with_wait_answers_a_long_task_as_it_stands(cluster):
    started = time.monotonic()
    task = cluster.submitter.create("sleep", waitSeconds=2, payload={"ms": "20000"})["task"]
    took = time.monotonic() - started
    try:
        assert task["status"] == "TASK_STATUS_RUNNING", task
        assert 1.9 <= took < 5, took
    finally:
        cluster.submitter.post(f"/api/v1/tasks/{task['taskId']}/cancel", {}, expect=(200, 409))


def test_create_with_wait_repeated_waits_for_the_existing_task(cluster):
    api = cluster.submitter
    key = "wait-" + uuid.uuid4().hex[:8]
    first = api.create("sleep", idempotencyKey=key, payload={"ms": "1500"})["task"]
    repeated = api.create("sleep", expect=200, idempotencyKey=key, payload={"ms": "1500"}, waitSeconds=30)
    assert repeated["deduplicated"] is True
    assert repeated["task"]["taskId"] == first["taskId"] and repeated["task"]["status"] == "TASK_STATUS_SUCCEEDED"


def test_create_with_a_bad_wait_is_400_and_creates_nothing(cluster):
    before = cluster.task_total()
    for wait in (-1, 301):
        problem = cluster.submitter.post("/api/v1/tasks", {"taskType": "noop", "waitSeconds": wait}, expect=400).json()
        assert problem["detail"] == f"wait_seconds must be 0-300 (0: answer at once), got {wait}", problem
    body = {"tasks": [{"taskType": "noop"}, {"taskType": "noop", "waitSeconds": 5}]}
    problem = cluster.submitter.post("/api/v1/tasks/batch", body, expect=400).json()
    assert problem["detail"].startswith("tasks[1].wait_seconds: BatchCreateTasks does not wait"), problem
    assert cluster.task_total() == before


def test_create_with_wait_past_the_watch_limit_is_429_and_creates_nothing(cluster):
    # Waiting creates share the key's watch places (harness.MAX_WATCHES_PER_KEY) with event streams.
    import threading
    import harness
    api = cluster.submitter
    answers = []
    holders = [threading.Thread(target=lambda: answers.append(api.create("sleep", waitSeconds=4, payload={"ms": "20000"})["task"]))
               for _ in range(harness.MAX_WATCHES_PER_KEY)]
    before = cluster.task_total()
    for holder in holders:
        holder.start()
    try:
        deadline = time.monotonic() + 3
        while cluster.task_total() < before + len(holders):
            assert time.monotonic() < deadline, "the waiting creates did not start"
            time.sleep(0.05)
        problem = api.post("/api/v1/tasks", {"taskType": "noop", "waitSeconds": 4}, expect=429).json()
        assert problem["code"] == "RESOURCE_EXHAUSTED", problem
        assert cluster.task_total() == before + len(holders), "the refused create created nothing"
        # Not waiting is not limited.
        api.create("noop")
    finally:
        for holder in holders:
            holder.join()
        for task in answers:
            api.post(f"/api/v1/tasks/{task['taskId']}/cancel", {}, expect=(200, 409))
    assert [task["status"] for task in answers] == ["TASK_STATUS_RUNNING"] * len(holders)


# --- batch ----------------------------------------------------------------------------

def test_batch_creates_in_order(cluster):
    body = {"tasks": [{"taskType": "noop", "payload": {"i": str(i)}} for i in range(5)]}
    tasks = cluster.submitter.post("/api/v1/tasks/batch", body, expect=200).json()["tasks"]
    assert [t["payload"]["i"] for t in tasks] == ["0", "1", "2", "3", "4"]
    assert len({t["taskId"] for t in tasks}) == 5


def test_batch_is_all_or_nothing(cluster):
    before = cluster.task_total()
    body = {"tasks": [{"taskType": "noop"}, {"taskType": "noop", "timeoutSeconds": -1}, {"taskType": "noop"}]}
    problem = cluster.submitter.post("/api/v1/tasks/batch", body, expect=400).json()
    assert "tasks[1]" in problem.get("detail", "")
    assert cluster.task_total() == before


# --- get, list --------------------------------------------------------------------------

def test_get_task_and_its_errors(cluster):
    task = cluster.submitter.create("noop")["task"]
    got = cluster.viewer.get(f"/api/v1/tasks/{task['taskId']}", expect=200).json()["task"]
    assert got["taskId"] == task["taskId"]
    assert cluster.viewer.get("/api/v1/tasks/not-a-task-id", expect=400).json()["code"] == "INVALID_ARGUMENT"
    problem = cluster.viewer.get(f"/api/v1/tasks/{MISSING}", expect=404).json()
    assert problem["code"] == "NOT_FOUND" and problem["title"] == "Not Found" and problem["type"] == "about:blank"


def test_list_filters_and_pages(cluster):
    name = "list-" + uuid.uuid4().hex[:8]
    cluster.put_type(name, executor="local", endpoint="noop")
    created = [cluster.submitter.create(name, idempotencyKey=f"k{i}")["task"]["taskId"] for i in range(5)]
    api = cluster.viewer
    page = api.get("/api/v1/tasks", params={"taskType": name, "pageSize": 2}, expect=200).json()
    assert [t["taskId"] for t in page["tasks"]] == created[::-1][:2]  # newest first
    seen = [t["taskId"] for t in page["tasks"]]
    while "nextPageToken" in page:
        page = api.get("/api/v1/tasks", params={"taskType": name, "pageSize": 2, "pageToken": page["nextPageToken"]},
                       expect=200).json()
        seen += [t["taskId"] for t in page["tasks"]]
    assert seen == created[::-1]
    oldest = api.get("/api/v1/tasks", params={"taskType": name, "oldestFirst": "true"}, expect=200).json()
    assert [t["taskId"] for t in oldest["tasks"]] == created
    by_key = api.get("/api/v1/tasks", params={"taskType": name, "idempotencyKey": "k3"}, expect=200).json()
    assert [t["taskId"] for t in by_key["tasks"]] == [created[3]]
    cluster.admin.wait(created[-1], "TASK_STATUS_SUCCEEDED")
    for statuses in (["SUCCEEDED"], ["TASK_STATUS_SUCCEEDED"], ["FAILED", "SUCCEEDED"], ["FAILED,SUCCEEDED"]):
        listed = api.get("/api/v1/tasks", params={"taskType": name, "statuses": statuses}, expect=200).json()
        assert all(t["status"] == "TASK_STATUS_SUCCEEDED" for t in listed["tasks"]), statuses
    none = api.get("/api/v1/tasks", params={"taskType": name, "statuses": "CANCELLED"}, expect=200).json()
    assert none.get("tasks", []) == [] and "nextPageToken" not in none
    window = api.get("/api/v1/tasks", params={"taskType": name, "createdAfter": now_rfc3339(-600),
                                              "createdBefore": now_rfc3339(60)}, expect=200).json()
    assert len(window["tasks"]) == 5


def test_list_page_size_above_the_maximum_is_clamped(cluster):
    # AIP-158, as ListTasks over gRPC: above the maximum (1,000) is clamped, not refused.
    cluster.viewer.get("/api/v1/tasks", params={"pageSize": 5000}, expect=200)


@pytest.mark.parametrize("params,what", [
    ({"pageSize": -1}, "negative page size"),
    ({"pageSize": "ten"}, "page size not a number"),
    ({"pageToken": "garbage!!"}, "page token garbage"),
    ({"pageToken": "djEKeHwKeQ=="}, "page token of other filters"),
    ({"statuses": "BOGUS"}, "bad status"),
    ({"statuses": "TASK_STATUS_NOPE"}, "bad status name"),
    ({"taskType": "bad type!"}, "bad task type"),
    ({"createdAfter": "yesterday"}, "bad timestamp"),
    ({"createdAfter": "2026-01-02T00:00:00Z", "createdBefore": "2026-01-01T00:00:00Z"}, "empty range"),
    ({"workerId": "w-1"}, "worker without another filter"),
    ({"workerId": "w" * 129, "taskType": "noop"}, "worker id too long"),
    ({"idempotencyKey": "k"}, "key without task type"),
    ({"idempotencyKey": "k" * 256, "taskType": "noop"}, "key too long"),
    ({"oldestFirst": "maybe"}, "bad boolean"),
])
def test_list_bad_query_is_400(cluster, params, what):
    problem = cluster.viewer.get("/api/v1/tasks", params=params, expect=400).json()
    assert problem["code"] == "INVALID_ARGUMENT", what


# --- logs -------------------------------------------------------------------------------

def test_logs_page_and_errors(cluster):
    api = cluster.submitter
    task = api.create("fail", payload={"message": "for the logs"})["task"]
    api.wait(task["taskId"], "TASK_STATUS_FAILED")
    api.post(f"/api/v1/tasks/{task['taskId']}/retry", {"reason": "for more log lines"}, expect=200)
    api.wait(task["taskId"], "TASK_STATUS_FAILED")
    assert api.task(task["taskId"])["attempt"] == 2
    path = f"/api/v1/tasks/{task['taskId']}/logs"
    # Workers write their log lines in batches: they may trail the status a little.
    # Wait until they are all in: at least three, and the same in two reads half a second apart.
    deadline = time.monotonic() + 10
    before = None
    while True:
        everything = cluster.viewer.get(path, expect=200).json().get("logs", [])
        if (len(everything) >= 3 and everything == before) or time.monotonic() > deadline:
            break
        before = everything
        time.sleep(0.5)
    assert len(everything) >= 3 and any("for more log lines" in line["message"] for line in everything), everything
    assert [int(line["id"]) for line in everything] == sorted(int(line["id"]) for line in everything)
    first = cluster.viewer.get(path, params={"pageSize": 1}, expect=200).json()
    assert len(first["logs"]) == 1 and first["nextPageToken"]
    second = cluster.viewer.get(path, params={"pageSize": 1, "pageToken": first["nextPageToken"]}, expect=200).json()
    assert second["logs"][0]["id"] == everything[1]["id"]
    other = cluster.submitter.create("noop")["task"]["taskId"]
    cluster.viewer.get(f"/api/v1/tasks/{other}/logs", params={"pageToken": first["nextPageToken"]}, expect=400)
    tail = cluster.viewer.get(path, params={"afterId": everything[0]["id"]}, expect=200).json()["logs"]
    assert [line["id"] for line in tail] == [line["id"] for line in everything[1:]]
    assert cluster.viewer.get(path, params={"afterId": everything[-1]["id"]}, expect=200).json().get("logs", []) == []
    for bad in ({"afterId": -1}, {"afterId": "abc"}, {"afterId": 1, "pageToken": first["nextPageToken"]}, {"colour": "x"}):
        cluster.viewer.get(path, params=bad, expect=400)
    cluster.viewer.get(path, params={"pageSize": -1}, expect=400)
    cluster.viewer.get(path, params={"pageToken": "garbage!!"}, expect=400)
    cluster.viewer.get("/api/v1/tasks/nope/logs", expect=400)
    cluster.viewer.get(f"/api/v1/tasks/{MISSING}/logs", expect=404)


# --- cancel, retry ----------------------------------------------------------------------

def test_cancel_and_retry_lifecycle(cluster):
    api = cluster.submitter
    task = api.create("sleep", payload={"ms": "30000"})["task"]
    running = api.wait(task["taskId"], "TASK_STATUS_RUNNING")
    assert running.get("workerId")
    # Retry a running task: 409.
    problem = api.post(f"/api/v1/tasks/{task['taskId']}/retry", {}, expect=409).json()
    assert problem["code"] == "FAILED_PRECONDITION"
    cancelled = api.post(f"/api/v1/tasks/{task['taskId']}/cancel", {"reason": "test"}, expect=200).json()["task"]
    assert cancelled["status"] == "TASK_STATUS_CANCELLED"
    # Cancel a finished task: 409.
    assert api.post(f"/api/v1/tasks/{task['taskId']}/cancel", {}, expect=409).json()["code"] == "FAILED_PRECONDITION"
    retried = api.post(f"/api/v1/tasks/{task['taskId']}/retry", {"reason": "again", "priority": "PRIORITY_HIGH"},
                       expect=200).json()["task"]
    assert retried["status"] not in ("TASK_STATUS_CANCELLED",) and retried["priority"] == "PRIORITY_HIGH"
    # The body may name the path's task, never another.
    other = api.create("noop")["task"]["taskId"]
    assert api.post(f"/api/v1/tasks/{task['taskId']}/cancel", {"taskId": other}, expect=400).json()["code"] == "INVALID_ARGUMENT"
    api.post(f"/api/v1/tasks/{task['taskId']}/cancel", {"taskId": task["taskId"]}, expect=200)
    api.post(f"/api/v1/tasks/{task['taskId']}/retry", {"taskId": task["taskId"]}, expect=200)
    # An empty body (with the JSON content type) is a body with no fields.
    api.request("POST", f"/api/v1/tasks/{task['taskId']}/cancel", data=None, expect=200)


def test_a_task_retried_right_after_cancelling_its_run_runs_again(cluster):
    # Cancel a RUNNING task and retry it at once, before its worker has wound
    # the aborted attempt up: it must be dispatched again like any retry.
    api = cluster.submitter
    task = api.create("sleep", payload={"ms": "10000"})["task"]
    api.wait(task["taskId"], "TASK_STATUS_RUNNING")
    api.post(f"/api/v1/tasks/{task['taskId']}/cancel", {}, expect=200)
    api.post(f"/api/v1/tasks/{task['taskId']}/retry", {}, expect=200)
    try:
        again = api.wait(task["taskId"], "TASK_STATUS_RUNNING", seconds=15)
        assert again["attempt"] == 2
    finally:
        api.post(f"/api/v1/tasks/{task['taskId']}/cancel", {}, expect=(200, 409))


def test_retry_succeeded_is_409_and_bad_bodies_are_400(cluster):
    api = cluster.submitter
    task = api.create("echo")["task"]
    api.wait(task["taskId"], "TASK_STATUS_SUCCEEDED")
    assert api.post(f"/api/v1/tasks/{task['taskId']}/retry", {}, expect=409).json()["code"] == "FAILED_PRECONDITION"
    assert api.post(f"/api/v1/tasks/{task['taskId']}/cancel", {}, expect=409).json()["code"] == "FAILED_PRECONDITION"
    for path in ("cancel", "retry"):
        api.post(f"/api/v1/tasks/{task['taskId']}/{path}", {"reason": "x" * 1025}, expect=400)
        api.post(f"/api/v1/tasks/{task['taskId']}/{path}", {"bogus": True}, expect=400)
        api.request("POST", f"/api/v1/tasks/{task['taskId']}/{path}", data="{oops", expect=400)
        api.post(f"/api/v1/tasks/not-an-id/{path}", {}, expect=400)
        api.post(f"/api/v1/tasks/{MISSING}/{path}", {}, expect=404)
    api.post(f"/api/v1/tasks/{task['taskId']}/retry", {"priority": "PRIORITY_URGENT"}, expect=400)
    assert api.task(task["taskId"])["status"] == "TASK_STATUS_SUCCEEDED"


# --- bulk -------------------------------------------------------------------------------

def test_bulk_cancel_and_retry(cluster):
    name = "bulk-" + uuid.uuid4().hex[:8]
    cluster.put_type(name, endpoint="noop")
    cluster.admin.post(f"/api/v1/task-types/{name}/pause", {}, expect=200)
    ids = [cluster.submitter.create(name)["task"]["taskId"] for _ in range(3)]
    dry = cluster.admin.post("/api/v1/tasks/bulk-cancel", {"filter": {"taskType": name}, "dryRun": True}, expect=200).json()
    assert dry == {"matched": "3"}  # changed 0 is omitted; int64 as a string
    done = cluster.admin.post("/api/v1/tasks/bulk-cancel", {"filter": {"taskType": name}, "reason": "bulk test"},
                              expect=200).json()
    assert done == {"matched": "3", "changed": "3"}
    assert all(cluster.admin.task(i)["status"] == "TASK_STATUS_CANCELLED" for i in ids)
    cluster.admin.post(f"/api/v1/task-types/{name}/resume", {}, expect=200)
    again = cluster.admin.post("/api/v1/tasks/bulk-retry",
                               {"filter": {"taskType": name, "statuses": ["TASK_STATUS_CANCELLED"]}, "limit": 2},
                               expect=200).json()
    assert again == {"matched": "2", "changed": "2"}


@pytest.mark.parametrize("route", ["bulk-cancel", "bulk-retry"])
@pytest.mark.parametrize("body,what", [
    ({}, "no filter"),
    ({"filter": {}}, "empty filter"),
    ({"filter": {"taskType": "noop"}, "limit": 100001}, "limit too large"),
    ({"filter": {"taskType": "noop"}, "limit": -1}, "negative limit"),
    ({"filter": {"taskType": "noop"}, "reason": "x" * 1025}, "reason too long"),
    ({"filter": {"taskType": "bad type!"}}, "bad type"),
    ({"filter": {"scheduleId": "x" * 65}}, "bad schedule id"),
    ({"filter": {"statuses": ["TASK_STATUS_BOGUS"]}}, "bad enum"),
    ({"filter": {"taskType": "noop", "bogus": 1}}, "unknown field in filter"),
    ({"filter": {"taskType": "noop"}, "bogus": 1}, "unknown field"),
])
def test_bulk_bad_requests_are_400(cluster, route, body, what):
    before = cluster.task_total()
    assert cluster.admin.post(f"/api/v1/tasks/{route}", body, expect=400).json()["code"] == "INVALID_ARGUMENT", what
    assert cluster.task_total() == before


def test_bulk_statuses_the_operation_does_not_apply_to_are_400(cluster):
    cluster.admin.post("/api/v1/tasks/bulk-cancel", {"filter": {"statuses": ["TASK_STATUS_SUCCEEDED"]}}, expect=400)
    cluster.admin.post("/api/v1/tasks/bulk-retry", {"filter": {"statuses": ["TASK_STATUS_RUNNING"]}}, expect=400)


# --- stats ------------------------------------------------------------------------------

def test_stats(cluster):
    stats = cluster.viewer.get("/api/v1/stats", expect=200).json()
    assert stats["nodeId"] == "rest-1" and stats["leaderNodeId"] == "rest-1" and int(stats["leaderEpoch"]) >= 1
    assert stats["workers"] and stats["workers"][0]["nodeId"] == "rest-1" and stats["workers"][0]["capacity"] == 8
    assert "TASK_STATUS_SUCCEEDED" in stats["tasksByStatus"]
