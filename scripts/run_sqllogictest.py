#!/usr/bin/env python3
"""A sqllogictest runner for DuckDB's test dialect, on the `duckdb` Python module.

Usage:
    run_sqllogictest.py [--extension NAME=PATH ...] [--min-records N] [--verbose] FILES_OR_DIRS...

Every statement/query record counts once per execution (loop iterations count separately).
Query results are formatted by DuckDB itself (CAST(... AS VARCHAR)), the same text
DuckDB's own runner compares against, while each statement is executed exactly once.
"""

from __future__ import annotations

import argparse
import ctypes
import hashlib
import importlib.machinery
import math
import os
import re
import shutil
import sys
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path

import duckdb

import duckdb_host  # scripts/duckdb_host.py: RTLD_GLOBAL promotion for the dynamic build

# Extensions built by this project: `require` of one of these without --extension skips the file.
PROJECT_EXTENSIONS = {"vgi"}
# `require` arguments that are properties of the platform rather than loadable extensions.
ALWAYS_SATISFIED = {"skip_reload", "notwindows", "notmingw", "no_extension_autoloading"}

SINGLE_LINE_DIRECTIVES = {
    "require", "require-env", "mode", "set", "load", "restart", "halt", "sleep", "endloop",
}
LOOP_DIRECTIVES = {"loop", "foreach", "concurrentloop", "concurrentforeach"}
KNOWN_MODES = {"skip", "unskip", "output_result", "output_hash", "no_output", "debug"}
SORT_MODES = {"nosort", "rowsort", "valuesort"}
SLEEP_UNITS = {"second": 1.0, "millisecond": 1e-3, "microsecond": 1e-6, "nanosecond": 1e-9}
FOREACH_GROUPS = {
    "<signed>": ["tinyint", "smallint", "integer", "bigint", "hugeint"],
    "<unsigned>": ["utinyint", "usmallint", "uinteger", "ubigint", "uhugeint"],
}
FOREACH_GROUPS["<integral>"] = FOREACH_GROUPS["<signed>"] + FOREACH_GROUPS["<unsigned>"]
FOREACH_GROUPS["<numeric>"] = FOREACH_GROUPS["<integral>"] + ["float", "double"]

HASH_RE = re.compile(r"(\d+) values hashing to ([0-9a-f]{32})")
VAR_RE = re.compile(r"\$\{(\w+)\}")
MAX_SHOWN_LINES = 200


# ----------------------------------------------------------------------------------------------
# Parsing
# ----------------------------------------------------------------------------------------------

class ParseError(Exception):
    pass


@dataclass
class Record:
    kind: str                        # "statement", "query", "loop" or a directive keyword
    line: int                        # 1-based line of the header
    args: list[str]                  # header tokens after the keyword
    sql: str = ""
    expected: list[str] | None = None  # lines after "----"; None when there was no separator
    body: list[Record] = field(default_factory=list)  # loop body


def parse_file(path: Path) -> list[Record]:
    lines = path.read_text(encoding="utf-8").replace("\r\n", "\n").split("\n")
    root: list[Record] = []
    stack: list[Record] = []  # open loops
    i = 0
    while i < len(lines):
        text = lines[i]
        if not text.strip() or text.lstrip().startswith("#"):
            i += 1
            continue
        tokens = text.split()
        keyword, args, where = tokens[0], tokens[1:], f"{path}:{i + 1}"
        target = stack[-1].body if stack else root
        if keyword in ("statement", "query"):
            record, i = _parse_sql_record(lines, i, keyword, args, where)
            target.append(record)
            continue
        if keyword in LOOP_DIRECTIVES:
            loop = _parse_loop_header(keyword, args, i + 1, where)
            target.append(loop)
            stack.append(loop)
        elif keyword == "endloop":
            if not stack:
                raise ParseError(f"{where}: endloop without loop")
            stack.pop()
        elif keyword in SINGLE_LINE_DIRECTIVES:
            _validate_directive(keyword, args, where)
            target.append(Record(keyword, i + 1, args))
        else:
            raise ParseError(f"{where}: unknown directive {keyword!r}")
        i += 1
    if stack:
        raise ParseError(f"{path}:{stack[-1].line}: loop is never closed by endloop")
    return root


