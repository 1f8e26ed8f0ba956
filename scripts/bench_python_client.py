#!/usr/bin/env python3
"""The same scan and exchange through vgi-python's own client (`vgi.client.Client`), for
scripts/bench-client.sh. Run with the workers venv's Python.

  bench_python_client.py scan WORKER ROWS BATCH   -> prints `rows seconds`
  bench_python_client.py echo REQ RESP             -> ping-pong child: read REQ bytes, write RESP
"""
import sys
import time


def scan(worker: str, rows: int, batch: int) -> None:
    import pyarrow as pa
    from vgi.arguments import Arguments
    from vgi.client.client import Client

    with Client(worker) as client:
        args = Arguments(positional=(pa.scalar(rows, pa.int64()),), named={"batch_size": pa.scalar(batch, pa.int64())})
        started = time.perf_counter()
        total = 0
        for b in client.table_function(function_name="sequence", schema_path=["main"], arguments=args):
            total += b.num_rows
        seconds = time.perf_counter() - started
    print(f"{total} {seconds:.6f}")


def echo(req: int, resp: int) -> None:
    stdin, stdout = sys.stdin.buffer, sys.stdout.buffer
    response = b"\x09" * resp
    while True:
        got = stdin.read(req)
        if len(got) < req:
            return
        stdout.write(response)
        stdout.flush()


if __name__ == "__main__":
    if sys.argv[1] == "scan":
        scan(sys.argv[2], int(sys.argv[3]), int(sys.argv[4]))
    else:
        echo(int(sys.argv[2]), int(sys.argv[3]))
