//! What DuckDB's catalog views show of a worker's declarations beyond names and columns: the
//! catalog's comment and tags (`duckdb_databases()`), function documentation and stability
//! (`duckdb_functions()`), foreign keys (`duckdb_constraints()`) and generated columns (which
//! DuckDB computes itself, so scans never ask the worker for them).
//!
//! The adapter (`cpp/catalog.cpp`) reads these as metadata of the schemas Rust hands it.
use std::sync::Arc;

use arrow_schema::{Field, Metadata, Schema, SchemaRef};
use worker_client::records::{CatalogAttachResult, ForeignKeyInfo, FunctionInfo, TableInfo, ViewInfo};

use crate::catalog::Contents;
use crate::error::Result;

/// Field metadata of a worker table column DuckDB computes (`GENERATED ALWAYS AS (<sql>)`).
pub const GENERATED_FIELD_METADATA: &str = "generated_expression";

pub fn is_generated(field: &Field) -> bool {
    field.metadata().contains_key(GENERATED_FIELD_METADATA)
}

/// Tags DuckDB shows for an attached catalog besides the worker's own: the versions it
/// resolved at ATTACH (namespaced so they never clash with the worker's tags).
pub const RESOLVED_DATA_VERSION_TAG: &str = "vgi_resolved_data_version";
pub const RESOLVED_IMPLEMENTATION_VERSION_TAG: &str = "vgi_resolved_implementation_version";

/// The tags of an attached catalog, in the order `duckdb_databases()` shows them.
pub fn catalog_tags(attach: &CatalogAttachResult) -> Vec<(String, String)> {
    let mut tags: Vec<(String, String)> = attach.tags.iter().map(|(k, v)| (k.clone(), v.clone())).collect();
    let mut set = |key: &str, value: &Option<String>| {
        if let Some(value) = value.as_ref().filter(|v| !v.is_empty()) {
            tags.retain(|(k, _)| k != key);
            tags.push((key.to_string(), value.clone()));
        }
    };
    set(RESOLVED_DATA_VERSION_TAG, &attach.resolved_data_version);
    set(RESOLVED_IMPLEMENTATION_VERSION_TAG, &attach.resolved_implementation_version);
    tags
}

/// Schema metadata keys of a function's parameter schema: its documentation (examples and
/// categories separated by US, 0x1f) and its declared stability (absent when undeclared).
pub const DESCRIPTION_METADATA: &str = "vgi.description";
pub const EXAMPLES_METADATA: &str = "vgi.examples";
pub const CATEGORIES_METADATA: &str = "vgi.categories";
pub const STABILITY_METADATA: &str = "vgi.stability";

/// Adds what `duckdb_functions()` shows of `function` to its parameter schema's metadata.
pub fn document_function(function: &FunctionInfo, metadata: &mut Metadata) {
    if !function.description.is_empty() {
        metadata.insert(DESCRIPTION_METADATA, function.description.clone());
    }
    let examples: Vec<&str> = function.examples.iter().map(|e| e.0.sql.as_str()).filter(|s| !s.is_empty()).collect();
    if !examples.is_empty() {
        metadata.insert(EXAMPLES_METADATA, examples.join("\x1f"));
    }
    if !function.categories.is_empty() {
        metadata.insert(CATEGORIES_METADATA, function.categories.join("\x1f"));
    }
    if let Some(stability) = function.stability {
        metadata.insert(STABILITY_METADATA, stability.wire_name());
    }
}

/// Schema metadata key of a table's columns: its foreign keys, separated by RS (0x1e); the
/// parts of one separated by GS (0x1d): the referencing columns, the referenced schema (DuckDB's
/// name), the referenced table, its referenced columns, and their positions among its stored
/// columns (columns separated by US, 0x1f; positions empty when the table is not listed).
pub const FOREIGN_KEYS_METADATA: &str = "vgi.foreign_keys";

/// `columns` (a table's [`crate::catalog::table_columns`]) with the table's foreign keys added.
pub fn with_foreign_keys(columns: SchemaRef, table: &TableInfo, contents: &Contents) -> Result<SchemaRef> {
    if table.foreign_key_constraints.is_empty() {
        return Ok(columns);
    }
    let keys = worker_client::records::decode_all::<ForeignKeyInfo>(&table.foreign_key_constraints)?;
    let mut encoded = Vec::new();
    for key in &keys {
        let schema = if key.referenced_schema_path.is_empty() { table.schema_path.join(".") } else { key.referenced_schema_path.join(".") };
        let positions = match contents.schema(&schema).and_then(|s| s.table(&key.referenced_table)) {
            Some(referenced) => {
                let stored = stored_columns(&crate::catalog::table_columns(referenced)?);
                let found: Option<Vec<String>> =
                    key.pk_columns.iter().map(|c| stored.iter().position(|s| s.eq_ignore_ascii_case(c)).map(|p| p.to_string())).collect();
                found.unwrap_or_default()
            }
            None => Vec::new(),
        };
        encoded.push([key.fk_columns.join("\x1f"), schema, key.referenced_table.clone(), key.pk_columns.join("\x1f"), positions.join("\x1f")].join("\x1d"));
    }
    let mut metadata = columns.metadata().clone();
    metadata.insert(FOREIGN_KEYS_METADATA, encoded.join("\x1e"));
    Ok(Arc::new(Schema::new_with_metadata(columns.fields().clone(), metadata)))
}

/// A view's column comments, as the adapter reads them: one field per commented column, its
/// comment in the field's `comment` metadata (as a table column's).
pub fn view_column_comments(view: &ViewInfo) -> SchemaRef {
    let fields: Vec<Field> = view
        .column_comments
        .iter()
        .map(|(column, comment)| {
            Field::new(column, arrow_schema::DataType::Utf8, true)
                .with_metadata([("comment".to_string(), comment.clone())].into_iter().collect::<std::collections::HashMap<_, _>>())
        })
        .collect();
    Arc::new(Schema::new(fields))
}

/// The names of the columns a table stores (those DuckDB does not compute), in order.
fn stored_columns(columns: &SchemaRef) -> Vec<String> {
    columns.fields().iter().filter(|f| !is_generated(f)).map(|f| f.name().clone()).collect()
}
