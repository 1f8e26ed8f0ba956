//! The only `extern "C"` boundary between the C++ adapter and Rust (`cpp/vgi_bridge.h`).
//!
//! Every function here catches panics (a panic unwinding into C++ would abort DuckDB) and
//! reports failures as a `VgiError` the adapter turns into a DuckDB exception.
use std::ffi::{c_char, CStr, CString};
use std::panic::{catch_unwind, AssertUnwindSafe};
use std::ptr;

use arrow_array::{Array, StructArray};
use arrow_data::ffi::FFI_ArrowArray;
use arrow_schema::ffi::FFI_ArrowSchema;
use arrow_schema::SchemaRef;

use crate::error::{Error, ErrorKind, Result};
use crate::scan::{check_batch, Binding, Scan};

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

// ---- bindings and scans ----------------------------------------------------------------------

pub struct VgiBinding(Box<dyn Binding>);

pub struct VgiScan {
    scan: Box<dyn Scan>,
    schema: SchemaRef,
}

/// Publishes a binding and its schema to C++.
unsafe fn export_binding(binding: Box<dyn Binding>, out: *mut *mut VgiBinding, out_schema: *mut FFI_ArrowSchema) -> Result<()> {
    let schema = FFI_ArrowSchema::try_from(binding.schema().as_ref())?;
    ptr::write(out_schema, schema);
    *out = Box::into_raw(Box::new(VgiBinding(binding)));
    Ok(())
}

#[no_mangle]
pub unsafe extern "C" fn vgi_binding_open(binding: *const VgiBinding, out: *mut *mut VgiScan) -> *mut VgiError {
    guard(|| {
        let binding = &(*binding).0;
        let scan = binding.open()?;
        *out = Box::into_raw(Box::new(VgiScan { scan, schema: binding.schema() }));
        Ok(())
    })
}

#[no_mangle]
pub unsafe extern "C" fn vgi_binding_free(binding: *mut VgiBinding) {
    guard_void(|| drop(Box::from_raw(binding)));
}

#[no_mangle]
pub unsafe extern "C" fn vgi_scan_next(scan: *mut VgiScan, out: *mut FFI_ArrowArray) -> *mut VgiError {
    // C++ sees release == NULL (the end) unless a batch is written below.
    ptr::write(out, FFI_ArrowArray::empty());
    guard(|| {
        let scan = &mut *scan;
        if let Some(batch) = scan.scan.next_batch()? {
            check_batch(&scan.schema, &batch)?;
            let array = StructArray::from(batch);
            ptr::write(out, FFI_ArrowArray::new(&array.to_data()));
        }
        Ok(())
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
