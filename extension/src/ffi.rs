//! The only `extern "C"` boundary between the C++ adapter and Rust (`cpp/vgi_bridge.h`).
//!
//! Every function here catches panics (a panic unwinding into C++ would abort DuckDB) and
//! reports failures as a `VgiError` the adapter turns into a DuckDB exception.
//!
//! Safety contract of every `unsafe extern "C"` function: its only caller is the C++ adapter,
//! which passes pointers it got from these functions (or valid Arrow C structures and
//! NUL-terminated strings) exactly as `cpp/vgi_bridge.h` documents.
#![allow(clippy::missing_safety_doc)]
use std::ffi::{c_char, c_void, CStr, CString};
use std::panic::{catch_unwind, AssertUnwindSafe};
use std::ptr;

use arrow_array::{Array, RecordBatch, StructArray};
use arrow_data::ffi::FFI_ArrowArray;
use arrow_schema::ffi::FFI_ArrowSchema;
use arrow_schema::SchemaRef;

use crate::error::{Error, ErrorKind, Result};
use std::sync::Arc;

use worker_client::CancelHandle;

use crate::catalog::AttachedCatalog;
use crate::functions::{AggregateBinding, InOutBinding, InOutExecution, ScalarBinding, ScalarExecution};
use crate::pushdown::{parse_filters, FilterFate, OrderHint, SampleHint, ScanRequest};
use crate::scan::{check_batch, Binding, Execution, Scan, WorkerBinding};
use crate::buffering::{BufferingBinding, BufferingExecution, BufferingSource};
use crate::call_context::{CallContext, SecretResolver};
use crate::ddl::DdlStatement;
use crate::transactions::WorkerTransaction;
use crate::writes::{WriteBinding, WriteExecution, WriteKind};
use worker_client::wire::Blob;

/// An error handed to C++; freed with `vgi_error_free`.
pub struct VgiError {
    kind: ErrorKind,
    message: CString,
}

fn into_raw_error(e: Error) -> *mut VgiError {
    let message = CString::new(e.message.replace('\0', " ")).expect("NULs were replaced");
    Box::into_raw(Box::new(VgiError { kind: e.kind, message }))
}

fn panic_message(payload: Box<dyn std::any::Any + Send>) -> String {
    payload
        .downcast_ref::<&str>()
        .map(|s| s.to_string())
        .or_else(|| payload.downcast_ref::<String>().cloned())
        .unwrap_or_else(|| "unknown panic".into())
}

/// Runs `f`, converting its error or panic into a `VgiError*` (NULL on success).
fn guard(f: impl FnOnce() -> Result<()>) -> *mut VgiError {
    match catch_unwind(AssertUnwindSafe(f)) {
        Ok(Ok(())) => ptr::null_mut(),
        Ok(Err(e)) => into_raw_error(e),
        Err(panic) => into_raw_error(Error::internal(format!("vgi extension bug: {}", panic_message(panic)))),
    }
}

/// Runs `f` where no error can be reported (destructors, cancel); a panic is swallowed.
fn guard_void(f: impl FnOnce()) {
    let _ = catch_unwind(AssertUnwindSafe(f));
}

unsafe fn str_arg<'a>(p: *const c_char, what: &str) -> Result<&'a str> {
    if p.is_null() {
        return Err(Error::invalid_input(format!("{what} must not be NULL")));
    }
    CStr::from_ptr(p).to_str().map_err(|_| Error::invalid_input(format!("{what} is not valid UTF-8")))
}

#[no_mangle]
pub unsafe extern "C" fn vgi_error_kind(error: *const VgiError) -> i32 {
    (*error).kind as i32
}

#[no_mangle]
pub unsafe extern "C" fn vgi_error_message(error: *const VgiError) -> *const c_char {
    (*error).message.as_ptr()
}

#[no_mangle]
pub unsafe extern "C" fn vgi_error_free(error: *mut VgiError) {
    guard_void(|| drop(Box::from_raw(error)));
}

#[no_mangle]
pub extern "C" fn vgi_extension_version() -> *const c_char {
    static VERSION: &CStr = match CStr::from_bytes_with_nul(concat!("v", env!("CARGO_PKG_VERSION"), "\0").as_bytes()) {
        Ok(v) => v,
        Err(_) => panic!("version has no NUL"),
    };
    VERSION.as_ptr()
}

/// `SET vgi_call_timeout = <seconds>`: the deadline of every worker call made from now on.
#[no_mangle]
pub extern "C" fn vgi_set_call_timeout(seconds: f64) {
    guard_void(|| {
        if seconds.is_finite() && seconds > 0.0 {
            worker_client::call::set_call_timeout(std::time::Duration::from_secs_f64(seconds));
        }
    });
}

// ---- bindings and scans ----------------------------------------------------------------------

/// A binding and what EXPLAIN shows for it (`key\x1fvalue` pairs separated by `\x1e`).
pub struct VgiBinding(Box<dyn Binding>, CString);

/// One execution of a binding, and what EXPLAIN ANALYZE shows for it.
pub struct VgiExecution(Box<dyn Execution>, CString);

pub struct VgiScan {
    scan: Box<dyn Scan>,
    schema: SchemaRef,
}

/// Mirrors `VgiScanRequest` in `cpp/vgi_bridge.h`.
#[repr(C)]
pub struct VgiScanRequest {
    columns: *const u64,
    n_columns: usize,
    filters: *const c_char,
    filter_pushdown: i32,
    constants_schema: *mut FFI_ArrowSchema,
    constants: *mut FFI_ArrowArray,
    order_column: i64,
    order_descending: i32,
    order_nulls_first: i32,
    order_limit: i64,
    sample_percentage: f64,
    sample_seed: i64,
    threads: u64,
    profiling: i32,
    feeds_write: i32,
}

/// Mirrors `VgiBatchInfo` in `cpp/vgi_bridge.h`.
#[repr(C)]
pub struct VgiBatchInfo {
    batch_index: i64,
    partition_values: FFI_ArrowArray,
}

/// Reads a one-row Arrow batch the adapter exported (ATTACH options, function arguments).
unsafe fn import_batch(schema: *mut FFI_ArrowSchema, array: *mut FFI_ArrowArray) -> Result<RecordBatch> {
    let schema = ptr::replace(schema, FFI_ArrowSchema::empty());
    let array = ptr::replace(array, FFI_ArrowArray::empty());
    let data = arrow_array::ffi::from_ffi(array, &schema)?;
    Ok(RecordBatch::from(StructArray::from(data)))
}

/// Takes one chunk of function arguments; a chunk without columns keeps its `rows` rows.
unsafe fn import_rows(schema: *mut FFI_ArrowSchema, array: *mut FFI_ArrowArray, rows: u64) -> Result<RecordBatch> {
    let batch = import_batch(schema, array)?;
    if batch.num_columns() > 0 {
        return Ok(batch);
    }
    let options = arrow_array::RecordBatchOptions::new().with_row_count(Some(rows as usize));
    Ok(RecordBatch::try_new_with_options(batch.schema(), vec![], &options)?)
}

/// Takes a schema the adapter exported.
unsafe fn import_schema(schema: *mut FFI_ArrowSchema) -> Result<SchemaRef> {
    let ffi = ptr::replace(schema, FFI_ArrowSchema::empty());
    Ok(Arc::new(arrow_schema::Schema::try_from(&ffi)?))
}

/// A C++ pointer carried into a Send + Sync closure.
struct SendPtr(*mut c_void);
// SAFETY: the pointee (a ClientContext) is thread-safe for the read-only check it serves.
unsafe impl Send for SendPtr {}
unsafe impl Sync for SendPtr {}
impl SendPtr {
    fn get(&self) -> *mut c_void {
        self.0
    }
}

/// A cancel handle that reports DuckDB's "query interrupted" flag.
unsafe fn interrupt_handle(interrupted: Option<unsafe extern "C" fn(*mut c_void) -> i32>, context: *mut c_void) -> CancelHandle {
    match interrupted {
        Some(check) => {
            let context = SendPtr(context);
            // SAFETY: DuckDB's ClientContext outlives the executions of its query, and the
            // check runs on the thread that waits for the worker.
            CancelHandle::with_check(move || unsafe { check(context.get()) != 0 })
        }
        None => CancelHandle::new(),
    }
}

/// `key\x1fvalue` pairs separated by `\x1e`, as the adapter splits them.
fn pairs_text(pairs: &[(String, String)]) -> CString {
    let text: Vec<String> = pairs.iter().map(|(k, v)| format!("{k}\x1f{v}")).collect();
    c_string(&text.join("\x1e"))
}

/// Publishes a binding and its schema to C++.
unsafe fn export_binding(binding: Box<dyn Binding>, out: *mut *mut VgiBinding, out_schema: *mut FFI_ArrowSchema) -> Result<()> {
    let schema = FFI_ArrowSchema::try_from(binding.schema().as_ref())?;
    ptr::write(out_schema, schema);
    let description = pairs_text(&binding.describe());
    *out = Box::into_raw(Box::new(VgiBinding(binding, description)));
    Ok(())
}

unsafe fn scan_request(request: &VgiScanRequest) -> Result<ScanRequest> {
    let projection = (!request.columns.is_null())
        .then(|| std::slice::from_raw_parts(request.columns, request.n_columns).iter().map(|&c| c as usize).collect());
    // A description Rust cannot read pushes nothing: DuckDB then applies every filter itself.
    let filters = if request.filters.is_null() {
        Vec::new()
    } else {
        parse_filters(str_arg(request.filters, "filters")?).unwrap_or_default()
    };
    let constants = if request.constants.is_null() || request.constants_schema.is_null() {
        None
    } else {
        Some(import_batch(request.constants_schema, request.constants)?)
    };
    let order = (request.order_column >= 0).then(|| OrderHint {
        column: request.order_column as usize,
        descending: request.order_descending != 0,
        nulls_first: request.order_nulls_first != 0,
        limit: (request.order_limit >= 0).then_some(request.order_limit as u64),
    });
    let sample = (request.sample_percentage >= 0.0).then(|| SampleHint {
        percentage: request.sample_percentage,
        seed: (request.sample_seed >= 0).then_some(request.sample_seed),
    });
    Ok(ScanRequest {
        projection,
        filters,
        filter_pushdown: request.filter_pushdown != 0,
        constants,
        order,
        sample,
        threads: request.threads as usize,
        profiling: request.profiling != 0,
        feeds_write: request.feeds_write != 0,
    })
}

