//! Writes: INSERT, UPDATE and DELETE into worker tables.
//!
//! A table names a write function per operation (`TableInfo.{insert,update,delete}_function`
//! or `catalog_table_*_function_get`); it is driven like a table-in-out function whose input
//! is the rows DuckDB writes (INSERT: the table's columns; UPDATE: the updated columns then
//! the row id; DELETE: the row id) and whose output says what happened: counts, or with
//! `RETURNING` the written rows. The row count DuckDB reports is the worker's.
use std::sync::Arc;

use arrow_array::{Array, ArrayRef, BinaryArray, Int64Array, RecordBatch, RecordBatchOptions, StringArray, StructArray};
use arrow_schema::{DataType, Field, Schema, SchemaRef};
use worker_client::arguments::Arguments;
use worker_client::methods::{ObjectScope, WriteFunctionScope};
use worker_client::records::{ScanFunctionResult, TableInfo};
use worker_client::wire::Record;

use crate::call_context::CallContext;
use worker_client::CancelHandle;

use crate::catalog::{table_columns, AttachedCatalog};
use crate::error::{Error, ErrorKind, Result};
use crate::functions::{InOutBinding, InOutExecution};

/// Which statement writes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum WriteKind {
    Insert,
    Update,
    Delete,
}

impl WriteKind {
    pub fn from_code(code: i32) -> Result<Self> {
        match code {
            0 => Ok(WriteKind::Insert),
            1 => Ok(WriteKind::Update),
            2 => Ok(WriteKind::Delete),
            other => Err(Error::internal(format!("unknown write kind {other}"))),
        }
    }
    fn verb(self) -> &'static str {
        match self {
            WriteKind::Insert => "insert",
            WriteKind::Update => "update",
            WriteKind::Delete => "delete",
        }
    }
    fn function_of(self, table: &TableInfo) -> Option<&worker_client::wire::Blob> {
        match self {
            WriteKind::Insert => table.insert_function.as_ref(),
            WriteKind::Update => table.update_function.as_ref(),
            WriteKind::Delete => table.delete_function.as_ref(),
        }
    }
}

/// What the worker answers per input batch (`write_options.result_mode`), ordered by
/// what it carries: counts < the written rows < old and new rows.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
enum ResultMode {
    Count,
    Rows,
    Changes,
}

impl ResultMode {
    fn parse(text: &str) -> Option<Self> {
        match text {
            "count" => Some(ResultMode::Count),
            "rows" => Some(ResultMode::Rows),
            "changes" => Some(ResultMode::Changes),
            _ => None,
        }
    }
    fn name(self) -> &'static str {
        match self {
            ResultMode::Count => "count",
            ResultMode::Rows => "rows",
            ResultMode::Changes => "changes",
        }
    }
}

/// A write into one worker table, bound to the rows DuckDB will send.
pub struct WriteBinding {
    function: Arc<InOutBinding>,
    kind: WriteKind,
    mode: ResultMode,
    /// What the write function receives (DuckDB's rows, the row id named as the worker's).
    input_schema: SchemaRef,
    /// The table's columns: the layout of `RETURNING` rows.
    rows_schema: SchemaRef,
    table: String,
}

