"""The kit's promise that children never outlive the harness: a child that
ignores SIGTERM is killed after the grace period, one left running is killed
at interpreter exit unless kept, and a pid file naming some other program is
never acted on."""

import os
import signal
import subprocess
import sys
import tempfile
import textwrap
import time
import unittest
from pathlib import Path

KIT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(KIT))

from batontest import procs  # noqa: E402
from batontest.waits import wait_until  # noqa: E402


def alive(pid):
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    return procs.process_state(pid) not in (None, "Z")


class Procs(unittest.TestCase):
    def setUp(self):
        self.dir = Path(tempfile.mkdtemp(prefix="batontest-"))

    def test_stop_kills_after_grace(self):
        proc = procs.spawn(["sh", "-c", "trap '' TERM; sleep 30"], self.dir / "log", os.environ.copy())
        time.sleep(0.2)  # the trap set
        started = time.monotonic()
        code = procs.stop(proc, grace=0.5)
        self.assertEqual(code, -signal.SIGKILL)
        self.assertLess(time.monotonic() - started, 5)

    def _child_script(self, keep):
        return textwrap.dedent(f"""
            import os, sys
            sys.path.insert(0, {str(KIT)!r})
            from batontest import procs
            proc = procs.spawn(["sleep", "30"], {str(self.dir / 'log')!r}, dict(os.environ))
            if {keep!r}:
                procs.keep(proc)
            print(proc.pid, flush=True)
        """)

    def test_children_killed_at_exit(self):
        out = subprocess.run([sys.executable, "-c", self._child_script(False)], capture_output=True, text=True, timeout=30)
        pid = int(out.stdout.strip())
        self.assertTrue(wait_until(lambda: not alive(pid), 5), f"sleep {pid} outlived its harness")

    def test_kept_children_stay(self):
        out = subprocess.run([sys.executable, "-c", self._child_script(True)], capture_output=True, text=True, timeout=30)
        pid = int(out.stdout.strip())
        try:
            time.sleep(0.3)
            self.assertTrue(alive(pid), "a kept child was killed at exit")
        finally:
            os.kill(pid, signal.SIGKILL)

    def test_leftover_of_another_program_left_alone(self):
        proc = subprocess.Popen(["sleep", "30"])
        try:
            wait_until(lambda: Path(f"/proc/{proc.pid}/cmdline").read_bytes().startswith(b"sleep"), 5, 0.01)
            pidfile = self.dir / "node.pid"
            pidfile.write_text(str(proc.pid))
            self.assertIsNone(procs.kill_leftover(pidfile, b"baton-node", {b"19391"}))
            self.assertIsNone(proc.poll())
            self.assertFalse(pidfile.exists())
            pidfile.write_text(str(proc.pid))
            self.assertEqual(procs.kill_leftover(pidfile, b"sleep", {b"30"}), proc.pid)
            proc.wait(timeout=5)
        finally:
            proc.kill()
            proc.wait()


if __name__ == "__main__":
    unittest.main()
