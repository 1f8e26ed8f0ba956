#!/usr/bin/env python3
"""Write benchmark (issue: writes and transactions), printed with ratios; see BENCHMARKS.md.

  insert: INSERT INTO w.main.items SELECT ROWS generated rows (id, name, qty) through the
          simple_writable worker's insert function (an exchange stream);
  scan:   SELECT count(*), sum(qty) over the same ROWS rows read back from the worker;
  ratio:  insert rows/s over scan rows/s, and how much of the insert's wall time this process
          (DuckDB + the extension) spent on CPU; the rest is the worker.

Usage: bench_writes.py EXTENSION SIMPLE_WRITABLE_COMMAND [ROWS]
"""
import sys
import time

import duckdb_host


def timed(con, sql):
    """Wall time, this process's CPU time (DuckDB + the extension), and the result."""
    started, cpu = time.perf_counter(), time.process_time()
    result = con.execute(sql).fetchall()
    return time.perf_counter() - started, time.process_time() - cpu, result


def main() -> None:
    extension, worker = sys.argv[1], sys.argv[2]
    rows = int(sys.argv[3]) if len(sys.argv) > 3 else 10_000_000
    con = duckdb_host.connect(extension)
    con.execute(f"ATTACH 'simple_writable' AS w (TYPE vgi, LOCATION '{worker}')")
    con.execute("DELETE FROM w.main.items")

    print(f"{rows:,} rows, worker `{worker}`")
    insert_s, insert_cpu, inserted = timed(
        con, f"INSERT INTO w.main.items SELECT i, 'name_' || (i % 1000), i % 97 FROM range({rows}) t(i)"
    )
    if inserted != [(rows,)]:
        raise SystemExit(f"the worker reported {inserted}, expected {rows} rows")
    scan_s, scan_cpu, scanned = timed(con, "SELECT count(*), sum(qty) FROM w.main.items")
    expected = sum(i % 97 for i in range(rows)) if rows <= 1_000_000 else None
    if scanned[0][0] != rows or (expected is not None and scanned[0][1] != expected):
        raise SystemExit(f"read back {scanned}, expected {rows} rows")
    insert_rate, scan_rate = rows / insert_s, rows / scan_s
    print(f"  INSERT ... SELECT   {insert_s:8.2f} s   {insert_rate:14,.0f} rows/s   client CPU {insert_cpu:6.2f} s")
    print(f"  scan (read back)    {scan_s:8.2f} s   {scan_rate:14,.0f} rows/s   client CPU {scan_cpu:6.2f} s")
    print(f"  insert is {insert_rate / scan_rate:.2f}x the scan's rate; the client's CPU is "
          f"{100 * insert_cpu / insert_s:.0f}% of the insert's wall time (the rest is the worker)")
    con.execute("DELETE FROM w.main.items")


if __name__ == "__main__":
    main()
