#!/bin/bash
# A private PostgreSQL 15 server for the test suite and the benchmarks: Debian's binaries, a data
# directory of its own, listening only on a Unix socket in that directory (no TCP port, so parallel
# checkouts never collide). Used by the ctest fixture "postgres" (tests/store_backends/) and by
# bench scripts.
#
#   tools/postgres/test-server.sh start DIR   # initdb if needed, start, create database "interop"
#   tools/postgres/test-server.sh stop DIR
#   tools/postgres/test-server.sh conninfo DIR  # the libpq connection string
#
# As root it runs the server as the "postgres" system user (initdb refuses root); otherwise as the
# caller. Needs the postgresql-15 package (tools/dev setup installs it).
#
# Several test runs may share one server (two ctest invocations in one build tree): each start
# counts a user in DIR/users and each stop uncounts one; the server stops with its last user.
set -euo pipefail

PG_BIN=${PG_BIN:-/usr/lib/postgresql/15/bin}
action=${1:?start, stop or conninfo}
dir=$(mkdir -p "${2:?data directory}" && cd "$2" && pwd)
data="$dir/data"
port=5432  # only names the socket file (.s.PGSQL.5432) in $dir; no TCP listener

as_owner() {
  if [[ $(id -u) -eq 0 ]]; then
    runuser -u postgres -- "$@"
  else
    "$@"
  fi
}

conninfo() { echo "host=$dir port=$port dbname=interop user=$(owner) connect_timeout=5"; }
owner() { if [[ $(id -u) -eq 0 ]]; then echo postgres; else id -un; fi; }

# users +1|-1: changes the count of runs using the server, under a lock; prints the new count.
users() {
  (
    flock 9
    local n
    n=$(cat "$dir/users" 2>/dev/null || echo 0)
    n=$((n + $1))
    ((n >= 0)) || n=0
    echo "$n" >"$dir/users"
    echo "$n"
  ) 9>"$dir/users.lock"
}

case "$action" in
  start)
    if [[ ! -x "$PG_BIN/postgres" ]]; then
      echo "test-server.sh: $PG_BIN/postgres not found; install postgresql-15 (tools/dev setup)" >&2
      exit 1
    fi
    [[ $(id -u) -ne 0 ]] || chown postgres "$dir"
    if [[ ! -f "$data/PG_VERSION" ]]; then
      as_owner "$PG_BIN/initdb" -D "$data" -A trust -U "$(owner)" -E UTF8 --locale=C.UTF-8 >"$dir/initdb.log" 2>&1 ||
        { cat "$dir/initdb.log" >&2; exit 1; }
    fi
    if ! as_owner "$PG_BIN/pg_ctl" -D "$data" status >/dev/null 2>&1; then
      # fsync stays on: the durability tests kill the gateway, not the database, but what the
      # gateway acknowledged must be on disk as in production.
      as_owner "$PG_BIN/pg_ctl" -D "$data" -l "$dir/server.log" -w -t 60 start \
        -o "-c listen_addresses='' -c unix_socket_directories='$dir' -c port=$port -c max_connections=200 -c shared_buffers=128MB" \
        >/dev/null || { tail -20 "$dir/server.log" >&2; exit 1; }
    fi
    as_owner "$PG_BIN/psql" -h "$dir" -p $port -U "$(owner)" -d postgres -Atqc \
      "SELECT 1 FROM pg_database WHERE datname = 'interop'" | grep -q 1 ||
      as_owner "$PG_BIN/createdb" -h "$dir" -p $port -U "$(owner)" interop
    users +1 >/dev/null
    conninfo
    ;;
  stop)
    if [[ "$(users -1)" -gt 0 ]]; then
      exit 0  # another run still uses it
    fi
    if [[ -f "$data/PG_VERSION" ]]; then
      as_owner "$PG_BIN/pg_ctl" -D "$data" -m fast -w stop >/dev/null 2>&1 || true
    fi
    ;;
  conninfo)
    conninfo
    ;;
  *)
    echo "test-server.sh: unknown action $action" >&2
    exit 2
    ;;
esac
