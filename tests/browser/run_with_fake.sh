#!/bin/sh
# Runs the dashboard browser test against fake_server.py (no orderpulse binary needed).
#   tests/browser/run_with_fake.sh [OUT.png] [fake_server.py options...]
#   tests/browser/run_with_fake.sh out/busy.png --alerts
#   tests/browser/run_with_fake.sh out/empty.png --empty
# Needs: /usr/bin/python3 with python3-websockets, node 20, `npm install` done here, /usr/bin/chromium.
set -u
here=$(cd "$(dirname "$0")" && pwd)
shot=${1:-"$here/out/dashboard.png"}
[ $# -gt 0 ] && shift
log=$(mktemp)
/usr/bin/python3 "$here/fake_server.py" --port 0 "$@" >"$log" 2>&1 &
pid=$!
trap 'kill "$pid" 2>/dev/null; rm -f "$log"' EXIT INT TERM
port=
i=0
while [ $i -lt 300 ]; do   # history seeding can take a few seconds
  port=$(sed -n 's/^http listening on 127\.0\.0\.1:\([0-9][0-9]*\)$/\1/p' "$log")
  [ -n "$port" ] && break
  kill -0 "$pid" 2>/dev/null || { cat "$log" >&2; echo "fake_server.py exited" >&2; exit 1; }
  sleep 0.1; i=$((i + 1))
done
[ -n "$port" ] || { cat "$log" >&2; echo "fake_server.py did not report a port" >&2; exit 1; }
node "$here/dashboard_test.mjs" --url "http://127.0.0.1:$port/" --screenshot "$shot"
