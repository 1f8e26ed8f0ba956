#!/usr/bin/env python3
"""Soak test: concurrent mixed queries against real workers for N minutes, watching the host
process (this one: DuckDB with the extension loaded) for leaks.

Several client threads, each on its own DuckDB connection, run a random mix of scans, scalar
calls, aggregates, table-in-out calls, LIMIT-closed streams, writes (INSERT / UPDATE / DELETE on
the simple_writable fixture, one ATTACH per thread), interrupts (interrupt() from a
timer thread mid-query) and ATTACH / query / DETACH of a fresh catalog. Every result is checked.

It prints the host's open fds, threads, child processes and RSS at the start, after warm-up,
periodically and at the end (also a worker's: by --worker-pid, or over HTTP the process listening
on the URL's port, with its TCP connections), with query counts per kind and failures. It exits
non-zero on any unexpected failure (a client thread that dies included), when a kind of query
never ran, when the watched worker is gone, or when fds, children, threads or RSS (host's or
watched worker's) grew from the post-warm-up baseline beyond a small tolerance.

Usage: soak.py EXTENSION LOCATION WRITABLE_LOCATION [--minutes 10] [--clients 4]
  LOCATION / WRITABLE_LOCATION: stdio command lines or http:// URLs (like bench_cancel.py).
  stdio: PYTHONPATH=scripts $VGI_HOST_PY scripts/soak.py build/vgi.duckdb_extension \
           "$VGI_FIXTURE_WORKER" "$VGI_SIMPLE_WRITABLE" --minutes 10
  HTTP:  scripts/with-http-worker.sh bash -c 'PYTHONPATH=scripts "$VGI_HOST_PY" scripts/soak.py \
           build/vgi.duckdb_extension "$VGI_FIXTURE_HTTP_URL" "$VGI_SIMPLE_WRITABLE_HTTP_URL" --minutes 10'"""
import argparse
import os
import random
import re
import threading
import time
import traceback
from collections import Counter

import duckdb_host
from proc_figures import figures, pid_listening_on, tcp_states

# Tolerances for growth from the post-warm-up baseline to the end (after the pool settles).
FD_TOLERANCE = 8
CHILD_TOLERANCE = 2
THREAD_TOLERANCE = 8
RSS_TOLERANCE_MB = 64
RSS_TOLERANCE_RATIO = 0.25


def show(label: str, host: dict, worker: dict = None) -> None:
    line = (f"{label:>10}  host fds {host['fds']:4d}  threads {host['threads']:3d}  children {host['children']:3d}"
            f"  zombies {host['zombies']:2d}  rss {host['rss_mb']:7.1f} MiB")
    if worker is not None:
        line += f" | worker fds {worker['fds']:4d}  threads {worker['threads']:3d}  rss {worker['rss_mb']:7.1f} MiB"
        if "established" in worker:
            line += f"  tcp established {worker['established']:3d}  close_wait {worker['close_wait']:3d}"
    print(line, flush=True)


# ---- the workload --------------------------------------------------------------------------

def _is_interrupt(e: Exception) -> bool:
    return isinstance(e, duckdb_host.duckdb.InterruptException) or "INTERRUPT" in str(e).upper()


