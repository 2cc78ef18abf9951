"""CPU time of processes and everything they started, from /proc.

    python bench/peers/cpu.py pids REGEX        # pids whose command line matches
    python bench/peers/cpu.py seconds PID...    # CPU seconds of those trees now

A tree's CPU is, for each live process in it, its own user+system time
(all threads) plus that of the children it has waited for (cutime+cstime):
every process in the tree counted once, whether it still runs or has ended
and been reaped by its parent. Not counted: a process that ended orphaned
(reaped by init) and whatever ran before the tree existed. Sample twice and
subtract: the difference is what the trees spent in between, including
processes started and ended in between. Resolution: one clock tick (10 ms)
per process.
"""

import os
import re
import sys
import time

TICK = os.sysconf("SC_CLK_TCK")


def _stat(pid):
    """(ppid, own ticks, waited-for children's ticks) of a live process, or None."""
    try:
        with open(f"/proc/{pid}/stat") as f:
            text = f.read()
    except OSError:
        return None
    # The command name in parentheses may hold spaces: split after its last ')'.
    fields = text[text.rindex(")") + 2:].split()
    # fields[0] is field 3 (state) of proc(5): ppid 4, utime 14, stime 15, cutime 16, cstime 17.
    return int(fields[1]), int(fields[11]) + int(fields[12]), int(fields[13]) + int(fields[14])


def _all():
    return {int(name): stat for name in os.listdir("/proc") if name.isdigit() and (stat := _stat(name))}


def _live():
    return {int(name) for name in os.listdir("/proc") if name.isdigit()}


def command_line(pid):
    """The arguments joined by spaces; empty for a kernel thread or a process gone."""
    try:
        with open(f"/proc/{pid}/cmdline", "rb") as f:
            return f.read().rstrip(b"\0").replace(b"\0", b" ").decode(errors="replace")
    except OSError:
        return ""


def pids(pattern):
    """Live processes whose command line matches `pattern` (re.search)."""
    regex = re.compile(pattern)
    return sorted(pid for pid in _live() - {os.getpid()} if regex.search(command_line(pid)))


def _age(pid):
    """Seconds since the process started (infinite if it is gone)."""
    try:
        with open(f"/proc/{pid}/stat") as f:
            started = int(f.read().rsplit(")", 1)[1].split()[19]) / TICK  # field 22, starttime
        with open("/proc/uptime") as f:
            return float(f.read().split()[0]) - started
    except (OSError, IndexError, ValueError):
        return float("inf")


def wait_for(pattern, deadline, every=0.01):
    """The first process whose command line matches `pattern` (one started
    before the call included), polled every `every` s; None past `deadline`
    (time.monotonic()). Cheap enough to poll this often: past the first look
    it reads the command line only of processes that appeared less than a
    second ago (a fork execs its program soon after, changing its command
    line); the others were read."""
    regex = re.compile(pattern)
    found = pids(pattern)
    if found:
        return found[0]
    seen = {pid: time.monotonic() - _age(pid) for pid in _live()}  # pid: when it appeared
    while time.monotonic() < deadline:
        now, live = time.monotonic(), _live() - {os.getpid()}
        for pid in live:
            if now - seen.setdefault(pid, now) <= 1.0 and regex.search(command_line(pid)):
                return pid
        for pid in seen.keys() - live:  # gone: its pid may come back as another process
            del seen[pid]
        time.sleep(every)
    return None


def seconds(roots):
    """CPU seconds spent so far by each root's tree, as {root: seconds}.
    A root that has ended counts 0 (measure it from its parent instead)."""
    procs = _all()
    children = {}
    for pid, (ppid, _, _) in procs.items():
        children.setdefault(ppid, []).append(pid)
    spent, seen = {}, set()  # a process in two trees counts for the first
    for root in roots:
        ticks, todo = 0, [root]
        while todo:
            pid = todo.pop()
            if pid in seen or pid not in procs:
                continue
            seen.add(pid)
            _, own, reaped = procs[pid]
            ticks += own + reaped
            todo.extend(children.get(pid, ()))
        spent[root] = ticks / TICK
    return spent


def main(argv):
    if len(argv) >= 2 and argv[0] == "pids":
        print(" ".join(str(pid) for pid in pids(argv[1])))
    elif len(argv) >= 2 and argv[0] == "seconds":
        for root, value in seconds([int(pid) for pid in argv[1:]]).items():
            print(f"{root} {value:.2f}")
    else:
        sys.exit(__doc__)


if __name__ == "__main__":
    main(sys.argv[1:])
