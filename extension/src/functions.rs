//! Worker functions that DuckDB calls with rows: table-in-out functions (`f((SELECT ...))`),
//! driven as an INPUT-phase exchange stream, plus the optional FINALIZE producer.
use std::sync::Arc;

use arrow_array::RecordBatch;
use arrow_schema::SchemaRef;
use worker_client::arguments::Arguments;
use worker_client::framing::{decode_schema, encode_schema, meta_get};
use worker_client::records::{BindRequest, BindResponse, FunctionType, InitRequest, TableInOutFunctionInitPhase};
use worker_client::wire::{Blob, Record};
use worker_client::{CancelHandle, Client, Pool, Stream, StreamKind};

use crate::catalog::AttachedCatalog;
use crate::error::{Error, ErrorKind, Result};

/// Batch metadata a table-in-out worker uses to say it has more output for the same input.
const STATUS_KEY: &str = "vgi.status";
const HAVE_MORE_OUTPUT: &str = "HAVE_MORE_OUTPUT";

/// A table-in-out function bound to its input relation's schema.
pub struct InOutBinding {
    catalog: Arc<AttachedCatalog>,
    request: BindRequest,
    response: BindResponse,
    input_schema: SchemaRef,
    output_schema: SchemaRef,
    has_finalize: bool,
}

impl InOutBinding {
    pub fn bind(
        catalog: Arc<AttachedCatalog>,
        schema_path: Vec<String>,
        function: &str,
        arguments: &Arguments,
        input_schema: SchemaRef,
    ) -> Result<Self> {
        let has_finalize = catalog
            .contents()?
            .schema(&schema_path.join("."))
            .and_then(|s| s.functions.iter().find(|f| f.name == function))
            .is_some_and(|f| f.has_finalize);
        let request = BindRequest {
            function_name: function.into(),
            arguments: arguments.to_blob()?,
            function_type: FunctionType::Table,
            input_schema: Some(Blob(encode_schema(&input_schema))),
            attach_opaque_data: Some(catalog.attach_data()),
            schema_path: Some(schema_path),
            ..Default::default()
        };
        let response = catalog.with_client(|c| c.bind(&request, None))?;
        let output_schema = Arc::new(decode_schema(&response.output_schema.0)?);
        Ok(InOutBinding { catalog, request, response, input_schema, output_schema, has_finalize })
    }

    pub fn output_schema(&self) -> SchemaRef {
        self.output_schema.clone()
    }

    fn init_request(&self, phase: TableInOutFunctionInitPhase, substream: &Blob) -> InitRequest {
        InitRequest {
            bind_call: self.request.to_blob(),
            output_schema: self.response.output_schema.clone(),
            bind_opaque_data: self.response.opaque_data.clone(),
            phase: Some(phase),
            substream_id: Some(substream.clone()),
            ..Default::default()
        }
    }

    /// Opens the INPUT-phase exchange.
    pub fn open(self: &Arc<Self>, cancel: CancelHandle) -> Result<InOutExecution> {
        let substream = Blob(random_id().to_vec());
        let init = self.init_request(TableInOutFunctionInitPhase::Input, &substream);
        let client = Pool::global().get(&self.catalog.location, &self.catalog.connect)?;
        let stream = open_or_return(client, &init, StreamKind::Exchange(self.input_schema.clone()), cancel.clone())?;
        Ok(InOutExecution { binding: self.clone(), stream: Some(stream), substream, cancel })
    }
}

/// Opens a stream; on an in-band failure the connection goes back to the pool.
fn open_or_return(client: Client, init: &InitRequest, kind: StreamKind, cancel: CancelHandle) -> Result<Stream> {
    client.init(init, kind, Some(cancel)).map_err(|failed| {
        if let Some(client) = failed.client {
            Pool::global().put(client);
        }
        failed.error.into()
    })
}