def _parse_sql_record(lines: list[str], i: int, keyword: str, args: list[str], where: str) -> tuple[Record, int]:
    """A statement/query: SQL up to "----" or a blank line, then expected lines up to a blank line."""
    if keyword == "statement" and (not args or args[0] not in ("ok", "error", "maybe")):
        raise ParseError(f"{where}: statement must be followed by ok, error or maybe")
    if keyword == "query" and not args:
        raise ParseError(f"{where}: query needs column types, e.g. 'query II'")
    record = Record(keyword, i + 1, args)
    sql: list[str] = []
    i += 1
    while i < len(lines) and lines[i].strip() and lines[i].rstrip() != "----":
        sql.append(lines[i])
        i += 1
    if i < len(lines) and lines[i].rstrip() == "----":
        record.expected = []
        i += 1
        while i < len(lines) and lines[i].strip():
            record.expected.append(lines[i])
            i += 1
    record.sql = "\n".join(sql)
    if not record.sql.strip():
        raise ParseError(f"{where}: {keyword} without SQL")
    return record, i


def _parse_loop_header(keyword: str, args: list[str], line: int, where: str) -> Record:
    # Both loop forms become one record: args = [var, values...]; "loop" keeps its raw bounds
    # because they may hold ${VAR} that is only known at run time.
    if keyword.endswith("loop"):
        if len(args) != 3:
            raise ParseError(f"{where}: expected 'loop VAR START END'")
        return Record("loop", line, ["range", *args])
    if len(args) < 2:
        raise ParseError(f"{where}: expected 'foreach VAR VALUE...'")
    values = [v for arg in args[1:] for v in FOREACH_GROUPS.get(arg, [arg])]
    return Record("loop", line, ["values", args[0], *values])


def _validate_directive(keyword: str, args: list[str], where: str) -> None:
    if keyword in ("require", "require-env") and not args:
        raise ParseError(f"{where}: {keyword} needs an argument")
    if keyword == "mode" and (len(args) != 1 or args[0] not in KNOWN_MODES):
        raise ParseError(f"{where}: unknown mode {' '.join(args)!r}")
    if keyword == "set" and (not args or args[0] != "ignore_error_messages"):
        raise ParseError(f"{where}: unsupported 'set {' '.join(args)}'")
    if keyword == "sleep":
        if len(args) != 2 or not args[0].isdigit() or args[1].rstrip("s") not in SLEEP_UNITS:
            raise ParseError(f"{where}: expected 'sleep N second|millisecond|microsecond|nanosecond'")


# ----------------------------------------------------------------------------------------------
# Running SQL and formatting results
# ----------------------------------------------------------------------------------------------

class SqlError(Exception):
    """An error raised by DuckDB while running a record's SQL; str() is the message to compare."""


@dataclass
class Result:
    columns: int
    rows: list[list[str]]


def strip_terminator(text: str) -> str:
    """Drop trailing semicolons (and comments after them) so the text can be a subquery."""
    tokens = duckdb.tokenize(text)
    while tokens:
        pos, kind = tokens.pop()
        if kind == duckdb.token_type.comment:
            continue
        if text.startswith(";", pos):
            text = text[:pos]
            continue
        break
    return text


def _unshift_line_numbers(message: str) -> str:
    # The wrapper puts the user's SQL on line 2; report positions as in the unwrapped text.
    return re.sub(r"(?m)^LINE (\d+):", lambda m: f"LINE {int(m.group(1)) - 1}:", message)


def run_sql(con: duckdb.DuckDBPyConnection, sql: str, want_rows: bool) -> Result:
    """Run every statement of `sql` once; the last one's rows as DuckDB's VARCHAR text.

    SELECTs are wrapped as `SELECT CAST(COLUMNS(*) AS VARCHAR) FROM (<sql>)`: one bind and one
    execution, fully drained (so late errors surface) and with no Python-side value conversion
    (which differs from DuckDB's text, e.g. REAL, and fails for some types, e.g. TIMESTAMPTZ
    without pytz). Other statements run through `con.sql`, which executes them immediately and
    keeps the result inside DuckDB; casting that held relation re-reads the kept rows only.
    """
    try:
        statements = con.extract_statements(sql)
    except Exception as e:  # parser errors are what `statement error` tests observe
        raise SqlError(str(e)) from e
    result = Result(0, [])
    for k, stmt in enumerate(statements):
        result = _run_one(con, stmt, want_rows and k == len(statements) - 1)
    return result


