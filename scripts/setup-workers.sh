#!/usr/bin/env bash
# Provision real VGI workers (vgi-python fixture workers) and the DuckDB test host.
#
# Idempotent: a re-run with everything in place only re-checks (a few seconds).
# Everything comes from PyPI / Debian packages. Locations (override with env):
#   VGI_CACHE_DIR   ${XDG_CACHE_HOME:-$HOME/.cache}/vgi
#   $VGI_CACHE_DIR/workers-venv  Python >= 3.13: vgi-python, vgi-rpc (+http), the fixture deps
#   $VGI_CACHE_DIR/host-venv     the test host: duckdb==2.0.0 (any Python >= 3.9)
#   $VGI_CACHE_DIR/env.sh        source it: VGI_WORKER_PY, VGI_HOST_PY, VGI_FIXTURE_WORKER,
#                                VGI_SIMPLE_WRITABLE, VGI_MEMORY_CATALOG, VGI_COMPANION ...
# Python 3.13 is found on PATH, then among pyenv's installed versions, else built from
# Debian trixie's CPython 3.13 source package (~3-5 min on 2 cores).
set -euo pipefail

VGI_CACHE_DIR="${VGI_CACHE_DIR:-${XDG_CACHE_HOME:-$HOME/.cache}/vgi}"
WORKERS_VENV="$VGI_CACHE_DIR/workers-venv"
HOST_VENV="$VGI_CACHE_DIR/host-venv"
VGI_PYTHON_VERSION="${VGI_PYTHON_VERSION:-0.47.0}"
VGI_RPC_VERSION="${VGI_RPC_VERSION:-0.52.2}"
HOST_DUCKDB_VERSION="2.0.0"
PY313_PREFIX="${PY313_PREFIX:-$VGI_CACHE_DIR/python3.13}"

mkdir -p "$VGI_CACHE_DIR"
say() { echo "==> $*"; }

py_ok() { # a 3.13+ interpreter with the stdlib modules pip/pyarrow need
  [ -n "${1:-}" ] && [ -x "$1" ] || return 1
  "$1" -c 'import sys, ssl, sqlite3, ctypes, zlib, lzma, bz2, venv, ensurepip; sys.exit(0 if sys.version_info >= (3, 13) else 1)' >/dev/null 2>&1
}

find_python313() {
  local pyenv_root c
  pyenv_root="$(pyenv root 2>/dev/null || echo "$HOME/.pyenv")"
  for c in "${PY313:-}" "$(command -v python3.13 2>/dev/null || true)" \
           "$(command -v python3.14 2>/dev/null || true)" \
           "$pyenv_root"/versions/3.13*/bin/python3.13 "$PY313_PREFIX/bin/python3.13"; do
    if py_ok "$c"; then echo "$c"; return 0; fi
  done
  return 1
}

build_python313() {
  # Debian trixie's source package, through a private apt configuration (the system's apt
  # sources are not touched).
  local src="$VGI_CACHE_DIR/cpython-src" apt_dir="$VGI_CACHE_DIR/apt-trixie"
  echo "    building CPython 3.13 from Debian trixie's source package into $PY313_PREFIX" >&2
  export DEBIAN_FRONTEND=noninteractive
  local need=() p
  for p in build-essential libssl-dev zlib1g-dev libbz2-dev liblzma-dev libsqlite3-dev libffi-dev \
           libreadline-dev libncurses-dev uuid-dev libexpat1-dev xz-utils dpkg-dev; do
    dpkg -s "$p" >/dev/null 2>&1 || need+=("$p")
  done
  if [ "${#need[@]}" -gt 0 ]; then apt-get -q update >/dev/null; apt-get install -y -q "${need[@]}" >/dev/null; fi
  mkdir -p "$apt_dir/lists/partial" "$apt_dir/cache/archives/partial" "$src"
  echo "deb-src [signed-by=/usr/share/keyrings/debian-archive-keyring.gpg] http://deb.debian.org/debian trixie main" \
    > "$apt_dir/sources.list"
  local apt_opts=(-o "Dir::Etc::SourceList=$apt_dir/sources.list" -o "Dir::Etc::SourceParts=/nonexistent"
                  -o "Dir::State::Lists=$apt_dir/lists" -o "Dir::Cache=$apt_dir/cache" -o "APT::Sandbox::User=root")
  apt-get "${apt_opts[@]}" -q update >/dev/null
  ( cd "$src"
    ls python3.13_*.orig.tar.xz >/dev/null 2>&1 || apt-get "${apt_opts[@]}" -q source --download-only python3.13 >/dev/null
    rm -rf build && mkdir build
    tar xf "$(ls python3.13_*.orig.tar.xz | sort -V | tail -1)" -C build --strip-components=1
    cd build
    ./configure --prefix="$PY313_PREFIX" --with-ensurepip=install >"$src/configure.log" 2>&1
    make -j"$(nproc)" >"$src/make.log" 2>&1
    make altinstall >"$src/install.log" 2>&1 )
  py_ok "$PY313_PREFIX/bin/python3.13" || { echo "CPython build produced no working python3.13" >&2; return 1; }
  echo "$PY313_PREFIX/bin/python3.13"
}

