"""A child's log file as a harness reads it: the last lines for an error
message, an offset now and what was written after it (what a node logged
during a fault), a marker line that says what the harness did when."""

import time
from pathlib import Path


class LogFile:
    def __init__(self, path):
        self.path = Path(path)

    def tail(self, lines, indent=""):
        """The last `lines` lines, each after `indent` ("" when unreadable)."""
        try:
            text = self.path.read_text(errors="replace").splitlines()
        except OSError:
            return ""
        return "\n".join(indent + line for line in text[-lines:])

    def offset(self):
        try:
            return self.path.stat().st_size
        except OSError:
            return 0

    def since(self, offset):
        try:
            with open(self.path, "rb") as f:
                f.seek(offset)
                return f.read().decode(errors="replace")
        except OSError:
            return ""

    def mark(self, who, text):
        """A line `===== <who>: <text> at HH:MM:SS =====` between the child's own."""
        with open(self.path, "a") as out:
            out.write(f"===== {who}: {text} at {time.strftime('%H:%M:%S')} =====\n")
