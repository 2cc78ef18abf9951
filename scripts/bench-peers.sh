#!/usr/bin/env bash
# Baton beside its peers, end to end on noop tasks, in the same run on the
# same machine (`make bench-peers`; docs/benchmarks.md, "Peers in the same
# run"): Celery on Redis, dramatiq on Redis, Celery on MariaDB (SQLAlchemy
# broker and database results), procrastinate on PostgreSQL, Sidekiq on
# Redis, then Baton's own benchmark. Each round runs every one of them once,
# in that order, so that a busy or quiet spell of the machine falls on all
# alike. For each: tasks/s, and CPU per task of every process it uses.
#
#   scripts/bench-peers.sh
#
# Environment:
#   RUNS               rounds (default 3)
#   PEER_TASKS         noop tasks per peer run (default 20000, as Baton's e2e)
#   CELERY_SQLA_TASKS  tasks per run of Celery on MariaDB (default PEER_TASKS / 10:
#                      it runs below 100/s)
#   PEERS              which peers, in order (default: celery dramatiq
#                      celery-sqla procrastinate sidekiq)
#   BATON_BENCH_CMD    runs Baton's benchmark and prints its `BENCH e2e …` line
#                      (default: make bench)
#   SKIP_BATON=1       peers only (development)
#   PEER_TIMEOUT       seconds a peer run may take before it fails (default 300)
#   BATON_TIMEOUT      seconds a Baton run may take, build included (default 3600)
#   BATON_METRICS, BATON_CPU_NODES, DEV_REDIS_MATCH, DEV_MYSQL_MATCH
#                      where Baton's CPU is read (see below; defaults: `make bench`'s)
#
# The Redis peers use a private Redis on 127.0.0.1:6396 (all peers count
# executions in it), procrastinate a private PostgreSQL on 127.0.0.1:5496,
# initialised anew each run; both live under .run/peers (with logs, pids and
# the result table) and are stopped at the end or on any error. Celery on
# MariaDB uses the dev MariaDB (127.0.0.1:3306, `scripts/dev-services.sh`),
# in a database of its own (peers_celery) made anew before each of its runs.
# Baton's benchmark uses the servers `make bench` starts.
#
# CPU per task (bench/peers/cpu.py): user+system time from /proc of every
# process a system uses, sampled when its clock starts and when its last
# task has run, divided by its tasks. A peer: its driver with the producer
# and the workers it started, and its broker or database server. Baton
# (bench/peers/baton_cpu.py): the three nodes, the dev Redis and MariaDB and
# the baton-bench client, over its throughput run only. The dev servers
# serve nothing else meanwhile: runs are sequential.
#
# The Python packages are pinned in bench/peers/requirements.txt and live in
# .build-peers/venv, made again only when that file changes; Sidekiq, Ruby,
# PostgreSQL and the servers are Debian packages, installed when missing.
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
RUNS="${RUNS:-3}"
PEER_TASKS="${PEER_TASKS:-20000}"
CELERY_SQLA_TASKS="${CELERY_SQLA_TASKS:-$(( PEER_TASKS / 10 > 0 ? PEER_TASKS / 10 : 1 ))}"
PEERS="${PEERS:-celery dramatiq celery-sqla procrastinate sidekiq}"
BATON_BENCH_CMD="${BATON_BENCH_CMD:-make bench}"
SKIP_BATON="${SKIP_BATON:-0}"
PEER_TIMEOUT="${PEER_TIMEOUT:-300}"
BATON_TIMEOUT="${BATON_TIMEOUT:-3600}"
# Baton's processes and /metrics as `make bench` runs them (scripts/cluster.sh,
# scripts/dev-services.sh); the dev MariaDB is Celery-on-MariaDB's server too.
BATON_METRICS="${BATON_METRICS:-127.0.0.1:8081,127.0.0.1:8082,127.0.0.1:8083}"
BATON_CPU_NODES="${BATON_CPU_NODES:-^(\S*/)?baton-node .*--grpc-port 909[0-9]( |$)}"
DEV_REDIS_MATCH="${DEV_REDIS_MATCH:-^(\S*/)?redis-server 127\.0\.0\.1:6379( |$)}"
DEV_MYSQL_MATCH="${DEV_MYSQL_MATCH:-^(\S*/)?mariadbd .*--port=3306( |$)}"

