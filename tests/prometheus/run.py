#!/usr/bin/env python3
"""A real Prometheus against three real nodes, configured as deploy/ says.

Starts a private Redis (6391) and MariaDB (3391) with scripts/dev-services.sh
under .run/prometheus, three baton-node processes the way deploy/ runs them
(a --config file each, API keys, TLS on gRPC, the MySQL password from a
file, the migrations built into the binary: they start in a folder with no
sql/), a little traffic (tasks that succeed, fail, and wait for a type no
worker runs; one gRPC call over TLS), then Prometheus on 127.0.0.1:9391
scraping them with deploy/prometheus/baton-alerts.yml loaded, and checks:

- every metric the alert rules and the Grafana dashboard name returns a series;
- every query of the dashboard and every rule evaluates without error;
- the backlog gauges say what the traffic did (the unserved type's tasks wait);
- deploy/baton.yaml is a valid --config and --version answers;
- each node exits 0 on SIGTERM (the systemd unit restarts only failures).

    tests/prometheus/run.py [--keep]

Environment: BATON_NODE_BIN (default .build/debug/baton-node; baton-client
beside it), PROM_REDIS_PORT, PROM_MYSQL_PORT, PROM_HTTP_BASE, PROM_GRPC_BASE
(node n on BASE + n), PROM_PORT. Logs: .run/prometheus/logs.
"""

import argparse
import json
import os
import re
import secrets
import shlex
import signal
import subprocess
import sys
import time
import urllib.error
import urllib.parse
import urllib.request
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(REPO / "testkit"))
from batontest.childenv import child_env  # noqa: E402
from batontest.procs import interrupt_on_signals  # noqa: E402
from batontest.services import DevServices  # noqa: E402
from batontest.waits import port_free, wait_until  # noqa: E402

RUN = REPO / ".run" / "prometheus"
LOGS = RUN / "logs"
REDIS_PORT = int(os.environ.get("PROM_REDIS_PORT", "6391"))
MYSQL_PORT = int(os.environ.get("PROM_MYSQL_PORT", "3391"))
HTTP_PORT = {n: int(os.environ.get("PROM_HTTP_BASE", "18390")) + n for n in (1, 2, 3)}
GRPC_PORT = {n: int(os.environ.get("PROM_GRPC_BASE", "19390")) + n for n in (1, 2, 3)}
PROM_PORT = int(os.environ.get("PROM_PORT", "9391"))
MYSQL_PASSWORD = "baton-dev-password"
NODE_BIN = os.environ.get("BATON_NODE_BIN") or str(REPO / ".build" / "debug" / "baton-node")
CLIENT_BIN = str(Path(NODE_BIN).with_name("baton-client"))
REDIS_URL = f"redis://127.0.0.1:{REDIS_PORT}/0"
MYSQL_URL = f"mysql://baton@127.0.0.1:{MYSQL_PORT}/baton"  # the password comes from a file
ADMIN_KEY = secrets.token_urlsafe(24)
RULES = REPO / "deploy" / "prometheus" / "baton-alerts.yml"
DASHBOARD = REPO / "deploy" / "grafana" / "baton-dashboard.json"
T0 = time.time()


def log(message):
    print(f"[{time.time() - T0:6.1f}s] {message}", flush=True)


class Failure(Exception):
    pass


STORES = DevServices(RUN, REDIS_PORT, MYSQL_PORT, log_dir=LOGS, password=MYSQL_PASSWORD)


def check(condition, message):
    if not condition:
        raise Failure(message)


# --- Redis, MariaDB, certificates ------------------------------------------------------------------------------------


def make_certificates(folder):
    """A CA and a server certificate for 127.0.0.1, as an operator's PKI would issue."""
    folder.mkdir(parents=True, exist_ok=True)

    def openssl(*args):
        subprocess.run(["openssl", *args], check=True, capture_output=True, cwd=folder, timeout=60)

    openssl("req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:P-256", "-nodes", "-keyout", "ca.key", "-out", "ca.pem",
            "-days", "2", "-subj", "/CN=baton test CA")
    openssl("req", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:P-256", "-nodes", "-keyout", "server.key", "-out", "server.csr",
            "-subj", "/CN=127.0.0.1")
    (folder / "san.ext").write_text("subjectAltName=IP:127.0.0.1,DNS:localhost\n")
    openssl("x509", "-req", "-in", "server.csr", "-CA", "ca.pem", "-CAkey", "ca.key", "-CAcreateserial", "-out", "server.pem",
            "-days", "2", "-extfile", "san.ext")
    for name in ("ca.key", "server.key"):
        (folder / name).chmod(0o600)


