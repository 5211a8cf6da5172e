#!/usr/bin/env bash
# A throwaway PostgreSQL on loopback, for the store tests and for trying `tonewatch serve`.
#
#   scripts/postgres.sh start [DIR]   initdb into DIR (default: a new temp dir), start on
#                                     127.0.0.1 with a free port; prints the database URL on
#                                     stdout and the data dir on stderr
#   scripts/postgres.sh stop DIR      stop it and delete DIR
#
# Uses Debian's postgresql package (scripts/install.sh installs it). PostgreSQL refuses to run
# as root, so as root the server runs as the `postgres` system user, which owns DIR. The
# cluster accepts only password (SCRAM) logins, on 127.0.0.1 only, with a random password.
set -euo pipefail

find_bin() {
  local dir
  for dir in /usr/lib/postgresql/*/bin; do
    [ -x "$dir/initdb" ] && { echo "$dir"; return 0; }
  done
  command -v initdb >/dev/null && { dirname "$(command -v initdb)"; return 0; }
  echo "postgres.sh: PostgreSQL not found (no /usr/lib/postgresql/*/bin/initdb); run scripts/install.sh as root" >&2
  return 1
}

as_owner() {  # run a command as the cluster's owner
  if [ "$(id -u)" = 0 ]; then
    runuser -u postgres -- "$@"
  else
    "$@"
  fi
}

free_port() {
  python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1]); s.close()'
}

start() {
  local bin dir port password
  bin=$(find_bin)
  dir=${1:-$(mktemp -d /tmp/tonewatch-pg.XXXXXX)}
  mkdir -p "$dir"
  chmod 700 "$dir"
  [ "$(id -u)" = 0 ] && chown postgres: "$dir"
  password=$(python3 -c 'import secrets; print(secrets.token_hex(16))')
  echo "$password" > "$dir/.pw"
  [ "$(id -u)" = 0 ] && chown postgres: "$dir/.pw"
  as_owner "$bin/initdb" -D "$dir/data" -U tonewatch --pwfile="$dir/.pw" --auth=scram-sha-256 \
    -E UTF8 --locale=C.UTF-8 >"$dir/initdb.log" 2>&1 \
    || { cat "$dir/initdb.log" >&2; exit 1; }
  rm -f "$dir/.pw"
  port=$(free_port)
  # Loopback only, sockets in DIR (no /var/run/postgresql needed), fsync off: a test server.
  as_owner "$bin/pg_ctl" -D "$dir/data" -l "$dir/server.log" -w -t 60 \
    -o "-h 127.0.0.1 -p $port -k $dir -c fsync=off -c synchronous_commit=off -c full_page_writes=off" \
    start >/dev/null || { cat "$dir/server.log" >&2; exit 1; }
  PGPASSWORD=$password "$bin/createdb" -h 127.0.0.1 -p "$port" -U tonewatch tonewatch
  echo "$port" > "$dir/port"
  [ "$(id -u)" = 0 ] && chown postgres: "$dir/port"
  echo "data dir: $dir (stop with: scripts/postgres.sh stop $dir)" >&2
  echo "postgresql://tonewatch:$password@127.0.0.1:$port/tonewatch"
}

stop() {
  local bin dir=${1:?usage: postgres.sh stop DIR}
  bin=$(find_bin)
  if [ -d "$dir/data" ]; then
    as_owner "$bin/pg_ctl" -D "$dir/data" -m fast -w -t 60 stop >/dev/null 2>&1 \
      || as_owner "$bin/pg_ctl" -D "$dir/data" -m immediate -w -t 30 stop >/dev/null 2>&1 \
      || echo "postgres.sh: could not stop the server in $dir" >&2
  fi
  case "$dir" in
    /tmp/tonewatch-pg.*|*/tonewatch-pg*) rm -rf "$dir" ;;
    *) echo "postgres.sh: stopped; left $dir in place (not a tonewatch-pg temp dir)" >&2 ;;
  esac
}

case "${1:-}" in
  start) shift; start "$@" ;;
  stop) shift; stop "$@" ;;
  *) echo "usage: $0 start [DIR] | stop DIR" >&2; exit 2 ;;
esac
