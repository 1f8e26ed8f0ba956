//! Rust producers of Arrow batches behind DuckDB table functions (`cpp/arrow_scan.cpp`):
//! in-memory results (`vgi_catalogs`) and worker scans (catalog tables, table functions).
use std::sync::Arc;

use arrow_array::{ArrayRef, RecordBatch, RecordBatchOptions};
use arrow_schema::{Schema, SchemaRef};
use worker_client::arguments::Arguments;
use worker_client::records::{BindRequest, BindResponse, FunctionType, InitRequest};
use worker_client::wire::Record;
use worker_client::{CancelHandle, Pool, Stream, StreamKind};

use crate::catalog::{AttachedCatalog, BindOptions};
use crate::error::{Error, ErrorKind, Result};

/// The immutable result of binding a table function: its output schema and how to run it.
/// Opened once per execution, possibly from several threads.
pub trait Binding: Send + Sync {
    fn schema(&self) -> SchemaRef;
    /// Estimated and maximum row counts, when the worker knows them (optimizer, progress bar).
    fn cardinality(&self) -> Option<(u64, Option<u64>)> {
        None
    }
    /// What EXPLAIN shows about the call (the worker function it runs).
    fn describe(&self) -> String {
        String::new()
    }
    /// Starts an execution producing the columns `projection` (indices into `schema()`, in
    /// that order; `None` = all columns).
    /// `cancel` reports when DuckDB interrupted the query.
    fn open(&self, projection: Option<&[usize]>, cancel: CancelHandle) -> Result<Box<dyn Scan>>;
}

/// One execution of a binding.
pub trait Scan: Send {
    /// The schema of the batches `next_batch` returns.
    fn schema(&self) -> SchemaRef;
    /// The next batch; `None` at the end.
    fn next_batch(&mut self) -> Result<Option<RecordBatch>>;
    /// Asks the scan to stop promptly; called from another thread.
    fn cancel(&self) {}
}

/// A scan over batches that are already in memory (small metadata results).
pub struct MemoryScan {
    schema: SchemaRef,
    batches: std::vec::IntoIter<RecordBatch>,
}

impl MemoryScan {
    pub fn new(schema: SchemaRef, batches: Vec<RecordBatch>) -> Self {
        MemoryScan { schema, batches: batches.into_iter() }
    }
}

impl Scan for MemoryScan {
    fn schema(&self) -> SchemaRef {
        self.schema.clone()
    }
    fn next_batch(&mut self) -> Result<Option<RecordBatch>> {
        Ok(self.batches.next())
    }
}

/// Rejects a batch that does not match the schema the scan promised: DuckDB's Arrow reader
/// trusts the layout it was bound with, so a mismatch must never reach it.
pub fn check_batch(schema: &SchemaRef, batch: &RecordBatch) -> Result<()> {
    let got = batch.schema();
    if got.fields().len() != schema.fields().len() {
        return Err(Error::new(
            ErrorKind::Io,
            format!("the worker sent a batch with {} columns, but the scan expects {}", got.fields().len(), schema.fields().len()),
        ));
    }
    for (sent, bound) in got.fields().iter().zip(schema.fields()) {
        if sent.data_type() != bound.data_type() {
            return Err(Error::new(
                ErrorKind::Io,
                format!("the worker sent column `{}` as {}, but it was bound as {}", bound.name(), sent.data_type(), bound.data_type()),
            ));
        }
    }
    Ok(())
}

/// A worker table function (or a catalog table's scan function), bound.
pub struct WorkerBinding {
    catalog: Arc<AttachedCatalog>,
    request: BindRequest,
    response: BindResponse,
    /// The schema DuckDB sees (a catalog table's columns, or the bound output).
    schema: SchemaRef,
    /// For each column of `schema`, its index in the worker's bound output schema (the
    /// indices `projection_ids` refer to).
    output_index: Vec<usize>,
    cardinality: Option<(u64, Option<u64>)>,
}

