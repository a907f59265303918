#!/usr/bin/env bash
# `make demo`: the server and the simulator at 100 records/s, until Ctrl-C stops both cleanly.
# INGEST, HTTP, RATE and OUT override the defaults.
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
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

for _ in $(seq 50); do
  curl -fs "http://$http/readyz" >/dev/null 2>&1 && break
  kill -0 "$server" 2>/dev/null || { echo "the server did not start" >&2; exit 1; }
  sleep 0.1
done
# Scenarios (docs/alerts.md) so every data alert shows up while you watch.
"$bin/orderpulse-sim" generate --to "tcp://$ingest" --rate "$rate" --late 0.005 --duplicates 0.005 --malformed 0.002 \
  --customers 100000 --whale 30s --sold-out 45s --restock 5m --drop 12m --burst 20m &
sim=$!

cat <<MSG

  dashboard  http://$http/
  feed       ws://$http/ws
  metrics    http://$http/metrics
  snapshot   http://$http/api/snapshot
  ingest     tcp://$ingest  (NDJSON, one order line per line)

  simulator sending $rate records/s; alerts, counted from the first whole minute: a whale at
  30s, a product sold out at 45s and restocked at 5m, a sales drop at 12m and a burst at 20m
  (each shows about 30 s later, once the watermark passes it). Ctrl-C stops both.
MSG
wait "$server"
