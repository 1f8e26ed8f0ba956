//! Worker functions that DuckDB calls with rows: table-in-out functions (`f((SELECT ...))`),
//! driven as an INPUT-phase exchange stream, plus the optional FINALIZE producer.
use std::sync::Arc;

use arrow_array::RecordBatch;
use arrow_schema::SchemaRef;
use worker_client::arguments::Arguments;
use worker_client::framing::{decode_schema, encode_schema, meta_get};
use worker_client::records::{BindRequest, BindResponse, FunctionType, InitRequest, TableInOutFunctionInitPhase};
use worker_client::wire::{Blob, Record};
use worker_client::transport::Location;
use worker_client::{CancelHandle, Client, Pool, Stream, StreamKind};

use worker_client::client::request_batch;

use crate::call_context::CallContext;
use crate::catalog::{AttachedCatalog, BindOptions};
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
        call: &CallContext<'_>,
    ) -> Result<Self> {
        let has_finalize = catalog.function_named(&schema_path, function, FunctionType::Table).is_some_and(|f| f.has_finalize);
        let (request, response, output_schema) =
            catalog.bind_function(
                function,
                FunctionType::Table,
                Some(schema_path),
                arguments,
                BindOptions { input_schema: Some(&input_schema), call: Some(call), ..Default::default() },
            )?;
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
        let checked: Result<Vec<RecordBatch>> = outputs.into_iter().map(|b| self.check(b)).collect();
        if checked.is_err() {
            // Output of another schema: the channel may hold more of it; never reuse it.
            if let Some(stream) = self.stream.as_mut() {
                stream.poison();
            }
        }
        checked
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
            match self.check(batch) {
                Ok(batch) => outputs.push(batch),
                Err(e) => {
                    producer.poison();
                    return Err(e);
                }
            }
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
        if let Some(stream) = self.stream.take() {
            crate::scan::abandon(stream);
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
    /// Repeated input rows of a chunk are sent once (the function is not volatile).
    deduplicate: bool,
    /// Each DuckDB chunk is its own worker call, as sent: the answer may depend on more than a
    /// row's own values (a volatile function, or one without column arguments, whose rows
    /// differ only by their position in the call).
    per_chunk: bool,
    /// The call has no column arguments but travels over HTTP, where an exchange without
    /// columns is taken for a producer's tick and loses its row count: its chunks carry one
    /// placeholder column of nulls, so the worker still sees how many rows to answer.
    placeholder: bool,
    /// Added to the worker's errors when the bind asked for secrets DuckDB does not have.
    secrets_hint: Option<String>,
}

impl ScalarBinding {
    pub fn bind(
        catalog: Arc<AttachedCatalog>,
        schema_path: Vec<String>,
        function: &str,
        constants: &Arguments,
        input_schema: SchemaRef,
        argument_names: Option<Vec<String>>,
        call: &CallContext<'_>,
    ) -> Result<Self> {
        // A function the catalog does not describe counts as volatile (never deduplicated).
        let volatile = catalog
            .function_named(&schema_path, function, FunctionType::Scalar)
            .is_none_or(|f| f.stability == Some(worker_client::records::FunctionStability::Volatile));
        let placeholder = input_schema.fields().is_empty() && Location::parse(&catalog.location).is_ok_and(|l| l.is_http());
        let input_schema = if placeholder { placeholder_schema() } else { input_schema };
        let (request, response, output_schema) = catalog.bind_function(
            function,
            FunctionType::Scalar,
            Some(schema_path),
            constants,
            BindOptions { input_schema: Some(&input_schema), argument_names, call: Some(call), ..Default::default() },
        )?;
        if output_schema.fields().len() != 1 {
            return Err(Error::new(ErrorKind::Io, format!("scalar function {function} must return one column, its bind returned {}", output_schema.fields().len())));
        }
        let deduplicate = !volatile && !placeholder && !input_schema.fields().is_empty();
        let per_chunk = volatile || placeholder || input_schema.fields().is_empty();
        let secrets_hint = call.missing_secrets_hint();
        Ok(ScalarBinding { catalog, request, response, input_schema, output_schema, deduplicate, per_chunk, placeholder, secrets_hint })
    }

    /// Whether every DuckDB chunk must be its own worker call (no batching across chunks, no
    /// constant shortcut).
    pub fn per_chunk(&self) -> bool {
        self.per_chunk
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
        let stream = open_or_return(client, &init, StreamKind::Exchange(self.input_schema.clone()), cancel.clone())
            .map_err(|e| self.with_secrets_hint(e))?;
        Ok(ScalarExecution {
            binding: self.clone(),
            stream: Some(stream),
            cancel,
            chunks: 0,
            misses: 0,
            queued: RowQueue::default(),
            answers: std::collections::VecDeque::new(),
            in_flight: None,
        })
    }

    /// The worker's error, followed by the hint when the bind asked for secrets DuckDB lacks.
    fn with_secrets_hint(&self, mut error: Error) -> Error {
        if let Some(hint) = &self.secrets_hint {
            error.message = format!("{}\n{hint}", error.message);
        }
        error
    }
}

/// One thread's exchange stream for a scalar function.
pub struct ScalarExecution {
    binding: Arc<ScalarBinding>,
    stream: Option<Stream>,
    cancel: CancelHandle,
    /// Chunks evaluated, and consecutive checked chunks without a repeated row.
    chunks: u64,
    misses: u64,
    /// Batched evaluation (`push`/`pop`): chunks waiting for the next worker turn, and the
    /// answers not yet taken, one per pushed chunk, oldest first.
    queued: RowQueue,
    answers: std::collections::VecDeque<RecordBatch>,
    in_flight: Option<Turn>,
}

/// After this many chunks in a row without repeats, only every DEDUP_SAMPLE_EVERY-th chunk is
/// checked (the check costs about as much as a small worker call saves).
const DEDUP_MISSES_BEFORE_SAMPLING: u64 = 4;
const DEDUP_SAMPLE_EVERY: u64 = 64;
/// Rows of a larger batch checked for repeats before the whole batch is (one DuckDB vector).
const DEDUP_PROBE_ROWS: usize = 2048;

impl ScalarExecution {
    /// Evaluates one chunk: the result has exactly one row per input row.
    pub fn call(&mut self, input: &RecordBatch) -> Result<RecordBatch> {
        self.finish_turn()?;
        let (send, spread) = self.deduplicate(input);
        let stream = self.stream.as_mut().ok_or_else(|| Error::internal("scalar call after close"))?;
        let output = exchange_rows(stream, &self.binding, &send);
        spread_back(output, spread).map_err(|e| self.binding.with_secrets_hint(e))
    }

    /// Queues one chunk; once `batch_rows` rows wait, one worker turn answers them all (a
    /// worker turn costs far more than the rows it carries). `batch_rows` 0: answer at once.
    /// A batched turn runs on a helper thread while DuckDB fills the next batch; its answers
    /// are ready once the next turn starts (or at `flush`).
    pub fn push(&mut self, input: RecordBatch, batch_rows: usize) -> Result<()> {
        let batch_rows = if self.binding.per_chunk { 0 } else { batch_rows };
        if self.queued.push(input) < batch_rows {
            return Ok(());
        }
        if batch_rows > 0 {
            return self.start_turn();
        }
        // Chunk by chunk: DuckDB needs this answer now, so a helper thread would only add cost.
        let Some((input, _)) = self.queued.take()? else { return Ok(()) };
        let output = self.call(&input)?;
        self.answers.push_back(output);
        Ok(())
    }

    /// The input has ended: sends whatever is queued and waits for every answer.
    pub fn flush(&mut self) -> Result<()> {
        self.start_turn()?;
        self.finish_turn()
    }

    /// The answer for the oldest pushed chunk not yet taken, if its turn has run, and how many
    /// answers remain after it.
    pub fn pop(&mut self) -> (Option<RecordBatch>, usize) {
        let answer = self.answers.pop_front();
        (answer, self.answers.len())
    }

    /// Sends the queued chunks as one turn, after the turn in flight has answered (answers
    /// come back in push order).
    fn start_turn(&mut self) -> Result<()> {
        let Some((input, sizes)) = self.queued.take()? else { return Ok(()) };
        self.finish_turn()?;
        let (send, spread) = self.deduplicate(&input);
        let mut stream = self.stream.take().ok_or_else(|| Error::internal("scalar call after close"))?;
        let binding = self.binding.clone();
        let worker = std::thread::Builder::new()
            .name("vgi-scalar-turn".into())
            .spawn(move || {
                let output = exchange_rows(&mut stream, &binding, &send);
                (stream, output)
            })
            .map_err(|e| Error::internal(format!("cannot start a scalar turn thread: {e}")))?;
        self.in_flight = Some(Turn { worker, spread, sizes });
        Ok(())
    }

    /// Waits for the turn in flight, if any, and splits its answer back into the pushed chunks.
    fn finish_turn(&mut self) -> Result<()> {
        let Some(turn) = self.in_flight.take() else { return Ok(()) };
        let (stream, output) = turn.worker.join().map_err(|_| Error::internal("a scalar turn thread panicked"))?;
        self.stream = Some(stream);
        let output = spread_back(output, turn.spread).map_err(|e| self.binding.with_secrets_hint(e))?;
        let mut offset = 0;
        for rows in turn.sizes {
            self.answers.push_back(output.slice(offset, rows));
            offset += rows;
        }
        Ok(())
    }

    /// What to send for `input`: each distinct row once when rows repeat, with the positions
    /// that spread the answers back. A stream whose chunks keep having no repeats checks only
    /// now and then.
    fn deduplicate(&mut self, input: &RecordBatch) -> (RecordBatch, Option<arrow_array::UInt32Array>) {
        self.chunks += 1;
        let check = self.binding.deduplicate && (self.misses < DEDUP_MISSES_BEFORE_SAMPLING || self.chunks % DEDUP_SAMPLE_EVERY == 0);
        let distinct = if check { distinct_rows(input) } else { None };
        if check {
            self.misses = if distinct.is_some() { 0 } else { self.misses + 1 };
        }
        match distinct {
            Some((unique, positions)) => (unique, Some(positions)),
            None => (input.clone(), None),
        }
    }
}

/// A batched turn in flight: the thread running it (it hands the stream back), how to spread
/// its answer over repeated rows, and the row counts of the chunks it answers.
struct Turn {
    worker: std::thread::JoinHandle<(Stream, Result<RecordBatch>)>,
    spread: Option<arrow_array::UInt32Array>,
    sizes: Vec<usize>,
}

/// Spreads the answers for distinct rows back over the rows they stood for.
fn spread_back(output: Result<RecordBatch>, positions: Option<arrow_array::UInt32Array>) -> Result<RecordBatch> {
    let output = output?;
    let Some(positions) = positions else { return Ok(output) };
    let column = arrow_select::take::take(output.column(0).as_ref(), &positions, None)?;
    Ok(RecordBatch::try_new(output.schema(), vec![column])?)
}

/// The input layout of a call without column arguments over HTTP (see `placeholder`).
fn placeholder_schema() -> SchemaRef {
    Arc::new(arrow_schema::Schema::new(vec![arrow_schema::Field::new("__vgi_rows", arrow_schema::DataType::Null, true)]))
}

/// One exchange turn: the worker's answer, one row per input row, in the bound layout.
fn exchange_rows(stream: &mut Stream, binding: &ScalarBinding, input: &RecordBatch) -> Result<RecordBatch> {
    let expected_rows = input.num_rows();
    let (output, _) = if binding.placeholder {
        let rows: arrow_array::ArrayRef = Arc::new(arrow_array::NullArray::new(expected_rows));
        stream.exchange(&RecordBatch::try_new(binding.input_schema.clone(), vec![rows])?, &[])?
    } else {
        stream.exchange(input, &[])?
    };
    if output.num_rows() != expected_rows || output.schema().fields() != binding.output_schema.fields() {
        // Not an answer to this turn: the channel may hold more of it; never reuse it.
        stream.poison();
        return Err(Error::new(
            ErrorKind::Io,
            format!(
                "the worker's scalar result has {} rows of {:?}, expected {} rows of {:?}",
                output.num_rows(),
                output.schema().fields().iter().map(|f| f.data_type().to_string()).collect::<Vec<_>>(),
                expected_rows,
                binding.output_schema.fields().iter().map(|f| f.data_type().to_string()).collect::<Vec<_>>()
            ),
        ));
    }
    Ok(output)
}

/// Batches waiting to go to the worker as one: a worker call costs far more than the rows it
/// carries (scalar chunks, aggregate updates).
#[derive(Default)]
struct RowQueue {
    batches: Vec<RecordBatch>,
    rows: usize,
}

impl RowQueue {
    /// Queues a batch; returns the rows now waiting.
    fn push(&mut self, batch: RecordBatch) -> usize {
        self.rows += batch.num_rows();
        self.batches.push(batch);
        self.rows
    }

    /// Everything queued as one batch, with the row count of each queued batch; `None` when
    /// nothing waits.
    fn take(&mut self) -> Result<Option<(RecordBatch, Vec<usize>)>> {
        self.rows = 0;
        let batches = std::mem::take(&mut self.batches);
        let sizes = batches.iter().map(RecordBatch::num_rows).collect();
        let batch = match batches.len() {
            0 => return Ok(None),
            1 => batches.into_iter().next().expect("one batch"),
            _ => arrow_select::concat::concat_batches(&batches[0].schema(), &batches)?,
        };
        Ok(Some((batch, sizes)))
    }
}

/// The distinct rows of `input` (first occurrences, in order) and, for every input row, the
/// position of its distinct row; `None` when every row is distinct (or rows cannot be compared).
fn distinct_rows(input: &RecordBatch) -> Option<(RecordBatch, arrow_array::UInt32Array)> {
    if input.num_rows() < 2 {
        return None;
    }
    let fields = input.schema().fields().iter().map(|f| arrow_row::SortField::new(f.data_type().clone())).collect();
    let converter = arrow_row::RowConverter::new(fields).ok()?;
    // A batched call holds many chunks: its first chunk's worth of rows decides whether the
    // whole batch is worth hashing.
    if input.num_rows() > DEDUP_PROBE_ROWS {
        let probe = converter.convert_columns(input.slice(0, DEDUP_PROBE_ROWS).columns()).ok()?;
        let mut seen = std::collections::HashSet::with_capacity(DEDUP_PROBE_ROWS);
        if (0..DEDUP_PROBE_ROWS).all(|i| seen.insert(probe.row(i))) {
            return None;
        }
    }
    let rows = converter.convert_columns(input.columns()).ok()?;
    let mut seen: std::collections::HashMap<arrow_row::Row<'_>, u32> = std::collections::HashMap::with_capacity(input.num_rows());
    let mut firsts: Vec<u32> = Vec::new();
    let positions: Vec<u32> = (0..input.num_rows())
        .map(|i| {
            *seen.entry(rows.row(i)).or_insert_with(|| {
                firsts.push(i as u32);
                (firsts.len() - 1) as u32
            })
        })
        .collect();
    if firsts.len() == input.num_rows() {
        return None;
    }
    let unique = arrow_select::take::take_record_batch(input, &arrow_array::UInt32Array::from(firsts)).ok()?;
    Some((unique, arrow_array::UInt32Array::from(positions)))
}

impl Drop for ScalarExecution {
    fn drop(&mut self) {
        // A turn in flight still owns the stream: take it back (the turn ends by the worker's
        // answer, the call timeout or DuckDB's interrupt).
        if let Some(turn) = self.in_flight.take() {
            if let Ok((stream, _)) = turn.worker.join() {
                self.stream = Some(stream);
            }
        }
        if let Some(stream) = self.stream.take() {
            if self.cancel.is_cancelled() {
                crate::scan::abandon(stream);
            } else if let Ok(client) = stream.finish() {
                Pool::global().put(client);
            }
        }
    }
}

/// A worker aggregate function of one query: bound once, its group states live in one worker
/// process for the whole execution, so the binding keeps its own connection. DuckDB's states
/// are just group ids the client allocates.
pub struct AggregateBinding {
    client: std::sync::Mutex<Option<Client>>,
    /// Where a new connection comes from when the bound one broke (for the destructor).
    location: String,
    connect: worker_client::ConnectOptions,
    function: String,
    schema_path: Vec<String>,
    attach: Blob,
    execution_id: Blob,
    output_schema_blob: Blob,
    output_schema: SchemaRef,
    /// Window partitions sent with `aggregate_window_init` (each freed at the end).
    window_partitions: std::sync::Mutex<Vec<i64>>,
    /// Update rows not yet sent: one worker call carries up to `batch_rows` of them, as the
    /// worker's cost is per call and per group in it, not per row.
    pending: std::sync::Mutex<RowQueue>,
    batch_rows: usize,
}

/// Group ids are unique in the process, so states of any execution never collide.
static NEXT_GROUP_ID: std::sync::atomic::AtomicI64 = std::sync::atomic::AtomicI64::new(0);

/// Reserves `count` consecutive group ids and returns the first.
pub fn reserve_group_ids(count: u64) -> i64 {
    NEXT_GROUP_ID.fetch_add(count as i64, std::sync::atomic::Ordering::Relaxed)
}

/// How many groups one finalize call asks for (like vgi-python's own client).
const FINALIZE_CHUNK: usize = 2048;

impl AggregateBinding {
    pub fn bind(
        catalog: Arc<AttachedCatalog>,
        schema_path: Vec<String>,
        function: &str,
        constants: &Arguments,
        input_schema: SchemaRef,
        argument_names: Option<Vec<String>>,
        call: &CallContext<'_>,
        batch_rows: usize,
    ) -> Result<Self> {
        use worker_client::records::AggregateBindRequest;
        let mut client = Pool::global().get(&catalog.location, &catalog.connect)?;
        let request = AggregateBindRequest {
            function_name: function.into(),
            arguments: constants.to_blob()?,
            input_schema: (!input_schema.fields().is_empty()).then(|| Blob(encode_schema(&input_schema))),
            attach_opaque_data: Some(catalog.attach_data()),
            schema_path: Some(schema_path.clone()),
            argument_names,
            settings: call.settings_blob()?,
            ..Default::default()
        };
        let response = match client.aggregate_bind(&request) {
            Ok(r) => r,
            Err(e) => {
                Pool::global().put(client);
                return Err(e.into());
            }
        };
        let output_schema = Arc::new(decode_schema(&response.output_schema.0)?);
        Ok(AggregateBinding {
            client: std::sync::Mutex::new(Some(client)),
            location: catalog.location.clone(),
            connect: catalog.connect.clone(),
            function: function.into(),
            schema_path,
            attach: catalog.attach_data(),
            execution_id: response.execution_id,
            output_schema_blob: response.output_schema,
            output_schema,
            window_partitions: std::sync::Mutex::new(Vec::new()),
            pending: std::sync::Mutex::new(RowQueue::default()),
            batch_rows,
        })
    }

    pub fn output_schema(&self) -> SchemaRef {
        self.output_schema.clone()
    }

    fn with_client<T>(&self, f: impl FnOnce(&mut Client) -> worker_client::Result<T>) -> Result<T> {
        let mut guard = self.client.lock().unwrap_or_else(|p| p.into_inner());
        let client = guard.as_mut().ok_or_else(|| Error::internal("aggregate used after its destructor"))?;
        Ok(f(client)?)
    }

    fn ipc(batch: &RecordBatch) -> Result<Blob> {
        Ok(Blob(worker_client::framing::encode_stream(batch, &[])?))
    }

    fn id_batch(columns: &[(&str, &[i64])]) -> Result<RecordBatch> {
        let fields: Vec<arrow_schema::Field> = columns.iter().map(|(n, _)| arrow_schema::Field::new(*n, arrow_schema::DataType::Int64, false)).collect();
        let arrays: Vec<arrow_array::ArrayRef> = columns.iter().map(|(_, v)| Arc::new(arrow_array::Int64Array::from(v.to_vec())) as _).collect();
        Ok(RecordBatch::try_new(Arc::new(arrow_schema::Schema::new(fields)), arrays)?)
    }

    /// Accumulates rows into their groups: queued until `batch_rows` rows wait, then sent.
    pub fn update(&self, group_ids: &[i64], values: &RecordBatch) -> Result<()> {
        let mut fields = vec![Arc::new(arrow_schema::Field::new("__vgi_group_id", arrow_schema::DataType::Int64, false))];
        fields.extend(values.schema().fields().iter().cloned());
        let mut columns: Vec<arrow_array::ArrayRef> = vec![Arc::new(arrow_array::Int64Array::from(group_ids.to_vec()))];
        columns.extend(values.columns().iter().cloned());
        let options = arrow_array::RecordBatchOptions::new().with_row_count(Some(group_ids.len()));
        let batch = RecordBatch::try_new_with_options(Arc::new(arrow_schema::Schema::new(fields)), columns, &options)?;
        let queued = self.pending.lock().unwrap_or_else(|p| p.into_inner()).push(batch);
        if queued >= self.batch_rows {
            self.send_pending()?;
        }
        Ok(())
    }

    /// Sends the queued update rows, in the order they came (DuckDB's threads queue
    /// concurrently; the client lock is taken first, so batches leave in queue order).
    fn send_pending(&self) -> Result<()> {
        let mut guard = self.client.lock().unwrap_or_else(|p| p.into_inner());
        let taken = self.pending.lock().unwrap_or_else(|p| p.into_inner()).take()?;
        let Some((batch, _)) = taken else { return Ok(()) };
        let request = worker_client::records::AggregateUpdateRequest {
            function_name: self.function.clone(),
            execution_id: self.execution_id.clone(),
            input_batch: Self::ipc(&batch)?,
            attach_opaque_data: Some(self.attach.clone()),
            schema_path: Some(self.schema_path.clone()),
        };
        let client = guard.as_mut().ok_or_else(|| Error::internal("aggregate used after its destructor"))?;
        client.aggregate_update(&request)?;
        Ok(())
    }

    /// Merges source groups into target groups (DuckDB's thread-local -> global combine).
    pub fn combine(&self, sources: &[i64], targets: &[i64]) -> Result<()> {
        self.send_pending()?;
        let merge = Self::id_batch(&[("source_group_id", sources), ("target_group_id", targets)])?;
        let request = worker_client::records::AggregateCombineRequest {
            function_name: self.function.clone(),
            execution_id: self.execution_id.clone(),
            merge_batch: Self::ipc(&merge)?,
            attach_opaque_data: Some(self.attach.clone()),
            schema_path: Some(self.schema_path.clone()),
        };
        self.with_client(|c| c.aggregate_combine(&request)).map(|_| ())
    }

    /// Window aggregates: ships one partition's input (DuckDB's chunks of it, in order) to the
    /// worker. `filter_mask` (LSB-first bitmap, empty = no FILTER), `frame_stats` (4 LE int64,
    /// empty = none) and `all_valid` (a byte per input column) are DuckDB's, as the wire wants.
    pub fn window_init(&self, partition_id: i64, parts: &[RecordBatch], input_schema: SchemaRef, filter_mask: Vec<u8>, frame_stats: Vec<u8>, all_valid: Vec<u8>) -> Result<()> {
        let partition = arrow_select::concat::concat_batches(&input_schema, parts)?;
        let request = worker_client::records::AggregateWindowInitRequest {
            function_name: self.function.clone(),
            execution_id: self.execution_id.clone(),
            partition_id,
            row_count: partition.num_rows() as i64,
            partition_batch: Self::ipc(&partition)?,
            output_schema: self.output_schema_blob.clone(),
            filter_mask: Blob(filter_mask),
            frame_stats: Blob(frame_stats),
            all_valid: Blob(all_valid),
            attach_opaque_data: Some(self.attach.clone()),
            schema_path: Some(self.schema_path.clone()),
        };
        self.with_client(|c| {
            c.call_record::<worker_client::records::AggregateWindowInitResponse>("aggregate_window_init", &request_batch(&request), None)
        })?;
        self.window_partitions.lock().unwrap_or_else(|p| p.into_inner()).push(partition_id);
        Ok(())
    }

    /// Window aggregates: the values of `frames_per_row.len()` rows from `row_idx` on; row i has
    /// `frames_per_row[i]` frames, listed in order in `starts`/`ends`.
    pub fn window_batch(&self, partition_id: i64, row_idx: i64, frames_per_row: Vec<i64>, starts: Vec<i64>, ends: Vec<i64>) -> Result<RecordBatch> {
        let count = frames_per_row.len();
        let request = worker_client::records::AggregateWindowBatchRequest {
            function_name: self.function.clone(),
            execution_id: self.execution_id.clone(),
            partition_id,
            row_idx,
            count: count as i64,
            frames_per_row,
            frame_starts: starts,
            frame_ends: ends,
            attach_opaque_data: Some(self.attach.clone()),
            schema_path: Some(self.schema_path.clone()),
        };
        let response = self.with_client(|c| {
            c.call_record::<worker_client::records::AggregateWindowBatchResponse>("aggregate_window_batch", &request_batch(&request), None)
        })?;
        let batch = worker_client::framing::decode_single_batch(&response.result_batch.0)?;
        if batch.num_rows() != count || batch.num_columns() != 1 {
            return Err(Error::new(
                ErrorKind::Io,
                format!("window aggregate {} answered {} rows x {} columns for {count} rows", self.function, batch.num_rows(), batch.num_columns()),
            ));
        }
        // Under the bound output's name and type (DuckDB reads it with the bound schema).
        let column = arrow_cast::cast(batch.column(0), self.output_schema.field(0).data_type())?;
        Ok(RecordBatch::try_new(self.output_schema.clone(), vec![column])?)
    }

    /// The final values of `group_ids`, one row each, in order.
    pub fn finalize(&self, group_ids: &[i64]) -> Result<RecordBatch> {
        self.send_pending()?;
        let mut parts = Vec::new();
        for chunk in group_ids.chunks(FINALIZE_CHUNK) {
            let request = worker_client::records::AggregateFinalizeRequest {
                function_name: self.function.clone(),
                execution_id: self.execution_id.clone(),
                group_ids_batch: Self::ipc(&Self::id_batch(&[("group_id", chunk)])?)?,
                output_schema: self.output_schema_blob.clone(),
                attach_opaque_data: Some(self.attach.clone()),
                schema_path: Some(self.schema_path.clone()),
            };
            let response = self.with_client(|c| c.aggregate_finalize(&request))?;
            let batch = worker_client::framing::decode_single_batch(&response.result_batch.0)?;
            if batch.num_rows() != chunk.len() || batch.schema().fields() != self.output_schema.fields() {
                return Err(Error::new(ErrorKind::Io, format!("aggregate {} finalized {} rows for {} groups, or with another schema", self.function, batch.num_rows(), chunk.len())));
            }
            parts.push(batch);
        }
        Ok(arrow_select::concat::concat_batches(&self.output_schema, &parts)?)
    }
}

impl Drop for AggregateBinding {
    fn drop(&mut self) {
        // Window partitions first (each has its own destructor), then the execution.
        let partitions = std::mem::take(&mut *self.window_partitions.lock().unwrap_or_else(|p| p.into_inner()));
        for partition_id in partitions {
            let request = worker_client::records::AggregateWindowDestructorRequest {
                function_name: self.function.clone(),
                execution_id: self.execution_id.clone(),
                partition_id,
                attach_opaque_data: Some(self.attach.clone()),
                schema_path: Some(self.schema_path.clone()),
            };
            let _ = self.with_client(|c| {
                c.call_record::<worker_client::records::AggregateWindowDestructorResponse>(
                    "aggregate_window_destructor",
                    &request_batch(&request),
                    None,
                )
            });
        }
        // The destructor frees every state of the execution; best effort. A connection that
        // broke (a crash, a timeout, an answer out of protocol) is never called again: that
        // would wait out another timeout on a hung worker, or read a stale answer. The
        // destructor then goes on another connection when one costs nothing (HTTP, an idle
        // pooled worker); a stdio worker is not started just to free state.
        let mut client = self.client.get_mut().unwrap_or_else(|p| p.into_inner()).take();
        if let Some(broken) = client.take_if(|c| !c.is_healthy()) {
            drop(broken);
            let free = Location::parse(&self.location).is_ok_and(|l| l.is_http()) || Pool::global().has_idle(&self.location, &self.connect);
            client = free.then(|| Pool::global().get(&self.location, &self.connect).ok()).flatten();
        }
        if let Some(mut client) = client {
            let request = Self::id_batch(&[("group_id", &[0])]).and_then(|b| Self::ipc(&b)).map(|ids| worker_client::records::AggregateDestructorRequest {
                function_name: self.function.clone(),
                execution_id: self.execution_id.clone(),
                group_ids_batch: ids,
                attach_opaque_data: Some(self.attach.clone()),
                schema_path: Some(self.schema_path.clone()),
            });
            if let Ok(request) = request {
                if client.aggregate_destructor(&request).is_ok() {
                    Pool::global().put(client);
                }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use arrow_array::{Array, Int64Array, StringArray};

    #[test]
    fn repeated_rows_are_sent_once_and_spread_back() {
        let schema = Arc::new(arrow_schema::Schema::new(vec![
            arrow_schema::Field::new("a", arrow_schema::DataType::Int64, true),
            arrow_schema::Field::new("b", arrow_schema::DataType::Utf8, true),
        ]));
        let a = Int64Array::from(vec![Some(1), Some(2), Some(1), None, Some(2), None]);
        let b = StringArray::from(vec![Some("x"), Some("y"), Some("x"), None, Some("z"), None]);
        let input = RecordBatch::try_new(schema, vec![Arc::new(a), Arc::new(b)]).unwrap();
        let (unique, positions) = distinct_rows(&input).expect("rows repeat");
        assert_eq!(unique.num_rows(), 4);
        assert_eq!(positions.values().to_vec(), vec![0, 1, 0, 2, 3, 2]);
        let firsts = unique.column(0).as_any().downcast_ref::<Int64Array>().unwrap();
        assert_eq!(firsts.iter().collect::<Vec<_>>(), vec![Some(1), Some(2), None, Some(2)]);
        assert_eq!(unique.column(1).null_count(), 1);
    }

    #[test]
    fn distinct_rows_are_left_alone() {
        let schema = Arc::new(arrow_schema::Schema::new(vec![arrow_schema::Field::new("a", arrow_schema::DataType::Int64, true)]));
        let input = RecordBatch::try_new(schema, vec![Arc::new(Int64Array::from(vec![1, 2, 3]))]).unwrap();
        assert!(distinct_rows(&input).is_none());
    }
}
