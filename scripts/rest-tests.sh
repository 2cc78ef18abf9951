#!/usr/bin/env bash
# Black-box tests of the REST/JSON API (tests/rest): one baton-node on a
# private Redis (6398) and MariaDB (3398) under .run/rest, the checks of
# every route, error status and role, responses checked against
# openapi/openapi.json, and a bounded schemathesis run.
#
#   scripts/rest-tests.sh [pytest args]      e.g. -k tenant, -x
#
# Environment:
#   BATON_NODE_BIN     the node to test (default .build/debug/baton-node)
#   REST_KEEP=1        leave Redis and MariaDB running afterwards
#   REST_ST_EXAMPLES   schemathesis cases per operation (default 50)
#   REST_ST_SEED       schemathesis seed (default fixed; `random` for a new one)
#   REST_REDIS_PORT, REST_MYSQL_PORT, REST_GRPC_PORT, REST_HTTP_PORT   other ports
# Logs: .run/rest/logs (node.log, schemathesis/, coverage.txt).
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$ROOT"
VENV="$ROOT/.build-rest/venv"
REQUIREMENTS="$ROOT/tests/rest/requirements.txt"
export BATON_NODE_BIN="${BATON_NODE_BIN:-$ROOT/.build/debug/baton-node}"

# The venv is reused while requirements.txt is unchanged.
stamp="$(sha256sum "$REQUIREMENTS" | cut -c1-16)"
if [ "$(cat "$VENV/.installed" 2>/dev/null)" != "$stamp" ]; then
  echo "rest-tests: installing $REQUIREMENTS into $VENV" >&2
  rm -rf "$VENV"
  python3 -m venv "$VENV" 2>/dev/null || { rm -rf "$VENV"
    apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq python3-venv >/dev/null && python3 -m venv "$VENV"; }
  "$VENV/bin/pip" install -q --disable-pip-version-check --only-binary=:all: -r "$REQUIREMENTS"
  echo "$stamp" > "$VENV/.installed"
fi

[ -x "$BATON_NODE_BIN" ] || { echo "rest-tests: $BATON_NODE_BIN missing: swift build --product baton-node, or set BATON_NODE_BIN" >&2; exit 2; }

exec "$VENV/bin/python" -B -m pytest tests/rest -p no:cacheprovider -q -rfEXxs --durations=8 "$@"
