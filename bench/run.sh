#!/usr/bin/env bash
# Reproduces docs/benchmarks.md: release build, fresh databases, wrk against the server.
#   bash bench/run.sh [runs=3] [seconds=20]
# Needs wrk (apt-get install wrk) and, for the PostgreSQL column, the local server.
set -euo pipefail
cd "$(dirname "$0")/.."
RUNS=${1:-3}
SECS=${2:-20}
PG_ADMIN=${RODEO_BENCH_POSTGRES_URL:-postgres://postgres@127.0.0.1:5432/postgres}
PORT=7787
OUT=bench-out
mkdir -p "$OUT"
cargo build --release -q
BIN=./target/release/rodeo
PID=
trap '[ -n "$PID" ] && kill $PID 2>/dev/null || true' EXIT

start_server() { # url of an empty database -> sets PID, TOKEN (the bootstrap admin token)
  local url=$1
  $BIN serve --database-url "$url" --listen 127.0.0.1:$PORT >"$OUT/server.out" 2>"$OUT/server.log" &
  PID=$!
  for _ in $(seq 1 100); do
    if curl -fs "http://127.0.0.1:$PORT/healthz" >/dev/null 2>&1; then
      TOKEN=$(grep -o 'rodeo_[0-9a-f]\{48\}' "$OUT/server.out" | head -n1)
      return 0
    fi
    sleep 0.1
  done
  echo "server did not start"; cat "$OUT/server.log"; exit 1
}

stop_server() {
  RSS=$(awk '/VmHWM/ {print $2}' /proc/$PID/status)
  kill -TERM $PID; wait $PID || true
}

wrk_run() { # label script args... -> appends to $OUT/results.tsv
  local label=$1; shift
  wrk --latency "$@" >"$OUT/wrk.txt" 2>"$OUT/wrk.err"
  python3 - "$label" "$OUT/wrk.txt" >>"$OUT/results.tsv" <<'PY'
import re, sys
label, path = sys.argv[1], sys.argv[2]
t = open(path).read()
def ms(p):
    m = re.search(r"^\s+%s%%\s+([\d.]+)(us|ms|s)\s*$" % p, t, re.M)
    v, u = float(m.group(1)), m.group(2)
    return v / 1000 if u == "us" else v * 1000 if u == "s" else v
rps = float(re.search(r"Requests/sec:\s+([\d.]+)", t).group(1))
non2xx = re.search(r"Non-2xx or 3xx responses: (\d+)", t)
errs = re.search(r"Socket errors: (.*)", t)
print("\t".join([label, "%.0f" % rps, "%.2f" % ms(50), "%.2f" % ms(99),
                 non2xx.group(1) if non2xx else "0", errs.group(1) if errs else "-"]))
PY
  if [ -s "$OUT/wrk.err" ]; then head -3 "$OUT/wrk.err"; fi
}

: >"$OUT/results.tsv"; : >"$OUT/cold.txt"
fresh() { # backend -> prints a database URL for an empty database
  if [ "$1" = sqlite ]; then
    rm -f "$OUT"/bench.db*; echo "sqlite://$OUT/bench.db"
  else
    psql "$PG_ADMIN" -qc "DROP DATABASE IF EXISTS rodeo_bench WITH (FORCE)" -qc "CREATE DATABASE rodeo_bench" 2>/dev/null
    echo "${PG_ADMIN%/*}/rodeo_bench"
  fi
}
for run in $(seq 1 "$RUNS"); do
  echo "== run $run of $RUNS"
  # Ingest: 32 concurrent clients, each deployment carrying 10 new commits.
  for backend in sqlite postgres; do
    start_server "$(fresh $backend)"
    wrk_run "ingest-$backend" -t2 -c32 -d"${SECS}s" -s bench/ingest.lua "http://127.0.0.1:$PORT" -- "$TOKEN"
    stop_server
    printf "rss-ingest-%s\t%s\n" "$backend" "$RSS" >>"$OUT/results.tsv"
  done
  # Reads, one connection (latency, not throughput), on exactly 500 services x 4 environments.
  start_server "$(fresh sqlite)"
  python3 bench/seed.py "http://127.0.0.1:$PORT" "$TOKEN" status >/dev/null
  id=$(python3 bench/seed.py "http://127.0.0.1:$PORT" "$TOKEN" big)
  wrk_run "status-500x4-cached" -t1 -c1 -d"${SECS}s" -s bench/get.lua "http://127.0.0.1:$PORT" -- "$TOKEN" /api/v1/status
  wrk_run "deployment-500-commits" -t1 -c1 -d"${SECS}s" -s bench/get.lua "http://127.0.0.1:$PORT" -- "$TOKEN" "/api/v1/deployments/$id"
  python3 bench/seed.py "http://127.0.0.1:$PORT" "$TOKEN" cold-status | tee -a "$OUT/cold.txt"
  stop_server
done

python3 - "$OUT/results.tsv" <<'PY'
import statistics, sys
rows = [l.rstrip("\n").split("\t") for l in open(sys.argv[1]) if l.strip()]
by = {}
for r in rows:
    by.setdefault(r[0], []).append(r[1:])
print("| benchmark | runs | req/s median (min–max) | p50 ms median (min–max) | p99 ms median (min–max) | non-2xx |")
print("|---|---|---|---|---|---|")
for k, v in by.items():
    if k.startswith("rss-"):
        kb = [int(x[0]) for x in v]
        print("| peak RSS, %s | %d | %.0f MiB median (%.0f–%.0f) | | | |" % (k[4:], len(kb), statistics.median(kb) / 1024, min(kb) / 1024, max(kb) / 1024))
        continue
    col = lambda i: [float(x[i]) for x in v]
    f = lambda xs, p: ("%." + p + "f (%." + p + "f–%." + p + "f)") % (statistics.median(xs), min(xs), max(xs))
    print("| %s | %d | %s | %s | %s | %s |" % (k, len(v), f(col(0), "0"), f(col(1), "2"), f(col(2), "2"), sum(int(x[3]) for x in v)))
PY
