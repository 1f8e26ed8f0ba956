#!/usr/bin/env python3
"""Records the bytes the real fixture worker writes on stdout (and the requests the extension
sends it) while DuckDB runs a few representative queries: attach, catalog listing, scans of
several types, scalar, aggregate and table-in-out calls, statistics, a worker error. The result
seeds worker-client's decoder fuzzer (worker-client/tests/fuzz_decoder.rs).

Usage: capture_worker_streams.py EXTENSION WORKER_COMMAND OUT_DIR
Writes OUT_DIR/example_worker_stdout.bin and OUT_DIR/extension_requests.bin: one record per
worker process the queries started, each a u32 little-endian length then that process's bytes
(its Arrow IPC streams, in order; the last may be cut short where a stream was abandoned).
Paths of this machine in the bytes (the worker's tracebacks name its venv and the home folder)
are replaced by placeholders of the same length, so every message's framing stays valid."""
import glob
import os
import shlex
import struct
import sys
import tempfile

import duckdb_host

QUERIES = [
    "SELECT count(*) FROM duckdb_tables() WHERE database_name = 'ex'",
    "SELECT count(*) FROM duckdb_functions() WHERE database_name = 'ex'",
    "SELECT * FROM ex.data.colors ORDER BY id",
    "SELECT * FROM ex.data.filter_echo_table WHERE n BETWEEN 41 AND 43 ORDER BY n",
    "SELECT count(*), sum(n), max(n) FROM ex.data.ten_thousand_table WHERE n < 100",
    "SELECT * FROM ex.data.rff_nested WHERE wrapper.mid.leaf > 0 ORDER BY 1 LIMIT 2",
    "SELECT * FROM ex.main.sequence(5)",
    "SELECT n FROM ex.main.sequence(30) LIMIT 3",
    "SELECT sum(ex.main.multiply(range, 3)) FROM range(50)",
    "SELECT ex.main.vgi_sum(range) FROM range(50)",
    "SELECT * FROM ex.main.echo((SELECT range AS i, range::VARCHAR AS s FROM range(4)))",
    # Many types through echo: decimals, temporal types, nested lists, structs, maps, unions.
    "SELECT echo::VARCHAR FROM ex.main.echo((SELECT 1.5::DECIMAL(4,2) AS d, 12345678901234567890.5::DECIMAL(38,1) AS d38,"
    " DATE '2024-02-29' AS dt, TIMESTAMPTZ '2024-01-01 00:00:00+00' AS tz, INTERVAL '1 year 3 days' AS iv,"
    " '00112233-4455-6677-8899-aabbccddeeff'::UUID AS u, [[1], NULL, []] AS ll, [1, 2, 3]::INTEGER[3] AS arr,"
    " {'x': 1, 'y': NULL} AS st, MAP {'k1': 1, 'k2': NULL} AS m,"
    " union_value(num := 2)::UNION(num INTEGER, str VARCHAR) AS un, 'b'::ENUM('a', 'b') AS e, from_hex('00FF') AS b)) echo",
]
# Statements expected to fail in the worker (their error batches are seeds too).
FAILING = [
    "SELECT * FROM ex.main.sequence(-1)",
    "SELECT ex.main.multiply('x', 'y')",
]


def machine_paths(worker: str) -> list:
    """This machine's paths a capture may contain, longest first: the worker's venv (two levels
    above its executable) and the home folder."""
    executable = os.path.realpath(shlex.split(worker)[0]) if worker.strip() else ""
    paths = [os.path.dirname(os.path.dirname(executable)) if executable else "", os.path.expanduser("~")]
    return sorted({p for p in paths if len(p) > 1}, key=len, reverse=True)


def scrub(data: bytes, paths: list) -> bytes:
    """Replaces each path by a same-length placeholder (`/VENV___`, `/HOME___`): Arrow buffers
    and IPC frames keep their lengths, so the bytes decode exactly as before."""
    for path, name in zip(paths, ("/VENV", "/HOME", "/PATH")):
        raw = path.encode()
        data = data.replace(raw, (name.encode() + b"_" * len(raw))[: len(raw)])
    return data


def main() -> int:
    extension, worker, out_dir = sys.argv[1], sys.argv[2], sys.argv[3]
    tap = tempfile.mkdtemp(prefix="vgi-capture-")
    # sh -c runs the location: tee both directions of each worker process into files of its own.
    location = f"tee {shlex.quote(tap)}/in.$$ | {worker} | tee {shlex.quote(tap)}/out.$$"
    con = duckdb_host.connect(extension)
    con.execute("SET threads = 1")
    con.execute(f"ATTACH 'example' AS ex (TYPE vgi, LOCATION '{location}')")
    for sql in QUERIES:
        con.execute(sql).fetchall()
    for sql in FAILING:
        try:
            con.execute(sql).fetchall()
        except Exception:  # noqa: BLE001 - the worker's error is what we want on the wire
            pass
    con.execute("DETACH ex")
    con.close()
    os.makedirs(out_dir, exist_ok=True)
    for prefix, name in (("out", "example_worker_stdout.bin"), ("in", "extension_requests.bin")):
        with open(os.path.join(out_dir, name), "wb") as out:
            for path in sorted(glob.glob(os.path.join(tap, f"{prefix}.*"))):
                with open(path, "rb") as f:
                    data = scrub(f.read(), machine_paths(worker))
                out.write(struct.pack("<I", len(data)) + data)
        print(f"{name}: {os.path.getsize(os.path.join(out_dir, name))} bytes")
    for path in glob.glob(os.path.join(tap, "*")):
        os.unlink(path)
    os.rmdir(tap)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
