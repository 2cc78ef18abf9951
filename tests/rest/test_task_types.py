"""Task-type routes: put, get, list, delete, pause, resume; their errors."""

import uuid

import pytest


def fresh(prefix="tt"):
    return f"{prefix}-{uuid.uuid4().hex[:8]}"


def test_put_get_list_delete(cluster):
    name = fresh()
    body = {"taskType": name, "executor": "http", "endpoint": "http://127.0.0.1:9/hook", "timeoutSeconds": 12,
            "maxRetries": 3, "retryBackoffMs": 250, "maxConcurrency": 4, "rateLimitPerSecond": 9, "enabled": True,
            "headers": {"X-Team": "ops"}, "retentionHours": 24}
    stored = cluster.admin.put(f"/api/v1/task-types/{name}", body, expect=200).json()
    assert {k: stored[k] for k in body} == body
    assert "updatedAt" in stored and "paused" not in stored
    assert cluster.admin.get(f"/api/v1/task-types/{name}", expect=200).json() == stored
    listed = cluster.admin.get("/api/v1/task-types", expect=200).json()["configs"]
    assert stored in listed
    # Replace: taskType may be omitted (the path's); defaults are omitted in the answer.
    replaced = cluster.admin.put(f"/api/v1/task-types/{name}", {"executor": "local", "timeoutSeconds": 5}, expect=200).json()
    assert replaced["taskType"] == name and replaced["executor"] == "local" and "enabled" not in replaced
    assert cluster.admin.delete(f"/api/v1/task-types/{name}", expect=200).json() == {}
    assert cluster.admin.get(f"/api/v1/task-types/{name}", expect=404).json()["code"] == "NOT_FOUND"
    assert cluster.admin.delete(f"/api/v1/task-types/{name}", expect=404).json()["code"] == "NOT_FOUND"


def test_pause_resume(cluster):
    name = fresh()
    cluster.put_type(name, endpoint="noop")
    paused = cluster.admin.post(f"/api/v1/task-types/{name}/pause", {}, expect=200).json()
    assert paused["paused"] is True
    task = cluster.submitter.create(name)["task"]
    # A PUT does not unpause (paused is the server's).
    again = cluster.admin.put(f"/api/v1/task-types/{name}", {"executor": "local", "endpoint": "noop", "timeoutSeconds": 30,
                                                             "enabled": True, "paused": False}, expect=200).json()
    assert again["paused"] is True
    # Pause/resume need no body, only the JSON content type.
    resumed = cluster.admin.request("POST", f"/api/v1/task-types/{name}/resume", data=None, expect=200).json()
    assert "paused" not in resumed
    cluster.admin.wait(task["taskId"], "TASK_STATUS_SUCCEEDED")
    for verb in ("pause", "resume"):
        assert cluster.admin.post(f"/api/v1/task-types/{fresh('none')}/{verb}", {}, expect=404).json()["code"] == "NOT_FOUND"
        cluster.admin.post(f"/api/v1/task-types/bad%20type!/{verb}", {}, expect=400)
        # No body is read: one is ignored (documented so).
        cluster.admin.post(f"/api/v1/task-types/{name}/{verb}", {"bogus": 1}, expect=200)


def test_delete_with_unfinished_tasks_is_409(cluster):
    name = fresh()
    cluster.put_type(name, endpoint="noop")
    cluster.admin.post(f"/api/v1/task-types/{name}/pause", {}, expect=200)
    task = cluster.submitter.create(name)["task"]
    problem = cluster.admin.delete(f"/api/v1/task-types/{name}", expect=409).json()
    assert problem["code"] == "FAILED_PRECONDITION"
    assert cluster.admin.get(f"/api/v1/task-types/{name}", expect=200).json()["taskType"] == name
    cluster.submitter.post(f"/api/v1/tasks/{task['taskId']}/cancel", {}, expect=200)
    cluster.admin.delete(f"/api/v1/task-types/{name}", expect=200)


