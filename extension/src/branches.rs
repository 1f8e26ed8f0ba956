//! Multi-branch catalog tables: a worker may serve one table as the union of several scan
//! branches (`catalog_table_scan_branches_get`): its own table functions (each with an optional
//! `branch_filter`), DuckDB functions such as `read_parquet`, file formats read by DuckDB's
//! readers, or tables of another attached catalog. Such a table reads as a view over
//! `UNION ALL BY NAME` of its branches, reconciled to the table's columns by name; DuckDB then
//! plans, pushes filters into and parallelises every branch as usual.
use arrow_array::Array;
use arrow_schema::Schema;
use worker_client::arguments::Arguments;
use worker_client::methods::TableAtScope;
use worker_client::records::ScanBranch;
use worker_client::wire::Record;

use crate::catalog::{sql_literal, AttachedCatalog};
use crate::error::{Error, ErrorKind, Result};
use crate::required_filters::RequiredFilters;

/// How a table reads when it is not a single function of the worker: the view's SQL and the
/// DuckDB extensions its branches need.
#[derive(Clone, Debug, PartialEq)]
pub struct BranchView {
    pub sql: String,
    pub required_extensions: Vec<String>,
}

/// The view a multi-branch table reads as, `None` for a table served by one function of the
/// worker (the ordinary scan). `duckdb_catalog` is the attach's name in DuckDB.
pub fn branch_view(
    catalog: &AttachedCatalog,
    duckdb_catalog: &str,
    schema_path: &[String],
    table: &str,
    columns: &Schema,
    required_filters: &[Vec<String>],
) -> Result<Option<BranchView>> {
    let scope = TableAtScope {
        attach_opaque_data: catalog.attach_data(),
        schema_path: schema_path.to_vec(),
        name: table.into(),
        at_unit: None,
        at_value: None,
        transaction_opaque_data: None,
    };
    // A worker that cannot list branches (no such method, or only the single-function
    // `catalog_table_scan_function_get`) serves the table the ordinary way, which reports
    // its own errors when the table is read.
    let Ok(result) = catalog.with_client(|c| c.table_scan_branches(&scope)) else { return Ok(None) };
    let mut branches = result.branches.iter().map(|b| ScanBranch::from_blob(&b.0)).collect::<worker_client::Result<Vec<_>>>()?;
    // A function branch without a schema path is the worker's own function (in its default
    // schema) when the worker has one by that name; otherwise it is DuckDB's (read_parquet...).
    let contents = catalog.contents()?;
    for branch in branches.iter_mut().filter(|b| b.schema_path.is_none() && !b.function_name.is_empty()) {
        let worker_schema = contents.schemas.iter().find(|s| {
            s.functions.iter().any(|f| f.name == branch.function_name && f.function_type == worker_client::records::FunctionType::Table)
        });
        let default = contents.schema(catalog.default_schema());
        let owner = default.filter(|s| s.functions.iter().any(|f| f.name == branch.function_name)).or(worker_schema);
        if let Some(schema) = owner {
            branch.schema_path = Some(schema.path.clone());
        }
    }
    let name = format!("{}.{table}", schema_path.join("."));
    if branches.is_empty() {
        return Err(Error::new(ErrorKind::Io, format!("the worker returned no scan branches for table {name}")));
    }
    if branches.len() == 1 && is_plain_function(&branches[0]) {
        return Ok(None);
    }
    // One unfiltered function branch the worker does not list (some serve tables from
    // unlisted functions) is still its own, unless it names a DuckDB file reader.
    if branches.len() == 1
        && branches[0].schema_path.is_none()
        && branches[0].format_name.is_none()
        && branches[0].source_table.is_none()
        && branches[0].branch_filter.as_deref().is_none_or(str::is_empty)
        && !DUCKDB_READERS.contains(&branches[0].function_name.to_ascii_lowercase().as_str())
    {
        return Ok(None);
    }
    if branches.iter().filter(|b| b.writable).count() > 1 {
        return Err(Error::binder(format!("table {name} has more than one writable scan branch; at most one may be")));
    }
    let arms = branches.iter().map(|b| branch_sql(b, duckdb_catalog)).collect::<Result<Vec<_>>>()?;
    let projection = columns.fields().iter().map(|f| quote(f.name())).collect::<Vec<_>>().join(", ");
    let mut sql = format!("SELECT {projection} FROM ({})", arms.join(" UNION ALL BY NAME "));
    let required = RequiredFilters::new(name.clone(), required_filters.to_vec());
    if !required.is_empty() {
        sql.push_str(&required_filters_marker(&required));
    }
    Ok(Some(BranchView { sql, required_extensions: result.required_extensions }))
}

