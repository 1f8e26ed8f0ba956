#!/usr/bin/env bash
# Runs a command with HTTP fixture workers on free loopback ports:
#   scripts/with-http-worker.sh <command...>
# exports VGI_FIXTURE_HTTP_URL (the example worker), VGI_SIMPLE_WRITABLE_HTTP_URL and
# VGI_MEMORY_CATALOG_HTTP_URL, VGI_SCHEMA_RECONCILE_HTTP_URL, VGI_COMPANION_HTTP_URL, VGI_FAULTS_HTTP_URL
# and VGI_VERSIONED_TABLES_HTTP_URL for the command and stops the workers afterwards.
set -euo pipefail
: "${VGI_WORKERS_VENV:?source the env.sh written by scripts/setup-workers.sh}"
here="$(cd "$(dirname "$0")" && pwd)"
pids=()
logs=()
trap 'for p in "${pids[@]}"; do kill "$p" 2>/dev/null || true; wait "$p" 2>/dev/null || true; done; rm -f "${logs[@]}"' EXIT

# serve VAR module:Class — starts an HTTP worker and exports VAR=http://127.0.0.1:<port>.
serve() {
  local var="$1" worker="$2" log port="" pid
  shift 2
  log=$(mktemp)
  logs+=("$log")
  PYTHONPATH="$here/fixtures${PYTHONPATH:+:$PYTHONPATH}" VGI_QUIET=1 "$VGI_WORKERS_VENV/bin/vgi-serve" --http --host 127.0.0.1 --port 0 "$@" "$worker" >"$log" 2>&1 &
  pid=$!
  pids+=("$pid")
  for _ in $(seq 1 240); do
    port=$(sed -n 's/^PORT:\([0-9]*\).*/\1/p' "$log" | head -1)
    [ -n "$port" ] && break
    kill -0 "$pid" 2>/dev/null || { cat "$log" >&2; echo "HTTP worker $worker exited" >&2; exit 1; }
    sleep 0.25
  done
  [ -n "$port" ] || { cat "$log" >&2; echo "HTTP worker $worker printed no PORT line" >&2; exit 1; }
  export "$var=http://127.0.0.1:$port"
}

serve VGI_FIXTURE_HTTP_URL vgi._test_fixtures.worker:ExampleWorker
# simple_writable_http: the fixture with a scan that resumes over HTTP (see that module).
serve VGI_SIMPLE_WRITABLE_HTTP_URL simple_writable_http:SimpleWritableWorker
serve VGI_MEMORY_CATALOG_HTTP_URL vgi._test_fixtures.catalog:InMemoryCatalogWorker
# schema_reconcile keeps its rows in a file per process group, so only a single (HTTP) worker
# process shows one consistent table; its tests run in the HTTP lane.
serve VGI_SCHEMA_RECONCILE_HTTP_URL vgi._test_fixtures.schema_reconcile.worker:SchemaReconcileWorker
serve VGI_COMPANION_HTTP_URL vgi._test_fixtures.companion:CompanionCatalogWorker
# versioned_tables: the tables it shows depend on the data version an ATTACH asks for.
serve VGI_VERSIONED_TABLES_HTTP_URL vgi._test_fixtures.versioned_tables:VersionedTablesWorker
# faults_worker: the fault matrix (test/sql/faults, scripts/check_faults.py). Its hang cells keep
# a server thread asleep long after the client gave up, so it gets threads to spare.
serve VGI_FAULTS_HTTP_URL faults_worker:FaultsWorker --http-threads 32
"$@"
