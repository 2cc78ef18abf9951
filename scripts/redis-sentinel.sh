#!/usr/bin/env bash
# A Redis master, its replica and three Sentinels on loopback, as plain
# background processes under .run/ (never system services): for the
# Sentinel failover test and for trying `--redis sentinel://…` by hand.
#
#   scripts/redis-sentinel.sh start|stop|status|master|kill-master
#
#   start        (re)starts everything from empty data; prints the sentinel:// URL
#   master       prints the port of the master the Sentinels name now
#   kill-master  kill -9 of that master (no shutdown, no last sync); prints its port
#
# Environment (defaults: private ports, away from the dev Redis on 6379 and
# the chaos suite's 6395):
#   BATON_SENTINEL_REDIS_PORTS     data servers, master first  (default "6381 6382")
#   BATON_SENTINEL_PORTS           Sentinels                   (default "26381 26382 26383")
#   BATON_SENTINEL_MASTER          the master's name           (default baton)
#   BATON_SENTINEL_REDIS_PASSWORD  requirepass of the data servers (default: none)
#   BATON_SENTINEL_PASSWORD        requirepass of the Sentinels    (default: none)
#   BATON_RUN_DIR                  everything goes under $BATON_RUN_DIR/sentinel (default .run)
#   BATON_SENTINEL_TLS_DIR         TLS only, everywhere: a folder with ca.pem, server.pem and
#                                  server.key (a certificate for 127.0.0.1); the URL is sentinels://
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
RUN="${BATON_RUN_DIR:-$ROOT/.run}/sentinel"
read -r -a REDIS_PORTS <<<"${BATON_SENTINEL_REDIS_PORTS:-6381 6382}"
read -r -a SENTINEL_PORTS <<<"${BATON_SENTINEL_PORTS:-26381 26382 26383}"
MASTER="${BATON_SENTINEL_MASTER:-baton}"
REDIS_PASSWORD="${BATON_SENTINEL_REDIS_PASSWORD:-}"
SENTINEL_PASSWORD="${BATON_SENTINEL_PASSWORD:-}"
TLS_DIR="${BATON_SENTINEL_TLS_DIR:-}"
# redis-cli's TLS flags, when the servers speak TLS only.
TLS_CLI=()
[ -n "$TLS_DIR" ] && TLS_CLI=(--tls --cacert "$TLS_DIR/ca.pem")
export PATH="$PATH:/usr/sbin:/sbin"

log() { printf 'redis-sentinel: %s\n' "$*" >&2; }

data_cli() { REDISCLI_AUTH="$REDIS_PASSWORD" redis-cli "${TLS_CLI[@]}" -h 127.0.0.1 -p "$1" "${@:2}"; }
sentinel_cli() { REDISCLI_AUTH="$SENTINEL_PASSWORD" redis-cli "${TLS_CLI[@]}" -h 127.0.0.1 -p "$1" "${@:2}"; }

# A field of `SENTINEL master <name>` (alternating name and value lines).
master_field() { # sentinel-port field
  sentinel_cli "$1" sentinel master "$MASTER" 2>/dev/null | awk -v f="$2" 'previous == f { print; exit } { previous = $0 }'
}

wait_port_closed() { # port
  for _ in $(seq 1 100); do
    redis-cli "${TLS_CLI[@]}" -h 127.0.0.1 -p "$1" ping >/dev/null 2>&1 || return 0
    sleep 0.1
  done
  return 1
}

# Stops a server by its own command, then by its pidfile: a kill -9'd one
# may linger as a zombie, so the port says whether it is gone, not the pid.
stop_one() { # port pidfile cli
  local port="$1" pidfile="$2" cli="$3"
  if redis-cli "${TLS_CLI[@]}" -h 127.0.0.1 -p "$port" ping >/dev/null 2>&1 || $cli "$port" ping 2>/dev/null | grep -q PONG; then
    $cli "$port" shutdown nosave >/dev/null 2>&1 || $cli "$port" shutdown >/dev/null 2>&1 || true
    if ! wait_port_closed "$port" && [ -f "$pidfile" ]; then
      kill -9 "$(cat "$pidfile")" 2>/dev/null || true
      wait_port_closed "$port" || { log "port $port still answers"; exit 1; }
    fi
  fi
  rm -f "$pidfile"
}

stop_all() {
  for port in "${SENTINEL_PORTS[@]}"; do stop_one "$port" "$RUN/sentinel-$port.pid" sentinel_cli; done
  for port in "${REDIS_PORTS[@]}"; do stop_one "$port" "$RUN/redis-$port.pid" data_cli; done
}

# The TLS settings of a data server or a Sentinel, as `name value` lines:
# TLS on the one port, replication and Sentinel links included.
tls_settings() { # port
  echo "port 0"
  echo "tls-port $1"
  echo "tls-cert-file $TLS_DIR/server.pem"
  echo "tls-key-file $TLS_DIR/server.key"
  echo "tls-ca-cert-file $TLS_DIR/ca.pem"
  echo "tls-auth-clients no"
  echo "tls-replication yes"
}

start_data() { # port [master-port]
  local port="$1" auth=() tls=()
  [ -n "$REDIS_PASSWORD" ] && auth=(--requirepass "$REDIS_PASSWORD" --masterauth "$REDIS_PASSWORD")
  if [ -n "$TLS_DIR" ]; then
    while read -r name value; do tls+=("--$name" "$value"); done < <(tls_settings "$port")
  fi
  # No disk at all: the replica syncs over the socket at once (the default waits 5 s).
  redis-server --bind 127.0.0.1 --port "$port" --dir "$RUN" --dbfilename "dump-$port.rdb" \
    --daemonize yes --pidfile "$RUN/redis-$port.pid" --logfile "$RUN/redis-$port.log" \
    --save "" --appendonly no --maxmemory-policy noeviction \
    --repl-diskless-sync yes --repl-diskless-sync-delay 0 \
    ${2:+--replicaof 127.0.0.1 "$2"} "${auth[@]}" "${tls[@]}" >/dev/null
}

