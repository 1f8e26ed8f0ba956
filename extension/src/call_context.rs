//! What every bind carries from the DuckDB session into the worker call: the transaction's
//! worker token, the current values of the settings the worker declared at ATTACH, and the
//! secrets a function asks for (resolved from DuckDB's secret manager on demand).
use std::sync::Arc;

use arrow_array::{Array, ArrayRef, RecordBatch, StructArray};
use arrow_schema::{Field, Schema};
use worker_client::framing::encode_stream;
use worker_client::wire::Blob;

use crate::error::{Error, ErrorKind, Result};

/// Resolves one secret: `(type, scope, name)` (empty = any) to its fields (one row, including
/// `name`, `type` and `scope`), or `None` when DuckDB has no such secret.
pub type SecretResolver<'a> = dyn Fn(&str, &str, &str) -> Result<Option<RecordBatch>> + 'a;

#[derive(Default)]
pub struct CallContext<'a> {
    pub transaction: Option<Blob>,
    /// One row: each declared setting's current value (absent when the worker declares none).
    pub settings: Option<RecordBatch>,
    pub secrets: Option<Box<SecretResolver<'a>>>,
    /// Secret types a bind asked for that DuckDB has no secret of (for error hints).
    missing_secrets: std::cell::RefCell<Vec<String>>,
}

impl<'a> CallContext<'a> {
    /// What to tell a user whose call failed after asking for secrets DuckDB does not have.
    pub fn missing_secrets_hint(&self) -> Option<String> {
        let missing = self.missing_secrets.borrow();
        let first = missing.first()?;
        Some(format!(
            "(the function asked for a secret of type {}, and DuckDB has none: CREATE SECRET (TYPE {first}, ...))",
            missing.join(", ")
        ))
    }

    /// A context for one bind from the adapter's parts.
    pub fn new(transaction: Option<Blob>, settings: Option<RecordBatch>, secrets: Option<Box<SecretResolver<'a>>>) -> Self {
        CallContext { transaction, settings, secrets, missing_secrets: Default::default() }
    }

    /// `BindRequest.settings`: the IPC of the settings row.
    pub fn settings_blob(&self) -> Result<Option<Blob>> {
        match &self.settings {
            Some(row) if row.num_columns() > 0 => Ok(Some(Blob(encode_stream(row, &[])?))),
            _ => Ok(None),
        }
    }

    /// `BindRequest.secrets` for a bind that asked for secrets (parallel lists of type, scope
    /// and name): one struct column per secret found, named by its DuckDB name. Secrets that
    /// do not exist are left out; the worker says what it needs.
    pub fn resolve_secrets(&self, types: &[String], scopes: &[String], names: &[String]) -> Result<Option<Blob>> {
        let Some(resolve) = &self.secrets else {
            return Err(Error::new(ErrorKind::InvalidInput, "vgi: this function asks for secrets, which this call cannot resolve"));
        };
        let mut fields: Vec<Field> = Vec::new();
        let mut columns: Vec<ArrayRef> = Vec::new();
        for (i, secret_type) in types.iter().enumerate() {
            let scope = scopes.get(i).map(String::as_str).unwrap_or("");
            let name = names.get(i).map(String::as_str).unwrap_or("");
            let Some(row) = resolve(secret_type, scope, name)? else {
                self.missing_secrets.borrow_mut().push(secret_type.clone());
                continue;
            };
            let secret_name = row
                .column_by_name("name")
                .and_then(|c| worker_client::wire::string_at(c.as_ref(), 0).ok().flatten())
                .unwrap_or_else(|| secret_type.clone());
            if fields.iter().any(|f| f.name() == &secret_name) {
                continue;
            }
            let values = StructArray::from(row);
            fields.push(Field::new(secret_name, values.data_type().clone(), true));
            columns.push(Arc::new(values));
        }
        if columns.is_empty() {
            return Ok(None);
        }
        let batch = RecordBatch::try_new(Arc::new(Schema::new(fields)), columns)?;
        Ok(Some(Blob(encode_stream(&batch, &[])?)))
    }
}
