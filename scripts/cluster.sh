#!/usr/bin/env bash
# A three-node Baton cluster on this machine, in the background.
#
#   scripts/cluster.sh start|stop|status          all three nodes
#   scripts/cluster.sh start|stop|restart NODE    one node (server-1, server-2, server-3)
#   scripts/cluster.sh run                        all three in the foreground (make run-cluster)
#
# Node N serves gRPC on 909N and HTTP on 808N. Pids go to .run/pids/, logs to
# .run/logs/. BATON_NODE_ARGS adds flags to every node; BATON_BUILD=debug runs
# the debug build instead of release; BATON_SKIP_BUILD=1 runs what is built.
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
RUN="${BATON_RUN_DIR:-$ROOT/.run}"
BUILD="${BATON_BUILD:-release}"
NODES=(server-1 server-2 server-3)
# Only when missing: SwiftPM plans the build again when PATH differs from the last build's.
case ":$PATH:" in *:/opt/swift/usr/bin:*) ;; *) export PATH="$PATH:/opt/swift/usr/bin" ;; esac

log() { printf 'cluster: %s\n' "$*" >&2; }

number() { echo "${1##*-}"; }
binary() { echo "$ROOT/.build/$BUILD/baton-node"; }
pidfile() { echo "$RUN/pids/$1.pid"; }

node_args() { # node
  local n; n=$(number "$1")
  # shellcheck disable=SC2206
  local extra=(${BATON_NODE_ARGS:-})
  echo --id "$1" --grpc-port "909$n" --worker-port "808$n" --migrations "$ROOT/sql" --log-dir "$RUN/logs/files" "${extra[@]}"
}

build() {
  "$ROOT/scripts/dev-services.sh" start
  # Tests run the binary `swift build --build-tests` made (SwiftPM holds its lock meanwhile).
  if [ -n "${BATON_SKIP_BUILD:-}" ]; then return; fi
  if [ "$BUILD" = release ]; then
    (cd "$ROOT" && swift build -c release)  # every product: one build serves every command
  else
    (cd "$ROOT" && swift build)
  fi
}

alive() { # node
  local file; file=$(pidfile "$1")
  [ -f "$file" ] && kill -0 "$(cat "$file")" 2>/dev/null
}

ready() { # node
  curl -fsS -m 1 "http://127.0.0.1:808$(number "$1")/ready" >/dev/null 2>&1
}

start_node() { # node
  if alive "$1"; then log "$1 already running (pid $(cat "$(pidfile "$1")"))"; return; fi
  mkdir -p "$RUN/pids" "$RUN/logs"
  # shellcheck disable=SC2046
  nohup "$(binary)" $(node_args "$1") >>"$RUN/logs/$1.log" 2>&1 &
  echo $! >"$(pidfile "$1")"
  log "$1 started (pid $!)"
}

wait_ready() { # nodes…
  for node in "$@"; do
    for _ in $(seq 1 600); do
      ready "$node" && break
      alive "$node" || { log "$node exited; see $RUN/logs/$node.log"; tail -20 "$RUN/logs/$node.log" >&2; exit 1; }
      sleep 0.1
    done
    ready "$node" || { log "$node not ready after 60 s"; exit 1; }
  done
  log "ready: $*"
}

stop_node() { # node
  local file; file=$(pidfile "$1")
  [ -f "$file" ] || return 0
  local pid; pid=$(cat "$file")
  if kill -0 "$pid" 2>/dev/null; then
    kill -TERM "$pid" 2>/dev/null || true
    # The grace period for running tasks is 30 s by default.
    for _ in $(seq 1 400); do kill -0 "$pid" 2>/dev/null || break; sleep 0.1; done
    kill -0 "$pid" 2>/dev/null && { log "$1 did not stop; killing"; kill -9 "$pid" 2>/dev/null || true; }
  fi
  rm -f "$file"
  log "$1 stopped"
}

status() {
  for node in "${NODES[@]}"; do
    if alive "$node"; then
      if ready "$node"; then echo "$node: running, ready (pid $(cat "$(pidfile "$node")"))"
      else echo "$node: running, not ready (pid $(cat "$(pidfile "$node")"))"; fi
    else
      echo "$node: stopped"
    fi
  done
}

run_foreground() {
  build
  local pids=()
  for node in "${NODES[@]}"; do
    # shellcheck disable=SC2046
    # The prefixer ignores Ctrl-C so the nodes' last lines (graceful stop) still show.
    ( exec "$(binary)" $(node_args "$node") 2>&1 | (trap '' INT; exec sed -u "s/^/[$node] /") ) &
    pids+=($!)
  done
  trap 'log "stopping"; pkill -TERM -f "baton-node --id server-" 2>/dev/null || true; wait' INT TERM
  wait
}

case "${1:-}" in
  start)
    if [ -n "${2:-}" ]; then start_node "$2"; wait_ready "$2"
    else build; for node in "${NODES[@]}"; do start_node "$node"; done; wait_ready "${NODES[@]}"; fi ;;
  stop)
    if [ -n "${2:-}" ]; then stop_node "$2"
    else for node in "${NODES[@]}"; do stop_node "$node" & done; wait; fi ;;
  restart)
    [ -n "${2:-}" ] || { echo "usage: $0 restart NODE" >&2; exit 2; }
    stop_node "$2"; start_node "$2"; wait_ready "$2" ;;
  status) status ;;
  run) run_foreground ;;
  *) echo "usage: $0 start|stop|status [NODE] | restart NODE | run" >&2; exit 2 ;;
esac