/// 16 bytes that identify one INPUT substream (random enough to never collide in a run).
fn random_id() -> [u8; 16] {
    use std::hash::{BuildHasher, Hasher};
    let mut out = [0u8; 16];
    for chunk in out.chunks_mut(8) {
        let mut h = std::collections::hash_map::RandomState::new().build_hasher();
        h.write_u128(std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).map(|d| d.as_nanos()).unwrap_or(0));
        chunk.copy_from_slice(&h.finish().to_le_bytes());
    }
    out
}

/// One execution of a table-in-out function.
pub struct InOutExecution {
    binding: Arc<InOutBinding>,
    stream: Option<Stream>,
    substream: Blob,
    cancel: CancelHandle,
}

impl InOutExecution {
    /// Sends one input batch; returns every output batch the worker produced for it.
    pub fn process(&mut self, input: &RecordBatch) -> Result<Vec<RecordBatch>> {
        let stream = self.stream.as_mut().ok_or_else(|| Error::internal("table-in-out input after finish"))?;
        let mut outputs = Vec::new();
        let (mut batch, mut md) = stream.exchange(input, &[])?;
        // The worker may hold more output for this input: ask with empty continuation ticks.
        while meta_get(&md, STATUS_KEY) == Some(HAVE_MORE_OUTPUT) {
            outputs.push(batch);
            let tick = RecordBatch::new_empty(self.binding.input_schema.clone());
            (batch, md) = stream.exchange(&tick, &[(STATUS_KEY, "CONTINUE")])?;
        }
        outputs.push(batch);
        outputs.into_iter().map(|b| self.check(b)).collect()
    }

    /// Ends the input; runs the FINALIZE phase when the function has one and returns its
    /// batches.
    pub fn finish(&mut self) -> Result<Vec<RecordBatch>> {
        let Some(stream) = self.stream.take() else { return Ok(Vec::new()) };
        let header = stream.header().clone();
        let client = stream.finish()?;
        if !self.binding.has_finalize {
            Pool::global().put(client);
            return Ok(Vec::new());
        }
        let mut init = self.binding.init_request(TableInOutFunctionInitPhase::Finalize, &self.substream);
        init.execution_id = Some(header.execution_id);
        init.init_opaque_data = header.opaque_data;
        let mut producer = open_or_return(client, &init, StreamKind::Producer, self.cancel.clone())?;
        let mut outputs = Vec::new();
        while let Some((batch, _)) = producer.next_batch(&[])? {
            outputs.push(self.check(batch)?);
        }
        Pool::global().put(producer.finish()?);
        Ok(outputs)
    }

    fn check(&self, batch: RecordBatch) -> Result<RecordBatch> {
        if batch.schema().fields() != self.binding.output_schema.fields() {
            return Err(Error::new(
                ErrorKind::Io,
                format!(
                    "the worker's table-in-out output does not match its bound schema (sent {:?}, bound {:?})",
                    batch.schema().fields().iter().map(|f| format!("{}: {}", f.name(), f.data_type())).collect::<Vec<_>>(),
                    self.binding.output_schema.fields().iter().map(|f| format!("{}: {}", f.name(), f.data_type())).collect::<Vec<_>>()
                ),
            ));
        }
        Ok(batch)
    }
}

impl Drop for InOutExecution {
    fn drop(&mut self) {
        // Abandoned (error, interrupt, LIMIT upstream): cancel so the connection is reusable.
        if let Some(stream) = self.stream.take() {
            if !self.cancel.is_cancelled() {
                if let Ok(client) = stream.cancel() {
                    Pool::global().put(client);
                }
            }
        }
    }
}

/// A scalar function bound to the types of its column arguments (constant arguments travel
/// in `Arguments`).
pub struct ScalarBinding {
    catalog: Arc<AttachedCatalog>,
    request: BindRequest,
    response: BindResponse,
    input_schema: SchemaRef,
    output_schema: SchemaRef,
}

