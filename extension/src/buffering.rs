//! Table buffering functions (sink + source, §4.7): every input chunk goes to
//! `table_buffering_process` (from any thread), `table_buffering_combine` runs once when the
//! input is done, then each finalize state is read as a producer stream (in parallel unless the
//! worker needs order), and `table_buffering_destructor` always runs at the end.
use std::collections::VecDeque;
use std::sync::{Arc, Mutex};

use arrow_array::RecordBatch;
use arrow_schema::SchemaRef;
use worker_client::arguments::Arguments;
use worker_client::framing::encode_stream;
use worker_client::records::{
    BindRequest, BindResponse, FunctionType, InitRequest, TableBufferingCombineRequest, TableBufferingCombineResponse,
    TableBufferingDestructorRequest, TableBufferingDestructorResponse, TableBufferingProcessRequest,
    TableBufferingProcessResponse, TableInOutFunctionInitPhase,
};
use worker_client::stream::{Stream, StreamKind};
use worker_client::wire::{Blob, Record};
use worker_client::client::request_batch;
use worker_client::{CancelHandle, Pool};

use crate::call_context::CallContext;
use crate::catalog::{AttachedCatalog, BindOptions};
use crate::error::{Error, ErrorKind, Result};

/// A buffering function bound to its input relation.
pub struct BufferingBinding {
    catalog: Arc<AttachedCatalog>,
    schema_path: Vec<String>,
    function: String,
    request: BindRequest,
    response: BindResponse,
    output_schema: SchemaRef,
    /// The worker needs the input in order (one sink thread) / its output in order (one source).
    sink_order_dependent: bool,
    source_order_dependent: bool,
    requires_batch_index: bool,
}

impl BufferingBinding {
    pub fn bind(
        catalog: Arc<AttachedCatalog>,
        schema_path: Vec<String>,
        function: &str,
        arguments: &Arguments,
        input_schema: SchemaRef,
        call: &CallContext<'_>,
    ) -> Result<Self> {
        Self::bind_for(catalog, schema_path, function, arguments, input_schema, None, call)
    }

    /// Binds a buffering function for `f((SELECT ...))`, or as the sink of a COPY ... TO.
    pub fn bind_for(
        catalog: Arc<AttachedCatalog>,
        schema_path: Vec<String>,
        function: &str,
        arguments: &Arguments,
        input_schema: SchemaRef,
        copy_to: Option<worker_client::records::CopyToContext>,
        call: &CallContext<'_>,
    ) -> Result<Self> {
        let info = catalog.function_named(&schema_path, function, FunctionType::TableBuffering);
        let (request, response, output_schema) = catalog.bind_function(
            function,
            FunctionType::TableBuffering,
            Some(schema_path.clone()),
            arguments,
            BindOptions { input_schema: Some(&input_schema), call: Some(call), copy_to, ..Default::default() },
        )?;
        Ok(BufferingBinding {
            catalog,
            schema_path,
            function: function.into(),
            request,
            response,
            output_schema,
            // A worker that numbers its input batches gets them in order, from one thread.
            sink_order_dependent: info.as_ref().is_some_and(|f| f.sink_order_dependent || f.requires_input_batch_index),
            source_order_dependent: info.as_ref().is_some_and(|f| f.source_order_dependent),
            requires_batch_index: info.as_ref().is_some_and(|f| f.requires_input_batch_index),
        })
    }

    pub fn output_schema(&self) -> SchemaRef {
        self.output_schema.clone()
    }

    /// Whether the input must reach the worker in order, on one thread.
    pub fn sink_order_dependent(&self) -> bool {
        self.sink_order_dependent
    }

    /// Whether the output must be read one finalize stream after another, in order.
    pub fn source_order_dependent(&self) -> bool {
        self.source_order_dependent
    }

    fn init_request(&self, phase: TableInOutFunctionInitPhase) -> InitRequest {
        InitRequest {
            bind_call: self.request.to_blob(),
            output_schema: self.response.output_schema.clone(),
            bind_opaque_data: self.response.opaque_data.clone(),
            phase: Some(phase),
            ..Default::default()
        }
    }

    /// The sink init: the worker records the execution and answers its id; the stream carries
    /// no data and is closed at once.
    pub fn start(self: &Arc<Self>, cancel: CancelHandle) -> Result<BufferingExecution> {
        let init = self.init_request(TableInOutFunctionInitPhase::TableBuffering);
        let stream = open(&self.catalog, &init, cancel.clone())?;
        let execution_id = stream.header().execution_id.clone();
        Pool::global().put(stream.finish()?);
        Ok(BufferingExecution {
            binding: self.clone(),
            execution_id,
            state_ids: Mutex::new(Vec::new()),
            finalize_ids: Mutex::new(None),
            cancel,
        })
    }
}

fn open(catalog: &AttachedCatalog, init: &InitRequest, cancel: CancelHandle) -> Result<Stream> {
    let client = Pool::global().get(&catalog.location, &catalog.connect)?;
    client.init(init, StreamKind::Producer, Some(cancel)).map_err(|failed| {
        if let Some(client) = failed.client {
            Pool::global().put(client);
        }
        failed.error.into()
    })
}

/// One execution: the sink states so far, then the finalize states still to read.
pub struct BufferingExecution {
    binding: Arc<BufferingBinding>,
    execution_id: Blob,
    /// (DuckDB batch index, state id) per processed chunk.
    state_ids: Mutex<Vec<(Option<i64>, Blob)>>,
    finalize_ids: Mutex<Option<VecDeque<Blob>>>,
    cancel: CancelHandle,
}

