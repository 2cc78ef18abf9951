"""CPU per task of Baton's throughput run, watched from outside `baton-bench e2e`.

    python bench/peers/baton_cpu.py --match nodes='^(\\S*/)?baton-node .*--grpc-port 909[0-9]( |$)' \\
        --match redis='^redis-server 127\\.0\\.0\\.1:6379( |$)' --match mysql='^mariadbd .*--port=3306( |$)' \\
        --metrics 127.0.0.1:8081,127.0.0.1:8082,127.0.0.1:8083 [--timeout 3600]

Started before Baton's benchmark command (bench-peers.sh). It waits for the
`baton-bench e2e` client to start, samples the CPU of the client and of
every process each --match finds then (bench/peers/cpu.py), and samples
again once the nodes' `baton_tasks_succeeded_total` counters of the task
type (from /metrics) have grown by the run's task count: the throughput run
is over; the latency runs that follow in the same command are not counted.
The task count and type come from the client's command line, as it counts
them: --tasks / --clients / 500 batches a client, default 20,000 and 6:
18,000 tasks. Prints

    CPU baton tasks=N seconds=S cpu_ms_per_task=X nodes_s=… redis_s=… mysql_s=… client_s=…

The counters are read every 100 ms, every 10 ms from 90 % on; each read is
one GET /metrics a node, which the nodes' CPU includes.
"""

import argparse
import re
import sys
import time
import urllib.request

import cpu

CLIENT = r"^(\S*/)?baton-bench e2e( |$)"  # the program itself, not a shell line naming it
BATCH = 500  # the client's BatchCreateTasks size


def option(command, name, default):
    """The value of --name (`--name V` or `--name=V`) on a command line, else `default`."""
    found = re.search(rf"(^| )--{name}[ =](\S+)", command)
    return found.group(2) if found else default


def succeeded(nodes, task_type):
    """The sum over the nodes of baton_tasks_succeeded_total for the type."""
    total = 0.0
    for node in nodes:
        with urllib.request.urlopen(f"http://{node}/metrics", timeout=5) as response:
            for line in response.read().decode().splitlines():
                if line.startswith("baton_tasks_succeeded_total{") and f'type="{task_type}"' in line:
                    total += float(line.rsplit(" ", 1)[1])
    return total


def wait_for(what, predicate, deadline, every):
    while not (found := predicate()):
        if time.monotonic() > deadline:
            sys.exit(f"baton_cpu: FAILED: {what} not seen in time")
        time.sleep(every)
    return found


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
    base = succeeded(nodes, task_type)

    done = lambda: succeeded(nodes, task_type) - base  # noqa: E731
    wait_for("90 % of the tasks", lambda: done() >= 0.9 * tasks, deadline, 0.1)
    wait_for("every task", lambda: done() >= tasks, deadline, 0.01)
    after = cpu.seconds(flat)
    seconds = time.monotonic() - start

    spent = {label: sum(after[pid] - before[pid] for pid in pids) for label, pids in roots.items()}
    total = sum(spent.values())
    parts = " ".join(f"{label}_s={value:.2f}" for label, value in spent.items())
    print(f"CPU baton tasks={tasks} seconds={seconds:.2f} cpu_ms_per_task={total * 1000 / tasks:.3f} {parts}",
          flush=True)


if __name__ == "__main__":
    main()
