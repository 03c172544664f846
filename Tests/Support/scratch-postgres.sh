#!/bin/bash
# A throw-away PostgreSQL 15 for the tests: its own data directory, a Unix socket only (no TCP),
# run as a system user because initdb and postgres refuse root.
#   scratch-postgres.sh start            prints the new directory (the socket directory too)
#   scratch-postgres.sh restart DIR      pg_ctl restart -m fast
#   scratch-postgres.sh crash DIR        pg_ctl stop -m immediate (no shutdown checkpoint), then start: crash recovery
#   scratch-postgres.sh stop DIR         pg_ctl stop -m fast, then removes DIR
# Connect with postgresql:///renkei?host=DIR&user=renkei (or psql -h DIR -U renkei renkei).
# The superuser is `renkei`, the database `renkei`; roles renkei_a and renkei_b (members of
# renkei) are there for tests of several nodes. Stops by data directory, never by process name.
set -euo pipefail
# The postmaster outlives this script: it must not inherit a caller's descriptors (a test's
# output pipe held open by it would leave the test reading for ever).
for fd in /proc/$$/fd/*; do
  fd=${fd##*/}
  if [ "$fd" -gt 2 ]; then eval "exec $fd>&-" 2>/dev/null || true; fi
done
PGBIN=${PGBIN:-/usr/lib/postgresql/15/bin}
user=renkei-pgtest

as_user() { runuser -u "$user" -- "$@"; }

case "${1:-}" in
start)
  [ -x "$PGBIN/initdb" ] || { echo "scratch-postgres: no PostgreSQL 15 at $PGBIN; run: apt-get install -y postgresql-15" >&2; exit 2; }
  id -u "$user" >/dev/null 2>&1 || useradd --system --no-create-home --shell /usr/sbin/nologin "$user"
  dir=$(mktemp -d /tmp/renkei-pg.XXXXXX)
  chown "$user" "$dir"
  chmod 0755 "$dir"
  as_user "$PGBIN/initdb" -D "$dir/data" -U renkei --auth=trust -E UTF8 --no-locale >"$dir/initdb.log" 2>&1 ||
    { cat "$dir/initdb.log" >&2; exit 1; }
  # In postgresql.conf, not -o: a later `pg_ctl restart` must keep listening on the socket only.
  printf "listen_addresses = ''\nunix_socket_directories = '%s'\nunix_socket_permissions = 0700\nfsync = off\n" "$dir" >>"$dir/data/postgresql.conf"
  # -l: without a log file the postmaster keeps the caller's stdout open and a piped caller hangs.
  as_user "$PGBIN/pg_ctl" -D "$dir/data" -l "$dir/postgres.log" -w -t 30 start >/dev/null ||
    { cat "$dir/postgres.log" >&2; exit 1; }
  as_user "$PGBIN/psql" -h "$dir" -U renkei -X -q -v ON_ERROR_STOP=1 -d postgres \
    -c "CREATE DATABASE renkei" \
    -c "CREATE ROLE renkei_a LOGIN IN ROLE renkei" -c "CREATE ROLE renkei_b LOGIN IN ROLE renkei" >/dev/null
  echo "$dir"
  ;;
restart)
  dir=$2
  as_user "$PGBIN/pg_ctl" -D "$dir/data" -l "$dir/postgres.log" -w -t 30 -m fast restart >/dev/null
  ;;
crash)
  dir=$2
  as_user "$PGBIN/pg_ctl" -D "$dir/data" -w -t 30 -m immediate stop >/dev/null
  as_user "$PGBIN/pg_ctl" -D "$dir/data" -l "$dir/postgres.log" -w -t 60 start >/dev/null
  ;;
stop)
  dir=$2
  [ -d "$dir/data" ] || exit 0
  as_user "$PGBIN/pg_ctl" -D "$dir/data" -w -t 30 -m fast stop >/dev/null || true
  rm -rf "$dir"
  ;;
*)
  echo "usage: scratch-postgres.sh start | restart DIR | crash DIR | stop DIR" >&2
  exit 2
  ;;
esac
