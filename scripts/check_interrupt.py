#!/usr/bin/env python3
"""Checks what sqllogictest cannot express: interrupting a running query (Ctrl-C, or
`interrupt()` from another thread) stops a worker scan promptly and leaves DuckDB usable.
Usage: check_interrupt.py EXTENSION LOCATION   (prints `N passed, N failed`)"""
import sys
import tempfile
import threading
import time

import duckdb_host


def main() -> int:
    extension, location = sys.argv[1], sys.argv[2]
    con = duckdb_host.connect(extension)
    con.execute(f"ATTACH 'example' AS ex (TYPE vgi, LOCATION '{location}')")
    probe = tempfile.NamedTemporaryFile(prefix="vgi-cancel-probe-", delete=False).name
    # ~200 batches of 200 ms each: 40 s if nothing stops it.
    sql = f"SELECT count(*) FROM ex.main.slow_cancellable('{probe}', count := 1000000, sleep_ms := 200)"
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
    thread.join(timeout=30)
    checks = {
        "query was interrupted": outcome.get("result") == "interrupted",
        "within 2 s of interrupt()": outcome.get("at", 1e18) - interrupted_at < 2.0,
        "DuckDB still answers": con.execute("SELECT count(*) FROM ex.main.sequence(10)").fetchone()[0] == 10,
    }
    failed = [name for name, ok in checks.items() if not ok]
    for name in failed:
        print(f"FAILED check_interrupt: {name} ({outcome})")
    print(f"{len(checks) - len(failed)} passed, {len(failed)} failed")
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
