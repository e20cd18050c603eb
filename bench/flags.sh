#!/usr/bin/env bash
# Issue 4's HTTP flag benchmarks (docs/benchmarks.md, "Feature flags"):
#   1. OFREP single-flag throughput (wrk, 64 connections) and latency at a fixed
#      5,000 requests/s (oha -q 5000), on a targeted flag of a 100-flag set;
#   2. OFREP bulk evaluation of all 100 flags (wrk);
#   3. the same against unleash-edge in offline mode on the equivalent Unleash features
#      (its frontend API: one toggle, and all toggles), in the same run;
#   4. flag-change delivery to 1,000 OFREP SSE streams (rodeo-bench sse-latency).
#   bash bench/flags.sh [runs=3] [seconds=15]
# Needs wrk (apt-get install wrk); oha and unleash-edge (cargo install oha unleash-edge)
# for the fixed-rate latency and the peer; missing tools skip their rows loudly.
set -euo pipefail
cd "$(dirname "$0")/.."
RUNS=${1:-3}
SECS=${2:-15}
PORT=7801
EDGE_PORT=7802
OUT=bench-out/flags
mkdir -p "$OUT"
ulimit -n 65536 2>/dev/null || ulimit -n 4096 || true
cargo build --release -q -p rodeo -p rodeo-bench
BIN=./target/release/rodeo
PIDS=()
trap 'for p in "${PIDS[@]}"; do kill $p 2>/dev/null || true; done' EXIT
python3 bench/flags.py "$OUT"

rm -f "$OUT"/rodeo.db*
$BIN serve --database-url "sqlite://$OUT/rodeo.db" --listen 127.0.0.1:$PORT >"$OUT/server.out" 2>"$OUT/server.log" &
PIDS+=($!)
for _ in $(seq 1 100); do curl -fs "http://127.0.0.1:$PORT/healthz" >/dev/null 2>&1 && break; sleep 0.1; done
ADMIN=$(grep -o 'rodeo_[0-9a-f]\{48\}' "$OUT/server.out" | head -n1)
api() { curl -fsS -H "Authorization: Bearer $ADMIN" -H 'Content-Type: application/json' "$@"; }
api -X PUT "http://127.0.0.1:$PORT/api/v1/flags/production/definition" --data-binary "@$OUT/flags-100.json" >/dev/null
KEY=$(api -X POST "http://127.0.0.1:$PORT/api/v1/tokens" -d '{"name":"bench","scope":"sdk_client","environment":"production"}' \
  | python3 -c 'import json,sys; print(json.load(sys.stdin)["secret"])')
SINGLE=/ofrep/v1/evaluate/flags/targeted-07
BODY='{"context":{"targetingKey":"user-1","email":"ada@acme.com","plan":"pro","country":"DE","seats":42,"appVersion":"4.3.0"}}'
curl -fsS -X POST "http://127.0.0.1:$PORT$SINGLE" -H "Authorization: Bearer $KEY" -d "$BODY"; echo

EDGE=
if command -v unleash-edge >/dev/null; then
  EDGE_TOKEN='*:production.bench-frontend-token'
  unleash-edge --port $EDGE_PORT --workers 2 offline --bootstrap-file "$OUT/unleash-features.json" \
    --client-tokens "$EDGE_TOKEN" --frontend-tokens "$EDGE_TOKEN" >"$OUT/edge.log" 2>&1 &
  PIDS+=($!)
  for _ in $(seq 1 100); do curl -fs "http://127.0.0.1:$EDGE_PORT/internal-backstage/health" >/dev/null 2>&1 && break; sleep 0.1; done
  curl -fsS "http://127.0.0.1:$EDGE_PORT/api/frontend/features/targeted-07?userId=u1&properties%5Bemail%5D=ada@acme.com&properties%5Bplan%5D=pro&properties%5Bseats%5D=42" \
    -H "Authorization: $EDGE_TOKEN" && echo && EDGE=1 || echo "!!! unleash-edge did not answer; its rows are skipped (see $OUT/edge.log)"
else
  echo "!!! unleash-edge not installed (cargo install unleash-edge): its rows are skipped"
fi

wrk_run() { # label args... -> appends "label rps p50 p99 non2xx" to results.tsv
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
print("\t".join([label, "%.0f" % rps, "%.2f" % ms(50), "%.2f" % ms(99), non2xx.group(1) if non2xx else "0"]))
PY
  if [ -s "$OUT/wrk.err" ]; then head -3 "$OUT/wrk.err"; fi
}

oha_run() { # label url args... -> fixed 5,000 req/s; appends "label rps p50 p99 non2xx"
  local label=$1; shift
  if ! command -v oha >/dev/null; then echo "!!! oha not installed: $label skipped"; return; fi
  oha --no-tui --output-format json --latency-correction -z "${SECS}s" -q 5000 -c 32 "$@" >"$OUT/oha.json"
  python3 - "$label" "$OUT/oha.json" >>"$OUT/results.tsv" <<'PY'
import json, sys
label, path = sys.argv[1], sys.argv[2]
d = json.load(open(path))
codes = d.get("statusCodeDistribution", {})
bad = sum(v for k, v in codes.items() if k != "200")
p = d["latencyPercentiles"]
print("\t".join([label, "%.0f" % d["summary"]["requestsPerSec"], "%.2f" % (p["p50"] * 1000), "%.2f" % (p["p99"] * 1000), str(bad)]))
PY
}

: >"$OUT/results.tsv"
for run in $(seq 1 "$RUNS"); do
  echo "== run $run of $RUNS"
  wrk_run ofrep-single -t2 -c64 -d"${SECS}s" -s bench/ofrep.lua "http://127.0.0.1:$PORT" -- "$KEY" "$SINGLE"
  oha_run ofrep-single-at-5000 -m POST -H "Authorization: Bearer $KEY" -H 'Content-Type: application/json' -d "$BODY" "http://127.0.0.1:$PORT$SINGLE"
  wrk_run ofrep-bulk-100 -t2 -c64 -d"${SECS}s" -s bench/ofrep.lua "http://127.0.0.1:$PORT" -- "$KEY" /ofrep/v1/evaluate/flags
  if [ -n "$EDGE" ]; then
    wrk_run edge-single -t2 -c64 -d"${SECS}s" -s bench/ofrep.lua "http://127.0.0.1:$EDGE_PORT" -- "$EDGE_TOKEN" /api/frontend/features/targeted-07 edge
    oha_run edge-single-at-5000 -H "Authorization: $EDGE_TOKEN" "http://127.0.0.1:$EDGE_PORT/api/frontend/features/targeted-07?userId=u1&properties%5Bemail%5D=ada@acme.com&properties%5Bplan%5D=pro&properties%5Bseats%5D=42"
    wrk_run edge-bulk-100 -t2 -c64 -d"${SECS}s" -s bench/ofrep.lua "http://127.0.0.1:$EDGE_PORT" -- "$EDGE_TOKEN" /api/frontend edge
  fi
done

echo "== flag change -> 1,000 SSE streams"
./target/release/rodeo-bench sse-latency --url "http://127.0.0.1:$PORT" --admin-token "$ADMIN" --sdk-key "$KEY" \
  --env production --flag static-00 --streams 1000 --changes 20 | tee "$OUT/sse.txt"

echo "== results (label, requests/s, p50 ms, p99 ms, non-2xx)"
column -t "$OUT/results.tsv"
