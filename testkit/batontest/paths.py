"""Where things are in the repository, found from this file, so that a
harness works from any current directory and any work tree."""

import os
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]
SQL = REPO / "sql"  # the node's --migrations
DEV_SERVICES = REPO / "scripts" / "dev-services.sh"
# The `baton` user's password on the private MariaDB servers (dev-services.sh's default).
MYSQL_PASSWORD = os.environ.get("BATON_MYSQL_PASSWORD") or "baton-dev-password"


def node_bin():
    """The baton-node under test: $BATON_NODE_BIN (a prebuilt binary), else the debug build."""
    return os.environ.get("BATON_NODE_BIN") or str(REPO / ".build" / "debug" / "baton-node")
