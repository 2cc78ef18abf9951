#!/usr/bin/env bash
# Local Redis and MariaDB for development and tests, as plain background
# processes with everything under .run/ (never system services).
#
#   scripts/dev-services.sh start|stop|status|install
#
# Environment:
#   REDIS_ADDR / MYSQL_DSN   use these servers when they already answer
#   BATON_REDIS_PORT         local Redis port   (default 6379)
#   BATON_MYSQL_PORT         local MariaDB port (default 3306)
#   BATON_MYSQL_PASSWORD     password of the `baton` user (default: a dev value)
#   BATON_RUN_DIR            where data, sockets, pids and logs go (default .run)
#   BATON_MYSQL_SSL_DIR      a folder with ca.pem, server.pem, server.key: MariaDB offers TLS
#   BATON_MYSQL_DURABLE=1    durable commits (flush the log at each commit, doublewrite on),
#                            as production runs; the default trades them for speed
#
# `start redis|mysql` and `stop redis|mysql` handle one server (tests use them
# to stop and restart a private server).
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
RUN="${BATON_RUN_DIR:-$ROOT/.run}"
REDIS_PORT="${BATON_REDIS_PORT:-6379}"
MYSQL_PORT="${BATON_MYSQL_PORT:-3306}"
MYSQL_PASSWORD="${BATON_MYSQL_PASSWORD:-baton-dev-password}"
MYSQL_SOCKET="$RUN/mysql/mysqld.sock"
export PATH="$PATH:/usr/sbin:/sbin"

log() { printf 'dev-services: %s\n' "$*" >&2; }

as_root() {
  if [ "$(id -u)" = 0 ]; then "$@"; else sudo "$@"; fi
}