/// The WHERE clause that marks a view as a table with required filters: the optimizer pass
/// (`cpp/required_filters.cpp`) removes it before DuckDB optimizes and checks every scan
/// beneath it; it only runs (and refuses) when that pass did not.
fn required_filters_marker(required: &RequiredFilters) -> String {
    let text = |s: &str| format!("'{}'", s.replace('\'', "''"));
    format!(" WHERE system.main.{REQUIRED_FILTERS_MARKER}({}, {})", text(&required.table), text(&required.encode_groups()))
}

/// The marker's function name (registered by the adapter).
pub const REQUIRED_FILTERS_MARKER: &str = "vgi_required_filters";

/// A companion catalog the worker asks DuckDB to attach beside it (its branches may read
/// tables of it): what to ATTACH, checked.
pub struct Companion {
    pub alias: String,
    pub target: String,
    /// DuckDB's storage type (empty: a DuckDB database file).
    pub db_type: String,
    pub options: Vec<(String, String)>,
    pub required: bool,
}

/// The companions of an attach, in order. A target with a network scheme DuckDB would not read
/// a database from (ftp://, ...) is refused; the storage type comes from the target's
/// `type:` prefix when the worker names none.
pub fn companions(catalog: &AttachedCatalog) -> Result<Vec<Companion>> {
    let mut out = Vec::new();
    for info in catalog.attach.attach_catalog_infos()? {
        let scheme = info.target.split_once("://").map(|(s, _)| s.to_ascii_lowercase());
        if let Some(scheme) = &scheme {
            if !["s3", "gs", "gcs", "r2", "az", "azure", "abfss", "http", "https", "hf"].contains(&scheme.as_str()) {
                return Err(Error::new(
                    ErrorKind::InvalidInput,
                    format!("the worker asks to attach companion catalog {} from '{}': the {scheme}:// scheme is not allowed", info.alias, info.target),
                ));
            }
        }
        let db_type = if !info.db_type.is_empty() && info.db_type != "duckdb" {
            info.db_type.clone()
        } else if info.db_type.is_empty() && scheme.is_none() {
            // `ducklake:...`, `sqlite:...`: DuckDB's own prefix convention.
            info.target.split_once(':').filter(|(p, _)| p.len() > 1 && p.chars().all(|c| c.is_ascii_alphanumeric())).map(|(p, _)| p.to_string()).unwrap_or_default()
        } else {
            String::new()
        };
        out.push(Companion {
            alias: info.alias,
            target: info.target,
            db_type,
            options: info.options.into_iter().collect(),
            required: info.required,
        });
    }
    Ok(out)
}

/// DuckDB table functions a branch may name without a schema path (read by DuckDB itself).
const DUCKDB_READERS: [&str; 11] = [
    "read_parquet",
    "parquet_scan",
    "read_csv",
    "read_csv_auto",
    "read_json",
    "read_json_auto",
    "read_ndjson",
    "read_text",
    "read_blob",
    "iceberg_scan",
    "delta_scan",
];

/// A branch the ordinary scan reads: one function of this worker, unfiltered.
fn is_plain_function(branch: &ScanBranch) -> bool {
    branch.schema_path.is_some()
        && branch.format_name.is_none()
        && branch.source_table.is_none()
        && branch.branch_filter.as_deref().is_none_or(str::is_empty)
}

