"""Dead letters (grouped FAILED/TIMEOUT tasks, retry of a group), history."""

import uuid

import pytest


def fresh(prefix):
    return f"{prefix}-{uuid.uuid4().hex[:8]}"


def groups_of(api, task_type, **params):
    body = api.get("/api/v1/dead-letters", params=params, expect=200).json()
    return [g for g in body.get("groups", []) if g["taskType"] == task_type], body


def test_dead_letters_group_and_retry(cluster):
    name = fresh("dl")
    cluster.put_type(name, endpoint="fail", maxRetries=0)
    slow = fresh("dlt")
    cluster.put_type(slow, endpoint="sleep", maxRetries=0, timeoutSeconds=1)
    ids_a = [cluster.submitter.create(name, payload={"message": "boom A"})["task"]["taskId"] for _ in range(3)]
    ids_b = [cluster.submitter.create(name, payload={"message": "boom B"})["task"]["taskId"] for _ in range(2)]
    timed_out = cluster.submitter.create(slow, payload={"ms": "5000"})["task"]["taskId"]
    for task_id in ids_a + ids_b:
        cluster.submitter.wait(task_id, "TASK_STATUS_FAILED")
    cluster.submitter.wait(timed_out, "TASK_STATUS_TIMEOUT", seconds=30)

    groups, body = groups_of(cluster.viewer, name)
    assert body["scanned"] >= 5
    by_error = {g["error"]: g for g in groups}
    assert len(groups) == 2, groups
    group_a = next(g for g in groups if g["count"] == 3)
    group_b = next(g for g in groups if g["count"] == 2)
    assert "boom A" in group_a["error"] and "boom B" in group_b["error"], by_error
    assert group_a["status"] == "TASK_STATUS_FAILED"
    assert group_a["taskIds"] == ids_a[::-1]  # newest first
    assert "lastAt" in group_a
    (timeout_group,), _ = groups_of(cluster.viewer, slow)
    assert timeout_group["status"] == "TASK_STATUS_TIMEOUT" and timeout_group["taskIds"] == [timed_out]

    # Another tenant sees none of them.
    assert groups_of(cluster.other_viewer, name)[0] == []
    # A group retry is a bulk retry: admins only, as BulkRetryTasks.
    for api in (cluster.other, cluster.submitter):
        api.post("/api/v1/dead-letters/retry",
                 {"taskType": name, "status": "TASK_STATUS_FAILED", "error": group_a["error"]}, expect=403)

    retried = cluster.admin.post("/api/v1/dead-letters/retry",
                                 {"taskType": name, "status": "TASK_STATUS_FAILED", "error": group_a["error"]},
                                 expect=200).json()
    assert {k: retried[k] for k in ("matched", "changed")} == {"matched": "3", "changed": "3"}, retried
    assert retried["examined"] >= 5 and "nextPageToken" not in retried, retried
    for task_id in ids_a:
        task = cluster.submitter.wait(task_id, "TASK_STATUS_FAILED")
        assert task["attempt"] == 2
    for task_id in ids_b:
        assert cluster.submitter.task(task_id)["attempt"] == 1


def test_dead_letters_limit(cluster):
    _, body = groups_of(cluster.viewer, "-", limit=1)
    assert body.get("scanned", 0) <= 1
    cluster.viewer.get("/api/v1/dead-letters", params={"limit": 10000}, expect=200)
    for bad in (0, -1, 10001, "abc"):
        assert cluster.viewer.get("/api/v1/dead-letters", params={"limit": bad}, expect=400).json()["code"] == "INVALID_ARGUMENT"


@pytest.mark.parametrize("body,what", [
    ({"status": "TASK_STATUS_FAILED", "error": "x"}, "no task type"),
    ({"taskType": "bad type!", "status": "TASK_STATUS_FAILED"}, "bad task type"),
    ({"taskType": "fail", "status": "TASK_STATUS_SUCCEEDED"}, "a status that is no dead letter"),
    ({"taskType": "fail", "status": "TASK_STATUS_NOPE"}, "bad enum"),
    ({"taskType": "fail", "status": "TASK_STATUS_FAILED", "error": "x", "bogus": 1}, "unknown field"),
    ({"taskType": "fail", "status": "TASK_STATUS_FAILED"}, "no error"),
    ({"taskType": "fail", "status": "TASK_STATUS_FAILED", "error": "x", "reason": "r" * 1025}, "reason too long"),
    ({"taskType": "fail", "status": "TASK_STATUS_FAILED", "error": "x", "pageToken": "not-a-token"}, "a page token not issued"),
])
def test_dead_letter_retry_bad_bodies_are_400(cluster, body, what):
    before = cluster.task_total()
    assert cluster.admin.post("/api/v1/dead-letters/retry", body, expect=400).json()["code"] == "INVALID_ARGUMENT", what
    assert cluster.task_total() == before


def test_dead_letter_retry_short_status(cluster):
    cluster.admin.post("/api/v1/dead-letters/retry", {"taskType": "fail", "status": "TIMEOUT", "error": "none such"}, expect=200)


def test_dead_letter_retry_big_body_is_413(cluster):
    # Past the 5 MiB every body route takes.
    big = {"taskType": "fail", "status": "TASK_STATUS_FAILED", "error": "x" * (6 << 20)}
    assert cluster.admin.post("/api/v1/dead-letters/retry", big, expect=413).json()["code"] == "RESOURCE_EXHAUSTED"


def test_history(cluster):
    history = cluster.viewer.get("/api/v1/history", expect=200).json()
    assert history["intervalSeconds"] == 10
    samples = history.get("samples", [])
    assert len(samples) <= 90
    assert [s["at"] for s in samples] == sorted(s["at"] for s in samples)
