#!/usr/bin/env bash
# Kafka ingest, in one run: records/s from the mock broker (kafka-mock-broker) through
# `orderpulse serve --kafka-topic ... --exit-at-eof` against kcat consuming the same topic to
# /dev/null (the target: the server at least 70% of kcat's rate). Two comparisons:
#   - streaming rate: the server from its first message to the end of the last partition, as its
#     log tells, against kcat without a group (no join), start to end;
#   - like for like: both as a new member of a consumer group, process start to exit, group join
#     (about 3 s with the mock) included for both. Median of RUNS runs each. Writes
# bench/results/<date>/kafka.json and prints a table. Every loop is bounded (RUNS runs, timeouts).
#
#   BIN_DIR=build/release bench/kafka_bench.sh        COUNT=800000 PARTITIONS=48 RUNS=3
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
bin=${BIN_DIR:-$root/build/release}
count=${COUNT:-1000000}
# The 2.0.2 mock keeps about 5 MiB per partition: spread the records so none is trimmed.
partitions=${PARTITIONS:-64}
runs=${RUNS:-3}
out="$root/bench/results/${RESULTS_NAME:-$(date -u +%Y-%m-%d)}"
work=$(mktemp -d)
mkdir -p "$out"
broker_pid=""
cleanup() { [ -n "$broker_pid" ] && kill "$broker_pid" 2>/dev/null; rm -rf "$work"; }
trap cleanup EXIT

# shellcheck source=bench/lib.sh
source "$root/bench/lib.sh"

# The end of its stdin does not stop the broker (it only reads control commands there).
"$bin/kafka-mock-broker" --brokers 1 --topic orders --partitions "$partitions" </dev/null >"$work/broker.out" 2>"$work/broker.log" &
broker_pid=$!
for _ in $(seq 100); do [ -s "$work/broker.out" ] && break; sleep 0.1; done
bootstrap=$(head -1 "$work/broker.out")
[ -n "$bootstrap" ] || { echo "kafka-mock-broker did not start: $(cat "$work/broker.log")" >&2; exit 1; }

"$bin/orderpulse-sim" generate --seed 7 --count "$count" --rate 1000 --disorder 5s --late 0 --duplicates 0.01 \
  --malformed 0.001 --out "$work/orders.ndjson" 2>/dev/null
"$bin/orderpulse-sim" replay --in "$work/orders.ndjson" --to "kafka://$bootstrap/orders" --rate max 2>"$work/produce.txt"
echo "produced: $(cat "$work/produce.txt")" >&2

kcat_rates=() kcatg_walls=() server_rates=() server_walls=() server_cpu=()
for i in $(seq "$runs"); do
  /usr/bin/time -f '%e' -o "$work/kcat.time" timeout 120 kcat -C -b "$bootstrap" -t orders -o beginning -e -q >/dev/null
  kcat_rates+=("$(echo "$count / $(cat "$work/kcat.time")" | bc -l)")
  /usr/bin/time -f '%e' -o "$work/kcatg.time" timeout 120 kcat -G "kcat-$i-$$" -b "$bootstrap" -o beginning -e -q orders >/dev/null
  kcatg_walls+=("$(cat "$work/kcatg.time")")

  /usr/bin/time -f '%e %U %S' -o "$work/serve.time" timeout 180 "$bin/orderpulse" serve --ingest 127.0.0.1:0 --http 127.0.0.1:0 \
    --kafka-brokers "$bootstrap" --kafka-topic orders --kafka-group "bench-$i-$$" --exit-at-eof \
    --output-dir "$work/out-$i" 2>"$work/serve-$i.log"
  # spdlog timestamps: 2026-11-23T04:03:27.716Z
  t0=$(grep -m1 'kafka: first message' "$work/serve-$i.log" | cut -c12-23)
  t1=$(grep -m1 'read to its end' "$work/serve-$i.log" | cut -c12-23)
  secs=$(echo "$(to_seconds "$t1") - $(to_seconds "$t0")" | bc -l)
  read_n=$(grep -o '"read": *[0-9]*' "$work/out-$i/summary.json" | grep -o '[0-9]*$')
  [ "$read_n" = "$count" ] || { echo "server read $read_n of $count records" >&2; exit 1; }
  server_rates+=("$(echo "$count / $secs" | bc -l)")
  read -r e u s <"$work/serve.time"
  server_walls+=("$e")
  server_cpu+=("$(echo "$u + $s" | bc -l)")
  echo "  run $i: kcat ${kcat_rates[-1]%.*} rec/s, server ${server_rates[-1]%.*} rec/s (consuming ${secs}s);" \
       "as group members: kcat -G ${kcatg_walls[-1]} s, server $e s" >&2
done
# Every run must agree with batch mode on the windows the partitioning cannot change.
"$bin/orderpulse" batch -q --input "$work/orders.ndjson" --output-dir "$work/batch"
cmp -s "$work/batch/windows.jsonl" "$work/out-1/windows.jsonl" || { echo "server windows differ from batch mode" >&2; exit 1; }

kcat_med=$(median "${kcat_rates[@]}")
server_med=$(median "${server_rates[@]}")
ratio=$(echo "$server_med / $kcat_med" | bc -l)
kcatg=$(median "${kcatg_walls[@]}")
serverw=$(median "${server_walls[@]}")
ratio_group=$(echo "$kcatg / $serverw" | bc -l)
printf '{"date":"%s","records":%s,"partitions":%s,"runs":%s,"kcat_records_per_second":%.0f,"server_records_per_second":%.0f,"ratio":%.3f,"kcat_group_wall_seconds":%s,"server_wall_seconds":%s,"ratio_as_group_members":%.3f,"server_cpu_seconds":%s}\n' \
  "$(date -u +%FT%TZ)" "$count" "$partitions" "$runs" "$kcat_med" "$server_med" "$ratio" "$kcatg" "$serverw" "$ratio_group" \
  "$(median "${server_cpu[@]}")" >"$out/kafka.json"
printf '\nKafka ingest from the mock broker, %s records over %s partitions, median of %s\n' "$count" "$partitions" "$runs"
printf '%-44s %12.0f records/s\n' "kcat -C to /dev/null (no group)" "$kcat_med" "orderpulse serve, first message to end" "$server_med"
printf '%-44s %12.3f (target >= 0.70)\n' "ratio server / kcat" "$ratio"
printf '%-44s %12.2f s\n' "kcat -G (group member), start to exit" "$kcatg" "orderpulse serve (group member), start to exit" "$serverw"
printf '%-44s %12.3f\n' "ratio kcat -G time / server time" "$ratio_group"
echo "figures: $out/kafka.json"