def _run_one(con: duckdb.DuckDBPyConnection, stmt: duckdb.Statement, want_rows: bool) -> Result:
    if stmt.type.name == "SELECT":
        wrapped = f"SELECT CAST(COLUMNS(*) AS VARCHAR) FROM (\n{strip_terminator(stmt.query)}\n)"
        try:
            cursor = con.execute(wrapped)
            rows = cursor.fetchall()
            columns = len(cursor.description or [])
        except Exception as e:
            raise SqlError(_unshift_line_numbers(str(e))) from e
        return Result(columns, [[format_text(v) for v in row] for row in rows])
    try:
        if not want_rows:  # non-SELECT results are materialized by DuckDB: nothing to drain
            con.execute(stmt.query)
            return Result(0, [])
        relation = con.sql(stmt.query)
        if relation is None:
            return Result(0, [])
        rows = relation.project("CAST(COLUMNS(*) AS VARCHAR)").fetchall()
        return Result(len(relation.columns), [[format_text(v) for v in row] for row in rows])
    except Exception as e:
        raise SqlError(str(e)) from e


def format_text(value: str | None) -> str:
    """DuckDB's sqllogictest conventions on top of the VARCHAR text."""
    if value is None:
        return "NULL"
    return value if value != "" else "(empty)"


def result_hash(values: list[str]) -> str:
    return hashlib.md5("".join(v + "\n" for v in values).encode("utf-8")).hexdigest()


def sort_values(rows: list[list[str]], sort_mode: str) -> list[str]:
    """Flatten rows into the order in which they are compared and hashed."""
    if sort_mode == "rowsort":
        rows = sorted(rows)
    flat = [v for row in rows for v in row]
    return sorted(flat) if sort_mode == "valuesort" else flat


def expected_rows(lines: list[str], columns: int, actual_rows: int) -> list[list[str]] | None:
    """Split expected lines into rows; None if they fit neither layout."""
    if columns <= 1:
        return [[line] for line in lines]
    rows = [line.split("\t") for line in lines]
    if all(len(row) == columns for row in rows):
        return rows
    # One value per line (DuckDB accepts this layout for multi-column results).
    if len(lines) == actual_rows * columns and not any("\t" in line for line in lines):
        return [lines[k:k + columns] for k in range(0, len(lines), columns)]
    return None


def values_match(expected: list[str], actual: list[str], types: str, sort_mode: str) -> bool:
    if len(expected) != len(actual):
        return False
    for k, (e, a) in enumerate(zip(expected, actual)):
        if e == a:
            continue
        # DuckDB's convention: an expected value `<REGEX>:pattern` matches by regex (multi-line
        # values such as EXPLAIN output cannot be written out).
        if e.startswith("<REGEX>:") and re.search(e[len("<REGEX>:"):], a, re.DOTALL):
            continue
        if e.startswith("<!REGEX>:") and not re.search(e[len("<!REGEX>:"):], a, re.DOTALL):
            continue
        real = all(t == "R" for t in types) if sort_mode == "valuesort" else types[k % len(types)] == "R"
        if not (real and _close_floats(e, a)):
            return False
    return True


def _close_floats(e: str, a: str) -> bool:
    try:
        return math.isclose(float(e), float(a), rel_tol=1e-9)
    except ValueError:
        return False


def error_matches(expected: str, message: str) -> bool:
    if expected.startswith("<REGEX>:"):
        return re.search(expected[len("<REGEX>:"):], message, re.DOTALL) is not None
    if expected.startswith("<!REGEX>:"):
        return re.search(expected[len("<!REGEX>:"):], message, re.DOTALL) is None
    return expected in message


# ----------------------------------------------------------------------------------------------
# Executing a file
# ----------------------------------------------------------------------------------------------

class Halt(Exception):
    """Stops the current file (the `halt` directive, or a database that cannot be opened)."""


@dataclass
class Options:
    extensions: dict[str, str]
    verbose: bool
    test_dir: str


@dataclass
class Counts:
    passed: int = 0
    failed: int = 0
    skipped: int = 0

    def add(self, other: Counts) -> None:
        self.passed += other.passed
        self.failed += other.failed
        self.skipped += other.skipped

    def __str__(self) -> str:
        return f"{self.passed} passed, {self.failed} failed, {self.skipped} skipped"


