#!/usr/bin/env python3
"""A stand-in for a node's REST API (docs/rest-api.md) that serves dashboard/
from the disk: for working on the dashboard without building or running a
cluster. Not a test of the server.

    python3 tests/browser/mock_api.py [--port 8090] [--open]

Keys: admin-key (admin), submitter-key (submitter), viewer-key (viewer);
--open answers without a key. Tasks move on their own: sleep runs payload ms,
fail fails, anything else succeeds after ~300 ms; a task with dependsOn
waits (WAITING) for them, or ends CANCELLED when one of them did not succeed.
"""

import argparse
import json
import random
import threading
import time
import uuid
from datetime import datetime, timedelta, timezone
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from urllib.parse import parse_qs, urlparse
from zoneinfo import ZoneInfo

DASHBOARD = Path(__file__).resolve().parents[2] / "dashboard"
TYPES = {".html": "text/html; charset=utf-8", ".js": "text/javascript; charset=utf-8", ".css": "text/css; charset=utf-8",
         ".svg": "image/svg+xml", ".json": "application/json"}
KEYS = {"admin-key": "admin", "submitter-key": "submitter", "viewer-key": "viewer"}
TERMINAL = {"TASK_STATUS_SUCCEEDED", "TASK_STATUS_FAILED", "TASK_STATUS_CANCELLED", "TASK_STATUS_TIMEOUT"}

lock = threading.RLock()
tasks = {}  # id -> task dict (proto JSON)
logs = {}  # id -> [log]
log_seq = [0]
configs = {}
schedules = {}
history = []
OPEN = [False]


def now():
    return datetime.now(timezone.utc).isoformat(timespec="microseconds").replace("+00:00", "Z")


def new_id():
    ms = int(time.time() * 1000)
    rand = uuid.uuid4().hex
    h = f"{ms:012x}"
    return f"{h[:8]}-{h[8:12]}-7{rand[:3]}-{'89ab'[random.randrange(4)]}{rand[3:6]}-{rand[6:18]}"


def add_log(task, message, level="INFO"):
    log_seq[0] += 1
    logs.setdefault(task["taskId"], []).append({"id": str(log_seq[0]), "taskId": task["taskId"], "attempt": task.get("attempt", 0),
                                                 "workerId": task.get("workerId", ""), "level": level, "message": message,
                                                 "createdAt": now()})


def create(body, role_tenant="default", batch=()):
    """batch: the ids of the same batch's earlier items ("#N" in dependsOn)."""
    task_type = body.get("taskType", "")
    if task_type not in configs:
        raise Problem(400, "INVALID_ARGUMENT", f"task_type {task_type} is not configured")
    config = configs[task_type]
    task = {"taskId": new_id(), "taskType": task_type, "payload": body.get("payload", {}), "status": "TASK_STATUS_QUEUED",
            "maxRetries": config.get("maxRetries", 0), "timeoutSeconds": config.get("timeoutSeconds", 30),
            "createdAt": now(), "updatedAt": now()}
    if body.get("priority") == "PRIORITY_HIGH":
        task["priority"] = "PRIORITY_HIGH"
    if body.get("idempotencyKey"):
        task["idempotencyKey"] = body["idempotencyKey"]
    task["_due"] = time.time() + 0.4
    parents = []
    for entry in body.get("dependsOn", []):
        parent = batch[int(entry[1:])] if entry.startswith("#") and entry[1:].isdigit() and int(entry[1:]) < len(batch) else entry
        if parent not in tasks:
            raise Problem(400, "INVALID_ARGUMENT", f"depends_on names task {entry}, which does not exist")
        parents.append(parent)
    tasks[task["taskId"]] = task
    if parents:
        task["dependsOn"] = parents
        settle(task)
    return task


def settle(task):
    """A task with dependsOn: WAITING, released to QUEUED (with its parents' results), or CANCELLED by one that ended."""
    parents = [tasks[p] for p in task["dependsOn"] if p in tasks]
    ended = next((p for p in parents if p["status"] in TERMINAL and p["status"] != "TASK_STATUS_SUCCEEDED"), None)
    waiting = sum(1 for p in parents if p["status"] != "TASK_STATUS_SUCCEEDED")
    task.pop("waitingOn", None)
    if ended:
        task["status"], task["blockedBy"] = "TASK_STATUS_CANCELLED", ended["taskId"]
        task["error"] = f"dependency {ended['taskId']} ended {ended['status']}"
        task["finishedAt"] = task["updatedAt"] = now()
    elif waiting:
        task["status"], task["waitingOn"] = "TASK_STATUS_WAITING", waiting
    else:
        task["status"], task["_due"], task["updatedAt"] = "TASK_STATUS_QUEUED", time.time() + 0.3, now()
        task["dependencyResults"] = {p["taskId"]: p.get("result", "") for p in parents}


