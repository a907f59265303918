#!/usr/bin/env bash
# `make demo-kafka`: a mock Kafka cluster (kafka-mock-broker), the server consuming a topic of it
# and the simulator producing to that topic at 100 records/s, until Ctrl-C stops all three
# cleanly. HTTP, RATE, OUT, TOPIC, PARTITIONS, BROKERS, GROUP, INGEST and BIN_DIR (the binaries,
# default build/release) override the defaults.
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
# shellcheck source=scripts/demo-lib.sh
source "$root/scripts/demo-lib.sh"
bin=${BIN_DIR:-$root/build/release}
http=${HTTP:-127.0.0.1:8080}
rate=${RATE:-100}
out=${OUT:-$root/demo-kafka-out}
topic=${TOPIC:-orders}
partitions=${PARTITIONS:-4}
brokers=${BROKERS:-1}
group=${GROUP:-orderpulse-demo}
mkdir -p "$out"

# The simulator's product catalog, so categories and stock come from it.
"$bin/orderpulse-sim" generate --count 1 --out /dev/null --catalog-out "$out/catalog.csv" 2>/dev/null

broker="" server="" sim=""
# Producer first, broker last: the server commits its offsets to the broker on the way out.
stop() {
  trap - INT TERM EXIT
  for pid in "$sim" "$server" "$broker"; do
    [ -n "$pid" ] || continue
    kill -TERM "$pid" 2>/dev/null || true
    wait "$pid" 2>/dev/null || true
  done
  echo "stopped; results in $out (broker log: $out/kafka-mock-broker.log)"
  exit 0
}
trap stop INT TERM EXIT

# The broker prints its bootstrap address as its first stdout line. Its stdin (the control
# channel: down/up) is /dev/null here; it keeps running after reading its end. Its own session,
# so that Ctrl-C (which reaches the whole process group) leaves it up until the server is gone.
setsid "$bin/kafka-mock-broker" --brokers "$brokers" --topic "$topic" --partitions "$partitions" \
  >"$out/kafka-mock-broker.addr" 2>"$out/kafka-mock-broker.log" </dev/null &
broker=$!
addr=""
for _ in $(seq 100); do
  addr=$(head -n 1 "$out/kafka-mock-broker.addr" 2>/dev/null || true)
  [ -n "$addr" ] && break
  kill -0 "$broker" 2>/dev/null || { echo "kafka-mock-broker did not start: $(cat "$out/kafka-mock-broker.log")" >&2; exit 1; }
  sleep 0.1
done
[ -n "$addr" ] || { echo "kafka-mock-broker printed no address within 10 s" >&2; exit 1; }

serve_args=(--kafka-brokers "$addr" --kafka-topic "$topic" --kafka-group "$group")
[ -n "${INGEST:-}" ] && serve_args+=(--ingest "$INGEST")
"$bin/orderpulse" serve "${serve_args[@]}" --http "$http" --output-dir "$out" --catalog "$out/catalog.csv" &
server=$!

# The mock takes about 3 s for the first join of a consumer group.
wait_ready "$http" "$server" 150
"$bin/orderpulse-sim" generate --to "kafka://$addr/$topic" --rate "$rate" "${demo_sim_flags[@]}" &
sim=$!

cat <<MSG

  dashboard  http://$http/
  feed       ws://$http/ws
  metrics    http://$http/metrics
  snapshot   http://$http/api/snapshot
  kafka      $addr  topic $topic ($partitions partitions), consumer group $group
             kcat -b $addr -L                          # brokers, partitions, leaders
             kcat -b $addr -C -t $topic -o end -q      # watch the records go by

  simulator producing $rate records/s; $demo_alerts_text.
  Ctrl-C stops all three.
MSG
wait "$server"
