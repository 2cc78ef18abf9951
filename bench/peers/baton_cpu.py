"""CPU per task of Baton's throughput run, watched from outside `baton-bench e2e`.

    python bench/peers/baton_cpu.py --match nodes='^(\\S*/)?baton-node .*--grpc-port 909[0-9]( |$)' \\
        --match redis='^redis-server 127\\.0\\.0\\.1:6379( |$)' --match mysql='^mariadbd .*--port=3306( |$)' \\
        --metrics 127.0.0.1:8081,127.0.0.1:8082,127.0.0.1:8083 [--timeout 3600]

Started before Baton's benchmark command (bench-peers.sh). It waits for the
`baton-bench e2e` client to start, samples the CPU of the client and of
every process each --match finds then (bench/peers/cpu.py), and samples
again when the throughput run is over: when the nodes' (from /metrics)
`baton_tasks_created_total` of the task type grows by other than whole
batches of 500, that is, when the client, having seen every task finished
in MariaDB (its clock's end), creates the first single task of the latency
run that follows; those runs are not counted. (Whole batches, whatever the
counter read when the client started: its first batch may be in it.) (The nodes' succeeded counters reach
the count earlier, about a second at 4,000 tasks/s: a task counts as
succeeded when its execution ends, and its outcome reaches MariaDB after.)
The task count and type come from the client's command line, as it counts
them: --tasks / --clients / 500 batches a client, default 20,000 and 6:
18,000 tasks. Prints

    CPU baton tasks=N seconds=S cpu_ms_per_task=X nodes_s=… redis_s=… mysql_s=… client_s=…

The counters are read every 100 ms, every 20 ms once 90 % of the tasks
have succeeded; each read is one GET /metrics a node, which the nodes' CPU
includes.
"""

import argparse
import re
import sys
import time
import urllib.request
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[2] / "testkit"))  # batontest, the shared test kit
from batontest import waits  # noqa: E402

import cpu  # noqa: E402

CLIENT = r"^(\S*/)?baton-bench e2e( |$)"  # the program itself, not a shell line naming it
BATCH = 500  # the client's BatchCreateTasks size


def option(command, name, default):
    """The value of --name (`--name V` or `--name=V`) on a command line, else `default`."""
    found = re.search(rf"(^| )--{name}[ =](\S+)", command)
    return found.group(2) if found else default


def counters(nodes, task_type):
    """The sums over the nodes of baton_tasks_created_total and
    baton_tasks_succeeded_total for the type, as {"created": …, "succeeded": …}."""
    total = {"created": 0.0, "succeeded": 0.0}
    for node in nodes:
        with urllib.request.urlopen(f"http://{node}/metrics", timeout=5) as response:
            for line in response.read().decode().splitlines():
                name = line.split("{", 1)[0]
                if name in ("baton_tasks_created_total", "baton_tasks_succeeded_total") and f'type="{task_type}"' in line:
                    total[name.split("_")[2]] += float(line.rsplit(" ", 1)[1])
    return total


def wait_for(what, predicate, deadline, every):
    """predicate()'s first truthy value (an exception ends the watch); exits when `deadline` passes first."""
    return (waits.wait_until(predicate, deadline - time.monotonic(), every, errors=())
            or sys.exit(f"baton_cpu: FAILED: {what} not seen in time"))


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--match", action="append", default=[], metavar="LABEL=REGEX",
                        help="processes whose CPU counts, found when the client starts; repeatable")
    parser.add_argument("--metrics", required=True, help="the nodes' HTTP host:port, comma-separated")
    parser.add_argument("--timeout", type=float, default=3600, help="seconds for the whole watch")
    args = parser.parse_args()
    deadline = time.monotonic() + args.timeout
    nodes = args.metrics.split(",")

    client = cpu.wait_for(CLIENT, deadline) or sys.exit("baton_cpu: FAILED: no baton-bench e2e client in time")
    roots = {"client": [client]}
    for match in args.match:
        label, _, pattern = match.partition("=")
        roots[label] = cpu.pids(pattern)
        if not roots[label]:
            sys.exit(f"baton_cpu: FAILED: no process matches {label}={pattern}")
    flat = [pid for pids in roots.values() for pid in pids]
    before = cpu.seconds(flat)
    start = time.monotonic()
    with open(f"/proc/{client}/cmdline", "rb") as f:
        command = f.read().replace(b"\0", b" ").decode()
    clients = int(option(command, "clients", 6))
    tasks = int(option(command, "tasks", 20000)) // clients // BATCH * clients * BATCH
    task_type = option(command, "task-type", "noop")
    base = counters(nodes, task_type)

    def grown(name):
        return counters(nodes, task_type)[name] - base[name]

    wait_for("90 % of the tasks succeeded", lambda: grown("succeeded") >= 0.9 * tasks, deadline, 0.1)
    wait_for("the throughput run's end", lambda: grown("created") % BATCH != 0, deadline, 0.02)
    after = cpu.seconds(flat)
    if client not in cpu.pids(CLIENT):
        sys.exit("baton_cpu: FAILED: the client ended before its throughput run did")
    seconds = time.monotonic() - start

    spent = {label: sum(after[pid] - before[pid] for pid in pids) for label, pids in roots.items()}
    total = sum(spent.values())
    parts = " ".join(f"{label}_s={value:.2f}" for label, value in spent.items())
    print(f"CPU baton tasks={tasks} seconds={seconds:.2f} cpu_ms_per_task={total * 1000 / tasks:.3f} {parts}",
          flush=True)


if __name__ == "__main__":
    main()
