#!/usr/bin/env bash
# A private PostgreSQL server for tests, the demo and benchmarks.
#
#   scripts/pg-private.sh start DIR [extra postgresql.conf lines...]
#       initdb in DIR/data (if not there yet), start on a free loopback port,
#       wait until ready; prints "PORT" on stdout. Server files are owned by the
#       postgres user when run as root (initdb refuses to run as root).
#   scripts/pg-private.sh stop DIR
#       fast shutdown, then immediate if needed; safe to call twice.
#
# Connect with: postgresql://postgres@127.0.0.1:PORT/postgres (trust auth, loopback only).
set -euo pipefail

cmd=${1:?usage: pg-private.sh start|stop DIR}
dir=${2:?usage: pg-private.sh start|stop DIR}
shift 2 || true
bindir=$(pg_config --bindir 2>/dev/null || true)
if [[ -z "$bindir" || ! -x "$bindir/initdb" ]]; then
  bindir=$(ls -d /usr/lib/postgresql/*/bin 2>/dev/null | sort -V | tail -1)
fi
[[ -x "$bindir/initdb" ]] || { echo "pg-private: no PostgreSQL server binaries found (apt-get install postgresql)" >&2; exit 2; }

as_pg() {
  if [[ $(id -u) -eq 0 ]]; then runuser -u postgres -- "$@"; else "$@"; fi
}

port_free() {
  ! (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null
}

case "$cmd" in
  start)
    mkdir -p "$dir"
    if [[ $(id -u) -eq 0 ]]; then chown postgres: "$dir"; chmod 700 "$dir"; fi
    if [[ ! -f "$dir/data/PG_VERSION" ]]; then
      as_pg "$bindir/initdb" -D "$dir/data" -U postgres -A trust -E UTF8 --locale=C.UTF-8 >"$dir/initdb.log" 2>&1 \
        || { cat "$dir/initdb.log" >&2; exit 1; }
      {
        echo "listen_addresses = '127.0.0.1'"
        echo "unix_socket_directories = '$dir'"
        echo "max_connections = 200"
        echo "shared_buffers = 256MB"
        echo "max_wal_size = 4GB"
        echo "logging_collector = off"
        echo "log_min_messages = warning"
        echo "wal_level = replica"
        echo "max_wal_senders = 10"
        echo "hot_standby = on"
        for line in "$@"; do echo "$line"; done
      } >>"$dir/data/postgresql.conf"
      echo "host replication all 127.0.0.1/32 trust" >>"$dir/data/pg_hba.conf"
    fi
    for attempt in $(seq 1 20); do
      port=$(( 20000 + (RANDOM * 32768 + RANDOM) % 40000 ))
      port_free "$port" || continue
      if as_pg "$bindir/pg_ctl" -D "$dir/data" -l "$dir/server.log" -o "-p $port" -w -t 60 start >/dev/null 2>&1; then
        echo "$port" >"$dir/port"
        echo "$port"
        exit 0
      fi
    done
    echo "pg-private: could not start PostgreSQL; see $dir/server.log" >&2
    tail -20 "$dir/server.log" >&2 || true
    exit 1
    ;;
  stop)
    [[ -f "$dir/data/postmaster.pid" ]] || exit 0
    as_pg "$bindir/pg_ctl" -D "$dir/data" -m fast -w -t 30 stop >/dev/null 2>&1 \
      || as_pg "$bindir/pg_ctl" -D "$dir/data" -m immediate -w stop >/dev/null 2>&1 || true
    ;;
  *)
    echo "usage: pg-private.sh start|stop DIR" >&2; exit 2 ;;
esac