# --- nodes -------------------------------------------------------------------------------------------------------------


class Nodes:
    def __init__(self):
        self.procs = {}
        self.home = RUN / "nodes"  # the nodes' working folder: no sql/ in it

    def configure(self):
        secrets_dir = RUN / "secrets"
        secrets_dir.mkdir(parents=True, exist_ok=True)
        make_certificates(RUN / "tls")
        keys = secrets_dir / "api-keys"
        keys.write_text(f"ops admin {ADMIN_KEY}\n")
        keys.chmod(0o600)
        password = secrets_dir / "mysql-password"
        password.write_text(MYSQL_PASSWORD + "\n")
        password.chmod(0o600)
        self.home.mkdir(parents=True, exist_ok=True)
        for n in (1, 2, 3):
            # deploy/baton.yaml's shape; what differs per machine comes from the environment.
            (RUN / f"node-{n}.yaml").write_text(
                "roles: [api, scheduler, worker]\n"
                "host: 127.0.0.1\n"
                f"grpc_port: {GRPC_PORT[n]}\n"
                f"worker_port: {HTTP_PORT[n]}\n"
                f"api_keys_file: {keys}\n"
                f"tls_cert: {RUN / 'tls' / 'server.pem'}\n"
                "capacity: 4\n"
                "grace_period: 2\n"
                f"log_dir: {LOGS / 'files'}\n"
            )

    def start(self):
        (RUN / "pids").mkdir(parents=True, exist_ok=True)
        for n in (1, 2, 3):
            argv = [NODE_BIN, "--config", str(RUN / f"node-{n}.yaml"),
                    "--mysql-password-file", str(RUN / "secrets" / "mysql-password"), "--tls-key", str(RUN / "tls" / "server.key")]
            with open(LOGS / f"node-{n}.log", "ab") as out:
                proc = subprocess.Popen(argv, stdout=out, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL, cwd=str(self.home),
                                        env=child_env(BATON_ID=f"node-{n}", REDIS_ADDR=REDIS_URL, MYSQL_DSN=MYSQL_URL),
                                        start_new_session=True)
            self.procs[n] = proc
            (RUN / "pids" / f"node-{n}.pid").write_text(str(proc.pid))
        for n, proc in self.procs.items():
            if not wait_until(lambda: proc.poll() is not None or ready(HTTP_PORT[n]), 120) or proc.poll() is not None:
                tail = (LOGS / f"node-{n}.log").read_text(errors="replace").splitlines()[-15:]
                raise RuntimeError(f"node-{n} not ready; last lines:\n  " + "\n  ".join(tail))

    def stop(self):
        """SIGTERM each node; returns their exit codes."""
        for proc in self.procs.values():
            if proc.poll() is None:
                proc.send_signal(signal.SIGTERM)
        codes = {}
        for n, proc in self.procs.items():
            try:
                codes[n] = proc.wait(timeout=30)
            except subprocess.TimeoutExpired:
                proc.kill()
                codes[n] = proc.wait(timeout=10)
            (RUN / "pids" / f"node-{n}.pid").unlink(missing_ok=True)
        return codes


def kill_leftovers():
    """Nodes and a Prometheus an earlier --keep run (or a hard kill) left, by pid file and command line."""
    for pidfile in list((RUN / "pids").glob("*.pid")) if (RUN / "pids").exists() else []:
        try:
            pid = int(pidfile.read_text().strip())
            cmdline = Path(f"/proc/{pid}/cmdline").read_bytes().split(b"\0")
            if cmdline and (cmdline[0].endswith(b"baton-node") or cmdline[0].endswith(b"prometheus")) and str(RUN).encode() in b" ".join(cmdline):
                os.kill(pid, signal.SIGKILL)
                log(f"stopped a process an earlier run left (pid {pid})")
        except (OSError, ValueError):
            pass
        pidfile.unlink(missing_ok=True)


def ready(port):
    try:
        with urllib.request.urlopen(f"http://127.0.0.1:{port}/ready", timeout=1) as response:
            return response.status == 200
    except (OSError, urllib.error.URLError):
        return False


