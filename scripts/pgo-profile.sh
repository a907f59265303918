#!/usr/bin/env bash
# Makes the profile the release build is optimized with (docs/performance.md, "Profile-guided
# build"): builds instrumented binaries in build/pgo-train, runs the simulator, batch mode and the
# live server with them over generated records (clean and faulty, NDJSON and CSV, one and two
# threads, TCP ingest), and leaves the counts in build/pgo-profile with a stamp naming the sources
# they came from.
#
#   scripts/pgo-profile.sh --if-missing   make it unless there is one
#   scripts/pgo-profile.sh --if-stale     also when any source changed since (what `make` does)
#   scripts/pgo-profile.sh --force
#
# Bounded: about 2M records in all, about a minute on the instrumented binaries.
set -euo pipefail
cd "$(dirname "$0")/.."
root=$PWD
profile=$root/build/pgo-profile
train=$root/build/pgo-train
stamp=$profile/profile.stamp

sources_hash() {
  find src include server simulator CMakeLists.txt -type f -print0 | LC_ALL=C sort -z | xargs -0 sha256sum |
    sha256sum | cut -d' ' -f1
}
hash=$(sources_hash)
case ${1:---if-missing} in
  --if-missing) [ -s "$stamp" ] && exit 0 ;;
  --if-stale) [ -s "$stamp" ] && [ "$(cat "$stamp")" = "$hash" ] && exit 0 ;;
  --force) ;;
  *) echo "usage: $0 [--if-missing | --if-stale | --force]" >&2; exit 2 ;;
esac

echo "pgo-profile: building instrumented binaries in build/pgo-train" >&2
rm -rf "$profile.new"
mkdir -p "$profile.new"
cmake -S . -B "$train" -DCMAKE_BUILD_TYPE=Release -DORDERPULSE_BUILD_TESTS=OFF -DORDERPULSE_BUILD_BENCH=OFF \
  -DORDERPULSE_PGO=generate -DORDERPULSE_PGO_DIR="$profile.new" >/dev/null
cmake --build "$train" -j "$(nproc)" --target orderpulse orderpulse-sim

data=$(mktemp -d)
server=
# A failed step leaves neither a running server nor the temporary files behind.
trap '[ -n "$server" ] && kill "$server" 2>/dev/null; rm -rf "$data"' EXIT
# Runs one training step; if it fails, says which and shows its log.
step() {
  if ! "$@" >"$data/step.log" 2>&1; then
    echo "pgo-profile: training step failed: $*" >&2
    cat "$data/step.log" >&2
    exit 1
  fi
}
sim=$train/orderpulse-sim
op=$train/orderpulse
echo "pgo-profile: training run" >&2
common=(--customers 100000 --products 10000 --rate 1000)
step "$sim" generate --seed 11 --count 400000 "${common[@]}" --format ndjson --out "$data/clean.ndjson" \
  --catalog-out "$data/catalog.csv"
step "$sim" generate --seed 12 --count 300000 "${common[@]}" --format csv --out "$data/clean.csv"
step "$sim" generate --seed 13 --count 150000 "${common[@]}" --late 0.05 --duplicates 0.05 --malformed 0.03 \
  --format ndjson --out "$data/faults.ndjson"
step "$sim" generate --seed 14 --count 100000 "${common[@]}" --late 0.05 --duplicates 0.05 --malformed 0.03 \
  --format csv --out "$data/faults.csv"
step "$op" batch --output-dir "$data/out" --threads 1 --input "$data/clean.ndjson"
step "$op" batch --output-dir "$data/out" --threads 1 --input "$data/clean.csv"
step "$op" batch --output-dir "$data/out" --threads 1 --input "$data/faults.ndjson" --catalog "$data/catalog.csv"
step "$op" batch --output-dir "$data/out" --threads 1 --input "$data/faults.csv"
step "$op" batch --output-dir "$data/out" --threads 2 --input "$data/clean.ndjson" --input "$data/faults.ndjson"
# The live path: the server fed over TCP by the simulator, then stopped with SIGTERM (a clean
# exit, which is when the counts are written).
"$op" serve --ingest 127.0.0.1:0 --http 127.0.0.1:0 --output-dir "$data/serve" 2>"$data/serve.log" &
server=$!
port=
for _ in $(seq 100); do
  port=$(grep -oE 'ingest listening on [0-9.]+:[0-9]+' "$data/serve.log" | grep -oE '[0-9]+$' || true)
  [ -n "$port" ] && break
  sleep 0.1
done
if [ -z "$port" ]; then
  echo "pgo-profile: the instrumented server did not start:" >&2
  cat "$data/serve.log" >&2
  exit 1
fi
step "$sim" replay --in "$data/faults.ndjson" --to "tcp://127.0.0.1:$port" --rate max
step "$sim" replay --in "$data/clean.ndjson" --to "tcp://127.0.0.1:$port" --rate max
sleep 1
kill -TERM "$server"
if ! wait "$server"; then
  echo "pgo-profile: the instrumented server did not exit cleanly:" >&2
  cat "$data/serve.log" >&2
  server=
  exit 1
fi
server=

echo "$hash" > "$profile.new/profile.stamp"
rm -rf "$profile"
mv "$profile.new" "$profile"
echo "pgo-profile: $(find "$profile" -name '*.gcda' | wc -l) profile files in build/pgo-profile" >&2
