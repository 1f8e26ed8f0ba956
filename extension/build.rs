//! Compiles the C++ adapter (`cpp/*.cpp`) against the DuckDB v2.0.0 C++ headers.
//!
//! Header source, in order:
//! 1. `DEP_DUCKDB_INCLUDE` — published by `libduckdb-sys` when it builds the bundled DuckDB
//!    (feature `embed-duckdb`), so adapter and embedded DuckDB always agree;
//! 2. `DUCKDB_CPP_INCLUDE_DIR` — an explicit override;
//! 3. `duckdb/src/include` extracted from `duckdb.tar.gz` of the locked `libduckdb-sys` (the
//!    sources pip `duckdb==2.0.0` was built from). Its location comes from `cargo metadata`,
//!    cargo's public interface, which also downloads and unpacks the crate (checked against
//!    `Cargo.lock`) when the optional dependency was never built: nothing has to exist before
//!    the first `cargo build`, and nothing here knows cargo's cache layout.
use std::{env, fs, path::Path, path::PathBuf, process::Command};

const DUCKDB_SYS: &str = "libduckdb-sys";
const DUCKDB_SYS_VERSION: &str = "1.20000.1";

/// One line that says what is missing and how to get it (build scripts report by panicking).
fn missing(what: &str) -> ! {
    panic!(
        "DuckDB v2.0.0 C++ headers: {what}; needs network access to crates.io once (or `cargo fetch` beforehand), \
         or set DUCKDB_CPP_INCLUDE_DIR to a DuckDB v2.0.0 `src/include`"
    )
}

fn find_duckdb_tarball() -> PathBuf {
    let workspace = Path::new(&env::var("CARGO_MANIFEST_DIR").unwrap()).join("../Cargo.toml");
    let cargo = env::var_os("CARGO").unwrap_or_else(|| "cargo".into());
    let mut cmd = Command::new(cargo);
    cmd.args(["metadata", "--format-version", "1", "--locked", "--manifest-path"]).arg(&workspace);
    // An outer `--offline`/`--frozen` reaches build scripts only as this variable; keep it.
    if env::var("CARGO_NET_OFFLINE").is_ok_and(|v| v == "true") {
        cmd.arg("--offline");
    }
    let output = cmd.output().unwrap_or_else(|e| missing(&format!("cannot run `cargo metadata`: {e}")));
    if !output.status.success() {
        let stderr = String::from_utf8_lossy(&output.stderr);
        let last = stderr.lines().filter(|l| !l.trim().is_empty()).last().unwrap_or("no output").trim().to_string();
        missing(&format!("`cargo metadata` failed to get {DUCKDB_SYS} {DUCKDB_SYS_VERSION} ({last})"));
    }
    let metadata: serde_json::Value = serde_json::from_slice(&output.stdout)
        .unwrap_or_else(|e| missing(&format!("unreadable `cargo metadata` output: {e}")));
    let manifest = metadata["packages"]
        .as_array()
        .into_iter()
        .flatten()
        .find(|p| p["name"] == DUCKDB_SYS && p["version"] == DUCKDB_SYS_VERSION)
        .and_then(|p| p["manifest_path"].as_str())
        .unwrap_or_else(|| missing(&format!("{DUCKDB_SYS} {DUCKDB_SYS_VERSION} is not in Cargo.lock")));
    let tarball = Path::new(manifest).with_file_name("duckdb.tar.gz");
    if !tarball.is_file() {
        missing(&format!("{} not found", tarball.display()));
    }
    tarball
}

/// What the adapter includes from the source tarball: DuckDB's headers and the `fmt` headers
/// some of them include (database_manager.hpp -> cast_helpers.hpp).
const HEADER_TREES: [&str; 2] = ["duckdb/src/include", "duckdb/third_party/fmt/include"];

/// Unpacks only the header trees (a few MB) once per OUT_DIR.
fn extract_headers(out: &Path) -> PathBuf {
    let tarball = find_duckdb_tarball();
    println!("cargo:rerun-if-changed={}", tarball.display());
    let dest = out.join("duckdb-headers");
    let include = dest.join("duckdb/src/include");
    if include.join("duckdb.hpp").is_file() && dest.join(HEADER_TREES[1]).join("fmt/format.h").is_file() {
        return include;
    }
    let tmp = out.join("duckdb-headers.partial");
    let _ = fs::remove_dir_all(&tmp);
    fs::create_dir_all(&tmp).unwrap();
    let gz = flate2::read::GzDecoder::new(fs::File::open(&tarball).unwrap());
    let mut archive = tar::Archive::new(gz);
    for entry in archive.entries().unwrap() {
        let mut entry = entry.unwrap();
        let path = entry.path().unwrap().into_owned();
        if HEADER_TREES.iter().any(|tree| path.starts_with(tree)) {
            entry.unpack_in(&tmp).unwrap();
        }
    }
    let _ = fs::remove_dir_all(&dest);
    fs::rename(&tmp, &dest).unwrap();
    include
}

fn main() {
    println!("cargo:rerun-if-changed=cpp");
    println!("cargo:rerun-if-env-changed=DUCKDB_CPP_INCLUDE_DIR");
    let out = PathBuf::from(env::var("OUT_DIR").unwrap());
    let include = env::var("DEP_DUCKDB_INCLUDE")
        .or_else(|_| env::var("DUCKDB_CPP_INCLUDE_DIR"))
        .map(PathBuf::from)
        .unwrap_or_else(|_| extract_headers(&out));

    let mut sources: Vec<PathBuf> = fs::read_dir("cpp")
        .unwrap()
        .flatten()
        .map(|e| e.path())
        .filter(|p| p.extension().is_some_and(|x| x == "cpp"))
        .collect();
    sources.sort();
    cc::Build::new()
        .cpp(true)
        .std("c++17")
        .include(&include)
        // `fmt` sits beside `src/include` in both the extracted tree and libduckdb-sys's source.
        .include(include.join("../../third_party/fmt/include"))
        .include("cpp")
        .files(&sources)
        // The host DuckDB is an NDEBUG build; class layouts differ under DEBUG.
        .define("NDEBUG", None)
        .opt_level(2)
        .flag_if_supported("-fvisibility=hidden")
        .flag_if_supported("-Wno-unused-parameter")
        .flag_if_supported("-Wno-deprecated-declarations")
        .compile("vgi_adapter");
}
