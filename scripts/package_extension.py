#!/usr/bin/env python3
"""Turns the cdylib into a loadable DuckDB extension by appending DuckDB's metadata footer.

The footer is the last 512 bytes of a `.duckdb_extension`: eight 32-byte NUL-padded fields
(read by DuckDB back to front: magic "4", platform, DuckDB version, extension version, ABI
type, three unused) followed by a 256-byte signature (zeros: the file is unsigned). A
22-byte WebAssembly custom-section header precedes them, as in DuckDB's own tooling.
"""
import argparse
import os
import shutil

FIELD = 32
WASM_SECTION_HEADER = bytes([0, 147, 4, 16]) + b"duckdb_signature" + bytes([128, 4])


def field(text: str) -> bytes:
    raw = text.encode("ascii")
    if len(raw) > FIELD:
        raise SystemExit(f"footer field too long: {text!r}")
    return raw.ljust(FIELD, b"\0")


def footer(platform: str, duckdb_version: str, extension_version: str, abi: str) -> bytes:
    # Written front to back; DuckDB reads the fields from the end.
    fields = ["", "", "", abi, extension_version, duckdb_version, platform, "4"]
    return WASM_SECTION_HEADER + b"".join(field(f) for f in fields) + bytes(256)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--lib", required=True, help="the built shared library")
    ap.add_argument("--out", required=True, help="the .duckdb_extension to write")
    ap.add_argument("--platform", default="linux_amd64")
    ap.add_argument("--duckdb-version", default="v2.0.0")
    ap.add_argument("--extension-version", required=True)
    ap.add_argument("--abi", default="CPP", choices=["CPP", "C_STRUCT", "C_STRUCT_UNSTABLE"])
    args = ap.parse_args()

    os.makedirs(os.path.dirname(os.path.abspath(args.out)), exist_ok=True)
    tmp = args.out + ".tmp"
    shutil.copyfile(args.lib, tmp)
    with open(tmp, "ab") as f:
        f.write(footer(args.platform, args.duckdb_version, args.extension_version, args.abi))
    os.replace(tmp, args.out)
    print(f"packaged {args.out} ({args.abi}, DuckDB {args.duckdb_version}, {args.platform}, {args.extension_version})")


if __name__ == "__main__":
    main()
