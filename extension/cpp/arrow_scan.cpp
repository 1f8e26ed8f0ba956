#include "arrow_scan.hpp"

#include "duckdb/common/arrow/arrow_wrapper.hpp"
#include "duckdb/common/random_engine.hpp"
#include "duckdb/execution/operator/scan/physical_table_scan.hpp"
#include "duckdb/function/partition_stats.hpp"
#include "duckdb/main/query_profiler.hpp"
#include "duckdb/main/profiler/profiling_node.hpp"
#include "duckdb/parallel/task_scheduler.hpp"
#include "duckdb/storage/table/row_group_order_options.hpp"
#include "catalog.hpp"
#include "pushdown.hpp"

namespace vgi {
using namespace duckdb;

int32_t IsInterrupted(void *context) {
	return static_cast<ClientContext *>(context)->IsInterrupted() ? 1 : 0;
}

unique_ptr<ArrowScanBindData> FinishArrowBind(ClientContext &context, VgiBinding *binding, ArrowSchema &schema,
                                              vector<LogicalType> &return_types, vector<Identifier> &names) {
	auto data = make_uniq<ArrowScanBindData>();
	data->binding = AdoptBinding(binding);
	ArrowSchemaWrapper owned; // releases the schema when done
	owned.arrow_schema = schema;
	schema.release = nullptr;
	ArrowTableFunction::PopulateArrowTableSchema(context, data->arrow_table, owned.arrow_schema);
	return_types = data->arrow_table.GetTypes();
	for (auto &name : data->arrow_table.GetNames()) {
		names.emplace_back(name);
	}
	return data;
}

// The filters' constants as one row of columns c0, c1, ... (false when there are none).
bool ExportConstants(ClientContext &context, const vector<Value> &values, ArrowSchemaWrapper &schema,
                     ArrowArrayWrapper &array) {
	if (values.empty()) {
		return false;
	}
	vector<string> names;
	for (idx_t i = 0; i < values.size(); i++) {
		names.push_back("c" + std::to_string(i));
	}
	ExportRow(context, names, values, schema.arrow_schema, array.arrow_array);
	return true;
}

// A generated column of the scanned table: DuckDB computes it, the worker never produces it.
static bool IsComputedColumn(const ArrowScanBindData &bind, column_t id) {
	return !bind.table_columns.empty() && !IsVirtualColumn(id) &&
	       (id >= bind.table_columns.size() || bind.table_columns[id] == DConstants::INVALID_INDEX);
}

// The bound column DuckDB's column `id` reads: `rowid` is the bound row id column; with
// generated columns, a table column's bound column is its stored position.
static column_t BoundColumn(const ArrowScanBindData &bind, column_t id) {
	if (id == COLUMN_IDENTIFIER_ROW_ID && bind.rowid_column >= 0) {
		return column_t(bind.rowid_column);
	}
	if (IsComputedColumn(bind, id)) {
		throw InternalException("vgi: DuckDB asked a scan for column %llu, which it computes itself", id);
	}
	return IsVirtualColumn(id) || bind.table_columns.empty() ? id : bind.table_columns[id];
}

// DuckDB's column ids as bound columns.
vector<column_t> ScanColumns(const ArrowScanBindData &bind, const vector<column_t> &column_ids) {
	vector<column_t> result;
	for (auto id : column_ids) {
		result.push_back(BoundColumn(bind, id));
	}
	return result;
}

namespace {

using ExecutionPtr = unique_ptr<VgiExecution, RustDeleter<VgiExecution, vgi_execution_free>>;
using ScanPtr = unique_ptr<VgiScan, RustDeleter<VgiScan, vgi_scan_free>>;

struct ScanGlobalState : public GlobalTableFunctionState {
	ExecutionPtr execution;
	idx_t max_threads = 1;
	//! DuckDB's filters, and those the scan must apply itself (all but the exact ones).
	FilterDescription filters;
	vector<reference<ScanFilter>> residual;
	//! Some pushed filter is dynamic: its current state goes to the worker as it changes.
	bool dynamic_filters = false;
	vector<column_t> column_ids;
	//! A TABLESAMPLE the worker does not take: the fraction of rows the scan keeps.
	double sample_fraction = -1;
	int64_t sample_seed = -1;
	bool worker_batch_index = false;
	//! Batch indexes handed out when the worker gives none (one per batch, in fetch order).
	atomic<idx_t> next_batch_index {0};
	//! Rows read from the worker so far (progress bar).
	atomic<idx_t> rows {0};
	idx_t MaxThreads() const override {
		return max_threads;
	}
};

struct ScanLocalState : public ArrowScanLocalState {
	explicit ScanLocalState(ClientContext &context) : ArrowScanLocalState(make_uniq<ArrowArrayWrapper>(), context) {
	}
	ScanPtr scan;
	bool done = false;
	idx_t batch_index = 0;
	//! The current batch's partition values as the worker sent them (converted on first use),
	//! and converted: row 0 = min, row 1 = max of each scanned column.
	shared_ptr<ArrowArrayWrapper> partition_arrow;
	DataChunk partition_values;
	bool has_partition_values = false;
	vector<unique_ptr<ExpressionExecutor>> executors;
	unique_ptr<RandomEngine> random;
	//! The dynamic filter state last sent on this stream.
	FilterDescription dynamic_sent;
};

bool FilterPushdownEnabled(ClientContext &context) {
	Value enabled;
	if (context.TryGetCurrentSetting("vgi_filter_pushdown", enabled) && !enabled.IsNull()) {
		return BooleanValue::Get(enabled);
	}
	return true;
}

// Calls `add(key, value)` for each pair of Rust's "key\x1fvalue" pairs separated by "\x1e".
template <class ADD>
void ForEachPair(const string &pairs, ADD add) {
	for (auto &pair : StringUtil::Split(pairs, '\x1e')) {
		auto split = pair.find('\x1f');
		if (split != string::npos) {
			add(pair.substr(0, split), pair.substr(split + 1));
		}
	}
}

unique_ptr<GlobalTableFunctionState> InitGlobal(ClientContext &context, TableFunctionInitInput &input) {
	auto &bind = input.bind_data->Cast<ArrowScanBindData>();
	auto state = make_uniq<ScanGlobalState>();
	VgiScanRequest request {};
	// Ask for the real columns DuckDB needs, in its order (count(*) needs none).
	vector<uint64_t> columns;
	if (bind.projection_pushdown) {
		for (auto id : ScanColumns(bind, input.column_ids)) {
			if (!IsVirtualColumn(id)) {
				columns.push_back(id);
			}
		}
		request.columns = columns.data();
		request.n_columns = columns.size();
	}
	ArrowSchemaWrapper constants_schema;
	ArrowArrayWrapper constants;
	if (input.filters && input.filters->HasFilters()) {
		auto scan_columns = ScanColumns(bind, input.column_ids);
		state->filters =
		    DescribeFilters(*input.filters, scan_columns, const_cast<ArrowTableSchema &>(bind.arrow_table).GetNames());
		request.filters = state->filters.text.c_str();
		request.filter_pushdown = FilterPushdownEnabled(context);
		if (request.filter_pushdown) {
			state->column_ids = scan_columns;
			for (auto &filter : state->filters.filters) {
				state->dynamic_filters = state->dynamic_filters || filter.dynamic;
			}
		}
		if (ExportConstants(context, state->filters.constants, constants_schema, constants)) {
			request.constants_schema = &constants_schema.arrow_schema;
			request.constants = &constants.arrow_array;
		}
	}
	request.order_column = bind.order_column;
	request.order_descending = bind.order_descending;
	request.order_nulls_first = bind.order_nulls_first;
	request.order_limit = bind.order_limit;
	request.sample_percentage = -1;
	request.sample_seed = -1;
	if (input.sample_options) {
		auto &sample = *input.sample_options;
		request.sample_percentage =
		    sample.is_percentage ? sample.sample_size.GetValue<double>() : MinValue(sample.sample_rate, 1.0) * 100;
		request.sample_seed = sample.seed.IsValid() ? int64_t(sample.seed.GetIndex()) : -1;
	}
	request.threads = TaskScheduler::GetScheduler(context).NumberOfThreads();
	request.profiling = QueryProfiler::Get(context).IsEnabled();
	request.feeds_write = bind.feeds_write;
	VgiExecution *execution = nullptr;
	ThrowIfError(vgi_binding_open(bind.binding.get(), &request, IsInterrupted, &context, &execution));
	state->execution.reset(execution);
	state->max_threads = MaxValue<idx_t>(1, vgi_execution_max_threads(execution));
	state->worker_batch_index = vgi_execution_has_batch_index(execution);
	string pushed;
	for (idx_t slot = 0; slot < state->filters.filters.size(); slot++) {
		auto fate = vgi_execution_filter_fate(execution, slot);
		if (fate != 2) {
			state->residual.push_back(state->filters.filters[slot]);
		}
		if (fate != 0) {
			pushed += (pushed.empty() ? "" : "\n") + state->filters.filters[slot].display +
			          (fate == 2 ? " (exact)" : " (hint)");
		}
	}
	if (request.sample_percentage >= 0 && !vgi_execution_sample_applied(execution)) {
		state->sample_fraction = request.sample_percentage / 100.0;
		state->sample_seed = request.sample_seed;
	}
	string explain = vgi_execution_explain(execution);
	if (!pushed.empty()) {
		explain += string(explain.empty() ? "" : "\x1e") + "Worker Filters\x1f" + pushed;
	}
	lock_guard<mutex> guard(bind.explain->lock);
	bind.explain->pairs = explain;
	return std::move(state);
}

unique_ptr<LocalTableFunctionState> InitLocal(ExecutionContext &context, TableFunctionInitInput &input,
                                              GlobalTableFunctionState *global_state) {
	auto &global = global_state->Cast<ScanGlobalState>();
	auto local = make_uniq<ScanLocalState>(context.client);
	auto &bind = input.bind_data->Cast<ArrowScanBindData>();
	if (bind.projection_pushdown) {
		local->column_ids = ScanColumns(bind, input.column_ids);
	}
	VgiScan *scan = nullptr;
	ThrowIfError(vgi_execution_stream(global.execution.get(), IsInterrupted, &context.client, &scan));
	local->scan.reset(scan);
	local->done = !scan;
	for (auto &filter : global.residual) {
		local->executors.push_back(make_uniq<ExpressionExecutor>(context.client, *filter.get().expr));
	}
	if (global.sample_fraction >= 0) {
		local->random = make_uniq<RandomEngine>(global.sample_seed);
	}
	return std::move(local);
}

bool SameConstants(const vector<Value> &a, const vector<Value> &b) {
	if (a.size() != b.size()) {
		return false;
	}
	for (idx_t i = 0; i < a.size(); i++) {
		if (a[i].type() != b[i].type() || !Value::NotDistinctFrom(a[i], b[i])) {
			return false;
		}
	}
	return true;
}

// Tells the stream the dynamic filters' current state when it changed (Top-N thresholds
// tighten, join filters fill in); Rust decides what the worker is sent.
void UpdateDynamicFilters(ClientContext &context, ScanGlobalState &global, ScanLocalState &local) {
	auto now = DescribeDynamicFilters(global.filters.filters, global.column_ids);
	if (now.text == local.dynamic_sent.text && SameConstants(now.constants, local.dynamic_sent.constants)) {
		return;
	}
	ArrowSchemaWrapper constants_schema;
	ArrowArrayWrapper constants;
	auto exported = ExportConstants(context, now.constants, constants_schema, constants);
	ThrowIfError(vgi_scan_update_filters(local.scan.get(), now.text.c_str(),
	                                     exported ? &constants_schema.arrow_schema : nullptr,
	                                     exported ? &constants.arrow_array : nullptr));
	local.dynamic_sent.text = std::move(now.text);
	local.dynamic_sent.constants = std::move(now.constants);
}

// Pulls this thread's next non-empty batch from Rust; false at the end of its stream.
bool NextBatch(ClientContext &context, ScanGlobalState &global, ScanLocalState &local) {
	while (!local.done) {
		if (global.dynamic_filters) {
			UpdateDynamicFilters(context, global, local);
		}
		auto chunk = make_shared_ptr<ArrowArrayWrapper>();
		VgiBatchInfo info;
		ThrowIfError(vgi_scan_next(local.scan.get(), &chunk->arrow_array, &info));
		auto partition_values = make_shared_ptr<ArrowArrayWrapper>();
		partition_values->arrow_array = info.partition_values;
		if (!chunk->arrow_array.release) {
			local.done = true;
			local.scan.reset(); // hands the connection back now, not at query end
			break;
		}
		if (chunk->arrow_array.length == 0) {
			continue;
		}
		local.batch_index = global.worker_batch_index ? idx_t(info.batch_index) : global.next_batch_index++;
		local.partition_arrow = partition_values->arrow_array.release ? std::move(partition_values) : nullptr;
		local.has_partition_values = false;
		local.Reset();
		local.chunk = std::move(chunk);
		return true;
	}
	return false;
}

// Keeps each row with probability `fraction` (a TABLESAMPLE the worker did not take).
void Sample(ScanLocalState &local, double fraction, DataChunk &output) {
	SelectionVector selection(STANDARD_VECTOR_SIZE);
	idx_t kept = 0;
	for (idx_t row = 0; row < output.size(); row++) {
		if (local.random->NextRandom() < fraction) {
			selection.set_index(kept++, row);
		}
	}
	if (kept != output.size()) {
		output.Slice(selection, kept);
	}
}

// Converts the batch's partition values (two rows laid out like the batch) into DuckDB values.
void ConvertPartitionValues(ClientContext &context, const ArrowScanBindData &bind, ScanLocalState &local,
                            const DataChunk &output) {
	ArrowScanLocalState scan(make_uniq<ArrowArrayWrapper>(), context);
	scan.chunk = std::move(local.partition_arrow);
	scan.column_ids = local.column_ids;
	local.partition_values.Destroy();
	local.partition_values.Initialize(Allocator::DefaultAllocator(), output.GetTypes(), 2);
	local.partition_values.SetChildCardinality(2);
	ArrowTableFunction::ArrowToDuckDB(scan, bind.arrow_table.GetColumns(), local.partition_values,
	                                  bind.projection_pushdown);
	local.has_partition_values = true;
}

void Scan(ClientContext &context, TableFunctionInput &input, DataChunk &output) {
	auto &bind = input.bind_data->Cast<ArrowScanBindData>();
	auto &global = input.global_state->Cast<ScanGlobalState>();
	auto &local = input.local_state->Cast<ScanLocalState>();
	while (true) {
		if (!local.chunk || local.chunk_offset >= static_cast<idx_t>(local.chunk->arrow_array.length)) {
			if (!NextBatch(context, global, local)) {
				return;
			}
		}
		auto remaining = static_cast<idx_t>(local.chunk->arrow_array.length) - local.chunk_offset;
		output.SetChildCardinality(MinValue<idx_t>(STANDARD_VECTOR_SIZE, remaining));
		global.rows += output.size();
		// With projection pushdown Rust sends exactly the projected columns, in order.
		ArrowTableFunction::ArrowToDuckDB(local, bind.arrow_table.GetColumns(), output, bind.projection_pushdown);
		local.chunk_offset += output.size();
		if (local.partition_arrow) {
			ConvertPartitionValues(context, bind, local, output);
		}
		ApplyFilters(local.executors, global.residual, output);
		if (global.sample_fraction >= 0) {
			Sample(local, global.sample_fraction, output);
		}
		if (output.size() > 0) {
			return;
		}
		// Everything filtered out: an empty chunk would end the scan, so read on.
		output.Reset();
	}
}

OperatorPartitionData PartitionData(ClientContext &context, TableFunctionGetPartitionInput &input) {
	auto &local = input.local_state->Cast<ScanLocalState>();
	OperatorPartitionData result(local.batch_index);
	for (auto column : input.partition_info.partition_columns) {
		// `column` is a position in the scan's columns.
		if (!local.has_partition_values || column >= local.partition_values.ColumnCount()) {
			throw IOException("vgi: the worker sent a batch of a partitioned scan without vgi_partition_values");
		}
		ColumnPartitionData values(local.partition_values.GetValue(column, 0));
		values.max_val = local.partition_values.GetValue(column, 1);
		result.partition_data.push_back(std::move(values));
	}
	return result;
}

// The worker's statistics of a column, for the optimizer (filter pruning, join order).
unique_ptr<BaseStatistics> Statistics(ClientContext &context, const FunctionData *bind_data, column_t column) {
	auto &bind = bind_data->Cast<ArrowScanBindData>();
	if (IsComputedColumn(bind, column)) {
		return nullptr;
	}
	column = IsVirtualColumn(column) ? column : BoundColumn(bind, column);
	VgiColumnStatistics info;
	auto found = vgi_binding_statistics(bind.binding.get(), column, &info);
	ArrowArrayWrapper bounds; // releases the bounds when done
	bounds.arrow_array = info.bounds;
	if (!found || IsVirtualColumn(column)) {
		return nullptr;
	}
	auto type = const_cast<ArrowTableSchema &>(bind.arrow_table).GetTypes()[column];
	auto stats_type = BaseStatistics::GetStatsType(type);
	bool numeric = stats_type == StatisticsType::NUMERIC_STATS;
	bool string = stats_type == StatisticsType::STRING_STATS;
	unique_ptr<BaseStatistics> stats;
	if (bounds.arrow_array.release && (numeric || string)) {
		// Convert the two bounds with DuckDB's Arrow reader, as the scan converts rows.
		ArrowScanLocalState scan(make_uniq<ArrowArrayWrapper>(), context);
		auto owned = make_shared_ptr<ArrowArrayWrapper>();
		owned->arrow_array = bounds.arrow_array;
		bounds.arrow_array.release = nullptr;
		scan.chunk = std::move(owned);
		scan.column_ids = {column};
		DataChunk values;
		values.Initialize(Allocator::DefaultAllocator(), {type}, 2);
		values.SetChildCardinality(2);
		ArrowTableFunction::ArrowToDuckDB(scan, bind.arrow_table.GetColumns(), values, true);
		auto min = values.GetValue(0, 0), max = values.GetValue(0, 1);
		if (numeric) {
			stats = BaseStatistics::CreateEmpty(type).ToUnique();
			NumericStats::SetMin(*stats, min);
			NumericStats::SetMax(*stats, max);
			if (info.has_null != 0) {
				stats->SetHasNull();
			}
			if (info.has_not_null != 0) {
				stats->SetHasNoNull();
			}
		} else {
			// Unknown apart from the bounds: string lengths stay unknown (DuckDB compresses
			// strings by their maximum length).
			stats = BaseStatistics::CreateUnknown(type).ToUnique();
			auto min_text = StringValue::Get(min), max_text = StringValue::Get(max);
			StringStats::SetMin(*stats, string_t(min_text), StringStatsType::EXACT_STATS);
			StringStats::SetMax(*stats, string_t(max_text), StringStatsType::EXACT_STATS);
			if (info.has_null == 0) {
				stats->Set(StatsInfo::CANNOT_HAVE_NULL_VALUES);
			}
		}
	} else {
		stats = BaseStatistics::CreateUnknown(type).ToUnique();
		if (info.has_null == 0) {
			stats->Set(StatsInfo::CANNOT_HAVE_NULL_VALUES);
		}
	}
	if (info.distinct_count >= 0) {
		stats->SetDistinctCount(idx_t(info.distinct_count));
	}
	return stats;
}

// EXPLAIN ANALYZE, when a thread's scan ends: the execution's traffic and the worker's profile.
void Metrics(TableFunctionGetMetricsInput &input) {
	if (!input.global_state) {
		return;
	}
	auto execution = input.global_state->Cast<ScanGlobalState>().execution.get();
	string text(256, '\0');
	auto needed = vgi_execution_metrics(execution, &text[0], text.size());
	if (needed > text.size()) {
		text.assign(needed, '\0');
		needed = vgi_execution_metrics(execution, &text[0], text.size());
	}
	text.resize(needed ? needed - 1 : 0);
	ForEachPair(text, [&](const string &key, const string &value) { input.operator_metrics.AddExtraInfo(key, value); });
}

TablePartitionInfo PartitionInfo(ClientContext &context, TableFunctionPartitionInput &input) {
	auto &bind = input.bind_data->Cast<ArrowScanBindData>();
	vector<uint64_t> columns;
	for (auto id : input.partition_ids) {
		if (IsComputedColumn(bind, id)) {
			return TablePartitionInfo::NOT_PARTITIONED;
		}
		columns.push_back(BoundColumn(bind, id));
	}
	auto kind = vgi_binding_partition_kind(bind.binding.get(), columns.data(), columns.size());
	switch (kind) {
	case 1:
		return TablePartitionInfo::SINGLE_VALUE_PARTITIONS;
	case 2:
		return TablePartitionInfo::OVERLAPPING_PARTITIONS;
	case 3:
		return TablePartitionInfo::DISJOINT_PARTITIONS;
	default:
		return TablePartitionInfo::NOT_PARTITIONED;
	}
}

void SetScanOrder(unique_ptr<RowGroupOrderOptions> order, optional_ptr<FunctionData> bind_data) {
	auto &bind = bind_data->Cast<ArrowScanBindData>();
	bind.order_column = int64_t(order->column_idx.GetPrimaryIndex());
	bind.order_descending = order->order_type == OrderType::DESCENDING;
	bind.order_nulls_first = order->null_order == OrderByNullType::NULLS_FIRST;
	bind.order_limit = order->row_limit.IsValid() ? int64_t(order->row_limit.GetIndex()) : -1;
}

} // namespace

ClientProperties LosslessProperties(ClientContext &context) {
	auto properties = context.GetClientProperties();
	properties.arrow_lossless_conversion = true;
	return properties;
}

void CopyArrowResult(ClientContext &context, const ArrowTableSchema &schema, unique_ptr<ArrowArrayWrapper> array,
                     idx_t count, Vector &result, idx_t offset) {
	if (static_cast<idx_t>(array->arrow_array.length) != count) {
		throw IOException("vgi: the worker returned %lld result rows for %llu inputs", array->arrow_array.length, count);
	}
	// Convert into a chunk of our own, then copy out: the Arrow buffers are released when the
	// scan state goes away at the end of this call.
	ArrowScanLocalState scan(std::move(array), context);
	DataChunk converted;
	auto types = const_cast<ArrowTableSchema &>(schema).GetTypes();
	converted.Initialize(Allocator::DefaultAllocator(), types, STANDARD_VECTOR_SIZE);
	idx_t done = 0;
	while (done < count) {
		// DuckDB converts at most one vector per call.
		auto rows = MinValue<idx_t>(STANDARD_VECTOR_SIZE, count - done);
		converted.Reset();
		converted.SetChildCardinality(rows);
		scan.chunk_offset = done;
		ArrowTableFunction::ArrowToDuckDB(scan, schema.GetColumns(), converted, false);
		VectorOperations::Copy(converted.data[0], result, rows, 0, offset + done);
		done += rows;
	}
}

unique_ptr<NodeStatistics> Cardinality(ClientContext &context, const FunctionData *bind_data) {
	uint64_t estimate = 0;
	int64_t max = -1;
	if (!vgi_binding_cardinality(bind_data->Cast<ArrowScanBindData>().binding.get(), &estimate, &max)) {
		return make_uniq<NodeStatistics>();
	}
	return max >= 0 ? make_uniq<NodeStatistics>(estimate, static_cast<idx_t>(max)) : make_uniq<NodeStatistics>(estimate);
}

double Progress(ClientContext &context, const FunctionData *bind_data, const GlobalTableFunctionState *global) {
	uint64_t estimate = 0;
	int64_t max = -1;
	if (!global || !vgi_binding_cardinality(bind_data->Cast<ArrowScanBindData>().binding.get(), &estimate, &max) ||
	    estimate == 0) {
		return -1; // unknown
	}
	auto rows = static_cast<double>(global->Cast<ScanGlobalState>().rows.load());
	return MinValue<double>(100.0, 100.0 * rows / static_cast<double>(estimate));
}

InsertionOrderPreservingMap<string> ToString(TableFunctionToStringInput &input) {
	InsertionOrderPreservingMap<string> result;
	if (!input.bind_data) {
		return result;
	}
	auto &bind = input.bind_data->Cast<ArrowScanBindData>();
	auto add = [&](const string &key, const string &value) { result[key] = value; };
	ForEachPair(vgi_binding_description(bind.binding.get()), add);
	// After the scan started (EXPLAIN ANALYZE): what its execution actually pushed.
	lock_guard<mutex> guard(bind.explain->lock);
	ForEachPair(bind.explain->pairs, add);
	return result;
}

void MarkScansFeedingWrite(PhysicalOperator &plan) {
	if (plan.type == PhysicalOperatorType::TABLE_SCAN) {
		auto &scan = plan.Cast<PhysicalTableScan>();
		if (scan.function.init_global == InitGlobal && scan.bind_data) {
			scan.bind_data->Cast<ArrowScanBindData>().feeds_write = true;
		}
	}
	for (auto &child : plan.children) {
		MarkScansFeedingWrite(child.get());
	}
}

void SetArrowScanCallbacks(TableFunction &function) {
	function.init_global = InitGlobal;
	function.init_local = InitLocal;
	function.function = Scan;
	function.cardinality = Cardinality;
	function.table_scan_progress = Progress;
	function.to_string = ToString;
	function.get_partition_data = PartitionData;
}

void SetWorkerScanPushdown(TableFunction &function) {
	function.projection_pushdown = true;
	function.filter_pushdown = true;
	function.sampling_pushdown = true;
	function.set_scan_order = SetScanOrder;
	function.get_partition_info = PartitionInfo;
	function.get_metrics = Metrics;
	function.statistics = Statistics;
}

} // namespace vgi
