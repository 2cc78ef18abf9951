#!/usr/bin/env bash
# Celery 5 and dramatiq beside Baton, end to end on noop tasks, in the same
# run on the same machine (`make bench-peers`; docs/benchmarks.md, "Peers in
# the same run"). Each round runs Celery, then dramatiq, then Baton's own
# benchmark, so that all three see the same machine at about the same time.
#
#   scripts/bench-peers.sh
#
# Environment:
#   RUNS             rounds (default 3)
#   PEER_TASKS       noop tasks per peer run (default 20000, as Baton's e2e)
#   BATON_BENCH_CMD  runs Baton's benchmark and prints its `BENCH e2e …` line
#                    (default: make bench)
#   SKIP_BATON=1     peers only (development)
#   PEER_TIMEOUT     seconds a peer run may take before it fails (default 300)
#   BATON_TIMEOUT    seconds a Baton run may take, build included (default 3600)
#
# The peers use a private Redis on 127.0.0.1:6396 (data, logs, pids and the
# result table under .run/peers), flushed before each peer run and shut down
# at the end; Baton's benchmark uses the servers `make bench` starts. The
# Python packages are pinned in bench/peers/requirements.txt and live in
# .build-peers/venv, made again only when that file changes.
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
RUNS="${RUNS:-3}"
PEER_TASKS="${PEER_TASKS:-20000}"
BATON_BENCH_CMD="${BATON_BENCH_CMD:-make bench}"
SKIP_BATON="${SKIP_BATON:-0}"
PEER_TIMEOUT="${PEER_TIMEOUT:-300}"
BATON_TIMEOUT="${BATON_TIMEOUT:-3600}"

RUN="$ROOT/.run/peers"
VENV="$ROOT/.build-peers/venv"
REQUIREMENTS="$ROOT/bench/peers/requirements.txt"
REDIS_PORT=6396
export PEERS_REDIS_URL="redis://127.0.0.1:$REDIS_PORT/0"
export PYTHONDONTWRITEBYTECODE=1 # no __pycache__ in bench/peers
export PATH="$PATH:/usr/sbin:/sbin"

log() { printf 'bench-peers: %s\n' "$*" >&2; }
die() { log "FAILED: $*"; exit 1; }

as_root() {
  if [ "$(id -u)" = 0 ]; then "$@"; else sudo "$@"; fi
}

apt_install() {
  log "installing $*"
  as_root env DEBIAN_FRONTEND=noninteractive apt-get update -qq
  as_root env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "$@" >/dev/null
}

# --- setup -------------------------------------------------------------------

