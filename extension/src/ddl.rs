//! DDL on worker catalogs: CREATE/DROP SCHEMA, CREATE/DROP/ALTER TABLE (columns, defaults,
//! NOT NULL, renames), views and comments.
//!
//! The adapter forwards DuckDB's parsed statement as an operation (the worker method's name
//! without `catalog_`) and one row of the statement's fields; this module checks the operation,
//! builds the method's exact parameters, calls the worker in the statement's transaction, and
//! drops the cached metadata so the change shows at once.
use std::collections::HashMap;
use std::sync::Arc;

use arrow_array::cast::AsArray;
use arrow_array::{Array, RecordBatch};
use arrow_schema::{DataType, Field, Schema};
use worker_client::framing::encode_schema;
use worker_client::methods::*;
use worker_client::records::{OnConflict, TableCreateRequest};
use worker_client::wire::{Blob, Record};

use crate::catalog::AttachedCatalog;
use crate::error::{Error, ErrorKind, Result};

/// Field metadata carrying a column's DEFAULT as SQL text (how workers read and declare it).
const DEFAULT_METADATA: &str = "default";

/// One DDL statement: the operation and the fields the adapter read from DuckDB's parse.
pub struct DdlStatement<'a> {
    pub operation: &'a str,
    /// One row; which columns are present depends on the operation (see [`Fields`]).
    pub fields: &'a RecordBatch,
    /// CREATE TABLE / ADD COLUMN / ALTER TYPE: the column definitions.
    pub columns: Option<Arc<Schema>>,
}