class FileRunner:
    def __init__(self, path: Path, options: Options):
        self.path = path
        self.opt = options
        self.counts = Counts()
        self.db: duckdb.DuckDBPyConnection | None = None
        self.named: dict[str, duckdb.DuckDBPyConnection] = {}  # `statement ok NAME` connections
        self.db_path = ":memory:"
        self.readonly = False
        self.loads: list[str] = []  # LOAD statements replayed whenever the database is reopened
        self.skip_reason: str | None = None  # set once the rest of the file is skipped
        self.mode_skip = False
        self.ignore_error_messages = False
        self.labels: dict[str, tuple[list[str], int]] = {}

    # -- driver ------------------------------------------------------------------------------

    def run(self) -> Counts:
        try:
            records = parse_file(self.path)
        except (ParseError, OSError, UnicodeDecodeError) as e:
            self.counts.failed += 1
            print(f"FAILED {e}" if isinstance(e, ParseError) else f"FAILED {self.path}: {e}")
            return self.counts
        try:
            self.open_database()
            self.run_block(records, {})
        except Halt:
            pass
        except Exception as e:  # a runner bug must not hide the other files' results
            self.counts.failed += 1
            print(f"FAILED {self.path}: runner error: {e!r}", flush=True)
        finally:
            self.close_database()
        return self.counts

    def run_block(self, records: list[Record], variables: dict[str, str]) -> None:
        for record in records:
            if record.kind in ("statement", "query"):
                self.run_sql_record(record, variables)
            elif record.kind == "loop":
                self.run_loop(record, variables)
            elif self.skip_reason is None or record.kind == "halt":
                self.run_directive(record, variables)

    def run_loop(self, record: Record, variables: dict[str, str]) -> None:
        kind, var, *rest = [self.substitute(a, variables) for a in record.args]
        if kind == "range":
            try:
                values = [str(v) for v in range(int(rest[0]), int(rest[1]))]
            except ValueError:
                self.fail(record, f"loop bounds are not integers: {rest}")
                return
        else:
            values = rest
        for value in values:
            self.run_block(record.body, {**variables, var: value})

    # -- statement / query records -------------------------------------------------------------

    def run_sql_record(self, record: Record, variables: dict[str, str]) -> None:
        if self.skip_reason is not None or self.mode_skip:
            self.counts.skipped += 1
            return
        sql = self.substitute(record.sql, variables)
        expected = [self.substitute(line, variables) for line in record.expected or []]
        if self.opt.verbose:
            print(f"  {self.path}:{record.line}: {record.kind} {' '.join(record.args)}", flush=True)
        if record.kind == "statement":
            failure = self.check_statement(record, sql, expected)
        else:
            failure = self.check_query(record, sql, expected, variables)
        if failure is None:
            self.counts.passed += 1
        else:
            self.fail(record, *failure, sql=sql)

    def connection(self, name: str | None) -> duckdb.DuckDBPyConnection:
        assert self.db is not None
        if name is None:
            return self.db
        if name not in self.named:
            self.named[name] = self.db.cursor()
        return self.named[name]

    def check_statement(self, record: Record, sql: str, expected: list[str]) -> tuple | None:
        mode, name = record.args[0], (record.args[1] if len(record.args) > 1 else None)
        try:
            run_sql(self.connection(name), sql, want_rows=False)
        except SqlError as e:
            if mode == "ok":
                return ("statement failed", None, str(e))
            wanted = "\n".join(expected).strip()
            if self.ignore_error_messages or not wanted or error_matches(wanted, str(e)):
                return None
            return ("error message does not match", wanted, str(e))
        if mode == "error":
            return ("statement succeeded but an error was expected", "\n".join(expected) or "<any error>", "<no error>")
        return None

    def check_query(self, record: Record, sql: str, expected: list[str], variables: dict[str, str]) -> tuple | None:
        types = record.args[0]
        extra = [self.substitute(a, variables) for a in record.args[1:]]
        sort_mode = extra.pop(0) if extra and extra[0] in SORT_MODES else "nosort"
        label = extra[0] if extra else None
        try:
            result = run_sql(self.connection(None), sql, want_rows=True)
        except SqlError as e:
            return ("query failed", _show(expected), str(e))
        actual = sort_values(result.rows, sort_mode)
        shown_actual = _show_rows(result.rows, sort_mode)
        if result.columns != len(types):
            return (f"wrong column count: header has {len(types)}, result has {result.columns}",
                    _show(expected), shown_actual)
        if label is not None:
            failure = self.check_label(label, record, actual, types, sort_mode, shown_actual)
            if failure or not expected:  # a label-only query has nothing else to compare
                return failure
        hashed = HASH_RE.fullmatch(expected[0].strip()) if len(expected) == 1 else None
        if hashed:
            got = f"{len(actual)} values hashing to {result_hash(actual)}"
            return None if got == expected[0].strip() else ("result hash mismatch", expected[0].strip(), got)
        rows = expected_rows(expected, result.columns, len(result.rows))
        if rows is None:
            return ("expected results do not split into the result's column count", _show(expected), shown_actual)
        if values_match(sort_values(rows, sort_mode), actual, types, sort_mode):
            return None
        return ("wrong result", _show(expected), shown_actual)

    def check_label(self, label: str, record: Record, actual: list[str], types: str, sort_mode: str,
                    shown_actual: str) -> tuple | None:
        if label not in self.labels:
            self.labels[label] = (actual, record.line)
            return None
        first, line = self.labels[label]
        if values_match(first, actual, types, sort_mode):
            return None
        return (f"result differs from label {label!r} first seen at line {line}", _show(first), shown_actual)

    # -- directives ----------------------------------------------------------------------------

    def run_directive(self, record: Record, variables: dict[str, str]) -> None:
        args = [self.substitute(a, variables) for a in record.args]
        handler = getattr(self, "do_" + record.kind.replace("-", "_"))
        try:
            handler(record, args)
        except Halt:
            raise
        except Exception as e:  # a directive that breaks (e.g. cannot open a db) fails the file
            self.fail(record, f"{record.kind} failed", None, str(e))
            raise Halt() from e

    def do_require(self, record: Record, args: list[str]) -> None:
        name = args[0]
        if name in ALWAYS_SATISFIED:
            return
        if name == "vector_size":
            if len(args) < 2 or duckdb.__standard_vector_size__ < int(args[1]):
                self.skip_rest(f"require vector_size {' '.join(args[1:])}")
            return
        if name in self.opt.extensions:
            load = "LOAD " + sql_string(self.opt.extensions[name])
            try:
                self.db.execute(load)  # the extension under test must load: a failure is a test failure
            except Exception as e:
                self.fail(record, f"could not load extension {name!r}", None, str(e))
                self.skip_rest(f"extension {name!r} failed to load")
                return
            self.loads.append(load)
            return
        if name in PROJECT_EXTENSIONS:
            self.skip_rest(f"require {name}: pass --extension {name}=PATH")
            return
        try:
            self.db.execute(f"LOAD {name}")
        except Exception:
            self.skip_rest(f"require {name}: extension not available")
            return
        self.loads.append(f"LOAD {name}")

    def do_require_env(self, record: Record, args: list[str]) -> None:
        value = os.environ.get(args[0])
        if value is None or (len(args) > 1 and value != args[1]):
            self.skip_rest(f"require-env {' '.join(args)}")

    def do_mode(self, record: Record, args: list[str]) -> None:
        if args[0] in ("skip", "unskip"):
            self.mode_skip = args[0] == "skip"

    def do_set(self, record: Record, args: list[str]) -> None:
        self.ignore_error_messages = True

    def do_load(self, record: Record, args: list[str]) -> None:
        path = args[0] if args else ":memory:"
        self.readonly = "readonly" in args[1:]
        if not self.readonly and path != ":memory:" and _inside(path, self.opt.test_dir):
            # DuckDB's runner starts `load` from a fresh file; only ever delete our own temp files.
            for stale in (path, path + ".wal"):
                if os.path.exists(stale):
                    os.remove(stale)
        self.db_path = path
        self.open_database()

    def do_restart(self, record: Record, args: list[str]) -> None:
        self.open_database(load_extensions="no_extension_load" not in args)

    def do_halt(self, record: Record, args: list[str]) -> None:
        raise Halt()

    def do_sleep(self, record: Record, args: list[str]) -> None:
        time.sleep(int(args[0]) * SLEEP_UNITS[args[1].rstrip("s")])

    # -- helpers -------------------------------------------------------------------------------

    def open_database(self, load_extensions: bool = True) -> None:
        self.close_database()
        config = {"allow_unsigned_extensions": "true"}
        self.db = duckdb.connect(self.db_path, read_only=self.readonly, config=config)
        # No progress bar: it would interleave with the runner's output on long queries.
        self.db.execute("SET enable_progress_bar = false")
        if load_extensions:
            for load in self.loads:
                self.db.execute(load)

    def close_database(self) -> None:
        for con in self.named.values():
            con.close()
        self.named.clear()
        if self.db is not None:
            self.db.close()
            self.db = None

    def skip_rest(self, reason: str) -> None:
        self.skip_reason = reason

    def substitute(self, text: str, variables: dict[str, str]) -> str:
        text = text.replace("__TEST_DIR__", self.opt.test_dir)
        text = text.replace("__WORKING_DIRECTORY__", os.getcwd())

        def value(m: re.Match) -> str:
            name = m.group(1)
            return variables.get(name, os.environ.get(name, m.group(0)))

        return VAR_RE.sub(value, text)

    def fail(self, record: Record, reason: str, expected: str | None = None, actual: str | None = None,
             sql: str | None = None) -> None:
        self.counts.failed += 1
        out = [f"FAILED {self.path}:{record.line}: {reason}"]
        if sql is not None:
            out += ["  SQL:", _indent(sql)]
        if expected is not None:
            out += ["  expected:", _indent(expected)]
        if actual is not None:
            out += ["  actual:", _indent(actual)]
        print("\n".join(out), flush=True)


