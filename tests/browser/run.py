#!/usr/bin/env python3
"""The dashboard in a real browser (make browser-tests, part of make test).

Starts a private Redis (6384) and MariaDB (3384) with scripts/dev-services.sh
under .run/browser, three baton-node processes (HTTP 18281-18283, gRPC
19281-19283) with an API key file holding an admin, a submitter and a viewer
key, and drives headless Chromium (selenium) through the dashboard at /ui:

  sign-in       a wrong key is refused on the page; the admin key signs in
  overview      three workers and the leader the REST API names
  task-list     a task created through the REST API is listed within 2 s
  task-detail   its page shows it RUNNING (Server-Sent Events) and tails its logs
  cancel        the Cancel button stops the running sleep task (CANCELLED)
  retry         the Retry button brings a failed task back (a new attempt)
  dead-letters  failures grouped by type and error; Retry all re-runs a group
  pause-resume  a task type paused and resumed from its page
  edit-types    a type's configuration edited (PUT); a new type created and deleted
  schedules     a schedule created in the editor (a refused expression shown inline, the next
                five fire times shown before saving), paused, resumed, triggered (its task
                linked, the tasks page filtered by it), deleted
  dependencies  a diamond (extract -> two transforms -> load) made in one batch: while extract runs, a
                transform's page shows it WAITING with extract RUNNING above and load WAITING below (links
                between the pages), the overview and the status filter count WAITING, the tasks page lists
                extract's dependents; once it ran, load's page shows the results it received
  workers       three workers on the workers page
  theme         the theme follows prefers-color-scheme; the toggle is remembered
  submitter     a submitter may create tasks but sees no admin buttons
  viewer        a viewer sees no button that changes anything (and the server refuses)
  console       no JavaScript error in the console on any page (checked after every step)

    tests/browser/run.py [--keep] [--only a,b] [--screenshots DIR]

--screenshots DIR saves each page at 1366x768 (the overview light and dark)
into DIR (make screenshots: docs/screenshots); they always go to
.run/browser/screenshots. Logs: .run/browser/logs.
"""

import argparse
import json
import os
import secrets
import shutil
import sys
import threading
import time
import traceback
import urllib.error
import urllib.request
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[2] / "testkit"))  # batontest, the shared test kit
from batontest import nodes as kit  # noqa: E402
from batontest import procs, waits  # noqa: E402
from batontest.paths import REPO, node_bin  # noqa: E402
from batontest.progress import Progress  # noqa: E402
from batontest.services import DevServices  # noqa: E402

from selenium import webdriver  # noqa: E402
from selenium.common.exceptions import StaleElementReferenceException, WebDriverException  # noqa: E402
from selenium.webdriver.chrome.service import Service  # noqa: E402
from selenium.webdriver.common.action_chains import ActionChains  # noqa: E402
from selenium.webdriver.common.by import By  # noqa: E402

RUN = Path(os.environ.get("BROWSER_RUN_DIR", REPO / ".run" / "browser"))
LOGS = RUN / "logs"
SHOTS = RUN / "screenshots"
# BROWSER_REDIS_PORT, BROWSER_MYSQL_PORT, BROWSER_HTTP_BASE, BROWSER_GRPC_BASE: other ports (node n on BASE + n).
SERVICES = DevServices(RUN, os.environ.get("BROWSER_REDIS_PORT", "6384"), os.environ.get("BROWSER_MYSQL_PORT", "3384"), LOGS)
REDIS_PORT, MYSQL_PORT = SERVICES.redis_port, SERVICES.mysql_port
HTTP_PORT = kit.numbered(int(os.environ.get("BROWSER_HTTP_BASE", "18280")))
GRPC_PORT = kit.numbered(int(os.environ.get("BROWSER_GRPC_BASE", "19280")))
NODE_BIN = node_bin()
BASE = f"http://127.0.0.1:{HTTP_PORT[1]}"
KEYS = {"admin": secrets.token_urlsafe(24), "submitter": secrets.token_urlsafe(24), "viewer": secrets.token_urlsafe(24)}
ACTION_BUTTONS = ["cancel", "retry", "new-task", "retry-group", "retry-one", "pause", "resume", "edit", "delete", "new-type",
                  "new-schedule", "trigger"]

PROGRESS = Progress(LOGS / "browser.log", width=6)
log = PROGRESS.log
# What a wait in the page may meet before the page is ready: "not yet".
NOT_YET = (WebDriverException, StaleElementReferenceException, OSError, KeyError, ValueError)


def wait_until(predicate, seconds, interval=0.1):
    return waits.wait_until(predicate, seconds, interval, errors=NOT_YET)


class Failure(Exception):
    pass


def check(condition, message):
    if not condition:
        raise Failure(message)


# --- servers ------------------------------------------------------------------------------------------------------------


class Nodes:
    """The three nodes (the test kit's NodeProcess), sharing one API key file."""

    def __init__(self):
        self.keys_file = RUN / "keys.txt"
        flags = ["--api-keys-file", str(self.keys_file), "--capacity", "4", "--grace-period", "1"]
        self.nodes = [kit.NodeProcess(f"server-{n}", GRPC_PORT[n], HTTP_PORT[n], SERVICES.redis_url, SERVICES.mysql_url,
                                      LOGS / f"server-{n}.log", LOGS / "files", pidfile=RUN / "pids" / f"server-{n}.pid",
                                      flags=flags, label="browser-tests") for n in (1, 2, 3)]

    def write_keys(self):
        RUN.mkdir(parents=True, exist_ok=True)
        self.keys_file.write_text("".join(f"{name} {name} {key}\n" for name, key in KEYS.items()))
        self.keys_file.chmod(0o600)

    def start(self):
        self.write_keys()
        kit.start_all(self.nodes, 90)

    def stop(self):
        codes = {node_id: code for node_id, code in kit.stop_all(self.nodes, grace=8).items() if code not in (0, None)}
        if codes:
            log(f"note: nodes stopped by SIGTERM exited with {codes} (see their logs)")

    def keep(self):
        for node in self.nodes:
            node.keep()


