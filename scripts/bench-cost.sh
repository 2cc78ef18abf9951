#!/usr/bin/env bash
# Machine-independent cost per task (`make bench-cost`; docs/benchmarks.md,
# "Cost per task"): instructions the Baton node and MariaDB execute for each
# noop task, counted by valgrind's callgrind (perf cannot count instructions
# on this VM, and instruction counts do not move with the machine's load).
#
#   scripts/bench-cost.sh
#
# One node (API, leader and worker in one process; gRPC 19191, HTTP 18181)
# and a private MariaDB (127.0.0.1:3397) both run under callgrind with
# instrumentation off; a private Redis (127.0.0.1:6397) runs natively. After
# a warm-up (migrations, first connections, caches), instrumentation goes on:
# first an idle phase (timers, heartbeats, leader renewals: the background
# cost per second), then the measured phase: COST_TASKS noop tasks created
# with BatchCreateTasks calls of 500 and run to completion. Each phase is
# dumped on its own (callgrind_control -d). Everything lives under .run/cost:
# logs, callgrind files, node-top.txt / mariadbd-top.txt (top functions).
#
# It runs the release binaries as they are (`make release` builds them);
# it builds nothing.
#
# Environment:
#   COST_TASKS          tasks in the measured phase (default 5000)
#   COST_WARMUP         tasks of the warm-up (default 200)
#   COST_IDLE_SECONDS   length of the idle phase (default 10; 0 skips it)
#   COST_CAPACITY       the node's --capacity (default 10, the node's default, as `make bench`)
#   BATON_NODE_ARGS     more flags for the node
#   COST_TIME_SCALE     how much longer the node's time windows are made
#                       under callgrind (default 20; 1: as at full speed).
#                       Everything runs ~60x slower there, so a task that
#                       ends within the deferred-start window (250 ms) or
#                       leaves its worker's queue before the SCHEDULED mark
#                       (500 ms) at full speed would not, nor outlast the
#                       task log's quiet window (1 s: its "started" line
#                       written): without the scale the count is of code
#                       paths the node does not take.
#   BATON_NODE_BIN      default .build/release/baton-node
#   BATON_CLIENT_BIN    default .build/release/baton-client (creates and waits)
#   BATON_MYSQL_FLUSH   innodb_flush_log_at_trx_commit (default 2, as dev-services.sh)
#   COST_MYSQL_ARGS     more mariadbd flags (a setting measured on its own)
#   COST_START_TIMEOUT  seconds MariaDB and the node may take to start under valgrind (default 600)
#   COST_RUN_TIMEOUT    seconds the measured phase may take (default 60 + COST_TASKS / 5)
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$ROOT"
export PATH="$PATH:/usr/sbin:/sbin:/opt/swift/usr/bin"

COST_TASKS="${COST_TASKS:-5000}"
COST_TIME_SCALE="${COST_TIME_SCALE:-20}"
COST_WARMUP="${COST_WARMUP:-200}"
COST_IDLE_SECONDS="${COST_IDLE_SECONDS:-10}"
COST_CAPACITY="${COST_CAPACITY:-10}"
START_TIMEOUT="${COST_START_TIMEOUT:-600}"
for setting in COST_TASKS COST_WARMUP COST_CAPACITY COST_IDLE_SECONDS START_TIMEOUT; do
  [[ "${!setting}" =~ ^[0-9]+$ ]] || { echo "bench-cost: $setting must be a number" >&2; exit 2; }
done
if [ "$COST_TASKS" -eq 0 ] || [ "$COST_WARMUP" -eq 0 ]; then
  echo "bench-cost: COST_TASKS and COST_WARMUP must be positive" >&2; exit 2
fi
RUN_TIMEOUT="${COST_RUN_TIMEOUT:-$((60 + COST_TASKS / 5))}"
NODE_BIN="${BATON_NODE_BIN:-$ROOT/.build/release/baton-node}"
CLIENT_BIN="${BATON_CLIENT_BIN:-$ROOT/.build/release/baton-client}"

RUN="$ROOT/.run/cost"
REDIS_PORT=6397
MYSQL_PORT=3397
GRPC_PORT=19191
HTTP_PORT=18181
MYSQL_DIR="$RUN/mysql"
MYSQL_SOCKET="$MYSQL_DIR/mysqld.sock"
MYSQL_PASSWORD=baton-cost
SERVER="127.0.0.1:$GRPC_PORT"

