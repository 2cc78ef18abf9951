#!/usr/bin/env bash
# A Redis Cluster of 3 masters and 3 replicas on loopback, as plain
# background processes under .run/ (never system services): for the
# cluster-mode tests and for trying `--redis redis-cluster://…` by hand.
#
#   scripts/redis-cluster.sh start|stop|status|url|owner KEY|kill-owner KEY|wait-ok
#
#   start          (re)starts all six from empty data; prints the redis-cluster:// URL
#   owner KEY      prints the port of the master that holds KEY's slot (for
#                  Baton: KEY `{<namespace>}`, the hash tag of every key)
#   kill-owner KEY kill -9 of that master (no shutdown, no last sync); prints its port
#   wait-ok        waits until every live node says cluster_state:ok
#
# A node is failed after cluster-node-timeout (1000 ms here), then its
# replica is elected: a failover takes about 2-3 s. cluster-require-full-coverage
# is off, so the other masters' slots (other namespaces) keep serving meanwhile.
#
# Environment (defaults: private ports, away from the dev Redis on 6379, the
# chaos suite's 6395 and the Sentinel test's 6381-6382):
#   BATON_CLUSTER_PORTS           six ports, the masters first (default "7101 … 7106")
#   BATON_CLUSTER_REDIS_PASSWORD  requirepass (and masterauth) of every node (default: none)
#   BATON_RUN_DIR                 everything goes under $BATON_RUN_DIR/redis-cluster (default .run)
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
RUN="${BATON_RUN_DIR:-$ROOT/.run}/redis-cluster"
read -r -a PORTS <<<"${BATON_CLUSTER_PORTS:-7101 7102 7103 7104 7105 7106}"
PASSWORD="${BATON_CLUSTER_REDIS_PASSWORD:-}"
export PATH="$PATH:/usr/sbin:/sbin"

log() { printf 'redis-cluster: %s\n' "$*" >&2; }

cli() { REDISCLI_AUTH="$PASSWORD" redis-cli -h 127.0.0.1 -p "$1" "${@:2}"; }

wait_port_closed() { # port
  for _ in $(seq 1 100); do
    cli "$1" ping >/dev/null 2>&1 || return 0
    sleep 0.1
  done
  return 1
}

# Stops a server by its own command, then by its pidfile: a kill -9'd one
# may linger as a zombie, so the port says whether it is gone, not the pid.
stop_one() { # port
  local port="$1" pidfile="$RUN/redis-$1.pid"
  if cli "$port" ping >/dev/null 2>&1; then
    cli "$port" shutdown nosave >/dev/null 2>&1 || true
    if ! wait_port_closed "$port" && [ -f "$pidfile" ]; then
      kill -9 "$(cat "$pidfile")" 2>/dev/null || true
      wait_port_closed "$port" || { log "port $port still answers"; exit 1; }
    fi
  fi
  rm -f "$pidfile"
}

stop_all() { for port in "${PORTS[@]}"; do stop_one "$port"; done; }

start_node() { # port
  local port="$1" auth=()
  [ -n "$PASSWORD" ] && auth=(--requirepass "$PASSWORD" --masterauth "$PASSWORD")
  # No disk at all: replicas sync over the socket at once (the default waits 5 s).
  redis-server --bind 127.0.0.1 --port "$port" --dir "$RUN" --dbfilename "dump-$port.rdb" \
    --daemonize yes --pidfile "$RUN/redis-$port.pid" --logfile "$RUN/redis-$port.log" \
    --save "" --appendonly no --maxmemory-policy noeviction \
    --repl-diskless-sync yes --repl-diskless-sync-delay 0 \
    --cluster-enabled yes --cluster-config-file "nodes-$port.conf" \
    --cluster-node-timeout 1000 --cluster-require-full-coverage no \
    "${auth[@]}" >/dev/null
}

wait_until() { # seconds description command…
  local tries=$(( $1 * 10 )) what="$2"; shift 2
  for _ in $(seq 1 "$tries"); do "$@" >/dev/null 2>&1 && return 0; sleep 0.1; done
  log "$what did not happen; logs in $RUN"; exit 1
}

live_ports() { for port in "${PORTS[@]}"; do cli "$port" ping >/dev/null 2>&1 && echo "$port"; done; return 0; }

# Every live node sees the cluster ok and every master has a linked replica
# (only then can a killed master fail over).
cluster_ok() {
  for port in $(live_ports); do
    cli "$port" cluster info | grep -q 'cluster_state:ok' || return 1
    if cli "$port" role | head -1 | grep -q slave; then
      cli "$port" info replication | grep -q 'master_link_status:up' || return 1
    fi
  done
}

# The port of the live master serving KEY's slot.
owner() { # key
  local any slot
  any=$(live_ports | sed -n 1p)
  slot=$(cli "$any" cluster keyslot "$1")
  cli "$any" cluster nodes | awk -v slot="$slot" '
    $3 ~ /master/ && $3 !~ /fail/ {
      for (i = 9; i <= NF; i++) {
        n = split($i, r, "-")
        lo = r[1]; hi = (n == 2 ? r[2] : r[1])
        if (lo ~ /^[0-9]+$/ && slot + 0 >= lo + 0 && slot + 0 <= hi + 0) { split($2, a, "@"); sub(/.*:/, "", a[1]); print a[1]; exit }
      }
    }'
}

url() {
  local hosts="" creds=""
  for port in "${PORTS[@]:0:3}"; do hosts="$hosts${hosts:+,}127.0.0.1:$port"; done
  [ -n "$PASSWORD" ] && creds=":$PASSWORD@"
  echo "redis-cluster://$creds$hosts"
}

case "${1:-}" in
  start)
    command -v redis-server >/dev/null || "$ROOT/scripts/dev-services.sh" install
    mkdir -p "$RUN"
    stop_all
    rm -f "$RUN"/nodes-*.conf "$RUN"/*.log "$RUN"/*.rdb
    for port in "${PORTS[@]}"; do start_node "$port"; done
    for port in "${PORTS[@]}"; do wait_until 5 "node $port up" cli "$port" ping; done
    nodes=(); for port in "${PORTS[@]}"; do nodes+=("127.0.0.1:$port"); done
    REDISCLI_AUTH="$PASSWORD" redis-cli --cluster create "${nodes[@]}" --cluster-replicas 1 --cluster-yes >"$RUN/create.log" 2>&1 \
      || { log "cluster create failed: $(tail -5 "$RUN/create.log")"; exit 1; }
    wait_until 30 "cluster ok with linked replicas" cluster_ok
    log "masters and replicas on ${PORTS[*]}"
    url ;;
  stop) stop_all; log "stopped" ;;
  status)
    for port in "${PORTS[@]}"; do
      echo "redis $port: $(cli "$port" role 2>/dev/null | head -1 || echo down) $(cli "$port" cluster info 2>/dev/null | grep cluster_state | tr -d '\r' || true)"
    done ;;
  url) url ;;
  owner) owner "${2:?key}" ;;
  kill-owner)
    port=$(owner "${2:?key}")
    [ -n "$port" ] || { log "no live master serves ${2}"; exit 1; }
    pid=$(cli "$port" info server | tr -d '\r' | sed -n 's/^process_id://p')
    kill -9 "$pid"
    log "killed the master of ${2} on $port (pid $pid)"
    echo "$port" ;;
  wait-ok) wait_until 30 "cluster ok" cluster_ok ;;
  *) echo "usage: $0 start|stop|status|url|owner KEY|kill-owner KEY|wait-ok" >&2; exit 2 ;;
esac
