#!/usr/bin/env bash
# A three-member MariaDB Galera cluster for development, tests and the test
# bed: plain background mariadbd processes, data under .run/galera/ (never a
# system service). Baton reaches it through a multi-host URL:
#   mysql://baton:PASSWORD@127.0.0.1:3421,127.0.0.1:3422,127.0.0.1:3423/baton
#
#   scripts/galera.sh start            bootstrap member 1, join 2 and 3, create users
#   scripts/galera.sh stop             stop every member
#   scripts/galera.sh status           each member's state and the cluster size
#   scripts/galera.sh kill N           kill -9 member N (a crash)
#   scripts/galera.sh start-node N     (re)start member N: it rejoins (IST, or SST by rsync)
#   scripts/galera.sh url              the multi-host URL
#   scripts/galera.sh start-single     one plain MariaDB (no Galera), port BASE+0, tuned alike
#   scripts/galera.sh stop-single
#   scripts/galera.sh install          install galera-4, rsync and the SST script
#
# Environment:
#   GALERA_DIR        where data, logs and pids go (default .run/galera)
#   GALERA_ADDRS      the three members' addresses (default "127.0.0.1 127.0.0.1 127.0.0.1")
#   GALERA_NETNS      three network namespaces to run the members in (the test bed)
#   GALERA_PORT_BASE  SQL ports BASE+1..3 (default 3420); group communication
#                     GALERA_WSREP_BASE+1..3 (4570), IST +11..13 (4580..), SST +21..23
#   BATON_MYSQL_PASSWORD  password of the `baton` user (default: the dev value)
#
# Settings Baton relies on (docs/galera.md): wsrep_sync_wait=7 (a statement
# first waits until its member applied every write committed before it, so a
# read after a write made through another member sees it), ROW binlog,
# interleaved auto-increment locks, REPEATABLE READ (the default), and
# log_bin_trust_function_creators=1 (Galera logs binlog events; without it a
# user without SUPER cannot run the migrations that drop and create triggers).
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
DIR="${GALERA_DIR:-$ROOT/.run/galera}"
read -r -a ADDRS <<<"${GALERA_ADDRS:-127.0.0.1 127.0.0.1 127.0.0.1}"
read -r -a NETNS <<<"${GALERA_NETNS:-}"
PORT_BASE="${GALERA_PORT_BASE:-3420}"
WSREP_BASE="${GALERA_WSREP_BASE:-4570}"
PASSWORD="${BATON_MYSQL_PASSWORD:-baton-dev-password}"
SST_TOOLS="$DIR/sst-tools"
export PATH="$SST_TOOLS/usr/bin:$PATH:/usr/sbin:/sbin"

log() { printf 'galera: %s\n' "$*" >&2; }