NODE_PID=""
MYSQL_PID=""
REDIS_STARTED=""

log() { printf 'bench-cost: %s\n' "$*" >&2; }
fail() { log "FAILED: $*"; exit 1; }

for tool in valgrind objcopy callgrind_control callgrind_annotate redis-server redis-cli mariadbd mariadb-install-db mariadb-admin mariadb curl; do
  command -v "$tool" >/dev/null || fail "$tool not found"
done
[ -x "$NODE_BIN" ] || fail "$NODE_BIN missing (make release builds it)"
[ -x "$CLIENT_BIN" ] || fail "$CLIENT_BIN missing (make release builds it)"

alive() { [ -n "$1" ] && kill -0 "$1" 2>/dev/null; }

# wait_until SECONDS WHAT PID LOGS CHECK…: polls CHECK every 0.5 s; fails
# with the tail of LOGS (space-separated paths) when PID exits or time runs out.
wait_until() {
  local seconds="$1" what="$2" pid="$3" logs="$4"; shift 4
  local deadline=$((SECONDS + seconds)) problem=""
  until "$@" >/dev/null 2>&1; do
    if [ -n "$pid" ] && ! alive "$pid"; then problem="process $pid exited"
    elif [ "$SECONDS" -ge "$deadline" ]; then problem="not done after ${seconds}s"; fi
    if [ -n "$problem" ]; then
      log "$what: $problem; last lines of $logs:"
      # shellcheck disable=SC2086
      tail -n 30 $logs >&2 || true
      exit 1
    fi
    sleep 0.5
  done
}

# wait_gone PID SECONDS: waits for PID to exit; kills it after SECONDS.
wait_gone() {
  local pid="$1" deadline=$((SECONDS + $2))
  while alive "$pid"; do
    # A process that exited but is not reaped yet (not our child) shows as Z.
    [ "$(ps -o stat= -p "$pid" 2>/dev/null | cut -c1)" = Z ] && return 0
    [ "$SECONDS" -ge "$deadline" ] && { log "pid $pid did not stop in $2 s; killing it"; kill -9 "$pid" 2>/dev/null || true; return 1; }
    sleep 0.5
  done
}

stop_node() {
  alive "$NODE_PID" || return 0
  kill -TERM "$NODE_PID" 2>/dev/null || true
  wait_gone "$NODE_PID" 180 || true
  wait "$NODE_PID" 2>/dev/null || true
  NODE_PID=""
}

stop_mysql() {
  alive "$MYSQL_PID" || return 0
  mariadb-admin --no-defaults --socket="$MYSQL_SOCKET" -uroot shutdown >/dev/null 2>&1 || kill -TERM "$MYSQL_PID" 2>/dev/null || true
  wait_gone "$MYSQL_PID" 120 || true
  wait "$MYSQL_PID" 2>/dev/null || true
  MYSQL_PID=""
}

stop_redis() {
  [ -n "$REDIS_STARTED" ] || return 0
  local pid; pid=$(cat "$RUN/redis/redis.pid" 2>/dev/null || true)
  redis-cli -p "$REDIS_PORT" shutdown nosave >/dev/null 2>&1 || { [ -n "$pid" ] && kill -TERM "$pid" 2>/dev/null; } || true
  if [ -n "$pid" ]; then wait_gone "$pid" 30 || true; fi
  REDIS_STARTED=""
}