/// Starts an execution of `request` (see `VgiScanRequest`).
#[no_mangle]
pub unsafe extern "C" fn vgi_binding_open(
    binding: *const VgiBinding,
    request: *const VgiScanRequest,
    interrupted: Option<unsafe extern "C" fn(*mut c_void) -> i32>,
    context: *mut c_void,
    out: *mut *mut VgiExecution,
) -> *mut VgiError {
    guard(|| {
        let request = scan_request(&*request)?;
        let execution = (*binding).0.open(&request, interrupt_handle(interrupted, context))?;
        let explain = pairs_text(&execution.explain());
        *out = Box::into_raw(Box::new(VgiExecution(execution, explain)));
        Ok(())
    })
}

/// What EXPLAIN shows for a bound scan: `key\x1fvalue` pairs separated by `\x1e`.
#[no_mangle]
pub unsafe extern "C" fn vgi_binding_description(binding: *const VgiBinding) -> *const c_char {
    (*binding).1.as_ptr()
}

/// The bound scan's row estimate (`*max` = -1 when unknown); 0 when nothing is known.
#[no_mangle]
pub unsafe extern "C" fn vgi_binding_cardinality(binding: *const VgiBinding, estimate: *mut u64, max: *mut i64) -> i32 {
    catch_unwind(AssertUnwindSafe(|| match (*binding).0.cardinality() {
        Some((e, m)) => {
            *estimate = e;
            *max = m.map_or(-1, |m| m as i64);
            1
        }
        None => 0,
    }))
    .unwrap_or(0)
}

/// Mirrors `VgiColumnStatistics` in `cpp/vgi_bridge.h`.
#[repr(C)]
pub struct VgiColumnStatistics {
    has_null: i32,
    has_not_null: i32,
    distinct_count: i64,
    bounds: FFI_ArrowArray,
}

/// What the worker knows about column `column`; 0 when nothing.
#[no_mangle]
pub unsafe extern "C" fn vgi_binding_statistics(binding: *const VgiBinding, column: u64, out: *mut VgiColumnStatistics) -> i32 {
    ptr::write(out, VgiColumnStatistics { has_null: -1, has_not_null: -1, distinct_count: -1, bounds: FFI_ArrowArray::empty() });
    catch_unwind(AssertUnwindSafe(|| {
        let Some(stats) = (*binding).0.statistics(column as usize) else { return 0 };
        let flag = |f: Option<bool>| f.map_or(-1, i32::from);
        (*out).has_null = flag(stats.has_null);
        (*out).has_not_null = flag(stats.has_not_null);
        (*out).distinct_count = stats.distinct_count.map_or(-1, |d| d.min(i64::MAX as u64) as i64);
        if let Some(bounds) = stats.bounds {
            let field = arrow_schema::Field::new("bounds", bounds.data_type().clone(), true);
            if let Ok(array) = StructArray::try_new(vec![field].into(), vec![bounds], None) {
                (*out).bounds = FFI_ArrowArray::new(&array.to_data());
            }
        }
        1
    }))
    .unwrap_or(0)
}

/// How the bound output is partitioned by `columns` (DuckDB's `TablePartitionInfo` numbering).
#[no_mangle]
pub unsafe extern "C" fn vgi_binding_partition_kind(binding: *const VgiBinding, columns: *const u64, n: usize) -> i32 {
    catch_unwind(AssertUnwindSafe(|| {
        let columns: Vec<usize> = std::slice::from_raw_parts(columns, n).iter().map(|&c| c as usize).collect();
        (*binding).0.partition_kind(&columns)
    }))
    .unwrap_or(0)
}

/// The filters the optimizer pass saw on one scan: the description and its constants.
unsafe fn scan_filters(
    filters: *const c_char,
    constants_schema: *mut FFI_ArrowSchema,
    constants: *mut FFI_ArrowArray,
) -> Result<(Vec<crate::pushdown::TableFilter>, Option<RecordBatch>)> {
    let constants = if constants.is_null() || constants_schema.is_null() { None } else { Some(import_batch(constants_schema, constants)?) };
    let filters = if filters.is_null() { Vec::new() } else { parse_filters(str_arg(filters, "filters")?)? };
    Ok((filters, constants))
}

/// Non-zero when the bound scan reads a table that declares required filters.
#[no_mangle]
pub unsafe extern "C" fn vgi_binding_has_required_filters(binding: *const VgiBinding) -> i32 {
    catch_unwind(AssertUnwindSafe(|| i32::from((*binding).0.has_required_filters()))).unwrap_or(0)
}

/// The optimizer pass: refuses the scan when `filters` (every predicate DuckDB applies to its
/// rows) leave a required filter group of its table unmet.
#[no_mangle]
pub unsafe extern "C" fn vgi_binding_verify_required_filters(
    binding: *const VgiBinding,
    filters: *const c_char,
    constants_schema: *mut FFI_ArrowSchema,
    constants: *mut FFI_ArrowArray,
) -> *mut VgiError {
    guard(|| {
        let (filters, constants) = scan_filters(filters, constants_schema, constants)?;
        (*binding).0.verify_required_filters(&filters, constants.as_ref())
    })
}

/// The same check for a scan DuckDB reads itself (a branch of a multi-branch table): the
/// table, its groups as the view marker encodes them, the scan's column names. `unverified`:
/// the optimizer pass did not run (the marker itself executed).
#[no_mangle]
pub unsafe extern "C" fn vgi_required_filters_check(
    table: *const c_char,
    groups: *const c_char,
    names: *const *const c_char,
    n_names: usize,
    filters: *const c_char,
    constants_schema: *mut FFI_ArrowSchema,
    constants: *mut FFI_ArrowArray,
    unverified: i32,
) -> *mut VgiError {
    guard(|| {
        let required = crate::required_filters::RequiredFilters::new(
            str_arg(table, "the table name")?,
            crate::required_filters::RequiredFilters::decode_groups(str_arg(groups, "the required filters")?),
        );
        let columns = (0..n_names)
            .map(|i| str_arg(*names.add(i), "a column name").map(str::to_string))
            .collect::<Result<Vec<_>>>()?;
        let (filters, constants) = scan_filters(filters, constants_schema, constants)?;
        required.check(&filters, &columns, constants.as_ref(), unverified != 0)
    })
}

#[no_mangle]
pub unsafe extern "C" fn vgi_binding_free(binding: *mut VgiBinding) {
    guard_void(|| drop(Box::from_raw(binding)));
}

#[no_mangle]
pub unsafe extern "C" fn vgi_execution_max_threads(execution: *const VgiExecution) -> u64 {
    catch_unwind(AssertUnwindSafe(|| (*execution).0.max_threads() as u64)).unwrap_or(1)
}

/// What happened to filter `slot`: 0 kept by DuckDB, 1 sent as advisory, 2 applied exactly.
#[no_mangle]
pub unsafe extern "C" fn vgi_execution_filter_fate(execution: *const VgiExecution, slot: u64) -> i32 {
    catch_unwind(AssertUnwindSafe(|| {
        (*execution).0.filter_fates().get(slot as usize).copied().unwrap_or(FilterFate::Kept) as i32
    }))
    .unwrap_or(0)
}

#[no_mangle]
pub unsafe extern "C" fn vgi_execution_sample_applied(execution: *const VgiExecution) -> i32 {
    catch_unwind(AssertUnwindSafe(|| (*execution).0.sample_applied() as i32)).unwrap_or(0)
}

#[no_mangle]
pub unsafe extern "C" fn vgi_execution_has_batch_index(execution: *const VgiExecution) -> i32 {
    catch_unwind(AssertUnwindSafe(|| (*execution).0.has_batch_index() as i32)).unwrap_or(0)
}

#[no_mangle]
pub unsafe extern "C" fn vgi_execution_explain(execution: *const VgiExecution) -> *const c_char {
    (*execution).1.as_ptr()
}

/// What EXPLAIN ANALYZE shows at the end of a scan (`key\x1fvalue` pairs separated by `\x1e`),
/// copied into `buffer` (NUL-terminated when it fits); returns the length it needs.
#[no_mangle]
pub unsafe extern "C" fn vgi_execution_metrics(execution: *const VgiExecution, buffer: *mut c_char, capacity: usize) -> usize {
    catch_unwind(AssertUnwindSafe(|| {
        let text = pairs_text(&(*execution).0.metrics());
        let bytes = text.as_bytes_with_nul();
        if !buffer.is_null() && bytes.len() <= capacity {
            ptr::copy_nonoverlapping(bytes.as_ptr() as *const c_char, buffer, bytes.len());
        }
        bytes.len()
    }))
    .unwrap_or(0)
}

/// The stream of one more thread, or `*out = NULL` when all are taken.
#[no_mangle]
pub unsafe extern "C" fn vgi_execution_stream(
    execution: *const VgiExecution,
    interrupted: Option<unsafe extern "C" fn(*mut c_void) -> i32>,
    context: *mut c_void,
    out: *mut *mut VgiScan,
) -> *mut VgiError {
    *out = ptr::null_mut();
    guard(|| {
        let execution = &(*execution).0;
        if let Some(scan) = execution.next_stream(interrupt_handle(interrupted, context))? {
            *out = Box::into_raw(Box::new(VgiScan { scan, schema: execution.schema() }));
        }
        Ok(())
    })
}

#[no_mangle]
pub unsafe extern "C" fn vgi_execution_free(execution: *mut VgiExecution) {
    guard_void(|| drop(Box::from_raw(execution)));
}

#[no_mangle]
pub unsafe extern "C" fn vgi_scan_next(scan: *mut VgiScan, out: *mut FFI_ArrowArray, info: *mut VgiBatchInfo) -> *mut VgiError {
    // C++ sees release == NULL (the end) unless a batch is written below.
    ptr::write(out, FFI_ArrowArray::empty());
    ptr::write(info, VgiBatchInfo { batch_index: -1, partition_values: FFI_ArrowArray::empty() });
    guard(|| {
        let scan = &mut *scan;
        if let Some(batch) = scan.scan.next_batch()? {
            check_batch(&scan.schema, &batch.batch)?;
            let array = StructArray::from(batch.batch);
            ptr::write(out, FFI_ArrowArray::new(&array.to_data()));
            (*info).batch_index = batch.batch_index.map_or(-1, |i| i as i64);
            if let Some(values) = batch.partition_values {
                (*info).partition_values = FFI_ArrowArray::new(&StructArray::from(values).to_data());
            }
        }
        Ok(())
    })
}

