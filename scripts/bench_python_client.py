#!/usr/bin/env python3
"""The same scan and exchange through vgi-python's own client (`vgi.client.Client`), for
scripts/bench-client.sh. Run with the workers venv's Python.

  bench_python_client.py scan WORKER ROWS BATCH   -> prints `rows seconds` (WORKER: a command
                                                     or an http:// URL)
  bench_python_client.py produce ROWS BATCH        -> prints `rows seconds`: the fixture's
                                                     `sequence` producing and IPC-encoding its
                                                     batches in-process, no client, no transport
  bench_python_client.py echo REQ RESP             -> ping-pong child: read REQ bytes, write RESP
"""
import sys
import time


def scan(worker: str, rows: int, batch: int) -> None:
    import pyarrow as pa
    from vgi.arguments import Arguments
    from vgi.client.client import Client

    opened = Client.from_http(worker) if worker.startswith(("http://", "https://")) else Client(worker)
    with opened as client:
        args = Arguments(positional=(pa.scalar(rows, pa.int64()),), named={"batch_size": pa.scalar(batch, pa.int64())})
        started = time.perf_counter()
        total = 0
        for b in client.table_function(function_name="sequence", schema_path=["main"], arguments=args):
            total += b.num_rows
        seconds = time.perf_counter() - started
    print(f"{total} {seconds:.6f}")


def produce(rows: int, batch: int) -> None:
    """The worker's own rate: its `sequence` generator driven in a loop, every batch written
    as the IPC stream message a response carries (what each turn costs the worker before any
    transport, framing of requests or state tokens)."""
    from types import SimpleNamespace

    import pyarrow as pa
    from vgi._test_fixtures.table.sequence import SequenceFunction
    from vgi._test_fixtures.table._common import CountdownState

    class Collector:
        def __init__(self) -> None:
            self.batches, self.finished = [], False

        def emit(self, b) -> None:
            self.batches.append(b)

        def finish(self) -> None:
            self.finished = True

    schema = pa.schema([("n", pa.int64())])
    params = SimpleNamespace(args=SimpleNamespace(count=rows, batch_size=batch, increment=1), output_schema=schema)
    state = CountdownState(remaining=rows)
    total = 0
    started = time.perf_counter()
    while True:
        out = Collector()
        SequenceFunction.process(params, state, out)
        for b in out.batches:
            sink = pa.BufferOutputStream()
            with pa.ipc.new_stream(sink, schema) as writer:
                writer.write_batch(b)
            sink.getvalue()
            total += b.num_rows
        if out.finished:
            break
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
    elif sys.argv[1] == "produce":
        produce(int(sys.argv[2]), int(sys.argv[3]))
    else:
        echo(int(sys.argv[2]), int(sys.argv[3]))