class Soak:
    def __init__(self, db, location: str, writable: str, deadline: float, seed: int):
        self.db = db
        self.location = location
        self.writable = writable
        self.deadline = deadline
        self.seed = seed
        self.lock = threading.Lock()
        self.counts = Counter()
        self.failures = []
        self.attach_serial = 0

    def record(self, kind: str, error: str = None) -> None:
        with self.lock:
            self.counts[kind] += 1
            if error is not None:
                self.counts["FAILED " + kind] += 1
                self.failures.append(f"{kind}: {error}")
                if len(self.failures) <= 20:
                    print(f"FAILURE {kind}: {error}", flush=True)

    # Each check returns None when the result is right, else what was wrong.
    def scan(self, con, rng):
        n = rng.choice([10, 1000, 100000, 1000000])
        got = con.execute(f"SELECT count(*), sum(n) FROM ex.main.sequence({n})").fetchone()
        return None if got == (n, n * (n - 1) // 2) else f"sequence({n}) gave {got}"

    def table(self, con, rng):
        got = con.execute("SELECT count(*), sum(n), max(n) FROM ex.data.ten_thousand_table").fetchone()
        return None if got == (10000, 49995000, 9999) else f"ten_thousand_table gave {got}"

    def limit(self, con, rng):
        got = con.execute("SELECT n FROM ex.main.sequence(100000000) LIMIT 3").fetchall()
        return None if len(got) == 3 else f"LIMIT 3 gave {got}"

    def scalar(self, con, rng):
        n = rng.choice([100, 10000, 300000])
        got = con.execute(f"SELECT sum(ex.main.multiply(range, 3)) FROM range({n})").fetchone()[0]
        return None if got == 3 * n * (n - 1) // 2 else f"multiply over range({n}) gave {got}"

    def aggregate(self, con, rng):
        n = rng.choice([100, 10000, 300000])
        got = con.execute(f"SELECT ex.main.vgi_sum(range) FROM range({n})").fetchone()[0]
        return None if got == n * (n - 1) // 2 else f"vgi_sum over range({n}) gave {got}"

    def in_out(self, con, rng):
        n = rng.choice([10, 10000, 200000])
        got = con.execute(f"SELECT count(*), sum(i) FROM ex.main.echo((SELECT range AS i FROM range({n})))").fetchone()
        return None if got == (n, n * (n - 1) // 2) else f"echo over range({n}) gave {got}"

    def write(self, con, rng, client: int, iteration: int):
        base = (client + 1) * 10_000_000 + (iteration % 1000) * 100
        n = rng.randint(1, 20)
        where = f"id >= {base} AND id < {base + 100}"
        table = f"w{client}.main.items"
        con.execute(f"DELETE FROM {table} WHERE {where}")
        values = ", ".join(f"({base + i}, 'soak{client}', {i})" for i in range(n))
        got = con.execute(f"INSERT INTO {table} VALUES {values}").fetchone()[0]
        if got != n:
            return f"INSERT of {n} rows reported {got}"
        got = con.execute(f"UPDATE {table} SET qty = qty + 1 WHERE {where}").fetchone()[0]
        if got != n:
            return f"UPDATE of {n} rows reported {got}"
        got = con.execute(f"SELECT count(*), sum(qty) FROM {table} WHERE {where}").fetchone()
        if got != (n, n * (n - 1) // 2 + n):
            return f"after INSERT+UPDATE of {n} rows the table holds {got}"
        got = con.execute(f"DELETE FROM {table} WHERE {where}").fetchone()[0]
        if got != n:
            return f"DELETE of {n} rows reported {got}"
        return None

    def interrupt(self, con, rng):
        sql = rng.choice([
            "SELECT count(*) FROM ex.main.sequence(1000000000)",
            "SELECT sum(ex.main.multiply(range, 3)) FROM range(10000000000)",
            "SELECT ex.main.vgi_sum(range) FROM range(10000000000)",
            "SELECT count(*) FROM ex.main.echo((SELECT range AS x FROM range(10000000000)))",
        ])
        timer = threading.Timer(rng.uniform(0.1, 1.5), con.interrupt)
        timer.start()
        try:
            con.execute(sql).fetchall()
            return f"`{sql}` finished although interrupted"
        except Exception as e:  # noqa: BLE001 - classified
            if not _is_interrupt(e):
                raise
        finally:
            timer.cancel()
        # The connection must answer right after an interrupt.
        got = con.execute("SELECT count(*) FROM ex.main.sequence(10)").fetchone()[0]
        return None if got == 10 else f"after an interrupt sequence(10) gave {got}"

    def attach(self, con, rng):
        with self.lock:
            self.attach_serial += 1
            alias = f"soak_{self.attach_serial}"
        con.execute(f"ATTACH 'example' AS {alias} (TYPE vgi, LOCATION '{self.location}')")
        try:
            got = con.execute(f"SELECT count(*) FROM {alias}.main.sequence(100)").fetchone()[0]
            return None if got == 100 else f"sequence(100) on a fresh ATTACH gave {got}"
        finally:
            con.execute(f"DETACH {alias}")

    KINDS = ["scan", "table", "limit", "scalar", "aggregate", "in_out", "write", "interrupt", "attach"]
    WEIGHTS = [4, 2, 2, 3, 3, 2, 3, 1, 1]

    def client(self, index: int) -> None:
        try:
            self._client(index)
        except BaseException as e:  # noqa: BLE001 - a client that dies must fail the soak
            self.record("client", f"client {index} died: {type(e).__name__}: {e}")

    def _client(self, index: int) -> None:
        rng = random.Random(self.seed * 1000 + index)
        con = self.db.cursor()
        iteration = 0
        while time.monotonic() < self.deadline:
            kind = rng.choices(self.KINDS, self.WEIGHTS)[0]
            iteration += 1
            try:
                if kind == "write":
                    problem = self.write(con, rng, index, iteration)
                else:
                    problem = getattr(self, kind)(con, rng)
            except Exception as e:  # noqa: BLE001 - every unexpected error is a failure
                problem = f"{type(e).__name__}: {str(e).splitlines()[0][:300] if str(e) else ''}"
                if os.environ.get("SOAK_TRACEBACKS"):
                    traceback.print_exc()
            self.record(kind, problem)
        con.close()


def main() -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("extension")
    parser.add_argument("location")
    parser.add_argument("writable")
    parser.add_argument("--minutes", type=float, default=10.0)
    parser.add_argument("--clients", type=int, default=4)
    parser.add_argument("--threads", type=int, default=2, help="DuckDB threads")
    parser.add_argument("--report-every", type=float, default=60.0, help="seconds")
    parser.add_argument("--warmup", type=float, default=None, help="seconds before the baseline (default 10%%, at most 60)")
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--worker-pid", type=int, default=None, help="also watch this worker process")
    args = parser.parse_args()

    lane = "http" if args.location.startswith("http") else "stdio"
    worker_pid, worker_port = args.worker_pid, None
    if lane == "http":
        port = re.search(r":(\d+)", args.location.split("//", 1)[1])
        worker_port = int(port.group(1)) if port else None
        if worker_pid is None and worker_port:
            worker_pid = pid_listening_on(worker_port)
    me = os.getpid()

    def worker_figures():
        if worker_pid is None:
            return None
        try:
            got = figures(worker_pid)
        except OSError:  # the worker is gone
            return {"fds": -1, "threads": -1, "rss_mb": -1.0, "children": 0, "zombies": 0, "dead": True}
        if worker_port:
            got.update(tcp_states(worker_port))
        return got

    print(f"soak: lane {lane}, {args.minutes:g} min, {args.clients} clients, DuckDB threads {args.threads}, seed {args.seed}"
          + (f", watching worker pid {worker_pid}" if worker_pid else ""), flush=True)
    start = figures(me)
    show("start", start, worker_figures())
    db = duckdb_host.connect(args.extension)
    db.execute(f"SET threads = {args.threads}")
    db.execute(f"ATTACH 'example' AS ex (TYPE vgi, LOCATION '{args.location}')")
    # One writable catalog per client: the fixture keeps each ATTACH's rows in its own SQLite
    # file, and its UPDATE (BEGIN; SELECT; UPDATE) fails with "database is locked" when two
    # worker processes write the same file at once, a limit of the fixture, not of the client.
    for i in range(args.clients):
        db.execute(f"ATTACH 'simple_writable' AS w{i} (TYPE vgi, LOCATION '{args.writable}')")

    began = time.monotonic()
    duration = args.minutes * 60
    warmup = args.warmup if args.warmup is not None else min(60.0, duration * 0.1)
    soak = Soak(db, args.location, args.writable, began + duration, args.seed)
    clients = [threading.Thread(target=soak.client, args=(i,), name=f"soak-client-{i}") for i in range(args.clients)]
    for t in clients:
        t.start()

    time.sleep(warmup)
    baseline = figures(me)
    worker_baseline = worker_figures()
    show("baseline", baseline, worker_baseline)
    samples = [baseline]
    next_report = time.monotonic() + args.report_every
    while any(t.is_alive() for t in clients):
        time.sleep(1.0)
        if time.monotonic() >= next_report:
            next_report += args.report_every
            now = figures(me)
            samples.append(now)
            with soak.lock:
                total = sum(v for k, v in soak.counts.items() if not k.startswith("FAILED"))
                failed = sum(v for k, v in soak.counts.items() if k.startswith("FAILED"))
            show(f"{time.monotonic() - began:6.0f} s", now, worker_figures())
            print(f"{'':>10}  {total} queries, {failed} failed", flush=True)
    for t in clients:
        t.join()
    # Let cancelled streams drain and idle pooled connections settle before the final figures.
    time.sleep(5.0)
    end = figures(me)
    worker_end = worker_figures()
    show("end", end, worker_end)
    ran = time.monotonic() - began

    total = sum(v for k, v in soak.counts.items() if not k.startswith("FAILED"))
    print(f"queries: {total} in {ran:.0f} s ({total / ran:.1f}/s)")
    for kind in Soak.KINDS:
        print(f"  {kind:10s} {soak.counts[kind]:7d}  failed {soak.counts['FAILED ' + kind]}")
    problems = []
    if soak.failures:
        problems.append(f"{len(soak.failures)} unexpected failures")
    # A run that never exercised part of the mix proves nothing about it.
    never = [kind for kind in Soak.KINDS if soak.counts[kind] == 0]
    if never:
        problems.append(f"never ran: {', '.join(never)}")
    if end["fds"] > baseline["fds"] + FD_TOLERANCE:
        problems.append(f"open fds grew {baseline['fds']} -> {end['fds']}")
    if end["children"] > baseline["children"] + CHILD_TOLERANCE:
        problems.append(f"child processes grew {baseline['children']} -> {end['children']}")
    if end["zombies"] > CHILD_TOLERANCE:
        problems.append(f"{end['zombies']} zombie children")
    if end["threads"] > baseline["threads"] + THREAD_TOLERANCE:
        problems.append(f"threads grew {baseline['threads']} -> {end['threads']}")
    rss_limit = baseline["rss_mb"] * (1 + RSS_TOLERANCE_RATIO) + RSS_TOLERANCE_MB
    if end["rss_mb"] > rss_limit:
        problems.append(f"RSS grew {baseline['rss_mb']:.0f} -> {end['rss_mb']:.0f} MiB (limit {rss_limit:.0f})")
    if worker_baseline is not None:
        if worker_end.get("dead"):
            problems.append(f"the worker (pid {worker_pid}) is gone")
        else:
            if worker_end["fds"] > worker_baseline["fds"] + FD_TOLERANCE:
                problems.append(f"worker fds grew {worker_baseline['fds']} -> {worker_end['fds']}")
            if worker_end["threads"] > worker_baseline["threads"] + THREAD_TOLERANCE:
                problems.append(f"worker threads grew {worker_baseline['threads']} -> {worker_end['threads']}")
            if worker_end.get("close_wait", 0) > FD_TOLERANCE:
                problems.append(f"{worker_end['close_wait']} worker connections left in CLOSE_WAIT")
            worker_rss_limit = worker_baseline["rss_mb"] * (1 + RSS_TOLERANCE_RATIO) + RSS_TOLERANCE_MB
            if worker_end["rss_mb"] > worker_rss_limit:
                problems.append(f"worker RSS grew {worker_baseline['rss_mb']:.0f} -> {worker_end['rss_mb']:.0f} MiB"
                                f" (limit {worker_rss_limit:.0f})")
            print(f"worker: fds {worker_baseline['fds']} -> {worker_end['fds']}, "
                  f"threads {worker_baseline['threads']} -> {worker_end['threads']}, "
                  f"RSS {worker_baseline['rss_mb']:.0f} -> {worker_end['rss_mb']:.0f} MiB"
                  + (f", tcp established {worker_baseline['established']} -> {worker_end['established']}, "
                     f"close_wait {worker_baseline['close_wait']} -> {worker_end['close_wait']}" if "established" in worker_end else ""))
    peak = max(s["rss_mb"] for s in samples + [end])
    print(f"host: fds {start['fds']} -> {baseline['fds']} (baseline) -> {end['fds']}, "
          f"children {start['children']} -> {baseline['children']} -> {end['children']}, "
          f"threads {start['threads']} -> {baseline['threads']} -> {end['threads']}, "
          f"RSS {start['rss_mb']:.0f} -> {baseline['rss_mb']:.0f} -> {end['rss_mb']:.0f} MiB (peak {peak:.0f})")
    for p in problems:
        print(f"SOAK FAILED: {p}")
    print(f"{total - len(soak.failures)} passed, {len(soak.failures)} failed")
    return 1 if problems else 0


if __name__ == "__main__":
    raise SystemExit(main())