#[no_mangle]
pub unsafe extern "C" fn vgi_scan_update_filters(
    scan: *mut VgiScan,
    filters: *const c_char,
    constants_schema: *mut FFI_ArrowSchema,
    constants: *mut FFI_ArrowArray,
) -> *mut VgiError {
    guard(|| {
        // Dynamic filters are hints: one Rust cannot read is simply not sent.
        let Ok(filters) = parse_filters(str_arg(filters, "filters")?) else { return Ok(()) };
        let constants =
            if constants.is_null() || constants_schema.is_null() { None } else { Some(import_batch(constants_schema, constants)?) };
        (*scan).scan.update_filters(filters, constants)
    })
}

#[no_mangle]
pub unsafe extern "C" fn vgi_scan_cancel(scan: *mut VgiScan) {
    guard_void(|| (*scan).scan.cancel());
}

#[no_mangle]
pub unsafe extern "C" fn vgi_scan_free(scan: *mut VgiScan) {
    guard_void(|| drop(Box::from_raw(scan)));
}

// ---- table functions -------------------------------------------------------------------------

#[no_mangle]
pub unsafe extern "C" fn vgi_check_location(
    what: *const c_char,
    location: *const c_char,
    external_access: bool,
    allowed: *const c_char,
) -> *mut VgiError {
    guard(|| {
        let what = str_arg(what, "what")?;
        let location = str_arg(location, "location")?;
        let allowed = if allowed.is_null() { "" } else { str_arg(allowed, "vgi_allowed_locations")? };
        crate::sandbox::check_location(what, location, external_access, allowed)
    })
}

#[no_mangle]
pub unsafe extern "C" fn vgi_catalogs_bind(
    location: *const c_char,
    out: *mut *mut VgiBinding,
    out_schema: *mut FFI_ArrowSchema,
) -> *mut VgiError {
    guard(|| {
        let location = str_arg(location, "vgi_catalogs: the worker location")?;
        export_binding(Box::new(crate::discovery::CatalogsBinding::new(location)), out, out_schema)
    })
}

#[no_mangle]
pub unsafe extern "C" fn vgi_protocols_bind(
    location: *const c_char,
    out: *mut *mut VgiBinding,
    out_schema: *mut FFI_ArrowSchema,
) -> *mut VgiError {
    guard(|| {
        let location = str_arg(location, "vgi_protocols: the worker location")?;
        export_binding(Box::new(crate::discovery::ProtocolsBinding::new(location)), out, out_schema)
    })
}

// ---- attached catalogs -----------------------------------------------------------------------

pub struct VgiCatalog {
    catalog: Arc<AttachedCatalog>,
    default_schema: CString,
    location: CString,
    /// The catalog's name at the worker, and whether the ATTACH path carried `?options`.
    worker_name: CString,
    path_has_options: bool,
}

/// ATTACH: `path` is the ATTACH path (the catalog name, optionally with `?key=value` options),
/// `options` a one-row batch of every ATTACH option (name -> value); the location is checked
/// against the sandbox (`external_access`, `allowed_locations`) before anything starts.
#[no_mangle]
pub unsafe extern "C" fn vgi_catalog_attach(
    path: *const c_char,
    options_schema: *mut FFI_ArrowSchema,
    options: *mut FFI_ArrowArray,
    external_access: bool,
    allowed_locations: *const c_char,
    out: *mut *mut VgiCatalog,
) -> *mut VgiError {
    guard(|| {
        let path = str_arg(path, "the ATTACH path")?;
        let options = import_batch(options_schema, options)?;
        let allowed_locations = if allowed_locations.is_null() { "" } else { str_arg(allowed_locations, "vgi_allowed_locations")? };
        let policy = crate::catalog::LocationPolicy { external_access, allowed_locations };
        let catalog = AttachedCatalog::attach(path, &options, &policy)?;
        let default_schema = CString::new(catalog.default_schema()).unwrap_or_default();
        let location = CString::new(catalog.location.as_str()).unwrap_or_default();
        let worker_name = CString::new(catalog.name.as_str()).unwrap_or_default();
        let path_has_options = path.contains('?');
        *out = Box::into_raw(Box::new(VgiCatalog { catalog: Arc::new(catalog), default_schema, location, worker_name, path_has_options }));
        Ok(())
    })
}

#[no_mangle]
pub unsafe extern "C" fn vgi_catalog_default_schema(catalog: *const VgiCatalog) -> *const c_char {
    (*catalog).default_schema.as_ptr()
}

/// The worker location the catalog was attached from (whichever form the ATTACH used).
#[no_mangle]
pub unsafe extern "C" fn vgi_catalog_location(catalog: *const VgiCatalog) -> *const c_char {
    (*catalog).location.as_ptr()
}

/// The alias DuckDB should register the catalog under, or NULL to keep its own. Without `AS`,
/// DuckDB names a database after the tail of its path, which for 'example?location=a/b.c'
/// is 'b': such a catalog is named after the worker catalog ('example') instead.
#[no_mangle]
pub unsafe extern "C" fn vgi_catalog_alias(catalog: *const VgiCatalog, alias_derived_from_path: bool) -> *const c_char {
    let catalog = &*catalog;
    if alias_derived_from_path && catalog.path_has_options {
        catalog.worker_name.as_ptr()
    } else {
        std::ptr::null()
    }
}

/// The attached catalog as `duckdb_databases()` shows it: one entry with its comment and tags.
#[no_mangle]
pub unsafe extern "C" fn vgi_catalog_describe(catalog: *const VgiCatalog, out: *mut *mut VgiEntries) -> *mut VgiError {
    guard(|| {
        let catalog = &(*catalog).catalog;
        let tags = crate::metadata::catalog_tags(&catalog.attach);
        let item = EntryItem {
            name: c_string(&catalog.name),
            comment: catalog.attach.comment.as_deref().map(c_string),
            tags: c_tags(tags.iter().map(|(k, v)| (k, v))),
            ..Default::default()
        };
        *out = Box::into_raw(Box::new(VgiEntries(vec![item])));
        Ok(())
    })
}

/// At transaction start: revalidates cached metadata against the worker's catalog version;
/// `generation` changes when the adapter must rebuild its entries.
#[no_mangle]
pub unsafe extern "C" fn vgi_catalog_refresh(catalog: *const VgiCatalog, generation: *mut u64) -> *mut VgiError {
    guard(|| {
        *generation = (*catalog).catalog.refresh()?;
        Ok(())
    })
}

/// DETACH: tells the worker and releases its pooled connections.
#[no_mangle]
pub unsafe extern "C" fn vgi_catalog_detach(catalog: *const VgiCatalog) {
    guard_void(|| (*catalog).catalog.detach());
}

#[no_mangle]
pub unsafe extern "C" fn vgi_catalog_free(catalog: *mut VgiCatalog) {
    guard_void(|| drop(Box::from_raw(catalog)));
}

// ---- transactions ----------------------------------------------------------------------------

pub struct VgiTransaction(WorkerTransaction);

/// A DuckDB transaction starts on the catalog; the worker hears of it on first use.
#[no_mangle]
pub unsafe extern "C" fn vgi_transaction_new(catalog: *const VgiCatalog) -> *mut VgiTransaction {
    Box::into_raw(Box::new(VgiTransaction(WorkerTransaction::new((*catalog).catalog.clone()))))
}

/// Commits (`commit` != 0) or rolls back the worker's side of the transaction.
#[no_mangle]
pub unsafe extern "C" fn vgi_transaction_end(transaction: *const VgiTransaction, commit: i32) -> *mut VgiError {
    guard(|| (*transaction).0.end(commit != 0))
}

#[no_mangle]
pub unsafe extern "C" fn vgi_transaction_free(transaction: *mut VgiTransaction) {
    guard_void(|| drop(Box::from_raw(transaction)));
}

/// The worker's token of the transaction a bind runs in (beginning it there on first use).
unsafe fn transaction_token(transaction: *const VgiTransaction) -> Result<Option<Blob>> {
    if transaction.is_null() {
        return Ok(None);
    }
    (*transaction).0.token()
}

/// Resolves a secret `(type, scope, name)` (NULL = any) into one row of its fields; returns 0
/// when DuckDB has none.
type SecretLookup =
    unsafe extern "C" fn(*mut c_void, *const c_char, *const c_char, *const c_char, *mut FFI_ArrowSchema, *mut FFI_ArrowArray) -> i32;

/// Mirrors `VgiCallContext` in vgi_bridge.h: what a bind carries from the DuckDB session.
#[repr(C)]
pub struct VgiCallContext {
    transaction: *const VgiTransaction,
    settings_schema: *mut FFI_ArrowSchema,
    settings: *mut FFI_ArrowArray,
    lookup_secret: Option<SecretLookup>,
    lookup_context: *mut c_void,
}

/// Reads the adapter's call context (valid for the duration of the FFI call it came with).
unsafe fn call_context<'a>(call: *const VgiCallContext) -> Result<CallContext<'a>> {
    if call.is_null() {
        return Ok(CallContext::default());
    }
    let call = &*call;
    let settings = if call.settings.is_null() || call.settings_schema.is_null() {
        None
    } else {
        Some(import_batch(call.settings_schema, call.settings)?)
    };
    let secrets = call.lookup_secret.map(|lookup| {
        let context = call.lookup_context;
        Box::new(move |secret_type: &str, scope: &str, name: &str| -> Result<Option<RecordBatch>> {
            let text = |s: &str| CString::new(s).map_err(|_| Error::invalid_input("a secret lookup contains NUL"));
            let (secret_type, scope, name) = (text(secret_type)?, text(scope)?, text(name)?);
            let nullable = |s: &CString| if s.as_bytes().is_empty() { ptr::null() } else { s.as_ptr() };
            let mut schema = FFI_ArrowSchema::empty();
            let mut array = FFI_ArrowArray::empty();
            if lookup(context, secret_type.as_ptr(), nullable(&scope), nullable(&name), &mut schema, &mut array) == 0 {
                return Ok(None);
            }
            Ok(Some(import_batch(&mut schema, &mut array)?))
        }) as Box<SecretResolver<'a>>
    });
    Ok(CallContext::new(transaction_token(call.transaction)?, settings, secrets))
}

/// DDL (`operation`: the worker method without `catalog_`, e.g. `table_create`); `fields` is
/// one row of the statement's fields, `columns` (NULL when none) its column definitions.
#[no_mangle]
pub unsafe extern "C" fn vgi_catalog_ddl(
    catalog: *const VgiCatalog,
    call: *const VgiCallContext,
    operation: *const c_char,
    fields_schema: *mut FFI_ArrowSchema,
    fields: *mut FFI_ArrowArray,
    columns: *mut FFI_ArrowSchema,
) -> *mut VgiError {
    guard(|| {
        let fields = import_batch(fields_schema, fields)?;
        let columns = if columns.is_null() { None } else { Some(import_schema(columns)?) };
        let statement = DdlStatement { operation: str_arg(operation, "the DDL operation")?, fields: &fields, columns };
        crate::ddl::execute(&(*catalog).catalog, call_context(call)?.transaction, &statement)
    })
}