/// Runs `statement` on the worker, then forgets the cached catalog.
pub fn execute(catalog: &AttachedCatalog, transaction: Option<Blob>, statement: &DdlStatement<'_>) -> Result<()> {
    let f = Fields(statement.fields);
    let attach = catalog.attach_data();
    let txn = transaction;
    let schema_path = || -> Result<Vec<String>> { catalog.schema_path(&f.required_text("schema")?) };
    let name = || f.required_text("name");
    let column = || f.required_text("column");
    let ignore_not_found = f.flag("if_exists");
    // CREATE ... IF NOT EXISTS of something the catalog already lists is done, whatever the
    // worker would say about it (DuckDB's own behaviour).
    if f.on_conflict()? == OnConflict::Ignore && already_exists(catalog, statement.operation, &f)? {
        return Ok(());
    }
    let params = match statement.operation {
        "schema_create" => {
            SchemaCreateParams {
                attach_opaque_data: attach.clone(),
                path: f.texts("path").filter(|p| !p.is_empty()).map_or_else(|| name().map(|n| vec![n]), Ok)?,
                on_conflict: f.on_conflict()?,
                comment: f.text("comment"),
                tags: None,
                transaction_opaque_data: txn.clone(),
            }
            .to_batch()
        }
        "schema_drop" => {
            SchemaDropParams {
                attach_opaque_data: attach.clone(),
                path: catalog.schema_path(&name()?)?,
                ignore_not_found,
                cascade: f.flag("cascade"),
                transaction_opaque_data: txn.clone(),
            }
            .to_batch()
        }
        "table_create" => {
            let columns = with_defaults(statement.columns.as_deref().ok_or_else(|| missing("columns"))?, &f);
            let request = TableCreateRequest {
                attach_opaque_data: attach.clone(),
                schema_path: schema_path()?,
                name: name()?,
                columns: Blob(encode_schema(&columns)),
                on_conflict: f.on_conflict()?,
                not_null_constraints: f.ints("not_null"),
                unique_constraints: f.int_groups("unique"),
                check_constraints: f.texts("checks").unwrap_or_default(),
                primary_key_constraints: f.int_groups("primary_key"),
                foreign_key_constraints: Vec::new(),
                transaction_opaque_data: txn.clone(),
            };
            TableCreateParams { request: request.to_blob() }.to_batch()
        }
        "table_drop" | "view_drop" => {
            ObjectDropParams {
                attach_opaque_data: attach.clone(),
                schema_path: schema_path()?,
                name: name()?,
                ignore_not_found,
                cascade: f.flag("cascade"),
                transaction_opaque_data: txn.clone(),
            }
            .to_batch()
        }
        "macro_drop" => {
            MacroDropParams {
                attach_opaque_data: attach.clone(),
                schema_path: schema_path()?,
                name: name()?,
                ignore_not_found,
                transaction_opaque_data: txn.clone(),
            }
            .to_batch()
        }
        "table_rename" | "view_rename" => {
            ObjectRenameParams {
                attach_opaque_data: attach.clone(),
                schema_path: schema_path()?,
                name: name()?,
                new_name: f.required_text("new_name")?,
                ignore_not_found,
                transaction_opaque_data: txn.clone(),
            }
            .to_batch()
        }
        "table_comment_set" | "view_comment_set" => {
            ObjectCommentParams {
                attach_opaque_data: attach.clone(),
                schema_path: schema_path()?,
                name: name()?,
                comment: f.text("comment"),
                ignore_not_found,
                transaction_opaque_data: txn.clone(),
            }
            .to_batch()
        }
        "view_create" => {
            ViewCreateParams {
                attach_opaque_data: attach.clone(),
                schema_path: schema_path()?,
                name: name()?,
                definition: f.required_text("definition")?,
                on_conflict: f.on_conflict()?,
                transaction_opaque_data: txn.clone(),
            }
            .to_batch()
        }
        "table_column_add" => {
            let columns = with_defaults(statement.columns.as_deref().ok_or_else(|| missing("columns"))?, &f);
            ColumnAddParams {
                attach_opaque_data: attach.clone(),
                schema_path: schema_path()?,
                name: name()?,
                column_definition: Blob(encode_schema(&columns)),
                ignore_not_found,
                if_column_not_exists: f.flag("if_column_not_exists"),
                transaction_opaque_data: txn.clone(),
            }
            .to_batch()
        }
        "table_column_drop" => {
            ColumnDropParams {
                attach_opaque_data: attach.clone(),
                schema_path: schema_path()?,
                name: name()?,
                column_name: column()?,
                ignore_not_found,
                if_column_exists: f.flag("if_column_exists"),
                cascade: f.flag("cascade"),
                transaction_opaque_data: txn.clone(),
            }
            .to_batch()
        }
        "table_column_rename" => {
            ColumnRenameParams {
                attach_opaque_data: attach.clone(),
                schema_path: schema_path()?,
                name: name()?,
                column_name: column()?,
                new_column_name: f.required_text("new_column")?,
                ignore_not_found,
                transaction_opaque_data: txn.clone(),
            }
            .to_batch()
        }
        "table_column_default_set" => {
            ColumnDefaultSetParams {
                attach_opaque_data: attach.clone(),
                schema_path: schema_path()?,
                name: name()?,
                column_name: column()?,
                expression: f.required_text("expression")?,
                ignore_not_found,
                transaction_opaque_data: txn.clone(),
            }
            .to_batch()
        }
        "table_column_default_drop" | "table_not_null_set" | "table_not_null_drop" => {
            ColumnParams {
                attach_opaque_data: attach.clone(),
                schema_path: schema_path()?,
                name: name()?,
                column_name: column()?,
                ignore_not_found,
                transaction_opaque_data: txn.clone(),
            }
            .to_batch()
        }
        "table_column_type_change" => {
            let columns = statement.columns.as_deref().ok_or_else(|| missing("columns"))?;
            ColumnTypeChangeParams {
                attach_opaque_data: attach.clone(),
                schema_path: schema_path()?,
                name: name()?,
                column_definition: Blob(encode_schema(columns)),
                expression: f.text("expression"),
                ignore_not_found,
                transaction_opaque_data: txn.clone(),
            }
            .to_batch()
        }
        "table_column_comment_set" => {
            ColumnCommentParams {
                attach_opaque_data: attach.clone(),
                schema_path: schema_path()?,
                name: name()?,
                column_name: column()?,
                comment: f.text("comment"),
                ignore_not_found,
                transaction_opaque_data: txn.clone(),
            }
            .to_batch()
        }
        other => return Err(Error::new(ErrorKind::NotImplemented, format!("vgi: {other} is not supported on worker catalogs"))),
    };
    let method = format!("catalog_{}", statement.operation);
    catalog.with_client(|c| c.call(&method, &params, None))?;
    catalog.invalidate();
    Ok(())
}