impl ScalarBinding {
    pub fn bind(
        catalog: Arc<AttachedCatalog>,
        schema_path: Vec<String>,
        function: &str,
        constants: &Arguments,
        input_schema: SchemaRef,
    ) -> Result<Self> {
        let request = BindRequest {
            function_name: function.into(),
            arguments: constants.to_blob()?,
            function_type: FunctionType::Scalar,
            input_schema: Some(Blob(encode_schema(&input_schema))),
            attach_opaque_data: Some(catalog.attach_data()),
            schema_path: Some(schema_path),
            ..Default::default()
        };
        let response = catalog.with_client(|c| c.bind(&request, None))?;
        let output_schema = Arc::new(decode_schema(&response.output_schema.0)?);
        if output_schema.fields().len() != 1 {
            return Err(Error::new(ErrorKind::Io, format!("scalar function {function} must return one column, its bind returned {}", output_schema.fields().len())));
        }
        Ok(ScalarBinding { catalog, request, response, input_schema, output_schema })
    }

    pub fn output_schema(&self) -> SchemaRef {
        self.output_schema.clone()
    }

    /// Opens the exchange stream one DuckDB thread uses for its chunks.
    pub fn open(self: &Arc<Self>, cancel: CancelHandle) -> Result<ScalarExecution> {
        let init = InitRequest {
            bind_call: self.request.to_blob(),
            output_schema: self.response.output_schema.clone(),
            bind_opaque_data: self.response.opaque_data.clone(),
            ..Default::default()
        };
        let client = Pool::global().get(&self.catalog.location, &self.catalog.connect)?;
        let stream = open_or_return(client, &init, StreamKind::Exchange(self.input_schema.clone()), cancel.clone())?;
        Ok(ScalarExecution { binding: self.clone(), stream: Some(stream), cancel })
    }
}

/// One thread's exchange stream for a scalar function.
pub struct ScalarExecution {
    binding: Arc<ScalarBinding>,
    stream: Option<Stream>,
    cancel: CancelHandle,
}

impl ScalarExecution {
    /// Evaluates one chunk: the result has exactly one row per input row.
    pub fn call(&mut self, input: &RecordBatch) -> Result<RecordBatch> {
        let stream = self.stream.as_mut().ok_or_else(|| Error::internal("scalar call after close"))?;
        let (mut output, _) = stream.exchange(input, &[])?;
        let expected_rows = input.num_rows();
        if input.num_columns() == 0 && output.num_rows() == 1 && expected_rows > 1 {
            // A zero-argument call over HTTP loses the row count of its column-less input
            // (the worker answers one row): evaluate it once per row instead.
            let one_row = RecordBatch::try_new_with_options(
                input.schema(),
                vec![],
                &arrow_array::RecordBatchOptions::new().with_row_count(Some(1)),
            )?;
            let mut rows = vec![output];
            for _ in 1..expected_rows {
                rows.push(stream.exchange(&one_row, &[])?.0);
            }
            output = arrow_select::concat::concat_batches(&rows[0].schema(), &rows)?;
        }
        if output.num_rows() != expected_rows || output.schema().fields() != self.binding.output_schema.fields() {
            return Err(Error::new(
                ErrorKind::Io,
                format!(
                    "the worker's scalar result has {} rows of {:?}, expected {} rows of {:?}",
                    output.num_rows(),
                    output.schema().fields().iter().map(|f| f.data_type().to_string()).collect::<Vec<_>>(),
                    expected_rows,
                    self.binding.output_schema.fields().iter().map(|f| f.data_type().to_string()).collect::<Vec<_>>()
                ),
            ));
        }
        Ok(output)
    }
}

impl Drop for ScalarExecution {
    fn drop(&mut self) {
        if let Some(stream) = self.stream.take() {
            let done = if self.cancel.is_cancelled() { stream.cancel() } else { stream.finish() };
            if let Ok(client) = done {
                Pool::global().put(client);
            }
        }
    }
}