impl WorkerBinding {
    /// `bind` on the worker.
    pub fn bind(catalog: Arc<AttachedCatalog>, function: &str, schema_path: Option<Vec<String>>, arguments: &Arguments) -> Result<Self> {
        Self::bind_at(catalog, function, schema_path, arguments, None)
    }

    fn bind_at(
        catalog: Arc<AttachedCatalog>,
        function: &str,
        schema_path: Option<Vec<String>>,
        arguments: &Arguments,
        at: Option<(String, String)>,
    ) -> Result<Self> {
        let (request, response, schema) = catalog.bind_function(
            function,
            FunctionType::Table,
            schema_path,
            arguments,
            BindOptions { at, ..Default::default() },
        )?;
        let output_index = (0..schema.fields().len()).collect();
        // Best effort: a worker without the method (or an error) just leaves it unknown.
        let cardinality_request = worker_client::records::TableFunctionCardinalityRequest {
            bind_call: request.to_blob(),
            bind_opaque_data: response.opaque_data.clone(),
        };
        let cardinality = catalog
            .with_client(|c| c.cardinality(&cardinality_request))
            .ok()
            .and_then(|c| c.estimate.map(|e| (e.max(0) as u64, c.max.map(|m| m.max(0) as u64))));
        Ok(WorkerBinding { catalog, request, response, schema, output_index, cardinality })
    }

    /// Presents the bound output in the order of a catalog table's declared columns (a scan
    /// function may return them in another order, or more of them).
    fn with_table_columns(mut self, table: &Schema, name: &str) -> Result<Self> {
        let mut fields = Vec::new();
        let mut output_index = Vec::new();
        for column in table.fields() {
            let (index, field) = self.schema.column_with_name(column.name()).ok_or_else(|| {
                Error::new(
                    ErrorKind::Io,
                    format!("the worker's scan of {name} has no column `{}` (it returns: {})", column.name(), field_names(&self.schema)),
                )
            })?;
            fields.push(field.clone());
            output_index.push(index);
        }
        self.schema = Arc::new(Schema::new(fields));
        self.output_index = output_index;
        Ok(self)
    }

    /// Binds the scan function of a catalog table, optionally as of `at` (unit, value: DuckDB's
    /// `AT (VERSION => ...)` / `AT (TIMESTAMP => ...)`).
    pub fn bind_table(catalog: Arc<AttachedCatalog>, schema_path: Vec<String>, table: &str, at: Option<(String, String)>) -> Result<Self> {
        let info = match &at {
            Some(at) => catalog.table_at(&schema_path, table, at)?,
            None => catalog.contents()?.schema(&schema_path.join(".")).and_then(|s| s.table(table)).cloned(),
        };
        let inline = if at.is_some() { None } else { info.as_ref().and_then(|t| t.scan_function.clone()) };
        let scan = match inline {
            Some(blob) => worker_client::records::ScanFunctionResult::from_blob(&blob.0)?,
            None => {
                let scope = worker_client::methods::TableAtScope {
                    attach_opaque_data: catalog.attach_data(),
                    schema_path: schema_path.clone(),
                    name: table.into(),
                    at_unit: at.as_ref().map(|a| a.0.clone()),
                    at_value: at.as_ref().map(|a| a.1.clone()),
                    transaction_opaque_data: None,
                };
                catalog.with_client(|c| c.table_scan_function(&scope))?
            }
        };
        let arguments = Arguments::from_scan_function_result(&scan.arguments.0)?;
        let columns = info.as_ref().map(crate::catalog::table_columns).transpose()?;
        let bound = Self::bind_at(catalog, &scan.function_name, scan.schema_path.or(Some(schema_path)), &arguments, at)?;
        match columns {
            Some(columns) => bound.with_table_columns(&columns, table),
            None => Ok(bound),
        }
    }
}

impl Binding for WorkerBinding {
    fn schema(&self) -> SchemaRef {
        self.schema.clone()
    }