impl WriteBinding {
    /// `input_schema`: the rows DuckDB sends; `returning`: the statement has `RETURNING`;
    /// `on_conflict_nothing`: `INSERT ... ON CONFLICT DO NOTHING` (with its conflict columns).
    pub fn bind(
        catalog: Arc<AttachedCatalog>,
        schema_path: Vec<String>,
        table: &str,
        kind: WriteKind,
        input_schema: SchemaRef,
        returning: bool,
        on_conflict_nothing: Option<Vec<String>>,
        call: &CallContext<'_>,
    ) -> Result<Self> {
        let name = format!("{}.{}", schema_path.join("."), table);
        let info = catalog
            .contents()?
            .schema(&schema_path.join("."))
            .and_then(|s| s.table(table))
            .cloned()
            .ok_or_else(|| Error::new(ErrorKind::Catalog, format!("table {name} does not exist")))?;
        // The worker declares each write it supports with its result mode; a missing key means
        // the table does not support that write at all, refused here before anything runs.
        let Some(declared) = info.write_result_modes.get(kind.verb()) else {
            let supported: Vec<String> = ["insert", "update", "delete"]
                .iter()
                .filter(|verb| info.write_result_modes.contains_key(**verb))
                .map(|verb| verb.to_uppercase())
                .collect();
            let only = match supported.as_slice() {
                [] => "it is read-only".to_string(),
                verbs => format!("it supports only {}", verbs.join(", ")),
            };
            return Err(Error::new(
                ErrorKind::NotImplemented,
                format!("table {name} does not support {}: {only}", kind.verb().to_uppercase()),
            ));
        };
        let supported = ResultMode::parse(declared).ok_or_else(|| {
            Error::new(ErrorKind::Io, format!("table {name} declares an unknown result mode '{declared}' for {}", kind.verb().to_uppercase()))
        })?;
        let mode = if returning {
            if supported < ResultMode::Rows {
                return Err(Error::new(
                    ErrorKind::NotImplemented,
                    format!("table {name} does not support RETURNING for {}: its worker reports only row counts", kind.verb().to_uppercase()),
                ));
            }
            ResultMode::Rows
        } else {
            ResultMode::Count
        };
        let function = match kind.function_of(&info) {
            Some(blob) => ScanFunctionResult::from_blob(&blob.0)?,
            None => {
                let result = if kind == WriteKind::Insert {
                    let scope = WriteFunctionScope {
                        attach_opaque_data: catalog.attach_data(),
                        schema_path: schema_path.clone(),
                        name: table.into(),
                        transaction_opaque_data: call.transaction.clone(),
                        writable_branch_function_name: None,
                    };
                    catalog.with_client(|c| c.table_insert_function(&scope))
                } else {
                    let scope = ObjectScope {
                        attach_opaque_data: catalog.attach_data(),
                        schema_path: schema_path.clone(),
                        name: table.into(),
                        transaction_opaque_data: call.transaction.clone(),
                    };
                    let method = format!("catalog_table_{}_function_get", kind.verb());
                    catalog.with_client(|c| c.table_write_function(&method, &scope))
                };
                // The worker's own refusal first, then what was being asked.
                result.map_err(|e| {
                    Error::new(e.kind, format!("{} (asking the worker for the {} function of table {name})", e.message, kind.verb().to_uppercase()))
                })?
            }
        };
        // The rows go out exactly as the worker declares its columns (types, units, time zones,
        // nullability, nested fields), not as DuckDB exports them; UPDATE/DELETE address rows by
        // the worker's row id column, which DuckDB sends last.
        let declared = worker_client::framing::decode_schema(&info.columns.0)?;
        let mut fields: Vec<Field> = input_schema
            .fields()
            .iter()
            .map(|f| declared.field_with_name(f.name()).map(|d| d.clone()).unwrap_or_else(|_| f.as_ref().clone()))
            .collect();
        if kind != WriteKind::Insert {
            let rowid = declared.fields().iter().find(|f| crate::catalog::is_row_id(f)).cloned().ok_or_else(|| {
                Error::new(
                    ErrorKind::NotImplemented,
                    format!("table {name} does not support {}: it has no row id column", kind.verb().to_uppercase()),
                )
            })?;
            fields.pop();
            fields.push(rowid.as_ref().clone());
        }
        let input_schema = Arc::new(Schema::new(fields));
        let arguments = Arguments::from_scan_function_result(&function.arguments.0)?
            .with_named("write_options", write_options(mode, on_conflict_nothing.as_deref())?);
        let function_path = function.schema_path.clone().unwrap_or(schema_path);
        let bound = InOutBinding::bind(catalog, function_path, &function.function_name, &arguments, input_schema.clone(), call)?;
        let rows_schema = table_columns(&info)?;
        check_result_schema(&bound.output_schema(), mode, &rows_schema, &name)?;
        Ok(WriteBinding { function: Arc::new(bound), kind, mode, input_schema, rows_schema, table: name })
    }

