#!/usr/bin/env bash
# Canyu beside PostGraphile 4 on one machine, one Postgres database, the same queries.
#
#   bash bench/peer.sh [--duration 10] [--out bench/peer-latest.md]
#
# What it does (details in bench/peer.py, which it runs):
#   1. a fresh database canyu_peer on 127.0.0.1:5432 (user postgres, trust auth): Canyu's
#      migrations and `canyu seed-demo --users 1000 --suggestions 10000 --votes 200000
#      --comments 20000`, a Van Westendorp pricing poll with 100 000 ballots (bench/pricing.py's
#      SQL), the schema `peer` (bench/peer/peer.sql), then ANALYZE;
#   2. PostGraphile 4.14.1 (bench/peer/package.json, installed by npm into
#      bench/peer/node_modules unless already there): NODE_ENV=production, one Node process,
#      --max-pool-size 10, no GraphiQL, no query log, schemas public,peer;
#   3. Canyu's release binary on the same database: CANYU_ENV=production,
#      DATABASE_MAX_CONNECTIONS=10, and these raised so that the load is not throttled:
#        RATE_LIMIT_MUTATIONS=1000000000   (castVote counts against it: 120 a minute by default)
#        ACCESS_TOKEN_TTL_SECS=7200        (tokens signed in at the start outlive the run)
#      Every other limit keeps its default: W4's abusive documents must be refused as in
#      production. Counting castVote still costs Canyu one upsert on rate_limit_window;
#   Every client reaches Postgres over loopback without TLS (PGSSLMODE=disable unless set, as
#   PostGraphile's node-postgres does by default; bench/run.py sets it), so no side pays for
#   encryption the other does not;
#   4. wrk (2 threads; 1 at concurrency 1), A/B per workload and concurrency (1, 8, 32): a 3 s
#      warm-up, then --duration seconds; every response checked (HTTP 200, no "errors"); during
#      W2 what the database's backends wait on is sampled from pg_stat_activity;
#   5. pgbench -M prepared on the raw SQL of W1, W1n and W2 in the same run;
#   6. each server's peak RSS (VmHWM), 7. counters against vote rows after W2,
#   8. Canyu alone on SQLite beside the same SQL through the sqlite3 shell;
#   9. one markdown report on stdout and in --out (default bench/peer-latest.md, gitignored).
#
# Needs: Postgres at 127.0.0.1:5432, psql and pgbench, node and npm (the npm registry, for the
# first install only), sqlite3, python3, wrk (installed with apt-get when missing and running
# as root), and Canyu's release binary: $CANYU_BIN, else target/release/canyu
# (cargo build --release -p canyu). Every server it starts listens on 127.0.0.1 and is stopped
# when it ends, however it ends; all traffic goes to 127.0.0.1 and is bounded in time. About 13
# minutes with the default duration on 2 cores.
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
PEER="$ROOT/bench/peer"

die() {
  echo "bench/peer.sh: $*" >&2
  exit 1
}

for tool in python3 psql node npm sqlite3; do
  command -v "$tool" >/dev/null 2>&1 || die "$tool not found (see the header of bench/peer.sh for what is needed)"
done
if ! command -v pgbench >/dev/null 2>&1 && ! ls /usr/lib/postgresql/*/bin/pgbench >/dev/null 2>&1; then
  die "pgbench not found (it ships with the PostgreSQL server package, e.g. apt-get install postgresql)"
fi
if ! command -v wrk >/dev/null 2>&1; then
  if [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null 2>&1; then
    echo "wrk not found: apt-get install -y wrk" >&2
    apt-get install -y wrk >/dev/null 2>&1 || { apt-get update >/dev/null && apt-get install -y wrk >/dev/null; } \
      || die "could not install wrk"
  else
    die "wrk not found (Debian: apt-get install wrk)"
  fi
fi

CANYU_BIN="${CANYU_BIN:-$ROOT/target/release/canyu}"
[ -x "$CANYU_BIN" ] || die "no Canyu binary at $CANYU_BIN: cargo build --release -p canyu, or set CANYU_BIN"
export CANYU_BIN

pg_isready -q -h 127.0.0.1 -p 5432 2>/dev/null || psql -h 127.0.0.1 -U postgres -d postgres -Atqc 'SELECT 1' >/dev/null 2>&1 \
  || die "Postgres does not answer at 127.0.0.1:5432 as user postgres"

if [ ! -f "$PEER/node_modules/postgraphile/package.json" ]; then
  echo "installing PostGraphile into bench/peer/node_modules (npm)…" >&2
  (cd "$PEER" && npm install --no-audit --no-fund --loglevel=error >&2) || die "npm install failed in bench/peer"
fi

# bench/peer.py stops its servers itself; should it die without doing so, the pids it wrote
# are ended here (each only while it is still the process that was started).
PIDFILE="$(mktemp "${TMPDIR:-/tmp}/canyu-peer-pids.XXXXXX")"
export PEER_PIDFILE="$PIDFILE"
cleanup() {
  local pid
  while read -r pid; do
    [ -n "$pid" ] || continue
    if [ -r "/proc/$pid/cmdline" ] && tr '\0' ' ' <"/proc/$pid/cmdline" | grep -Eq 'canyu|postgraphile'; then
      kill "$pid" 2>/dev/null || true
      sleep 1
      kill -9 "$pid" 2>/dev/null || true
    fi
  done <"$PIDFILE"
  rm -f "$PIDFILE"
}
trap cleanup EXIT

python3 "$ROOT/bench/peer.py" "$@" &
PY=$!
# An interrupt or a TERM is passed on as TERM: bench/peer.py then stops its servers and exits.
trap 'kill -TERM "$PY" 2>/dev/null || true; wait "$PY" || true; exit 130' INT
trap 'kill -TERM "$PY" 2>/dev/null || true; wait "$PY" || true; exit 143' TERM
wait "$PY"