def kill_leftovers():
    """Nodes an earlier run left (--keep, or a harness killed hard): by pid file, if it still runs a baton-node of ours."""
    kit.kill_leftovers((RUN / "pids").glob("server-*.pid"), GRPC_PORT.values(), log)


# --- REST -----------------------------------------------------------------------------------------------------------------


class Rest:
    def __init__(self, key, base=None):
        self.key = key
        self.base = base or BASE

    def call(self, method, path, body=None, expect=None):
        data = None if body is None else json.dumps(body).encode()
        request = urllib.request.Request(self.base + path, data=data, method=method)
        request.add_header("Authorization", f"Bearer {self.key}")
        request.add_header("Accept", "application/json")
        if method != "GET":
            request.add_header("Content-Type", "application/json")
            if data is None:
                request.data = b"{}"
        try:
            with urllib.request.urlopen(request, timeout=10) as response:
                status, text = response.status, response.read()
        except urllib.error.HTTPError as error:
            status, text = error.code, error.read()
        answer = json.loads(text) if text else {}
        if expect is not None and status not in (expect if isinstance(expect, tuple) else (expect,)):
            raise Failure(f"{method} {path}: expected {expect}, got {status} {text[:300]!r}")
        return status, answer

    def get(self, path):
        return self.call("GET", path, expect=200)[1]

    def task(self, task_id):
        return self.get(f"/api/v1/tasks/{task_id}")["task"]

    def create(self, task_type, payload=None, **extra):
        body = {"taskType": task_type, "payload": payload or {}, **extra}
        return self.call("POST", "/api/v1/tasks", body, expect=(200, 201))[1]["task"]

    def put_type(self, task_type, **config):
        body = {"taskType": task_type, "enabled": True, "timeoutSeconds": 60, **config}
        return self.call("PUT", f"/api/v1/task-types/{task_type}", body, expect=200)[1]


def status(task):
    return (task.get("status") or "").replace("TASK_STATUS_", "")


