//! `vgi-static-host EXTENSION SQL...`: opens an in-memory DuckDB 2.0.0 that is statically
//! linked into this executable (like the official CLI, it exports no DuckDB symbols), loads
//! the extension and runs each SQL statement, printing the rows. Exits non-zero on any error.
use std::ffi::{CStr, CString};
use std::process::ExitCode;
use std::ptr;

use libduckdb_sys::*;

unsafe fn run(con: duckdb_connection, sql: &str) -> Result<(), String> {
    let mut result: duckdb_result = std::mem::zeroed();
    let c_sql = CString::new(sql).map_err(|e| e.to_string())?;
    let state = duckdb_query(con, c_sql.as_ptr(), &mut result);
    let outcome = if state != duckdb_state_DuckDBSuccess {
        Err(CStr::from_ptr(duckdb_result_error(&mut result)).to_string_lossy().into_owned())
    } else {
        println!("{sql}");
        for row in 0..duckdb_row_count(&mut result) {
            let mut cells = Vec::new();
            for col in 0..duckdb_column_count(&mut result) {
                let value = duckdb_value_varchar(&mut result, col, row);
                if value.is_null() {
                    cells.push("NULL".to_string());
                } else {
                    cells.push(CStr::from_ptr(value).to_string_lossy().into_owned());
                    duckdb_free(value.cast());
                }
            }
            println!("  {}", cells.join(" | "));
        }
        Ok(())
    };
    duckdb_destroy_result(&mut result);
    outcome
}

fn main() -> ExitCode {
    let mut args = std::env::args().skip(1);
    let Some(extension) = args.next() else {
        eprintln!("usage: vgi-static-host EXTENSION [SQL...]");
        return ExitCode::from(2);
    };
    unsafe {
        let mut config: duckdb_config = ptr::null_mut();
        duckdb_create_config(&mut config);
        duckdb_set_config(config, c"allow_unsigned_extensions".as_ptr(), c"true".as_ptr());
        let mut db: duckdb_database = ptr::null_mut();
        let mut error: *mut std::os::raw::c_char = ptr::null_mut();
        if duckdb_open_ext(c":memory:".as_ptr(), &mut db, config, &mut error) != duckdb_state_DuckDBSuccess {
            eprintln!("cannot open DuckDB: {}", CStr::from_ptr(error).to_string_lossy());
            return ExitCode::FAILURE;
        }
        let mut con: duckdb_connection = ptr::null_mut();
        duckdb_connect(db, &mut con);
        println!("host DuckDB {}", CStr::from_ptr(duckdb_library_version()).to_string_lossy());
        let statements = std::iter::once(format!("LOAD '{extension}'")).chain(args);
        for sql in statements {
            if let Err(e) = run(con, &sql) {
                eprintln!("{sql}\n  ERROR: {e}");
                return ExitCode::FAILURE;
            }
        }
        duckdb_disconnect(&mut con);
        duckdb_close(&mut db);
    }
    ExitCode::SUCCESS
}
