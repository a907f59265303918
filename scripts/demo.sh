#!/usr/bin/env bash
# `make demo`: the server and the simulator at 100 records/s, until Ctrl-C stops both cleanly.
# INGEST, HTTP, RATE and OUT override the defaults.
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
# shellcheck source=scripts/demo-lib.sh
source "$root/scripts/demo-lib.sh"
bin="$root/build/release"
ingest=${INGEST:-127.0.0.1:9000}
http=${HTTP:-127.0.0.1:8080}
rate=${RATE:-100}
out=${OUT:-$root/demo-out}
mkdir -p "$out"

# The simulator's product catalog, so categories and stock come from it.
"$bin/orderpulse-sim" generate --count 1 --out /dev/null --catalog-out "$out/catalog.csv" 2>/dev/null

"$bin/orderpulse" serve --ingest "$ingest" --http "$http" --output-dir "$out" --catalog "$out/catalog.csv" &
server=$!
sim=""
stop() {
  trap - INT TERM EXIT
  [ -n "$sim" ] && kill -INT "$sim" 2>/dev/null || true
  kill -INT "$server" 2>/dev/null || true
  wait 2>/dev/null || true
  echo "stopped; results in $out"
  exit 0
}
trap stop INT TERM EXIT

wait_ready "$http" "$server" 50
"$bin/orderpulse-sim" generate --to "tcp://$ingest" --rate "$rate" "${demo_sim_flags[@]}" &
sim=$!

cat <<MSG

  dashboard  http://$http/
  feed       ws://$http/ws
  metrics    http://$http/metrics
  snapshot   http://$http/api/snapshot
  ingest     tcp://$ingest  (NDJSON, one order line per line)

  simulator sending $rate records/s; $demo_alerts_text.
  Ctrl-C stops both.
MSG
wait "$server"