/// Whether the object a CREATE names is already in the catalog.
fn already_exists(catalog: &AttachedCatalog, operation: &str, f: &Fields<'_>) -> Result<bool> {
    let contents = catalog.contents()?;
    let name = f.required_text("name")?;
    Ok(match operation {
        "schema_create" => {
            let path = f.texts("path").filter(|p| !p.is_empty()).unwrap_or_else(|| vec![name]);
            contents.schema(&path.join(".")).is_some()
        }
        "table_create" | "view_create" => {
            let Some(schema) = contents.schema(&f.required_text("schema")?) else {
                return Ok(false);
            };
            schema.table(&name).is_some() || schema.views.iter().any(|v| v.name.eq_ignore_ascii_case(&name))
        }
        _ => false,
    })
}

fn missing(what: &str) -> Error {
    Error::new(ErrorKind::InvalidInput, format!("vgi: the DDL statement carries no {what}"))
}

/// The column definitions with each column's DEFAULT (the `defaults` field, SQL text) as field
/// metadata.
fn with_defaults(columns: &Schema, f: &Fields<'_>) -> Schema {
    let defaults = f.optional_texts("defaults");
    let fields: Vec<Field> = columns
        .fields()
        .iter()
        .enumerate()
        .map(|(i, field)| match defaults.get(i).cloned().flatten() {
            Some(default) => {
                let mut metadata: HashMap<String, String> = field.metadata().iter().map(|(k, v)| (k.to_string(), v.to_string())).collect();
                metadata.insert(DEFAULT_METADATA.into(), default);
                field.as_ref().clone().with_metadata(metadata)
            }
            None => field.as_ref().clone(),
        })
        .collect();
    Schema::new(fields)
}

/// Typed access to the statement's one-row field batch (absent columns read as absent).
struct Fields<'a>(&'a RecordBatch);

impl Fields<'_> {
    fn column(&self, name: &str) -> Option<&dyn Array> {
        self.0.column_by_name(name).map(|c| c.as_ref()).filter(|c| c.len() > 0 && c.is_valid(0))
    }

    fn text(&self, name: &str) -> Option<String> {
        self.column(name).and_then(|c| worker_client::wire::string_at(c, 0).ok().flatten())
    }

    fn required_text(&self, name: &str) -> Result<String> {
        self.text(name).ok_or_else(|| missing(name))
    }

    fn flag(&self, name: &str) -> bool {
        self.column(name).and_then(|c| c.as_boolean_opt().map(|b| b.value(0))).unwrap_or(false)
    }

    fn on_conflict(&self) -> Result<OnConflict> {
        match self.text("on_conflict").as_deref() {
            None | Some("error") => Ok(OnConflict::Error),
            Some("ignore") => Ok(OnConflict::Ignore),
            Some("replace") => Ok(OnConflict::Replace),
            Some(other) => Err(Error::new(ErrorKind::InvalidInput, format!("vgi: unknown ON CONFLICT action {other}"))),
        }
    }

    /// A list column's values at row 0.
    fn list(&self, name: &str) -> Option<Arc<dyn Array>> {
        let column = self.column(name)?;
        column.as_list_opt::<i32>().map(|l| l.value(0))
    }

    fn optional_texts(&self, name: &str) -> Vec<Option<String>> {
        let Some(values) = self.list(name) else {
            return Vec::new();
        };
        (0..values.len()).map(|i| worker_client::wire::string_at(values.as_ref(), i).ok().flatten()).collect()
    }

    fn texts(&self, name: &str) -> Option<Vec<String>> {
        self.list(name)?;
        Some(self.optional_texts(name).into_iter().flatten().collect())
    }

    fn ints(&self, name: &str) -> Vec<i32> {
        self.list(name).map(|values| ints_of(values.as_ref())).unwrap_or_default()
    }

    fn int_groups(&self, name: &str) -> Vec<Vec<i32>> {
        let Some(groups) = self.list(name) else {
            return Vec::new();
        };
        let Some(groups) = groups.as_list_opt::<i32>() else {
            return Vec::new();
        };
        (0..groups.len()).map(|i| ints_of(groups.value(i).as_ref())).collect()
    }
}

fn ints_of(values: &dyn Array) -> Vec<i32> {
    match arrow_cast::cast(values, &DataType::Int32) {
        Ok(cast) => cast.as_primitive::<arrow_array::types::Int32Type>().iter().flatten().collect(),
        Err(_) => Vec::new(),
    }
}
