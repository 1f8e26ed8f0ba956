#!/usr/bin/env python3
"""Checks what sqllogictest cannot express: interrupting a running query (Ctrl-C, or
`interrupt()` from another thread) stops a worker scan, or batched scalar calls, promptly and
leaves DuckDB usable.
Usage: check_interrupt.py EXTENSION LOCATION   (prints `N passed, N failed`)"""
import sys
import tempfile
import threading
import time

import duckdb_host


# Correctness, not speed: an interrupted query must stop long before it would have finished
# on its own (the queries below run 40 s to minutes), however busy the machine is. The latency
# itself is printed as a figure; its goal is met in scripts/bench_cancel.py, not here.
DEADLINE_S = 15.0


def interrupt_check(con, name: str, sql: str) -> dict:
    """Starts `sql`, interrupts it after 2 s; the named checks and whether each held."""
    outcome = {}

    def run() -> None:
        try:
            con.execute(sql).fetchall()
            outcome["result"] = "finished"
        except duckdb_host.duckdb.InterruptException:
            outcome["result"] = "interrupted"
        except Exception as e:  # noqa: BLE001 - reported below
            outcome["result"] = f"{type(e).__name__}: {e}"
        outcome["at"] = time.monotonic()

    thread = threading.Thread(target=run)
    thread.start()
    time.sleep(2.0)
    interrupted_at = time.monotonic()
    con.interrupt()
    thread.join(timeout=DEADLINE_S + 60)
    latency = outcome.get("at", float("inf")) - interrupted_at
    print(f"check_interrupt: {name} returned {latency * 1000:.0f} ms after interrupt()")
    return {
        (f"{name}: query was interrupted", str(outcome)): outcome.get("result") == "interrupted",
        (f"{name}: returned within {DEADLINE_S:.0f} s of interrupt()", str(outcome)): latency < DEADLINE_S,
    }


def main() -> int:
    extension, location = sys.argv[1], sys.argv[2]
    con = duckdb_host.connect(extension)
    con.execute(f"ATTACH 'example' AS ex (TYPE vgi, LOCATION '{location}')")
    con.execute("SET threads = 2")
    probe = tempfile.NamedTemporaryFile(prefix="vgi-cancel-probe-", delete=False).name
    checks = {}
    # A scan: ~200 batches of 200 ms each, 40 s if nothing stops it.
    checks.update(interrupt_check(con, "scan", f"SELECT count(*) FROM ex.main.slow_cancellable('{probe}', count := 1000000, sleep_ms := 200)"))
    checks[("scan: DuckDB still answers", "")] = con.execute("SELECT count(*) FROM ex.main.sequence(10)").fetchone()[0] == 10
    # Batched scalar calls (many chunks per worker turn): minutes if nothing stops them.
    checks.update(interrupt_check(con, "scalar", "SELECT count(DISTINCT ex.main.sha256_hex(range::VARCHAR)) FROM range(200000000)"))
    checks[("scalar: DuckDB still answers", "")] = con.execute("SELECT sum(ex.main.multiply(range, 3)) FROM range(100000)").fetchone()[0] == 3 * 4999950000
    failed = [name for name, ok in checks.items() if not ok]
    for name, outcome in failed:
        print(f"FAILED check_interrupt: {name} ({outcome})")
    print(f"{len(checks) - len(failed)} passed, {len(failed)} failed")
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
