//! Rust producers of Arrow batches behind DuckDB table functions (`cpp/arrow_scan.cpp`):
//! in-memory results (`vgi_catalogs`) and worker scans (catalog tables, table functions).
use std::collections::VecDeque;
use std::sync::Arc;

use arrow_array::{ArrayRef, RecordBatch, RecordBatchOptions};
use arrow_schema::{Schema, SchemaRef};
use worker_client::arguments::Arguments;
use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering};
use std::sync::{Mutex, OnceLock};

use arrow_array::Array;
use worker_client::methods::ObjectScope;
use worker_client::records::{TableFunctionDynamicToStringRequest, TableFunctionStatisticsRequest};
use worker_client::statistics::{decode_statistics, ColumnStatistics};

use worker_client::framing::{meta_get, Metadata};
use worker_client::records::{
    BindRequest, BindResponse, FunctionType, GlobalInitResponse, InitRequest, OrderByDirection, OrderByNullOrder, TableFunctionPlanRequest,
};
use worker_client::wire::{Blob, LargeBlob};

use crate::call_context::CallContext;
use worker_client::wire::Record;
use worker_client::{CancelHandle, Pool, Stream, StreamKind};

use crate::catalog::{AttachedCatalog, BindOptions};
use crate::error::{Error, ErrorKind, Result};
use crate::required_filters::RequiredFilters;
use crate::pushdown::{plan_delta, plan_filters, Capabilities, DeltaState, FilterColumns, FilterFate, ScanRequest, TableFilter};

/// The immutable result of binding a table function: its output schema and how to run it.
/// Opened once per execution, possibly from several threads.
pub trait Binding: Send + Sync {
    fn schema(&self) -> SchemaRef;
    /// Estimated and maximum row counts, when the worker knows them (optimizer, progress bar).
    fn cardinality(&self) -> Option<(u64, Option<u64>)> {
        None
    }
    /// What EXPLAIN shows about the call: (key, value) pairs.
    fn describe(&self) -> Vec<(String, String)> {
        Vec::new()
    }
    /// What the worker knows about a column's values (optimizer statistics).
    fn statistics(&self, _column: usize) -> Option<ColumnStats> {
        None
    }
    /// How the output is partitioned by `columns` (DuckDB's `TablePartitionInfo` numbering);
    /// 0 unless every one of them is a partition column.
    fn partition_kind(&self, _columns: &[usize]) -> i32 {
        0
    }
    /// Starts an execution of `request` (projection, pushdown, parallelism). `cancel` reports
    /// when DuckDB interrupted the query.
    fn open(&self, request: &ScanRequest, cancel: CancelHandle) -> Result<Box<dyn Execution>>;
    /// Whether the scan reads a table that declares required filters.
    fn has_required_filters(&self) -> bool {
        false
    }
    /// The optimizer pass: refuses the scan when `filters` (every predicate DuckDB applies to
    /// its rows, over its columns) leave a required filter group unmet.
    fn verify_required_filters(&self, _filters: &[TableFilter], _constants: Option<&RecordBatch>) -> Result<()> {
        Ok(())
    }
}

/// One execution of a binding: one or more streams, each read by one DuckDB thread.
pub trait Execution: Send + Sync {
    /// The schema of every stream's batches (the projected columns).
    fn schema(&self) -> SchemaRef;
    /// How many streams (threads) are worth running.
    fn max_threads(&self) -> usize {
        1
    }
    /// What happened to each of DuckDB's filters (indexed by slot; missing = kept).
    fn filter_fates(&self) -> &[FilterFate] {
        &[]
    }
    /// Whether the worker takes the TABLESAMPLE (otherwise the adapter samples).
    fn sample_applied(&self) -> bool {
        false
    }
    /// Whether batches carry the worker's own batch index.
    fn has_batch_index(&self) -> bool {
        false
    }
    /// What EXPLAIN ANALYZE shows about this execution: (key, value) pairs.
    fn explain(&self) -> Vec<(String, String)> {
        Vec::new()
    }
    /// What EXPLAIN ANALYZE shows once streams ended (traffic, the worker's own profile).
    fn metrics(&self) -> Vec<(String, String)> {
        Vec::new()
    }
    /// The stream for one more thread; `None` when every stream is taken.
    fn next_stream(&self, cancel: CancelHandle) -> Result<Option<Box<dyn Scan>>>;
}

/// A column's statistics in DuckDB's terms.
pub struct ColumnStats {
    /// Two elements (min, max) of the column's type; `None` when unknown.
    pub bounds: Option<ArrayRef>,
    pub has_null: Option<bool>,
    pub has_not_null: Option<bool>,
    pub distinct_count: Option<u64>,
}

/// One data batch of a scan, with what the worker said about it.
pub struct ScanBatch {
    pub batch: RecordBatch,
    /// The worker's `vgi_batch_index` (order-preserving parallel scans).
    pub batch_index: Option<u64>,
    /// `vgi_partition_values`: two rows (min, max), one column per partition column.
    pub partition_values: Option<RecordBatch>,
}

impl ScanBatch {
    pub fn plain(batch: RecordBatch) -> Self {
        ScanBatch { batch, batch_index: None, partition_values: None }
    }
}

/// One stream of an execution.
pub trait Scan: Send {
    /// The next batch; `None` at the end.
    fn next_batch(&mut self) -> Result<Option<ScanBatch>>;
    /// The current state of the request's dynamic filters (told to the worker with the next
    /// batch request, if it takes filters).
    fn update_filters(&mut self, _filters: Vec<TableFilter>, _constants: Option<RecordBatch>) -> Result<()> {
        Ok(())
    }
    /// Asks the scan to stop promptly; called from another thread.
    fn cancel(&self) {}
}