/// The settings the worker declared at ATTACH: one row of their defaults (NULL where none),
/// each field carrying its `description` metadata; no fields when it declares none.
#[no_mangle]
pub unsafe extern "C" fn vgi_catalog_settings(
    catalog: *const VgiCatalog,
    out_schema: *mut FFI_ArrowSchema,
    out: *mut FFI_ArrowArray,
) -> *mut VgiError {
    ptr::write(out_schema, FFI_ArrowSchema::empty());
    ptr::write(out, FFI_ArrowArray::empty());
    guard(|| {
        let catalog = &(*catalog).catalog;
        let row = crate::catalog::declared_settings(&catalog.attach)?;
        ptr::write(out_schema, FFI_ArrowSchema::try_from(arrow_schema::DataType::Struct(row.schema().fields().clone()))?);
        ptr::write(out, FFI_ArrowArray::new(&StructArray::from(row).to_data()));
        Ok(())
    })
}

/// The secret types the worker declared at ATTACH: per entry its name, description (comment),
/// parameters (columns) and, as `sql`, the names of the parameters to redact (US separated).
#[no_mangle]
pub unsafe extern "C" fn vgi_catalog_secret_types(catalog: *const VgiCatalog, out: *mut *mut VgiEntries) -> *mut VgiError {
    guard(|| {
        let mut items = Vec::new();
        let catalog = &(*catalog).catalog;
        for spec in catalog.attach.secret_type_specs()? {
            let parameters = Arc::new(worker_client::framing::decode_schema(&spec.parameters_schema.0)?);
            let redact: Vec<&str> = parameters
                .fields()
                .iter()
                .filter(|f| f.metadata().get("redact").is_some_and(|v| v == "true"))
                .map(|f| f.name().as_str())
                .collect();
            items.push(EntryItem {
                name: c_string(&spec.name),
                comment: Some(c_string(&spec.description)),
                sql: Some(c_string(&redact.join("\x1f"))),
                columns: Some(parameters.clone()),
                ..Default::default()
            });
        }
        *out = Box::into_raw(Box::new(VgiEntries(items)));
        Ok(())
    })
}

/// How `schema`.`table` reads when the worker serves it from several scan branches: no entry
/// for an ordinary table, else one whose `sql` is the view to read and whose comment lists the
/// DuckDB extensions it needs (US separated). `duckdb_catalog` is the attach's DuckDB name.
#[no_mangle]
pub unsafe extern "C" fn vgi_catalog_branch_view(
    catalog: *const VgiCatalog,
    schema: *const c_char,
    table: *const c_char,
    duckdb_catalog: *const c_char,
    out: *mut *mut VgiEntries,
) -> *mut VgiError {
    guard(|| {
        let catalog = &(*catalog).catalog;
        let table = str_arg(table, "the table name")?;
        let view = catalog.branch_view(str_arg(duckdb_catalog, "the catalog name")?, str_arg(schema, "the schema name")?, table)?;
        let items = match view {
            Some(view) => vec![EntryItem {
                name: c_string(table),
                comment: Some(c_string(&view.required_extensions.join("\x1f"))),
                sql: Some(c_string(&view.sql)),
                ..Default::default()
            }],
            None => Vec::new(),
        };
        *out = Box::into_raw(Box::new(VgiEntries(items)));
        Ok(())
    })
}

/// The companion catalogs to attach beside this one: per entry its alias (name), ATTACH target
/// (sql), storage type (comment, empty for a DuckDB file) and options as the fields of
/// `columns` (name = option, metadata `value`); `output` has one field when it is required.
#[no_mangle]
pub unsafe extern "C" fn vgi_catalog_companions(catalog: *const VgiCatalog, out: *mut *mut VgiEntries) -> *mut VgiError {
    guard(|| {
        let mut items = Vec::new();
        for companion in crate::branches::companions(&(*catalog).catalog)? {
            let options: Vec<arrow_schema::Field> = companion
                .options
                .iter()
                .map(|(k, v)| {
                    arrow_schema::Field::new(k, arrow_schema::DataType::Utf8, true)
                        .with_metadata([("value".to_string(), v.clone())].into_iter().collect::<std::collections::HashMap<String, String>>())
                })
                .collect();
            let required = companion.required.then(|| Arc::new(arrow_schema::Schema::new(vec![arrow_schema::Field::new("required", arrow_schema::DataType::Boolean, false)])));
            items.push(EntryItem {
                name: c_string(&companion.alias),
                comment: Some(c_string(&companion.db_type)),
                sql: Some(c_string(&companion.target)),
                columns: Some(Arc::new(arrow_schema::Schema::new(options))),
                output: required,
                ..Default::default()
            });
        }
        *out = Box::into_raw(Box::new(VgiEntries(items)));
        Ok(())
    })
}

/// What `vgi_catalog_entries` lists (mirrors `VgiEntryKind` in vgi_bridge.h).
const ENTRY_SCHEMAS: i32 = 0;
const ENTRY_TABLES: i32 = 1;
const ENTRY_VIEWS: i32 = 2;
const ENTRY_TABLE_FUNCTIONS: i32 = 3;
const ENTRY_SCALAR_FUNCTIONS: i32 = 4;
const ENTRY_AGGREGATE_FUNCTIONS: i32 = 5;
const ENTRY_MACROS: i32 = 6;
const ENTRY_GLOBAL_FUNCTIONS: i32 = 7;

#[derive(Default)]
struct EntryItem {
    name: CString,
    comment: Option<CString>,
    sql: Option<CString>,
    columns: Option<SchemaRef>,
    /// Functions: the declared output schema.
    output: Option<SchemaRef>,
    /// The object's tags (key, value), in order.
    tags: Vec<(CString, CString)>,
}

pub struct VgiEntries(Vec<EntryItem>);

fn c_string(s: &str) -> CString {
    CString::new(s.replace('\0', " ")).expect("NULs were replaced")
}

fn c_tags<'a>(tags: impl IntoIterator<Item = (&'a String, &'a String)>) -> Vec<(CString, CString)> {
    tags.into_iter().map(|(k, v)| (c_string(k), c_string(v))).collect()
}

/// Lists a catalog's schemas (`schema` NULL) or the entries of one kind in a schema.
#[no_mangle]
pub unsafe extern "C" fn vgi_catalog_entries(catalog: *const VgiCatalog, schema: *const c_char, kind: i32, out: *mut *mut VgiEntries) -> *mut VgiError {
    guard(|| {
        let contents = (*catalog).catalog.contents()?;
        let item = |name: &str, comment: &Option<String>, tags: &worker_client::wire::StringMap| EntryItem {
            name: c_string(name),
            comment: comment.as_deref().map(c_string),
            tags: c_tags(tags),
            ..Default::default()
        };
        let items = if kind == ENTRY_SCHEMAS {
            contents.schemas.iter().map(|s| item(&s.name, &s.comment, &s.tags)).collect()
        } else if kind == ENTRY_GLOBAL_FUNCTIONS {
            global_function_items(&(*catalog).catalog)?
        } else {
            let schema = str_arg(schema, "the schema name")?;
            match contents.schema(schema) {
                None => Vec::new(),
                Some(s) => match kind {
                    ENTRY_TABLES => s
                        .tables
                        .iter()
                        .map(|t| {
                            let tags = crate::metadata::table_tags(t);
                            Ok(EntryItem {
                                columns: Some(crate::metadata::with_foreign_keys(crate::catalog::table_columns(t)?, t, &contents)?),
                                output: crate::catalog::table_row_id(t)?,
                                tags: c_tags(tags.iter().map(|(k, v)| (k, v))),
                                ..item(&t.name, &t.comment, &t.tags)
                            })
                        })
                        .collect::<Result<_>>()?,
                    ENTRY_VIEWS => s
                        .views
                        .iter()
                        .map(|v| EntryItem {
                            sql: Some(c_string(&v.definition)),
                            columns: Some(crate::metadata::view_column_comments(v)),
                            ..item(&v.name, &v.comment, &v.tags)
                        })
                        .collect(),
                    ENTRY_MACROS => s
                        .macros
                        .iter()
                        .map(|m| {
                            Ok(EntryItem {
                                sql: Some(c_string(&m.definition)),
                                columns: Some(crate::catalog::macro_parameters(m)?),
                                ..item(&m.name, &m.comment, &m.tags)
                            })
                        })
                        .collect::<Result<_>>()?,
                    ENTRY_TABLE_FUNCTIONS | ENTRY_SCALAR_FUNCTIONS | ENTRY_AGGREGATE_FUNCTIONS => s
                        .functions
                        .iter()
                        .filter(|f| {
                            use worker_client::records::FunctionType;
                            f.function_type
                                == match kind {
                                    ENTRY_TABLE_FUNCTIONS if f.function_type == FunctionType::TableBuffering => FunctionType::TableBuffering,
                                    ENTRY_TABLE_FUNCTIONS => FunctionType::Table,
                                    ENTRY_SCALAR_FUNCTIONS => FunctionType::Scalar,
                                    _ => FunctionType::Aggregate,
                                }
                        })
                        .map(|f| {
                            let arguments = worker_client::framing::decode_schema(&f.arguments.0 .0)?;
                            // The adapter needs to know whether the end of input has a FINALIZE phase.
                            let mut metadata = arguments.metadata().clone();
                            if f.has_finalize {
                                metadata.insert("vgi.has_finalize".to_string(), "true".to_string());
                            }
                            // Blended ("UNNEST-style"): the positional arguments are the input rows.
                            if f.input_from_args {
                                metadata.insert("vgi.input_from_args".to_string(), "true".to_string());
                            }
                            if f.supports_window {
                                metadata.insert("vgi.supports_window".to_string(), "true".to_string());
                            }
                            if f.function_type == worker_client::records::FunctionType::TableBuffering {
                                metadata.insert("vgi.buffering".to_string(), "true".to_string());
                            }
                            crate::metadata::document_function(f, &mut metadata);
                            let arguments = arrow_schema::Schema::new_with_metadata(arguments.fields().clone(), metadata);
                            let output = worker_client::framing::decode_schema(&f.output_schema.0 .0)?;
                            Ok(EntryItem {
                                columns: Some(Arc::new(arguments)),
                                output: Some(Arc::new(output)),
                                ..item(&f.name, &f.comment, &f.tags)
                            })
                        })
                        .collect::<Result<_>>()?,
                    other => return Err(Error::internal(format!("unknown entry kind {other}"))),
                },
            }
        };
        *out = Box::into_raw(Box::new(VgiEntries(items)));
        Ok(())
    })
}

