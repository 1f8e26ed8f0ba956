//! COPY ... FROM / COPY ... TO through the formats a worker declares (§4.10,
//! `catalog_copy_from_formats`, which lists both directions). DuckDB knows each one as the copy
//! function `<attach alias>.<format>`, registered at ATTACH.
//!
//! - COPY FROM binds the format's handler as a table scan whose `BindRequest.copy_from` carries
//!   the file and the target table's columns; the worker must produce exactly those columns.
//! - COPY TO binds the handler as a table buffering function whose `BindRequest.copy_to`
//!   carries the file and whose input is the copied relation: every batch goes to
//!   `table_buffering_process` (in parallel unless the format is ordered), one
//!   `table_buffering_combine` at the end has the worker write and close the destination, and
//!   there is no source phase.
//!
//! The COPY options are the handler's named arguments: unknown options are rejected here,
//! values are cast to the declared types, and the worker checks the rest (required options,
//! choices, ranges).
use std::sync::Arc;

use arrow_array::{Array, ArrayRef, RecordBatch};
use arrow_schema::{DataType, Field, Schema, SchemaRef};
use worker_client::arguments::Arguments;
use worker_client::framing::{decode_schema, encode_schema};
use worker_client::records::{CopyFromContext, CopyFromFormatInfo, CopyToContext, FunctionType};
use worker_client::wire::Blob;
use worker_client::CancelHandle;

use crate::buffering::{BufferingBinding, BufferingExecution};
use crate::call_context::CallContext;
use crate::catalog::{AttachedCatalog, BindOptions};
use crate::error::{Error, Result};
use crate::scan::{Binding, WorkerBinding};

/// One format a worker declares, under the name DuckDB knows it by.
pub struct CopyFormat {
    /// `<attach alias>.<format>`, lower case: DuckDB lower-cases `FORMAT` before looking it up.
    pub name: String,
    pub info: CopyFromFormatInfo,
    /// The options: the handler's arguments (name, Arrow type, metadata).
    options: SchemaRef,
}

impl CopyFormat {
    /// The format serves COPY ... FROM.
    pub fn reads(&self) -> bool {
        matches!(self.info.direction.as_str(), "from" | "both")
    }

    /// The format serves COPY ... TO.
    pub fn writes(&self) -> bool {
        matches!(self.info.direction.as_str(), "to" | "both")
    }

    /// The worker needs the rows in source order (one sink thread).
    pub fn ordered(&self) -> bool {
        self.info.ordered
    }

    /// The COPY options as the handler's named arguments.
    fn arguments(&self, options: &RecordBatch) -> Result<Arguments> {
        let mut arguments = Arguments::default();
        for (field, value) in options.schema().fields().iter().zip(options.columns()) {
            let declared = self.options.fields().iter().find(|f| f.name().eq_ignore_ascii_case(field.name())).ok_or_else(|| {
                let known: Vec<&str> = self.options.fields().iter().map(|f| f.name().as_str()).collect();
                Error::binder(format!(
                    "Unsupported option '{}' for COPY FORMAT '{}' (its options: {})",
                    field.name(),
                    self.name,
                    if known.is_empty() { "none".to_string() } else { known.join(", ") }
                ))
            })?;
            let value = cast_option(value, declared.data_type()).ok_or_else(|| {
                Error::invalid_input(format!(
                    "COPY option '{}' of FORMAT '{}' expects a {} value, not {}",
                    declared.name(),
                    self.name,
                    type_name(declared.data_type()),
                    crate::catalog::sql_literal(value.as_ref())
                ))
            })?;
            arguments.named.push((declared.name().clone(), value));
        }
        Ok(arguments)
    }

    /// Where the handler lives: the schema listing a function of that name and kind (the
    /// default schema first), else the default schema.
    fn handler_schema(&self, catalog: &AttachedCatalog, kind: FunctionType) -> Result<Vec<String>> {
        let contents = catalog.contents()?;
        let default = catalog.default_schema();
        let serves = |s: &&crate::catalog::SchemaContents| s.functions.iter().any(|f| f.name == self.info.handler && f.function_type == kind);
        let schema = contents.schema(default).filter(serves).or_else(|| contents.schemas.iter().find(serves));
        Ok(match schema {
            Some(s) => s.path.clone(),
            None => catalog.schema_path(default)?,
        })
    }
}

/// Casts one option value to the option's declared type; `None` when it cannot be.
fn cast_option(value: &ArrayRef, to: &DataType) -> Option<ArrayRef> {
    if value.data_type() == to {
        return Some(value.clone());
    }
    let options = arrow_cast::CastOptions { safe: false, ..Default::default() };
    arrow_cast::cast_with_options(value.as_ref(), to, &options).ok().filter(|cast| cast.null_count() == value.null_count())
}

/// DuckDB's name of an option type, where it has an obvious one.
fn type_name(t: &DataType) -> String {
    match t {
        DataType::Utf8 | DataType::LargeUtf8 | DataType::Utf8View => "VARCHAR".into(),
        DataType::Boolean => "BOOLEAN".into(),
        DataType::Int8 => "TINYINT".into(),
        DataType::Int16 => "SMALLINT".into(),
        DataType::Int32 => "INTEGER".into(),
        DataType::Int64 => "BIGINT".into(),
        DataType::Float32 => "FLOAT".into(),
        DataType::Float64 => "DOUBLE".into(),
        other => other.to_string(),
    }
}

