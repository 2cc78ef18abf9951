"""A harness's own report: timestamped progress lines (seconds since it
started) and plain lines, printed at once and appended to a log file, so that
the file tells the same story as the terminal when CI shows only its tail."""

import time
from pathlib import Path


class Progress:
    def __init__(self, path, width=7):
        """`width`: of the seconds column. The file is appended to."""
        self.path = Path(path)
        self.width = width
        self.t0 = time.time()
        self._out = None

    def elapsed(self):
        return time.time() - self.t0

    def log(self, message):
        """A progress line: `[  12.3s] message`."""
        self.say(f"[{self.elapsed():{self.width}.1f}s] {message}")

    def say(self, message=""):
        """A plain line."""
        print(message, flush=True)
        try:
            if self._out is None:
                self.path.parent.mkdir(parents=True, exist_ok=True)
                self._out = open(self.path, "a", buffering=1)
            self._out.write(message + "\n")
        except OSError:
            pass