impl BufferingExecution {
    /// Sinks one input chunk (any thread); `batch_index` is DuckDB's, when the pipeline has one.
    pub fn process(&self, input: &RecordBatch, batch_index: Option<i64>) -> Result<()> {
        let binding = &self.binding;
        let request = TableBufferingProcessRequest {
            function_name: binding.function.clone(),
            execution_id: self.execution_id.clone(),
            input_batch: Blob(encode_stream(input, &[])?),
            attach_opaque_data: Some(binding.catalog.attach_data()),
            transaction_id: binding.request.transaction_opaque_data.clone(),
            batch_index: if binding.requires_batch_index { batch_index } else { None },
            schema_path: Some(binding.schema_path.clone()),
        };
        let response: TableBufferingProcessResponse =
            binding.catalog.with_client(|c| c.call_record("table_buffering_process", &request_batch(&request), Some(&self.cancel)))?;
        self.state_ids.lock().unwrap_or_else(|p| p.into_inner()).push((batch_index, response.state_id));
        Ok(())
    }

    /// End of input: combines every sink state once (later calls do nothing).
    pub fn combine(&self) -> Result<()> {
        let mut finalize = self.finalize_ids.lock().unwrap_or_else(|p| p.into_inner());
        if finalize.is_some() {
            return Ok(());
        }
        let mut states = std::mem::take(&mut *self.state_ids.lock().unwrap_or_else(|p| p.into_inner()));
        // Chunks from several threads arrive in any order; the batch index restores DuckDB's.
        states.sort_by_key(|(index, _)| *index);
        let binding = &self.binding;
        let request = TableBufferingCombineRequest {
            function_name: binding.function.clone(),
            execution_id: self.execution_id.clone(),
            state_ids: states.into_iter().map(|(_, id)| id).collect(),
            attach_opaque_data: Some(binding.catalog.attach_data()),
            transaction_id: binding.request.transaction_opaque_data.clone(),
            schema_path: Some(binding.schema_path.clone()),
        };
        let response: TableBufferingCombineResponse =
            binding.catalog.with_client(|c| c.call_record("table_buffering_combine", &request_batch(&request), Some(&self.cancel)))?;
        *finalize = Some(response.finalize_state_ids.into());
        Ok(())
    }

    /// Opens the next finalize stream, or `None` when every one has been taken.
    pub fn next_source(&self, cancel: CancelHandle) -> Result<Option<BufferingSource>> {
        let id = {
            let mut finalize = self.finalize_ids.lock().unwrap_or_else(|p| p.into_inner());
            let queue = finalize.as_mut().ok_or_else(|| Error::internal("buffering output read before combine"))?;
            match queue.pop_front() {
                Some(id) => id,
                None => return Ok(None),
            }
        };
        let mut init = self.binding.init_request(TableInOutFunctionInitPhase::TableBufferingFinalize);
        init.execution_id = Some(self.execution_id.clone());
        init.finalize_state_id = Some(id);
        let stream = open(&self.binding.catalog, &init, cancel)?;
        Ok(Some(BufferingSource { stream: Some(stream), output_schema: self.binding.output_schema.clone() }))
    }
}

impl Drop for BufferingExecution {
    /// The destructor always runs (also after errors and cancellation); it is best-effort.
    fn drop(&mut self) {
        let binding = &self.binding;
        let request = TableBufferingDestructorRequest {
            function_name: binding.function.clone(),
            execution_id: self.execution_id.clone(),
            attach_opaque_data: Some(binding.catalog.attach_data()),
            transaction_id: binding.request.transaction_opaque_data.clone(),
            schema_path: Some(binding.schema_path.clone()),
        };
        let _ = binding.catalog.with_client(|c| {
            c.call_record::<TableBufferingDestructorResponse>("table_buffering_destructor", &request_batch(&request), None)
        });
    }
}

/// One finalize stream of the source phase.
pub struct BufferingSource {
    stream: Option<Stream>,
    output_schema: SchemaRef,
}

impl BufferingSource {
    /// The next non-empty output batch, or `None` at the end of this stream.
    pub fn next(&mut self) -> Result<Option<RecordBatch>> {
        loop {
            let Some(stream) = self.stream.as_mut() else { return Ok(None) };
            match stream.next_batch(&[])? {
                Some((batch, _)) => {
                    if batch.schema().fields() != self.output_schema.fields() {
                        // The channel may hold more of this answer: never reuse it.
                        stream.poison();
                        return Err(Error::new(
                            ErrorKind::Io,
                            format!(
                                "the worker's buffering output ({}) does not match its bound schema ({})",
                                field_list(&batch.schema()),
                                field_list(&self.output_schema)
                            ),
                        ));
                    }
                    if batch.num_rows() > 0 {
                        return Ok(Some(batch));
                    }
                }
                None => {
                    let stream = self.stream.take().expect("checked above");
                    Pool::global().put(stream.finish()?);
                    return Ok(None);
                }
            }
        }
    }
}

impl Drop for BufferingSource {
    fn drop(&mut self) {
        if let Some(stream) = self.stream.take() {
            crate::scan::abandon(stream);
        }
    }
}

fn field_list(schema: &arrow_schema::Schema) -> String {
    schema.fields().iter().map(|f| format!("{} {}", f.name(), f.data_type())).collect::<Vec<_>>().join(", ")
}
