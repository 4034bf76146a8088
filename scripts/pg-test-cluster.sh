#!/usr/bin/env bash
# A throw-away PostgreSQL cluster for the test suite and the benchmark.
#
#   scripts/pg-test-cluster.sh start   initdb into a temp dir (once) and start it; prints the URL
#   scripts/pg-test-cluster.sh url     print the URL of the running cluster
#   scripts/pg-test-cluster.sh stop    stop it and delete its directory
#
# The server listens on 127.0.0.1 only (port $PG_TEST_PORT, default 54329) and on a Unix
# socket in its own directory; it trusts local connections, keeps no data worth keeping
# (fsync off) and is owned by an unprivileged account: PostgreSQL refuses to run as root,
# so under root (CI) it runs as the Debian `postgres` user.
#
#   export CLEARANCE_DESK_TEST_PG_URL=$(scripts/pg-test-cluster.sh start)
set -euo pipefail

PORT=${PG_TEST_PORT:-54329}
DIR=${PG_TEST_DIR:-/tmp/clearance-desk-pg-$PORT}
DB=clearance_test
ROLE=clearance
BIN=${PG_BIN:-$(ls -d /usr/lib/postgresql/*/bin 2>/dev/null | sort -V | tail -n 1)}
URL="postgresql+psycopg://$ROLE@127.0.0.1:$PORT/$DB"

[ -x "$BIN/pg_ctl" ] || { echo "pg-test-cluster: PostgreSQL server binaries not found (apt-get install postgresql)" >&2; exit 2; }

as_owner() {
  if [ "$(id -u)" -eq 0 ]; then
    runuser -u postgres -- "$@"
  else
    "$@"
  fi
}

running() { as_owner "$BIN/pg_ctl" -D "$DIR/data" status >/dev/null 2>&1; }

start() {
  if [ ! -d "$DIR/data" ]; then
    mkdir -p "$DIR"
    [ "$(id -u)" -eq 0 ] && chown postgres: "$DIR"
    chmod 700 "$DIR"
    as_owner "$BIN/initdb" -D "$DIR/data" -U "$ROLE" --auth=trust --encoding=UTF8 --locale=C.UTF-8 \
      >"$DIR/initdb.log" 2>&1 || { cat "$DIR/initdb.log" >&2; exit 1; }
  fi
  if ! running; then
    as_owner "$BIN/pg_ctl" -D "$DIR/data" -l "$DIR/server.log" -w -t 60 start -o \
      "-k $DIR -p $PORT -c listen_addresses=127.0.0.1 -c fsync=off -c full_page_writes=off -c max_connections=200" \
      >/dev/null || { cat "$DIR/server.log" >&2; exit 1; }
  fi
  if ! as_owner "$BIN/psql" -h "$DIR" -p "$PORT" -U "$ROLE" -d postgres -tAc \
      "SELECT 1 FROM pg_database WHERE datname = '$DB'" | grep -q 1; then
    as_owner "$BIN/createdb" -h "$DIR" -p "$PORT" -U "$ROLE" "$DB"
  fi
  echo "$URL"
}

stop() {
  if [ -d "$DIR/data" ] && running; then
    as_owner "$BIN/pg_ctl" -D "$DIR/data" -m immediate -w stop >/dev/null
  fi
  rm -rf "$DIR"
}

case "${1:-}" in
  start) start ;;
  stop) stop ;;
  url) running && echo "$URL" || { echo "pg-test-cluster: not running" >&2; exit 1; } ;;
  *) echo "usage: $0 start|url|stop" >&2; exit 2 ;;
esac
