#!/usr/bin/env python3
"""The custom-worker example end to end: an API+scheduler baton-node and the
example's own worker node (BatonKit, worker role only) on the dev services;
tasks of both its handlers go in over REST and must come back succeeded,
run by the example's worker, with typed results; a charge the handler
refuses fails at once, without a retry. Exit code 0 only when all held.

    tests/example/run.py WORKER_BIN      (baton-node from $BATON_NODE_BIN)
"""
import json
import os
import sys
import tempfile
import urllib.request
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[2] / "testkit"))
from batontest import procs  # noqa: E402
from batontest.childenv import child_env  # noqa: E402
from batontest.nodes import NodeProcess  # noqa: E402
from batontest.paths import REPO  # noqa: E402
from batontest.waits import wait_for  # noqa: E402

REDIS = os.environ.get("BATON_TEST_REDIS", "redis://127.0.0.1:6379/9")
MYSQL = os.environ.get("BATON_TEST_MYSQL", "mysql://baton:baton-dev-password@127.0.0.1:3306/baton_test")
# Below the ephemeral range and apart from the other suites' fixed ports.
GRPC_PORT, API_HTTP_PORT, WORKER_HTTP_PORT = 19411, 18411, 18412
API = f"http://127.0.0.1:{API_HTTP_PORT}/api/v1"


def call(method, path, body=None):
    data = None if body is None else json.dumps(body).encode()
    request = urllib.request.Request(API + path, data=data, method=method, headers={"Content-Type": "application/json"})
    with urllib.request.urlopen(request, timeout=10) as response:
        return json.loads(response.read() or b"{}")


def main():
    worker_bin = sys.argv[1]
    suffix = str(os.getpid())
    namespace, worker_node = f"example-{suffix}", f"example-worker-{suffix}"
    logs = Path(tempfile.mkdtemp(prefix="baton-example-"))
    api = NodeProcess(f"example-api-{suffix}", GRPC_PORT, API_HTTP_PORT, REDIS, MYSQL, logs / "api.log", logs / "files",
                      namespace=namespace, flags=["--roles", "api,scheduler", "--lock-ttl", "3", "--renew-interval", "1"])
    api.start()
    worker = procs.spawn([worker_bin], logs / "worker.log", cwd=REPO, env=child_env(
        REDIS_ADDR=REDIS, MYSQL_DSN=MYSQL, BATON_REDIS_NAMESPACE=namespace, BATON_NODE_ID=worker_node, BATON_HTTP_PORT=str(WORKER_HTTP_PORT)))
    try:
        api.wait_ready()
        # The example's worker registers with its two handlers: GetStats lists it.
        wait_for(lambda: any(w.get("nodeId") == worker_node for w in call("GET", "/stats").get("workers", [])), 60,
                 "the example's worker")
        for task_type in ("greet", "charge_card"):
            call("PUT", f"/task-types/{task_type}", {"executor": "local", "timeoutSeconds": 30, "maxRetries": 2, "enabled": True})
        created = [
            call("POST", "/tasks", {"taskType": "greet", "payload": {"name": "Ada"}})["task"]["taskId"],
            call("POST", "/tasks", {"taskType": "charge_card", "args": {"amount": 4200, "currency": "EUR", "items": ["book", "pen"]}}),
            call("POST", "/tasks", {"taskType": "charge_card", "args": {"amount": -1, "currency": "EUR"}}),
        ]
        created = [c if isinstance(c, str) else c["task"]["taskId"] for c in created]

        def finished():
            tasks = [call("GET", f"/tasks/{task_id}")["task"] for task_id in created]
            return tasks if all(t["status"] in ("TASK_STATUS_SUCCEEDED", "TASK_STATUS_FAILED") for t in tasks) else None

        greeted, charged, refused = wait_for(finished, 60, "the tasks to finish")
        problems = []
        if greeted["status"] != "TASK_STATUS_SUCCEEDED" or greeted.get("result") != "hello, Ada":
            problems.append(f"greet: {greeted}")
        receipt = json.loads(charged.get("result") or "{}")
        if charged["status"] != "TASK_STATUS_SUCCEEDED" or receipt != {"charged": 4200, "currency": "EUR", "items": 2, "attempt": 1}:
            problems.append(f"charge_card: {charged}")
        if refused["status"] != "TASK_STATUS_FAILED" or refused.get("attempt") != 1 or "amount must be positive" not in refused.get("error", ""):
            problems.append(f"charge_card refused: {refused}")
        for task in (greeted, charged, refused):
            if not task.get("workerId", "").startswith(worker_node):
                problems.append(f"{task['taskId']} ran on {task.get('workerId')}, not the example's worker")
        if problems:
            print("example: FAILED\n  " + "\n  ".join(problems) + f"\n  logs: {logs}", file=sys.stderr)
            return 1
        print("example: the custom worker ran greet and charge_card (typed args in, typed receipt out); a refused charge failed once")
        return 0
    finally:
        procs.stop(worker, grace=20)
        api.stop(grace=20)


if __name__ == "__main__":
    sys.exit(main())
