#!/usr/bin/env bash
# Issue 3's metrics benchmark on both backends: load the dataset (200 services, 2 years,
# ~292k production deployments, 2M commits) through the store, serve it, and time the
# metrics endpoints.   bash bench/metrics.sh [requests=20] [runs=3]
# Skips loading when the database exists (delete bench-out/metrics.db, or drop the
# rodeo_bench_metrics PostgreSQL database, to reload).
set -euo pipefail
cd "$(dirname "$0")/.."
N=${1:-20}
RUNS=${2:-3}
OUT=bench-out
PORT=7792
PG_ADMIN=${RODEO_BENCH_POSTGRES_URL:-postgres://postgres@127.0.0.1:5432}
mkdir -p "$OUT"
cargo build --release -q -p rodeo -p rodeo-bench
PID=
trap '[ -n "$PID" ] && kill $PID 2>/dev/null || true' EXIT

load() { # url -> prints the read token, loading first if needed
  local url=$1 tokfile=$2
  if [ ! -s "$tokfile" ]; then
    ./target/release/rodeo-bench load-metrics --database-url "$url" >"$OUT/load.out"
    cat "$OUT/load.out" >&2
    grep -o 'rodeo_[0-9a-f]\{48\}' "$OUT/load.out" >"$tokfile"
  fi
  cat "$tokfile"
}

measure() { # label url token
  local label=$1 url=$2 token=$3
  ./target/release/rodeo serve --database-url "$url" --listen 127.0.0.1:$PORT >"$OUT/serve.out" 2>"$OUT/serve.log" &
  PID=$!
  for _ in $(seq 1 100); do curl -fs "http://127.0.0.1:$PORT/healthz" >/dev/null 2>&1 && break; sleep 0.1; done
  for r in $(seq 1 "$RUNS"); do
    echo "## $label run $r"
    python3 bench/metrics.py "http://127.0.0.1:$PORT" "$token" "$N"
  done
  kill -TERM $PID; wait $PID || true; PID=
}

SQLITE_URL="sqlite://$OUT/metrics.db"
[ -f "$OUT/metrics.db" ] || rm -f "$OUT/metrics.token"
TOKEN=$(load "$SQLITE_URL" "$OUT/metrics.token")
measure sqlite "$SQLITE_URL" "$TOKEN"

if psql "$PG_ADMIN/postgres" -tAc "SELECT 1 FROM pg_database WHERE datname = 'rodeo_bench_metrics'" | grep -q 1; then :; else
  psql "$PG_ADMIN/postgres" -c "CREATE DATABASE rodeo_bench_metrics" >/dev/null
  rm -f "$OUT/metrics-pg.token"
fi
PG_URL="$PG_ADMIN/rodeo_bench_metrics"
TOKEN=$(load "$PG_URL" "$OUT/metrics-pg.token")
measure postgres "$PG_URL" "$TOKEN"