def advance():
    while True:
        time.sleep(0.1)
        with lock:
            for task in list(tasks.values()):
                status = task["status"]
                if status in TERMINAL or configs.get(task["taskType"], {}).get("paused"):
                    continue
                if status == "TASK_STATUS_WAITING":
                    settle(task)
                    continue
                if status in ("TASK_STATUS_QUEUED", "TASK_STATUS_RETRYING") and time.time() >= task["_due"]:
                    task["status"] = "TASK_STATUS_RUNNING"
                    task["attempt"] = task.get("attempt", 0) + 1
                    task["workerId"] = f"server-{random.randint(1, 3)}-worker-{random.randint(1000, 9999)}"
                    task["startedAt"] = task["updatedAt"] = now()
                    config = configs.get(task["taskType"], {})
                    ms = int(task["payload"].get("ms", "300")) if config.get("endpoint") == "sleep" else 300
                    task["_due"] = time.time() + ms / 1000
                    add_log(task, f"sleeping {ms} ms" if config.get("endpoint") == "sleep" else "started")
                elif status == "TASK_STATUS_RUNNING" and time.time() >= task["_due"]:
                    config = configs.get(task["taskType"], {})
                    task["finishedAt"] = task["updatedAt"] = now()
                    if config.get("endpoint") == "fail":
                        task["status"] = "TASK_STATUS_FAILED"
                        task["error"] = task["payload"].get("message", "failed on purpose")
                        add_log(task, task["error"], "ERROR")
                    else:
                        task["status"] = "TASK_STATUS_SUCCEEDED"
                        task["result"] = json.dumps(task["payload"])
                        add_log(task, "done")


def sample():
    while True:
        with lock:
            counts = {}
            for task in tasks.values():
                counts[task["status"]] = counts.get(task["status"], 0) + 1
            history.append({"at": now(), "succeeded": str(counts.get("TASK_STATUS_SUCCEEDED", 0)),
                            "failed": str(counts.get("TASK_STATUS_FAILED", 0)), "queueHigh": str(random.randint(0, 5)),
                            "queueNormal": str(random.randint(0, 40)), "throughput": round(random.uniform(20, 80), 1),
                            "startLatencyP50Ms": round(random.uniform(1, 3), 2), "startLatencyP99Ms": round(random.uniform(5, 15), 2)})
            del history[:-90]
        time.sleep(10)


# --- a small cron for the mock (the node's parser is BatonCron; this only has to look alike) ---
MACROS = {"@yearly": "0 0 1 1 *", "@annually": "0 0 1 1 *", "@monthly": "0 0 1 * *", "@weekly": "0 0 * * 0",
          "@daily": "0 0 * * *", "@midnight": "0 0 * * *", "@hourly": "0 * * * *"}
FIELDS = [("second", 0, 59), ("minute", 0, 59), ("hour", 0, 23), ("day-of-month", 1, 31), ("month", 1, 12), ("day-of-week", 0, 6)]


def cron_values(text, name, low, high):
    values = set()
    for part in text.split(","):
        body, _, step = part.partition("/")
        try:
            step = int(step) if step else 1
            if body == "*":
                start, end = low, high
            elif "-" in body:
                start, end = (int(x) for x in body.split("-", 1))
            else:
                start = end = int(body)
                if step > 1:
                    end = high
        except ValueError:
            raise Problem(400, "INVALID_ARGUMENT", f'{name} field "{text}": not a number, range, list or step')
        if start < low or end > high or start > end or step < 1:
            raise Problem(400, "INVALID_ARGUMENT", f'{name} field "{text}": {start if start < low or start > high else end} is out of range {low}-{high}')
        values.update(range(start, end + 1, step))
    return values