    fn cardinality(&self) -> Option<(u64, Option<u64>)> {
        self.cardinality
    }

    fn describe(&self) -> String {
        match &self.request.schema_path {
            Some(path) if !path.is_empty() => format!("{}.{}", path.join("."), self.request.function_name),
            _ => self.request.function_name.clone(),
        }
    }

    fn open(&self, projection: Option<&[usize]>, cancel: CancelHandle) -> Result<Box<dyn Scan>> {
        let projected = match projection {
            Some(ids) => Arc::new(self.schema.project(ids)?),
            None => self.schema.clone(),
        };
        // No columns (count(*)): ask for everything and count rows, the worker's contract.
        let projection_ids =
            projection.filter(|ids| !ids.is_empty()).map(|ids| ids.iter().map(|&i| self.output_index[i] as i64).collect());
        let init = InitRequest {
            bind_call: self.request.to_blob(),
            output_schema: self.response.output_schema.clone(),
            bind_opaque_data: self.response.opaque_data.clone(),
            projection_ids,
            ..Default::default()
        };
        let client = Pool::global().get(&self.catalog.location, &self.catalog.connect)?;
        let stream = match client.init(&init, StreamKind::Producer, Some(cancel.clone())) {
            Ok(stream) => stream,
            Err(failed) => {
                if let Some(client) = failed.client {
                    Pool::global().put(client);
                }
                return Err(failed.error.into());
            }
        };
        Ok(Box::new(WorkerScan { stream: Some(stream), schema: projected, cancel }))
    }
}

/// One producer stream of a worker scan.
pub struct WorkerScan {
    stream: Option<Stream>,
    schema: SchemaRef,
    cancel: CancelHandle,
}

impl WorkerScan {
    /// Picks the promised columns out of a worker batch by name (a worker without projection
    /// pushdown sends all columns).
    fn project(&self, batch: RecordBatch) -> Result<RecordBatch> {
        if batch.schema().fields() == self.schema.fields() {
            return Ok(batch);
        }
        let columns: Vec<ArrayRef> = self
            .schema
            .fields()
            .iter()
            .map(|f| {
                batch.column_by_name(f.name()).cloned().ok_or_else(|| {
                    Error::new(ErrorKind::Io, format!("the worker's batch has no column `{}` (it sent: {})", f.name(), field_names(&batch.schema())))
                })
            })
            .collect::<Result<_>>()?;
        let options = RecordBatchOptions::new().with_row_count(Some(batch.num_rows()));
        RecordBatch::try_new_with_options(self.schema.clone(), columns, &options).map_err(|e| {
            Error::new(ErrorKind::Io, format!("the worker sent a batch that does not match the bound schema: {e}"))
        })
    }
}

fn field_names(schema: &Schema) -> String {
    schema.fields().iter().map(|f| f.name().as_str()).collect::<Vec<_>>().join(", ")
}

impl Scan for WorkerScan {
    fn schema(&self) -> SchemaRef {
        self.schema.clone()
    }

    fn next_batch(&mut self) -> Result<Option<RecordBatch>> {
        let Some(stream) = self.stream.as_mut() else { return Ok(None) };
        match stream.next_batch(&[])? {
            Some((batch, _)) => Ok(Some(self.project(batch)?)),
            None => {
                let stream = self.stream.take().expect("checked above");
                if let Ok(client) = stream.finish() {
                    Pool::global().put(client);
                }
                Ok(None)
            }
        }
    }

    fn cancel(&self) {
        self.cancel.cancel();
    }
}

impl Drop for WorkerScan {
    fn drop(&mut self) {
        // Ended early (LIMIT, error, interrupt): stop the worker's stream so the connection
        // can be reused; if that fails the connection is discarded with the stream.
        if let Some(stream) = self.stream.take() {
            if !self.cancel.is_cancelled() {
                if let Ok(client) = stream.cancel() {
                    Pool::global().put(client);
                }
            }
        }
    }
}
