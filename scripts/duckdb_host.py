"""Opening pip DuckDB 2.0.0 so it can load the dynamically linked extension build.

DuckDB dlopen()s extensions with RTLD_LOCAL, and Python imports DuckDB's module with
RTLD_LOCAL too, so the extension's references to DuckDB's C++ symbols cannot resolve. Promoting
the already-loaded module to RTLD_GLOBAL fixes that; the embedded build (make release) does not
need it but is not harmed by it.
"""
import ctypes
import os
import sys

import duckdb


def promote_duckdb_symbols() -> None:
    module = sys.modules.get("_duckdb") or getattr(duckdb, "_duckdb", None)
    if module is None or not getattr(module, "__file__", None):
        raise RuntimeError("cannot locate DuckDB's native module to promote its symbols")
    ctypes.CDLL(module.__file__, mode=os.RTLD_NOLOAD | os.RTLD_GLOBAL)


def connect(extension: str, database: str = ":memory:") -> "duckdb.DuckDBPyConnection":
    promote_duckdb_symbols()
    con = duckdb.connect(database, config={"allow_unsigned_extensions": "true"})
    con.execute(f"LOAD '{extension}'")
    return con
