//! Compiles the C++ adapter (`cpp/*.cpp`) against the DuckDB v2.0.0 C++ headers.
//!
//! Header source, in order:
//! 1. `DEP_DUCKDB_INCLUDE` — published by `libduckdb-sys` when it builds the bundled DuckDB
//!    (feature `embed-duckdb`), so adapter and embedded DuckDB always agree;
//! 2. `DUCKDB_CPP_INCLUDE_DIR` — an explicit override;
//! 3. `duckdb/src/include` extracted from `libduckdb-sys-1.20000.1/duckdb.tar.gz` in the cargo
//!    registry (the same sources; the optional dependency keeps it in `Cargo.lock` and
//!    `cargo fetch` puts it on disk).
use std::{env, fs, path::Path, path::PathBuf};

const DUCKDB_SYS: &str = "libduckdb-sys-1.20000.1";

fn cargo_home() -> PathBuf {
    env::var_os("CARGO_HOME")
        .map(PathBuf::from)
        .unwrap_or_else(|| PathBuf::from(env::var_os("HOME").expect("HOME or CARGO_HOME")).join(".cargo"))
}

fn find_duckdb_tarball() -> PathBuf {
    let registry = cargo_home().join("registry/src");
    fs::read_dir(&registry)
        .into_iter()
        .flatten()
        .flatten()
        .map(|d| d.path().join(DUCKDB_SYS).join("duckdb.tar.gz"))
        .find(|p| p.is_file())
        .unwrap_or_else(|| {
            panic!("{DUCKDB_SYS}/duckdb.tar.gz not found under {}; run `cargo fetch`", registry.display())
        })
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
