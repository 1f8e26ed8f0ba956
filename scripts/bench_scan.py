#!/usr/bin/env python3
"""Scan benchmark (issue: pushdown and parallel scans), printed with ratios; see BENCHMARKS.md.

  parallel: SELECT count(*), sum(n) over partitioned_sequence(ROWS) (a work-queue function
            whose streams share one execution) with 1 and with 2 DuckDB threads.
  filter:   a 1%-selective filter (n < ROWS/100) over filter_echo(ROWS) with
            vgi_filter_pushdown on and off: time, and bytes the worker processes wrote to us
            (their /proc/<pid>/io wchar; stdio workers are children of this process).

Usage: bench_scan.py EXTENSION WORKER_COMMAND [ROWS]
"""
import os
import sys
import time

import duckdb_host


def worker_bytes_written() -> int:
    """Bytes written so far by this process's descendants (the stdio workers)."""
    parents = {}
    for pid in filter(str.isdigit, os.listdir("/proc")):
        try:
            with open(f"/proc/{pid}/stat") as f:
                parents[int(pid)] = int(f.read().rsplit(")", 1)[1].split()[1])
        except (OSError, IndexError, ValueError):
            continue
    mine, frontier = set(), {os.getpid()}
    while frontier:
        frontier = {pid for pid, parent in parents.items() if parent in frontier} - mine
        mine |= frontier
    total = 0
    for pid in mine:
        try:
            with open(f"/proc/{pid}/io") as f:
                fields = dict(line.split(": ") for line in f.read().splitlines())
            total += int(fields["wchar"])
        except (OSError, KeyError, ValueError):
            continue
    return total


def timed(con, sql):
    before = worker_bytes_written()
    started = time.perf_counter()
    result = con.execute(sql).fetchall()
    return time.perf_counter() - started, worker_bytes_written() - before, result


def main() -> None:
    extension, worker = sys.argv[1], sys.argv[2]
    rows = int(sys.argv[3]) if len(sys.argv) > 3 else 10_000_000
    con = duckdb_host.connect(extension)
    con.execute(f"ATTACH 'example' AS ex (TYPE vgi, LOCATION '{worker}')")
    con.execute("SET threads = 2")
    # Warm up: start two worker processes and load metadata outside the timings.
    con.execute("SELECT count(*) FROM ex.main.partitioned_sequence(100000)").fetchall()

    print(f"{rows:,} rows, worker `{worker}`")
    parallel = {}
    for threads in (1, 2):
        con.execute(f"SET threads = {threads}")
        seconds, _, result = timed(con, f"SELECT count(*), sum(n) FROM ex.main.partitioned_sequence({rows})")
        assert result[0][0] == rows, result
        parallel[threads] = seconds
        print(f"  parallel scan  {threads} thread(s)   {seconds:7.2f} s  {rows / seconds:14,.0f} rows/s")
    print(f"  scaling 2 threads / 1 thread: {parallel[1] / parallel[2]:.2f}x")

    con.execute("SET threads = 2")
    bound = rows // 100
    for batch_size in (2048, 65536):
        query = f"SELECT count(*), sum(n) FROM ex.main.filter_echo({rows}, batch_size := {batch_size}) WHERE n < {bound}"
        runs = {}
        for setting in ("true", "false"):
            con.execute(f"SET vgi_filter_pushdown = {setting}")
            seconds, received, result = timed(con, query)
            assert result[0][0] == bound, result
            runs[setting] = (seconds, received)
            label = "on " if setting == "true" else "off"
            print(
                f"  1% filter, worker batches of {batch_size:6}, pushdown {label}"
                f"  {seconds:7.2f} s  {received / 1e6:10.1f} MB from the worker"
            )
        (on_s, on_b), (off_s, off_b) = runs["true"], runs["false"]
        print(f"    pushdown on/off: {off_s / on_s:.2f}x the speed, {off_b / max(on_b, 1):.0f}x fewer bytes")


if __name__ == "__main__":
    main()