/// The functions a catalog publishes unqualified as `<prefix>_<name>`: `name` is the published
/// name, `sql` the worker's name; the parameters' schema metadata carries `vgi.function_type`
/// and `vgi.schema` (the worker schema the function lives in).
fn global_function_items(catalog: &AttachedCatalog) -> Result<Vec<EntryItem>> {
    let prefix = &catalog.attach.global_function_prefix;
    worker_client::records::decode_all::<worker_client::records::FunctionInfo>(&catalog.attach.global_functions)?
        .into_iter()
        .map(|f| {
            let published = if prefix.is_empty() { f.name.clone() } else { format!("{prefix}_{}", f.name) };
            let arguments = worker_client::framing::decode_schema(&f.arguments.0 .0)?;
            let mut metadata = arguments.metadata().clone();
            metadata.insert("vgi.function_type".to_string(), f.function_type.wire_name().to_string());
            metadata.insert("vgi.schema".to_string(), f.schema_path.join("."));
            crate::metadata::document_function(&f, &mut metadata);
            let output = worker_client::framing::decode_schema(&f.output_schema.0 .0)?;
            Ok(EntryItem {
                name: c_string(&published),
                comment: f.comment.as_deref().map(c_string),
                sql: Some(c_string(&f.name)),
                columns: Some(Arc::new(arrow_schema::Schema::new_with_metadata(arguments.fields().clone(), metadata))),
                output: Some(Arc::new(output)),
                tags: c_tags(&f.tags),
            })
        })
        .collect()
}

/// Entry `i`, or `None` out of range (never panics across the boundary).
unsafe fn entry<'a>(entries: *const VgiEntries, i: usize) -> Option<&'a EntryItem> {
    (&*entries).0.get(i)
}

#[no_mangle]
pub unsafe extern "C" fn vgi_entries_count(entries: *const VgiEntries) -> usize {
    (&*entries).0.len()
}

#[no_mangle]
pub unsafe extern "C" fn vgi_entries_name(entries: *const VgiEntries, i: usize) -> *const c_char {
    entry(entries, i).map_or(ptr::null(), |e| e.name.as_ptr())
}

#[no_mangle]
pub unsafe extern "C" fn vgi_entries_comment(entries: *const VgiEntries, i: usize) -> *const c_char {
    entry(entries, i).and_then(|e| e.comment.as_ref()).map_or(ptr::null(), |c| c.as_ptr())
}

#[no_mangle]
pub unsafe extern "C" fn vgi_entries_sql(entries: *const VgiEntries, i: usize) -> *const c_char {
    entry(entries, i).and_then(|e| e.sql.as_ref()).map_or(ptr::null(), |c| c.as_ptr())
}

#[no_mangle]
pub unsafe extern "C" fn vgi_entries_tag_count(entries: *const VgiEntries, i: usize) -> usize {
    entry(entries, i).map_or(0, |e| e.tags.len())
}

/// Tag `t` of entry `i`: its key (`value` 0) or value (`value` 1); NULL out of range.
#[no_mangle]
pub unsafe extern "C" fn vgi_entries_tag(entries: *const VgiEntries, i: usize, t: usize, value: i32) -> *const c_char {
    match entry(entries, i).and_then(|e| e.tags.get(t)) {
        Some((k, v)) => if value != 0 { v.as_ptr() } else { k.as_ptr() },
        None => ptr::null(),
    }
}

/// The entry's columns (tables) or parameters (functions) with their field metadata.
#[no_mangle]
pub unsafe extern "C" fn vgi_entries_columns(entries: *const VgiEntries, i: usize, out: *mut FFI_ArrowSchema) -> *mut VgiError {
    ptr::write(out, FFI_ArrowSchema::empty());
    guard(|| {
        if let Some(columns) = entry(entries, i).and_then(|e| e.columns.as_ref()) {
            ptr::write(out, FFI_ArrowSchema::try_from(columns.as_ref())?);
        }
        Ok(())
    })
}

/// A function's declared output schema; a table's row id column (empty when none).
#[no_mangle]
pub unsafe extern "C" fn vgi_entries_output(entries: *const VgiEntries, i: usize, out: *mut FFI_ArrowSchema) -> *mut VgiError {
    ptr::write(out, FFI_ArrowSchema::empty());
    guard(|| {
        if let Some(output) = entry(entries, i).and_then(|e| e.output.as_ref()) {
            ptr::write(out, FFI_ArrowSchema::try_from(output.as_ref())?);
        }
        Ok(())
    })
}

#[no_mangle]
pub unsafe extern "C" fn vgi_entries_free(entries: *mut VgiEntries) {
    guard_void(|| drop(Box::from_raw(entries)));
}

/// `AT (unit => value)` from two nullable strings.
unsafe fn at_clause(unit: *const c_char, value: *const c_char) -> Result<Option<(String, String)>> {
    if unit.is_null() {
        return Ok(None);
    }
    Ok(Some((str_arg(unit, "the AT unit")?.to_ascii_uppercase(), str_arg(value, "the AT value")?.to_string())))
}

/// A table as of `AT (unit => value)`: one TABLES entry (none when it did not exist).
#[no_mangle]
pub unsafe extern "C" fn vgi_catalog_table_at(
    catalog: *const VgiCatalog,
    schema: *const c_char,
    table: *const c_char,
    at_unit: *const c_char,
    at_value: *const c_char,
    out: *mut *mut VgiEntries,
) -> *mut VgiError {
    guard(|| {
        let catalog = &(*catalog).catalog;
        let path = schema_path(catalog, str_arg(schema, "the schema name")?)?;
        let at = at_clause(at_unit, at_value)?.ok_or_else(|| Error::internal("AT lookup without a unit"))?;
        let items = match catalog.table_at(&path, str_arg(table, "the table name")?, &at)? {
            Some(t) => vec![EntryItem {
                name: c_string(&t.name),
                comment: t.comment.as_deref().map(c_string),
                columns: Some(crate::metadata::with_foreign_keys(crate::catalog::table_columns(&t)?, &t, catalog.contents()?.as_ref())?),
                output: crate::catalog::table_row_id(&t)?,
                tags: c_tags(crate::metadata::table_tags(&t).iter().map(|(k, v)| (k, v))),
                ..Default::default()
            }],
            None => Vec::new(),
        };
        *out = Box::into_raw(Box::new(VgiEntries(items)));
        Ok(())
    })
}

/// Binds the scan of a catalog table; `at_unit`/`at_value` (both NULL for none) select a
/// version or time. `duckdb_catalog` is the attach's DuckDB name (errors name the table by it).
#[no_mangle]
pub unsafe extern "C" fn vgi_table_scan_bind(
    catalog: *const VgiCatalog,
    call: *const VgiCallContext,
    duckdb_catalog: *const c_char,
    schema: *const c_char,
    table: *const c_char,
    at_unit: *const c_char,
    at_value: *const c_char,
    out: *mut *mut VgiBinding,
    out_schema: *mut FFI_ArrowSchema,
) -> *mut VgiError {
    guard(|| {
        let catalog = (*catalog).catalog.clone();
        let path = schema_path(&catalog, str_arg(schema, "the schema name")?)?;
        let at = at_clause(at_unit, at_value)?;
        let duckdb_catalog = str_arg(duckdb_catalog, "the catalog name")?;
        let binding = WorkerBinding::bind_table(catalog, duckdb_catalog, path, str_arg(table, "the table name")?, at, &call_context(call)?)?;
        export_binding(Box::new(binding), out, out_schema)
    })
}

/// Binds a call of a worker table function; `args` is one row whose columns are
/// `positional_<i>` and `named_<name>` (the wire's Arguments layout).
#[no_mangle]
pub unsafe extern "C" fn vgi_table_function_bind(
    catalog: *const VgiCatalog,
    call: *const VgiCallContext,
    schema: *const c_char,
    function: *const c_char,
    args_schema: *mut FFI_ArrowSchema,
    args: *mut FFI_ArrowArray,
    out: *mut *mut VgiBinding,
    out_schema: *mut FFI_ArrowSchema,
) -> *mut VgiError {
    guard(|| {
        let call = function_call(catalog, call, schema, function, args_schema, args, ptr::null_mut())?;
        let binding = WorkerBinding::bind(call.catalog, &call.function, Some(call.schema_path), &call.arguments, &call.context)?;
        export_binding(Box::new(binding), out, out_schema)
    })
}

// ---- table-in-out functions ------------------------------------------------------------------

pub struct VgiInOutBinding(Arc<InOutBinding>);
pub struct VgiInOut(InOutExecution);
pub struct VgiBatches(std::vec::IntoIter<RecordBatch>);

/// Splits the adapter's argument row into the wire's positional and named arguments.
fn arguments_from_row(batch: &RecordBatch) -> worker_client::arguments::Arguments {
    let mut arguments = worker_client::arguments::Arguments::default();
    for (field, column) in batch.schema().fields().iter().zip(batch.columns()) {
        if let Some(name) = field.name().strip_prefix("named_") {
            arguments.named.push((name.to_string(), column.clone()));
        } else {
            arguments.positional.push(column.clone());
        }
    }
    arguments
}

/// What every function bind receives from the adapter: the catalog, the function's schema
/// path and name, its constant arguments and (for row functions) its input columns.
struct FunctionCall<'a> {
    catalog: Arc<AttachedCatalog>,
    schema_path: Vec<String>,
    function: String,
    arguments: worker_client::arguments::Arguments,
    input: SchemaRef,
    context: CallContext<'a>,
}

unsafe fn function_call<'a>(
    catalog: *const VgiCatalog,
    call: *const VgiCallContext,
    schema: *const c_char,
    function: *const c_char,
    args_schema: *mut FFI_ArrowSchema,
    args: *mut FFI_ArrowArray,
    input_schema: *mut FFI_ArrowSchema,
) -> Result<FunctionCall<'a>> {
    let catalog = (*catalog).catalog.clone();
    let schema_path = schema_path(&catalog, str_arg(schema, "the schema name")?)?;
    let arguments = arguments_from_row(&import_batch(args_schema, args)?);
    let input = if input_schema.is_null() { Arc::new(arrow_schema::Schema::empty()) } else { import_schema(input_schema)? };
    let context = call_context(call)?;
    Ok(FunctionCall { catalog, schema_path, function: str_arg(function, "the function name")?.to_string(), arguments, input, context })
}

