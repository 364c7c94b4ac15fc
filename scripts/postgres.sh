#!/usr/bin/env bash
# A throwaway PostgreSQL server on 127.0.0.1 for the tests: installs the Debian package if the
# server binaries are missing, runs as the `postgres` user, keeps its data under /tmp.
#   scripts/postgres.sh start   — start (idempotent)
#   scripts/postgres.sh stop    — stop
#   source scripts/postgres.sh env — export TRADEFLY_TEST_PG_URL
set -euo pipefail
PORT=${TRADEFLY_PG_PORT:-55432}
DATA=${TRADEFLY_PG_DATA:-/tmp/tradefly-pg}
URL="postgresql+psycopg://postgres@127.0.0.1:${PORT}/postgres"

find_bin() {
  for d in /usr/lib/postgresql/*/bin; do
    [ -x "$d/pg_ctl" ] && { echo "$d"; return; }
  done
}

as_pg() {
  if [ "$(id -u)" = 0 ]; then su postgres -s /bin/bash -c "$*"; else bash -c "$*"; fi
}

case "${1:-start}" in
  env)
    export TRADEFLY_TEST_PG_URL="$URL"
    ;;
  start)
    BIN=$(find_bin || true)
    if [ -z "$BIN" ]; then
      echo "installing PostgreSQL (Debian package)…"
      (apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq postgresql) >/dev/null
      BIN=$(find_bin)
    fi
    if [ ! -f "$DATA/PG_VERSION" ]; then
      mkdir -p "$DATA"; [ "$(id -u)" = 0 ] && chown postgres "$DATA"
      as_pg "$BIN/initdb -D $DATA -U postgres --auth=trust -E UTF8" >/dev/null
    fi
    if ! as_pg "$BIN/pg_ctl -D $DATA status" >/dev/null 2>&1; then
      as_pg "$BIN/pg_ctl -D $DATA -l $DATA/server.log -w -o \"-p $PORT -k /tmp -c listen_addresses=127.0.0.1 -c fsync=off\" start" >/dev/null
    fi
    echo "PostgreSQL ready on 127.0.0.1:$PORT"
    ;;
  stop)
    BIN=$(find_bin || true)
    [ -n "$BIN" ] && as_pg "$BIN/pg_ctl -D $DATA -m fast stop" >/dev/null 2>&1 || true
    ;;
esac