/// An execution over batches that are already in memory (small metadata results): one stream.
pub struct MemoryExecution {
    schema: SchemaRef,
    batches: Mutex<Option<Vec<RecordBatch>>>,
}

impl MemoryExecution {
    pub fn new(schema: SchemaRef, batches: Vec<RecordBatch>) -> Self {
        MemoryExecution { schema, batches: Mutex::new(Some(batches)) }
    }
}

impl Execution for MemoryExecution {
    fn schema(&self) -> SchemaRef {
        self.schema.clone()
    }
    fn next_stream(&self, _cancel: CancelHandle) -> Result<Option<Box<dyn Scan>>> {
        let batches = self.batches.lock().unwrap_or_else(|e| e.into_inner()).take();
        Ok(batches.map(|b| Box::new(MemoryScan(b.into_iter())) as Box<dyn Scan>))
    }
}

struct MemoryScan(std::vec::IntoIter<RecordBatch>);

impl Scan for MemoryScan {
    fn next_batch(&mut self) -> Result<Option<ScanBatch>> {
        Ok(self.0.next().map(ScanBatch::plain))
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
    /// What the worker's function accepts (filters, sampling, parallelism).
    capabilities: Capabilities,
    /// Where column statistics come from, and (once asked for) what they are.
    statistics_source: StatisticsSource,
    statistics: OnceLock<Vec<ColumnStatistics>>,
    /// A catalog table's required filters (CNF of dotted column paths) and its name.
    required_filters: RequiredFilters,
    /// The optimizer pass found the required filters met (see [`crate::required_filters`]);
    /// otherwise `open` checks what reached the scan.
    required_filters_verified: std::sync::atomic::AtomicBool,
}

/// Where a scan's column statistics come from.
enum StatisticsSource {
    /// `TableInfo.column_statistics`.
    Inline(Vec<u8>),
    /// `catalog_table_column_statistics_get` of a catalog table.
    Table(ObjectScope),
    /// `table_function_statistics` of the bound function.
    Function,
}

impl WorkerBinding {
    /// `bind` on the worker.
    pub fn bind(
        catalog: Arc<AttachedCatalog>,
        function: &str,
        schema_path: Option<Vec<String>>,
        arguments: &Arguments,
        call: &CallContext<'_>,
    ) -> Result<Self> {
        let binding = Self::bind_at(catalog, function, schema_path, arguments, None, call)?;
        // DuckDB takes a table function without columns for its own bug (an internal error).
        if binding.schema.fields().is_empty() {
            return Err(Error::binder(format!(
                "table function {function}: the worker's bind returned no columns (a table function must return at least one column)"
            )));
        }
        Ok(binding)
    }

    fn bind_at(
        catalog: Arc<AttachedCatalog>,
        function: &str,
        schema_path: Option<Vec<String>>,
        arguments: &Arguments,
        at: Option<(String, String)>,
        call: &CallContext<'_>,
    ) -> Result<Self> {
        Self::bind_with(catalog, function, schema_path, arguments, BindOptions { at, call: Some(call), ..Default::default() })
    }

    /// `bind` on the worker with any of the optional bind parts (e.g. a COPY FROM context).
    pub fn bind_with(
        catalog: Arc<AttachedCatalog>,
        function: &str,
        schema_path: Option<Vec<String>>,
        arguments: &Arguments,
        options: BindOptions<'_>,
    ) -> Result<Self> {
        let (request, response, schema) = catalog.bind_function(function, FunctionType::Table, schema_path, arguments, options)?;
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
        let capabilities = catalog.function_info(&request).map(|f| Capabilities::of(&f)).unwrap_or_default();
        Ok(WorkerBinding {
            catalog,
            request,
            response,
            schema,
            output_index,
            cardinality,
            capabilities,
            statistics_source: StatisticsSource::Function,
            statistics: OnceLock::new(),
            required_filters: RequiredFilters::default(),
            required_filters_verified: Default::default(),
        })
    }

    /// Refuses a scan whose `filters` leave one of the table's required filter groups unmet.
    fn check_required_filters(&self, filters: &[TableFilter], constants: Option<&RecordBatch>, unverified: bool) -> Result<()> {
        if self.required_filters.is_empty() {
            return Ok(());
        }
        let columns: Vec<String> = self.schema.fields().iter().map(|f| f.name().clone()).collect();
        self.required_filters.check(filters, &columns, constants, unverified)
    }

