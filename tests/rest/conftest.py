"""Fixtures of the REST black-box suite: one node (tests/rest/harness.py),
clients per role, and every response checked against openapi/openapi.json."""

import time
import uuid

import pytest
import requests

import harness
from openapi_check import Checker

CHECKER = Checker()
TERMINAL = {"TASK_STATUS_SUCCEEDED", "TASK_STATUS_FAILED", "TASK_STATUS_CANCELLED", "TASK_STATUS_TIMEOUT"}


class Api:
    """One caller (a key, or none). Every response is checked against the document."""

    def __init__(self, base, key=None, name="anonymous"):
        self.base = base
        self.key = key
        self.name = name
        self.session = requests.Session()

    def with_key(self, key, name="other"):
        return Api(self.base, key, name)

    def request(self, method, path, *, json=None, data=None, headers=None, params=None, expect=None, check=True,
                stream=False, timeout=30, content_type="application/json"):
        hdrs = {}
        if self.key is not None:
            hdrs["Authorization"] = f"Bearer {self.key}"
        if method in ("POST", "PUT", "DELETE") and content_type is not None:
            hdrs["Content-Type"] = content_type
        hdrs.update(headers or {})
        if json is not None:
            import json as _json
            data = _json.dumps(json)
        response = self.session.request(method, self.base + path, data=data, headers=hdrs, params=params,
                                        timeout=timeout, stream=stream)
        if check:
            problems = CHECKER.check(method, path.split("?")[0], response.status_code,
                                     response.headers.get("Content-Type"), "" if stream else response.text)
            assert not problems, "\n".join(problems)
        if expect is not None:
            expected = expect if isinstance(expect, (tuple, list, set)) else (expect,)
            assert response.status_code in expected, (
                f"{self.name}: {method} {path} -> {response.status_code}, expected {expect}: "
                f"{'(stream)' if stream else response.text[:500]}")
        return response

    def get(self, path, **kw):
        return self.request("GET", path, **kw)

    def post(self, path, body=None, **kw):
        return self.request("POST", path, json=body, **kw)

    def put(self, path, body=None, **kw):
        return self.request("PUT", path, json=body, **kw)

    def delete(self, path, **kw):
        return self.request("DELETE", path, **kw)

    def sse(self, path, timeout=30):
        """Opens an event stream (http.client: lines as they arrive, chunked or not). Returns an SSE."""
        return SSE(self, path, timeout)

    # --- conveniences -------------------------------------------------------

    def create(self, task_type, expect=201, **fields):
        body = {"taskType": task_type, **fields}
        return self.post("/api/v1/tasks", body, expect=expect).json()

    def task(self, task_id):
        return self.get(f"/api/v1/tasks/{task_id}", expect=200).json()["task"]

    def wait(self, task_id, statuses, seconds=20):
        statuses = {statuses} if isinstance(statuses, str) else set(statuses)
        deadline = time.monotonic() + seconds
        while True:
            task = self.task(task_id)
            if task.get("status") in statuses:
                return task
            assert time.monotonic() < deadline, f"task {task_id} is {task.get('status')} after {seconds}s, wanted {statuses}"
            time.sleep(0.05)


class SSE:
    """A GET of an event stream, read line by line; `events()` yields (seconds since open, event, data JSON)."""

    def __init__(self, api, path, timeout):
        import http.client
        import urllib.parse
        url = urllib.parse.urlsplit(api.base)
        self.opened = time.monotonic()
        self.conn = http.client.HTTPConnection(url.hostname, url.port, timeout=timeout)
        headers = {"Accept": "text/event-stream"}
        if api.key is not None:
            headers["Authorization"] = f"Bearer {api.key}"
        self.conn.request("GET", path, headers=headers)
        self.response = self.conn.getresponse()
        self.status = self.response.status
        self.headers = self.response.headers
        body = "" if self.status == 200 else self.response.read().decode(errors="replace")
        self.body = body
        problems = CHECKER.check("GET", path, self.status, self.headers.get("Content-Type"), body)
        assert not problems, "\n".join(problems)

    def events(self):
        event, data = None, []
        while True:
            raw = self.response.readline()
            if not raw:
                return
            line = raw.decode().rstrip("\r\n")
            if line == "":
                if data:
                    import json as _json
                    yield time.monotonic() - self.opened, event or "message", _json.loads("\n".join(data))
                event, data = None, []
            elif line.startswith(":"):
                continue
            elif line.startswith("event:"):
                event = line[6:].strip()
            elif line.startswith("data:"):
                data.append(line[5:].removeprefix(" "))

    def close(self):
        self.conn.close()

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()


class Cluster:
    def __init__(self, keys, node):
        self.keys = keys
        self.node = node
        self.base = node.base
        self.anonymous = Api(self.base, None, "no key")
        self.admin = Api(self.base, keys.admin, "admin")
        self.submitter = Api(self.base, keys.submitter, "submitter")
        self.viewer = Api(self.base, keys.viewer, "viewer")
        self.other = Api(self.base, keys.other, "other-tenant submitter")
        self.other_viewer = Api(self.base, keys.other_viewer, "other-tenant viewer")
        self.watcher = Api(self.base, keys.watcher, "watcher")
        self.unknown = Api(self.base, "not-a-key-" + uuid.uuid4().hex, "unknown key")

    def put_type(self, name, **config):
        body = {"executor": "local", "timeoutSeconds": 30, "enabled": True, **config}
        return self.admin.put(f"/api/v1/task-types/{name}", body, expect=200).json()

    def task_total(self):
        """Every task of every tenant, counted in MySQL itself (GetStats adds two reads that a task finishing
        in between can make differ by one)."""
        return int(harness.mysql_root(f"SELECT COUNT(*) FROM {harness.MYSQL_DB}.task").strip())

    def configs(self):
        return self.admin.get("/api/v1/task-types", expect=200).json().get("configs", [])


@pytest.fixture(scope="session")
def cluster():
    node = None
    try:
        keys, node = harness.start()
        c = Cluster(keys, node)
        # The built-in local handlers, by their own names.
        c.put_type("echo")
        c.put_type("sleep")
        c.put_type("fail", maxRetries=0)
        c.put_type("noop")
        yield c
    finally:
        harness.stop(node)


def pytest_sessionfinish(session, exitstatus):
    # Which documented (method, route, status) the tests exercised: a hint of coverage.
    path = harness.LOG_DIR / "coverage.txt"
    try:
        harness.LOG_DIR.mkdir(parents=True, exist_ok=True)
        with open(path, "w") as out:
            for method, template, status in sorted(CHECKER.seen):
                out.write(f"{method} {template} {status}\n")
    except OSError:
        pass