RUN="$ROOT/.run/peers"
VENV="$ROOT/.build-peers/venv"
REQUIREMENTS="$ROOT/bench/peers/requirements.txt"
REDIS_PORT=6396
PG_PORT=5496
PG_DIR="$RUN/pg" # data in $PG_DIR/data; the socket and the log beside it
SQLA_DB=peers_celery
MYSQL_PASSWORD="${BATON_MYSQL_PASSWORD:-baton-dev-password}" # dev-services.sh's `baton` user
export PEERS_REDIS_URL="redis://127.0.0.1:$REDIS_PORT/0"
export PEERS_PG_URL="postgresql://postgres@127.0.0.1:$PG_PORT/peers"
# PyMySQL tries TLS on every new connection by default; Baton talks to the
# dev MariaDB in the clear over loopback, so does Celery.
SQLA_URL="mysql+pymysql://baton:$MYSQL_PASSWORD@127.0.0.1:3306/$SQLA_DB?ssl_disabled=true"
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

wants() { [[ " $PEERS " == *" $1 "* ]]; }

# --- setup -------------------------------------------------------------------

# The newest PostgreSQL server's bin folder, empty if none is installed.
pg_bin() {
  local dir
  for dir in /usr/lib/postgresql/*/bin; do [ ! -d "$dir" ] || echo "$dir"; done | sort -V | tail -n 1
}

ensure_tools() {
  local missing=()
  command -v redis-server >/dev/null || missing+=(redis-server)
  command -v redis-cli >/dev/null || missing+=(redis-tools)
  command -v python3 >/dev/null || missing+=(python3)
  if wants celery-sqla; then command -v mariadb >/dev/null || missing+=(mariadb-client); fi
  if wants procrastinate; then
    [ -n "$(pg_bin)" ] || missing+=(postgresql)
    command -v psql >/dev/null || missing+=(postgresql-client)
  fi
  if wants sidekiq; then command -v sidekiq >/dev/null || missing+=(ruby-sidekiq); fi
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

# pids REGEX: the processes whose command line matches (bench/peers/cpu.py).
pids() { "$VENV/bin/python" "$ROOT/bench/peers/cpu.py" pids "$1"; }

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

# --- the private PostgreSQL (procrastinate) -----------------------------------

# PostgreSQL refuses to run as root: as root, its tools run as `postgres`.
as_pg() {
  if [ "$(id -u)" = 0 ]; then runuser -u postgres -- "$@"; else "$@"; fi
}

pg_answers() { "$(pg_bin)/pg_isready" -q -h 127.0.0.1 -p "$PG_PORT" 2>/dev/null; }
psql_peers() { PGOPTIONS='-c client_min_messages=warning' psql -X -q -v ON_ERROR_STOP=1 -h 127.0.0.1 -p "$PG_PORT" -U postgres "$@"; }

# Settings beside the defaults: like the dev MariaDB (innodb_flush_log_at_trx_commit=2,
# a 256 MB buffer pool), a commit does not wait for its log to reach the disk.
start_pg() {
  if pg_answers; then
    [ -f "$PG_DIR/data/postmaster.pid" ] || die "port $PG_PORT is taken by a server this script did not start"
    log "stopping the PostgreSQL left by an earlier run"
    stop_pg
  fi
  rm -rf "$PG_DIR"
  mkdir -p "$PG_DIR"
  [ "$(id -u)" != 0 ] || chown postgres: "$PG_DIR"
  as_pg "$(pg_bin)/initdb" -D "$PG_DIR/data" --auth=trust --username=postgres --encoding=UTF8 \
    --no-instructions >"$RUN/pg-initdb.log" 2>&1 || die "initdb (see $RUN/pg-initdb.log)"
  as_pg "$(pg_bin)/pg_ctl" -D "$PG_DIR/data" -l "$PG_DIR/server.log" -w -t 30 start -o \
    "-c listen_addresses=127.0.0.1 -c port=$PG_PORT -c unix_socket_directories=$PG_DIR -c synchronous_commit=off -c shared_buffers=256MB" \
    >/dev/null || die "PostgreSQL did not start ($PG_DIR/server.log)"
}

stop_pg() {
  [ -f "$PG_DIR/data/postmaster.pid" ] || return 0
  as_pg "$(pg_bin)/pg_ctl" -D "$PG_DIR/data" -m fast -w -t 30 stop >/dev/null 2>&1 || true
}

# --- the dev MariaDB (Celery's SQLAlchemy broker and results) -----------------

fresh_sqla_db() {
  mariadb --no-defaults -h 127.0.0.1 -P 3306 -uroot <<SQL || die "could not make database $SQLA_DB (root over TCP on 127.0.0.1:3306)"
DROP DATABASE IF EXISTS $SQLA_DB;
CREATE DATABASE $SQLA_DB CHARACTER SET utf8mb4 COLLATE utf8mb4_bin;
GRANT ALL PRIVILEGES ON $SQLA_DB.* TO 'baton'@'127.0.0.1', 'baton'@'localhost';
SQL
}

# A peer's driver writes its workers' process group id to $RUN/NAME.pgid and
# removes it once they have stopped. A file still there means the driver was
# killed: stop that group, after checking by /proc that it is the worker.
stop_leftover_workers() {
  local file pgid
  for file in "$RUN"/*.pgid; do
    [ -e "$file" ] || continue
    pgid="$(cat "$file")"
    if grep -qa -e _bench -e sidekiq "/proc/$pgid/cmdline" 2>/dev/null; then
      log "stopping leftover worker group $pgid"
      kill -KILL -- "-$pgid" 2>/dev/null || true
    fi
    rm -f "$file"
  done
}

# Baton's CPU watcher writes no pid file of its own: run_baton does, and
# removes it once the watcher has ended.
stop_baton_watch() {
  local pid
  pid="$(cat "$RUN/baton-cpu.pid" 2>/dev/null)" || return 0
  if grep -qa baton_cpu.py "/proc/$pid/cmdline" 2>/dev/null; then kill "$pid" 2>/dev/null || true; fi
  rm -f "$RUN/baton-cpu.pid"
}

cleanup() {
  stop_baton_watch
  stop_leftover_workers
  stop_redis
  stop_pg
}

# --- one run of each ---------------------------------------------------------

# field LINE KEY: the value of KEY=value in a machine-readable line.
field() {
  tr ' ' '\n' <<<"$1" | sed -n "s/^$2=//p" | head -n 1
}

# run_peer NAME ROUND: one run of a peer on fresh stores; prints its PEER line.
run_peer() {
  local name="$1" round="$2" script tasks="$PEER_TASKS" line
  local env=() servers=()
  redis_cmd flushall >/dev/null
  case "$name" in
    celery | dramatiq | sidekiq)
      script="${name}_bench.py"
      servers=("$(cat "$RUN/redis.pid")") ;;
    celery-sqla)
      script=celery_bench.py
      tasks="$CELERY_SQLA_TASKS"
      env=(PEERS_CELERY_MYSQL_URL="$SQLA_URL")
      fresh_sqla_db
      read -ra servers <<<"$(pids "$DEV_MYSQL_MATCH")" ;;
    procrastinate)
      script=procrastinate_bench.py
      psql_peers -c 'DROP DATABASE IF EXISTS peers WITH (FORCE)' -c 'CREATE DATABASE peers' ||
        die "could not make database peers in PostgreSQL"
      servers=("$(head -n 1 "$PG_DIR/data/postmaster.pid")") ;;
    *) die "unknown peer '$name' in PEERS" ;;
  esac
  [ ${#servers[@]} -eq 1 ] || die "$name: found ${#servers[@]} server processes to measure, not 1"
  # Outer limit in case the driver itself hangs; it enforces PEER_TIMEOUT.
  line="$(env "${env[@]}" timeout --foreground -k 10 $((PEER_TIMEOUT + 60)) \
    "$VENV/bin/python" "$ROOT/bench/peers/$script" --tasks "$tasks" --cpu-pid "${servers[0]}" \
    --timeout "$PEER_TIMEOUT" --pidfile "$RUN/$name.pgid" --log "$RUN/$name-$round.log")" ||
    { stop_leftover_workers; die "$name run $round (worker log: $RUN/$name-$round.log)"; }
  stop_leftover_workers
  log "run $round: $line"
  echo "$line"
}

# run_baton ROUND: prints Baton's `BENCH e2e …` line and, after it, the
# `CPU baton …` line of its watcher.
run_baton() {
  local round="$1" output watch line cpu
  output="$RUN/baton-$round.log"
  watch="$RUN/baton-cpu-$round.log"
  log "run $round: $BATON_BENCH_CMD (output in $output)"
  "$VENV/bin/python" "$ROOT/bench/peers/baton_cpu.py" --metrics "$BATON_METRICS" --timeout "$BATON_TIMEOUT" \
    --match nodes="$BATON_CPU_NODES" --match redis="$DEV_REDIS_MATCH" --match mysql="$DEV_MYSQL_MATCH" \
    >"$watch" 2>&1 &
  echo $! >"$RUN/baton-cpu.pid"
  (cd "$ROOT" && timeout --foreground "$BATON_TIMEOUT" bash -c "$BATON_BENCH_CMD") >"$output" 2>&1 ||
    { tail -n 20 "$output" >&2; die "Baton run $round: '$BATON_BENCH_CMD' failed (see $output)"; }
  line="$(grep -m 1 '^BENCH e2e ' "$output")" ||
    { tail -n 20 "$output" >&2; die "Baton run $round printed no 'BENCH e2e' line (see $output)"; }
  [ -n "$(field "$line" e2e_per_s)" ] || die "Baton run $round: no e2e_per_s in: $line"
  # The watcher ends with the throughput run, long before the command does.
  if ! wait "$(cat "$RUN/baton-cpu.pid")" || ! cpu="$(grep -m 1 '^CPU baton ' "$watch")"; then
    cat "$watch" >&2
    die "Baton run $round: no CPU measured (see $watch)"
  fi
  rm -f "$RUN/baton-cpu.pid"
  log "run $round: $line"
  log "run $round: $cpu"
  printf '%s\n%s\n' "$line" "$cpu"
}

# --- the table ---------------------------------------------------------------

# median FORMAT: printf FORMAT of the median of the values on stdin, one a
# line; empty lines (skipped or absent) are left out; "—" if none is left.
median() {
  local format="$1"
  { grep -v '^$' || true; } | sort -g |
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

# values ARRAY SYSTEM: that system's values of every round, one a line.
values() {
  local -n table="$1"
  local i
  for i in $(seq 1 "$RUNS"); do echo "${table[$2/$i]:-}"; done
}

# lines VALUE...: one a line, for median.
lines() { printf '%s\n' "$@"; }

title() {
  case "$1" in
    celery) echo "Celery (Redis)" ;;
    dramatiq) echo "dramatiq (Redis)" ;;
    celery-sqla) echo "Celery (MariaDB)" ;;
    procrastinate) echo "procrastinate (PostgreSQL)" ;;
    sidekiq) echo "Sidekiq (Redis)" ;;
    baton) echo "Baton" ;;
  esac
}

versions() {
  local parts=() name
  for name in $PEERS; do
    case "$name" in
      celery) parts+=("Celery $(pkg_version celery) (Redis: solo, 1 process)") ;;
      dramatiq) parts+=("dramatiq $(pkg_version dramatiq) (2 processes × 16 threads)") ;;
      celery-sqla) parts+=("Celery $(pkg_version celery) on MariaDB (kombu SQLAlchemy $(pkg_version sqlalchemy), PyMySQL; prefork 2)") ;;
      procrastinate) parts+=("procrastinate $(pkg_version procrastinate) (2 processes × 4; PostgreSQL $("$(pg_bin)/postgres" --version | awk '{ print $3 }'))") ;;
      sidekiq) parts+=("Sidekiq $(ruby -rsidekiq -e 'print Sidekiq::VERSION') (2 processes × 5 threads; $(ruby -e 'print RUBY_DESCRIPTION' | cut -d' ' -f1-2))") ;;
    esac
  done
  local joined
  joined="$(printf '%s; ' "${parts[@]}")"
  echo "${joined%; }"
}

report() {
  local i name systems cells rate cpu baton_rate baton_cpu
  read -ra systems <<<"$PEERS"
  [ "$SKIP_BATON" = 1 ] || systems+=(baton)
  echo "## Peers in the same run: $(date -u '+%Y-%m-%d %H:%M UTC'), $(nproc) cores"
  echo
  echo "$(versions); $(redis-server --version | cut -d' ' -f1-3); Baton: \`$BATON_BENCH_CMD\`$([ "$SKIP_BATON" = 1 ] && echo ' (skipped)')."
  echo "Tasks a run: $(for name in "${systems[@]}"; do printf '%s %s; ' "$(title "$name")" "${TASKS[$name]:-—}"; done | sed 's/; $//')."
  echo
  echo "Each cell: tasks/s · CPU ms per task (all its processes, servers included)."
  echo
  cells="| run | load before (1/5/15 min) |"
  for name in "${systems[@]}"; do cells+=" $(title "$name") |"; done
  echo "$cells"
  echo "|$(printf ' --- |%.0s' $(seq 1 $((${#systems[@]} + 2))))"
  for i in $(seq 1 "$RUNS"); do
    cells="| $i | ${LOAD[$i]} |"
    for name in "${systems[@]}"; do cells+=" ${RATE[$name/$i]:-—} · ${CPU[$name/$i]:-—} |"; done
    echo "$cells"
  done
  cells="| median | |"
  for name in "${systems[@]}"; do
    cells+=" **$(values RATE "$name" | median %.0f)** · **$(values CPU "$name" | median %.2f)** |"
  done
  echo "$cells"
  echo
  baton_rate="$(values RATE baton | median %.0f)"
  baton_cpu="$(values CPU baton | median %.3f)"
  echo "Medians against Baton's (CPU: below 1, Baton spends less per task):"
  echo
  echo "| system | tasks/s | Baton/peer tasks/s | CPU ms/task | Baton/peer CPU per task |"
  echo "| --- | --- | --- | --- | --- |"
  for name in "${systems[@]}"; do
    rate="$(values RATE "$name" | median %.0f)"
    cpu="$(values CPU "$name" | median %.3f)"
    echo "| $(title "$name") | $rate | $(ratio "$baton_rate" "$rate") | $cpu | $(ratio "$baton_cpu" "$cpu") |"
  done
  if [ "$SKIP_BATON" != 1 ]; then
    echo
    echo "Baton, median of the runs: CreateTask p99 at 500/s $(lines "${RPC_P99[@]}" | median %.2f) ms;" \
      "created→started at 200/s p50 $(lines "${STARTED_P50[@]}" | median %.2f) ms, p99 $(lines "${STARTED_P99[@]}" | median %.2f) ms."
  fi
  echo
  echo "CPU seconds of each run by part (own: driver, producer and workers; servers: its broker or database):"
  echo
  for i in $(seq 1 "$RUNS"); do
    echo "- run $i: $(for name in "${systems[@]}"; do printf '%s %s; ' "$(title "$name")" "${PARTS[$name/$i]:-—}"; done | sed 's/; $//')"
  done
}

pkg_version() {
  "$VENV/bin/python" -c "import importlib.metadata as m; print(m.version('$1'))"
}

# --- main --------------------------------------------------------------------

main() {
  [[ "$RUNS" =~ ^[1-9][0-9]*$ ]] || die "RUNS must be a positive number, not '$RUNS'"
  [[ "$PEER_TASKS" =~ ^[1-9][0-9]*$ ]] || die "PEER_TASKS must be a positive number, not '$PEER_TASKS'"
  [[ "$CELERY_SQLA_TASKS" =~ ^[1-9][0-9]*$ ]] || die "CELERY_SQLA_TASKS must be a positive number, not '$CELERY_SQLA_TASKS'"
  local name
  for name in $PEERS; do title "$name" | grep -q . || die "unknown peer '$name' in PEERS"; done
  mkdir -p "$RUN"
  rm -f "$RUN"/*-[0-9]*.log "$RUN/result.md" # the last run's, lest they be read as this one's
  ensure_tools
  ensure_venv
  stop_leftover_workers
  stop_baton_watch
  trap cleanup EXIT
  trap 'exit 130' INT
  trap 'exit 143' TERM
  start_redis
  if wants procrastinate; then start_pg; fi
  if wants celery-sqla; then "$ROOT/scripts/dev-services.sh" start mysql; fi

  declare -gA RATE=() CPU=() PARTS=() TASKS=()
  declare -ga LOAD=() RPC_P99=() STARTED_P50=() STARTED_P99=()
  local i line cpu
  for i in $(seq 1 "$RUNS"); do
    LOAD[i]="$(cut -d' ' -f1-3 /proc/loadavg | tr ' ' /)"
    log "run $i of $RUNS (load $(cut -d' ' -f1-3 /proc/loadavg))"
    for name in $PEERS; do
      line="$(run_peer "$name" "$i")"
      RATE[$name/$i]="$(field "$line" e2e_per_s)"
      CPU[$name/$i]="$(field "$line" cpu_ms_per_task)"
      PARTS[$name/$i]="own $(field "$line" cpu_own_s) s, servers $(field "$line" cpu_servers_s) s"
      TASKS[$name]="$(field "$line" tasks)"
    done
    if [ "$SKIP_BATON" != 1 ]; then
      line="$(run_baton "$i")"
      cpu="$(sed -n 2p <<<"$line")"
      line="$(head -n 1 <<<"$line")"
      RATE[baton/$i]="$(field "$line" e2e_per_s)"
      CPU[baton/$i]="$(field "$cpu" cpu_ms_per_task)"
      PARTS[baton/$i]="nodes $(field "$cpu" nodes_s) s, Redis $(field "$cpu" redis_s) s, MariaDB $(field "$cpu" mysql_s) s, client $(field "$cpu" client_s) s"
      TASKS[baton]="$(field "$cpu" tasks)"
      RPC_P99[i]="$(field "$line" rpc_p99_ms_at500)"
      STARTED_P50[i]="$(field "$line" started_p50_ms_at200)"
      STARTED_P99[i]="$(field "$line" started_p99_ms_at200)"
    fi
  done

  report | tee "$RUN/result.md"
  log "table written to $RUN/result.md"
}

main "$@"
