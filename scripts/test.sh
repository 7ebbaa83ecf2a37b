#!/usr/bin/env bash
# Installs everything the tests need (Debian packages, the Python venv), starts
# Postgres and Redis on loopback, and runs the whole suite twice: on SQLite, then
# on Postgres. Exits non-zero on any failure, and when no test ran.
set -euo pipefail
cd "$(dirname "$0")/.."
ROOT=$(pwd)

APT_PACKAGES="chromium chromium-driver fonts-wqy-zenhei espeak-ng libespeak-ng1 sox postgresql redis-server"
missing=""
for pkg in $APT_PACKAGES; do
  dpkg -s "$pkg" >/dev/null 2>&1 || missing="$missing $pkg"
done
if [ -n "$missing" ]; then
  echo "== installing Debian packages:$missing"
  SUDO=""; [ "$(id -u)" -ne 0 ] && SUDO="sudo"
  $SUDO apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq $missing >/dev/null
fi

if [ ! -x .venv/bin/python ]; then
  python3 -m venv .venv
fi
.venv/bin/pip install -q --disable-pip-version-check -e '.[test]'

# Byte-code is written and reused: every `lobbyq serve` subprocess, pytest worker and
# Chromium-page test server would otherwise compile LobbyQ's modules (and pytest
# re-rewrite the test modules) from source again (PYTHONDONTWRITEBYTECODE is set on
# some machines); compiled once here, in parallel, it saves ~0.7 s CPU a process.
unset PYTHONDONTWRITEBYTECODE
.venv/bin/python -m compileall -q -j 0 server kiosk lobby_display counter_client printers bench tests >/dev/null

# --- services on loopback, in folders of their own under /tmp ---------------------
PG_BIN=$(ls -d /usr/lib/postgresql/*/bin | sort -V | tail -n 1)
PG_PORT=${LOBBYQ_PG_PORT:-54329}
REDIS_PORT=${LOBBYQ_REDIS_PORT:-63799}
PG_DIR=/tmp/lobbyq-test-pg
if ! "$PG_BIN/pg_isready" -h 127.0.0.1 -p "$PG_PORT" -q 2>/dev/null; then
  rm -rf "$PG_DIR"; mkdir -p "$PG_DIR"; chown postgres:postgres "$PG_DIR"
  su postgres -c "$PG_BIN/initdb -D $PG_DIR/data -U postgres --auth=trust -E UTF8 >/dev/null"
  su postgres -c "$PG_BIN/pg_ctl -D $PG_DIR/data -w -l $PG_DIR/log \
    -o '-h 127.0.0.1 -p $PG_PORT -k $PG_DIR -c fsync=off -c max_connections=400' start >/dev/null"
fi
if ! redis-cli -h 127.0.0.1 -p "$REDIS_PORT" ping >/dev/null 2>&1; then
  redis-server --port "$REDIS_PORT" --bind 127.0.0.1 --daemonize yes --save '' --appendonly no >/dev/null
fi
export LOBBYQ_TEST_REDIS="redis://127.0.0.1:$REDIS_PORT/0"
PG_URL="postgresql+psycopg://postgres@127.0.0.1:$PG_PORT/postgres"

run_pytest() {
  set +e
  .venv/bin/python -m pytest "$@"
  local code=$?
  set -e
  if [ $code -eq 5 ]; then echo "no test ran"; exit 1; fi
  if [ $code -ne 0 ]; then exit $code; fi
}

echo "== lint and types"
.venv/bin/ruff check server kiosk lobby_display counter_client printers tests bench
.venv/bin/mypy server kiosk lobby_display counter_client printers tests

# Three workers: most tests wait on a server, a subprocess or Chromium, not the CPU.
WORKERS=${LOBBYQ_TEST_WORKERS:-3}

echo "== test suite on SQLite"
run_pytest -q -p no:cacheprovider -n "$WORKERS" "$@"

echo "== test suite on PostgreSQL"
LOBBYQ_TEST_POSTGRES="$PG_URL" run_pytest -q -p no:cacheprovider -n "$WORKERS" "$@"
