"""Schedule routes: put, get, list, delete, pause, resume, trigger, their
tasks (ListTasks by scheduleId, scheduledFor), the cron preview, refusals."""

import time
import uuid

import pytest


def fresh(prefix="sch"):
    return f"{prefix}-{uuid.uuid4().hex[:8]}"


def fired(cluster, sid, at_least, seconds):
    """The schedule's tasks once it has at least `at_least` (polled for up to `seconds`)."""
    deadline = time.monotonic() + seconds
    tasks = []
    while len(tasks) < at_least and time.monotonic() < deadline:
        time.sleep(0.3)
        tasks = cluster.admin.get("/api/v1/tasks", params={"scheduleId": sid}, expect=200).json().get("tasks", [])
    assert len(tasks) >= at_least, f"{len(tasks)} tasks of an every-second schedule after {seconds} s"
    return tasks


def test_put_get_list_delete(cluster):
    sid = fresh()
    body = {"scheduleId": sid, "cron": "30 2 * * *", "timeZone": "Europe/Berlin", "taskType": "echo",
            "payload": {"report": "daily"}, "priority": "PRIORITY_HIGH", "misfire": "MISFIRE_RUN_ALL",
            "overlap": "OVERLAP_SKIP", "timeoutSeconds": 7, "maxRetries": 2}
    stored = cluster.admin.put(f"/api/v1/schedules/{sid}", body, expect=200).json()
    assert {k: stored[k] for k in body} == body
    assert "paused" not in stored and "updatedAt" in stored and "lastTaskId" not in stored
    # 02:30 in Berlin is 00:30 or 01:30 UTC.
    assert stored["nextFireAt"][11:19] in ("00:30:00", "01:30:00"), stored["nextFireAt"]
    assert cluster.admin.get(f"/api/v1/schedules/{sid}", expect=200).json() == stored
    assert stored in cluster.admin.get("/api/v1/schedules", expect=200).json()["schedules"]
    # Replace: scheduleId may be omitted (the path's); defaults are omitted in the answer.
    replaced = cluster.admin.put(f"/api/v1/schedules/{sid}", {"cron": "@hourly", "taskType": "noop"}, expect=200).json()
    assert replaced["scheduleId"] == sid and replaced["cron"] == "@hourly" and "timeZone" not in replaced
    assert replaced["nextFireAt"][14:19] == "00:00"
    assert cluster.admin.delete(f"/api/v1/schedules/{sid}", expect=200).json() == {}
    assert cluster.admin.get(f"/api/v1/schedules/{sid}", expect=404).json()["code"] == "NOT_FOUND"
    assert cluster.admin.delete(f"/api/v1/schedules/{sid}", expect=404).json()["code"] == "NOT_FOUND"


def test_pause_resume_keeps_the_pending_fire_time(cluster):
    sid = fresh()
    stored = cluster.admin.put(f"/api/v1/schedules/{sid}", {"cron": "0 3 * * *", "taskType": "noop"}, expect=200).json()
    paused = cluster.admin.post(f"/api/v1/schedules/{sid}/pause", {}, expect=200).json()
    assert paused["paused"] is True and paused["nextFireAt"] == stored["nextFireAt"]
    assert cluster.admin.get(f"/api/v1/schedules/{sid}", expect=200).json()["paused"] is True
    # Pausing twice is no change; resume needs no body, only the JSON content type.
    assert cluster.admin.post(f"/api/v1/schedules/{sid}/pause", {}, expect=200).json() == paused
    resumed = cluster.admin.request("POST", f"/api/v1/schedules/{sid}/resume", data=None, expect=200).json()
    assert "paused" not in resumed and resumed["nextFireAt"] == stored["nextFireAt"]
    for verb in ("pause", "resume", "trigger"):
        assert cluster.admin.post(f"/api/v1/schedules/{fresh('none')}/{verb}", {}, expect=404).json()["code"] == "NOT_FOUND"
        cluster.admin.post(f"/api/v1/schedules/bad%20id!/{verb}", {}, expect=400)
    cluster.admin.delete(f"/api/v1/schedules/{sid}", expect=200)


