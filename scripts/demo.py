#!/usr/bin/env python3
"""`make demo`: start DuckDB (pip duckdb 2.0.0), load the extension and list the catalogs the
fixture worker offers, through the real worker process."""
import os
import sys

import duckdb_host


def main() -> None:
    extension = sys.argv[1]
    worker = os.environ["VGI_FIXTURE_WORKER"]
    con = duckdb_host.connect(extension)
    print(con.sql("SELECT vgi_version() AS vgi_version"))
    print(f"catalogs offered by `{worker}`:")
    print(con.sql("SELECT * FROM vgi_catalogs(?)", params=[worker]))


if __name__ == "__main__":
    main()