# Creates/refreshes a venv only when its recorded spec changed.
ensure_venv() { # venv python spec pip-args...
  local venv="$1" py="$2" spec="$3"; shift 3
  if [ -f "$venv/.spec" ] && [ "$(cat "$venv/.spec")" = "$spec" ] && [ -x "$venv/bin/python" ]; then
    echo "    $venv up to date"; return 0
  fi
  rm -rf "$venv"
  "$py" -m venv "$venv"
  "$venv/bin/python" -m pip install -q --disable-pip-version-check "$@"
  echo "$spec" > "$venv/.spec"
}

say "Python >= 3.13 for the workers"
PYBIN=$(find_python313) || PYBIN=$(build_python313)
echo "    $PYBIN ($("$PYBIN" -c 'import sys; print(sys.version.split()[0])'))"

say "workers venv (vgi-python==$VGI_PYTHON_VERSION, vgi-rpc==$VGI_RPC_VERSION)"
ensure_venv "$WORKERS_VENV" "$PYBIN" "$PYBIN vgi-python=$VGI_PYTHON_VERSION vgi-rpc=$VGI_RPC_VERSION extras=http,duckdb,test-fixtures-writable" \
  "vgi-python[http,duckdb,test-fixtures-writable]==$VGI_PYTHON_VERSION" "vgi-rpc[http]==$VGI_RPC_VERSION"

say "DuckDB extensions the fixture worker installs at import (from PyPI duckdb-extension-* wheels)"
# The fixture runs `INSTALL spatial` with the worker venv's duckdb; extensions.duckdb.org is not
# reachable, so put the PyPI wheel's file where that DuckDB looks first.
"$WORKERS_VENV/bin/python" - "$WORKERS_VENV" <<'PYEOF'
import importlib.metadata as md, os, shutil, subprocess, sys
venv = sys.argv[1]
import duckdb
version = duckdb.__version__
con = duckdb.connect()
ext_dir = con.sql("SELECT current_setting('extension_directory')").fetchone()[0] or os.path.expanduser("~/.duckdb/extensions")
platform = con.sql("PRAGMA platform").fetchone()[0]
dest = os.path.join(ext_dir, f"v{version}", platform)
os.makedirs(dest, exist_ok=True)
for ext in ["spatial"]:
    target = os.path.join(dest, f"{ext}.duckdb_extension")
    if os.path.exists(target):
        continue
    pkg = f"duckdb-extension-{ext}=={version}"
    subprocess.run([os.path.join(venv, "bin", "python"), "-m", "pip", "install", "-q",
                    "--disable-pip-version-check", pkg], check=True)
    mod = __import__(f"duckdb_extension_{ext}")
    root = os.path.dirname(mod.__file__)
    found = [os.path.join(d, f) for d, _, fs in os.walk(root) for f in fs if f == f"{ext}.duckdb_extension"]
    if not found:
        sys.exit(f"{pkg} has no {ext}.duckdb_extension")
    shutil.copyfile(found[0], target)
    print(f"    {ext} -> {target}")
PYEOF

say "test host venv (duckdb==$HOST_DUCKDB_VERSION)"
HOST_PY="$(command -v python3)"
ensure_venv "$HOST_VENV" "$HOST_PY" "$HOST_PY duckdb=$HOST_DUCKDB_VERSION pyarrow numpy" "duckdb==$HOST_DUCKDB_VERSION" pyarrow numpy

cat > "$VGI_CACHE_DIR/env.sh" <<ENVEOF
# Generated by scripts/setup-workers.sh
export VGI_WORKERS_VENV="$WORKERS_VENV"
export VGI_HOST_PY="$HOST_VENV/bin/python"
export VGI_WORKER_PY="$WORKERS_VENV/bin/python"
export VGI_FIXTURE_WORKER="$WORKERS_VENV/bin/vgi-serve vgi._test_fixtures.worker:ExampleWorker"
export VGI_SIMPLE_WRITABLE="$WORKERS_VENV/bin/vgi-serve vgi._test_fixtures.simple_writable:SimpleWritableWorker"
export VGI_MEMORY_CATALOG="$WORKERS_VENV/bin/vgi-serve vgi._test_fixtures.catalog:InMemoryCatalogWorker"
export VGI_COMPANION="$WORKERS_VENV/bin/vgi-serve vgi._test_fixtures.companion:CompanionCatalogWorker"
export VGI_QUIET=1
ENVEOF
say "ready: source $VGI_CACHE_DIR/env.sh"