def rest(method, path, body=None, expect=(200, 201)):
    request = urllib.request.Request(f"http://127.0.0.1:{HTTP_PORT[1]}{path}", method=method,
                                     data=json.dumps(body if body is not None else {}).encode() if method != "GET" else None)
    request.add_header("Authorization", f"Bearer {ADMIN_KEY}")
    request.add_header("Content-Type", "application/json")
    try:
        with urllib.request.urlopen(request, timeout=10) as response:
            status, text = response.status, response.read()
    except urllib.error.HTTPError as error:
        status, text = error.code, error.read()
    check(status in expect, f"{method} {path}: {status} {text[:300]!r}")
    return json.loads(text) if text else {}


# --- Prometheus --------------------------------------------------------------------------------------------------------


class Prometheus:
    def __init__(self):
        self.proc = None

    def start(self):
        config = RUN / "prometheus.yml"
        targets = ", ".join(f"'127.0.0.1:{HTTP_PORT[n]}'" for n in (1, 2, 3))
        # deploy/prometheus/prometheus.yml with these targets and a fast scrape.
        template = (REPO / "deploy" / "prometheus" / "prometheus.yml").read_text()
        text = template.replace("scrape_interval: 15s", "scrape_interval: 1s").replace("evaluation_interval: 15s", "evaluation_interval: 1s")
        text = text.replace("  - baton-alerts.yml", f"  - {RULES}")
        text = re.sub(r"      - targets:\n(          - .*\n)+", f"      - targets: [{targets}]\n", text)
        check(str(RULES) in text and targets in text, "deploy/prometheus/prometheus.yml no longer has the shape this test rewrites")
        config.write_text(text)
        data = RUN / "prometheus-data"
        subprocess.run(["rm", "-rf", str(data)], check=True)
        with open(LOGS / "prometheus.log", "ab") as out:
            self.proc = subprocess.Popen(
                ["prometheus", f"--config.file={config}", f"--storage.tsdb.path={data}", f"--web.listen-address=127.0.0.1:{PROM_PORT}",
                 "--storage.tsdb.retention.time=1h"],
                stdout=out, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL, start_new_session=True)
        (RUN / "pids" / "prometheus.pid").write_text(str(self.proc.pid))
        check(wait_until(lambda: self.proc.poll() is None and self.api("/api/v1/status/buildinfo") is not None, 60),
              f"Prometheus did not start; see {LOGS / 'prometheus.log'}")

    def api(self, path, **params):
        url = f"http://127.0.0.1:{PROM_PORT}{path}" + ("?" + urllib.parse.urlencode(params) if params else "")
        with urllib.request.urlopen(url, timeout=10) as response:
            answer = json.loads(response.read())
        if answer.get("status") != "success":
            raise Failure(f"{path} {params}: {answer}")
        return answer["data"]

    def query(self, expr):
        return self.api("/api/v1/query", query=expr)["result"]

    def stop(self):
        if self.proc and self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(timeout=20)
            except subprocess.TimeoutExpired:
                self.proc.kill()
        (RUN / "pids" / "prometheus.pid").unlink(missing_ok=True)


# --- the checks --------------------------------------------------------------------------------------------------------


def used_queries():
    """(where, PromQL) of every dashboard target, and the baton_ metrics it and the rules use (Prometheus evaluates the rules)."""
    rules_text = RULES.read_text()
    dashboard = json.loads(DASHBOARD.read_text())
    queries = [(f"panel {p['title']!r}", t["expr"]) for p in dashboard["panels"] for t in p.get("targets", [])]
    names = set(re.findall(r"\bbaton_[a-z_]+\b", rules_text)) | {n for _, q in queries for n in re.findall(r"\bbaton_[a-z_]+\b", q)}
    return queries, sorted(names)


def traffic():
    """Tasks that succeed and fail, tasks of a type no worker runs, and one gRPC call over TLS."""
    rest("PUT", "/api/v1/task-types/orphan", {"taskType": "orphan", "executor": "local", "endpoint": "no-such-handler", "timeoutSeconds": 30,
                                               "enabled": True})
    for _ in range(5):
        rest("POST", "/api/v1/tasks", {"taskType": "noop", "payload": {}})
    for _ in range(2):
        rest("POST", "/api/v1/tasks", {"taskType": "fail", "payload": {"message": "on purpose"}})
        rest("POST", "/api/v1/tasks", {"taskType": "orphan", "payload": {}})
    result = subprocess.run([CLIENT_BIN, "stats", "--server", f"localhost:{GRPC_PORT[2]}", "--ca-cert", str(RUN / "tls" / "ca.pem")],
                            capture_output=True, text=True, timeout=60, env=child_env(BATON_API_KEY=ADMIN_KEY))
    check(result.returncode == 0, f"baton-client stats over TLS failed: {result.stderr[-500:]}")


