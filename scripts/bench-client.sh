#!/usr/bin/env bash
# worker-client benchmark (issue: client speed). Same worker, same machine, one run:
#   1. scan ROWS rows of the fixture's `sequence` table function through this client and
#      through vgi-python's own client, over stdio; rows/s and the ratio;
#   2. round-trip latency of a one-row scalar exchange versus a raw pipe ping-pong of the
#      same bytes between two processes (Rust<->Rust: the floor; Rust<->Python: the floor
#      with a Python peer).
# Usage: scripts/bench-client.sh [ROWS] [BATCH]   (defaults 10000000, 2048)
set -euo pipefail
cd "$(dirname "$0")/.."
VGI_CACHE_DIR="${VGI_CACHE_DIR:-${XDG_CACHE_HOME:-$HOME/.cache}/vgi}"
# shellcheck source=/dev/null
source "$VGI_CACHE_DIR/env.sh"
ROWS="${1:-10000000}"
BATCH="${2:-2048}"
ITERS=5000
cargo build -q --release -p worker-client --example bench_client
B=target/release/examples/bench_client
W="$VGI_FIXTURE_WORKER"

read -r rs_rows rs_s < <($B scan "$W" "$ROWS" "$BATCH")
read -r py_rows py_s < <(VGI_QUIET=1 "$VGI_WORKER_PY" scripts/bench_python_client.py scan "$W" "$ROWS" "$BATCH" 2>/dev/null)
read -r ex_n ex_s req resp ex_cpu < <($B exchange "$W" "$ITERS")
read -r pp_n pp_s < <($B pingpong "$ITERS" "$req" "$resp")
read -r ppy_n ppy_s < <($B pingpong "$ITERS" "$req" "$resp" "$VGI_WORKER_PY $PWD/scripts/bench_python_client.py echo $req $resp")

python3 - "$rs_rows" "$rs_s" "$py_rows" "$py_s" "$ex_n" "$ex_s" "$pp_n" "$pp_s" "$ppy_n" "$ppy_s" "$req" "$resp" "$BATCH" "$ex_cpu" <<'PY'
import sys
rs_rows, rs_s, py_rows, py_s, ex_n, ex_s, pp_n, pp_s, ppy_n, ppy_s, req, resp, batch, ex_cpu = sys.argv[1:]
rs = int(rs_rows) / float(rs_s); py = int(py_rows) / float(py_s)
ex = float(ex_s) / int(ex_n) * 1e6; pp = float(pp_s) / int(pp_n) * 1e6; ppy = float(ppy_s) / int(ppy_n) * 1e6
assert rs_rows == py_rows, (rs_rows, py_rows)
print(f"scan sequence({rs_rows}, batch_size := {batch}) over stdio")
print(f"  worker-client (Rust)     {rs:14,.0f} rows/s  ({float(rs_s):.2f} s)")
print(f"  vgi.client.Client (Py)   {py:14,.0f} rows/s  ({float(py_s):.2f} s)")
print(f"  ratio Rust/Python        {rs / py:14.2f} x")
print(f"exchange round trip (1-row multiply, {req} B out / {resp} B back), {ex_n} turns")
print(f"  worker-client exchange   {ex:10.1f} us   (client CPU {float(ex_cpu) / int(ex_n) * 1e6:.1f} us/turn; the rest is the worker)")
print(f"  raw pipe ping-pong Rust  {pp:10.1f} us   ratio {ex / pp:.2f} x")
print(f"  raw pipe ping-pong Py    {ppy:10.1f} us   ratio {ex / ppy:.2f} x")
PY