def test_create_for_unknown_or_disabled_type_is_400(cluster):
    before = cluster.task_total()
    assert "not configured" in cluster.submitter.post("/api/v1/tasks", {"taskType": fresh("none")}, expect=400).json()["detail"]
    name = fresh()
    cluster.put_type(name, enabled=False)
    assert "disabled" in cluster.submitter.post("/api/v1/tasks", {"taskType": name}, expect=400).json()["detail"]
    assert cluster.task_total() == before


def test_get_bad_or_unknown_type(cluster):
    cluster.admin.get("/api/v1/task-types/bad%20type!", expect=400)
    cluster.admin.get("/api/v1/task-types/" + "x" * 65, expect=400)
    cluster.admin.get(f"/api/v1/task-types/{fresh('none')}", expect=404)
    cluster.admin.delete("/api/v1/task-types/bad%20type!", expect=400)


@pytest.mark.parametrize("config,what", [
    ({"executor": "bogus"}, "unknown executor"),
    ({"executor": ""}, "empty executor"),
    ({"executor": "http", "endpoint": "not a url"}, "http endpoint not a URL"),
    ({"executor": "http", "endpoint": "ftp://example.com/x"}, "http endpoint not http"),
    ({"executor": "http", "endpoint": "http://user@example.com/x"}, "http endpoint with a user"),
    ({"executor": "http", "endpoint": "http://169.254.169.254/latest"}, "metadata address outside the allow-list"),
    ({"executor": "http", "endpoint": "http://example.com/" + "x" * 2049}, "endpoint too long"),
    ({"executor": "grpc", "endpoint": "nohostport"}, "grpc endpoint without a port"),
    ({"executor": "local", "endpoint": "bad handler!"}, "local endpoint not a handler name"),
    ({"timeoutSeconds": 0}, "timeout 0"),
    ({"timeoutSeconds": -1}, "negative timeout"),
    ({"timeoutSeconds": 86401}, "timeout too long"),
    ({"maxRetries": -1}, "negative retries"),
    ({"maxRetries": 101}, "too many retries"),
    ({"retryBackoffMs": -1}, "negative backoff"),
    ({"retryBackoffMs": 3600001}, "backoff too long"),
    ({"maxConcurrency": -1}, "negative concurrency"),
    ({"rateLimitPerSecond": -1}, "negative rate limit"),
    ({"retentionHours": 87601}, "retention too long"),
    ({"headers": {"bad header": "v"}}, "bad header name"),
    ({"headers": {"X-A": "line\nbreak"}}, "header value with a line break"),
    ({"headers": {f"X-{i}": "v" for i in range(65)}}, "too many headers"),
    ({"taskType": "another-name"}, "taskType differs from the path's"),
    ({"bogus": 1}, "unknown field"),
    ({"executor": "local", "timeoutSeconds": "soon"}, "wrong type"),
    ({"enabled": "yes"}, "bool of the wrong type"),
])
def test_put_bad_config_is_400_and_changes_nothing(cluster, config, what):
    name = fresh("bad")
    body = {"executor": "local", "timeoutSeconds": 10, "enabled": True, **config}
    problem = cluster.admin.put(f"/api/v1/task-types/{name}", body, expect=400).json()
    assert problem["code"] == "INVALID_ARGUMENT", what
    cluster.admin.get(f"/api/v1/task-types/{name}", expect=404)
    # An existing type stays as it was.
    before = cluster.admin.get("/api/v1/task-types/echo", expect=200).json()
    cluster.admin.put("/api/v1/task-types/echo", {**body, "taskType": "echo"} if "taskType" not in config else body, expect=400)
    assert cluster.admin.get("/api/v1/task-types/echo", expect=200).json() == before


def test_put_bad_json_is_400(cluster):
    cluster.admin.request("PUT", f"/api/v1/task-types/{fresh()}", data="{nope", expect=400)
    cluster.admin.put("/api/v1/task-types/bad%20type!", {"executor": "local", "timeoutSeconds": 1}, expect=400)
