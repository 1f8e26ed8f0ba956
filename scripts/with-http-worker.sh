#!/usr/bin/env bash
# Runs a command with an HTTP fixture worker on a free loopback port:
#   scripts/with-http-worker.sh <command...>
# exports VGI_FIXTURE_HTTP_URL for the command and stops the worker afterwards.
set -euo pipefail
: "${VGI_WORKERS_VENV:?source the env.sh written by scripts/setup-workers.sh}"
log=$(mktemp)
VGI_QUIET=1 "$VGI_WORKERS_VENV/bin/vgi-serve" --http --host 127.0.0.1 --port 0 \
  vgi._test_fixtures.worker:ExampleWorker >"$log" 2>&1 &
pid=$!
trap 'kill $pid 2>/dev/null || true; wait $pid 2>/dev/null || true; rm -f "$log"' EXIT
port=""
for _ in $(seq 1 240); do
  port=$(sed -n 's/^PORT:\([0-9]*\).*/\1/p' "$log" | head -1)
  [ -n "$port" ] && break
  kill -0 "$pid" 2>/dev/null || { cat "$log" >&2; echo "HTTP fixture worker exited" >&2; exit 1; }
  sleep 0.25
done
[ -n "$port" ] || { cat "$log" >&2; echo "HTTP fixture worker printed no PORT line" >&2; exit 1; }
export VGI_FIXTURE_HTTP_URL="http://127.0.0.1:$port"
"$@"