/// One branch as a `SELECT *`.
fn branch_sql(branch: &ScanBranch, duckdb_catalog: &str) -> Result<String> {
    let source = if let Some(table) = &branch.source_table {
        // A table of another attached catalog (a companion the worker declared).
        let mut path = Vec::new();
        path.extend(branch.source_catalog.iter().cloned());
        path.extend(branch.source_schema_path.iter().flatten().cloned());
        path.push(table.clone());
        path.iter().map(|p| quote(p)).collect::<Vec<_>>().join(".")
    } else if let Some(format) = &branch.format_name {
        let reader = match format.to_ascii_lowercase().as_str() {
            "csv" => "read_csv",
            "parquet" => "read_parquet",
            "json" | "ndjson" => "read_json",
            "iceberg" => "iceberg_scan",
            "delta" => "delta_scan",
            other => return Err(Error::new(ErrorKind::NotImplemented, format!("vgi: scan branches of format {other} are not supported"))),
        };
        let locations = branch.format_locations.iter().flatten().map(|l| format!("'{}'", l.replace('\'', "''"))).collect::<Vec<_>>();
        let mut arguments = vec![format!("[{}]", locations.join(", "))];
        if let Some(options) = &branch.format_options {
            let options = worker_client::framing::decode_single_batch(&options.0)?;
            for (field, column) in options.schema().fields().iter().zip(options.columns()) {
                arguments.push(format!("{} := {}", quote(field.name()), sql_literal(column.as_ref())));
            }
        }
        format!("{reader}({})", arguments.join(", "))
    } else {
        let arguments = call_arguments(&branch.arguments.0)?;
        match &branch.schema_path {
            // A table function of this worker, through this attach.
            Some(path) => format!("{}.{}.{}({arguments})", quote(duckdb_catalog), quote(&path.join(".")), quote(&branch.function_name)),
            // A DuckDB function (read_parquet, ...).
            None => format!("{}({arguments})", quote(&branch.function_name)),
        }
    };
    let select = format!("SELECT * FROM {source}");
    Ok(match branch.branch_filter.as_deref().filter(|f| !f.is_empty()) {
        Some(filter) => format!("SELECT * FROM ({select}) WHERE {filter}"),
        None => select,
    })
}

/// A branch's arguments as SQL: positional literals, then `name := literal`.
fn call_arguments(blob: &[u8]) -> Result<String> {
    if blob.is_empty() {
        return Ok(String::new());
    }
    let arguments = Arguments::from_scan_function_result(blob)?;
    let mut parts: Vec<String> = arguments.positional.iter().map(|v| sql_literal(v.as_ref())).collect();
    for (name, value) in &arguments.named {
        if value.len() == 1 {
            parts.push(format!("{} := {}", quote(name), sql_literal(value.as_ref())));
        }
    }
    Ok(parts.join(", "))
}

fn quote(identifier: &str) -> String {
    format!("\"{}\"", identifier.replace('"', "\"\""))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn branch() -> ScanBranch {
        ScanBranch { function_name: "sequence".into(), schema_path: Some(vec!["main".into()]), ..Default::default() }
    }

    #[test]
    fn function_branches_read_through_the_attach_and_keep_their_filters() {
        let mut filtered = branch();
        filtered.branch_filter = Some("n < 50".into());
        assert_eq!(
            branch_sql(&filtered, "ex").unwrap(),
            r#"SELECT * FROM (SELECT * FROM "ex"."main"."sequence"()) WHERE n < 50"#
        );
        assert!(is_plain_function(&branch()));
        assert!(!is_plain_function(&filtered));
    }

    #[test]
    fn format_and_companion_branches() {
        let csv = ScanBranch { format_name: Some("csv".into()), format_locations: Some(vec!["/d/a'b.csv".into()]), ..Default::default() };
        assert_eq!(branch_sql(&csv, "ex").unwrap(), "SELECT * FROM read_csv(['/d/a''b.csv'])");
        let companion = ScanBranch {
            source_catalog: Some("cold".into()),
            source_schema_path: Some(vec!["main".into()]),
            source_table: Some("t".into()),
            ..Default::default()
        };
        assert_eq!(branch_sql(&companion, "ex").unwrap(), r#"SELECT * FROM "cold"."main"."t""#);
    }
}