    /// Presents the bound output in the order of a catalog table's declared columns (a scan
    /// function may return them in another order, or more of them).
    fn with_table_columns(mut self, table: &Schema, name: &str) -> Result<Self> {
        let mut fields = Vec::new();
        let mut output_index = Vec::new();
        // Generated columns are DuckDB's to compute: the scan produces the stored ones.
        let stored: Vec<&arrow_schema::FieldRef> = table.fields().iter().filter(|c| !crate::metadata::is_generated(c)).collect();
        // A table may name its columns differently from the function that serves it (the
        // `numbers` fixture declares `value` over `sequence`'s `n`): when the names do not all
        // match but the data columns line up one to one, they pair by position.
        let by_name = stored.iter().all(|c| self.schema.column_with_name(c.name()).is_some());
        let data_columns: Vec<usize> =
            (0..self.schema.fields().len()).filter(|&i| !crate::catalog::is_row_id(self.schema.field(i))).collect();
        let by_position = !by_name && data_columns.len() == stored.len();
        let declared = stored.iter().map(|c| c.name().as_str()).collect::<Vec<_>>().join(", ");
        let (bound_count, declared_count) = (data_columns.len(), stored.len());
        for (position, column) in stored.into_iter().enumerate() {
            let index = if by_position {
                data_columns[position]
            } else {
                // Refused at bind, as DuckDB refuses a query it cannot plan: reading on would
                // hand DuckDB batches narrower than the table it planned for.
                self.schema.column_with_name(column.name()).map(|(i, _)| i).ok_or_else(|| {
                    // The counts in the reference extension's words, then the columns themselves.
                    Error::binder(format!(
                        "table {name}: its scan function {} has a bind output_schema with {bound_count} column(s) but the \
                         catalog advertises {declared_count}: the table declares ({declared}), the scan binds to ({}), \
                         which has no column `{}`",
                        self.request.function_name,
                        field_names(&self.schema),
                        column.name()
                    ))
                })?
            };
            fields.push(self.schema.field(index).clone());
            output_index.push(index);
        }
        // The row id comes last: DuckDB's `rowid` pseudo-column reads it (UPDATE, DELETE).
        if let Some(rowid) = table.metadata().get(crate::catalog::ROWID_METADATA) {
            let found = self
                .schema
                .fields()
                .iter()
                .position(|f| crate::catalog::is_row_id(f))
                .or_else(|| self.schema.column_with_name(rowid).map(|(i, _)| i));
            if let Some(index) = found {
                fields.push(self.schema.field(index).clone());
                output_index.push(index);
            }
        }
        self.schema = Arc::new(Schema::new(fields));
        self.output_index = output_index;
        Ok(self)
    }

