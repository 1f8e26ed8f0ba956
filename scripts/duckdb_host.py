"""Opening pip DuckDB 2.0.0 so it can load the dynamically linked extension build.

DuckDB dlopen()s extensions with RTLD_LOCAL, and Python imports DuckDB's module with
RTLD_LOCAL too, so the extension's references to DuckDB's C++ symbols cannot resolve. Promoting
the already-loaded module to RTLD_GLOBAL fixes that; the embedded build (make release) does not
need it but is not harmed by it.
"""
import ctypes
import importlib.machinery
import os
import sys

import duckdb  # noqa: F401 - re-exported for callers (duckdb_host.duckdb)


def promote_duckdb_symbols() -> None:
    suffixes = tuple(importlib.machinery.EXTENSION_SUFFIXES)
    for module in (sys.modules.get("_duckdb"), sys.modules.get("duckdb._duckdb"), getattr(duckdb, "_duckdb", None)):
        path = getattr(module, "__file__", None)
        if path and path.endswith(suffixes):
            ctypes.CDLL(path, mode=os.RTLD_NOLOAD | os.RTLD_GLOBAL)
            return
    raise RuntimeError("cannot locate DuckDB's native module to promote its symbols")


def connect(extension: str, database: str = ":memory:") -> "duckdb.DuckDBPyConnection":
    promote_duckdb_symbols()
    con = duckdb.connect(database, config={"allow_unsigned_extensions": "true"})
    con.execute(f"LOAD '{extension}'")
    return con