ensure_tools() {
  local missing=()
  command -v redis-server >/dev/null || missing+=(redis-server)
  command -v redis-cli >/dev/null || missing+=(redis-tools)
  command -v python3 >/dev/null || missing+=(python3)
  [ ${#missing[@]} -eq 0 ] || apt_install "${missing[@]}"
}

# The venv is reused while the requirements and the interpreter are those it
# was made from (the stamp holds their digest).
ensure_venv() {
  local stamp
  stamp="$( (cat "$REQUIREMENTS"; python3 --version) | sha256sum | cut -d' ' -f1)"
  if [ -x "$VENV/bin/python" ] && [ "$(cat "$VENV/.stamp" 2>/dev/null)" = "$stamp" ]; then
    return
  fi
  log "making $VENV"
  rm -rf "$VENV"
  # Debian's python3 has no venv module until python3-venv is installed.
  python3 -m venv "$VENV" 2>/dev/null || { rm -rf "$VENV"; apt_install python3-venv; python3 -m venv "$VENV"; }
  "$VENV/bin/pip" install -q --disable-pip-version-check --only-binary=:all: -r "$REQUIREMENTS"
  echo "$stamp" >"$VENV/.stamp"
}

# --- the private Redis -------------------------------------------------------

redis_cmd() { redis-cli -h 127.0.0.1 -p "$REDIS_PORT" "$@"; }
redis_answers() { redis_cmd ping 2>/dev/null | grep -q PONG; }

start_redis() {
  if redis_answers; then
    # Ours from an interrupted run (its pid file names it), or somebody else's.
    local pid
    pid="$(cat "$RUN/redis.pid" 2>/dev/null || true)"
    if [ -z "$pid" ] || ! grep -q redis-server "/proc/$pid/cmdline" 2>/dev/null; then
      die "port $REDIS_PORT is taken by a server this script did not start"
    fi
    log "stopping the Redis left by an earlier run"
    stop_redis
  fi
  redis-server --bind 127.0.0.1 --port "$REDIS_PORT" --save "" --appendonly no \
    --daemonize yes --pidfile "$RUN/redis.pid" --logfile "$RUN/redis.log" --dir "$RUN"
  local waited=0
  until redis_answers; do
    [ $waited -lt 100 ] || die "Redis on port $REDIS_PORT did not answer within 10 s ($RUN/redis.log)"
    sleep 0.1
    waited=$((waited + 1))
  done
}

stop_redis() {
  redis_cmd shutdown nosave >/dev/null 2>&1 || true
  local waited=0
  while redis_answers && [ $waited -lt 50 ]; do
    sleep 0.1
    waited=$((waited + 1))
  done
}

# A peer's driver writes its worker's process group id to $RUN/NAME.pgid and
# removes it once the worker has stopped. A file still there means the driver
# was killed: stop that group, after checking by /proc that it is the worker.
stop_leftover_workers() {
  local file pgid
  for file in "$RUN"/*.pgid; do
    [ -e "$file" ] || continue
    pgid="$(cat "$file")"
    if grep -qa -e celery_bench -e dramatiq_bench "/proc/$pgid/cmdline" 2>/dev/null; then
      log "stopping leftover worker group $pgid"
      kill -KILL -- "-$pgid" 2>/dev/null || true
    fi
    rm -f "$file"
  done
}

cleanup() {
  stop_leftover_workers
  stop_redis
}

# --- one run of each ---------------------------------------------------------

# field LINE KEY: the value of KEY=value in a machine-readable line.
field() {
  tr ' ' '\n' <<<"$1" | sed -n "s/^$2=//p" | head -n 1
}

# run_peer NAME ROUND: prints the peer's tasks/s.
run_peer() {
  local name="$1" round="$2" line
  redis_cmd flushall >/dev/null
  # Outer limit in case the driver itself hangs; it enforces PEER_TIMEOUT.
  line="$(timeout --foreground -k 10 $((PEER_TIMEOUT + 60)) \
    "$VENV/bin/python" "$ROOT/bench/peers/${name}_bench.py" --tasks "$PEER_TASKS" \
    --timeout "$PEER_TIMEOUT" --pidfile "$RUN/$name.pgid" --log "$RUN/$name-$round.log")" ||
    { stop_leftover_workers; die "$name run $round (worker log: $RUN/$name-$round.log)"; }
  stop_leftover_workers
  log "run $round: $line"
  field "$line" e2e_per_s
}

# run_baton ROUND: prints Baton's `BENCH e2e …` line.
run_baton() {
  local round="$1" output line
  output="$RUN/baton-$round.log"
  log "run $round: $BATON_BENCH_CMD (output in $output)"
  (cd "$ROOT" && timeout --foreground "$BATON_TIMEOUT" bash -c "$BATON_BENCH_CMD") >"$output" 2>&1 ||
    { tail -n 20 "$output" >&2; die "Baton run $round: '$BATON_BENCH_CMD' failed (see $output)"; }
  line="$(grep -m 1 '^BENCH e2e ' "$output")" ||
    { tail -n 20 "$output" >&2; die "Baton run $round printed no 'BENCH e2e' line (see $output)"; }
  [ -n "$(field "$line" e2e_per_s)" ] || die "Baton run $round: no e2e_per_s in: $line"
  log "run $round: $line"
  echo "$line"
}

# --- the table ---------------------------------------------------------------

# median FORMAT VALUE...: printf FORMAT of the median; empty values (skipped
# or absent) are left out; "—" if none is left.
median() {
  local format="$1"
  shift
  printf '%s\n' "$@" | { grep -v '^$' || true; } | sort -g |
    awk -v f="$format\n" '{ v[NR] = $1 } END {
      if (NR == 0) print "—"
      else if (NR % 2) printf f, v[(NR + 1) / 2]
      else printf f, (v[NR / 2] + v[NR / 2 + 1]) / 2 }'
}

# ratio A B: A/B to two places, "—" when either is missing.
ratio() {
  awk -v a="$1" -v b="$2" 'BEGIN {
    if (a == "" || b == "" || a == "—" || b == "—" || b + 0 == 0) print "—"
    else printf "%.2f\n", a / b }'
}

or_dash() { echo "${1:-—}"; }

report() {
  local i celery dramatiq baton
  echo "## Peers in the same run: $(date -u '+%Y-%m-%d %H:%M UTC'), $(nproc) cores, $PEER_TASKS noop tasks"
  echo
  echo "Celery $(pkg_version celery) (solo, 1 process), dramatiq $(pkg_version dramatiq) (2 processes × 16 threads),"
  echo "$(redis-server --version | cut -d' ' -f1-3); Baton: \`$BATON_BENCH_CMD\`$([ "$SKIP_BATON" = 1 ] && echo ' (skipped)')."
  echo
  echo "| run | load before (1/5/15 min) | Celery tasks/s | dramatiq tasks/s | Baton tasks/s | Baton/dramatiq | Baton/Celery |"
  echo "| --- | --- | --- | --- | --- | --- | --- |"
  for i in $(seq 1 "$RUNS"); do
    baton="${BATON[$i]:-}"
    echo "| $i | ${LOAD[$i]} | ${CELERY[$i]} | ${DRAMATIQ[$i]} | $(or_dash "$baton")" \
      "| $(ratio "$baton" "${DRAMATIQ[$i]}") | $(ratio "$baton" "${CELERY[$i]}") |"
  done
  celery="$(median %.0f "${CELERY[@]}")"
  dramatiq="$(median %.0f "${DRAMATIQ[@]}")"
  baton="$(median %.0f "${BATON[@]}")"
  echo "| median | | $celery | $dramatiq | $baton | $(ratio "$baton" "$dramatiq") | $(ratio "$baton" "$celery") |"
  if [ "$SKIP_BATON" != 1 ]; then
    echo
    echo "Baton, median of the runs: CreateTask p99 at 500/s $(median %.2f "${RPC_P99[@]}") ms;" \
      "created→started at 200/s p50 $(median %.2f "${STARTED_P50[@]}") ms, p99 $(median %.2f "${STARTED_P99[@]}") ms."
  fi
}

pkg_version() {
  "$VENV/bin/python" -c "import importlib.metadata as m; print(m.version('$1'))"
}

# --- main --------------------------------------------------------------------

main() {
  [[ "$RUNS" =~ ^[1-9][0-9]*$ ]] || die "RUNS must be a positive number, not '$RUNS'"
  [[ "$PEER_TASKS" =~ ^[1-9][0-9]*$ ]] || die "PEER_TASKS must be a positive number, not '$PEER_TASKS'"
  mkdir -p "$RUN"
  rm -f "$RUN"/*-[0-9]*.log "$RUN/result.md" # the last run's, lest they be read as this one's
  ensure_tools
  ensure_venv
  stop_leftover_workers
  trap cleanup EXIT
  trap 'exit 130' INT
  trap 'exit 143' TERM
  start_redis

  declare -ga LOAD=() CELERY=() DRAMATIQ=() BATON=() RPC_P99=() STARTED_P50=() STARTED_P99=()
  local i line
  for i in $(seq 1 "$RUNS"); do
    LOAD[i]="$(cut -d' ' -f1-3 /proc/loadavg | tr ' ' /)"
    log "run $i of $RUNS (load $(cut -d' ' -f1-3 /proc/loadavg))"
    CELERY[i]="$(run_peer celery "$i")"
    DRAMATIQ[i]="$(run_peer dramatiq "$i")"
    if [ "$SKIP_BATON" != 1 ]; then
      line="$(run_baton "$i")"
      BATON[i]="$(field "$line" e2e_per_s)"
      RPC_P99[i]="$(field "$line" rpc_p99_ms_at500)"
      STARTED_P50[i]="$(field "$line" started_p50_ms_at200)"
      STARTED_P99[i]="$(field "$line" started_p99_ms_at200)"
    fi
  done

  report | tee "$RUN/result.md"
  log "table written to $RUN/result.md"
}

main "$@"
