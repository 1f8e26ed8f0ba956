//! `vgi`: a DuckDB extension that attaches VGI workers (external programs speaking Arrow IPC)
//! as catalogs.
//!
//! The data path reads in one direction: DuckDB hook (`cpp/`, no decisions) → [`ffi`] (the one
//! `extern "C"` boundary) → the concern modules → `worker_client` → the worker:
//! - [`branches`]: multi-branch tables read as views over their branches;
//! - [`buffering`]: table buffering (sink + source) functions;
//! - [`call_context`]: what a bind carries from the session (transaction, settings, secrets);
//! - [`attach_target`]: what an ATTACH names (its path's `?key=value` options merged in);
//! - [`catalog`]: ATTACH (options, `catalog_attach`), cached metadata, time travel lookups;
//! - [`metadata`]: what DuckDB's catalog views show of the declarations (tags, function
//!   documentation and stability, foreign keys, generated columns);
//! - [`copy`]: COPY ... FROM / TO through the formats a worker declares;
//! - [`scan`]: catalog-table and table-function scans (streams, batch indexes, partitions,
//!   statistics, cardinality);
//! - [`pushdown`]: what a scan tells the worker (filters as Filter Encoding v2 snapshots and
//!   deltas, ORDER BY + LIMIT, TABLESAMPLE) and which filters DuckDB must still apply;
//! - [`required_filters`]: tables' `required_filters`, checked against what a scan is
//!   filtered by;
//! - [`functions`]: scalar, aggregate and table-in-out functions;
//! - [`writes`]: INSERT / UPDATE / DELETE through the tables' write functions;
//! - [`transactions`]: DuckDB BEGIN/COMMIT/ROLLBACK as the worker's transactions;
//! - [`ddl`]: CREATE / DROP / ALTER forwarded to the worker's catalog;
//! - [`discovery`]: `vgi_catalogs(location)`;
//! - [`error`]: which DuckDB exception a failure becomes.
#[cfg(feature = "embed-duckdb")]
use libduckdb_sys as _; // links the static DuckDB so the adapter's duckdb:: symbols resolve inside the file

pub mod attach_target;
pub mod branches;
pub mod buffering;
pub mod call_context;
pub mod catalog;
pub mod copy;
pub mod ddl;
pub mod discovery;
pub mod error;
pub mod ffi;
pub mod functions;
pub mod metadata;
pub mod pushdown;
pub mod required_filters;
pub mod sandbox;
pub mod scan;
pub mod transactions;
pub mod writes;

extern "C-unwind" {
    /// Registers the extension's functions and storage type (`cpp/extension_init.cpp`).
    fn vgi_adapter_init(loader: *mut std::ffi::c_void);
}

/// DuckDB's entry point for CPP-ABI extensions (`<name>_duckdb_cpp_init`). It lives in Rust
/// because a cdylib exports only Rust's `#[no_mangle]` symbols; `C-unwind` lets a DuckDB
/// exception thrown during registration reach DuckDB's own handler.
///
/// # Safety
/// `loader` must be the `duckdb::ExtensionLoader&` DuckDB passes to extension entry points.
#[no_mangle]
pub unsafe extern "C-unwind" fn vgi_duckdb_cpp_init(loader: *mut std::ffi::c_void) {
    vgi_adapter_init(loader)
}
