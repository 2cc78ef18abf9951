"""Child processes that never outlive the harness by accident.

Each child runs in its own session (a Ctrl-C in the terminal reaches the
harness, which stops the children in order, not the children at once) and is
stopped SIGTERM first, SIGKILL after a grace period. Whatever is still running
when the interpreter exits is killed with its process group, unless the
harness chose to keep it (--keep). A run killed too hard for that (SIGKILL)
leaves pid files: the next run ends what they name, if the pid still runs the
same program."""

import atexit
import os
import signal
import subprocess
import time
from pathlib import Path

_tracked = set()  # Popen objects killed at exit unless kept


def spawn(argv, log_path, env, cwd=None, header=None, stdout=None):
    """Starts `argv` in a new session, stdin from /dev/null, its output
    appended to `log_path` (`header` first, a line; stdout=PIPE keeps stdout
    for the caller and logs only stderr). Killed at exit unless keep()."""
    log_path = Path(log_path)
    log_path.parent.mkdir(parents=True, exist_ok=True)
    with open(log_path, "ab") as out:
        if header:
            out.write(f"{header}\n".encode())
            out.flush()
        proc = subprocess.Popen(argv, env=env, cwd=None if cwd is None else str(cwd),
                                stdout=out if stdout is None else stdout,
                                stderr=subprocess.STDOUT if stdout is None else out,
                                stdin=subprocess.DEVNULL, start_new_session=True)
    _tracked.add(proc)
    return proc


def keep(proc):
    """Leaves `proc` running when the harness exits (--keep)."""
    _tracked.discard(proc)


def keep_all():
    """Leaves every child running when the harness exits (--keep)."""
    _tracked.clear()


def stop(proc, grace=5.0, kill_wait=10.0):
    """SIGTERM, SIGKILL after `grace` seconds; reaped. Returns the exit code (None: never started)."""
    if proc is None:
        return None
    _tracked.discard(proc)
    if proc.poll() is None:
        proc.send_signal(signal.SIGTERM)
        try:
            proc.wait(timeout=grace)
        except subprocess.TimeoutExpired:
            proc.send_signal(signal.SIGKILL)
            proc.wait(timeout=kill_wait)
    return proc.returncode


def kill(proc, wait=10.0):
    """SIGKILL, reaped (a wait that times out is not an error: the pid is gone from the tracked set)."""
    if proc is None:
        return
    _tracked.discard(proc)
    if proc.poll() is None:
        proc.send_signal(signal.SIGKILL)
    try:
        proc.wait(timeout=wait)
    except subprocess.TimeoutExpired:
        pass


def _kill_tracked():
    for proc in list(_tracked):
        if proc.poll() is None:
            try:
                os.killpg(proc.pid, signal.SIGKILL)  # its own session: the group is its pid
            except (ProcessLookupError, PermissionError):
                proc.kill()
        _tracked.discard(proc)


atexit.register(_kill_tracked)


def write_pid(pidfile, pid):
    """Notes a child's pid for kill_leftover() of a later run."""
    pidfile = Path(pidfile)
    pidfile.parent.mkdir(parents=True, exist_ok=True)
    pidfile.write_text(str(pid))


def pid_alive(pidfile):
    """The pid in `pidfile` if that process still exists, else None."""
    try:
        pid = int(Path(pidfile).read_text().strip())
        os.kill(pid, 0)
    except PermissionError:  # exists, another user's
        return pid
    except (OSError, ValueError):
        return None
    return pid


def kill_leftover(pidfile, program, marks):
    """SIGKILLs the pid `pidfile` names if it still runs `program` (its
    argv[0] ends so) with one of `marks` (bytes, e.g. its ports) among its
    arguments, and waits until it is gone; removes the pid file. A recycled
    pid running something else is left alone. Returns the pid killed, or None."""
    pidfile = Path(pidfile)
    killed = None
    try:
        pid = int(pidfile.read_text().strip())
        cmdline = Path(f"/proc/{pid}/cmdline").read_bytes().split(b"\0")
    except (OSError, ValueError):
        cmdline = []
    if cmdline and cmdline[0].endswith(program) and set(marks) & set(cmdline):
        try:
            os.kill(pid, signal.SIGKILL)
            killed = pid
        except ProcessLookupError:
            pass
        for _ in range(100):  # until gone (an orphan, reaped by init) or a zombie
            try:
                if b") Z" in Path(f"/proc/{pid}/stat").read_bytes():
                    break
            except OSError:
                break
            time.sleep(0.05)
    pidfile.unlink(missing_ok=True)
    return killed


def process_state(pid):
    """The state letter of /proc/<pid>/stat (R, S, T for stopped, Z…), or None."""
    try:
        return Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
    except (OSError, IndexError):
        return None


def _interrupt(signum, frame):
    raise KeyboardInterrupt(f"signal {signum}")


INTERRUPTS = (signal.SIGINT, signal.SIGTERM, signal.SIGHUP)


def interrupt_on_signals():
    """SIGINT, SIGTERM and SIGHUP raise KeyboardInterrupt, so that a harness
    stopped by a time limit or a closed terminal leaves through its `finally`
    and stops what it started."""
    for signum in INTERRUPTS:
        signal.signal(signum, _interrupt)


def hold_signals():
    """Ignores them from here on: a second Ctrl-C must not cut the cleanup short."""
    for signum in INTERRUPTS:
        signal.signal(signum, signal.SIG_IGN)


class ProcessGroup:
    """Processes started together in one process group (the first's pid is
    the group id), watched and stopped as one, as a Popen is: stopping the
    group stops what they started too."""

    def __init__(self, commands, log_path, env, cwd):
        output = open(log_path, "ab") if log_path else None
        self.processes = []
        try:
            for command in commands:
                # The first leads a new group (the terminal's Ctrl-C does not reach
                # it); the others join it (a group cannot span sessions).
                group = self.processes[0].pid if self.processes else 0
                self.processes.append(subprocess.Popen(command, cwd=cwd, env=env, stdout=output, stderr=output,
                                                       process_group=group))
        except BaseException:
            self.kill()
            raise
        finally:
            if output is not None:
                output.close()
        self.pid = self.processes[0].pid
        _tracked.add(self)

    @property
    def returncode(self):
        return next((p.returncode for p in self.processes if p.returncode is not None), None)

    def poll(self):
        """The exit code of the first that has ended, else None."""
        for process in self.processes:
            process.poll()
        return self.returncode

    def terminate(self):
        for process in self.processes:
            if process.poll() is None:
                process.terminate()

    def kill(self):
        for process in self.processes:
            if process.poll() is None:
                process.kill()

    def wait(self, timeout):
        deadline = time.monotonic() + timeout
        for process in self.processes:
            process.wait(timeout=max(0, deadline - time.monotonic()))

    def stop(self, grace=15.0):
        """SIGTERM to each (a warm shutdown), SIGKILL after `grace` seconds,
        then SIGKILL to the whole group for anything they left behind."""
        _tracked.discard(self)
        if self.poll() is None:
            self.terminate()
            try:
                self.wait(timeout=grace)
            except subprocess.TimeoutExpired:
                self.kill()
                self.wait(timeout=5)
        try:
            os.killpg(self.pid, signal.SIGKILL)
        except ProcessLookupError:
            pass