    /// The layout of the rows `RETURNING` produces (the table's columns).
    pub fn rows_schema(&self) -> SchemaRef {
        self.rows_schema.clone()
    }

    pub fn open(self: &Arc<Self>, cancel: CancelHandle) -> Result<WriteExecution> {
        Ok(WriteExecution { binding: self.clone(), inner: self.function.open(cancel)?, count: 0 })
    }
}

/// `write_options`: the IPC of a one-row batch (`result_mode`, `on_conflict`,
/// `on_conflict_columns`), as the worker's write functions read it.
fn write_options(mode: ResultMode, on_conflict_nothing: Option<&[String]>) -> Result<ArrayRef> {
    let columns: Vec<Option<&str>> = on_conflict_nothing.unwrap_or_default().iter().map(|s| Some(s.as_str())).collect();
    let values = StringArray::from(columns);
    let list = arrow_array::ListArray::new(
        Arc::new(Field::new("item", DataType::Utf8, true)),
        arrow_buffer::OffsetBuffer::from_lengths([values.len()]),
        Arc::new(values),
        None,
    );
    let batch = RecordBatch::try_from_iter(vec![
        ("result_mode", Arc::new(StringArray::from(vec![mode.name()])) as ArrayRef),
        ("on_conflict", Arc::new(StringArray::from(vec![if on_conflict_nothing.is_some() { "nothing" } else { "throw" }])) as ArrayRef),
        ("on_conflict_columns", Arc::new(list) as ArrayRef),
    ])?;
    let bytes = worker_client::framing::encode_stream(&batch, &[])?;
    Ok(Arc::new(BinaryArray::from(vec![bytes.as_slice()])))
}

/// The bound result must be what the mode promises (a worker that answers `RETURNING` with
/// counts is refused here, before any row is written).
fn check_result_schema(schema: &Schema, mode: ResultMode, rows: &Schema, table: &str) -> Result<()> {
    let expected = match mode {
        ResultMode::Count => schema.column_with_name("count").is_some_and(|(_, f)| f.data_type() == &DataType::Int64),
        ResultMode::Rows | ResultMode::Changes => {
            let has_rows = rows.fields().iter().all(|f| schema.column_with_name(f.name()).is_some());
            let has_changes = ["old", "new"].iter().all(|side| {
                schema.column_with_name(side).is_some_and(|(_, f)| matches!(f.data_type(), DataType::Struct(_)))
            });
            has_rows || has_changes
        }
    };
    if !expected {
        let wanted = if mode == ResultMode::Count { "a `count` BIGINT column".to_string() } else { format!("the table's columns ({})", field_list(rows)) };
        return Err(Error::new(
            ErrorKind::Io,
            format!("the worker's write function for {table} returns ({}), expected {wanted}", field_list(schema)),
        ));
    }
    Ok(())
}

fn field_list(schema: &Schema) -> String {
    schema.fields().iter().map(|f| format!("{} {}", f.name(), f.data_type())).collect::<Vec<_>>().join(", ")
}

/// One write statement's stream.
pub struct WriteExecution {
    binding: Arc<WriteBinding>,
    inner: InOutExecution,
    count: i64,
}

impl WriteExecution {
    /// Sends one batch of rows; returns the `RETURNING` rows for it (none without RETURNING).
    pub fn send(&mut self, input: &RecordBatch) -> Result<Vec<RecordBatch>> {
        let input = self.conform(input)?;
        let outputs = self.inner.process(&input)?;
        self.absorb(outputs)
    }

