#!/usr/bin/env python3
"""Baton's chaos suite: real processes, real faults (make chaos).

Starts a private Redis (6395) and MariaDB (3395) with scripts/dev-services.sh
under .run/chaos, three baton-node processes (gRPC 19091-19093, HTTP
18081-18083), and a business service the http task types call; then runs each
scenario on a fresh cluster and checks Baton's fault guarantees.

    chaos/run.py                   every scenario
    chaos/run.py --only NAME       one (or several: --only a,b)
    chaos/run.py --keep            leave Redis, MariaDB and the last cluster up
    chaos/run.py --seed N          operator-storm's choices of an earlier run
    BATON_NODE_BIN=/path/to/baton-node chaos/run.py

Logs stay under .run/chaos/logs (server-N.log, service.log, chaos.log).
"""

import argparse
import os
import sys
import time
import traceback
from pathlib import Path

sys.dont_write_bytecode = True  # no __pycache__ in the work tree
sys.path.insert(0, str(Path(__file__).resolve().parent))
sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "testkit"))  # batontest, the shared test kit

from batontest import procs  # noqa: E402
from batontest.waits import port_free  # noqa: E402

from chaoslib import stores  # noqa: E402
from chaoslib.business import BusinessService  # noqa: E402
from chaoslib.checks import Run  # noqa: E402
from chaoslib.client import Baton  # noqa: E402
from chaoslib.common import (GRPC_PORT, HTTP_PORT, LOG_DIR, NODE_BIN, PID_DIR, RUN_DIR, die, log,  # noqa: E402
                             say)
from chaoslib.nodes import faketime_lib, kill_leftovers  # noqa: E402
from chaoslib.scenarios import SCENARIOS, Suite  # noqa: E402


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--only", help="comma-separated scenario names: " + ", ".join(n for n, _ in SCENARIOS))
    parser.add_argument("--keep", action="store_true", help="leave Redis, MariaDB and the last cluster running")
    parser.add_argument("--list", action="store_true", help="list the scenarios")
    parser.add_argument("--seed", type=int, help="operator-storm's random seed (default: a fresh one, logged)")
    args = parser.parse_args()

    if args.list:
        for name, fn in SCENARIOS:
            say(f"{name}: {' '.join(fn.__doc__.split())}")
        return 0
    chosen = SCENARIOS
    if args.only:
        names = [n.strip() for n in args.only.split(",") if n.strip()]
        unknown = [n for n in names if n not in dict(SCENARIOS)]
        if unknown:
            die(f"unknown scenario {', '.join(unknown)}; choose from {', '.join(n for n, _ in SCENARIOS)}")
        chosen = [(n, f) for n, f in SCENARIOS if n in names]

    if not os.access(NODE_BIN, os.X_OK):
        die(f"no baton-node binary at {NODE_BIN} (swift build, or set BATON_NODE_BIN)")
    procs.interrupt_on_signals()
    RUN_DIR.mkdir(parents=True, exist_ok=True)
    LOG_DIR.mkdir(parents=True, exist_ok=True)
    log(f"chaos suite: {len(chosen)} scenarios, node binary {NODE_BIN}, run dir {RUN_DIR}")

    kill_leftovers()
    busy = [p for p in list(GRPC_PORT.values()) + list(HTTP_PORT.values()) if not port_free(p)]
    if busy:
        die(f"ports {busy} are in use (another chaos run?)")

    service = BusinessService()
    baton = None
    suite = None
    results = []
    try:
        log("starting the private Redis and MariaDB (scripts/dev-services.sh)")
        stores.start()
        if any(name == "skewed-clocks" for name, _ in chosen) and faketime_lib() is None:
            die("libfaketime is missing (scripts/dev-services.sh install, or apt-get install faketime)")
        service.start()
        service.self_check()
        log(f"business service on 127.0.0.1:{service.port} (self-check passed)")
        baton = Baton()
        suite = Suite(baton, service, seed=args.seed)
        for index, (name, fn) in enumerate(chosen, 1):
            say("")
            log(f"[{index}/{len(chosen)}] {name}")
            run = Run(name, baton, service, None)
            started = time.time()
            try:
                fn(suite, run)
            except KeyboardInterrupt:
                raise
            except Exception as error:
                run.fail(f"harness error: {error!r}")
                run.failures.append("    " + "    ".join(traceback.format_exc().splitlines(True)[-6:]).rstrip())
            run.wall = time.time() - started
            results.append(run)
            report(run)
    except KeyboardInterrupt as interrupt:
        say(f"\ninterrupted ({interrupt}); cleaning up")
        results.append(None)
    finally:
        cleanup(suite, service, baton, keep=args.keep)

    say("")
    width = max([len("scenario")] + [len(name) for name, _ in chosen])
    say(f"{'scenario':<{width}} result  tasks   wall   settled  ran twice (allowed)")
    for run in results:
        if run is None:
            continue
        settled = f"{run.settle_seconds:6.1f}s" if run.settle_seconds is not None else "     - "
        say(f"{run.name:<{width}} {'PASS' if not run.failures else 'FAIL':<6}  {len(run.ids):>5}  {run.wall:5.0f}s  "
            f"{settled}  {run.ran_twice} ({run.allowed_twice})")
    passed = sum(1 for r in results if r is not None and not r.failures)
    failed = len(chosen) - passed
    # Each failing scenario's first reasons again, last: CI shows the tail.
    for run in results:
        if run is not None and run.failures:
            say(f"{run.name} failed:")
            for line in run.failures[:4]:
                say("  " + line.strip()[:300])
    say(f"logs: {LOG_DIR}")
    say(f"{passed} passed, {failed} failed")
    return 0 if failed == 0 else 1


def report(run):
    verdict = "PASS" if not run.failures else "FAIL"
    settled = (f"{run.settle_seconds:.1f}s" if run.settle_seconds is not None else "not settled")
    if run.after_fault_seconds is not None:
        settled += f" ({run.after_fault_seconds:.1f}s after the fault ended)"
    twice = f"{run.ran_twice}"
    if run.allowed_twice:
        twice += f" ({run.allowed_twice} allowed: running at a kill, {run.ran_twice - run.allowed_twice} unexplained)"
    else:
        twice += " (none allowed)"
    log(f"{verdict} {run.name}: tasks {len(run.ids)}, settled in {settled}, ran twice {twice}, "
        f"failures {len([f for f in run.failures if not f.startswith(' ')])}, wall {run.wall:.0f}s")
    for note in run.notes:
        say(f"    note: {note}")
    for failure in run.failures:
        say(f"    {failure}" if not failure.startswith(" ") else failure)


def cleanup(suite, service, baton, keep):
    procs.hold_signals()  # a second Ctrl-C must not cut the cleanup short
    stores.resume_redis()  # never leave Redis frozen
    if suite is not None and suite.cluster is not None:
        if keep:
            procs.keep_all()
            log(f"--keep: nodes left running (pids in {PID_DIR}); Redis 6395, MariaDB 3395 up")
        else:
            suite.cluster.kill_all()
            for pidfile in PID_DIR.glob("server-*.pid"):
                pidfile.unlink(missing_ok=True)
    service.stop()
    if baton is not None:
        baton.close()
    if not keep:
        log("stopping the private Redis and MariaDB")
        stores.stop()


if __name__ == "__main__":
    sys.exit(main())