def _show(lines: list[str]) -> str:
    return "\n".join(lines) if lines else "<empty result>"


def _show_rows(rows: list[list[str]], sort_mode: str) -> str:
    if sort_mode == "valuesort":
        return _show(sort_values(rows, sort_mode))
    return _show(["\t".join(row) for row in (sorted(rows) if sort_mode == "rowsort" else rows)])


def _indent(text: str) -> str:
    lines = text.split("\n")
    if len(lines) > MAX_SHOWN_LINES:
        lines = lines[:MAX_SHOWN_LINES] + [f"... ({len(lines) - MAX_SHOWN_LINES} more lines)"]
    return "\n".join("    " + line for line in lines)


def _inside(path: str, directory: str) -> bool:
    return os.path.realpath(path).startswith(os.path.realpath(directory) + os.sep)


def sql_string(text: str) -> str:
    return "'" + text.replace("'", "''") + "'"


# ----------------------------------------------------------------------------------------------
# Process setup and CLI
# ----------------------------------------------------------------------------------------------

def collect_files(paths: list[str]) -> list[Path]:
    files: list[Path] = []
    for arg in paths:
        path = Path(arg)
        if path.is_dir():
            files.extend(sorted(p for p in path.rglob("*.test") if p.is_file()))
        elif path.is_file():
            files.append(path)
        else:
            raise SystemExit(f"error: no such file or directory: {arg}")
    return files


