#!/usr/bin/env bash
# Issue 5's dashboard benchmark: server-side render time of each page, as wrk sees it
# over one connection (sequential requests, so p50 is one page's latency), against a
# release build, on the demo data and on the 200-service dataset of bench/metrics.sh.
#   bash bench/dashboard.sh [seconds per page=5] [runs=2]
# Needs wrk (apt-get install wrk). The 200-service SQLite database is loaded once into
# bench-out/metrics.db (about a minute and a half) and reused.
set -euo pipefail
cd "$(dirname "$0")/.."
SECS=${1:-5}
RUNS=${2:-2}
OUT=bench-out
mkdir -p "$OUT"
cargo build --release -q -p rodeo -p rodeo-bench
PID=
trap '[ -n "$PID" ] && kill $PID 2>/dev/null || true' EXIT

login() { # base token -> prints the session cookie
  local base=$1 token=$2 jar="$OUT/dash.jar"
  rm -f "$jar"
  local csrf
  csrf=$(curl -fs -c "$jar" -b "$jar" "$base/login" | grep -o 'name="_csrf" value="[^"]*"' | sed 's/.*value="//;s/"$//')
  curl -fs -o /dev/null -c "$jar" -b "$jar" --data-urlencode "_csrf=$csrf" \
    --data-urlencode "next=/" --data-urlencode "token=$token" "$base/login"
  awk '$6 == "rodeo_session" { print "rodeo_session=" $7 }' "$jar" | grep . || { echo "login to $base failed" >&2; exit 1; }
}

first_link() { # base cookie page prefix -> the first href starting with prefix
  curl -fs -H "Cookie: $2" "$1$3" | grep -o "href=\"$4[^\"]*\"" | head -n1 | sed 's/^href="//;s/"$//;s/&amp;/\&/g;s/&#38;/\&/g'
}

measure() { # label base cookie pages...
  local label=$1 base=$2 cookie=$3
  shift 3
  for r in $(seq 1 "$RUNS"); do
    echo "## $label, run $r: page | p50 | p90 | p99 | requests"
    for page in "$@"; do
      curl -fs -o /dev/null -H "Cookie: $cookie" "$base$page" # warm caches
      wrk -t1 -c1 -d"${SECS}s" --latency -H "Cookie: $cookie" "$base$page" >"$OUT/wrk.out"
      local p50 p90 p99 n
      p50=$(awk '$1 == "50%" { print $2 }' "$OUT/wrk.out")
      p90=$(awk '$1 == "90%" { print $2 }' "$OUT/wrk.out")
      p99=$(awk '$1 == "99%" { print $2 }' "$OUT/wrk.out")
      n=$(awk '/requests in/ { print $1 }' "$OUT/wrk.out")
      echo "$page | $p50 | $p90 | $p99 | $n"
    done
  done
}

pages_of() { # base cookie -> the pages to time, one per line
  local base=$1 cookie=$2 svc dep inc flag cmp env
  svc=$(first_link "$base" "$cookie" /environments /services/)
  dep=$(first_link "$base" "$cookie" / /deployments/)
  inc=$(first_link "$base" "$cookie" "/incidents?status=all" /incidents/)
  env=$(first_link "$base" "$cookie" /flags /flags/)
  flag=$( [ -n "$env" ] && first_link "$base" "$cookie" "$env" "$env/" || true)
  cmp=$(first_link "$base" "$cookie" /environments /compare)
  printf '%s\n' / /environments "$svc" "$dep" "$cmp" "/incidents?status=all" "$inc" "$env" "$flag" /events /tv | grep -v '^$'
}

# The demo data, as `rodeo demo` makes it (180 days, 12 services).
DEMO_PORT=7793
rm -f "$OUT"/dash-demo.db*
./target/release/rodeo --output json demo --fresh --database "$OUT/dash-demo.db" \
  --listen 127.0.0.1:$DEMO_PORT >"$OUT/demo.json" 2>"$OUT/demo.log" &
PID=$!
for _ in $(seq 1 600); do [ -s "$OUT/demo.json" ] && break; sleep 0.5; done
TOKEN=$(python3 -c 'import json,sys; print(json.load(open(sys.argv[1]))["read_token"])' "$OUT/demo.json")
BASE=http://127.0.0.1:$DEMO_PORT
COOKIE=$(login "$BASE" "$TOKEN")
mapfile -t PAGES < <(pages_of "$BASE" "$COOKIE")
measure "demo data" "$BASE" "$COOKIE" "${PAGES[@]}"
kill -TERM $PID; wait $PID || true; PID=

# The 200-service dataset (2 years, 292k production deployments, 2M commits).
[ -f "$OUT/metrics.db" ] || rm -f "$OUT/metrics.token"
if [ ! -s "$OUT/metrics.token" ]; then
  ./target/release/rodeo-bench load-metrics --database-url "sqlite://$OUT/metrics.db" >"$OUT/load.out"
  grep -o 'rodeo_[0-9a-f]\{48\}' "$OUT/load.out" >"$OUT/metrics.token"
fi
BIG_PORT=7794
./target/release/rodeo serve --database-url "sqlite://$OUT/metrics.db" --listen 127.0.0.1:$BIG_PORT \
  >"$OUT/serve.out" 2>"$OUT/serve.log" &
PID=$!
BASE=http://127.0.0.1:$BIG_PORT
for _ in $(seq 1 600); do curl -fs "$BASE/healthz" >/dev/null 2>&1 && break; sleep 0.1; done
COOKIE=$(login "$BASE" "$(cat "$OUT/metrics.token")")
mapfile -t PAGES < <(pages_of "$BASE" "$COOKIE")
measure "200 services" "$BASE" "$COOKIE" "${PAGES[@]}"
kill -TERM $PID; wait $PID || true; PID=