/// The declared parameter names of a call, US (0x1f) separated; NULL when not known.
unsafe fn argument_names_arg(names: *const c_char) -> Result<Option<Vec<String>>> {
    if names.is_null() {
        return Ok(None);
    }
    Ok(Some(str_arg(names, "the argument names")?.split('\x1f').map(str::to_string).collect()))
}

fn schema_path(catalog: &AttachedCatalog, schema: &str) -> Result<Vec<String>> {
    catalog.schema_path(schema)
}

/// Binds a table-in-out function to its input relation (`input_schema`).
#[no_mangle]
pub unsafe extern "C" fn vgi_in_out_bind(
    catalog: *const VgiCatalog,
    call: *const VgiCallContext,
    schema: *const c_char,
    function: *const c_char,
    args_schema: *mut FFI_ArrowSchema,
    args: *mut FFI_ArrowArray,
    input_schema: *mut FFI_ArrowSchema,
    out: *mut *mut VgiInOutBinding,
    out_schema: *mut FFI_ArrowSchema,
) -> *mut VgiError {
    guard(|| {
        let call = function_call(catalog, call, schema, function, args_schema, args, input_schema)?;
        let binding =
            InOutBinding::bind(call.catalog, call.schema_path, &call.function, &call.arguments, call.input, &call.context)?;
        ptr::write(out_schema, FFI_ArrowSchema::try_from(binding.output_schema().as_ref())?);
        *out = Box::into_raw(Box::new(VgiInOutBinding(Arc::new(binding))));
        Ok(())
    })
}

#[no_mangle]
pub unsafe extern "C" fn vgi_in_out_binding_free(binding: *mut VgiInOutBinding) {
    guard_void(|| drop(Box::from_raw(binding)));
}

#[no_mangle]
pub unsafe extern "C" fn vgi_in_out_open(
    binding: *const VgiInOutBinding,
    interrupted: Option<unsafe extern "C" fn(*mut c_void) -> i32>,
    context: *mut c_void,
    out: *mut *mut VgiInOut,
) -> *mut VgiError {
    guard(|| {
        let execution = (*binding).0.open(interrupt_handle(interrupted, context))?;
        *out = Box::into_raw(Box::new(VgiInOut(execution)));
        Ok(())
    })
}

/// Sends one input chunk; `out` receives the output batches for it.
#[no_mangle]
pub unsafe extern "C" fn vgi_in_out_process(
    execution: *mut VgiInOut,
    input_schema: *mut FFI_ArrowSchema,
    input: *mut FFI_ArrowArray,
    out: *mut *mut VgiBatches,
) -> *mut VgiError {
    guard(|| {
        let batch = import_batch(input_schema, input)?;
        let outputs = (*execution).0.process(&batch)?;
        *out = Box::into_raw(Box::new(VgiBatches(outputs.into_iter())));
        Ok(())
    })
}

/// Ends the input; `out` receives the FINALIZE phase's batches (possibly none).
#[no_mangle]
pub unsafe extern "C" fn vgi_in_out_finish(execution: *mut VgiInOut, out: *mut *mut VgiBatches) -> *mut VgiError {
    guard(|| {
        let outputs = (*execution).0.finish()?;
        *out = Box::into_raw(Box::new(VgiBatches(outputs.into_iter())));
        Ok(())
    })
}

#[no_mangle]
pub unsafe extern "C" fn vgi_in_out_free(execution: *mut VgiInOut) {
    guard_void(|| drop(Box::from_raw(execution)));
}

/// The next batch of a list as a struct array; `out->release` is NULL when none is left.
#[no_mangle]
pub unsafe extern "C" fn vgi_batches_next(batches: *mut VgiBatches, out: *mut FFI_ArrowArray) -> *mut VgiError {
    ptr::write(out, FFI_ArrowArray::empty());
    guard(|| {
        if let Some(batch) = (*batches).0.next() {
            ptr::write(out, FFI_ArrowArray::new(&StructArray::from(batch).to_data()));
        }
        Ok(())
    })
}

#[no_mangle]
pub unsafe extern "C" fn vgi_batches_free(batches: *mut VgiBatches) {
    guard_void(|| drop(Box::from_raw(batches)));
}

// ---- scalar functions ------------------------------------------------------------------------

pub struct VgiScalarBinding(Arc<ScalarBinding>);
pub struct VgiScalar(ScalarExecution);

/// Binds a scalar function: `args` are its constant arguments, `input_schema` its column
/// arguments (`col_<i>`).
#[no_mangle]
pub unsafe extern "C" fn vgi_scalar_bind(
    catalog: *const VgiCatalog,
    call: *const VgiCallContext,
    schema: *const c_char,
    function: *const c_char,
    args_schema: *mut FFI_ArrowSchema,
    args: *mut FFI_ArrowArray,
    input_schema: *mut FFI_ArrowSchema,
    argument_names: *const c_char,
    out: *mut *mut VgiScalarBinding,
    out_schema: *mut FFI_ArrowSchema,
) -> *mut VgiError {
    guard(|| {
        let call = function_call(catalog, call, schema, function, args_schema, args, input_schema)?;
        let names = argument_names_arg(argument_names)?;
        let binding =
            ScalarBinding::bind(call.catalog, call.schema_path, &call.function, &call.arguments, call.input, names, &call.context)?;
        ptr::write(out_schema, FFI_ArrowSchema::try_from(binding.output_schema().as_ref())?);
        *out = Box::into_raw(Box::new(VgiScalarBinding(Arc::new(binding))));
        Ok(())
    })
}

#[no_mangle]
pub unsafe extern "C" fn vgi_scalar_binding_free(binding: *mut VgiScalarBinding) {
    guard_void(|| drop(Box::from_raw(binding)));
}

/// 1 when each DuckDB chunk must be its own worker call (see `ScalarBinding::per_chunk`).
#[no_mangle]
pub unsafe extern "C" fn vgi_scalar_binding_per_chunk(binding: *const VgiScalarBinding) -> i32 {
    (*binding).0.per_chunk() as i32
}

#[no_mangle]
pub unsafe extern "C" fn vgi_scalar_open(
    binding: *const VgiScalarBinding,
    interrupted: Option<unsafe extern "C" fn(*mut c_void) -> i32>,
    context: *mut c_void,
    out: *mut *mut VgiScalar,
) -> *mut VgiError {
    guard(|| {
        let execution = (*binding).0.open(interrupt_handle(interrupted, context))?;
        *out = Box::into_raw(Box::new(VgiScalar(execution)));
        Ok(())
    })
}

/// Evaluates one chunk of `rows` rows (the column arguments; zero columns for a function
/// without them). `out` receives a struct array with the one result column.
#[no_mangle]
pub unsafe extern "C" fn vgi_scalar_call(
    execution: *mut VgiScalar,
    input_schema: *mut FFI_ArrowSchema,
    input: *mut FFI_ArrowArray,
    rows: u64,
    out: *mut FFI_ArrowArray,
) -> *mut VgiError {
    ptr::write(out, FFI_ArrowArray::empty());
    guard(|| {
        let result = (*execution).0.call(&import_rows(input_schema, input, rows)?)?;
        ptr::write(out, FFI_ArrowArray::new(&StructArray::from(result).to_data()));
        Ok(())
    })
}

/// Batched evaluation: queues one chunk of `rows` rows; once `batch_rows` rows wait (0: at
/// once), one worker turn answers them all. Take the answers with `vgi_scalar_pop`.
#[no_mangle]
pub unsafe extern "C" fn vgi_scalar_push(
    execution: *mut VgiScalar,
    input_schema: *mut FFI_ArrowSchema,
    input: *mut FFI_ArrowArray,
    rows: u64,
    batch_rows: u64,
) -> *mut VgiError {
    guard(|| (*execution).0.push(import_rows(input_schema, input, rows)?, batch_rows as usize))
}

/// Sends the queued chunks now (the input has ended).
#[no_mangle]
pub unsafe extern "C" fn vgi_scalar_flush(execution: *mut VgiScalar) -> *mut VgiError {
    guard(|| (*execution).0.flush())
}

/// The answer (struct array of the result column) for the oldest pushed chunk whose turn has
/// run; `out->release == NULL` when none is ready. `remaining`: answers ready after this one.
#[no_mangle]
pub unsafe extern "C" fn vgi_scalar_pop(execution: *mut VgiScalar, out: *mut FFI_ArrowArray, remaining: *mut u64) -> *mut VgiError {
    ptr::write(out, FFI_ArrowArray::empty());
    *remaining = 0;
    guard(|| {
        let (answer, left) = (*execution).0.pop();
        if let Some(answer) = answer {
            ptr::write(out, FFI_ArrowArray::new(&StructArray::from(answer).to_data()));
        }
        *remaining = left as u64;
        Ok(())
    })
}

#[no_mangle]
pub unsafe extern "C" fn vgi_scalar_free(execution: *mut VgiScalar) {
    guard_void(|| drop(Box::from_raw(execution)));
}

// ---- aggregate functions ---------------------------------------------------------------------

pub struct VgiAggregate(AggregateBinding);

/// Binds an aggregate: `args` its constant arguments, `input_schema` its value columns.
#[no_mangle]
pub unsafe extern "C" fn vgi_aggregate_bind(
    catalog: *const VgiCatalog,
    call: *const VgiCallContext,
    schema: *const c_char,
    function: *const c_char,
    args_schema: *mut FFI_ArrowSchema,
    args: *mut FFI_ArrowArray,
    input_schema: *mut FFI_ArrowSchema,
    argument_names: *const c_char,
    batch_rows: u64,
    out: *mut *mut VgiAggregate,
    out_schema: *mut FFI_ArrowSchema,
) -> *mut VgiError {
    guard(|| {
        let call = function_call(catalog, call, schema, function, args_schema, args, input_schema)?;
        let names = argument_names_arg(argument_names)?;
        let binding =
            AggregateBinding::bind(call.catalog, call.schema_path, &call.function, &call.arguments, call.input, names, &call.context, batch_rows as usize)?;
        ptr::write(out_schema, FFI_ArrowSchema::try_from(binding.output_schema().as_ref())?);
        *out = Box::into_raw(Box::new(VgiAggregate(binding)));
        Ok(())
    })
}

