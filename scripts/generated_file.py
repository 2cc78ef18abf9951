"""Writes a generated source file, or checks that the committed one is up to date:
the shared tail of scripts/embed-web.py and scripts/embed-migrations.py."""

import sys


def write_or_check(output, text, *, check, tool, name, stale, files):
    """`stale`: what the file is out of date with and how to fix it; `files`: how many it embeds.
    Returns the exit code (1 when checking finds it out of date)."""
    current = output.read_text() if output.exists() else None
    if check:
        if current != text:
            print(f"{tool}: {name} is out of date with {stale}", file=sys.stderr)
            return 1
        print(f"{tool}: {name} is up to date ({files} files)")
        return 0
    if current != text:
        output.parent.mkdir(parents=True, exist_ok=True)
        output.write_text(text)
        print(f"{tool}: wrote {name} ({files} files)")
    else:
        print(f"{tool}: {name} unchanged")
    return 0
