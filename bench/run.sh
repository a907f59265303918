#!/usr/bin/env bash
# End-to-end benchmarks, in one run: orderpulse batch over generated records (NDJSON and CSV)
# against the parse-only limit of the same file, then orderpulse serve fed the same file over TCP
# and its send-to-feed latency. Prints tables and writes bench/results/<date>/{batch,serve}.json.
# QUICK=1 uses 1M records and one run per measure.
# Every loop here is bounded: a fixed number of runs over a fixed-size file.
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
bin="$root/build/release"
count=${COUNT:-10000000}
runs=${RUNS:-3}
if [ "${QUICK:-0}" = 1 ]; then count=${COUNT:-1000000}; runs=${RUNS:-1}; fi
data="$root/build/bench-data"
out="$root/bench/results/$(date -u +%Y-%m-%d)"
mkdir -p "$data" "$out"

gen_args=(--seed 42 --count "$count" --customers 100000 --products 10000 --rate 1000 --disorder 5s
          --late 0.001 --duplicates 0.01 --malformed 0.001)
for fmt in ndjson csv; do
  f="$data/orders-$count.$fmt"
  if [ ! -s "$f" ]; then
    echo "generating $count records -> $f" >&2
    "$bin/orderpulse-sim" generate "${gen_args[@]}" --format "$fmt" --out "$f" 2>/dev/null
  fi
done

# median of the given numbers
median() { printf '%s\n' "$@" | sort -g | awk '{a[NR]=$1} END {print (NR%2) ? a[(NR+1)/2] : (a[NR/2]+a[NR/2+1])/2}'; }

# run_timed LABEL CMD...: runs CMD $runs times; sets secs (median wall seconds), cpu (median
# user+system seconds) and rss (max KB)
run_timed() {
  local label=$1; shift
  local times=() cpus=() peak=0
  for _ in $(seq "$runs"); do
    /usr/bin/time -f '%e %U %S %M' -o "$data/time.txt" "$@" >/dev/null 2>"$data/stderr.txt" || { cat "$data/stderr.txt" >&2; exit 1; }
    read -r s u sy kb < "$data/time.txt"
    times+=("$s"); cpus+=("$(echo "$u + $sy" | bc -l)"); [ "$kb" -gt "$peak" ] && peak=$kb
  done
  secs=$(median "${times[@]}"); cpu=$(median "${cpus[@]}"); rss=$peak
  echo "  $label: wall ${times[*]} s; cpu ${cpus[*]} s" >&2
}

declare -A result
for fmt in ndjson csv; do
  f="$data/orders-$count.$fmt"
  run_timed "parse-only $fmt" "$bin/bench/parse_only" "$f"
  result[parse_$fmt]="$secs $cpu $rss"
  run_timed "batch $fmt" "$bin/orderpulse" batch -q --input "$f" --output-dir "$data/out-$fmt"
  result[batch_$fmt]="$secs $cpu $rss"
done

{
  printf '{"date":"%s","machine":"%s, %s cores","records":%s,"runs":%s,"results":{' \
    "$(date -u +%FT%TZ)" "$(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | sed 's/^ //')" "$(nproc)" "$count" "$runs"
  first=1
  for k in parse_ndjson batch_ndjson parse_csv batch_csv; do
    read -r s c kb <<<"${result[$k]}"
    [ $first = 1 ] || printf ','; first=0
    printf '"%s":{"seconds":%s,"cpu_seconds":%s,"records_per_second":%.0f,"records_per_cpu_second":%.0f,"peak_rss_mib":%.1f}' \
      "$k" "$s" "$c" "$(echo "$count / $s" | bc -l)" "$(echo "$count / $c" | bc -l)" "$(echo "$kb / 1024" | bc -l)"
  done
  printf '}}\n'
} > "$out/batch.json"

printf '\norderpulse batch, %s records, median of %s run(s), %s cores\n' "$count" "$runs" "$(nproc)"
printf '%-14s %8s %8s %12s %14s %10s\n' measure wall_s cpu_s records/s rec/cpu-s "RSS MiB"
for k in parse_ndjson batch_ndjson parse_csv batch_csv; do
  read -r s c kb <<<"${result[$k]}"
  printf '%-14s %8.2f %8.2f %12.0f %14.0f %10.1f\n' "$k" "$s" "$c" "$(echo "$count / $s" | bc -l)" "$(echo "$count / $c" | bc -l)" "$(echo "$kb / 1024" | bc -l)"
done
echo "figures: $out/batch.json"

# The live server: the same NDJSON file replayed over TCP, and send-to-feed latency at fixed rates.
/usr/bin/python3 "$root/bench/serve_bench.py" --bin-dir "$bin" --input "$data/orders-$count.ndjson" --records "$count" \
  --latency-seconds "$([ "${QUICK:-0}" = 1 ] && echo 5 || echo 15)" --json "$out/serve.json" 2>/dev/null | grep -v '^{'
echo "figures: $out/serve.json"