sql_port() { echo $((PORT_BASE + $1)); }
gcomm_port() { echo $((WSREP_BASE + $1)); }
ist_port() { echo $((WSREP_BASE + 10 + $1)); }
sst_port() { echo $((WSREP_BASE + 20 + $1)); }
addr() { echo "${ADDRS[$(($1 - 1))]}"; }
socket() { echo "$DIR/node$1/mysqld.sock"; }
in_ns() { # N command...: run in member N's namespace when there are namespaces
  local n="$1"; shift
  if [ ${#NETNS[@]} -ge "$n" ]; then ip netns exec "${NETNS[$((n - 1))]}" "$@"; else "$@"; fi
}
root_sql() { env -u MYSQL_PWD mariadb --no-defaults --socket="$(socket "$1")" -uroot "${@:2}"; }

url() {
  local hosts=()
  for n in 1 2 3; do hosts+=("$(addr $n):$(sql_port $n)"); done
  local IFS=,
  echo "mysql://baton:$PASSWORD@${hosts[*]}/baton"
}

install() {
  local missing=()
  [ -f /usr/lib/galera/libgalera_smm.so ] || missing+=(galera-4)
  command -v rsync >/dev/null || missing+=(rsync)
  if [ ${#missing[@]} -gt 0 ]; then
    log "installing ${missing[*]}"
    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
  fi
  # The rsync SST script ships in mariadb-server, whose install starts a
  # system MariaDB: take the scripts out of the package instead.
  if ! command -v wsrep_sst_rsync >/dev/null; then
    log "extracting wsrep_sst_rsync from mariadb-server into $SST_TOOLS"
    mkdir -p "$SST_TOOLS"
    (cd "$DIR" && apt-get download mariadb-server >/dev/null 2>&1 && dpkg -x mariadb-server_*.deb "$SST_TOOLS" && rm -f mariadb-server_*.deb)
    # Its rsync daemon would drop to `nobody`, who cannot write the joiner's
    # datadir (mariadbd runs as us): receive as us.
    sed -i "s/^use chroot = no\$/use chroot = no\nuid = $(id -u)\ngid = $(id -g)/" "$SST_TOOLS/usr/bin/wsrep_sst_rsync"
  fi
}

members() {
  local list=()
  for n in 1 2 3; do list+=("$(addr $n):$(gcomm_port $n)"); done
  local IFS=,
  echo "${list[*]}"
}

# Initialises a datadir once.
install_db() { # datadir log
  [ -d "$1/mysql" ] && return 0
  mariadb-install-db --no-defaults --datadir="$1" --user="$(id -un)" \
    --auth-root-authentication-method=normal --skip-test-db --skip-name-resolve >"$2" 2>&1
}

# mariadbd in member N's namespace with the tuning of scripts/dev-services.sh
# (a throwaway server: commits are not flushed each; in the cluster the group
# keeps them), so a member and the single server compare.
run_mariadbd() { # N name port extra-args...
  local n="$1" dir="$DIR/$2"
  in_ns "$n" nohup mariadbd --no-defaults --user="$(id -un)" --datadir="$dir/data" \
    --bind-address="$(addr "$n")" --port="$3" --socket="$dir/mysqld.sock" \
    --pid-file="$dir/mysqld.pid" --log-error="$dir/error.log" \
    --skip-name-resolve --max-connections=1000 \
    --innodb-buffer-pool-size=256M --innodb-log-file-size=256M \
    --innodb-flush-log-at-trx-commit=2 --innodb-doublewrite=0 --innodb-purge-threads=1 \
    --character-set-server=utf8mb4 --collation-server=utf8mb4_bin \
    "${@:4}" >/dev/null 2>&1 &
}

start_node() { # N [--wsrep-new-cluster]
  local n="$1"
  mkdir -p "$DIR/node$n"
  install_db "$DIR/node$n/data" "$DIR/node$n/install.log"
  run_mariadbd "$n" "node$n" "$(sql_port "$n")" \
    --binlog-format=ROW --default-storage-engine=InnoDB --innodb-autoinc-lock-mode=2 \
    --wsrep-on=ON --wsrep-provider=/usr/lib/galera/libgalera_smm.so \
    --wsrep-cluster-name=baton --wsrep-cluster-address="gcomm://$(members)" \
    --wsrep-node-name="node$n" --wsrep-node-address="$(addr "$n"):$(gcomm_port "$n")" \
    --wsrep-node-incoming-address="$(addr "$n"):$(sql_port "$n")" \
    --wsrep-provider-options="gmcast.listen_addr=tcp://$(addr "$n"):$(gcomm_port "$n");ist.recv_addr=$(addr "$n"):$(ist_port "$n");gcache.size=256M;evs.suspect_timeout=PT3S;evs.inactive_timeout=PT6S" \
    --wsrep-sst-method=rsync --wsrep-sst-receive-address="$(addr "$n"):$(sst_port "$n")" \
    --wsrep-sync-wait=7 --wsrep-slave-threads=4 --log-bin-trust-function-creators=1 "${@:2}"
  # Ready means synced with the group, not only accepting connections.
  for _ in $(seq 1 600); do
    [ "$(root_sql "$n" -Nse "SHOW STATUS LIKE 'wsrep_local_state_comment'" 2>/dev/null | cut -f2)" = Synced ] && {
      log "member $n synced on $(addr "$n"):$(sql_port "$n")"; return 0; }
    sleep 0.1
  done
  log "member $n did not sync; see $DIR/node$n/error.log"; tail -20 "$DIR/node$n/error.log" >&2; return 1
}

# One plain MariaDB (no Galera) on member 1's address, port BASE+0, tuned
# alike: what the cluster's cost is measured against.
start_single() {
  mkdir -p "$DIR/single"
  install_db "$DIR/single/data" "$DIR/single/install.log"
  run_mariadbd 1 single "$PORT_BASE"
  for _ in $(seq 1 300); do
    env -u MYSQL_PWD mariadb --no-defaults --socket="$DIR/single/mysqld.sock" -uroot -e 'SELECT 1' >/dev/null 2>&1 && break
    sleep 0.1
  done
  create_users "$DIR/single/mysqld.sock"
  log "single MariaDB up on $(addr 1):$PORT_BASE"
}

create_users() { # socket
  env -u MYSQL_PWD mariadb --no-defaults --socket="$1" -uroot <<SQL
CREATE DATABASE IF NOT EXISTS baton CHARACTER SET utf8mb4 COLLATE utf8mb4_bin;
CREATE USER IF NOT EXISTS 'baton'@'%' IDENTIFIED BY '$PASSWORD';
ALTER USER 'baton'@'%' IDENTIFIED BY '$PASSWORD';
GRANT ALL PRIVILEGES ON baton.* TO 'baton'@'%';
SQL
}

start() {
  install
  mkdir -p "$DIR"
  local bootstrap=(--wsrep-new-cluster)
  # A member left running (or the whole cluster) is kept as it is.
  for n in 1 2 3; do
    if root_sql "$n" -e 'SELECT 1' >/dev/null 2>&1; then bootstrap=(); fi
  done
  for n in 1 2 3; do
    if root_sql "$n" -e 'SELECT 1' >/dev/null 2>&1; then continue; fi
    if [ ${#bootstrap[@]} -gt 0 ] && [ -f "$DIR/node$n/data/grastate.dat" ]; then
      # Restarting a cluster that was stopped cleanly: this member may bootstrap it.
      sed -i 's/^safe_to_bootstrap: 0/safe_to_bootstrap: 1/' "$DIR/node$n/data/grastate.dat"
    fi
    start_node "$n" "${bootstrap[@]}"
    bootstrap=()
  done
  create_users "$(socket 1)"
  log "cluster up: $(url | sed 's/:[^:@]*@/:***@/')"
}

stop_node() { # node1|node2|node3|single
  local dir="$DIR/$1" pidfile="$DIR/$1/mysqld.pid" pid
  [ -f "$pidfile" ] || return 0
  pid=$(cat "$pidfile")
  if kill -0 "$pid" 2>/dev/null; then
    env -u MYSQL_PWD mariadb-admin --no-defaults --socket="$dir/mysqld.sock" -uroot shutdown >/dev/null 2>&1 || kill "$pid" 2>/dev/null || true
  fi
  for _ in $(seq 1 300); do
    [ -f "$pidfile" ] && kill -0 "$pid" 2>/dev/null || { rm -f "$pidfile"; return 0; }
    sleep 0.1
  done
  kill -9 "$pid" 2>/dev/null || true
  rm -f "$pidfile"
}

stop() {
  # The last member to stop is the one safe to bootstrap from.
  for n in 3 2 1; do stop_node "node$n"; done
  log "cluster stopped"
}

kill_node() {
  local pidfile="$DIR/node$1/mysqld.pid"
  [ -f "$pidfile" ] || { log "member $1 is not running"; return 1; }
  kill -9 "$(cat "$pidfile")"
  rm -f "$pidfile"
  log "member $1 killed"
}

status() {
  for n in 1 2 3; do
    local state size
    state=$(root_sql "$n" -Nse "SHOW STATUS LIKE 'wsrep_local_state_comment'" 2>/dev/null | cut -f2) || true
    size=$(root_sql "$n" -Nse "SHOW STATUS LIKE 'wsrep_cluster_size'" 2>/dev/null | cut -f2) || true
    echo "member $n $(addr "$n"):$(sql_port "$n"): ${state:-down}${size:+ (cluster size $size)}"
  done
}

case "${1:-}" in
  start) start ;;
  stop) stop ;;
  start-single) start_single ;;
  stop-single) stop_node single ;;
  status) status ;;
  kill) kill_node "${2:?member number}" ;;
  start-node) start_node "${2:?member number}" ;;
  url) url ;;
  install) mkdir -p "$DIR"; install ;;
  *) echo "usage: $0 start|stop|status|kill N|start-node N|url|start-single|stop-single|install" >&2; exit 2 ;;
esac
