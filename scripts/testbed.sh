#!/usr/bin/env bash
# Baton's multi-host test bed: ten hosts in network namespaces (Galera db1-3,
# Redis + Sentinel rd1-3, one baton-node on each of app1-3, a load generator),
# and scenarios under load: the Galera member the nodes use killed -9, the
# Redis master killed -9, the leader's host cut off for 20 s, 5 ms more
# latency to the database host (tc netem where the kernel has it, a delaying
# proxy where not). See chaos/testbed.py for the layout.
#
#   scripts/testbed.sh                 every scenario (make testbed)
#   scripts/testbed.sh --quick         the Galera member kill under load only (make test)
#   scripts/testbed.sh --scenarios single,throughput --seconds 15
#   scripts/testbed.sh down            remove a bed left by --keep or a crash
#
# Needs root (network namespaces, veth, a bridge); where namespaces are not allowed
# it says so and exits 0 (skipped). BATON_NODE_BIN picks the node binary
# (default .build/debug/baton-node). One bed at a time on a machine.
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
RUN="${TESTBED_RUN_DIR:-$ROOT/.run/testbed}"
PREFIX=btb
export PATH="$PATH:/usr/sbin:/sbin"

log() { printf 'testbed: %s\n' "$*" >&2; }

# Whatever a bed left: its processes (by recorded pid), Galera, namespaces.
down() {
  for pidfile in "$RUN"/pids/*.pid; do
    [ -f "$pidfile" ] || continue
    kill -9 "$(cat "$pidfile")" 2>/dev/null || true
    rm -f "$pidfile"
  done
  if [ -d "$RUN/galera" ]; then
    GALERA_DIR="$RUN/galera" "$ROOT/scripts/galera.sh" stop 2>/dev/null || true
    GALERA_DIR="$RUN/galera" "$ROOT/scripts/galera.sh" stop-single 2>/dev/null || true
  fi
  for name in $(ip netns list 2>/dev/null | awk '{print $1}' | grep "^$PREFIX-" || true); do
    ip netns del "$name" 2>/dev/null || true
  done
}

if [ "${1:-}" = down ]; then down; exit 0; fi

args=("$@")
if [ "${1:-}" = --quick ]; then args=(--scenarios quick --seconds 8 "${@:2}"); fi

# Namespaces allowed here? (root with CAP_SYS_ADMIN and CAP_NET_ADMIN, not in
# most unprivileged containers.)
probe="$PREFIX-probe-$$"
if [ "$(id -u)" != 0 ] || ! ip netns add "$probe" 2>/dev/null; then
  log "SKIPPED: network namespaces are not allowed here (needs root with CAP_SYS_ADMIN and CAP_NET_ADMIN: ip netns add failed)"
  exit 0
fi
if ! ip link add pa netns "$probe" type veth peer name pb netns "$probe" 2>/dev/null \
  || ! ip -n "$probe" link add br0 type bridge 2>/dev/null; then
  ip netns del "$probe" 2>/dev/null || true
  log "SKIPPED: veth pairs or bridges cannot be made here (kernel without veth/bridge)"
  exit 0
fi
ip netns del "$probe"

command -v redis-sentinel >/dev/null || "$ROOT/scripts/dev-services.sh" install
GALERA_DIR="$RUN/galera" "$ROOT/scripts/galera.sh" install
make -s -C "$ROOT" .build-chaos/venv/.installed >/dev/null
BIN="${BATON_NODE_BIN:-$ROOT/.build/debug/baton-node}"
[ -x "$BIN" ] || { log "no baton-node at $BIN (swift build, or set BATON_NODE_BIN)"; exit 1; }

exec 9>/tmp/baton-testbed.lock
flock -n 9 || { log "another test bed runs on this machine (/tmp/baton-testbed.lock)"; exit 1; }
mkdir -p "$RUN"
trap down EXIT
trap 'exit 130' INT TERM HUP
keep=0
for a in "${args[@]}"; do [ "$a" = --keep ] && keep=1; done
[ "$keep" = 1 ] && trap - EXIT
BATON_NODE_BIN="$BIN" TESTBED_RUN_DIR="$RUN" "$ROOT/.build-chaos/venv/bin/python" -B "$ROOT/chaos/testbed.py" "${args[@]}"
