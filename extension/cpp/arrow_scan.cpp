#include "arrow_scan.hpp"

#include "duckdb/common/arrow/arrow_wrapper.hpp"

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

namespace {

struct ScanGlobalState : public GlobalTableFunctionState {
	VgiScan *scan = nullptr;
	mutex lock;
	bool done = false;
	//! Rows handed to DuckDB so far (progress bar).
	atomic<idx_t> rows {0};
	~ScanGlobalState() override {
		if (scan) {
			vgi_scan_free(scan);
		}
	}
	idx_t MaxThreads() const override {
		return 1;
	}
};

struct ScanLocalState : public ArrowScanLocalState {
	explicit ScanLocalState(ClientContext &context) : ArrowScanLocalState(make_uniq<ArrowArrayWrapper>(), context) {
	}
};

unique_ptr<GlobalTableFunctionState> InitGlobal(ClientContext &context, TableFunctionInitInput &input) {
	auto &bind = input.bind_data->Cast<ArrowScanBindData>();
	auto state = make_uniq<ScanGlobalState>();
	if (!bind.projection_pushdown) {
		ThrowIfError(vgi_binding_open(bind.binding.get(), nullptr, 0, IsInterrupted, &context, &state->scan));
		return std::move(state);
	}
	// Ask for the real columns DuckDB needs, in its order (count(*) needs none).
	vector<uint64_t> columns;
	for (auto id : input.column_ids) {
		if (!IsVirtualColumn(id)) {
			columns.push_back(id);
		}
	}
	ThrowIfError(vgi_binding_open(bind.binding.get(), columns.data(), columns.size(), IsInterrupted, &context,
	                              &state->scan));
	return std::move(state);
}

unique_ptr<LocalTableFunctionState> InitLocal(ExecutionContext &context, TableFunctionInitInput &input,
                                              GlobalTableFunctionState *global) {
	auto local = make_uniq<ScanLocalState>(context.client);
	if (input.bind_data->Cast<ArrowScanBindData>().projection_pushdown) {
		local->column_ids = input.column_ids;
	}
	return std::move(local);
}

// Pulls the next non-empty batch from Rust; false at the end of the scan.
bool NextBatch(ScanGlobalState &global, ScanLocalState &local) {
	lock_guard<mutex> guard(global.lock);
	while (!global.done) {
		auto chunk = make_shared_ptr<ArrowArrayWrapper>();
		ThrowIfError(vgi_scan_next(global.scan, &chunk->arrow_array));
		if (!chunk->arrow_array.release) {
			global.done = true;
			break;
		}
		if (chunk->arrow_array.length == 0) {
			continue;
		}
		local.Reset();
		local.chunk = std::move(chunk);
		return true;
	}
	return false;
}

void Scan(ClientContext &context, TableFunctionInput &input, DataChunk &output) {
	auto &bind = input.bind_data->Cast<ArrowScanBindData>();
	auto &global = input.global_state->Cast<ScanGlobalState>();
	auto &local = input.local_state->Cast<ScanLocalState>();
	if (!local.chunk || local.chunk_offset >= static_cast<idx_t>(local.chunk->arrow_array.length)) {
		if (!NextBatch(global, local)) {
			return;
		}
	}
	auto remaining = static_cast<idx_t>(local.chunk->arrow_array.length) - local.chunk_offset;
	output.SetChildCardinality(MinValue<idx_t>(STANDARD_VECTOR_SIZE, remaining));
	global.rows += output.size();
	// With projection pushdown Rust sends exactly the projected columns, in order.
	ArrowTableFunction::ArrowToDuckDB(local, bind.arrow_table.GetColumns(), output, bind.projection_pushdown);
	local.chunk_offset += output.size();
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
	if (input.bind_data) {
		string worker_function = vgi_binding_description(input.bind_data->Cast<ArrowScanBindData>().binding.get());
		if (!worker_function.empty()) {
			result["Worker Function"] = worker_function;
		}
	}
	return result;
}

void SetArrowScanCallbacks(TableFunction &function) {
	function.init_global = InitGlobal;
	function.init_local = InitLocal;
	function.function = Scan;
	function.cardinality = Cardinality;
	function.table_scan_progress = Progress;
	function.to_string = ToString;
}

} // namespace vgi