def check_binary():
    version = subprocess.run([NODE_BIN, "--version"], capture_output=True, text=True, timeout=30)
    check(version.returncode == 0 and re.fullmatch(r"\d+\.\d+\.\d+\s*", version.stdout), f"--version: {version.returncode} {version.stdout!r}")
    # The unit's command line, environment file and deploy/baton.yaml, with /etc/baton and the
    # credentials under RUN/etc: the node reads the CA files it is given even to print its configuration.
    etc = RUN / "etc" / "baton"
    for name in ("tls/server.pem", "tls/clients-ca.pem", "tls/services-ca.pem", "secrets/api-keys"):
        (etc / name).parent.mkdir(parents=True, exist_ok=True)
        (etc / name).write_bytes((RUN / "tls" / "ca.pem").read_bytes() if name.endswith(".pem") else f"ops admin {ADMIN_KEY}\n".encode())
        (etc / name).chmod(0o600)
    (etc / "baton.yaml").write_text((REPO / "deploy" / "baton.yaml").read_text().replace("/etc/baton/", f"{etc}/"))
    unit = (REPO / "deploy" / "systemd" / "baton-node.service").read_text().replace("\\\n", " ")
    command = next(line for line in unit.splitlines() if line.startswith("ExecStart="))[len("ExecStart="):]
    command = command.replace("${CREDENTIALS_DIRECTORY}", str(RUN / "secrets")).replace("/etc/baton/", f"{etc}/")
    argv = [NODE_BIN] + shlex.split(command)[1:] + ["--print-config"]
    environment = dict(line.split("=", 1) for line in (REPO / "deploy" / "systemd" / "baton-node.env").read_text().splitlines()
                       if line.strip() and not line.startswith("#"))
    printed = subprocess.run(argv, capture_output=True, text=True, timeout=30, env=child_env(**environment))
    check(printed.returncode == 0, f"the unit's ExecStart with deploy/baton.yaml is refused: {printed.stderr.strip()}")
    log(f"baton-node --version: {version.stdout.strip()}; the unit's command line, env file and deploy/baton.yaml pass --print-config")


def value(prom, expr):
    result = prom.query(expr)
    return float(result[0]["value"][1]) if result else None


def check_series(prom, names):
    missing = names
    def all_present():
        nonlocal missing
        missing = [n for n in names if not prom.query(f"count({n})")]
        return not missing
    check(wait_until(all_present, 60, interval=1), f"metrics without a series: {missing}")
    log(f"all {len(names)} metrics the rules and dashboard use have series: {', '.join(names)}")


def check_values(prom):
    expectations = [
        ('count(up{job="baton"} == 1)', lambda v: v == 3, "three nodes scraped"),
        ("sum(baton_is_leader)", lambda v: v == 1, "one leader"),
        ("max(baton_live_workers)", lambda v: v == 3, "three live workers"),
        ('max(baton_task_type_unserved{type="orphan"})', lambda v: v == 1, "orphan unserved"),
        ('max(baton_task_type_unserved{type="noop"})', lambda v: v == 0, "noop served"),
        ('max(baton_task_type_backlog{type="orphan"})', lambda v: v == 2, "orphan's two tasks waiting"),
        ('max(baton_task_type_oldest_waiting_seconds{type="orphan"})', lambda v: v > 0, "orphan's tasks wait"),
        ('max(baton_task_type_backlog{type="noop"})', lambda v: v == 0, "noop's tasks ran"),
        ('max(baton_dead_letters{status="failed"})', lambda v: v == 2, "two dead letters"),
        ("sum(baton_tasks_succeeded_total)", lambda v: v >= 5, "noops succeeded"),
    ]
    failing = []
    def all_hold():
        nonlocal failing
        failing = [(what, expr, value(prom, expr)) for expr, ok, what in expectations if (v := value(prom, expr)) is None or not ok(v)]
        return not failing
    check(wait_until(all_hold, 60, interval=1), f"gauges not as the traffic left them: {failing}")
    log("the gauges say what the traffic did (orphan unserved with 2 waiting, 2 dead letters, one leader)")


