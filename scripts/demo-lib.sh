# shellcheck shell=bash disable=SC2034  # (the variables are used by the scripts that source this)
# Shared by `make demo` and `make demo-kafka` (sourced, not run).

# The simulator's stream for the demos: a few faults of each kind, and scenarios (docs/alerts.md)
# so every data alert shows while you watch. Times count from the first whole minute.
demo_sim_flags=(--late 0.005 --duplicates 0.005 --malformed 0.002 --customers 100000
  --whale 30s --sold-out 45s --restock 5m --drop 12m --burst 20m)
demo_alerts_text="alerts, counted from the first whole minute: a whale at 30s, a product sold out at
  45s and restocked at 5m, a sales drop at 12m and a burst at 20m (each shows about 30 s later,
  once the watermark passes it)"

# wait_ready HOST:PORT PID TRIES: polls /readyz every 0.1 s; exits 1 if the server died or never
# became ready.
wait_ready() {
  local http=$1 pid=$2 tries=$3
  for _ in $(seq "$tries"); do
    curl -fs "http://$http/readyz" >/dev/null 2>&1 && return 0
    kill -0 "$pid" 2>/dev/null || { echo "the server did not start" >&2; exit 1; }
    sleep 0.1
  done
  echo "the server was not ready within $((tries / 10)) s" >&2
  exit 1
}
