#!/usr/bin/env bash
# Local PostgreSQL for the officers' workbench, for running and testing. It uses the server
# binaries of Debian's postgresql package (deploy/system-deps.sh installs them); nothing is
# fetched.
#
#   postgres.sh start    create the cluster if needed, start the server, wait until it accepts
#                        connections, create the role and the database (both only if missing)
#   postgres.sh stop     stop it (fast shutdown: open sessions are ended) and wait until it has
#   postgres.sh status   exit 0 if running and accepting connections
#   postgres.sh reset    stop and delete its data
#   postgres.sh url      print the libpq URL of its database
#
# Environment: PG_PORT (5433), PG_DATA_DIR (below), PG_DATABASE (screening), PG_USER
# (screening), PG_BINDIR (the folder of initdb, pg_ctl and postgres; found when unset).
#
# The server listens on 127.0.0.1 only and its Unix socket is closed to other users. A
# connection from 127.0.0.1 is trusted without a password, so the URL is
# postgresql://screening@127.0.0.1:5433/screening, the default SCREENING_DATABASE_URL. That is
# for one machine's development and tests, like the local Kafka broker's PLAINTEXT listener;
# deployments use a PostgreSQL with passwords (docker-compose.yml, deploy/k8s/).
#
# PostgreSQL refuses to run as root. Run by root (CI), the server runs as the `postgres` user,
# which Debian's package creates, and its data lives where that user can reach it: by default
# /var/tmp/screening-postgres-<hash of this checkout's path>-<port>, since a checkout in root's
# home or in a `mktemp -d` folder is closed to it; a PG_DATA_DIR given then must be a folder
# that user owns, or one that does not exist yet. Run by anyone else, the server runs as the
# caller, with its data in .data/postgres-<port> by default.
#
# The data folder holds the cluster (cluster/), the socket (socket/) and the server's log
# (server.log).
set -euo pipefail

here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
root="$(cd "$here/../.." && pwd)"
port="${PG_PORT:-5433}"
database="${PG_DATABASE:-screening}"
user="${PG_USER:-screening}"
# The cluster's superuser, whatever the operating-system user: the script's own connections
# use it, the applications use $user.
superuser=postgres
server_user=postgres

log() { echo "postgres: $*" >&2; }
fail() { log "$*"; exit 1; }

as_root=0
if [[ $(id -u) -eq 0 ]]; then as_root=1; fi

if [[ -n "${PG_DATA_DIR:-}" ]]; then
  data="$PG_DATA_DIR"
elif ((as_root)); then
  # From the checkout's path and the port: parallel sessions in other checkouts or on other
  # ports each get their own.
  data="/var/tmp/screening-postgres-$(printf '%s' "$root" | sha256sum | cut -c1-12)-$port"
else
  data="$root/.data/postgres-$port"
fi
[[ $data == /* ]] || data="$PWD/$data"
cluster="$data/cluster"
sockets="$data/socket"
logfile="$data/server.log"

[[ $port =~ ^[0-9]+$ ]] && ((port > 0 && port < 65536)) || fail "PG_PORT must be a TCP port, not '$port'"
# Names that need no quoting, neither in SQL nor in the URL.
for name in "$database" "$user"; do
  [[ $name =~ ^[a-z_][a-z0-9_]{0,62}$ ]] \
    || fail "PG_DATABASE and PG_USER must be lower-case letters, digits and _, not '$name'"
done
# The configuration quotes the paths in single quotes.
[[ $data != *"'"* ]] || fail "PG_DATA_DIR must not contain a single quote: $data"

find_bindir() {
  local dir
  if [[ -n "${PG_BINDIR:-}" ]]; then
    dir="$PG_BINDIR"
  # libpq-dev's pg_config names a server's folder, which may not be installed.
  elif command -v pg_config >/dev/null && dir="$(pg_config --bindir 2>/dev/null)" \
    && [[ -x "$dir/postgres" && -x "$dir/initdb" ]]; then
    :
  else
    dir="$(printf '%s\n' /usr/lib/postgresql/*/bin | sort -V | tail -n 1)"
  fi
  for tool in initdb pg_ctl postgres pg_isready psql; do
    [[ -x "$dir/$tool" ]] || return 1
  done
  echo "$dir"
}

binaries() {
  bin="$(find_bindir)" || fail "PostgreSQL server binaries (initdb, pg_ctl, postgres, psql)" \
    "not found: install Debian's postgresql package (make system-deps), or set PG_BINDIR"
}

as_server() {
  if ((as_root)); then
    # From /: the server's tools resolve the current folder, which may be closed to them.
    (cd / && runuser -u "$server_user" -- "$@")
  else
    "$@"
  fi
}

write_as_server() {
  # The file belongs to the server's user, as everything in its cluster must.
  as_server sh -c 'cat >"$1"' sh "$1"
}

prepare_data() {
  if ((!as_root)); then
    mkdir -p "$data"
    chmod 700 "$data"
    return 0
  fi
  id -u "$server_user" >/dev/null 2>&1 \
    || fail "PostgreSQL does not run as root, and there is no '$server_user' user to run it as" \
      "(Debian's postgresql package creates it)"
  command -v runuser >/dev/null || fail "runuser not found (Debian package util-linux)"
  if [[ -e $data || -L $data ]]; then
    # /var/tmp and /tmp are writable by everyone: use no folder someone else put there.
    [[ -d $data && ! -L $data && $(stat -c %U "$data") == "$server_user" ]] \
      || fail "$data is not a folder owned by $server_user; choose another PG_DATA_DIR," \
        "or one that does not exist yet"
  else
    mkdir -p "$(dirname "$data")"
    install -d -m 700 -o "$server_user" -g "$(id -gn "$server_user")" "$data"
  fi
  as_server test -w "$data" -a -x "$data" \
    || fail "user $server_user cannot reach $data: a folder above it is closed to that user;" \
      "choose a PG_DATA_DIR under /tmp or /var/tmp"
}