def check_queries(prom, queries):
    for where, expr in queries:
        prom.query(expr)  # raises on a PromQL error
    groups = wait_until(lambda: prom.api("/api/v1/rules")["groups"], 30)
    rules = [r for g in groups or [] for r in g["rules"]]
    check(len(rules) == len(re.findall(r"- alert: ", RULES.read_text())), f"Prometheus loaded {len(rules)} rules")
    def evaluated():
        return all(r.get("lastEvaluation", "").startswith("2") and not r["lastEvaluation"].startswith("0001") for r in prom.api("/api/v1/rules")["groups"][0]["rules"])
    wait_until(evaluated, 20, interval=1)
    bad = [(r["name"], r.get("lastError")) for g in prom.api("/api/v1/rules")["groups"] for r in g["rules"] if r.get("health") != "ok"]
    check(not bad, f"rules that do not evaluate: {bad}")
    # An alert turns pending at the first evaluation that sees its expression
    # hold; on a loaded machine that evaluation may come a few seconds after
    # the gauges did, so wait for it (bounded), and say why when it does not.
    alerts = set()
    def unserved_pending():
        nonlocal alerts
        alerts = {a["labels"]["alertname"] + ":" + a["labels"].get("type", "") for a in prom.api("/api/v1/alerts")["alerts"]}
        return "BatonTaskTypeUnserved:orphan" in alerts
    if not wait_until(unserved_pending, 30, interval=1):
        rule = next((r for g in prom.api("/api/v1/rules")["groups"] for r in g["rules"] if r["name"] == "BatonTaskTypeUnserved"), {})
        parts = {expr: prom.query(expr) for expr in ('baton_task_type_unserved{type="orphan"}', 'baton_task_type_backlog{type="orphan"}')}
        raise Failure(f"BatonTaskTypeUnserved is not pending for orphan within 30 s: {sorted(alerts)}; "
                      f"rule {rule.get('state')} {rule.get('health')} {rule.get('lastError')} evaluated {rule.get('lastEvaluation')}; {parts}")
    log(f"{len(queries)} dashboard queries and {len(rules)} rules evaluate; pending or firing: {sorted(alerts)}")


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--keep", action="store_true", help="leave Redis, MariaDB, the nodes and Prometheus running")
    args = parser.parse_args()
    for binary in (NODE_BIN, CLIENT_BIN):
        if not os.access(binary, os.X_OK):
            print(f"prometheus-tests: no {binary} (swift build, or set BATON_NODE_BIN)", file=sys.stderr)
            return 2
    LOGS.mkdir(parents=True, exist_ok=True)
    (RUN / "pids").mkdir(parents=True, exist_ok=True)
    kill_leftovers()
    ports = [*HTTP_PORT.values(), *GRPC_PORT.values(), PROM_PORT]
    wait_until(lambda: all(port_free(p) for p in ports), 10)  # a killed leftover's sockets close
    busy = [p for p in ports if not port_free(p)]
    if busy:
        print(f"prometheus-tests: ports {busy} are in use (another run? --keep leaves them up)", file=sys.stderr)
        return 2

    interrupt_on_signals()

    nodes, prom = Nodes(), Prometheus()
    failed = None
    try:
        log(f"starting Redis {REDIS_PORT} and MariaDB {MYSQL_PORT} under {RUN}")
        STORES.start()
        STORES.reset()
        nodes.configure()
        check_binary()
        nodes.start()
        check(wait_until(lambda: rest("GET", "/api/v1/stats").get("leaderNodeId"), 60), "no leader within 60 s")
        log("three nodes ready, one leads")
        traffic()
        prom.start()
        log(f"Prometheus on 127.0.0.1:{PROM_PORT}")
        queries, names = used_queries()
        check_series(prom, names)
        check_values(prom)
        check_queries(prom, queries)
        if not args.keep:
            codes = nodes.stop()
            check(all(code == 0 for code in codes.values()), f"nodes stopped by SIGTERM exited with {codes} (the unit restarts non-zero exits)")
            log("each node exited 0 on SIGTERM")
    except (Failure, RuntimeError, subprocess.CalledProcessError, OSError) as error:
        failed = str(error)
    except KeyboardInterrupt as error:
        failed = f"interrupted ({error})"
    finally:
        if not args.keep:
            prom.stop()
            nodes.stop()
            try:
                STORES.stop()
            except RuntimeError as error:
                log(f"note: {error}")
    if failed:
        log(f"FAIL: {failed} (logs: {LOGS})")
        return 1
    log(f"PASS in {time.time() - T0:.0f} s")
    return 0


if __name__ == "__main__":
    sys.exit(main())