class Feeder(threading.Thread):
    """A little traffic of realistic types, so the charts and lists have something to show."""

    ERRORS = ["card declined: insufficient funds", "gateway timeout after 10 s", "card declined: expired card"]

    def __init__(self, rest):
        super().__init__(daemon=True)
        self.rest = rest
        self.stopping = threading.Event()
        self.created = 0
        self.errors = []

    def run(self):
        i = 0
        while not self.stopping.wait(1.0):
            i += 1
            tasks = [{"taskType": "send_email", "payload": {"to": f"user{i * 10 + j}@example.com", "template": "welcome"}}
                     for j in range(5)]
            tasks += [{"taskType": "resize_image", "payload": {"ms": str(200 + (i * 137) % 900), "image": f"img-{i}.png"}}
                      for _ in range(2)]
            if i % 3 == 0:
                tasks.append({"taskType": "charge_card", "payload": {"message": self.ERRORS[(i // 3) % len(self.ERRORS)], "amount": "42.00"}})
            if i % 7 == 0:
                tasks.append({"taskType": "send_email", "priority": "PRIORITY_HIGH", "payload": {"to": "ceo@example.com"}})
            try:
                self.rest.call("POST", "/api/v1/tasks/batch", {"tasks": tasks}, expect=200)
                self.created += len(tasks)
            except Exception as error:  # noqa: BLE001 - reported at the end
                if len(self.errors) < 5:
                    self.errors.append(str(error))

    def stop(self):
        self.stopping.set()
        self.join(timeout=5)


# --- the browser --------------------------------------------------------------------------------------------------------


class Browser:
    def __init__(self):
        options = webdriver.ChromeOptions()
        options.binary_location = shutil.which("chromium") or "/usr/bin/chromium"
        for argument in ("--headless=new", "--no-sandbox", "--disable-dev-shm-usage", "--disable-gpu",
                         "--window-size=1366,900", "--no-first-run", "--disable-extensions", "--lang=en-US",
                         "--disable-background-networking", "--disable-component-update"):
            options.add_argument(argument)
        options.set_capability("goog:loggingPrefs", {"browser": "ALL"})
        service = Service(shutil.which("chromedriver") or "/usr/bin/chromedriver", log_output=str(LOGS / "chromedriver.log"))
        self.driver = webdriver.Chrome(service=service, options=options)
        self.driver.set_page_load_timeout(20)
        self.viewport()
        self.console = []  # (step, message) of every SEVERE entry not allowed
        self.allowed = []  # substrings of SEVERE network entries a step expects

    def viewport(self, width=1366, height=768):
        self.driver.execute_cdp_cmd("Emulation.setDeviceMetricsOverride",
                                    {"width": width, "height": height, "deviceScaleFactor": 1, "mobile": False})

    def scheme(self, value):
        self.driver.execute_cdp_cmd("Emulation.setEmulatedMedia", {"features": [{"name": "prefers-color-scheme", "value": value}]})

    def open(self, route=""):
        self.driver.get(f"{BASE}/ui{route}")

    def go(self, route):
        """A navigation inside the app (hash change, no reload)."""
        self.driver.execute_script("location.hash = arguments[0]", route)

    def find(self, css):
        return self.driver.find_elements(By.CSS_SELECTOR, css)

    def one(self, css, seconds=10, what=None):
        found = wait_until(lambda: (self.find(css) or [None])[0], seconds)
        check(found is not None, f"{what or css}: not on the page within {seconds} s")
        return found

    def text(self, css):
        elements = self.find(css)
        return elements[0].text if elements else ""

    def click(self, css, seconds=10):
        element = self.one(css, seconds)
        self.driver.execute_script("arguments[0].scrollIntoView({block: 'center'})", element)
        element.click()

    def confirm(self):
        self.click("dialog[open] [data-test=dialog-confirm]")
        check(wait_until(lambda: not self.find("dialog[open]"), 10), "the dialog did not close (its error: "
              f"{self.text('dialog[open] .dialog-error')!r})")

    def sign_in(self, key):
        """Signs out (the header's button) and in again with `key`."""
        self.click("[data-test=sign-out]")
        check(wait_until(lambda: self.driver.execute_script("return sessionStorage.length") == 0, 5), "sign-out left the key stored")
        field = self.one("[data-test=credential]")
        field.send_keys(key)
        self.click("[data-test=signin]")

    def role(self):
        return self.driver.execute_script("const who = document.getElementById('who'); return who && !who.hidden ? who.dataset.role : ''")

    def drain_console(self, step):
        for entry in self.driver.get_log("browser"):
            if entry.get("level") != "SEVERE":
                continue
            message = entry.get("message", "")
            if entry.get("source") == "network" and any(allowed in message for allowed in self.allowed):
                continue
            self.console.append((step, message))

    def shot(self, name, extra_dir):
        SHOTS.mkdir(parents=True, exist_ok=True)
        # Toasts of earlier steps out of the picture; fonts, charts and transitions settled.
        self.driver.execute_script("document.querySelectorAll('.toast').forEach((t) => t.remove())")
        time.sleep(0.4)
        path = SHOTS / f"{name}.png"
        self.driver.save_screenshot(str(path))
        if extra_dir:
            Path(extra_dir).mkdir(parents=True, exist_ok=True)
            shutil.copyfile(path, Path(extra_dir) / f"{name}.png")

    def quit(self):
        try:
            self.driver.quit()
        except Exception:  # noqa: BLE001
            pass


# --- the checks ----------------------------------------------------------------------------------------------------------


class Suite:
    def __init__(self, browser, shots_dir):
        self.b = browser
        self.shots_dir = shots_dir
        self.admin = Rest(KEYS["admin"])
        self.submitter = Rest(KEYS["submitter"])
        self.viewer = Rest(KEYS["viewer"])
        self.sleep_task = None
        self.failed_task = None
        self.notes = []

    def shot(self, name):
        self.b.shot(name, self.shots_dir)

    def setup(self):
        for name, config in {
            "sleep": {"executor": "local", "endpoint": "sleep", "timeoutSeconds": 120},
            "fail": {"executor": "local", "endpoint": "fail", "timeoutSeconds": 10},
            "send_email": {"executor": "local", "endpoint": "echo", "timeoutSeconds": 30, "maxRetries": 3, "retryBackoffMs": 500},
            "resize_image": {"executor": "local", "endpoint": "sleep", "timeoutSeconds": 30, "maxConcurrency": 6},
            "charge_card": {"executor": "local", "endpoint": "fail", "timeoutSeconds": 15, "retentionHours": 72},
        }.items():
            self.admin.put_type(name, **config)

    # sign-in
    def sign_in(self):
        b = self.b
        b.allowed = ["/api/v1/whoami"]  # the open-node probe and the wrong key answer 401
        b.open("#/overview")
        b.one("[data-test=credential]", what="the sign-in form")
        self.shot("signin")
        b.find("[data-test=credential]")[0].send_keys("not-a-key")
        b.click("[data-test=signin]")
        check(wait_until(lambda: "not accepted" in b.text("[data-test=signin-error]"), 10), "a wrong key: no error on the sign-in form")
        b.find("[data-test=credential]")[0].clear()
        b.find("[data-test=credential]")[0].send_keys(KEYS["admin"])
        b.click("[data-test=signin]")
        check(wait_until(lambda: b.role() == "admin", 10), f"signed in with the admin key: header says {b.role()!r}")
        stored = b.driver.execute_script("return [location.href, document.cookie, localStorage.length ? JSON.stringify(localStorage) : '']")
        check(all(KEYS["admin"] not in value for value in stored), "the key appears in the URL, a cookie or localStorage")
        b.drain_console("sign-in")
        b.allowed = []

    def overview(self):
        b = self.b
        b.go("#/overview")
        stats = self.admin.get("/api/v1/stats")
        leader = stats.get("leaderNodeId", "")
        check(leader, f"the REST stats name no leader: {stats}")
        check(wait_until(lambda: len(b.find("[data-test=worker-row]")) == 3, 15),
              f"the overview lists {len(b.find('[data-test=worker-row]'))} workers, not 3")
        check(wait_until(lambda: b.text("[data-test=leader]") == wait_leader(self.admin), 10),
              f"the overview's leader {b.text('[data-test=leader]')!r} is not the REST API's {leader!r}")
        check(b.find("[data-test=queue-waiting]"), "no waiting-queue figure")
        check(wait_until(lambda: b.find(".chart-svg"), 5), "no charts")

    def task_list(self):
        b = self.b
        # A task created with typed arguments: its page shows them (as JSON), not an empty payload.
        typed = self.submitter.create("send_email", args={"amount": 42, "items": [1, 2]})
        b.go(f"#/tasks/{typed['taskId']}")
        check(wait_until(lambda: '"amount": 42' in b.text("[data-test=task-args]"), 10),
              f"the task page does not show the task's args (shows {b.text('[data-test=task-args]')!r})")
        b.go("#/tasks")
        b.one("[data-test=tasks], .empty", what="the task table")
        time.sleep(0.3)
        task = self.submitter.create("sleep", {"ms": "30000"})
        created = time.monotonic()
        self.sleep_task = task["taskId"]
        row = wait_until(lambda: b.find(f"[data-test=task-row][data-task-id='{self.sleep_task}']"), 5, interval=0.05)
        elapsed = time.monotonic() - created
        check(row, "the task created through the REST API is not in the list after 5 s")
        check(elapsed <= 2.0, f"the new task took {elapsed:.2f} s to appear in the list (at most 2 s)")
        self.notes.append(f"a new task appeared in the list {elapsed:.2f} s after CreateTask answered")
        self.shot("tasks")

    def task_detail(self):
        b = self.b
        check(self.sleep_task, "no task from task-list")
        b.click(f"[data-test=task-row][data-task-id='{self.sleep_task}'] a")
        check(wait_until(lambda: b.driver.current_url.endswith(f"#/tasks/{self.sleep_task}"), 5), "the row did not open the task")
        check(wait_until(lambda: b.one("[data-test=task-status]").get_attribute("data-status") == "RUNNING", 15),
              f"the task page never showed RUNNING (shows {b.one('[data-test=task-status]').get_attribute('data-status')})")
        check(wait_until(lambda: any("sleeping 30000 ms" in line.text for line in b.find("[data-test=log-line]")), 10),
              "the task page does not show the task's log line 'sleeping 30000 ms'")
        check(wait_until(lambda: b.text("[data-test=live-state]").lower() == "live", 5),
              f"the live state (SSE) reads {b.text('[data-test=live-state]')!r}, not 'live'")
        self.shot("task")

    def cancel(self):
        b = self.b
        check(status(self.admin.task(self.sleep_task)) == "RUNNING", "the sleep task is not RUNNING before the cancel")
        b.click("[data-test=cancel]")
        b.one("dialog[open] [data-test=reason]").send_keys("stopped by the browser test")
        b.confirm()
        check(wait_until(lambda: b.one("[data-test=task-status]").get_attribute("data-status") == "CANCELLED", 10),
              "the page does not show CANCELLED after Cancel")
        task = self.admin.task(self.sleep_task)
        check(status(task) == "CANCELLED", f"the REST API says {status(task)} after Cancel")
        check(not b.find("[data-test=cancel]"), "Cancel is still offered on a cancelled task")
        check(wait_until(lambda: any("cancel" in line.text.lower() for line in b.find("[data-test=log-line]")), 8),
              "the cancel's log line did not reach the page (the log tail stopped?)")

    def retry(self):
        b = self.b
        task = self.submitter.create("fail", {"message": "boom from the browser test"})
        self.failed_task = task["taskId"]
        check(wait_until(lambda: status(self.admin.task(self.failed_task)) == "FAILED", 15), "the fail task never FAILED")
        b.go(f"#/tasks/{self.failed_task}")
        check(wait_until(lambda: b.one("[data-test=task-status]").get_attribute("data-status") == "FAILED", 10),
              "the failed task's page does not show FAILED")
        check("boom from the browser test" in b.text("[data-test=task-error]"), "the task's error is not on its page")
        b.click("[data-test=retry]")
        b.confirm()
        check(wait_until(lambda: int(self.admin.task(self.failed_task).get("attempt", 0)) >= 2, 10),
              "Retry did not run the task again (attempt stays 1)")
        check(wait_until(lambda: "2 of" in b.text("[data-test=task-fields]"), 10), "the page does not show attempt 2")
        check(wait_until(lambda: b.one("[data-test=task-status]").get_attribute("data-status") == "FAILED", 15),
              "the retried task's page did not follow it to FAILED again")

    def dead_letters(self):
        b = self.b
        b.go("#/dead-letters")
        row = f"[data-test=dead-group][data-type=fail]"
        check(wait_until(lambda: b.find(row), 12), "no dead-letter group for the type 'fail'")
        charge = wait_until(lambda: b.find("[data-test=dead-group][data-type=charge_card]"), 12)
        check(charge, "no dead-letter group for charge_card")
        before = int(self.admin.task(self.failed_task).get("attempt", 0))
        b.click(f"{row} [data-test=retry-group]")
        b.confirm()
        check(wait_until(lambda: int(self.admin.task(self.failed_task).get("attempt", 0)) > before, 10),
              "Retry all on the 'fail' group did not run its task again")
        # Open the charge_card groups for the screenshot.
        for toggle in b.find("[data-test=dead-group][data-type=charge_card] td:first-child button")[:1]:
            toggle.click()
        b.one("[data-test=retry-one]", what="a group's tasks with their Retry buttons")
        self.shot("dead-letters")

    def pause_resume(self):
        b = self.b
        b.go("#/task-types")
        row = "[data-test=type-row][data-type=sleep]"
        b.one(row, what="the sleep type's row")
        b.click(f"{row} [data-test=pause]")
        check(wait_until(lambda: b.one(row).get_attribute("data-paused") == "true", 10), "the row does not show the type paused")
        check(self.admin.get("/api/v1/task-types/sleep").get("paused") is True, "the REST API does not say sleep is paused")
        self.shot("task-types")
        b.click(f"{row} [data-test=resume]")
        check(wait_until(lambda: b.one(row).get_attribute("data-paused") == "false", 10), "the row does not show the type resumed")
        check(not self.admin.get("/api/v1/task-types/sleep").get("paused"), "the REST API still says sleep is paused")

    def edit_types(self):
        """Edit a type's configuration (PUT), create one and delete it, all from the task types page."""
        b = self.b
        b.go("#/task-types")
        row = "[data-test=type-row][data-type=resize_image]"
        b.click(f"{row} [data-test=edit]")
        field = b.one("dialog[open] [data-test=edit-maxConcurrency]")
        field.clear()
        field.send_keys("9")
        b.confirm()
        check(wait_until(lambda: int(self.admin.get("/api/v1/task-types/resize_image").get("maxConcurrency", 0)) == 9, 5),
              "Edit did not store max concurrency 9")
        config = self.admin.get("/api/v1/task-types/resize_image")
        check(config.get("endpoint") == "sleep" and config.get("executor") == "local" and config.get("enabled"),
              f"Edit changed other fields: {config}")
        b.click("[data-test=new-type]")
        b.one("dialog[open] [data-test=edit-type]").send_keys("browser_tmp")
        b.one("dialog[open] [data-test=edit-endpoint]").send_keys("noop")
        b.confirm()
        check(wait_until(lambda: b.find("[data-test=type-row][data-type=browser_tmp]"), 10), "the new type is not listed")
        b.click("[data-test=type-row][data-type=browser_tmp] [data-test=delete]")
        b.confirm()
        check(wait_until(lambda: not b.find("[data-test=type-row][data-type=browser_tmp]"), 10), "the deleted type is still listed")
        code, _ = self.admin.call("GET", "/api/v1/task-types/browser_tmp")
        check(code == 404, f"the deleted type still answers (HTTP {code})")

    def schedules(self):
        """The Schedules page: the editor's preview and refusals, pause/resume, trigger, the tasks link, delete."""
        b = self.b
        self.admin.call("PUT", "/api/v1/schedules/nightly-report", {"cron": "30 2 * * *", "timeZone": "Europe/Berlin",
                                                                     "taskType": "send_email", "payload": {"to": "ops@example.com"},
                                                                     "overlap": "OVERLAP_SKIP"}, expect=200)
        b.allowed = ["/api/v1/cron-preview"]  # the refused expression answers 400 on purpose
        b.go("#/schedules")
        b.one("[data-test=schedule-row][data-schedule=nightly-report]", what="a schedule put through the REST API")
        b.click("[data-test=new-schedule]")
        b.one("dialog[open] [data-test=edit-id]").send_keys("browser_sched")
        b.one("dialog[open] [data-test=edit-type]").send_keys("send_email")
        cron = b.one("dialog[open] [data-test=edit-cron]")
        cron.send_keys("0 25 * * *")
        check(wait_until(lambda: 'hour field "25"' in b.text("dialog[open] [data-test=cron-error]"), 10),
              f"a bad hour is not refused inline: {b.text('dialog[open] [data-test=cron-error]')!r}")
        check(not b.find("dialog[open] [data-test=preview-time]"), "fire times shown for a refused expression")
        cron.clear()
        cron.send_keys("*/5 * * * *")
        b.one("dialog[open] [data-test=edit-zone]").send_keys("America/New_York")
        check(wait_until(lambda: len(b.find("dialog[open] [data-test=preview-time]")) == 5, 10),
              f"the editor shows {len(b.find('dialog[open] [data-test=preview-time]'))} fire times, not 5")
        check(not b.find("dialog[open] [data-test=cron-error]:not([hidden])"), "the refusal stays after a good expression")
        shown = [int(e.get_attribute("data-ts")) // 1000 for e in b.find("dialog[open] [data-test=preview-time]")]
        check(all(t % 300 == 0 for t in shown) and shown == sorted(shown) and shown[0] > time.time() - 5,
              f"the preview's times are not the next five 5-minute marks: {shown}")
        self.shot("schedule-editor")
        b.confirm()
        b.drain_console("schedules editor")
        b.allowed = []
        stored = self.admin.get("/api/v1/schedules/browser_sched")
        check(stored.get("cron") == "*/5 * * * *" and stored.get("timeZone") == "America/New_York" and stored.get("taskType") == "send_email",
              f"the editor stored {stored}")
        check(stored.get("nextFireAt", "")[:19].replace("T", " ").endswith(("0:00", "5:00")), f"next fire {stored.get('nextFireAt')}")
        row = "[data-test=schedule-row][data-schedule=browser_sched]"
        b.one(row, what="the new schedule's row")
        b.click(f"{row} [data-test=pause]")
        check(wait_until(lambda: b.one(row).get_attribute("data-paused") == "true", 10), "the row does not show the schedule paused")
        check(self.admin.get("/api/v1/schedules/browser_sched").get("paused") is True, "the REST API does not say it is paused")
        # Triggered while paused (the leader fires nothing meanwhile, so its task is the only one).
        b.click(f"{row} [data-test=trigger]")
        task_id = wait_until(lambda: self.admin.get("/api/v1/schedules/browser_sched").get("lastTaskId"), 10)
        check(task_id, "Trigger created no task")
        check(wait_until(lambda: b.find(f"{row} [data-test=last-task] a[data-task-id='{task_id}']"), 10), "the row does not link the triggered task")
        self.shot("schedules")
        b.click(f"{row} [data-test=schedule-tasks]")
        check(wait_until(lambda: b.find(f"[data-test=task-row][data-task-id='{task_id}']"), 10), "the tasks page filtered by the schedule lacks its task")
        check(all(r.get_attribute("data-task-id") == task_id for r in b.find("[data-test=task-row]")),
              "the tasks page filtered by the schedule lists other tasks")
        check(b.one("[data-test=filter-schedule]").get_attribute("value") == "browser_sched", "the schedule filter is not filled in")
        b.go(f"#/tasks/{task_id}")
        check(wait_until(lambda: "browser_sched" in b.text("[data-test=task-schedule]"), 10), "the task's page does not name its schedule")
        b.one("[data-test=task-scheduled-for] time", what="the task's scheduled-for time")
        b.go("#/schedules")
        b.click(f"{row} [data-test=resume]")
        check(wait_until(lambda: b.one(row).get_attribute("data-paused") == "false", 10), "the row does not show the schedule resumed")
        check(not self.admin.get("/api/v1/schedules/browser_sched").get("paused"), "the REST API still says it is paused")
        b.click(f"{row} [data-test=delete]")
        b.confirm()
        check(wait_until(lambda: not b.find(row), 10), "the deleted schedule is still listed")
        code, _ = self.admin.call("GET", "/api/v1/schedules/browser_sched")
        check(code == 404, f"the deleted schedule still answers (HTTP {code})")

    def dependencies(self):
        b = self.b
        # extract sleeps long enough for every WAITING check below, on a loaded machine too.
        made = self.submitter.call("POST", "/api/v1/tasks/batch", {"tasks": [
            {"taskType": "sleep", "payload": {"ms": "20000", "step": "extract"}},
            {"taskType": "send_email", "payload": {"step": "transform-a"}, "dependsOn": ["#0"]},
            {"taskType": "send_email", "payload": {"step": "transform-b"}, "dependsOn": ["#0"]},
            {"taskType": "send_email", "payload": {"step": "load"}, "dependsOn": ["#1", "#2"]},
        ]}, expect=200)[1]["tasks"]
        extract, left, right, load = (task["taskId"] for task in made)
        check([status(task) for task in made] == ["QUEUED", "WAITING", "WAITING", "WAITING"], f"the diamond was created {made}")
        check(wait_until(lambda: status(self.admin.task(extract)) == "RUNNING", 10), "extract never ran")

        def nodes(test):
            return [(e.get_attribute("data-task-id"), e.get_attribute("data-status"), e.get_attribute("href") or "")
                    for e in b.find(f"[data-test={test}]")]

        def shows(test, expected):
            """The nodes of one side are exactly `expected` ({id: status}), each linking to its task."""
            return wait_until(lambda: {i: s for i, s, _ in nodes(test)} == expected
                              and all(href.endswith(f"#/tasks/{i}") for i, _, href in nodes(test)), 10)

        b.go(f"#/tasks/{load}")
        check(wait_until(lambda: b.one("[data-test=task-status]").get_attribute("data-status") == "WAITING", 10), "load's page: not WAITING")
        check(shows("dep-parent", {left: "WAITING", right: "WAITING"}), f"load's page shows the parents {nodes('dep-parent')}")
        check(not b.find("[data-test=dep-child]"), f"load's page shows dependents {nodes('dep-child')}")
        check(wait_until(lambda: "2 of its 2" in b.text("[data-test=dep-waiting]"), 5), f"load's page: {b.text('[data-test=dep-waiting]')!r}")
        # Through the graph: load's first parent's node opens that task's page.
        b.click(f"[data-test=dep-parent][data-task-id='{left}']")
        check(wait_until(lambda: b.driver.current_url.endswith(f"#/tasks/{left}"), 5), "the parent's node did not open its page")
        check(wait_until(lambda: b.one("[data-test=task-status]").get_attribute("data-status") == "WAITING", 10), "transform-a's page: not WAITING")
        check(shows("dep-parent", {extract: "RUNNING"}), f"transform-a's page shows the parents {nodes('dep-parent')}")
        check(shows("dep-child", {load: "WAITING"}), f"transform-a's page shows the dependents {nodes('dep-child')}")
        check(b.find(f"[data-test=dep-waiting] a[href$='#/tasks/{extract}']"), "transform-a's page does not say it waits on extract")
        ActionChains(b.driver).move_to_element(b.one("[data-test=task-fields]")).perform()  # no hover in the picture
        self.shot("task-dependencies")
        check(status(self.admin.task(extract)) == "RUNNING", "extract ended before the WAITING checks were done (a slow machine?)")

        # WAITING counted where statuses are: the overview's figure and strip, the status filter.
        b.go("#/overview")
        waiting = lambda css: int("0" + "".join(ch for ch in b.text(css) if ch.isdigit()))
        check(wait_until(lambda: waiting("[data-test=queue-waiting] .kpi-value") >= 3, 10),
              f"the overview's Waiting figure reads {b.text('[data-test=queue-waiting] .kpi-value')!r}")
        check(wait_until(lambda: waiting(".status-count:has([data-status=WAITING]) .count") >= 3, 5), "the status strip does not count WAITING")
        b.go("#/tasks?status=WAITING")
        check(wait_until(lambda: {left, right, load} <= {r.get_attribute("data-task-id") for r in b.find("[data-test=task-row]")}, 10),
              "the tasks page filtered by WAITING lacks the diamond's waiting tasks")
        b.go(f"#/tasks?dependsOn={extract}")
        check(wait_until(lambda: {r.get_attribute("data-task-id") for r in b.find("[data-test=task-row]")} == {left, right}, 10),
              f"the tasks page lists {[r.get_attribute('data-task-id') for r in b.find('[data-test=task-row]')]} as extract's dependents")
        b.one("[data-test=filter-depends-on] a", what="the dependents filter's note")

        # Once extract succeeded, the rest runs; load's page shows the results its parents passed it.
        check(wait_until(lambda: status(self.admin.task(load)) == "SUCCEEDED", 45), f"load ended {status(self.admin.task(load))}")
        b.go(f"#/tasks/{load}")
        check(shows("dep-parent", {left: "SUCCEEDED", right: "SUCCEEDED"}), f"load's page shows the parents {nodes('dep-parent')}")
        rows = lambda: {r.get_attribute("data-task-id") for r in b.find("[data-test=dep-results] tr")}
        check(wait_until(lambda: rows() == {left, right}, 10), f"load's page shows results from {rows()}")
        check("transform-a" in b.text("[data-test=dep-results]"), "the results table lacks transform-a's result")
        check(not b.find("[data-test=dep-waiting]"), "load's page still says it waits")

    def workers(self):
        b = self.b
        b.go("#/workers")
        check(wait_until(lambda: len(b.find("[data-test=worker-row]")) == 3, 10),
              f"the workers page lists {len(b.find('[data-test=worker-row]'))} workers, not 3")
        nodes = {row.get_attribute("data-node-id") for row in b.find("[data-test=worker-row]")}
        check(nodes == {"server-1", "server-2", "server-3"}, f"workers of nodes {sorted(nodes)}")
        self.shot("workers")

    def theme(self):
        b = self.b
        b.go("#/overview")
        b.one("[data-test=worker-row]")
        def background_after(scheme, differing_from=None):
            # The page hears the system's change as a media-query event: poll briefly.
            b.scheme(scheme)
            deadline = time.monotonic() + 2
            while True:
                colour = b.driver.execute_script("return getComputedStyle(document.body).backgroundColor")
                if colour != differing_from or time.monotonic() > deadline:
                    return colour
                time.sleep(0.05)

        dark = background_after("dark", differing_from=background_after("light"))
        light = background_after("light", differing_from=dark)
        check(dark != light, f"the page does not follow prefers-color-scheme (dark {dark}, light {light})")
        b.click("#theme-toggle")  # system -> light
        b.click("#theme-toggle")  # light -> dark
        check(b.driver.execute_script("return document.documentElement.dataset.theme") == "dark", "the toggle did not choose dark")
        b.driver.refresh()
        b.one("[data-test=worker-row]")
        check(b.driver.execute_script("return document.documentElement.dataset.theme") == "dark", "the theme was not remembered")
        b.click("#theme-toggle")  # dark -> system
        check(b.driver.execute_script("return localStorage.getItem('baton.theme')") is None, "back to system: still stored")

    def submitter_role(self):
        b = self.b
        b.allowed = ["/api/v1/whoami"]
        b.sign_in(KEYS["submitter"])
        check(wait_until(lambda: b.role() == "submitter", 10), f"signed in as submitter: header says {b.role()!r}")
        b.drain_console("submitter sign-in")
        b.allowed = []
        b.go("#/tasks")
        b.one("[data-test=new-task]", what="New task for a submitter")
        b.go("#/task-types")
        b.one("[data-test=admin-only]", what="the task types page's admin-only note")
        check(not b.find("[data-test=edit], [data-test=pause], [data-test=new-type]"), "a submitter is offered admin buttons")
        b.go(f"#/tasks/{self.sleep_task}")
        b.one("[data-test=retry]", what="Retry for a submitter on a cancelled task")

    def viewer_role(self):
        b = self.b
        running = self.admin.create("sleep", {"ms": "20000"})["taskId"]
        b.allowed = ["/api/v1/whoami"]
        b.sign_in(KEYS["viewer"])
        check(wait_until(lambda: b.role() == "viewer", 10), f"signed in as viewer: header says {b.role()!r}")
        b.drain_console("viewer sign-in")
        b.allowed = []
        pages = [("#/overview", "[data-test=worker-row]"), ("#/tasks", "[data-test=task-row]"),
                 (f"#/tasks/{running}", "[data-test=task-status][data-status]"),
                 (f"#/tasks/{self.failed_task}", "[data-test=task-status][data-status=FAILED]"),
                 ("#/dead-letters", "[data-test=dead-group]"), ("#/task-types", "[data-test=admin-only]"),
                 ("#/schedules", "[data-test=admin-only]"),
                 ("#/workers", "[data-test=worker-row]")]
        for route, ready in pages:
            b.go(route)
            b.one(ready, 15, what=f"{route} for a viewer")
            if route == "#/dead-letters":
                for toggle in b.find("[data-test=dead-group] td:first-child button")[:1]:
                    toggle.click()
                time.sleep(0.2)
            time.sleep(0.5)
            offered = [name for name in ACTION_BUTTONS if b.find(f"[data-test={name}]")]
            check(not offered, f"a viewer is offered {offered} on {route}")
            b.drain_console(f"viewer {route}")
        code, _ = self.viewer.call("POST", f"/api/v1/tasks/{running}/cancel", {})
        check(code == 403, f"the server let a viewer cancel (HTTP {code})")
        self.admin.call("POST", f"/api/v1/tasks/{running}/cancel", {"reason": "browser test cleanup"})

    def overview_shots(self):
        """Last, so the charts have a few minutes' samples."""
        b = self.b
        b.allowed = ["/api/v1/whoami"]
        b.sign_in(KEYS["admin"])
        check(wait_until(lambda: b.role() == "admin", 10), "signed in again as admin")
        b.drain_console("admin sign-in")
        b.allowed = []
        b.scheme("light")
        b.go("#/overview")
        b.one("[data-test=worker-row]")
        wait_until(lambda: len(b.find(".chart-svg path.line")) >= 2, 12)
        self.shot("overview-light")
        b.scheme("dark")
        time.sleep(0.3)
        self.shot("overview-dark")
        b.scheme("light")


def wait_leader(rest):
    return rest.get("/api/v1/stats").get("leaderNodeId", "")


STEPS = [
    ("sign-in", Suite.sign_in), ("overview", Suite.overview), ("task-list", Suite.task_list),
    ("task-detail", Suite.task_detail), ("cancel", Suite.cancel), ("retry", Suite.retry),
    ("dead-letters", Suite.dead_letters), ("pause-resume", Suite.pause_resume), ("edit-types", Suite.edit_types),
    ("schedules", Suite.schedules), ("dependencies", Suite.dependencies), ("workers", Suite.workers),
    ("theme", Suite.theme), ("submitter", Suite.submitter_role), ("viewer", Suite.viewer_role),
    ("overview-shots", Suite.overview_shots),
]


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--keep", action="store_true", help="leave Redis, MariaDB and the nodes running")
    parser.add_argument("--only", help="comma-separated steps (sign-in always runs): " + ", ".join(n for n, _ in STEPS))
    parser.add_argument("--screenshots", help="also save the screenshots into this folder (e.g. docs/screenshots)")
    parser.add_argument("--warm-up", type=int, default=120, help="seconds of traffic before --screenshots shoots (default 120)")
    parser.add_argument("--against", metavar="URL", help="a node (or tests/browser/mock_api.py) already running: start nothing; "
                        "keys from BROWSER_KEYS=admin=…,submitter=…,viewer=…")
    args = parser.parse_args()
    global BASE
    if args.against:
        BASE = args.against.rstrip("/")
        for pair in os.environ.get("BROWSER_KEYS", "admin=admin-key,submitter=submitter-key,viewer=viewer-key").split(","):
            role, _, key = pair.partition("=")
            KEYS[role] = key
    chosen = STEPS
    if args.only:
        names = {n.strip() for n in args.only.split(",")} | {"sign-in"}
        unknown = names - {n for n, _ in STEPS}
        if unknown:
            print(f"browser-tests: unknown steps {sorted(unknown)}", file=sys.stderr)
            return 2
        chosen = [(n, f) for n, f in STEPS if n in names]
    if not args.against and not os.access(NODE_BIN, os.X_OK):
        print(f"browser-tests: no baton-node at {NODE_BIN} (swift build, or set BATON_NODE_BIN)", file=sys.stderr)
        return 2
    shots_dir = str((REPO / args.screenshots).resolve()) if args.screenshots else None
    LOGS.mkdir(parents=True, exist_ok=True)
    (LOGS / "browser.log").unlink(missing_ok=True)
    procs.interrupt_on_signals()

    if not args.against:
        kill_leftovers()
    busy = [p for p in list(HTTP_PORT.values()) + list(GRPC_PORT.values()) if not waits.port_free(p)]
    if busy and not args.against:
        print(f"browser-tests: ports {busy} are in use (another run? --keep leaves nodes up)", file=sys.stderr)
        return 2

    nodes = Nodes()
    browser = None
    feeder = None
    results = []
    try:
        if not args.against:
            log(f"starting Redis {REDIS_PORT} and MariaDB {MYSQL_PORT} under {RUN}")
            SERVICES.start()
            SERVICES.reset()
            log(f"starting three nodes ({NODE_BIN})")
            nodes.start()
            log("nodes ready; starting Chromium")
        browser = Browser()
        suite = Suite(browser, shots_dir)
        suite.setup()
        feeder = Feeder(suite.submitter)
        feeder.start()
        if shots_dir:
            # Screenshots for the docs: let the charts gather a couple of minutes of samples first.
            log(f"--screenshots: {args.warm_up} s of traffic before the pages are shot")
            time.sleep(args.warm_up)
        for name, step in chosen:
            started = time.time()
            try:
                step(suite)
                browser.drain_console(name)
                results.append((name, None, time.time() - started))
                log(f"PASS {name} ({time.time() - started:.1f}s)")
            except Exception as error:  # noqa: BLE001
                detail = str(error) if isinstance(error, Failure) else "".join(traceback.format_exception(error)[-4:]).strip()
                results.append((name, detail, time.time() - started))
                log(f"FAIL {name}: {detail}")
                try:
                    browser.shot(f"failed-{name}", None)
                    browser.drain_console(name)
                except Exception:  # noqa: BLE001
                    pass
        console = browser.console
        results.append(("console", "\n".join(f"  {step}: {message}" for step, message in console) if console else None, 0))
        log("PASS console (no JavaScript errors)" if not console else f"FAIL console: {len(console)} errors\n" +
            "\n".join(f"  {step}: {message}" for step, message in console))
        for note in suite.notes:
            log(f"note: {note}")
        if feeder.errors:
            log(f"note: the traffic feeder's errors: {feeder.errors}")
    except KeyboardInterrupt as interrupt:
        log(f"interrupted ({interrupt})")
        results.append(("interrupted", str(interrupt), 0))
    except Exception as error:  # noqa: BLE001
        log(f"harness error: {error}")
        results.append(("harness", str(error), 0))
    finally:
        procs.hold_signals()
        if feeder is not None:
            feeder.stop()
        if browser is not None:
            browser.quit()
        if args.against:
            pass
        elif args.keep:
            nodes.keep()
            log(f"--keep: nodes on HTTP {sorted(HTTP_PORT.values())} (keys in {nodes.keys_file}), Redis {REDIS_PORT}, MariaDB {MYSQL_PORT}")
        else:
            nodes.stop()
            try:
                SERVICES.stop(timeout=60)
            except Exception as error:  # noqa: BLE001
                log(f"stopping the private servers: {error}")
    failed = [r for r in results if r[1]]
    log(f"{len(results) - len(failed)} passed, {len(failed)} failed in {PROGRESS.elapsed():.0f} s; screenshots in {SHOTS}"
        + (f" and {shots_dir}" if shots_dir else "") + f"; logs in {LOGS}")
    return 0 if not failed else 1


if __name__ == "__main__":
    sys.exit(main())
