# vgi — DuckDB extension for VGI workers.
#   make          build + package build/vgi.duckdb_extension (dynamic link: for pip duckdb)
#   make test     set up real workers, then every test (cargo + sqllogictest, stdio and HTTP)
#   make demo     list the fixture worker's catalogs through DuckDB
#   make release  self-contained build/release/vgi.duckdb_extension (static DuckDB, ~27 min cold)
SHELL := /bin/bash
CARGO ?= cargo
PYTHON ?= python3
VGI_CACHE_DIR ?= $(or $(XDG_CACHE_HOME),$(HOME)/.cache)/vgi
export VGI_CACHE_DIR
# The embedded DuckDB build is expensive: keep its target dir outside the clone.
EMBED_TARGET_DIR ?= $(VGI_CACHE_DIR)/target-embed
VERSION := v$(shell sed -n 's/^version = "\(.*\)"/\1/p' Cargo.toml | head -1)
EXTENSION := build/vgi.duckdb_extension
RELEASE_EXTENSION := build/release/vgi.duckdb_extension

.PHONY: all build setup test demo release clean
all: build

build:
	$(CARGO) build --release -p vgi
	$(PYTHON) scripts/package_extension.py --lib target/release/libvgi.so --out $(EXTENSION) \
		--extension-version $(VERSION)

setup:
	scripts/setup-workers.sh

test: setup build
	scripts/run-tests.sh

demo: setup build
	source $(VGI_CACHE_DIR)/env.sh && PYTHONPATH=scripts "$$VGI_HOST_PY" scripts/demo.py $(EXTENSION)

release: setup
	CARGO_TARGET_DIR=$(EMBED_TARGET_DIR) $(CARGO) build --release -p vgi --features embed-duckdb -p vgi-static-host
	$(PYTHON) scripts/package_extension.py --lib $(EMBED_TARGET_DIR)/release/libvgi.so \
		--out $(RELEASE_EXTENSION) --extension-version $(VERSION)
	@echo "==> smoke test in a host that exports no DuckDB symbols"
	@test "$$(nm -D --defined-only $(EMBED_TARGET_DIR)/release/vgi-static-host | grep -c duckdb)" = 0
	source $(VGI_CACHE_DIR)/env.sh && $(EMBED_TARGET_DIR)/release/vgi-static-host $(RELEASE_EXTENSION) \
		"SELECT vgi_version()" "SELECT name FROM vgi_catalogs('$$VGI_FIXTURE_WORKER')" \
		"ATTACH 'example' AS ex (TYPE vgi, LOCATION '$$VGI_FIXTURE_WORKER')" "SET threads = 2" \
		"SELECT CASE WHEN count(*) = 100000 THEN 'ok' ELSE error('worker scan lost rows') END FROM ex.main.sequence(100000)" \
		"SELECT CASE WHEN sum(ex.main.multiply(range, 3)) = sum(range * 3) AND ex.main.vgi_sum(range) = sum(range) THEN 'ok' ELSE error('worker functions disagree with SQL') END FROM range(1000000)"

clean:
	rm -rf build
	$(CARGO) clean
