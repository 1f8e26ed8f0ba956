#!/usr/bin/env bash
# The whole test suite against real workers (what `make test` runs):
#   1. cargo tests of every crate (worker-client talks to stdio and HTTP fixture workers),
#   2. every test/sql/**/*.test through the extension, once per transport lane:
#      stdio (VGI_WORKER = a command line) and HTTP (VGI_WORKER = http://127.0.0.1:<port>).
# Each lane must execute at least MIN_SQL_RECORDS records, so a broken setup that skips
# everything fails instead of passing.
set -euo pipefail
here="$(cd "$(dirname "$0")/.." && pwd)"
cd "$here"
VGI_CACHE_DIR="${VGI_CACHE_DIR:-${XDG_CACHE_HOME:-$HOME/.cache}/vgi}"
# shellcheck source=/dev/null
source "$VGI_CACHE_DIR/env.sh"
EXTENSION="${EXTENSION:-$here/build/vgi.duckdb_extension}"
MIN_SQL_RECORDS="${MIN_SQL_RECORDS:-50}"
failed=0
# Files that tests and the fixture workers' native-reader scan branches share.
VGI_TEST_BRANCH_DIR="$(mktemp -d)"
export VGI_TEST_BRANCH_DIR
# The companion fixture asks DuckDB to attach this database file beside it.
export VGI_TEST_COMPANION_TARGET="$VGI_TEST_BRANCH_DIR/companion.duckdb" VGI_TEST_COMPANION_DBTYPE=duckdb
trap 'rm -rf "$VGI_TEST_BRANCH_DIR"' EXIT

echo "==> cargo tests (real workers over stdio and HTTP)"
scripts/with-http-worker.sh cargo test --release --workspace --exclude vgi-static-host 2>&1 || failed=1

run_lane() { # lane worker simple-writable memory-catalog companion schema-reconcile faults (locations)
  echo "==> sqllogictest, $1 lane"
  VGI_TRANSPORT="$1" VGI_WORKER="$2" VGI_SIMPLE_WRITABLE="$3" VGI_MEMORY_CATALOG="$4" VGI_COMPANION="$5" VGI_SCHEMA_RECONCILE="$6" VGI_FAULTS="$7" "$VGI_HOST_PY" scripts/run_sqllogictest.py \
    --extension "vgi=$EXTENSION" --min-records "$MIN_SQL_RECORDS" test/sql || failed=1
  echo "==> interrupting a running worker scan, $1 lane"
  PYTHONPATH=scripts "$VGI_HOST_PY" scripts/check_interrupt.py "$EXTENSION" "$2" || failed=1
  echo "==> the fault matrix (crash, hang, garbage, wrong schema, error at every phase), $1 lane"
  PYTHONPATH=scripts "$VGI_HOST_PY" scripts/check_faults.py "$EXTENSION" "$7" || failed=1
}
# The fault-injecting fixture (scripts/fixtures/faults_worker.py) over stdio: a command line.
VGI_FAULTS="PYTHONPATH=$here/scripts/fixtures $VGI_WORKERS_VENV/bin/vgi-serve faults_worker:FaultsWorker"
# The versioned-tables fixture (test/sql/attach/versioned.test): a command here, a URL over HTTP.
VGI_VERSIONED_TABLES="$VGI_WORKERS_VENV/bin/vgi-serve vgi._test_fixtures.versioned_tables:VersionedTablesWorker" \
  run_lane stdio "$VGI_FIXTURE_WORKER" "$VGI_SIMPLE_WRITABLE" "$VGI_MEMORY_CATALOG" "$VGI_COMPANION" "" "$VGI_FAULTS"
scripts/with-http-worker.sh bash -c "$(declare -f run_lane); EXTENSION='$EXTENSION' MIN_SQL_RECORDS='$MIN_SQL_RECORDS' VGI_HOST_PY='$VGI_HOST_PY'; failed=0; VGI_VERSIONED_TABLES=\"\$VGI_VERSIONED_TABLES_HTTP_URL\" run_lane http \"\$VGI_FIXTURE_HTTP_URL\" \"\$VGI_SIMPLE_WRITABLE_HTTP_URL\" \"\$VGI_MEMORY_CATALOG_HTTP_URL\" \"\$VGI_COMPANION_HTTP_URL\" \"\$VGI_SCHEMA_RECONCILE_HTTP_URL\" \"\$VGI_FAULTS_HTTP_URL\"; exit \$failed" || failed=1

if [ "$failed" -ne 0 ]; then
  echo "TESTS FAILED"
  exit 1
fi
echo "ALL TESTS PASSED"
