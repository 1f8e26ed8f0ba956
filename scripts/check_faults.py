#!/usr/bin/env python3
"""The fault matrix, checked where sqllogictest cannot look: every phase x fault cell of
scripts/fixtures/faults_worker.py must end in a clear DuckDB error within the call timeout plus
a margin, never a panic, and leave the attached catalog usable (the next query on it answers).
Over stdio, once the catalog is detached, no fixture process may remain under this process
(a hung or crashed worker that was not reaped, a worker started for a dead connection).
The matrix runs in a child process, so a host crash (segfault, abort) fails its cell and the
rest still run.

Usage: check_faults.py EXTENSION LOCATION   (LOCATION: the faults worker's stdio command or
       HTTP URL; prints `N passed, N failed`)"""
from __future__ import annotations

import json
import os
import re
import subprocess
import sys
import time

CALL_TIMEOUT_S = 3
# Generous: the machine may be loaded, a replacement worker takes seconds to start, and a
# cell may legitimately make one more call (a rollback, a destructor) after its failure.
MARGIN_S = 25.0
SETTLE_S = 10.0
FAULTS = ("error", "crash", "hang", "garbage", "schema")

# phase: (the faulting statement, the follow-up statement, its expected single value, catalog)
PHASES = {
    "bind": ("SELECT count(*) FROM f.main.fault_scan('bind', '{fault}')", 500, "faults"),
    "init": ("SELECT count(*) FROM f.main.fault_scan('init', '{fault}')", 500, "faults"),
    "scan": ("SELECT count(*) FROM f.main.fault_scan('scan', '{fault}', after := 2)", 500, "faults"),
    "scalar": ("SELECT sum(f.main.fault_scalar(range, '{fault}')) FROM range(5000)", 12502500, "faults"),
    "combine": ("SELECT f.main.fault_agg(range, '{fault}', 'combine') FROM range(5000)", 12497500, "faults"),
    "finalize": ("SELECT f.main.fault_agg(range, '{fault}', 'finalize') FROM range(5000)", 12497500, "faults"),
    "inout": ("SELECT count(*) FROM f.main.fault_inout((SELECT range AS n FROM range(100)), '{fault}')", 101, "faults"),
    "insert": ("INSERT INTO f.main.sink_{fault} VALUES (1, 'one'), (2, 'two')", 2, "faults"),
    "commit": ("INSERT INTO f.main.commit_{fault} VALUES (1, 'one'), (2, 'two')", 2, "faults_tx"),
}


def expected_message(fault: str, phase: str, http: bool) -> str:
    """A regex the error text must match: what the user needs to know first."""
    if fault == "error":
        return r"RuntimeError: injected error at " + {"scan": "scan batch 2", "scalar": "scalar turn",
                                                       "combine": "aggregate combine", "finalize": "aggregate finalize",
                                                       "inout": "table-in-out finalize"}.get(phase, phase)
    if fault == "crash":
        return r"VGI worker disconnected" if http else r"VGI worker disconnected: the worker `.*` exited"
    if fault == "hang":
        return r"VGI call timed out"
    if fault == "garbage":
        return r"VGI protocol error: malformed Arrow IPC"
    # A stream of another schema: the client's protocol check, or the extension's check of
    # the batch against the bound schema.
    return r"VGI protocol error: .*schema|does not match its bound schema|has no column|expected \d+ rows of"


# ----------------------------------------------------------------------------------------------
# Child: runs cells, one JSON line each
# ----------------------------------------------------------------------------------------------

def fixture_processes() -> list[str]:
    """Fault-fixture processes below this one, and any zombie below it (unreaped is leaked)."""
    me = os.getpid()
    parents, found = {}, {}
    for pid in filter(str.isdigit, os.listdir("/proc")):
        try:
            with open(f"/proc/{pid}/stat", encoding="utf-8") as f:
                stat = f.read()
            with open(f"/proc/{pid}/cmdline", "rb") as f:
                cmdline = f.read().replace(b"\0", b" ").decode(errors="replace")
        except OSError:
            continue
        fields = stat[stat.rfind(")") + 2:].split()
        parents[int(pid)] = int(fields[1])
        if "faults_worker" in cmdline or fields[0] == "Z":
            found[int(pid)] = f"{pid} [{fields[0]}] {cmdline.strip()[:100]}"

    def below_me(pid: int) -> bool:
        seen = set()
        while pid not in (0, 1) and pid not in seen:
            seen.add(pid)
            pid = parents.get(pid, 0)
            if pid == me:
                return True
        return False

    return [text for pid, text in found.items() if below_me(pid)]