def test_trigger_creates_a_task_that_names_the_schedule(cluster):
    sid = fresh()
    cluster.admin.put(f"/api/v1/schedules/{sid}", {"cron": "0 0 1 1 *", "taskType": "echo", "payload": {"n": "1"}, "paused": True},
                      expect=200)
    # Paused or not: the operator asked for it.
    task = cluster.admin.post(f"/api/v1/schedules/{sid}/trigger", {}, expect=200).json()["task"]
    assert task["scheduleId"] == sid and task["payload"] == {"n": "1"} and "scheduledFor" in task
    done = cluster.admin.wait(task["taskId"], "TASK_STATUS_SUCCEEDED")
    assert done["scheduleId"] == sid
    listed = cluster.viewer.get("/api/v1/tasks", params={"scheduleId": sid}, expect=200).json()["tasks"]
    assert [t["taskId"] for t in listed] == [task["taskId"]]
    assert cluster.viewer.get("/api/v1/tasks", params={"scheduleId": fresh("none")}, expect=200).json().get("tasks", []) == []
    # A schedule with typed arguments passes them to its tasks.
    typed = fresh("args")
    stored = cluster.admin.put(f"/api/v1/schedules/{typed}", {"cron": "0 0 1 1 *", "taskType": "echo", "args": {"n": 1, "l": [True]}, "paused": True},
                               expect=200).json()
    assert stored["args"] == {"n": 1, "l": [True]} and "payload" not in stored
    fired = cluster.admin.post(f"/api/v1/schedules/{typed}/trigger", {}, expect=200).json()["task"]
    assert fired["args"] == {"n": 1, "l": [True]} and cluster.admin.task(fired["taskId"])["args"] == {"n": 1, "l": [True]}
    cluster.admin.delete(f"/api/v1/schedules/{typed}", expect=200)
    # Deleting the schedule leaves its tasks.
    cluster.admin.delete(f"/api/v1/schedules/{sid}", expect=200)
    assert cluster.admin.task(task["taskId"])["scheduleId"] == sid


def test_the_leader_fires_it(cluster):
    sid = fresh()
    cluster.admin.put(f"/api/v1/schedules/{sid}", {"cron": "* * * * * *", "taskType": "noop"}, expect=200)
    try:
        tasks = fired(cluster, sid, at_least=2, seconds=15)
        fire_times = [t["scheduledFor"] for t in tasks]
        assert len(set(fire_times)) == len(fire_times), "a fire time with two tasks"
        assert all(t.endswith("Z") and "." not in t for t in fire_times), fire_times  # whole seconds
        schedule = cluster.admin.get(f"/api/v1/schedules/{sid}", expect=200).json()
        assert schedule.get("lastFireAt") and schedule.get("lastTaskId")
    finally:
        cluster.admin.delete(f"/api/v1/schedules/{sid}", expect=200)


def test_overlap_cancel_previous_supersedes_a_running_task(cluster):
    sid = fresh()
    # Every second a task that would sleep 20 s: each fire cancels the one before.
    stored = cluster.admin.put(f"/api/v1/schedules/{sid}", {"cron": "* * * * * *", "taskType": "sleep", "payload": {"ms": "20000"},
                                                           "overlap": "OVERLAP_CANCEL_PREVIOUS"}, expect=200).json()
    assert stored["overlap"] == "OVERLAP_CANCEL_PREVIOUS"
    try:
        fired(cluster, sid, at_least=3, seconds=20)
    finally:
        cluster.admin.post(f"/api/v1/schedules/{sid}/pause", {}, expect=200)
    tasks = cluster.admin.get("/api/v1/tasks", params={"scheduleId": sid}, expect=200).json()["tasks"]
    newest = max(tasks, key=lambda t: t["scheduledFor"])
    unfinished = [t for t in tasks if t["status"] not in ("TASK_STATUS_CANCELLED", "TASK_STATUS_SUCCEEDED")]
    assert [t["taskId"] for t in unfinished] == [newest["taskId"]], "only the newest fire's task may be unfinished"
    for task in tasks:
        if task["taskId"] != newest["taskId"]:
            assert task["status"] == "TASK_STATUS_CANCELLED" and "superseded" in task.get("error", ""), task
    cluster.admin.post(f"/api/v1/tasks/{newest['taskId']}/cancel", {}, expect=200)
    cluster.admin.delete(f"/api/v1/schedules/{sid}", expect=200)