start_sentinel() { # port
  local port="$1" conf="$RUN/sentinel-$port.conf"
  # Sentinel rewrites its file as it learns replicas, peers and failovers.
  {
    echo "port $port"
    echo "bind 127.0.0.1"
    echo "daemonize yes"
    echo "pidfile $RUN/sentinel-$port.pid"
    echo "logfile $RUN/sentinel-$port.log"
    echo "dir $RUN"
    echo "sentinel monitor $MASTER 127.0.0.1 ${REDIS_PORTS[0]} 2"
    echo "sentinel down-after-milliseconds $MASTER 1000"
    echo "sentinel failover-timeout $MASTER 3000"
    echo "sentinel parallel-syncs $MASTER 1"
    [ -n "$REDIS_PASSWORD" ] && echo "sentinel auth-pass $MASTER $REDIS_PASSWORD"
    if [ -n "$SENTINEL_PASSWORD" ]; then
      echo "requirepass $SENTINEL_PASSWORD"
      echo "sentinel sentinel-pass $SENTINEL_PASSWORD"
    fi
    # Later lines win: `port 0` here replaces the plain port above.
    [ -n "$TLS_DIR" ] && tls_settings "$port"
  } >"$conf"
  redis-sentinel "$conf" >/dev/null
}

wait_until() { # seconds description command…
  local tries=$(( $1 * 10 )) what="$2"; shift 2
  for _ in $(seq 1 "$tries"); do "$@" >/dev/null 2>&1 && return 0; sleep 0.1; done
  log "$what did not happen; logs in $RUN"; exit 1
}

replica_linked() { data_cli "$1" info replication 2>/dev/null | grep -q 'master_link_status:up'; }

# Every Sentinel knows the replicas and the other Sentinels: only then can
# a quorum agree and one of them lead a failover.
sentinels_ready() {
  local replicas=$(( ${#REDIS_PORTS[@]} - 1 )) others=$(( ${#SENTINEL_PORTS[@]} - 1 ))
  for port in "${SENTINEL_PORTS[@]}"; do
    [ "$(master_field "$port" num-slaves)" = "$replicas" ] || return 1
    [ "$(master_field "$port" num-other-sentinels)" = "$others" ] || return 1
  done
}

current_master() {
  for port in "${SENTINEL_PORTS[@]}"; do
    local answer; answer=$(sentinel_cli "$port" sentinel get-master-addr-by-name "$MASTER" 2>/dev/null | sed -n 2p)
    [ -n "$answer" ] && { echo "$answer"; return 0; }
  done
  return 1
}

url() {
  local hosts="" creds="" query="" scheme=sentinel
  for port in "${SENTINEL_PORTS[@]}"; do hosts="$hosts${hosts:+,}127.0.0.1:$port"; done
  [ -n "$REDIS_PASSWORD" ] && creds=":$REDIS_PASSWORD@"
  [ -n "$SENTINEL_PASSWORD" ] && query="?sentinel_password=$SENTINEL_PASSWORD"
  if [ -n "$TLS_DIR" ]; then scheme=sentinels; query="${query:-?}${query:+&}ca=$TLS_DIR/ca.pem"; fi
  echo "$scheme://$creds$hosts/$MASTER$query"
}

case "${1:-}" in
  start)
    # What is missing (redis-sentinel among it) is apt-got as for the dev services.
    command -v redis-sentinel >/dev/null || "$ROOT/scripts/dev-services.sh" install
    mkdir -p "$RUN"
    stop_all
    rm -f "$RUN"/*.conf "$RUN"/*.log
    start_data "${REDIS_PORTS[0]}"
    wait_until 5 "master up" data_cli "${REDIS_PORTS[0]}" ping
    for port in "${REDIS_PORTS[@]:1}"; do start_data "$port" "${REDIS_PORTS[0]}"; done
    for port in "${REDIS_PORTS[@]:1}"; do wait_until 10 "replica $port linked" replica_linked "$port"; done
    for port in "${SENTINEL_PORTS[@]}"; do start_sentinel "$port"; done
    wait_until 30 "Sentinels discovering each other" sentinels_ready
    log "master ${REDIS_PORTS[0]}, replicas ${REDIS_PORTS[*]:1}, Sentinels ${SENTINEL_PORTS[*]}"
    url ;;
  stop) stop_all; log "stopped" ;;
  status)
    for port in "${REDIS_PORTS[@]}"; do
      echo "redis $port: $(data_cli "$port" role 2>/dev/null | head -1 || true)"
    done
    for port in "${SENTINEL_PORTS[@]}"; do echo "sentinel $port: $(sentinel_cli "$port" ping 2>/dev/null || echo down)"; done ;;
  master) current_master | sed 's/.*://' ;;
  kill-master)
    port=$(current_master)
    pid=$(data_cli "$port" info server | tr -d '\r' | sed -n 's/^process_id://p')
    kill -9 "$pid"
    log "killed the master on $port (pid $pid)"
    echo "$port" ;;
  *) echo "usage: $0 start|stop|status|master|kill-master" >&2; exit 2 ;;
esac