def run_cells(extension: str, location: str, start: int) -> None:
    sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
    import duckdb_host

    http = location.startswith("http")
    con = duckdb_host.connect(extension)
    con.execute("SET threads = 4")

    def attach(catalog: str) -> None:
        con.execute(f"ATTACH '{catalog}' AS f (TYPE vgi, LOCATION '{location}')")
        con.execute(f"SET vgi_call_timeout = {CALL_TIMEOUT_S}")

    cells = [(phase, fault) for phase in PHASES for fault in FAULTS]
    for index in range(start, len(cells)):
        phase, fault = cells[index]
        sql, expected, catalog = PHASES[phase]
        print(json.dumps({"start": index}), flush=True)
        checks: dict[str, tuple[bool, str]] = {}
        # A generous timeout while attaching: the worker may have to start first.
        con.execute("SET vgi_call_timeout = 120")
        attach(catalog)
        began = time.monotonic()
        try:
            con.execute(sql.format(fault=fault)).fetchall()
            error = None
        except Exception as e:  # noqa: BLE001 - the message is what is checked
            error = f"{type(e).__name__}: {e}"
        elapsed = time.monotonic() - began
        pattern = expected_message(fault, phase, http)
        checks["fails with a clear error"] = (error is not None and re.search(pattern, error) is not None,
                                              f"wanted /{pattern}/, got {error!r}")
        checks["no panic"] = (error is None or "panic" not in error.lower(), repr(error))
        checks["returns in time"] = (elapsed < CALL_TIMEOUT_S + MARGIN_S, f"{elapsed:.1f} s")
        if fault == "hang":
            # One timeout waited out, not two (a second call on the hung connection would).
            checks["waits out one timeout"] = (CALL_TIMEOUT_S <= elapsed < 2 * CALL_TIMEOUT_S, f"{elapsed:.1f} s")
        try:
            got = con.execute(sql.format(fault="none")).fetchall()
            checks["next query works"] = (got == [(expected,)], f"got {got}")
        except Exception as e:  # noqa: BLE001
            checks["next query works"] = (False, f"{type(e).__name__}: {e}")
        con.execute("SET vgi_call_timeout = 120")
        con.execute("DETACH f")
        if not http:
            until = time.monotonic() + SETTLE_S
            while (left := fixture_processes()) and time.monotonic() < until:
                time.sleep(0.2)
            checks["no worker process left after DETACH"] = (not left, "; ".join(left))
        print(json.dumps({"cell": index, "phase": phase, "fault": fault, "elapsed": round(elapsed, 2),
                          "checks": checks}), flush=True)


# ----------------------------------------------------------------------------------------------
# Parent: runs the child, survives its crashes, reports
# ----------------------------------------------------------------------------------------------

def main() -> int:
    if len(sys.argv) == 5 and sys.argv[1] == "--child":
        run_cells(sys.argv[2], sys.argv[3], int(sys.argv[4]))
        return 0
    extension, location = sys.argv[1], sys.argv[2]
    total = len(PHASES) * len(FAULTS)
    results: dict[int, tuple[str, dict]] = {}
    start = 0
    while start < total:
        child = subprocess.Popen([sys.executable, os.path.abspath(__file__), "--child", extension, location, str(start)],
                                 stdout=subprocess.PIPE, text=True)
        current = start
        assert child.stdout is not None
        for line in child.stdout:
            if not line.startswith("{"):
                continue
            record = json.loads(line)
            if "start" in record:
                current = record["start"]
            else:
                results[record["cell"]] = (f"{record['phase']} x {record['fault']} ({record['elapsed']} s)", record["checks"])
                current = record["cell"] + 1
        code = child.wait()
        if current < total and current not in results:
            cells = [(p, f) for p in PHASES for f in FAULTS]
            results[current] = (f"{cells[current][0]} x {cells[current][1]}",
                                {"host process survives": (False, f"the DuckDB process ended with {code}")})
            current += 1
        start = current
    failed = 0
    for index in sorted(results):
        name, checks = results[index]
        bad = {k: v for k, (ok, v) in checks.items() if not ok}
        if bad:
            failed += 1
            for check, detail in bad.items():
                print(f"FAILED check_faults: {name}: {check}: {detail}")
        else:
            print(f"ok check_faults: {name}")
    print(f"{total - failed} passed, {failed} failed")
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