running() {
  [[ -f "$cluster/PG_VERSION" ]] && as_server "$bin/pg_ctl" status -D "$cluster" >/dev/null 2>&1
}

accepting() {
  "$bin/pg_isready" -q -h 127.0.0.1 -p "$port" -U "$superuser" -d postgres
}

init_cluster() {
  log "creating the cluster in $cluster"
  # Trust here, narrowed to the lines of pg_hba.conf below. C.UTF-8: byte-order sorting, the
  # same on every machine, with upper() and lower() that know letters beyond ASCII.
  if ! as_server "$bin/initdb" -D "$cluster" -U "$superuser" -E UTF8 --locale=C.UTF-8 \
    --auth=trust >"$data/initdb.log" 2>&1; then
    log "initdb failed:"
    cat "$data/initdb.log" >&2
    exit 1
  fi
  write_as_server "$cluster/pg_hba.conf" <<'HBA'
# Written by deploy/postgres/postgres.sh. The socket's folder is open to the server's own user
# only; TCP is 127.0.0.1 only (listen_addresses). Nothing else may connect.
# TYPE  DATABASE  USER  ADDRESS       METHOD
local   all       all                 trust
host    all       all   127.0.0.1/32  trust
HBA
  as_server sh -c 'printf "\ninclude_if_exists = '\''screening.conf'\''\n" >>"$1"' sh \
    "$cluster/postgresql.conf"
}

write_config() {
  local socket_line="unix_socket_directories = '$sockets'"
  # A socket's path has at most 107 bytes; beyond, the server would refuse to start. Every
  # connection of the script and the applications is TCP, so it can go without one.
  if ((${#sockets} + ${#port} + 11 > 107)); then
    socket_line="unix_socket_directories = ''  # $sockets is too long a path for a socket"
  fi
  as_server mkdir -p -m 700 "$sockets"
  write_as_server "$cluster/screening.conf" <<CONF
# Written by deploy/postgres/postgres.sh on every start: change the script, not this file.
port = $port
listen_addresses = '127.0.0.1'
$socket_line
unix_socket_permissions = 0700
CONF
}

ensure_database() {
  # \gexec runs the statement a query returns, and a query returns none when the role or the
  # database exists already. CREATEDB: the tests make a database of their own per test.
  "$bin/psql" -X -q -v ON_ERROR_STOP=1 -h 127.0.0.1 -p "$port" -U "$superuser" -d postgres \
    -v role="$user" -v db="$database" >/dev/null <<'SQL' || fail "could not create role $user or database $database"
SELECT format('CREATE ROLE %I LOGIN CREATEDB', :'role')
 WHERE NOT EXISTS (SELECT FROM pg_roles WHERE rolname = :'role') \gexec
SELECT format('CREATE DATABASE %I OWNER %I', :'db', :'role')
 WHERE NOT EXISTS (SELECT FROM pg_database WHERE datname = :'db') \gexec
SQL
}

wait_accepting() {
  for _ in $(seq 1 120); do
    accepting && return 0
    running || { log "the server exited; see $logfile"; tail -n 20 "$logfile" >&2; exit 1; }
    sleep 0.5
  done
  fail "the server did not accept connections within 60 s; see $logfile"
}

start() {
  binaries
  if running; then
    # Started by another caller a moment ago, it may still be recovering.
    wait_accepting
    ensure_database
    log "already running on 127.0.0.1:$port (data in $data)"
    return 0
  fi
  if (exec 3<>"/dev/tcp/127.0.0.1/$port") 2>/dev/null; then
    fail "port $port is taken by another program (PG_PORT chooses another)"
  fi
  prepare_data
  [[ -f "$cluster/PG_VERSION" ]] || init_cluster
  write_config
  as_server sh -c ': >"$1"' sh "$logfile"
  # pg_ctl detaches the server into a session of its own: Ctrl-C in this terminal does not
  # reach it.
  if ! as_server "$bin/pg_ctl" start -D "$cluster" -l "$logfile" -w -t 60 -s; then
    log "the server did not start; see $logfile"
    tail -n 20 "$logfile" >&2
    exit 1
  fi
  wait_accepting
  ensure_database
  log "running on 127.0.0.1:$port; data and log in $data"
}

stop() {
  if ! bin="$(find_bindir)" || ! running; then
    log "not running"
    return 0
  fi
  # Fast: open sessions are rolled back and ended, then a checkpoint; nothing committed is lost.
  if ! as_server "$bin/pg_ctl" stop -D "$cluster" -m fast -w -t 60 -s; then
    log "no clean shutdown within 60 s; stopping immediately (recovery runs at the next start)"
    as_server "$bin/pg_ctl" stop -D "$cluster" -m immediate -w -t 30 -s || true
  fi
  log "stopped"
}

status() {
  if bin="$(find_bindir)" && running && accepting; then
    log "running on 127.0.0.1:$port (data in $data)"
  else
    log "not running"
    exit 1
  fi
}

case "${1:-}" in
  start) start ;;
  stop) stop ;;
  status) status ;;
  reset)
    stop
    [[ -n $data && $data != / ]] || fail "refusing to delete '$data'"
    rm -rf "$data"
    log "data removed"
    ;;
  url) echo "postgresql://$user@127.0.0.1:$port/$database" ;;
  *) echo "usage: $0 {start|stop|status|reset|url}" >&2; exit 2 ;;
esac
