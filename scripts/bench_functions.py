#!/usr/bin/env python3
"""Function benchmark (issue: functions), printed as a table with ratios; see BENCHMARKS.md.

  scalar: sum(multiply(x, 3)) over ROWS rows through the extension (worker `multiply`), vs the
          same pyarrow arithmetic as an in-process DuckDB Python UDF (arrow type), vs native SQL;
          once over range() (one DuckDB thread reads it) and once over a table (parallel scan).
  aggregate: vgi_sum(x) over ROWS rows in 1000 groups vs native sum(x).
  dedup: sha256_hex over inputs with 10 distinct values vs all-distinct inputs.

Usage: bench_functions.py EXTENSION WORKER [ROWS] [THREADS]
"""
import statistics
import sys
import time

import pyarrow as pa
import pyarrow.compute as pc

import duckdb_host


def timed(con, sql):
    """The median wall time of up to 7 runs (fewer once 5 s are spent; single runs of a query
    this short vary by tens of percent on this VM), and the result."""
    times, spent = [], 0.0
    while len(times) < 7 and spent < 5.0:
        started = time.perf_counter()
        result = con.execute(sql).fetchall()
        times.append(time.perf_counter() - started)
        spent += times[-1]
    return statistics.median(times), result


def main() -> None:
    extension, worker = sys.argv[1], sys.argv[2]
    rows = int(sys.argv[3]) if len(sys.argv) > 3 else 10_000_000
    threads = int(sys.argv[4]) if len(sys.argv) > 4 else 2
    con = duckdb_host.connect(extension)
    con.execute(f"SET threads = {threads}")
    con.execute(f"ATTACH 'example' AS ex (TYPE vgi, LOCATION '{worker}')")

    def py_multiply(values: pa.Array, factor: pa.Array) -> pa.Array:
        return pc.multiply(values, factor)

    con.create_function("py_multiply", py_multiply, ["BIGINT", "BIGINT"], "BIGINT", type="arrow")
    con.execute(f"CREATE TABLE numbers AS SELECT range AS x FROM range({rows})")
    # Warm up: start the worker processes (one per DuckDB thread) and load metadata outside the
    # timings.
    con.execute("SELECT sum(ex.main.multiply(x, 3)) FROM numbers").fetchall()

    cases = [
        ("scalar  extension  multiply", f"SELECT sum(ex.main.multiply(range, 3)) FROM range({rows})"),
        ("scalar  Python UDF (arrow)", f"SELECT sum(py_multiply(range, 3)) FROM range({rows})"),
        ("scalar  native SQL", f"SELECT sum(range * 3) FROM range({rows})"),
        ("table   extension  multiply", "SELECT sum(ex.main.multiply(x, 3)) FROM numbers"),
        ("table   Python UDF (arrow)", "SELECT sum(py_multiply(x, 3)) FROM numbers"),
        ("table   native SQL", "SELECT sum(x * 3) FROM numbers"),
        # Repeated inputs: 10 distinct values per chunk, each sent once (sha256_hex is consistent).
        ("dedup   sha256_hex 10 values", f"SELECT count(DISTINCT ex.main.sha256_hex((range % 10)::VARCHAR)) FROM range({rows})"),
        ("dedup   sha256_hex all distinct", f"SELECT count(DISTINCT ex.main.sha256_hex(range::VARCHAR)) FROM range({rows})"),
        ("agg     extension  vgi_sum", f"SELECT sum(s) FROM (SELECT range % 1000 AS k, ex.main.vgi_sum(range) AS s FROM range({rows}) GROUP BY k)"),
        ("agg     native sum", f"SELECT sum(s) FROM (SELECT range % 1000 AS k, sum(range) AS s FROM range({rows}) GROUP BY k)"),
    ]
    results = {}
    print(f"{rows:,} rows, {threads} threads, worker `{worker}`")
    for name, sql in cases:
        seconds, value = timed(con, sql)
        results[name] = (seconds, value)
        print(f"  {name:30s} {seconds:8.2f} s  {rows / seconds:14,.0f} rows/s  -> {value[0][0]}")
    ext = results["scalar  extension  multiply"][0]
    udf = results["scalar  Python UDF (arrow)"][0]
    native = results["scalar  native SQL"][0]
    agg = results["agg     extension  vgi_sum"][0]
    agg_native = results["agg     native sum"][0]
    print(f"  scalar over range(): extension is {udf / ext:.2f}x the in-process Python UDF's speed, {native / ext:.3f}x native's")
    t_ext, t_udf, t_native = (results[k][0] for k in ("table   extension  multiply", "table   Python UDF (arrow)", "table   native SQL"))
    print(f"  scalar over a table: extension is {t_udf / t_ext:.2f}x the in-process Python UDF's speed, {t_native / t_ext:.3f}x native's")
    print(f"  aggregate: extension is {agg_native / agg:.3f}x native's speed")
    repeated = results["dedup   sha256_hex 10 values"][0]
    distinct = results["dedup   sha256_hex all distinct"][0]
    print(f"  repeated inputs: {distinct / repeated:.1f}x faster than all-distinct inputs (each distinct row is sent once)")
    # Rows returned to the client: DuckDB keeps their order (its sink needs batch indexes), so
    # calls go chunk by chunk unless preserve_insertion_order is off.
    for preserve in ("true", "false"):
        con.execute(f"SET preserve_insertion_order = {preserve}")
        for name, sql in (("extension", "SELECT ex.main.multiply(x, 3) FROM numbers"), ("Python UDF", "SELECT py_multiply(x, 3) FROM numbers")):
            runs = []
            for _ in range(5):
                started = time.perf_counter()
                table = con.sql(sql).to_arrow_table()
                runs.append(time.perf_counter() - started)
            seconds = statistics.median(runs)
            print(f"  rows to client, preserve_insertion_order={preserve:5s} {name:10s} {seconds:6.2f} s  {table.num_rows:,} rows")
    con.execute("RESET preserve_insertion_order")
    values = {r[1][0][0] for k, r in results.items() if k.startswith(("scalar ", "table "))}
    assert len(values) == 1, f"scalar results disagree: {values}"


if __name__ == "__main__":
    main()