/// Reserves `count` group ids (DuckDB aggregate states) and returns the first.
#[no_mangle]
pub extern "C" fn vgi_aggregate_group_ids(count: u64) -> i64 {
    crate::functions::reserve_group_ids(count)
}

#[no_mangle]
pub unsafe extern "C" fn vgi_aggregate_update(
    aggregate: *const VgiAggregate,
    group_ids: *const i64,
    n: usize,
    input_schema: *mut FFI_ArrowSchema,
    input: *mut FFI_ArrowArray,
) -> *mut VgiError {
    guard(|| {
        let values = import_batch(input_schema, input)?;
        (*aggregate).0.update(std::slice::from_raw_parts(group_ids, n), &values)
    })
}

#[no_mangle]
pub unsafe extern "C" fn vgi_aggregate_combine(aggregate: *const VgiAggregate, sources: *const i64, targets: *const i64, n: usize) -> *mut VgiError {
    guard(|| (*aggregate).0.combine(std::slice::from_raw_parts(sources, n), std::slice::from_raw_parts(targets, n)))
}

/// The final values of `group_ids` as a struct array holding the result column.
#[no_mangle]
pub unsafe extern "C" fn vgi_aggregate_finalize(aggregate: *const VgiAggregate, group_ids: *const i64, n: usize, out: *mut FFI_ArrowArray) -> *mut VgiError {
    ptr::write(out, FFI_ArrowArray::empty());
    guard(|| {
        let result = (*aggregate).0.finalize(std::slice::from_raw_parts(group_ids, n))?;
        ptr::write(out, FFI_ArrowArray::new(&StructArray::from(result).to_data()));
        Ok(())
    })
}

/// Ends the aggregate's execution (the worker's destructor) and releases its connection.
#[no_mangle]
pub unsafe extern "C" fn vgi_aggregate_free(aggregate: *mut VgiAggregate) {
    guard_void(|| drop(Box::from_raw(aggregate)));
}

// ---- writes: INSERT / UPDATE / DELETE ------------------------------------------------------------

pub struct VgiWriteBinding(Arc<WriteBinding>);
pub struct VgiWrite(WriteExecution);

/// Binds a write into `schema`.`table`; `out_rows_schema` is the layout of RETURNING rows.
#[no_mangle]
pub unsafe extern "C" fn vgi_write_bind(
    catalog: *const VgiCatalog,
    call: *const VgiCallContext,
    schema: *const c_char,
    table: *const c_char,
    kind: i32,
    input_schema: *mut FFI_ArrowSchema,
    returning: i32,
    on_conflict_nothing: *const c_char,
    out: *mut *mut VgiWriteBinding,
    out_rows_schema: *mut FFI_ArrowSchema,
) -> *mut VgiError {
    guard(|| {
        let catalog = (*catalog).catalog.clone();
        let schema_path = schema_path(&catalog, str_arg(schema, "the schema name")?)?;
        let input = import_schema(input_schema)?;
        let on_conflict = argument_names_arg(on_conflict_nothing)?
            .map(|columns| columns.into_iter().filter(|c| !c.is_empty()).collect());
        let binding = WriteBinding::bind(
            catalog,
            schema_path,
            str_arg(table, "the table name")?,
            WriteKind::from_code(kind)?,
            input,
            returning != 0,
            on_conflict,
            &call_context(call)?,
        )?;
        ptr::write(out_rows_schema, FFI_ArrowSchema::try_from(binding.rows_schema().as_ref())?);
        *out = Box::into_raw(Box::new(VgiWriteBinding(Arc::new(binding))));
        Ok(())
    })
}

#[no_mangle]
pub unsafe extern "C" fn vgi_write_binding_free(binding: *mut VgiWriteBinding) {
    guard_void(|| drop(Box::from_raw(binding)));
}

#[no_mangle]
pub unsafe extern "C" fn vgi_write_open(
    binding: *const VgiWriteBinding,
    interrupted: Option<unsafe extern "C" fn(*mut c_void) -> i32>,
    context: *mut c_void,
    out: *mut *mut VgiWrite,
) -> *mut VgiError {
    guard(|| {
        let execution = (*binding).0.open(interrupt_handle(interrupted, context))?;
        *out = Box::into_raw(Box::new(VgiWrite(execution)));
        Ok(())
    })
}

/// Sends one chunk of rows; `returned` receives its RETURNING rows (possibly none).
#[no_mangle]
pub unsafe extern "C" fn vgi_write_send(
    write: *mut VgiWrite,
    input_schema: *mut FFI_ArrowSchema,
    input: *mut FFI_ArrowArray,
    returned: *mut *mut VgiBatches,
) -> *mut VgiError {
    *returned = ptr::null_mut();
    guard(|| {
        let batch = import_batch(input_schema, input)?;
        let rows = (*write).0.send(&batch)?;
        *returned = Box::into_raw(Box::new(VgiBatches(rows.into_iter())));
        Ok(())
    })
}

/// Ends the statement: the last RETURNING rows and the worker's total row count.
#[no_mangle]
pub unsafe extern "C" fn vgi_write_finish(write: *mut VgiWrite, returned: *mut *mut VgiBatches, count: *mut i64) -> *mut VgiError {
    *returned = ptr::null_mut();
    guard(|| {
        let (rows, total) = (*write).0.finish()?;
        *count = total;
        *returned = Box::into_raw(Box::new(VgiBatches(rows.into_iter())));
        Ok(())
    })
}

#[no_mangle]
pub unsafe extern "C" fn vgi_write_free(write: *mut VgiWrite) {
    guard_void(|| drop(Box::from_raw(write)));
}

// ---- table buffering (sink + source) functions -----------------------------------------------

pub struct VgiBufferingBinding(Arc<BufferingBinding>);
pub struct VgiBuffering(BufferingExecution);
pub struct VgiBufferingSource(BufferingSource);

/// Binds a buffering function to its input relation; `flags` receives bit 0 = the input
/// must arrive in order (one sink thread), bit 1 = the output must be read in order.
#[no_mangle]
pub unsafe extern "C" fn vgi_buffering_bind(
    catalog: *const VgiCatalog,
    call: *const VgiCallContext,
    schema: *const c_char,
    function: *const c_char,
    args_schema: *mut FFI_ArrowSchema,
    args: *mut FFI_ArrowArray,
    input_schema: *mut FFI_ArrowSchema,
    out: *mut *mut VgiBufferingBinding,
    out_schema: *mut FFI_ArrowSchema,
    flags: *mut i32,
) -> *mut VgiError {
    guard(|| {
        let call = function_call(catalog, call, schema, function, args_schema, args, input_schema)?;
        let binding = BufferingBinding::bind(call.catalog, call.schema_path, &call.function, &call.arguments, call.input, &call.context)?;
        ptr::write(out_schema, FFI_ArrowSchema::try_from(binding.output_schema().as_ref())?);
        *flags = i32::from(binding.sink_order_dependent()) | (i32::from(binding.source_order_dependent()) << 1);
        *out = Box::into_raw(Box::new(VgiBufferingBinding(Arc::new(binding))));
        Ok(())
    })
}

#[no_mangle]
pub unsafe extern "C" fn vgi_buffering_binding_free(binding: *mut VgiBufferingBinding) {
    guard_void(|| drop(Box::from_raw(binding)));
}

/// Starts an execution (the sink init).
#[no_mangle]
pub unsafe extern "C" fn vgi_buffering_start(
    binding: *const VgiBufferingBinding,
    interrupted: Option<unsafe extern "C" fn(*mut c_void) -> i32>,
    context: *mut c_void,
    out: *mut *mut VgiBuffering,
) -> *mut VgiError {
    guard(|| {
        let execution = (*binding).0.start(interrupt_handle(interrupted, context))?;
        *out = Box::into_raw(Box::new(VgiBuffering(execution)));
        Ok(())
    })
}

/// Sinks one input chunk (thread-safe); `batch_index` < 0 when DuckDB has none.
#[no_mangle]
pub unsafe extern "C" fn vgi_buffering_process(
    execution: *const VgiBuffering,
    input_schema: *mut FFI_ArrowSchema,
    input: *mut FFI_ArrowArray,
    batch_index: i64,
) -> *mut VgiError {
    guard(|| {
        let batch = import_batch(input_schema, input)?;
        (*execution).0.process(&batch, (batch_index >= 0).then_some(batch_index))
    })
}

/// End of input: combines the sink states (once).
#[no_mangle]
pub unsafe extern "C" fn vgi_buffering_combine(execution: *const VgiBuffering) -> *mut VgiError {
    guard(|| (*execution).0.combine())
}

/// Opens the next finalize stream; `out` is NULL when all have been taken.
#[no_mangle]
pub unsafe extern "C" fn vgi_buffering_next_source(
    execution: *const VgiBuffering,
    interrupted: Option<unsafe extern "C" fn(*mut c_void) -> i32>,
    context: *mut c_void,
    out: *mut *mut VgiBufferingSource,
) -> *mut VgiError {
    *out = ptr::null_mut();
    guard(|| {
        if let Some(source) = (*execution).0.next_source(interrupt_handle(interrupted, context))? {
            *out = Box::into_raw(Box::new(VgiBufferingSource(source)));
        }
        Ok(())
    })
}

/// The next output batch of a finalize stream as a struct array; `out->release` is NULL at its end.
#[no_mangle]
pub unsafe extern "C" fn vgi_buffering_source_next(source: *mut VgiBufferingSource, out: *mut FFI_ArrowArray) -> *mut VgiError {
    ptr::write(out, FFI_ArrowArray::empty());
    guard(|| {
        if let Some(batch) = (*source).0.next()? {
            ptr::write(out, FFI_ArrowArray::new(&StructArray::from(batch).to_data()));
        }
        Ok(())
    })
}

#[no_mangle]
pub unsafe extern "C" fn vgi_buffering_source_free(source: *mut VgiBufferingSource) {
    guard_void(|| drop(Box::from_raw(source)));
}

/// Ends the execution: the worker's destructor runs (also after errors and cancellation).
#[no_mangle]
pub unsafe extern "C" fn vgi_buffering_free(execution: *mut VgiBuffering) {
    guard_void(|| drop(Box::from_raw(execution)));
}

// ---- window aggregates -------------------------------------------------------------------------