/// The formats the catalog attached as `alias` declares (none when the worker does not
/// implement the method).
pub fn copy_formats(catalog: &AttachedCatalog, alias: &str) -> Result<Vec<CopyFormat>> {
    let formats = catalog.with_client(|c| c.copy_formats(&catalog.scope()))?;
    formats
        .into_iter()
        .map(|info| {
            let options = Arc::new(decode_schema(&info.options.0)?);
            Ok(CopyFormat { name: format!("{alias}.{}", info.format_name).to_lowercase(), info, options })
        })
        .collect()
}

/// COPY ... FROM: the handler bound as a scan producing the target's `expected` columns.
pub fn bind_copy_from(
    catalog: Arc<AttachedCatalog>,
    format: &CopyFormat,
    file_path: &str,
    options: &RecordBatch,
    expected: &Schema,
    call: &CallContext<'_>,
) -> Result<WorkerBinding> {
    let arguments = format.arguments(options)?;
    let schema_path = format.handler_schema(&catalog, FunctionType::Table)?;
    let expected = &plain_booleans(expected);
    let context = CopyFromContext {
        format: format.info.format_name.clone(),
        file_path: file_path.into(),
        expected_schema: Blob(encode_schema(expected)),
    };
    let binding = WorkerBinding::bind_with(
        catalog,
        &format.info.handler,
        Some(schema_path),
        &arguments,
        BindOptions { call: Some(call), copy_from: Some(context), ..Default::default() },
    )?;
    // DuckDB inserts the scan's columns without a cast: they must be the target's, in order.
    let bound = binding.schema();
    let same = bound.fields().len() == expected.fields().len()
        && bound.fields().iter().zip(expected.fields()).all(|(b, e)| b.data_type() == e.data_type());
    if !same {
        return Err(Error::binder(format!(
            "COPY FORMAT '{}': the worker's reader produces ({}), but the target table takes ({})",
            format.name,
            field_list(&bound),
            field_list(expected)
        )));
    }
    Ok(binding)
}

/// The target's columns with BOOLEAN as Arrow's own `bool`: DuckDB's lossless export makes it
/// the `arrow.bool8` extension (int8 storage), which a reader cannot parse text into, and DuckDB
/// reads `bool` back as BOOLEAN all the same. Every other type keeps its lossless form, which
/// is what maps back to the target's DuckDB type.
fn plain_booleans(schema: &Schema) -> Schema {
    fn field(f: &Field) -> Field {
        if f.metadata().get(EXTENSION_NAME).map(String::as_str) == Some("arrow.bool8") {
            let mut metadata = f.metadata().clone();
            metadata.retain(|k, _| !k.starts_with("ARROW:extension:"));
            return Field::new(f.name(), DataType::Boolean, f.is_nullable()).with_metadata(metadata);
        }
        let data_type = match f.data_type() {
            DataType::List(item) => DataType::List(Arc::new(field(item))),
            DataType::LargeList(item) => DataType::LargeList(Arc::new(field(item))),
            DataType::FixedSizeList(item, n) => DataType::FixedSizeList(Arc::new(field(item)), *n),
            DataType::Struct(children) => DataType::Struct(children.iter().map(|c| field(c)).collect()),
            DataType::Map(entries, sorted) => DataType::Map(Arc::new(field(entries)), *sorted),
            other => other.clone(),
        };
        f.clone().with_data_type(data_type)
    }
    Schema::new_with_metadata(schema.fields().iter().map(|f| field(f)).collect::<Vec<_>>(), schema.metadata().clone())
}

const EXTENSION_NAME: &str = "ARROW:extension:name";

fn field_list(schema: &Schema) -> String {
    schema.fields().iter().map(|f| format!("{} {}", f.name(), f.data_type())).collect::<Vec<_>>().join(", ")
}

/// COPY ... TO: the handler bound as the sink of the copied relation.
pub struct CopyToBinding {
    sink: CopySink,
    /// The file the worker was bound to write, and that binding.
    file_path: String,
    bound: Arc<BufferingBinding>,
}

/// What a COPY ... TO binds the handler with, whichever file it writes.
struct CopySink {
    catalog: Arc<AttachedCatalog>,
    format_name: String,
    handler: String,
    schema_path: Vec<String>,
    arguments: Arguments,
    input_schema: SchemaRef,
}

impl CopySink {
    fn bind_to(&self, file_path: &str, call: &CallContext<'_>) -> Result<BufferingBinding> {
        let context = CopyToContext { format: self.format_name.clone(), file_path: file_path.into() };
        BufferingBinding::bind_for(
            self.catalog.clone(),
            self.schema_path.clone(),
            &self.handler,
            &self.arguments,
            self.input_schema.clone(),
            Some(context),
            call,
        )
    }
}