def fire_times(cron, zone, after, count):
    """The next `count` fire times (UTC datetimes) after `after`."""
    try:
        tz = ZoneInfo(zone) if zone else timezone.utc
    except Exception:
        raise Problem(400, "INVALID_ARGUMENT", f'cron "{cron}" in {zone}: time zone "{zone}": not a known IANA time zone name')
    cron = MACROS.get(cron.strip(), cron.strip())
    if cron.startswith("@every "):
        units = {"s": 1, "m": 60, "h": 3600}
        text = cron[7:].strip()
        try:
            seconds = int(text[:-1]) * units[text[-1]]
        except (ValueError, KeyError, IndexError):
            raise Problem(400, "INVALID_ARGUMENT", f'cron "{cron}": @every interval "{text}": write a duration such as 30s, 5m or 1h')
        if seconds < 1:
            raise Problem(400, "INVALID_ARGUMENT", f'cron "{cron}": @every interval "{text}": the interval must be at least 1s')
        first = (int(after.timestamp()) // seconds + 1) * seconds
        return [datetime.fromtimestamp(first + i * seconds, timezone.utc) for i in range(count)]
    parts = cron.split()
    if len(parts) == 5:
        parts = ["0"] + parts
    if len(parts) != 6:
        raise Problem(400, "INVALID_ARGUMENT", f'cron "{cron}": cron expression "{cron}": five or six fields are needed, got {len(parts)}')
    sets = [cron_values(text, name, low, high) for text, (name, low, high) in zip(parts, FIELDS)]
    step = timedelta(seconds=1) if sets[0] != {0} else timedelta(minutes=1)
    t = after.astimezone(tz).replace(microsecond=0) + timedelta(seconds=1)
    if step == timedelta(minutes=1):
        t = t.replace(second=0) + (timedelta(minutes=1) if t.second else timedelta())
    fires = []
    for _ in range(400 * 1440):
        if (t.second in sets[0] and t.minute in sets[1] and t.hour in sets[2] and t.day in sets[3] and t.month in sets[4]
                and (t.isoweekday() % 7) in sets[5]):
            fires.append(t.astimezone(timezone.utc))
            if len(fires) == count:
                break
        t += step
    return fires


def stamp(moment):
    return moment.strftime("%Y-%m-%dT%H:%M:%SZ")


class Problem(Exception):
    def __init__(self, status, code, detail):
        super().__init__(detail)
        self.status, self.code, self.detail = status, code, detail


def public(task):
    return {k: v for k, v in task.items() if not k.startswith("_")}


class Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"

    def log_message(self, *args):
        pass

    def send(self, status, body, content_type="application/json"):
        data = body if isinstance(body, bytes) else json.dumps(body).encode()
        self.send_response(status)
        self.send_header("Content-Type", content_type)
        self.send_header("Content-Length", str(len(data)))
        self.send_header("Cache-Control", "no-cache")
        self.end_headers()
        self.wfile.write(data)

    def problem(self, p):
        self.send(p.status, {"type": "about:blank", "title": p.code, "status": p.status, "code": p.code, "detail": p.detail},
                  "application/problem+json")

    def role(self):
        auth = self.headers.get("Authorization", "")
        key = auth[7:] if auth.startswith("Bearer ") else ""
        if key in KEYS:
            return KEYS[key], key
        if OPEN[0] and not key:
            return "admin", ""
        raise Problem(401, "UNAUTHENTICATED", "missing or unknown API key")

    def need(self, role, wanted):
        order = ["viewer", "submitter", "admin"]
        if order.index(role) < order.index(wanted):
            raise Problem(403, "PERMISSION_DENIED", f"{wanted} role required")

    def do_GET(self):
        self.route("GET")

    def do_POST(self):
        self.route("POST")

    def do_PUT(self):
        self.route("PUT")

    def do_DELETE(self):
        self.route("DELETE")

    def route(self, method):
        url = urlparse(self.path)
        path = url.path
        try:
            if path == "/ui" or path.startswith("/ui/"):
                name = path[4:] or "index.html"
                file = DASHBOARD / name
                if not file.is_file():
                    raise Problem(404, "NOT_FOUND", "no such file")
                return self.send(200, file.read_bytes(), TYPES.get(file.suffix, "application/octet-stream"))
            if not path.startswith("/api/v1/"):
                raise Problem(404, "NOT_FOUND", "no route")
            body = {}
            if method in ("POST", "PUT", "DELETE"):
                if self.headers.get("Content-Type", "").split(";")[0] != "application/json":
                    raise Problem(415, "INVALID_ARGUMENT", "Content-Type must be application/json")
                length = int(self.headers.get("Content-Length", "0"))
                body = json.loads(self.rfile.read(length) or b"{}")
            role, key = self.role()
            parts = path[len("/api/v1/"):].split("/")
            q = parse_qs(url.query)
            with lock:
                answer = self.api(method, parts, q, body, role, key)
            if answer == "stream":
                return
            self.send(answer[0], answer[1])
        except Problem as p:
            self.problem(p)

    def api(self, method, parts, q, body, role, key):
        if parts == ["whoami"]:
            return 200, {"role": role, "tenant": "default", "keyId": key.split("-")[0] if key else ""}
        if parts == ["stats"]:
            counts = {}
            for task in tasks.values():
                counts[task["status"]] = str(int(counts.get(task["status"], "0")) + 1)
            workers = [{"workerId": f"server-{n}-worker-{1000 + n}", "nodeId": f"server-{n}", "capacity": 10,
                        "running": sum(1 for t in tasks.values() if t["status"] == "TASK_STATUS_RUNNING" and t.get("workerId", "").startswith(f"server-{n}")),
                        "lastHeartbeat": now(), "queued": random.randint(0, 3)} for n in (1, 2, 3)]
            return 200, {"leaderNodeId": "server-1", "leaderEpoch": "4", "workers": workers, "queueNormal": "3",
                         "tasksByStatus": counts, "nodeId": "server-1", "tasksScheduledTotal": str(len(tasks))}
        if parts == ["history"]:
            return 200, {"intervalSeconds": 10, "samples": history}
        if parts == ["dead-letters"]:
            groups = {}
            for task in sorted(tasks.values(), key=lambda t: t["taskId"], reverse=True):
                if task["status"] in ("TASK_STATUS_FAILED", "TASK_STATUS_TIMEOUT"):
                    g = groups.setdefault((task["taskType"], task["status"], task.get("error", "")),
                                          {"taskType": task["taskType"], "status": task["status"], "error": task.get("error", ""),
                                           "count": 0, "lastAt": task["updatedAt"], "taskIds": []})
                    g["count"] += 1
                    if len(g["taskIds"]) < 20:
                        g["taskIds"].append(task["taskId"])
            return 200, {"groups": list(groups.values()), "scanned": sum(g["count"] for g in groups.values())}
        if parts == ["dead-letters", "retry"] and method == "POST":
            self.need(role, "submitter")
            n = 0
            for task in tasks.values():
                if task["taskType"] == body.get("taskType") and task["status"] == body.get("status") and task.get("error", "") == body.get("error"):
                    task["status"], task["_due"] = "TASK_STATUS_QUEUED", time.time() + 0.3
                    n += 1
            return 200, {"matched": str(n), "changed": str(n)}
        if parts == ["tasks"] and method == "GET":
            statuses = ",".join(q.get("statuses", [])).split(",") if q.get("statuses") else []
            items = sorted(tasks.values(), key=lambda t: t["taskId"], reverse=True)
            items = [t for t in items if (not statuses or t["status"] in statuses)
                     and (not q.get("taskType") or t["taskType"] == q["taskType"][0])
                     and (not q.get("scheduleId") or t.get("scheduleId") == q["scheduleId"][0])
                     and (not q.get("dependsOn") or q["dependsOn"][0] in t.get("dependsOn", []))
                     and (not q.get("idempotencyKey") or t.get("idempotencyKey") == q["idempotencyKey"][0])]
            start = int(q.get("pageToken", ["0"])[0] or 0)
            size = int(q.get("pageSize", ["100"])[0])
            page = items[start:start + size]
            answer = {"tasks": [public(t) for t in page]}
            if start + size < len(items):
                answer["nextPageToken"] = str(start + size)
            return 200, answer
        if parts == ["tasks"] and method == "POST":
            self.need(role, "submitter")
            return 201, {"task": public(create(body))}
        if parts == ["tasks", "batch"] and method == "POST":
            self.need(role, "submitter")
            created = []
            for item in body.get("tasks", []):
                created.append(create(item, batch=[t["taskId"] for t in created]))
            return 200, {"tasks": [public(t) for t in created]}
        if len(parts) >= 2 and parts[0] == "tasks":
            task = tasks.get(parts[1])
            if task is None:
                raise Problem(404, "NOT_FOUND", f"task {parts[1]} not found")
            if len(parts) == 2:
                return 200, {"task": public(task)}
            if parts[2] == "logs":
                after = int(q.get("pageToken", ["0"])[0] or 0)
                size = int(q.get("pageSize", ["100"])[0])
                lines = [line for line in logs.get(task["taskId"], []) if int(line["id"]) > after]
                answer = {"logs": lines[:size]}
                if len(lines) > size:
                    answer["nextPageToken"] = lines[size - 1]["id"]
                return 200, answer
            if parts[2] == "cancel":
                self.need(role, "submitter")
                if task["status"] in TERMINAL:
                    raise Problem(409, "FAILED_PRECONDITION", "task already finished")
                task["status"] = "TASK_STATUS_CANCELLED"
                task["finishedAt"] = task["updatedAt"] = now()
                task["error"] = "cancelled" + (f": {body['reason']}" if body.get("reason") else "")
                add_log(task, f"{task['error']} (by key {key})", "WARN")
                return 200, {"task": public(task)}
            if parts[2] == "retry":
                self.need(role, "submitter")
                if task["status"] not in ("TASK_STATUS_FAILED", "TASK_STATUS_TIMEOUT", "TASK_STATUS_CANCELLED"):
                    raise Problem(409, "FAILED_PRECONDITION", "only a failed, timed-out or cancelled task can be retried")
                task["status"], task["_due"] = "TASK_STATUS_QUEUED", time.time() + 0.5
                task["updatedAt"] = now()
                task.pop("finishedAt", None)
                add_log(task, f"retried by key {key}" + (f": {body['reason']}" if body.get("reason") else ""))
                return 200, {"task": public(task)}
            if parts[2] == "events":
                self.stream(task)
                return "stream"
        if parts[0] == "task-types":
            self.need(role, "admin")
            if len(parts) == 1:
                return 200, {"configs": list(configs.values())}
            name = parts[1]
            if len(parts) == 2 and method == "PUT":
                config = dict(body, taskType=name, updatedAt=now())
                config["paused"] = configs.get(name, {}).get("paused", False)
                configs[name] = {k: v for k, v in config.items() if v not in (0, "", False, {}, None)}
                return 200, configs[name]
            if name not in configs:
                raise Problem(404, "NOT_FOUND", f"task type {name} is not configured")
            if len(parts) == 2 and method == "GET":
                return 200, configs[name]
            if len(parts) == 2 and method == "DELETE":
                if any(t["taskType"] == name and t["status"] not in TERMINAL for t in tasks.values()):
                    raise Problem(409, "FAILED_PRECONDITION", f"task type {name} has unfinished tasks")
                del configs[name]
                return 200, {}
            if len(parts) == 3 and parts[2] in ("pause", "resume"):
                if parts[2] == "pause":
                    configs[name]["paused"] = True
                else:
                    configs[name].pop("paused", None)
                return 200, configs[name]
        if parts == ["cron-preview"]:
            cron = q.get("cron", [""])[0]
            if not cron:
                raise Problem(400, "INVALID_ARGUMENT", "cron is required")
            zone = q.get("timeZone", [""])[0]
            count = int(q.get("count", ["5"])[0])
            try:
                fires = fire_times(cron, zone, datetime.now(timezone.utc), count)
            except Problem as p:
                raise Problem(400, p.code, p.detail if p.detail.startswith("cron") else f'cron "{cron}": {p.detail}')
            return 200, {"cron": cron, "timeZone": zone, "fireTimes": [stamp(f) for f in fires]}
        if parts[0] == "schedules":
            self.need(role, "admin")
            if len(parts) == 1:
                return 200, {"schedules": [schedules[k] for k in sorted(schedules)]}
            sid = parts[1]
            if len(parts) == 2 and method == "PUT":
                return 200, put_schedule(dict(body, scheduleId=sid))
            if sid not in schedules:
                raise Problem(404, "NOT_FOUND", f"schedule {sid} does not exist")
            schedule = schedules[sid]
            if len(parts) == 2 and method == "GET":
                return 200, schedule
            if len(parts) == 2 and method == "DELETE":
                del schedules[sid]
                return 200, {}
            if len(parts) == 3 and parts[2] in ("pause", "resume"):
                return 200, put_schedule(dict(schedule, paused=parts[2] == "pause"))
            if len(parts) == 3 and parts[2] == "trigger":
                task = create({"taskType": schedule["taskType"], "payload": schedule.get("payload", {})})
                task["scheduleId"], task["scheduledFor"] = sid, now()
                schedule["lastFireAt"], schedule["lastTaskId"] = task["scheduledFor"], task["taskId"]
                return 200, {"task": public(task)}
        raise Problem(404, "NOT_FOUND", "no route")

    def stream(self, task):
        self.send_response(200)
        self.send_header("Content-Type", "text/event-stream")
        self.send_header("Cache-Control", "no-cache")
        self.send_header("Transfer-Encoding", "chunked")
        self.end_headers()
        last = None
        lock.release()  # api() runs under the lock; the stream must not hold it
        try:
            while True:
                with lock:
                    snapshot = json.dumps(public(task))
                    status = task["status"]
                if snapshot != last:
                    last = snapshot
                    chunk = f"event: task\ndata: {snapshot}\n\n".encode()
                    self.wfile.write(f"{len(chunk):x}\r\n".encode() + chunk + b"\r\n")
                    self.wfile.flush()
                if status in TERMINAL:
                    break
                time.sleep(0.2)
            self.wfile.write(b"0\r\n\r\n")
        except OSError:
            pass
        finally:
            lock.acquire()


def put_schedule(body):
    sid = body["scheduleId"]
    cron = body.get("cron", "")
    if not cron:
        raise Problem(400, "INVALID_ARGUMENT", "cron is required")
    if body.get("taskType") not in configs:
        raise Problem(400, "INVALID_ARGUMENT", f"task_type \"{body.get('taskType')}\" is not configured")
    fires = fire_times(cron, body.get("timeZone", ""), datetime.now(timezone.utc), 1)
    old = schedules.get(sid, {})
    schedule = {k: v for k, v in body.items() if k not in ("nextFireAt", "lastFireAt", "lastTaskId", "updatedAt")}
    schedule.update({k: old[k] for k in ("lastFireAt", "lastTaskId") if k in old})
    if fires:
        schedule["nextFireAt"] = stamp(fires[0])
    schedule["updatedAt"] = now()
    schedules[sid] = {k: v for k, v in schedule.items()
                      if v not in (0, "", False, {}, None, "MISFIRE_RUN_ONCE", "OVERLAP_ALLOW", "PRIORITY_NORMAL")}
    return schedules[sid]


def seed():
    for name, config in {"send_email": {"executor": "local", "endpoint": "echo", "timeoutSeconds": 30, "maxRetries": 3, "enabled": True},
                         "sleep": {"executor": "local", "endpoint": "sleep", "timeoutSeconds": 60, "enabled": True},
                         "charge_card": {"executor": "local", "endpoint": "fail", "timeoutSeconds": 10, "enabled": True}}.items():
        configs[name] = dict(config, taskType=name, updatedAt=now())
    put_schedule({"scheduleId": "nightly-report", "cron": "30 2 * * *", "timeZone": "Europe/Berlin", "taskType": "send_email",
                  "payload": {"to": "ops@example.com"}, "overlap": "OVERLAP_SKIP"})
    put_schedule({"scheduleId": "card-sweep", "cron": "*/15 * * * *", "taskType": "charge_card", "paused": True})
    for i in range(40):
        create({"taskType": random.choice(["send_email", "send_email", "charge_card"]), "payload": {"to": f"user{i}@example.com",
                "message": random.choice(["card declined", "gateway timeout"])}})
    for i in range(30):
        history.append({"at": datetime.fromtimestamp(time.time() - (30 - i) * 10, timezone.utc).isoformat().replace("+00:00", "Z"),
                        "throughput": round(40 + 30 * random.random(), 1), "startLatencyP50Ms": 1.5, "startLatencyP99Ms": 9.1,
                        "queueNormal": str(random.randint(0, 50))})
    # A diamond: extract, then two transforms, then load (open load's or a transform's page).
    extract = create({"taskType": "sleep", "payload": {"ms": "60000", "step": "extract"}})
    left = create({"taskType": "send_email", "payload": {"step": "transform-a"}, "dependsOn": [extract["taskId"]]})
    right = create({"taskType": "send_email", "payload": {"step": "transform-b"}, "dependsOn": [extract["taskId"]]})
    create({"taskType": "send_email", "payload": {"step": "load"}, "dependsOn": [left["taskId"], right["taskId"]]})


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--port", type=int, default=8090)
    parser.add_argument("--open", action="store_true")
    args = parser.parse_args()
    OPEN[0] = args.open
    seed()
    threading.Thread(target=advance, daemon=True).start()
    threading.Thread(target=sample, daemon=True).start()
    server = ThreadingHTTPServer(("127.0.0.1", args.port), Handler)
    print(f"mock API and dashboard on http://127.0.0.1:{args.port}/ui (keys: admin-key, submitter-key, viewer-key)", flush=True)
    server.serve_forever()


if __name__ == "__main__":
    main()