    /// Binds the scan function of a catalog table, optionally as of `at` (unit, value: DuckDB's
    /// `AT (VERSION => ...)` / `AT (TIMESTAMP => ...)`).
    pub fn bind_table(
        catalog: Arc<AttachedCatalog>,
        duckdb_catalog: &str,
        schema_path: Vec<String>,
        table: &str,
        at: Option<(String, String)>,
        call: &CallContext<'_>,
    ) -> Result<Self> {
        let schema_path_text = schema_path.join(".");
        let info = match &at {
            Some(at) => catalog.table_at(&schema_path, table, at)?,
            None => catalog.contents()?.schema(&schema_path.join(".")).and_then(|s| s.table(table)).cloned(),
        };
        // An inline scan function is used as is, also under AT: the table was looked up as of
        // that version, and the function reads the version from its bind (and init) request.
        // Only tables without one ask `catalog_table_scan_function_get` (with the AT pair).
        let inline = info.as_ref().and_then(|t| t.scan_function.clone());
        let scan = match inline {
            Some(blob) => worker_client::records::ScanFunctionResult::from_blob(&blob.0)?,
            None => {
                let scope = worker_client::methods::TableAtScope {
                    attach_opaque_data: catalog.attach_data(),
                    schema_path: schema_path.clone(),
                    name: table.into(),
                    at_unit: at.as_ref().map(|a| a.0.clone()),
                    at_value: at.as_ref().map(|a| a.1.clone()),
                    transaction_opaque_data: call.transaction.clone(),
                };
                catalog.with_client(|c| c.table_scan_function(&scope))?
            }
        };
        let arguments = Arguments::from_scan_function_result(&scan.arguments.0)?;
        let columns = info.as_ref().map(crate::catalog::table_columns).transpose()?;
        let mut bound =
            Self::bind_at(catalog.clone(), &scan.function_name, scan.schema_path.or(Some(schema_path.clone())), &arguments, at, call)?;
        if let Some(info) = &info {
            bound.required_filters = RequiredFilters::new(format!("{duckdb_catalog}.{schema_path_text}.{table}"), info.required_filters.clone());
            if let Some(estimate) = info.cardinality_estimate {
                bound.cardinality = Some((estimate.max(0) as u64, info.cardinality_max.map(|m| m.max(0) as u64)));
            }
            bound.statistics_source = match &info.column_statistics {
                Some(blob) => StatisticsSource::Inline(blob.0.clone()),
                None if info.supports_column_statistics => StatisticsSource::Table(ObjectScope {
                    attach_opaque_data: catalog.attach_data(),
                    schema_path,
                    name: table.into(),
                    transaction_opaque_data: call.transaction.clone(),
                }),
                None => StatisticsSource::Function,
            };
        }
        match columns {
            Some(columns) => bound.with_table_columns(&columns, &format!("{}.{table}", schema_path_text)),
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

    fn describe(&self) -> Vec<(String, String)> {
        let function = match &self.request.schema_path {
            Some(path) if !path.is_empty() => format!("{}.{}", path.join("."), self.request.function_name),
            _ => self.request.function_name.clone(),
        };
        let caps = &self.capabilities;
        let filters = match (caps.filter_pushdown, caps.filters_exact) {
            (false, _) => "none",
            (true, false) => "advisory (DuckDB re-checks)",
            (true, true) => "exact",
        };
        vec![("Worker Function".into(), function), ("Worker Filter Pushdown".into(), filters.into())]
    }

    fn statistics(&self, column: usize) -> Option<ColumnStats> {
        let field = self.schema.fields().get(column)?;
        let all = self.statistics.get_or_init(|| self.load_statistics().unwrap_or_default());
        let stats = all.iter().find(|s| &s.column_name == field.name())?;
        // Bounds in the column's type, or none (a bound that does not convert is unknown).
        let bound = |value: &Option<ArrayRef>| {
            value.as_ref().and_then(|v| if v.data_type() == field.data_type() { Some(v.clone()) } else { arrow_cast::cast(v, field.data_type()).ok() })
        };
        let (min, max) = (bound(&stats.min), bound(&stats.max));
        // DuckDB trusts bounds to prune filters, so only consistent ones go: min <= max in
        // the column's own order (an enum's bounds in member order would not be).
        let ordered = |min: &ArrayRef, max: &ArrayRef| {
            arrow_ord::ord::make_comparator(min.as_ref(), max.as_ref(), Default::default())
                .is_ok_and(|compare| compare(0, 0) != std::cmp::Ordering::Greater)
        };
        let bounds = match (min, max) {
            (Some(min), Some(max)) if min.is_valid(0) && max.is_valid(0) && ordered(&min, &max) => {
                Some(arrow_select::concat::concat(&[min.as_ref(), max.as_ref()]).ok()?)
            }
            _ => None,
        };
        Some(ColumnStats {
            bounds,
            has_null: stats.has_null,
            has_not_null: stats.has_not_null,
            distinct_count: stats.distinct_count.filter(|&d| d >= 0).map(|d| d as u64),
        })
    }

    fn partition_kind(&self, columns: &[usize]) -> i32 {
        let partition_column = |&c: &usize| {
            self.schema.fields().get(c).is_some_and(|f| f.metadata().get(PARTITION_COLUMN_KEY).is_some_and(|v| v == "true"))
        };
        if columns.is_empty() || !columns.iter().all(partition_column) {
            return 0;
        }
        self.capabilities.partition_kind
    }

    fn has_required_filters(&self) -> bool {
        !self.required_filters.is_empty()
    }

    fn verify_required_filters(&self, filters: &[TableFilter], constants: Option<&RecordBatch>) -> Result<()> {
        self.check_required_filters(filters, constants, false)?;
        self.required_filters_verified.store(true, std::sync::atomic::Ordering::Relaxed);
        Ok(())
    }

    fn open(&self, request: &ScanRequest, cancel: CancelHandle) -> Result<Box<dyn Execution>> {
        if !self.required_filters_verified.load(std::sync::atomic::Ordering::Relaxed) {
            self.check_required_filters(&request.filters, request.constants.as_ref(), true)?;
        }
        let projection = request.projection.as_deref();
        let projected = match projection {
            Some(ids) => Arc::new(self.schema.project(ids)?),
            None => self.schema.clone(),
        };
        // No columns (count(*)): ask for everything and count rows, the worker's contract.
        let projection_ids =
            projection.filter(|ids| !ids.is_empty()).map(|ids| ids.iter().map(|&i| self.output_index[i] as i64).collect());
        let columns = FilterColumns { schema: &self.schema, worker_index: &self.output_index };
        let pushed: &[TableFilter] = if request.filter_pushdown { &request.filters } else { &[] };
        let filters = plan_filters(&self.capabilities, &columns, pushed, request.constants.as_ref())?;
        let order = request.order.as_ref().and_then(|o| Some((self.schema.fields().get(o.column)?.name().clone(), o)));
        let sample = request.sample.as_ref().filter(|_| self.capabilities.sampling_pushdown);
        let init = InitRequest {
            bind_call: self.request.to_blob(),
            output_schema: self.response.output_schema.clone(),
            bind_opaque_data: self.response.opaque_data.clone(),
            projection_ids,
            pushdown_filters: filters.snapshot.clone().map(LargeBlob),
            order_by_column_name: order.as_ref().map(|(name, _)| name.clone()),
            order_by_direction: order
                .as_ref()
                .map(|(_, o)| if o.descending { OrderByDirection::Desc } else { OrderByDirection::Asc }),
            order_by_null_order: order
                .as_ref()
                .map(|(_, o)| if o.nulls_first { OrderByNullOrder::NullsFirst } else { OrderByNullOrder::NullsLast }),
            order_by_limit: order.as_ref().and_then(|(_, o)| o.limit.map(|l| l.min(i64::MAX as u64) as i64)),
            tablesample_percentage: sample.map(|s| s.percentage),
            tablesample_seed: sample.and_then(|s| s.seed),
            ..Default::default()
        };
        // A split-planned scan: the worker cuts it into splits up front, each stream reads
        // splits from a shared queue; otherwise a primary init and its secondaries.
        let (primary, header, streams, splits) = if self.capabilities.supports_splits {
            let plan = self.plan_splits(&init)?;
            let limit = plan.max_workers.filter(|&m| m > 0).map(|m| m as usize).unwrap_or(usize::MAX);
            let streams = request.threads.max(1).min(plan.tokens.len().max(1)).min(limit);
            let header = GlobalInitResponse {
                execution_id: plan.execution_id.unwrap_or_default(),
                opaque_data: plan.init_opaque_data,
                max_workers: streams as i64,
            };
            (None, header, streams, Some(Arc::new(Mutex::new(plan.tokens))))
        } else {
            let stream = open_stream(&self.catalog, &init, !request.feeds_write, cancel)?;
            let header = stream.header().clone();
            let streams = parallel_streams(header.max_workers, &self.capabilities, request.threads);
            (Some(stream), header, streams, None)
        };
        let mut explain = Vec::new();
        explain.push(("Worker Streams".to_string(), streams.to_string()));
        if let Some(splits) = &splits {
            explain.push(("Worker Splits".to_string(), splits.lock().unwrap_or_else(|e| e.into_inner()).len().to_string()));
        }
        if let Some((name, o)) = &order {
            let mut hint = format!("{name} {}", if o.descending { "DESC" } else { "ASC" });
            if let Some(limit) = o.limit {
                hint.push_str(&format!(" LIMIT {limit}"));
            }
            explain.push(("Worker Order Hint".into(), hint));
        }
        if let Some(s) = sample {
            explain.push(("Worker Sample".into(), format!("{}%", s.percentage)));
        }
        let secondary = InitRequest {
            execution_id: Some(header.execution_id.clone()),
            init_opaque_data: header.opaque_data.clone(),
            ..init
        };
        let delta_state = DeltaState::after(&filters);
        Ok(Box::new(WorkerExecution {
            pushdown: Arc::new(PushdownContext {
                schema: self.schema.clone(),
                output_index: self.output_index.clone(),
                capabilities: self.capabilities.clone(),
            }),
            delta_state,
            metrics: Arc::new(ExecutionMetrics {
                calls: AtomicU64::new(1),
                profile_request: request.profiling.then(|| TableFunctionDynamicToStringRequest {
                    bind_call: self.request.to_blob(),
                    bind_opaque_data: self.response.opaque_data.clone(),
                    global_execution_id: header.execution_id.clone(),
                }),
                ..Default::default()
            }),
            catalog: self.catalog.clone(),
            schema: projected,
            secondary,
            primary: Mutex::new(primary),
            splits,
            opened: AtomicUsize::new(0),
            streams,
            fates: filters.fates,
            sample_applied: sample.is_some(),
            batch_index: self.capabilities.supports_batch_index,
            partitions: Partitions {
                columns: self
                    .schema
                    .fields()
                    .iter()
                    .filter(|f| f.metadata().get(PARTITION_COLUMN_KEY).is_some_and(|v| v == "true"))
                    .map(|f| f.name().clone())
                    .collect(),
                kind: self.capabilities.partition_kind,
            },
            explain,
            read_ahead: !request.feeds_write,
        }))
    }
}

/// A split-planned scan: every split's token, and the execution they belong to.
struct SplitPlan {
    tokens: VecDeque<LargeBlob>,
    execution_id: Option<Blob>,
    init_opaque_data: Option<Blob>,
    max_workers: Option<i64>,
}

/// How many pages of splits a plan may take (as the reference client's default).
const MAX_PLAN_PAGES: usize = 1024;

impl WorkerBinding {
    /// `table_function_plan`, page by page, for the scan `init` describes.
    fn plan_splits(&self, init: &InitRequest) -> Result<SplitPlan> {
        let mut request = TableFunctionPlanRequest {
            bind_call: init.bind_call.clone(),
            bind_opaque_data: init.bind_opaque_data.clone(),
            projection_ids: init.projection_ids.clone(),
            pushdown_filters: init.pushdown_filters.clone(),
            filters_complete: true,
            order_by_column_name: init.order_by_column_name.clone(),
            order_by_direction: init.order_by_direction,
            order_by_null_order: init.order_by_null_order,
            order_by_limit: init.order_by_limit,
            tablesample_percentage: init.tablesample_percentage,
            tablesample_seed: init.tablesample_seed,
            ..Default::default()
        };
        let mut plan = SplitPlan { tokens: VecDeque::new(), execution_id: None, init_opaque_data: None, max_workers: None };
        let mut cursors: VecDeque<Blob> = VecDeque::new();
        for page in 0..MAX_PLAN_PAGES {
            let response = self.catalog.with_client(|c| c.plan(&request))?;
            for split in response.scan_splits()? {
                plan.tokens.push_back(LargeBlob(split.token.0));
            }
            if page == 0 {
                plan.execution_id = response.execution_id.clone();
                plan.init_opaque_data = response.init_opaque_data.clone();
                plan.max_workers = response.max_workers;
            }
            cursors.extend(response.next_cursors.into_iter().flatten());
            match cursors.pop_front() {
                Some(cursor) => request.cursor = Some(cursor),
                None => return Ok(plan),
            }
        }
        Err(Error::new(ErrorKind::Io, format!("the worker's split plan of {} did not end after {MAX_PLAN_PAGES} pages", self.request.function_name)))
    }

    /// Fetches the statistics once (best effort: failures mean no statistics).
    fn load_statistics(&self) -> Result<Vec<ColumnStatistics>> {
        let bytes = match &self.statistics_source {
            StatisticsSource::Inline(bytes) => Some(bytes.clone()),
            StatisticsSource::Table(scope) => self.catalog.with_client(|c| c.table_statistics(scope))?,
            StatisticsSource::Function => {
                let request = TableFunctionStatisticsRequest {
                    bind_call: self.request.to_blob(),
                    bind_opaque_data: self.response.opaque_data.clone(),
                };
                self.catalog.with_client(|c| c.function_statistics(&request))?
            }
        };
        Ok(match bytes {
            Some(bytes) => decode_statistics(&bytes)?,
            None => Vec::new(),
        })
    }
}

/// vgi-python's `GlobalInitResponse.max_workers` default: "unbounded", also what a function
/// that never thought about parallelism answers.
const DEFAULT_MAX_WORKERS: i64 = 99_999;

/// How many streams to run: the worker's parallelism, bounded by its declaration and DuckDB's
/// threads. A secondary `init` joins the execution and every stream produces its own share,
/// which only a function that coordinates its streams (a work queue) splits; one that does
/// not would produce its rows once per stream. So more than one stream needs a sign of
/// coordination: an explicit `max_workers` (in the header or the function's declaration),
/// batch indexes, or partition columns.
fn parallel_streams(header_max_workers: i64, capabilities: &Capabilities, threads: usize) -> usize {
    let coordinated = header_max_workers < DEFAULT_MAX_WORKERS
        || capabilities.max_workers.is_some()
        || capabilities.supports_batch_index
        || capabilities.partition_kind != 0;
    if !coordinated {
        return 1;
    }
    let mut streams = header_max_workers.max(1) as usize;
    if let Some(declared) = capabilities.max_workers {
        streams = streams.min(declared);
    }
    streams.min(threads.max(1))
}

/// Opens an `init` stream; a connection the worker answered in-band goes back to the pool.
/// `read_ahead`: see [`Stream::set_read_ahead`] (off for a scan that feeds a write).
fn open_stream(catalog: &AttachedCatalog, init: &InitRequest, read_ahead: bool, cancel: CancelHandle) -> Result<Stream> {
    let client = Pool::global().get(&catalog.location, &catalog.connect)?;
    match client.init(init, StreamKind::Producer, Some(cancel)) {
        Ok(mut stream) => {
            stream.set_read_ahead(read_ahead);
            Ok(stream)
        }
        Err(failed) => {
            if let Some(client) = failed.client {
                Pool::global().put(client);
            }
            Err(failed.error.into())
        }
    }
}

/// One execution of a worker scan: the primary stream opened by `init`, and up to
/// `streams - 1` secondary streams sharing its `execution_id`.
pub struct WorkerExecution {
    pushdown: Arc<PushdownContext>,
    /// What the snapshot told the worker; each stream continues from it.
    delta_state: DeltaState,
    metrics: Arc<ExecutionMetrics>,
    catalog: Arc<AttachedCatalog>,
    schema: SchemaRef,
    /// The request of a secondary `init` (execution id and opaque data of the primary).
    secondary: InitRequest,
    primary: Mutex<Option<Stream>>,
    /// Split-planned scans: the splits no stream has taken yet.
    splits: Option<Arc<Mutex<VecDeque<LargeBlob>>>>,
    opened: AtomicUsize,
    streams: usize,
    fates: Vec<FilterFate>,
    sample_applied: bool,
    batch_index: bool,
    partitions: Partitions,
    explain: Vec<(String, String)>,
    /// Streams send ticks ahead (false when the scan feeds a write: see `ScanRequest`).
    read_ahead: bool,
}

/// The partition contract of a function: its partition columns (by name) and kind.
#[derive(Clone, Default)]
struct Partitions {
    columns: Vec<String>,
    /// DuckDB's `TablePartitionInfo` numbering; 0 = not partitioned.
    kind: i32,
}

impl Partitions {
    /// Checks a batch's partition values against the contract.
    fn check(&self, values: Option<&RecordBatch>) -> Result<()> {
        if self.kind == 0 || self.columns.is_empty() {
            return Ok(());
        }
        let Some(values) = values else {
            return Err(Error::new(
                ErrorKind::Io,
                "the worker sent a data batch without vgi_partition_values#b64 metadata, but its function declares partition columns",
            ));
        };
        if self.kind == 1 {
            for name in &self.columns {
                let Some(column) = values.column_by_name(name) else { continue };
                if column.slice(0, 1).to_data() != column.slice(1, 1).to_data() {
                    return Err(Error::new(
                        ErrorKind::Io,
                        format!("the worker's partition values of `{name}` differ (min != max) in one batch, but its function declares SINGLE_VALUE_PARTITIONS"),
                    ));
                }
            }
        }
        Ok(())
    }
}

impl Execution for WorkerExecution {
    fn schema(&self) -> SchemaRef {
        self.schema.clone()
    }
    fn max_threads(&self) -> usize {
        self.streams
    }
    fn filter_fates(&self) -> &[FilterFate] {
        &self.fates
    }
    fn sample_applied(&self) -> bool {
        self.sample_applied
    }
    fn has_batch_index(&self) -> bool {
        self.batch_index
    }
    fn explain(&self) -> Vec<(String, String)> {
        self.explain.clone()
    }

    fn metrics(&self) -> Vec<(String, String)> {
        let m = &self.metrics;
        let mut pairs = vec![
            ("Worker Rows".to_string(), m.rows.load(Ordering::Relaxed).to_string()),
            ("Worker Batches".to_string(), m.batches.load(Ordering::Relaxed).to_string()),
            ("Worker Bytes".to_string(), m.bytes.load(Ordering::Relaxed).to_string()),
            ("Worker Calls".to_string(), m.calls.load(Ordering::Relaxed).to_string()),
        ];
        pairs.extend(m.worker.lock().unwrap_or_else(|e| e.into_inner()).iter().cloned());
        pairs
    }

    fn next_stream(&self, cancel: CancelHandle) -> Result<Option<Box<dyn Scan>>> {
        let n = self.opened.fetch_add(1, Ordering::SeqCst);
        let stream = if let Some(splits) = &self.splits {
            if n < self.streams {
                open_split(&self.catalog, &self.secondary, splits, &self.metrics, self.read_ahead, cancel.clone())?
            } else {
                None
            }
        } else if n == 0 {
            self.primary.lock().unwrap_or_else(|e| e.into_inner()).take()
        } else if n < self.streams {
            self.metrics.calls.fetch_add(1, Ordering::Relaxed);
            Some(open_stream(&self.catalog, &self.secondary, self.read_ahead, cancel.clone())?)
        } else {
            None
        };
        Ok(stream.map(|stream| {
            Box::new(WorkerScan {
                stream: Some(stream),
                schema: self.schema.clone(),
                cancel,
                batch_index: self.batch_index,
                last_index: None,
                partitions: self.partitions.clone(),
                pushdown: self.pushdown.clone(),
                delta_state: self.delta_state.clone(),
                pending_delta: None,
                metrics: self.metrics.clone(),
                splits: self.splits.clone().map(|queue| (queue, self.secondary.clone(), self.catalog.clone())),
                read_ahead: self.read_ahead,
            }) as Box<dyn Scan>
        }))
    }
}

impl Drop for WorkerExecution {
    fn drop(&mut self) {
        // A primary stream no thread took (e.g. LIMIT 0): stop it like any other.
        if let Some(stream) = self.primary.get_mut().unwrap_or_else(|e| e.into_inner()).take() {
            Pool::global().recycle(stream);
        }
    }
}

/// A stream ended early (LIMIT, error, interrupt). The caller never waits for the worker:
/// the pool cancels and drains it in the background and reuses the connection, or drops it
/// at once when a turn was cut off mid-message (the worker is then stopped).
pub(crate) fn abandon(stream: Stream) {
    Pool::global().recycle(stream);
}

/// DuckDB's per-pipeline batch index space (`BATCH_INCREMENT`): larger indexes break it.
const MAX_BATCH_INDEX: u64 = 10_000_000_000_000;

/// One producer stream of a worker scan.
pub struct WorkerScan {
    stream: Option<Stream>,
    schema: SchemaRef,
    cancel: CancelHandle,
    /// The function declared `supports_batch_index`: every data batch carries one.
    batch_index: bool,
    last_index: Option<u64>,
    partitions: Partitions,
    pushdown: Arc<PushdownContext>,
    delta_state: DeltaState,
    /// A filter delta (base64) to send with the next batch request.
    pending_delta: Option<String>,
    metrics: Arc<ExecutionMetrics>,
    /// Split-planned scans: the shared split queue, the init of a split, and where to open it.
    splits: Option<(Arc<Mutex<VecDeque<LargeBlob>>>, InitRequest, Arc<AttachedCatalog>)>,
    read_ahead: bool,
}

/// Opens the stream of the next split nobody has taken, `None` when all are taken.
fn open_split(
    catalog: &AttachedCatalog,
    init: &InitRequest,
    splits: &Mutex<VecDeque<LargeBlob>>,
    metrics: &ExecutionMetrics,
    read_ahead: bool,
    cancel: CancelHandle,
) -> Result<Option<Stream>> {
    let Some(token) = splits.lock().unwrap_or_else(|e| e.into_inner()).pop_front() else { return Ok(None) };
    metrics.calls.fetch_add(1, Ordering::Relaxed);
    let init = InitRequest { split_tokens: Some(vec![token]), ..init.clone() };
    Ok(Some(open_stream(catalog, &init, read_ahead, cancel)?))
}

/// Traffic of one execution, over all its streams (EXPLAIN ANALYZE).
#[derive(Default)]
struct ExecutionMetrics {
    rows: AtomicU64,
    batches: AtomicU64,
    /// Arrow buffer bytes of the batches received.
    bytes: AtomicU64,
    /// `init` calls and stream turns.
    calls: AtomicU64,
    /// The worker's `table_function_dynamic_to_string` pairs (latest non-empty answer).
    worker: Mutex<Vec<(String, String)>>,
    /// Set when the query is profiled: what `table_function_dynamic_to_string` needs.
    profile_request: Option<TableFunctionDynamicToStringRequest>,
}

/// What lowering filters needs about a binding, shared by its streams.
struct PushdownContext {
    schema: SchemaRef,
    output_index: Vec<usize>,
    capabilities: Capabilities,
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

    /// The batch's `vgi_batch_index`, checked against DuckDB's rules.
    fn batch_index(&mut self, metadata: &Metadata) -> Result<Option<u64>> {
        if !self.batch_index {
            return Ok(None);
        }
        let text = meta_get(metadata, BATCH_INDEX_KEY).ok_or_else(|| {
            Error::new(ErrorKind::Io, "the worker sent a data batch without vgi_batch_index metadata, but its function declares supports_batch_index")
        })?;
        let index: u64 = text
            .trim()
            .parse()
            .map_err(|_| Error::new(ErrorKind::Io, format!("the worker sent vgi_batch_index `{text}`, which is not a non-negative integer")))?;
        if index >= MAX_BATCH_INDEX {
            return Err(Error::new(
                ErrorKind::Io,
                format!("the worker's vgi_batch_index {index} exceeds DuckDB's per-pipeline cap of {MAX_BATCH_INDEX}"),
            ));
        }
        if let Some(last) = self.last_index {
            if index < last {
                return Err(Error::new(
                    ErrorKind::Io,
                    format!("the worker's vgi_batch_index decreased from {last} to {index} on the same stream"),
                ));
            }
        }
        self.last_index = Some(index);
        Ok(Some(index))
    }
}

fn field_names(schema: &Schema) -> String {
    schema.fields().iter().map(|f| f.name().as_str()).collect::<Vec<_>>().join(", ")
}

/// Output batch metadata keys (protocol §5).
const BATCH_INDEX_KEY: &str = "vgi_batch_index";
const PARTITION_VALUES_KEY: &str = "vgi_partition_values#b64";
/// Bind-schema field metadata marking a partition column.
const PARTITION_COLUMN_KEY: &str = "vgi.partition_column";

/// The 2-row (min, max) batch of `vgi_partition_values#b64`, laid out like `schema` (the
/// scan's columns; those that are not partition columns are NULL).
fn partition_values(metadata: &Metadata, schema: &SchemaRef) -> Result<Option<RecordBatch>> {
    let Some(text) = meta_get(metadata, PARTITION_VALUES_KEY) else { return Ok(None) };
    let bytes = worker_client::filters::base64_decode(text)
        .map_err(|e| Error::new(ErrorKind::Io, format!("the worker sent malformed vgi_partition_values: {e}")))?;
    let batch = worker_client::framing::decode_single_batch(&bytes)?;
    if batch.num_rows() != 2 {
        return Err(Error::new(
            ErrorKind::Io,
            format!("the worker's vgi_partition_values has {} rows, expected 2 (min, max)", batch.num_rows()),
        ));
    }
    let columns = schema
        .fields()
        .iter()
        .map(|field| match batch.column_by_name(field.name()) {
            Some(values) => arrow_cast::cast(values, field.data_type()).map_err(|e| {
                Error::new(ErrorKind::Io, format!("the worker's partition values of `{}` do not fit the column: {e}", field.name()))
            }),
            None => Ok(arrow_array::new_null_array(field.data_type(), 2)),
        })
        .collect::<Result<Vec<_>>>()?;
    let options = RecordBatchOptions::new().with_row_count(Some(2));
    Ok(Some(RecordBatch::try_new_with_options(schema.clone(), columns, &options)?))
}

impl Scan for WorkerScan {
    fn next_batch(&mut self) -> Result<Option<ScanBatch>> {
        loop {
            match self.next_batch_of_stream()? {
                Some(batch) => return Ok(Some(batch)),
                None => {
                    // A split stream ended: this thread reads the next split, if any is left.
                    let Some((queue, init, catalog)) = &self.splits else { return Ok(None) };
                    match open_split(catalog, init, queue, &self.metrics, self.read_ahead, self.cancel.clone())? {
                        Some(stream) => {
                            self.stream = Some(stream);
                            self.last_index = None;
                        }
                        None => return Ok(None),
                    }
                }
            }
        }
    }

    fn update_filters(&mut self, filters: Vec<TableFilter>, constants: Option<RecordBatch>) -> Result<()> {
        let ctx = &self.pushdown;
        let columns = FilterColumns { schema: &ctx.schema, worker_index: &ctx.output_index };
        if let Some(delta) = plan_delta(&ctx.capabilities, &columns, &filters, constants.as_ref(), &mut self.delta_state)? {
            // Only the latest state matters: a delta not yet sent is folded into this one
            // by construction (each carries the full current predicate of its slots).
            self.pending_delta = Some(delta);
        }
        Ok(())
    }

    fn cancel(&self) {
        self.cancel.cancel();
    }
}

impl WorkerScan {
    /// The next batch of the current stream; `None` when it ended (its connection is back in
    /// the pool) or there is none.
    fn next_batch_of_stream(&mut self) -> Result<Option<ScanBatch>> {
        let Some(stream) = self.stream.as_mut() else { return Ok(None) };
        let delta = self.pending_delta.take();
        let tick: Vec<(&str, &str)> =
            delta.as_deref().map(|d| vec![(worker_client::filters::TICK_METADATA_KEY, d)]).unwrap_or_default();
        self.metrics.calls.fetch_add(1, Ordering::Relaxed);
        match stream.next_batch(&tick)? {
            Some((batch, metadata)) => {
                self.metrics.rows.fetch_add(batch.num_rows() as u64, Ordering::Relaxed);
                self.metrics.batches.fetch_add(1, Ordering::Relaxed);
                self.metrics.bytes.fetch_add(batch.get_array_memory_size() as u64, Ordering::Relaxed);
                let checked = (|| {
                    let batch_index = self.batch_index(&metadata)?;
                    let partition_values = partition_values(&metadata, &self.schema)?;
                    if batch.num_rows() > 0 {
                        self.partitions.check(partition_values.as_ref())?;
                    }
                    Ok(ScanBatch { batch: self.project(batch)?, batch_index, partition_values })
                })();
                if checked.is_err() {
                    // A batch the scan cannot use: never reuse the channel it came on.
                    if let Some(stream) = self.stream.as_mut() {
                        stream.poison();
                    }
                }
                checked.map(Some)
            }
            None => {
                let stream = self.stream.take().expect("checked above");
                if let Ok(mut client) = stream.finish() {
                    // Profiled query: the worker's own account of the execution (best effort).
                    if let Some(request) = &self.metrics.profile_request {
                        if let Ok(info) = client.dynamic_to_string(request) {
                            if !info.keys.is_empty() {
                                *self.metrics.worker.lock().unwrap_or_else(|e| e.into_inner()) =
                                    info.keys.into_iter().zip(info.values).collect();
                            }
                        }
                    }
                    Pool::global().put(client);
                }
                Ok(None)
            }
        }
    }
}

impl Drop for WorkerScan {
    fn drop(&mut self) {
        if let Some(stream) = self.stream.take() {
            abandon(stream);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn streams_need_a_sign_of_coordination() {
        let plain = Capabilities::default();
        // The default header of a function that never thought about parallelism.
        assert_eq!(parallel_streams(DEFAULT_MAX_WORKERS, &plain, 8), 1);
        // An explicit count (a work queue of 24 items), bounded by DuckDB's threads.
        assert_eq!(parallel_streams(24, &plain, 8), 8);
        assert_eq!(parallel_streams(3, &plain, 8), 3);
        let batch_indexed = Capabilities { supports_batch_index: true, ..Default::default() };
        assert_eq!(parallel_streams(DEFAULT_MAX_WORKERS, &batch_indexed, 4), 4);
        let declared = Capabilities { max_workers: Some(2), ..Default::default() };
        assert_eq!(parallel_streams(DEFAULT_MAX_WORKERS, &declared, 4), 2);
        assert_eq!(parallel_streams(0, &plain, 4), 1);
    }
}