    /// DuckDB's rows in the worker's declared layout: its names, types and nullability. A NULL
    /// in a column the worker declares NOT NULL is refused here, naming the column.
    fn conform(&self, input: &RecordBatch) -> Result<RecordBatch> {
        let schema = &self.binding.input_schema;
        if input.schema().fields() == schema.fields() {
            return Ok(input.clone());
        }
        let columns = input
            .columns()
            .iter()
            .zip(schema.fields())
            .map(|(column, field)| {
                if column.data_type() == field.data_type() {
                    Ok(column.clone())
                } else {
                    arrow_cast::cast(column, field.data_type()).map_err(|e| {
                        Error::new(
                            ErrorKind::InvalidInput,
                            format!("cannot write {} as the worker's {} for column `{}` of {}: {e}", column.data_type(), field.data_type(), field.name(), self.binding.table),
                        )
                    })
                }
            })
            .collect::<Result<Vec<_>>>()?;
        let options = RecordBatchOptions::new().with_row_count(Some(input.num_rows()));
        RecordBatch::try_new_with_options(schema.clone(), columns, &options).map_err(|e| {
            Error::new(ErrorKind::InvalidInput, format!("cannot write these rows into {}: {e}", self.binding.table))
        })
    }

    /// Ends the statement; returns the last `RETURNING` rows and the total row count.
    pub fn finish(&mut self) -> Result<(Vec<RecordBatch>, i64)> {
        let outputs = self.inner.finish()?;
        let rows = self.absorb(outputs)?;
        Ok((rows, self.count))
    }

    fn absorb(&mut self, outputs: Vec<RecordBatch>) -> Result<Vec<RecordBatch>> {
        let mut rows = Vec::new();
        for batch in outputs {
            match self.binding.mode {
                ResultMode::Count => {
                    let counts = batch.column_by_name("count").and_then(|c| c.as_any().downcast_ref::<Int64Array>().cloned());
                    let counts = counts.ok_or_else(|| self.malformed(&batch, "a `count` BIGINT column"))?;
                    self.count += counts.iter().flatten().sum::<i64>();
                }
                ResultMode::Rows | ResultMode::Changes => {
                    if batch.num_rows() == 0 {
                        continue;
                    }
                    let written = self.rows_of(&batch)?;
                    self.count += written.num_rows() as i64;
                    rows.push(written);
                }
            }
        }
        Ok(rows)
    }

    /// The written rows in the table's layout: a `rows` batch by column name, or the `new`
    /// (INSERT, UPDATE) / `old` (DELETE) side of a `changes` batch.
    fn rows_of(&self, batch: &RecordBatch) -> Result<RecordBatch> {
        let side = if self.binding.kind == WriteKind::Delete { "old" } else { "new" };
        let source: RecordBatch = match batch.column_by_name(side).and_then(|c| c.as_any().downcast_ref::<StructArray>()) {
            Some(changes) => RecordBatch::from(changes.clone()),
            None => batch.clone(),
        };
        let schema = self.binding.rows_schema();
        let columns = schema
            .fields()
            .iter()
            .map(|field| {
                let column = source.column_by_name(field.name()).ok_or_else(|| self.malformed(batch, &format!("column `{}`", field.name())))?;
                if column.data_type() == field.data_type() {
                    Ok(column.clone())
                } else {
                    arrow_cast::cast(column, field.data_type()).map_err(|e| {
                        Error::new(ErrorKind::Io, format!("the worker returned column `{}` of {} as {}: {e}", field.name(), self.binding.table, column.data_type()))
                    })
                }
            })
            .collect::<Result<Vec<_>>>()?;
        let options = RecordBatchOptions::new().with_row_count(Some(source.num_rows()));
        Ok(RecordBatch::try_new_with_options(schema, columns, &options)?)
    }

    fn malformed(&self, batch: &RecordBatch, expected: &str) -> Error {
        Error::new(
            ErrorKind::Io,
            format!(
                "the worker answered a {} of {} with ({}), expected {expected}",
                self.binding.kind.verb().to_uppercase(),
                self.binding.table,
                field_list(&batch.schema())
            ),
        )
    }
}