/// Ships one window partition: `n` chunks (struct arrays of `schema`, which this consumes),
/// `row_count` rows in all; `filter` (LSB-first, empty = no FILTER), `stats` (4 int64) and
/// `all_valid` (a byte per input column) as DuckDB computed them.
#[no_mangle]
pub unsafe extern "C" fn vgi_aggregate_window_init(
    aggregate: *const VgiAggregate,
    partition_id: i64,
    row_count: i64,
    schema: *mut FFI_ArrowSchema,
    chunks: *const *mut FFI_ArrowArray,
    n: usize,
    filter: *const u8,
    filter_len: usize,
    stats: *const i64,
    all_valid: *const u8,
    all_valid_len: usize,
) -> *mut VgiError {
    guard(|| {
        let schema = ptr::replace(schema, FFI_ArrowSchema::empty());
        let input_schema = Arc::new(arrow_schema::Schema::try_from(&schema)?);
        let mut parts = Vec::with_capacity(n);
        for i in 0..n {
            let array = ptr::replace(*chunks.add(i), FFI_ArrowArray::empty());
            let data = arrow_array::ffi::from_ffi(array, &schema)?;
            parts.push(RecordBatch::from(StructArray::from(data)).with_schema(input_schema.clone())?);
        }
        if parts.is_empty() && row_count > 0 && input_schema.fields().is_empty() {
            let options = arrow_array::RecordBatchOptions::new().with_row_count(Some(row_count as usize));
            parts.push(RecordBatch::try_new_with_options(input_schema.clone(), vec![], &options)?);
        }
        let slice = |p: *const u8, n: usize| if n == 0 { Vec::new() } else { std::slice::from_raw_parts(p, n).to_vec() };
        let stats: Vec<u8> = std::slice::from_raw_parts(stats, 4).iter().flat_map(|v| v.to_le_bytes()).collect();
        (*aggregate).0.window_init(partition_id, &parts, input_schema, slice(filter, filter_len), stats, slice(all_valid, all_valid_len))
    })
}

/// Evaluates `count` rows from `row_idx`: row i has `frames_per_row[i]` frames, listed in
/// order in `starts`/`ends` (`n_frames` in all). `out` receives a struct array of the result.
#[no_mangle]
pub unsafe extern "C" fn vgi_aggregate_window_batch(
    aggregate: *const VgiAggregate,
    partition_id: i64,
    row_idx: i64,
    count: usize,
    frames_per_row: *const i64,
    starts: *const i64,
    ends: *const i64,
    n_frames: usize,
    out: *mut FFI_ArrowArray,
) -> *mut VgiError {
    ptr::write(out, FFI_ArrowArray::empty());
    guard(|| {
        let vec = |p: *const i64, n: usize| if n == 0 { Vec::new() } else { std::slice::from_raw_parts(p, n).to_vec() };
        let result = (*aggregate).0.window_batch(partition_id, row_idx, vec(frames_per_row, count), vec(starts, n_frames), vec(ends, n_frames))?;
        ptr::write(out, FFI_ArrowArray::new(&StructArray::from(result).to_data()));
        Ok(())
    })
}

// ---- COPY ... FROM / COPY ... TO through worker formats ----------------------------------------

pub struct VgiCopyFormat {
    format: crate::copy::CopyFormat,
    name: CString,
    comment: Option<CString>,
}
pub struct VgiCopyFormats(Vec<Option<Box<VgiCopyFormat>>>);
pub struct VgiCopyToBinding(crate::copy::CopyToBinding);
pub struct VgiCopyTo(crate::copy::CopyToExecution);
/// One thread's rows waiting to go to the worker in one call.
pub struct VgiCopyToRows(Vec<RecordBatch>);

/// The formats the catalog attached as `alias` declares.
#[no_mangle]
pub unsafe extern "C" fn vgi_catalog_copy_formats(catalog: *const VgiCatalog, alias: *const c_char, out: *mut *mut VgiCopyFormats) -> *mut VgiError {
    *out = ptr::null_mut();
    guard(|| {
        let alias = str_arg(alias, "the catalog alias")?;
        let formats = crate::copy::copy_formats(&(*catalog).catalog, alias)?
            .into_iter()
            .map(|format| {
                let name = c_string(&format.name);
                let comment = format.info.comment.as_deref().map(c_string);
                Some(Box::new(VgiCopyFormat { format, name, comment }))
            })
            .collect();
        *out = Box::into_raw(Box::new(VgiCopyFormats(formats)));
        Ok(())
    })
}

#[no_mangle]
pub unsafe extern "C" fn vgi_copy_formats_count(formats: *const VgiCopyFormats) -> usize {
    (*formats).0.len()
}

/// Takes format `i` out of the list (NULL when already taken).
#[no_mangle]
pub unsafe extern "C" fn vgi_copy_formats_take(formats: *mut VgiCopyFormats, i: usize) -> *mut VgiCopyFormat {
    let formats = &mut *formats;
    formats.0.get_mut(i).and_then(Option::take).map_or(ptr::null_mut(), Box::into_raw)
}

#[no_mangle]
pub unsafe extern "C" fn vgi_copy_formats_free(formats: *mut VgiCopyFormats) {
    guard_void(|| drop(Box::from_raw(formats)));
}

#[no_mangle]
pub unsafe extern "C" fn vgi_copy_format_name(format: *const VgiCopyFormat) -> *const c_char {
    (*format).name.as_ptr()
}

#[no_mangle]
pub unsafe extern "C" fn vgi_copy_format_comment(format: *const VgiCopyFormat) -> *const c_char {
    (*format).comment.as_ref().map_or(ptr::null(), |c| c.as_ptr())
}

/// Bit 0: COPY FROM; bit 1: COPY TO; bit 2: the worker needs the rows in order.
#[no_mangle]
pub unsafe extern "C" fn vgi_copy_format_flags(format: *const VgiCopyFormat) -> i32 {
    let f = &(*format).format;
    i32::from(f.reads()) | (i32::from(f.writes()) << 1) | (i32::from(f.ordered()) << 2)
}

#[no_mangle]
pub unsafe extern "C" fn vgi_copy_format_free(format: *mut VgiCopyFormat) {
    guard_void(|| drop(Box::from_raw(format)));
}

/// COPY ... FROM: the format's reader bound as a scan of the target's columns (`expected`).
#[no_mangle]
pub unsafe extern "C" fn vgi_copy_from_bind(
    catalog: *const VgiCatalog,
    call: *const VgiCallContext,
    format: *const VgiCopyFormat,
    file_path: *const c_char,
    options_schema: *mut FFI_ArrowSchema,
    options: *mut FFI_ArrowArray,
    expected: *mut FFI_ArrowSchema,
    out: *mut *mut VgiBinding,
    out_schema: *mut FFI_ArrowSchema,
) -> *mut VgiError {
    guard(|| {
        let options = import_batch(options_schema, options)?;
        let expected = import_schema(expected)?;
        let context = call_context(call)?;
        let binding = crate::copy::bind_copy_from(
            (*catalog).catalog.clone(),
            &(*format).format,
            str_arg(file_path, "the file path")?,
            &options,
            &expected,
            &context,
        )?;
        export_binding(Box::new(binding), out, out_schema)
    })
}

/// COPY ... TO: the format's writer bound as the sink of rows of `input_schema`.
#[no_mangle]
pub unsafe extern "C" fn vgi_copy_to_bind(
    catalog: *const VgiCatalog,
    call: *const VgiCallContext,
    format: *const VgiCopyFormat,
    file_path: *const c_char,
    options_schema: *mut FFI_ArrowSchema,
    options: *mut FFI_ArrowArray,
    input_schema: *mut FFI_ArrowSchema,
    out: *mut *mut VgiCopyToBinding,
) -> *mut VgiError {
    guard(|| {
        let options = import_batch(options_schema, options)?;
        let input = import_schema(input_schema)?;
        let context = call_context(call)?;
        let binding = crate::copy::CopyToBinding::bind(
            (*catalog).catalog.clone(),
            &(*format).format,
            str_arg(file_path, "the file path")?,
            &options,
            input,
            &context,
        )?;
        *out = Box::into_raw(Box::new(VgiCopyToBinding(binding)));
        Ok(())
    })
}

#[no_mangle]
pub unsafe extern "C" fn vgi_copy_to_binding_free(binding: *mut VgiCopyToBinding) {
    guard_void(|| drop(Box::from_raw(binding)));
}

/// Starts writing `file_path` (DuckDB's path for this run).
#[no_mangle]
pub unsafe extern "C" fn vgi_copy_to_start(
    binding: *const VgiCopyToBinding,
    call: *const VgiCallContext,
    file_path: *const c_char,
    interrupted: Option<unsafe extern "C" fn(*mut c_void) -> i32>,
    context: *mut c_void,
    out: *mut *mut VgiCopyTo,
) -> *mut VgiError {
    *out = ptr::null_mut();
    guard(|| {
        let call = call_context(call)?;
        let execution = (*binding).0.start(str_arg(file_path, "the file path")?, &call, interrupt_handle(interrupted, context))?;
        *out = Box::into_raw(Box::new(VgiCopyTo(execution)));
        Ok(())
    })
}

#[no_mangle]
pub extern "C" fn vgi_copy_to_rows_new() -> *mut VgiCopyToRows {
    Box::into_raw(Box::new(VgiCopyToRows(Vec::new())))
}

/// Keeps one chunk (a struct array of `schema`, both consumed) for the next send.
#[no_mangle]
pub unsafe extern "C" fn vgi_copy_to_rows_append(rows: *mut VgiCopyToRows, schema: *mut FFI_ArrowSchema, chunk: *mut FFI_ArrowArray) -> *mut VgiError {
    guard(|| {
        (*rows).0.push(import_batch(schema, chunk)?);
        Ok(())
    })
}

/// Sends the rows kept so far to the worker as one batch (thread-safe) and forgets them.
#[no_mangle]
pub unsafe extern "C" fn vgi_copy_to_send(execution: *const VgiCopyTo, rows: *mut VgiCopyToRows) -> *mut VgiError {
    guard(|| {
        let batches = std::mem::take(&mut (*rows).0);
        (*execution).0.sink(&batches)
    })
}

#[no_mangle]
pub unsafe extern "C" fn vgi_copy_to_rows_free(rows: *mut VgiCopyToRows) {
    guard_void(|| drop(Box::from_raw(rows)));
}

/// End of input: the worker writes and closes the destination.
#[no_mangle]
pub unsafe extern "C" fn vgi_copy_to_finish(execution: *const VgiCopyTo) -> *mut VgiError {
    guard(|| (*execution).0.finish())
}

/// Ends the run: the worker's destructor runs (also after errors and cancellation).
#[no_mangle]
pub unsafe extern "C" fn vgi_copy_to_free(execution: *mut VgiCopyTo) {
    guard_void(|| drop(Box::from_raw(execution)));
}