impl CopyToBinding {
    pub fn bind(
        catalog: Arc<AttachedCatalog>,
        format: &CopyFormat,
        file_path: &str,
        options: &RecordBatch,
        input_schema: SchemaRef,
        call: &CallContext<'_>,
    ) -> Result<Self> {
        let sink = CopySink {
            arguments: format.arguments(options)?,
            schema_path: format.handler_schema(&catalog, FunctionType::TableBuffering)?,
            catalog,
            format_name: format.info.format_name.clone(),
            handler: format.info.handler.clone(),
            input_schema,
        };
        let bound = Arc::new(sink.bind_to(file_path, call)?);
        Ok(CopyToBinding { sink, file_path: file_path.into(), bound })
    }

    /// Starts writing `file_path`: DuckDB's path, which is a temporary sibling when it
    /// replaces an existing file (the worker is then bound again, to write that one).
    pub fn start(&self, file_path: &str, call: &CallContext<'_>, cancel: CancelHandle) -> Result<CopyToExecution> {
        let binding = if file_path == self.file_path { self.bound.clone() } else { Arc::new(self.sink.bind_to(file_path, call)?) };
        Ok(CopyToExecution { execution: binding.start(cancel)? })
    }
}

/// One COPY ... TO run: its worker execution.
pub struct CopyToExecution {
    execution: BufferingExecution,
}

impl CopyToExecution {
    /// Sends rows to the worker (from any thread).
    pub fn sink(&self, batches: &[RecordBatch]) -> Result<()> {
        let rows: usize = batches.iter().map(RecordBatch::num_rows).sum();
        if rows == 0 {
            return Ok(());
        }
        let batch = arrow_select::concat::concat_batches(&batches[0].schema(), batches)?;
        self.execution.process(&batch, None)
    }

    /// End of input: the worker writes and closes the destination (once).
    pub fn finish(&self) -> Result<()> {
        self.execution.combine()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use arrow_array::cast::AsArray;
    use arrow_array::{BooleanArray, Int32Array, StringArray};
    use std::collections::HashMap;

    fn format() -> CopyFormat {
        let options = Schema::new(vec![
            Field::new("null_string", DataType::Utf8, true),
            Field::new("header", DataType::Boolean, true),
            Field::new("header_repeat", DataType::Int64, true),
        ]);
        let info = CopyFromFormatInfo {
            format_name: "example_lines_out".into(),
            handler: "example_lines_writer".into(),
            options: Blob(encode_schema(&options)),
            direction: "to".into(),
            ..Default::default()
        };
        CopyFormat { name: "acme.example_lines_out".into(), info, options: Arc::new(options) }
    }

    fn row(columns: Vec<(&str, ArrayRef)>) -> RecordBatch {
        RecordBatch::try_from_iter(columns).unwrap()
    }

    #[test]
    fn options_become_named_arguments_of_the_declared_types() {
        let options = row(vec![
            ("NULL_STRING", Arc::new(StringArray::from(vec!["NA"])) as ArrayRef),
            ("header", Arc::new(BooleanArray::from(vec![true]))),
            ("header_repeat", Arc::new(StringArray::from(vec!["3"]))),
        ]);
        let args = format().arguments(&options).unwrap();
        let names: Vec<&str> = args.named.iter().map(|(n, _)| n.as_str()).collect();
        assert_eq!(names, ["null_string", "header", "header_repeat"]);
        assert_eq!(args.named[2].1.as_primitive::<arrow_array::types::Int64Type>().value(0), 3);
    }

    #[test]
    fn unknown_and_ill_typed_options_are_rejected() {
        let unknown = row(vec![("bogus", Arc::new(Int32Array::from(vec![1])) as ArrayRef)]);
        let e = format().arguments(&unknown).unwrap_err();
        assert_eq!(e.kind, crate::error::ErrorKind::Binder);
        assert!(e.message.starts_with("Unsupported option 'bogus' for COPY FORMAT 'acme.example_lines_out'"), "{}", e.message);
        let bad = row(vec![("header_repeat", Arc::new(StringArray::from(vec!["many"])) as ArrayRef)]);
        let e = format().arguments(&bad).unwrap_err();
        assert_eq!(e.message, "COPY option 'header_repeat' of FORMAT 'acme.example_lines_out' expects a BIGINT value, not 'many'");
    }

    #[test]
    fn booleans_of_the_target_are_plain_arrow_booleans() {
        let bool8 = HashMap::from([(EXTENSION_NAME.to_string(), "arrow.bool8".to_string())]);
        let flag = Field::new("flag", DataType::Int8, true).with_metadata(bool8.clone());
        let item = Field::new("item", DataType::Int8, true).with_metadata(bool8);
        let schema = Schema::new(vec![flag, Field::new("flags", DataType::List(Arc::new(item)), true), Field::new("n", DataType::Int8, true)]);
        let plain = plain_booleans(&schema);
        assert_eq!(plain.field(0).data_type(), &DataType::Boolean);
        assert!(plain.field(0).metadata().is_empty());
        assert!(matches!(plain.field(1).data_type(), DataType::List(i) if i.data_type() == &DataType::Boolean));
        assert_eq!(plain.field(2).data_type(), &DataType::Int8);
    }
}
