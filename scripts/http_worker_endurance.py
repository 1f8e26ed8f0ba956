#!/usr/bin/env python3
"""Endurance run of ONE long-lived HTTP fixture worker: starts the example worker over HTTP
(its stdout/stderr kept in a log), then runs every test/sql file against it in the HTTP lane,
pass after pass, for N minutes, while sampling the worker's RSS, open fds, threads and TCP
connections (established / close-wait) every few seconds. Reports whether the worker survived,
its exit status if not, the requests it served (its access log), each pass's result and the
figures' range. The other fixtures come from scripts/with-http-worker.sh (it re-runs itself
under it, with the directories the tests share with the workers):

  scripts/http_worker_endurance.py build/vgi.duckdb_extension --minutes 20

Exits non-zero when the worker died or a pass failed."""
import argparse
import os
import re
import signal
import subprocess
import sys
import tempfile
import threading
import time

from proc_figures import process_figures, tcp_states

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(HERE)


def main() -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("extension")
    parser.add_argument("--minutes", type=float, default=20.0)
    parser.add_argument("--sample-every", type=float, default=5.0)
    parser.add_argument("--log", default=None, help="the worker's log (default: a temp file, kept)")
    parser.add_argument("--http-threads", type=int, default=None, help="vgi-serve --http-threads")
    parser.add_argument("files", nargs="*", default=["test/sql"])
    args = parser.parse_args()
    for var in ("VGI_WORKERS_VENV", "VGI_HOST_PY"):
        if not os.environ.get(var):
            sys.exit(f"{var} is not set: source the env.sh written by scripts/setup-workers.sh")
    if not os.environ.get("VGI_SIMPLE_WRITABLE_HTTP_URL"):
        # The workers must see the branch directory the tests write (run-tests.sh does the same).
        branch_dir = tempfile.mkdtemp(prefix="vgi-endurance-")
        os.environ["VGI_TEST_BRANCH_DIR"] = branch_dir
        os.environ["VGI_TEST_COMPANION_TARGET"] = os.path.join(branch_dir, "companion.duckdb")
        os.environ["VGI_TEST_COMPANION_DBTYPE"] = "duckdb"
        wrapper = os.path.join(HERE, "with-http-worker.sh")
        os.execv(wrapper, [wrapper, sys.executable, os.path.abspath(__file__), *sys.argv[1:]])

    log_path = args.log or tempfile.NamedTemporaryFile(prefix="vgi-http-worker-", suffix=".log", delete=False).name
    log = open(log_path, "wb")
    env = dict(os.environ)
    env.pop("VGI_QUIET", None)  # keep the worker's access log: it counts the requests
    command = [f"{os.environ['VGI_WORKERS_VENV']}/bin/vgi-serve", "--http", "--host", "127.0.0.1", "--port", "0"]
    if args.http_threads:
        command += ["--http-threads", str(args.http_threads)]
    command.append("vgi._test_fixtures.worker:ExampleWorker")
    worker = subprocess.Popen(command, stdout=log, stderr=subprocess.STDOUT, env=env)
    # Stopped from outside (SIGTERM, Ctrl-C): take the worker down too.
    def stop_worker(signum, frame):
        worker.terminate()
        sys.exit(128 + signum)
    signal.signal(signal.SIGTERM, stop_worker)
    port = None
    for _ in range(240):
        with open(log_path, "rb") as f:
            found = re.search(rb"^PORT:(\d+)", f.read(), re.M)
        if found:
            port = int(found.group(1))
            break
        if worker.poll() is not None:
            sys.exit(f"the worker exited at start ({worker.returncode}); log {log_path}")
        time.sleep(0.25)
    if port is None:
        sys.exit(f"the worker printed no PORT line; log {log_path}")
    url = f"http://127.0.0.1:{port}"
    print(f"worker pid {worker.pid} at {url}, log {log_path}", flush=True)

    samples = []
    stop = threading.Event()

    def sample() -> None:
        while not stop.is_set():
            if worker.poll() is not None:
                break
            try:
                figures = process_figures(worker.pid)
            except OSError:
                break
            figures.update(tcp_states(port))
            figures["t"] = time.monotonic()
            samples.append(figures)
            stop.wait(args.sample_every)

    sampler = threading.Thread(target=sample, daemon=True)
    sampler.start()

    test_env = dict(os.environ)
    test_env.update({"VGI_TRANSPORT": "http", "VGI_WORKER": url})
    # The HTTP lane's other fixtures, as run-tests.sh passes them (an unset one skips its tests).
    for var in ("VGI_SIMPLE_WRITABLE", "VGI_MEMORY_CATALOG", "VGI_COMPANION", "VGI_SCHEMA_RECONCILE", "VGI_FAULTS",
                "VGI_VERSIONED_TABLES", "VGI_NARROW_BIND"):
        if os.environ.get(f"{var}_HTTP_URL"):
            test_env[var] = os.environ[f"{var}_HTTP_URL"]
        else:
            test_env.pop(var, None)
    started = time.monotonic()
    deadline = started + args.minutes * 60
    passes = []
    while time.monotonic() < deadline and worker.poll() is None:
        t0 = time.monotonic()
        run = subprocess.run(
            [os.environ["VGI_HOST_PY"], os.path.join(HERE, "run_sqllogictest.py"), "--extension", f"vgi={args.extension}", *args.files],
            cwd=ROOT, env=test_env, capture_output=True, text=True,
        )
        summary = (run.stdout.strip().splitlines() or ["(no output)"])[-1]
        passes.append((run.returncode, summary, time.monotonic() - t0))
        failed_lines = [l for l in run.stdout.splitlines() if "FAILED" in l or re.search(r" [1-9]\d* failed", l)]
        print(f"pass {len(passes)}: {summary} ({passes[-1][2]:.0f} s, rc {run.returncode})", flush=True)
        for line in failed_lines[:10]:
            print(f"    {line[:300]}", flush=True)
        if samples:
            s = samples[-1]
            print(f"    worker rss {s['rss_mb']:.0f} MiB, fds {s['fds']}, threads {s['threads']}, "
                  f"tcp established {s['established']}, close_wait {s['close_wait']}, time_wait {s['time_wait']}, "
                  f"clients' time_wait {s['client_time_wait']}", flush=True)
    stop.set()
    sampler.join(timeout=10)
    ran = time.monotonic() - started
    alive = worker.poll() is None
    with open(log_path, "rb") as f:
        text = f.read().decode(errors="replace")
    requests = text.count("vgi_rpc.access")
    errors = len(re.findall(r"vgi_rpc\.access\s+\S+\s+\S+ (?!ok)", text))
    # Every catalog_attach should end in a catalog_detach (DETACH, or the database closing).
    attaches, detaches = text.count("catalog_attach ok"), text.count("catalog_detach ok")
    print(f"ran {ran / 60:.1f} min, {len(passes)} passes, worker {'ALIVE' if alive else f'DIED (exit status {worker.returncode})'}, "
          f"{requests} requests in its access log ({errors} not ok), {attaches} catalog_attach / {detaches} catalog_detach")
    if samples:
        for key in ("rss_mb", "fds", "threads", "established", "close_wait", "time_wait", "client_time_wait"):
            values = [s[key] for s in samples]
            print(f"  worker {key:16s} first {values[0]:8.1f}  min {min(values):8.1f}  max {max(values):8.1f}  last {values[-1]:8.1f}")
    if not alive:
        print("--- last lines of the worker's log ---")
        print("\n".join(text.splitlines()[-40:]))
    else:
        worker.terminate()
        worker.wait(timeout=30)
    failed_passes = sum(1 for rc, _, _ in passes if rc != 0)
    print(f"worker log kept at {log_path}")
    print(f"{len(passes) - failed_passes} passed, {failed_passes + (0 if alive else 1)} failed")
    return 0 if alive and failed_passes == 0 else 1


if __name__ == "__main__":
    raise SystemExit(main())