cleanup() {
  local status=$?
  trap - EXIT INT TERM
  stop_node; stop_mysql; stop_redis
  exit "$status"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

# Nothing of ours may be left from an earlier run, and the ports must be free.
for port in $REDIS_PORT $MYSQL_PORT $GRPC_PORT $HTTP_PORT; do
  if (exec 3<>"/dev/tcp/127.0.0.1/$port") 2>/dev/null; then
    fail "port $port is in use (an earlier run still going?)"
  fi
done
rm -rf "$RUN"
mkdir -p "$RUN/redis" "$MYSQL_DIR" "$RUN/logs"

# --- Redis (natively: it is not measured) ------------------------------------
redis-server --bind 127.0.0.1 --port "$REDIS_PORT" --dir "$RUN/redis" \
  --daemonize yes --pidfile "$RUN/redis/redis.pid" --logfile "$RUN/redis/redis.log" \
  --save "" --appendonly no --maxclients 10000 >/dev/null
REDIS_STARTED=1
wait_until 10 "Redis" "" "$RUN/redis/redis.log" sh -c "redis-cli -p $REDIS_PORT ping | grep -q PONG"
log "Redis up on 127.0.0.1:$REDIS_PORT"

# --- MariaDB under callgrind -------------------------------------------------
T0=$SECONDS
mariadb-install-db --no-defaults --datadir="$MYSQL_DIR/data" --user="$(id -un)" \
  --auth-root-authentication-method=normal --skip-test-db --skip-name-resolve >"$MYSQL_DIR/install.log" 2>&1 \
  || { tail -20 "$MYSQL_DIR/install.log" >&2; fail "mariadb-install-db"; }
# The settings of scripts/dev-services.sh (dev tuning; production keeps
# innodb_flush_log_at_trx_commit=1), and two that valgrind needs:
# --innodb-use-native-aio=0 (under valgrind 3.19 InnoDB's io_uring start
# never completes: it hangs after "Using io_uring"; InnoDB then does its I/O
# with synchronous calls) and --innodb-buffer-pool-size-max=256M (the default
# reserves 8 TB of address space, which valgrind cannot map).
valgrind --tool=callgrind --instr-atstart=no --callgrind-out-file="$RUN/mariadbd.%p.out" --log-file="$RUN/mariadbd.valgrind.log" \
  mariadbd --no-defaults --user="$(id -un)" --datadir="$MYSQL_DIR/data" \
  --bind-address=127.0.0.1 --port="$MYSQL_PORT" --socket="$MYSQL_SOCKET" \
  --pid-file="$MYSQL_DIR/mysqld.pid" --log-error="$MYSQL_DIR/error.log" \
  --skip-name-resolve --max-connections=1000 \
  --innodb-buffer-pool-size=256M --innodb-log-file-size=256M \
  --innodb-flush-log-at-trx-commit="${BATON_MYSQL_FLUSH:-2}" \
  --innodb-doublewrite=0 --innodb-purge-threads=1 \
  --innodb-use-native-aio=0 --innodb-buffer-pool-size-max=256M \
  --character-set-server=utf8mb4 --collation-server=utf8mb4_bin ${COST_MYSQL_ARGS:-} \
  >"$MYSQL_DIR/stdout.log" 2>&1 &
MYSQL_PID=$!
log "MariaDB starting under callgrind (pid $MYSQL_PID)"
wait_until "$START_TIMEOUT" "MariaDB start" "$MYSQL_PID" "$MYSQL_DIR/error.log" \
  mariadb-admin --no-defaults --socket="$MYSQL_SOCKET" -uroot ping
mariadb --no-defaults --socket="$MYSQL_SOCKET" -uroot <<SQL
CREATE DATABASE IF NOT EXISTS baton CHARACTER SET utf8mb4 COLLATE utf8mb4_bin;
CREATE USER IF NOT EXISTS 'baton'@'127.0.0.1' IDENTIFIED BY '$MYSQL_PASSWORD';
GRANT ALL PRIVILEGES ON baton.* TO 'baton'@'127.0.0.1';
SQL
log "MariaDB up on 127.0.0.1:$MYSQL_PORT after $((SECONDS - T0)) s"

# --- the node under callgrind ------------------------------------------------
# Generous TTLs: under valgrind (threads run one at a time, several times slower) a
# heartbeat or lock renewal can be late without anything being wrong.
# valgrind 3.19 cannot read the DWARF 5 the Swift toolchain writes ("unhandled
# dwarf2 abbrev form code 0x25 … I can't recover"): the node runs from a copy
# without debug sections. Same code; the symbol table stays, so callgrind
# still names every function (no source lines).
#
# And valgrind 3.19's rt_sigsuspend writes to the caller's signal mask, which
# libdispatch keeps in read-only memory (_dispatch_sigsuspend.mask): valgrind
# dies at once ("VALGRIND INTERNAL ERROR: … SIGSEGV"). A preloaded
# sigsuspend() that passes a copy of the mask works around it; it runs only
# in libdispatch's signal thread, which sleeps in it for good.
mkdir -p "$RUN/bin"
objcopy --strip-debug "$NODE_BIN" "$RUN/bin/baton-node" || fail "objcopy --strip-debug $NODE_BIN"
cat >"$RUN/bin/sigsuspend-copy.c" <<'C'
#define _GNU_SOURCE
#include <dlfcn.h>
#include <signal.h>
int sigsuspend(const sigset_t *mask) {
    static int (*real)(const sigset_t *);
    if (!real) real = (int (*)(const sigset_t *))dlsym(RTLD_NEXT, "sigsuspend");
    sigset_t copy = *mask;
    return real(&copy);
}
C
"${CC:-cc}" -shared -fPIC -O2 -o "$RUN/bin/sigsuspend-copy.so" "$RUN/bin/sigsuspend-copy.c" -ldl \
  || fail "compiling $RUN/bin/sigsuspend-copy.c (set CC to a C compiler)"
T0=$SECONDS
# shellcheck disable=SC2206
EXTRA=(${BATON_NODE_ARGS:-})
LD_PRELOAD="$RUN/bin/sigsuspend-copy.so" \
  valgrind --tool=callgrind --instr-atstart=no --callgrind-out-file="$RUN/node.%p.out" --log-file="$RUN/node.valgrind.log" \
  "$RUN/bin/baton-node" --id cost-1 --grpc-port "$GRPC_PORT" --worker-port "$HTTP_PORT" \
  --redis "redis://127.0.0.1:$REDIS_PORT" --mysql "mysql://baton:$MYSQL_PASSWORD@127.0.0.1:$MYSQL_PORT/baton" \
  --migrations "$ROOT/sql" --log-dir "$RUN/logs/files" --capacity "$COST_CAPACITY" \
  --heartbeat-ttl 60 --lock-ttl 60 \
  --start-write-after-ms $((250 * COST_TIME_SCALE)) --scheduled-mark-delay-ms $((500 * COST_TIME_SCALE)) --quiet-log-window-ms $((1000 * COST_TIME_SCALE)) "${EXTRA[@]}" \
  >"$RUN/logs/node.log" 2>&1 &
NODE_PID=$!
log "node starting under callgrind (pid $NODE_PID)"
wait_until "$START_TIMEOUT" "node start" "$NODE_PID" "$RUN/logs/node.log $RUN/node.valgrind.log" \
  curl -fsS -m 5 "http://127.0.0.1:$HTTP_PORT/ready"
log "node ready after $((SECONDS - T0)) s"

# noop tasks in one of STATUSES (comma-separated): prints at most one.
any_task() {
  "$CLIENT_BIN" list --server "$SERVER" --status "$1" --type noop --limit 1 --jsonl 2>>"$RUN/logs/client.log" \
    || { tail -5 "$RUN/logs/client.log" >&2; fail "ListTasks --status $1"; }
}

# run_tasks N SECONDS: creates N noop tasks (BatchCreateTasks calls of 500,
# one connection), waits for the last one (a stream, no polling), then until
# no noop task is unfinished (a ListTasks each second; the newest task
# finishing last is the usual case, so this rarely runs more than once).
run_tasks() {
  local count="$1" seconds="$2" deadline=$((SECONDS + $2)) last left
  timeout "$seconds" "$CLIENT_BIN" batch noop --count "$count" --server "$SERVER" --jsonl \
    >"$RUN/batch.jsonl" 2>>"$RUN/logs/client.log" || { tail -5 "$RUN/logs/client.log" >&2; fail "creating $count tasks"; }
  [ "$(wc -l <"$RUN/batch.jsonl")" -eq "$count" ] || fail "created $(wc -l <"$RUN/batch.jsonl") tasks, not $count"
  last=$(tail -n 1 "$RUN/batch.jsonl" | sed -n 's/.*"taskId": *"\([^"]*\)".*/\1/p')
  [ -n "$last" ] || fail "no task id in the batch output ($RUN/batch.jsonl)"
  timeout "$seconds" "$CLIENT_BIN" wait "$last" --timeout "$seconds" --server "$SERVER" >/dev/null 2>>"$RUN/logs/client.log" \
    || { tail -5 "$RUN/logs/client.log" >&2; tail -20 "$RUN/logs/node.log" >&2; fail "task $last did not succeed within ${seconds}s"; }
  while :; do
    left=$(any_task pending,queued,scheduled,running,retrying)
    [ -z "$left" ] && break
    [ "$SECONDS" -ge "$deadline" ] && { tail -20 "$RUN/logs/node.log" >&2; fail "tasks still unfinished after ${seconds}s"; }
    alive "$NODE_PID" || fail "the node exited"
    sleep 1
  done
}

# callgrind_control CMD for both processes (it talks to them through vgdb).
control() {
  local pid
  for pid in "$NODE_PID" "$MYSQL_PID"; do
    timeout 120 callgrind_control "$@" "$pid" >>"$RUN/callgrind_control.log" 2>&1 || fail "callgrind_control $* $pid (see $RUN/callgrind_control.log)"
  done
}

# Instructions in dump N of a process: its `totals:` line (the sum of every
# cost in the file). callgrind 3.19 writes a wrong `summary:` into every dump
# after the first (2^64 minus the previous dump's count), which
# callgrind_annotate would show as PROGRAM TOTALS: it is set to the totals.
dump_total() { # prefix pid n
  local file="$RUN/$1.$2.out.$3" total
  [ -f "$file" ] || fail "no callgrind dump $file"
  total=$(awk '/^totals:/ { print $2; exit }' "$file")
  [ -n "$total" ] || total=$(awk '/^summary:/ { print $2; exit }' "$file")
  [ -n "$total" ] || fail "no totals in $file"
  sed -i "s/^summary: .*/summary: $total/" "$file"
  echo "$total"
}

# --- warm-up -----------------------------------------------------------------
T0=$SECONDS
log "warm-up: $COST_WARMUP tasks"
run_tasks "$COST_WARMUP" "$START_TIMEOUT"
log "warm-up done in $((SECONDS - T0)) s"

# --- idle phase, then the measured phase --------------------------------------
control -i on
DUMP=0
if [ "$COST_IDLE_SECONDS" -gt 0 ]; then
  log "idle phase: $COST_IDLE_SECONDS s"
  IDLE_START=$(date +%s.%N)
  sleep "$COST_IDLE_SECONDS"
  control -d
  IDLE_SECONDS=$(echo "$(date +%s.%N) - $IDLE_START" | bc)
  DUMP=$((DUMP + 1)); IDLE_DUMP=$DUMP
fi
# MariaDB's statement and row counters: what each task asked of it (rows
# changed per task say which writes landed; a no-op UPDATE reads, changes nothing).
counters() {
  mariadb --no-defaults --socket="$MYSQL_SOCKET" -uroot -N -e "SHOW GLOBAL STATUS WHERE Variable_name IN
    ('Com_stmt_prepare','Com_stmt_execute','Com_insert','Com_update','Com_select','Com_delete','Handler_write','Handler_update','Handler_delete','Handler_read_key')"
}
log "measured phase: $COST_TASKS tasks (at most ${RUN_TIMEOUT}s)"
counters >"$RUN/counters.before"
START=$(date +%s.%N)
run_tasks "$COST_TASKS" "$RUN_TIMEOUT"
control -i off
counters >"$RUN/counters.after"
MEASURED_SECONDS=$(echo "$(date +%s.%N) - $START" | bc)
control -d
# Every task must have succeeded, or the cost is not that of a noop task.
not_succeeded=$(any_task failed,cancelled,timeout)
[ -z "$not_succeeded" ] || fail "some noop tasks did not succeed, e.g. $not_succeeded"
DUMP=$((DUMP + 1)); MEASURED_DUMP=$DUMP

log "stopping the node and MariaDB"
node_pid=$NODE_PID mysql_pid=$MYSQL_PID
stop_node; stop_mysql

# --- figures -----------------------------------------------------------------
node_total=$(dump_total node "$node_pid" "$MEASURED_DUMP")
mysql_total=$(dump_total mariadbd "$mysql_pid" "$MEASURED_DUMP")
node_per_task=$((node_total / COST_TASKS))
mysql_per_task=$((mysql_total / COST_TASKS))
commas() { echo "$1" | sed ':a; s/\B[0-9]\{3\}\>/,&/; ta'; }
idle_fields=""
idle_text=""
if [ -n "${IDLE_DUMP:-}" ]; then
  node_idle=$(dump_total node "$node_pid" "$IDLE_DUMP")
  mysql_idle=$(dump_total mariadbd "$mysql_pid" "$IDLE_DUMP")
  node_idle_per_s=$(echo "$node_idle / $IDLE_SECONDS" | bc)
  mysql_idle_per_s=$(echo "$mysql_idle / $IDLE_SECONDS" | bc)
  # What is left once the background work of the same length is taken off.
  node_net=$(echo "($node_total - $node_idle_per_s * $MEASURED_SECONDS) / $COST_TASKS" | bc)
  mysql_net=$(echo "($mysql_total - $mysql_idle_per_s * $MEASURED_SECONDS) / $COST_TASKS" | bc)
  idle_fields=" node_idle_instr_per_s=$node_idle_per_s mariadbd_idle_instr_per_s=$mysql_idle_per_s node_net_instr_per_task=$node_net mariadbd_net_instr_per_task=$mysql_net"
  idle_text="; idle: node $(commas "$node_idle_per_s") instr/s, MariaDB $(commas "$mysql_idle_per_s") instr/s; net of idle: node $(commas "$node_net"), MariaDB $(commas "$mysql_net") instr/task"
fi

# Where the instructions go: by shared object (self cost), the top functions
# by self cost (where they are executed) and by inclusive cost (what for; the
# runtime's async plumbing tops that list, so also the top of Baton's own
# functions), Swift names demangled.
demangle() { if command -v swift-demangle >/dev/null; then swift-demangle --simplified; else cat; fi; }
by_object() { # callgrind file: self cost per object (ob=), biggest first
  awk '
    /^c?ob=/ {
      s = $0; sub(/^c?ob=/, "", s); current = s
      if (match(s, /^\([0-9]+\)/)) { id = substr(s, RSTART, RLENGTH); rest = substr(s, RLENGTH + 2); if (rest != "") name[id] = rest; current = name[id] }
      if ($0 ~ /^ob=/) object = current
      next
    }
    /^calls=/ { inclusive_line = 1; next }
    /^[0-9+*-]/ { if (inclusive_line) { inclusive_line = 0; next } cost[object] += $2; total += $2 }
    END { for (o in cost) printf "%15.0f %6.2f%%  %s\n", cost[o], 100 * cost[o] / total, o }' "$1" | sort -rn
}
top_functions() { # prefix pid out
  local file="$RUN/$1.$2.out.$MEASURED_DUMP"
  annotate() { callgrind_annotate --auto=no --threshold=100 "$@" "$file" 2>/dev/null; }
  entries() { awk -v pattern="$1" '/^ *[0-9][0-9,]* \(/ && $0 ~ pattern && !/PROGRAM TOTALS/ && shown < 15 { print; shown++ }'; }
  {
    echo "# $1: the measured phase ($COST_TASKS tasks), $file"
    annotate | grep "PROGRAM TOTALS"
    echo; echo "## by object (self cost)"
    by_object "$file"
    echo; echo "## top 15 functions by self cost"
    annotate --inclusive=no | entries . | demangle
    echo; echo "## top 15 functions by inclusive cost (recursion counts twice: above 100 % is possible)"
    annotate --inclusive=yes | entries . | demangle
    if [ "$1" = node ]; then
      echo; echo "## top 15 of Baton's own functions by inclusive cost"
      annotate --inclusive=yes | entries '[$]s[0-9]+Baton' | demangle
    fi
  } >"$3"
}
top_functions node "$node_pid" "$RUN/node-top.txt"
top_functions mariadbd "$mysql_pid" "$RUN/mariadbd-top.txt"

echo "COST node_instr_per_task=$node_per_task mariadbd_instr_per_task=$mysql_per_task tasks=$COST_TASKS seconds=$MEASURED_SECONDS$idle_fields"
printf "cost per noop task: node %s instructions, MariaDB %s (%d tasks in %.1f s under callgrind%s)\n" \
  "$(commas "$node_per_task")" "$(commas "$mysql_per_task")" "$COST_TASKS" "$MEASURED_SECONDS" "$idle_text"
echo "MariaDB per task: $(join "$RUN/counters.before" "$RUN/counters.after" | awk -v n="$COST_TASKS" '{ printf "%s%s=%.2f", sep, $1, ($3 - $2) / n; sep = " " }')"
log "top functions: $RUN/node-top.txt, $RUN/mariadbd-top.txt"
