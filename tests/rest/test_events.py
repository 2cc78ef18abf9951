"""GET /api/v1/tasks/{taskId}/events: Server-Sent Events of a task's state."""

import time

import jsonschema
import pytest

import harness
from conftest import CHECKER
from openapi_check import DOC_URI, format_checker

MISSING = "01890000-0000-7000-8000-000000000000"


def valid_task(task):
    validator = jsonschema.Draft202012Validator({"$ref": DOC_URI + "#/components/schemas/Task"}, registry=CHECKER.registry,
                                                format_checker=format_checker)
    errors = [e.message for e in validator.iter_errors(task)]
    assert not errors, errors


def test_events_stream_the_task_and_end_after_terminal(cluster):
    task = cluster.submitter.create("sleep", payload={"ms": "1500"})["task"]
    with cluster.viewer.sse(f"/api/v1/tasks/{task['taskId']}/events") as stream:
        assert stream.status == 200, stream.body
        assert stream.headers["Content-Type"].startswith("text/event-stream")
        events = []
        for at, name, data in stream.events():  # ends when the server ends the stream
            events.append((at, name, data))
            assert at < 15, "stream still open 15 s after the task was created"
    assert events, "no event"
    # At once: before the task (1.5 s of sleep) could end.
    assert events[0][0] < 1.5 and events[0][2].get("status") != "TASK_STATUS_SUCCEEDED", \
        f"the first event came after {events[0][0]:.2f}s: {events[0][2].get('status')}"
    assert all(name == "task" for _, name, _ in events)
    statuses = [data.get("status") for _, _, data in events]
    assert statuses[-1] == "TASK_STATUS_SUCCEEDED", statuses
    assert "TASK_STATUS_RUNNING" in statuses, statuses
    assert len(set(map(str, (d for _, _, d in events)))) == len(events), "an event repeats the previous state"
    for _, _, data in events:
        valid_task(data)
    # The last event is the task as GET answers it.
    assert events[-1][2] == cluster.viewer.task(task["taskId"])


def test_events_of_a_finished_task_send_it_once_and_end(cluster):
    task = cluster.submitter.create("echo")["task"]
    cluster.submitter.wait(task["taskId"], "TASK_STATUS_SUCCEEDED")
    with cluster.viewer.sse(f"/api/v1/tasks/{task['taskId']}/events", timeout=10) as stream:
        assert stream.status == 200
        events = [(name, data["status"]) for _, name, data in stream.events()]
    assert events == [("task", "TASK_STATUS_SUCCEEDED")]


def test_events_of_a_cancelled_task_end_with_it(cluster):
    task = cluster.submitter.create("sleep", payload={"ms": "20000"})["task"]
    cluster.submitter.wait(task["taskId"], "TASK_STATUS_RUNNING")
    with cluster.viewer.sse(f"/api/v1/tasks/{task['taskId']}/events", timeout=10) as stream:
        statuses = []
        for at, _, data in stream.events():
            statuses.append(data["status"])
            if len(statuses) == 1:
                cluster.submitter.post(f"/api/v1/tasks/{task['taskId']}/cancel", {}, expect=200)
    assert statuses[0] == "TASK_STATUS_RUNNING" and statuses[-1] == "TASK_STATUS_CANCELLED", statuses


def test_events_errors(cluster):
    for api, path, status in ((cluster.viewer, "/api/v1/tasks/not-an-id/events", 400),
                              (cluster.viewer, f"/api/v1/tasks/{MISSING}/events", 404),
                              (cluster.anonymous, f"/api/v1/tasks/{MISSING}/events", 401),
                              (cluster.unknown, f"/api/v1/tasks/{MISSING}/events", 401)):
        with api.sse(path) as stream:
            assert stream.status == status, stream.body


def test_events_per_key_limit_is_an_error_event(cluster):
    # docs/rest-api.md: the watch limits are checked once the stream started, so going over
    # one is a 200 stream whose only event is `event: error` with RESOURCE_EXHAUSTED.
    api = cluster.watcher  # a key no other test watches with
    limit = harness.MAX_WATCHES_PER_KEY
    tasks = [cluster.submitter.create("sleep", payload={"ms": "15000"})["task"]["taskId"] for _ in range(limit + 1)]
    streams = []
    try:
        for task_id in tasks[:limit]:
            stream = api.sse(f"/api/v1/tasks/{task_id}/events")
            streams.append(stream)
            assert stream.status == 200, stream.body
            next(stream.events())  # admitted: the first event came
        with api.sse(f"/api/v1/tasks/{tasks[-1]}/events", timeout=10) as refused:
            assert refused.status == 200
            events = list(refused.events())
        assert [name for _, name, _ in events] == ["error"], events
        problem = events[0][2]
        assert problem["code"] == "RESOURCE_EXHAUSTED" and problem["status"] == 429, problem
        # Another key is not affected.
        with cluster.viewer.sse(f"/api/v1/tasks/{tasks[-1]}/events") as other:
            assert other.status == 200
            assert next(other.events())[1] == "task"
    finally:
        for stream in streams:
            stream.close()
        for task_id in tasks:
            cluster.submitter.post(f"/api/v1/tasks/{task_id}/cancel", {}, expect=(200, 409))
    # Closing the streams frees the key's places (the server notices the client went away).
    deadline = time.monotonic() + 10
    done = cluster.submitter.create("echo")["task"]["taskId"]
    cluster.submitter.wait(done, "TASK_STATUS_SUCCEEDED")
    while True:
        with api.sse(f"/api/v1/tasks/{done}/events", timeout=10) as stream:
            names = [name for _, name, _ in stream.events()]
        if names == ["task"]:
            break
        assert time.monotonic() < deadline, f"the key's watch places were not freed 10 s after its streams closed: {names}"
        time.sleep(0.2)
