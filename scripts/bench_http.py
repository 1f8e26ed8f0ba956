#!/usr/bin/env python3
"""HTTP scan benchmark (issue: HTTP lane speed), printed with ratios; see BENCHMARKS.md.

Starts its own HTTP fixture worker (so its CPU and bytes can be read from /proc), then, on the
same worker, times `sequence(ROWS, batch_size := BATCH)`:

  worker alone   the fixture's generator producing and IPC-encoding its batches in-process:
                 the worker's own rate, with no client and no transport;
  worker-client  this project's client library (no DuckDB): the rate the HTTP worker can serve;
  vgi-python     vgi-python's own client (`vgi.client.Client.from_http`);
  extension      `SELECT count(*), sum(n)` through DuckDB at 1, 2 and 4 threads, plus
                 `partitioned_sequence` (a function whose streams DuckDB threads run in
                 parallel).

Each figure is the median of RUNS runs. For every extension run it prints where the time goes:
HTTP requests per second (a producer turn answers with at most one batch, so a scan is one
/init plus one request per batch), bytes per response (the worker's own write counter), and
the CPU the worker and this process (DuckDB plus our client) spent per wall second.

Usage: bench_http.py EXTENSION [ROWS] [BATCH] [RUNS]   (defaults 2000000, 2048, 3)
"""
import math
import os
import re
import statistics
import subprocess
import sys
import tempfile
import time

import duckdb_host

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(HERE)
TICKS = os.sysconf("SC_CLK_TCK")


def start_worker(venv: str) -> tuple[subprocess.Popen, str]:
    log = tempfile.NamedTemporaryFile("w+", suffix=".log", delete=False)
    proc = subprocess.Popen(
        [os.path.join(venv, "bin", "vgi-serve"), "--http", "--host", "127.0.0.1", "--port", "0",
         "vgi._test_fixtures.worker:ExampleWorker"],
        stdout=log, stderr=subprocess.STDOUT, env={**os.environ, "VGI_QUIET": "1"},
    )
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        match = re.search(r"^PORT:(\d+)", open(log.name).read(), re.M)
        if match:
            return proc, f"http://127.0.0.1:{match.group(1)}"
        if proc.poll() is not None:
            break
        time.sleep(0.2)
    proc.kill()
    sys.exit(f"the HTTP worker did not start:\n{open(log.name).read()}")


def cpu_seconds(pid: int) -> float:
    with open(f"/proc/{pid}/stat") as f:
        fields = f.read().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / TICKS


def bytes_written(pid: int) -> int:
    with open(f"/proc/{pid}/io") as f:
        return int(dict(line.split(": ") for line in f.read().splitlines())["wchar"])


def median_run(runs: int, once):
    results = [once() for _ in range(runs)]
    return sorted(results, key=lambda r: r["seconds"])[len(results) // 2]


def run_tool(args: list[str], runs: int) -> dict:
    def once():
        out = subprocess.run(args, capture_output=True, text=True, check=True, env={**os.environ, "VGI_QUIET": "1"})
        rows, seconds = out.stdout.split()
        return {"rows": int(rows), "seconds": float(seconds)}
    return median_run(runs, once)


def main() -> None:
    extension = sys.argv[1]
    rows = int(sys.argv[2]) if len(sys.argv) > 2 else 2_000_000
    batch = int(sys.argv[3]) if len(sys.argv) > 3 else 2048
    runs = int(sys.argv[4]) if len(sys.argv) > 4 else 3
    venv, worker_py = os.environ["VGI_WORKERS_VENV"], os.environ["VGI_WORKER_PY"]
    bench_client = os.path.join(ROOT, "target", "release", "examples", "bench_client")
    subprocess.run(["cargo", "build", "-q", "--release", "-p", "worker-client", "--example", "bench_client"],
                   cwd=ROOT, check=True)
    proc, url = start_worker(venv)
    try:
        print(f"sequence({rows:,}, batch_size := {batch}) over HTTP, worker {url}, median of {runs} runs")
        requests = 1 + math.ceil(rows / batch)
        figures = {}
        figures["worker alone"] = run_tool([worker_py, os.path.join(HERE, "bench_python_client.py"), "produce", str(rows), str(batch)], runs)
        figures["worker-client (Rust)"] = run_tool([bench_client, "scan", url, str(rows), str(batch)], runs)
        figures["vgi-python client"] = run_tool([worker_py, os.path.join(HERE, "bench_python_client.py"), "scan", url, str(rows), str(batch)], runs)
        for name, f in figures.items():
            assert f["rows"] == rows, (name, f)
            print(f"  {name:28} {rows / f['seconds']:14,.0f} rows/s  ({f['seconds']:.2f} s)")

        con = duckdb_host.connect(extension)
        con.execute(f"ATTACH 'example' AS ex (TYPE vgi, LOCATION '{url}')")
        con.execute(f"SELECT count(*) FROM ex.main.partitioned_sequence({rows // 10})").fetchall()

        def extension_run(function: str, threads: int) -> dict:
            con.execute(f"SET threads = {threads}")
            sql = f"SELECT count(*), sum(n) FROM ex.main.{function}({rows}, batch_size := {batch})"
            if function == "partitioned_sequence":
                sql = f"SELECT count(*), sum(n) FROM ex.main.{function}({rows})"

            def once():
                worker_cpu, written, own = cpu_seconds(proc.pid), bytes_written(proc.pid), os.times()
                started = time.perf_counter()
                result = con.execute(sql).fetchall()
                seconds = time.perf_counter() - started
                after = os.times()
                assert result[0] == (rows, rows * (rows - 1) // 2), result
                return {
                    "seconds": seconds,
                    "worker_cpu": cpu_seconds(proc.pid) - worker_cpu,
                    "written": bytes_written(proc.pid) - written,
                    "own_cpu": (after.user - own.user) + (after.system - own.system),
                }
            return median_run(runs, once)

        python = rows / figures["vgi-python client"]["seconds"]
        alone = rows / figures["worker alone"]["seconds"]
        served = rows / figures["worker-client (Rust)"]["seconds"]
        for function in ("sequence", "partitioned_sequence"):
            for threads in (1, 2, 4):
                f = extension_run(function, threads)
                rate = rows / f["seconds"]
                turns = requests if function == "sequence" else None
                where = (
                    f"{turns / f['seconds']:7,.0f} req/s {f['written'] / turns / 1024:6.1f} KiB/resp"
                    if turns else f"{'':27}"
                )
                print(
                    f"  extension {function:20} {threads} thr {rate:14,.0f} rows/s  ({f['seconds']:.2f} s)"
                    f"  {rate / python:5.2f}x vgi-python  {rate / served:5.2f}x worker-client"
                    f"  {rate / alone:5.2f}x worker alone  {where}"
                    f"  CPU/s: worker {f['worker_cpu'] / f['seconds']:.2f} us {f['own_cpu'] / f['seconds']:.2f}"
                )
    finally:
        proc.terminate()
        proc.wait(timeout=30)


if __name__ == "__main__":
    main()