@pytest.mark.parametrize("body,words", [
    ({"cron": "0 25 * * *"}, 'hour field "25"'),
    ({"cron": "* * *"}, "cron expression"),
    ({"cron": "@every 0s"}, "@every interval"),
    ({"cron": "0 2 * * *", "timeZone": "Mars/Base"}, 'time zone "Mars/Base"'),
    ({"taskType": "never-configured"}, "not configured"),
    ({"timeoutSeconds": 0}, "timeout"),
    ({"payload": {"": "x"}}, "payload"),
    ({"payload": {"a": "1"}, "args": {"a": 1}}, "args and payload"),
    ({"args": [1]}, "Schedule"),
    ({"scheduleId": "another-id"}, "the path"),
    ({"misfire": "MISFIRE_SOMETIMES"}, "Schedule"),
    ({"bogus": 1}, "Schedule"),
    ({"paused": "yes"}, "Schedule"),
])
def test_put_bad_schedule_is_400_and_changes_nothing(cluster, body, words):
    sid = fresh("bad")
    problem = cluster.admin.put(f"/api/v1/schedules/{sid}", {"cron": "@daily", "taskType": "noop", **body}, expect=400).json()
    assert problem["code"] == "INVALID_ARGUMENT" and words in problem["detail"], problem
    cluster.admin.get(f"/api/v1/schedules/{sid}", expect=404)


def test_bad_ids_and_bodies(cluster):
    cluster.admin.get("/api/v1/schedules/bad%20id!", expect=400)
    cluster.admin.get("/api/v1/schedules/" + "x" * 65, expect=400)
    cluster.admin.delete("/api/v1/schedules/bad%20id!", expect=400)
    cluster.admin.put("/api/v1/schedules/bad%20id!", {"cron": "@daily", "taskType": "noop"}, expect=400)
    cluster.admin.request("PUT", f"/api/v1/schedules/{fresh()}", data="{nope", expect=400)
    cluster.admin.put(f"/api/v1/schedules/{fresh()}", {"taskType": "noop"}, expect=400)  # no cron


def test_cron_preview(cluster):
    answer = cluster.viewer.get("/api/v1/cron-preview", params={"cron": "*/15 * * * *", "after": "2026-01-02T03:04:05Z"},
                                expect=200).json()
    assert answer == {"cron": "*/15 * * * *", "timeZone": "",
                      "fireTimes": ["2026-01-02T03:15:00Z", "2026-01-02T03:30:00Z", "2026-01-02T03:45:00Z",
                                    "2026-01-02T04:00:00Z", "2026-01-02T04:15:00Z"]}
    # Spring forward in Berlin (2026-03-29 02:00 -> 03:00): 02:30 that day fires as the gap ends, 03:00 CEST.
    berlin = cluster.viewer.get("/api/v1/cron-preview", params={"cron": "30 2 * * *", "timeZone": "Europe/Berlin", "count": 3,
                                                                "after": "2026-03-27T12:00:00Z"}, expect=200).json()
    assert berlin["fireTimes"] == ["2026-03-28T01:30:00Z", "2026-03-29T01:00:00Z", "2026-03-30T00:30:00Z"]
    # Default: from now, five.
    now = cluster.viewer.get("/api/v1/cron-preview", params={"cron": "@every 1h"}, expect=200).json()
    assert len(now["fireTimes"]) == 5
    assert len(cluster.viewer.get("/api/v1/cron-preview", params={"cron": "@daily", "count": 20}, expect=200).json()["fireTimes"]) == 20


@pytest.mark.parametrize("params,words", [
    ({"cron": "0 25 * * *"}, 'hour field "25"'),
    ({"cron": "0 2 * * *", "timeZone": "GMT+2"}, "time zone"),
    ({}, "cron is required"),
    ({"cron": ""}, "cron is required"),
    ({"cron": "@daily", "count": "0"}, "count"),
    ({"cron": "@daily", "count": "21"}, "count"),
    ({"cron": "@daily", "count": "five"}, "count"),
    ({"cron": "@daily", "after": "yesterday"}, "after"),
    ({"cron": "@daily", "zone": "UTC"}, "unknown query parameter zone"),
])
def test_cron_preview_refusals_name_the_field(cluster, params, words):
    problem = cluster.viewer.get("/api/v1/cron-preview", params=params, expect=400).json()
    assert problem["code"] == "INVALID_ARGUMENT" and words in problem["detail"], problem