def parse_args(argv: list[str]) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description="Run DuckDB sqllogictest files on the duckdb Python module.")
    parser.add_argument("--extension", action="append", default=[], metavar="NAME=PATH",
                        help="extension to LOAD for 'require NAME' (repeatable)")
    parser.add_argument("--min-records", type=int, default=0, metavar="N",
                        help="fail unless at least N records were executed (passed + failed)")
    parser.add_argument("--verbose", action="store_true", help="print every record as it runs")
    parser.add_argument("paths", nargs="+", metavar="FILES_OR_DIRS")
    args = parser.parse_args(argv)
    extensions = {}
    for spec in args.extension:
        name, sep, path = spec.partition("=")
        if not sep or not name or not path:
            parser.error(f"--extension expects NAME=PATH, got {spec!r}")
        if not os.path.isfile(path):
            parser.error(f"--extension {name}: no such file: {path}")
        extensions[name] = os.path.abspath(path)
    args.extensions = extensions
    return args


def main(argv: list[str]) -> int:
    args = parse_args(argv)
    files = collect_files(args.paths)
    duckdb_host.promote_duckdb_symbols()
    test_dir = tempfile.mkdtemp(prefix="sqllogictest-")
    total = Counts()
    try:
        options = Options(args.extensions, args.verbose, test_dir)
        for path in files:
            runner = FileRunner(path, options)
            counts = runner.run()
            total.add(counts)
            note = f" (skipped: {runner.skip_reason})" if runner.skip_reason else ""
            print(f"{path}: {counts}{note}", flush=True)
    finally:
        shutil.rmtree(test_dir, ignore_errors=True)
    executed = total.passed + total.failed
    ok = total.failed == 0 and bool(files)
    if not files:
        print("error: no test files found")
    if executed < args.min_records:
        print(f"error: only {executed} records executed, fewer than --min-records {args.min_records}")
        ok = False
    print(total)
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
