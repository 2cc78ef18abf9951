"""Starts chaos/service.py (the http task types' endpoint) and reads its call
records."""

import http.client
import json
import subprocess
import sys
import time
from collections import defaultdict

from batontest import procs

from .common import CHAOS, LOG_DIR, child_env


class Call:
    __slots__ = ("task_id", "attempt", "start", "end", "outcome", "path")

    def __init__(self, task_id, attempt, start, end, outcome, path):
        self.task_id, self.attempt, self.start, self.end, self.outcome, self.path = (
            task_id, attempt, start, end, outcome, path)

    def __repr__(self):
        end = f"{self.end:.3f}" if self.end else "-"
        return f"attempt {self.attempt} {self.start:.3f}..{end} {self.outcome}"


class BusinessService:
    def __init__(self, host="127.0.0.1"):
        self.proc = None
        self.port = None
        self.host = host

    def start(self):
        self.proc = procs.spawn([sys.executable, str(CHAOS / "service.py"), "--host", self.host], LOG_DIR / "service.log",
                                child_env(), stdout=subprocess.PIPE)
        line = self.proc.stdout.readline().decode().split()
        if len(line) != 2 or line[0] != "PORT":
            raise RuntimeError(f"chaos/service.py did not start (see {LOG_DIR / 'service.log'})")
        self.port = int(line[1])

    def stop(self):
        procs.stop(self.proc, grace=5)

    def url(self, path):
        return f"http://{self.host}:{self.port}/{path.lstrip('/')}"

    def _get(self, path, timeout=30):
        if self.proc.poll() is not None:
            raise RuntimeError(f"the business service exited ({self.proc.returncode}); see {LOG_DIR / 'service.log'}")
        connection = http.client.HTTPConnection(self.host, self.port, timeout=timeout)
        try:
            connection.request("GET", path, headers={"Connection": "close"})
            response = connection.getresponse()
            body = response.read()
            if response.status != 200:
                raise RuntimeError(f"service {path}: HTTP {response.status}")
            return json.loads(body)
        finally:
            connection.close()

    def reset(self):
        self._get("/_reset")

    def stats(self):
        return self._get("/_stats")

    def records(self, since=0):
        """The calls recorded, from the `since`-th on (in the order they started)."""
        return [Call(*r) for r in self._get(f"/_records?since={since}")]

    def calls_by_task(self):
        by_task = defaultdict(list)
        for call in self.records():
            by_task[call.task_id].append(call)
        for calls in by_task.values():
            calls.sort(key=lambda c: c.start)
        return by_task

    def count(self):
        return self.stats()["records"]

    def self_check(self):
        """Proves the recorder before any scenario relies on it: 300 calls on
        6 keep-alive connections, one 503 (fail_first), one call cut by its
        client; every one recorded once, with the right outcome."""
        import socket
        import threading
        self.reset()
        errors = []

        def post(connection, task_id, payload, attempt=1):
            body = json.dumps({"task_id": task_id, "task_type": "self", "payload": payload, "attempt": attempt})
            connection.request("POST", "/self", body, {"Content-Type": "application/json", "X-Baton-Task-Id": task_id,
                                                         "X-Baton-Attempt": str(attempt)})
            response = connection.getresponse()
            response.read()
            return response.status

        def client(k):
            connection = http.client.HTTPConnection(self.host, self.port, timeout=10)
            try:
                for i in range(50):
                    if post(connection, f"self-{k}-{i}", {"ms": "1"}) != 200:
                        errors.append(f"self-{k}-{i} not 200")
            except Exception as error:
                errors.append(repr(error))
            finally:
                connection.close()

        threads = [threading.Thread(target=client, args=(k,)) for k in range(6)]
        for t in threads:
            t.start()
        for t in threads:
            t.join(30)
        connection = http.client.HTTPConnection(self.host, self.port, timeout=10)
        if post(connection, "self-retry", {"fail_first": "1"}, attempt=1) != 503:
            errors.append("fail_first attempt 1 not 503")
        if post(connection, "self-retry", {"fail_first": "1"}, attempt=2) != 200:
            errors.append("fail_first attempt 2 not 200")
        connection.close()
        body = json.dumps({"task_id": "self-cut", "task_type": "self", "payload": {"ms": "5000"}, "attempt": 1}).encode()
        sock = socket.create_connection((self.host, self.port))
        sock.sendall(b"POST /self HTTP/1.1\r\nHost: x\r\nX-Baton-Task-Id: self-cut\r\nX-Baton-Attempt: 1\r\n"
                     b"Content-Type: application/json\r\nContent-Length: %d\r\n\r\n" % len(body) + body)
        time.sleep(0.2)
        sock.close()
        time.sleep(0.2)
        calls = self.calls_by_task()
        normal = [t for t in calls if t.startswith("self-") and t not in ("self-retry", "self-cut")]
        if len(normal) != 300 or any(len(calls[t]) != 1 or calls[t][0].outcome != "ok" for t in normal):
            errors.append(f"{len(normal)} of 300 calls recorded once as ok")
        if [c.outcome for c in calls.get("self-retry", [])] != ["503", "ok"]:
            errors.append(f"fail_first recorded as {calls.get('self-retry')}")
        if [c.outcome for c in calls.get("self-cut", [])] != ["cut"]:
            errors.append(f"cut call recorded as {calls.get('self-cut')}")
        self.reset()
        if errors:
            raise RuntimeError("business service self-check failed: " + "; ".join(errors[:5]))

    def wait_calls(self, n, seconds, predicate=None):
        """Waits until n calls (matching predicate) are recorded; returns the count seen."""
        end = time.monotonic() + seconds
        seen = 0
        while time.monotonic() < end:
            if predicate is None:
                seen = self.count()
            else:
                seen = sum(1 for c in self.records() if predicate(c))
            if seen >= n:
                return seen
            time.sleep(0.1)
        return seen