install_missing() {
  local missing=()
  command -v redis-server >/dev/null || missing+=(redis-server)
  command -v redis-cli >/dev/null || missing+=(redis-tools)
  command -v mariadbd >/dev/null || missing+=(mariadb-server-core)
  command -v mariadb >/dev/null || missing+=(mariadb-client)
  pkg-config --exists hiredis 2>/dev/null || missing+=(libhiredis-dev)
  pkg-config --exists libmariadb 2>/dev/null || missing+=(libmariadb-dev)
  # OpenSSL for rediss:// (Sources/COpenSSL).
  pkg-config --exists openssl 2>/dev/null || missing+=(libssl-dev)
  command -v pkg-config >/dev/null || missing+=(pkg-config)
  command -v protoc >/dev/null || missing+=(protobuf-compiler)
  [ -f /usr/include/google/protobuf/timestamp.proto ] || missing+=(libprotobuf-dev)
  command -v openssl >/dev/null || missing+=(openssl)
  command -v curl >/dev/null || missing+=(curl ca-certificates)
  [ -f /usr/include/zlib.h ] || missing+=(zlib1g-dev)
  command -v faketime >/dev/null || missing+=(faketime)
  # For the Sentinel failover tests (scripts/redis-sentinel.sh).
  command -v redis-sentinel >/dev/null || missing+=(redis-sentinel)
  # promtool and prometheus for deploy/prometheus (make deploy-check, make prometheus-tests).
  command -v promtool >/dev/null || missing+=(prometheus)
  if [ ${#missing[@]} -gt 0 ]; then
    log "installing ${missing[*]}"
    as_root env DEBIAN_FRONTEND=noninteractive apt-get update -qq
    as_root env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
  fi
}

# --- Redis -------------------------------------------------------------------

redis_answers() { # url
  redis-cli -u "$1" ping 2>/dev/null | grep -q PONG
}

start_redis() {
  if [ -n "${REDIS_ADDR:-}" ] && redis_answers "$REDIS_ADDR"; then
    log "using Redis at REDIS_ADDR"
    return
  fi
  if redis_answers "redis://127.0.0.1:$REDIS_PORT"; then
    log "Redis already answers on 127.0.0.1:$REDIS_PORT"
    return
  fi
  mkdir -p "$RUN/redis"
  redis-server --bind 127.0.0.1 --port "$REDIS_PORT" --dir "$RUN/redis" \
    --daemonize yes --pidfile "$RUN/redis/redis.pid" --logfile "$RUN/redis/redis.log" \
    --save "" --appendonly no --maxclients 10000 >/dev/null
  for _ in $(seq 1 100); do
    redis_answers "redis://127.0.0.1:$REDIS_PORT" && { log "Redis up on 127.0.0.1:$REDIS_PORT"; return; }
    sleep 0.05
  done
  log "Redis did not start; see $RUN/redis/redis.log"
  exit 1
}

stop_redis() {
  local pidfile="$RUN/redis/redis.pid"
  [ -f "$pidfile" ] || return 0
  local pid; pid=$(cat "$pidfile")
  if kill -0 "$pid" 2>/dev/null; then
    redis-cli -p "$REDIS_PORT" shutdown nosave >/dev/null 2>&1 || kill "$pid" 2>/dev/null || true
  fi
  wait_gone "$pidfile" "$pid"
  log "Redis stopped"
}

# --- MariaDB -----------------------------------------------------------------

mysql_root() { mariadb --no-defaults --socket="$MYSQL_SOCKET" -uroot "$@"; }

dsn_answers() { # mysql://user:password@host:port/db
  local rest="${1#*://}" creds hostport user pass host port
  creds="${rest%%@*}"; hostport="${rest#*@}"; hostport="${hostport%%/*}"
  user="${creds%%:*}"; pass="${creds#*:}"
  host="${hostport%%:*}"; port="${hostport##*:}"; [ "$port" = "$hostport" ] && port=3306
  MYSQL_PWD="$pass" mariadb --no-defaults -h "$host" -P "$port" -u "$user" -e 'SELECT 1' >/dev/null 2>&1
}

start_mysql() {
  if [ -n "${MYSQL_DSN:-}" ] && dsn_answers "$MYSQL_DSN"; then
    log "using MariaDB at MYSQL_DSN"
    return
  fi
  if [ -S "$MYSQL_SOCKET" ] && mariadb-admin --no-defaults --socket="$MYSQL_SOCKET" -uroot ping >/dev/null 2>&1; then
    log "MariaDB already running on 127.0.0.1:$MYSQL_PORT"
  elif dsn_answers "mysql://baton:$MYSQL_PASSWORD@127.0.0.1:$MYSQL_PORT/baton_test"; then
    # Another checkout's server on the same port, already set up for Baton.
    log "using the MariaDB that already answers on 127.0.0.1:$MYSQL_PORT"
    return
  else
    mkdir -p "$RUN/mysql"
    if [ ! -d "$RUN/mysql/data/mysql" ]; then
      log "initialising MariaDB data in $RUN/mysql/data"
      mariadb-install-db --no-defaults --datadir="$RUN/mysql/data" --user="$(id -un)" \
        --auth-root-authentication-method=normal --skip-test-db --skip-name-resolve >"$RUN/mysql/install.log" 2>&1
    fi
    # Dev and CI tuning: durability of each commit is not at stake on a
    # throwaway server; production keeps innodb_flush_log_at_trx_commit=1
    # and doublewrite on (BATON_MYSQL_DURABLE=1, `make bench-durable`).
    local flush=2 doublewrite=0
    if [ -n "${BATON_MYSQL_DURABLE:-}" ]; then flush=1; doublewrite=1; fi
    nohup mariadbd --no-defaults --user="$(id -un)" --datadir="$RUN/mysql/data" \
      --bind-address=127.0.0.1 --port="$MYSQL_PORT" --socket="$MYSQL_SOCKET" \
      --pid-file="$RUN/mysql/mysqld.pid" --log-error="$RUN/mysql/error.log" \
      --skip-name-resolve --max-connections=1000 \
      --innodb-buffer-pool-size=256M --innodb-log-file-size=256M \
      --innodb-flush-log-at-trx-commit="${BATON_MYSQL_FLUSH:-$flush}" \
      --innodb-doublewrite="$doublewrite" --innodb-purge-threads=1 \
      --character-set-server=utf8mb4 --collation-server=utf8mb4_bin \
      ${BATON_MYSQL_SSL_DIR:+--ssl-cert=$BATON_MYSQL_SSL_DIR/server.pem --ssl-key=$BATON_MYSQL_SSL_DIR/server.key --ssl-ca=$BATON_MYSQL_SSL_DIR/ca.pem} \
      >/dev/null 2>&1 &
    for _ in $(seq 1 300); do
      mariadb-admin --no-defaults --socket="$MYSQL_SOCKET" -uroot ping >/dev/null 2>&1 && break
      sleep 0.1
    done
    mariadb-admin --no-defaults --socket="$MYSQL_SOCKET" -uroot ping >/dev/null 2>&1 || {
      log "MariaDB did not start; see $RUN/mysql/error.log"; tail -20 "$RUN/mysql/error.log" >&2; exit 1; }
    log "MariaDB up on 127.0.0.1:$MYSQL_PORT"
  fi
  mysql_root <<SQL
CREATE DATABASE IF NOT EXISTS baton CHARACTER SET utf8mb4 COLLATE utf8mb4_bin;
CREATE DATABASE IF NOT EXISTS baton_test CHARACTER SET utf8mb4 COLLATE utf8mb4_bin;
CREATE USER IF NOT EXISTS 'baton'@'127.0.0.1' IDENTIFIED BY '$MYSQL_PASSWORD';
CREATE USER IF NOT EXISTS 'baton'@'localhost' IDENTIFIED BY '$MYSQL_PASSWORD';
ALTER USER 'baton'@'127.0.0.1' IDENTIFIED BY '$MYSQL_PASSWORD';
ALTER USER 'baton'@'localhost' IDENTIFIED BY '$MYSQL_PASSWORD';
GRANT ALL PRIVILEGES ON baton.* TO 'baton'@'127.0.0.1', 'baton'@'localhost';
GRANT ALL PRIVILEGES ON baton_test.* TO 'baton'@'127.0.0.1', 'baton'@'localhost';
SQL
}

stop_mysql() {
  local pidfile="$RUN/mysql/mysqld.pid"
  [ -f "$pidfile" ] || return 0
  local pid; pid=$(cat "$pidfile")
  if kill -0 "$pid" 2>/dev/null; then
    mariadb-admin --no-defaults --socket="$MYSQL_SOCKET" -uroot shutdown >/dev/null 2>&1 || kill "$pid" 2>/dev/null || true
  fi
  wait_gone "$pidfile" "$pid"
  log "MariaDB stopped"
}

# A daemon's pid may look alive (zombie) after exit: wait for its pidfile.
wait_gone() { # pidfile pid
  for _ in $(seq 1 200); do
    [ -f "$1" ] || return 0
    kill -0 "$2" 2>/dev/null || { rm -f "$1"; return 0; }
    sleep 0.1
  done
  kill -9 "$2" 2>/dev/null || true
  rm -f "$1"
}

status() {
  if redis_answers "${REDIS_ADDR:-redis://127.0.0.1:$REDIS_PORT}"; then echo "redis: up"; else echo "redis: down"; fi
  if [ -n "${MYSQL_DSN:-}" ] && dsn_answers "$MYSQL_DSN"; then echo "mysql: up (MYSQL_DSN)"
  elif mariadb-admin --no-defaults --socket="$MYSQL_SOCKET" -uroot ping >/dev/null 2>&1; then echo "mysql: up"
  else echo "mysql: down"; fi
}

case "${1:-}" in
  install) install_missing ;;
  start)
    install_missing
    case "${2:-all}" in
      redis) start_redis ;; mysql) start_mysql ;; *) start_redis; start_mysql ;;
    esac ;;
  stop)
    case "${2:-all}" in
      redis) stop_redis ;; mysql) stop_mysql ;; *) stop_redis; stop_mysql ;;
    esac ;;
  status) status ;;
  *) echo "usage: $0 start|stop [redis|mysql] | status | install" >&2; exit 2 ;;
esac
