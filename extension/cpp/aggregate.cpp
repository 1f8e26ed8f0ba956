// ex.main.vgi_sum(v) ... GROUP BY k: a worker aggregate as a DuckDB aggregate function. Each
// DuckDB state holds one int64 group id; update/combine/finalize ship ids and values to the
// worker, which holds the real states for the query's execution.
#include "arrow_scan.hpp"
#include "catalog.hpp"
#include "scalar.hpp"

#include "duckdb/common/arrow/arrow_converter.hpp"
#include "duckdb/function/aggregate_function.hpp"
#include "duckdb/common/types/column/column_data_collection.hpp"

namespace vgi {
using namespace duckdb;

namespace {

struct VgiAggregateInfo : public AggregateFunctionInfo {
	CatalogHandlePtr handle;
	string schema;
	string function;
	vector<bool> constant;
	string argument_names;
	vector<Value> defaults;
};

struct AggregateBindData : public FunctionData {
	std::shared_ptr<VgiAggregate> aggregate;
	//! The query's context (finalize gets none; it outlives the query's aggregates).
	ClientContext *context = nullptr;
	ArrowTableSchema output;
	vector<LogicalType> input_types;
	vector<string> input_names;

	unique_ptr<FunctionData> Copy() const override {
		return make_uniq<AggregateBindData>(*this);
	}
	bool Equals(const FunctionData &other) const override {
		return aggregate == other.Cast<AggregateBindData>().aggregate;
	}
};

struct GroupState {
	int64_t group_id;
};

unique_ptr<FunctionData> AggregateBind(BindAggregateFunctionInput &input) {
	auto &bound = input.GetBoundFunction();
	auto &info = bound.GetDefinition()->GetExtraFunctionInfo().Cast<VgiAggregateInfo>();
	auto &context = input.GetClientContext();
	auto data = make_uniq<AggregateBindData>();
	data->context = &context;
	FoldedArguments folded;
	folded.Fold(input, info.constant, info.defaults);
	data->input_types = folded.input_types;
	data->input_names = folded.input_names;
	ArrowSchemaWrapper args_schema, input_schema, output_schema;
	ArrowArrayWrapper args;
	ExportRow(context, folded.const_names, folded.const_values, args_schema.arrow_schema, args.arrow_array);
	auto properties = LosslessProperties(context);
	ArrowConverter::ToArrowSchema(&input_schema.arrow_schema, data->input_types, data->input_names, properties);
	VgiAggregate *aggregate = nullptr;
	ThrowIfError(vgi_aggregate_bind(info.handle->rust, MakeSessionCall(context, *info.handle)->Get(), info.schema.c_str(), info.function.c_str(),
	                                &args_schema.arrow_schema, &args.arrow_array, &input_schema.arrow_schema,
	                                info.argument_names.empty() ? nullptr : info.argument_names.c_str(),
	                                BatchRows(context), &aggregate, &output_schema.arrow_schema));
	data->aggregate = std::shared_ptr<VgiAggregate>(aggregate, RustDeleter<VgiAggregate, vgi_aggregate_free>());
	ArrowTableFunction::PopulateArrowTableSchema(context, data->output, output_schema.arrow_schema);
	bound.SetReturnType(data->output.GetTypes()[0]);
	return std::move(data);
}

idx_t StateSize(AggregateStateInput &) {
	return sizeof(GroupState);
}

void Initialize(AggregateStateInput &, data_ptr_t *states, idx_t count) {
	auto first = vgi_aggregate_group_ids(count);
	for (idx_t i = 0; i < count; i++) {
		reinterpret_cast<GroupState *>(states[i])->group_id = first + int64_t(i);
	}
}

// The group id of each row's state.
vector<int64_t> GroupIds(Vector &states, idx_t count) {
	UnifiedVectorFormat format;
	states.ToUnifiedFormat(count, format);
	auto pointers = UnifiedVectorFormat::GetData<GroupState *>(format);
	vector<int64_t> ids(count);
	for (idx_t i = 0; i < count; i++) {
		ids[i] = pointers[format.sel->get_index(i)]->group_id;
	}
	return ids;
}

void Update(Vector inputs[], AggregateInputData &aggr_input, idx_t input_count, Vector &states, idx_t count) {
	auto &data = aggr_input.bind_data->Cast<AggregateBindData>();
	auto ids = GroupIds(states, count);
	DataChunk chunk;
	chunk.InitializeEmpty(data.input_types);
	for (idx_t c = 0; c < input_count; c++) {
		chunk.data[c].Reference(inputs[c]);
	}
	chunk.SetCardinality(count);
	ArrowSchemaWrapper schema;
	ArrowArrayWrapper array;
	auto properties = LosslessProperties(*data.context);
	ArrowConverter::ToArrowSchema(&schema.arrow_schema, data.input_types, data.input_names, properties);
	ArrowConverter::ToArrowArray(chunk, &array.arrow_array, properties, {});
	ThrowIfError(vgi_aggregate_update(data.aggregate.get(), ids.data(), ids.size(), &schema.arrow_schema,
	                                  &array.arrow_array));
}

void Combine(Vector &source, Vector &target, AggregateInputData &aggr_input, idx_t count) {
	auto &data = aggr_input.bind_data->Cast<AggregateBindData>();
	auto sources = GroupIds(source, count);
	auto targets = GroupIds(target, count);
	ThrowIfError(vgi_aggregate_combine(data.aggregate.get(), sources.data(), targets.data(), count));
}

void Finalize(Vector &states, AggregateFinalizeInputData &finalize_input, Vector &result, idx_t count,
              idx_t offset) {
	auto &data = finalize_input.bind_data->Cast<AggregateBindData>();
	auto ids = GroupIds(states, count);
	auto array = make_uniq<ArrowArrayWrapper>();
	ThrowIfError(vgi_aggregate_finalize(data.aggregate.get(), ids.data(), ids.size(), &array->arrow_array));
	CopyArrowResult(*data.context, data.output, std::move(array), count, result, offset);
}

// ---- window aggregates the worker computes itself (FunctionInfo.supports_window): DuckDB hands
// each partition over once and asks for the frames of many rows per call.

// The partition id is the id of DuckDB's shared window state (unique in the process).
int64_t PartitionId(const_data_ptr_t g_state) {
	if (!g_state) {
		throw InternalException("vgi: window aggregate evaluated without its partition state");
	}
	return reinterpret_cast<const GroupState *>(g_state)->group_id;
}

void WindowInit(AggregateInputData &aggr_input, const WindowPartitionInput &partition, data_ptr_t g_state) {
	auto &data = aggr_input.bind_data->Cast<AggregateBindData>();
	auto properties = LosslessProperties(*data.context);
	ArrowSchemaWrapper schema;
	ArrowConverter::ToArrowSchema(&schema.arrow_schema, data.input_types, data.input_names, properties);
	// The partition's input columns, chunk by chunk.
	vector<ArrowArrayWrapper> chunks;
	if (partition.inputs && !data.input_types.empty()) {
		ColumnDataScanState scan;
		partition.inputs->InitializeScan(scan, partition.column_ids);
		DataChunk chunk;
		partition.inputs->InitializeScanChunk(scan, chunk);
		while (partition.inputs->Scan(scan, chunk)) {
			chunks.emplace_back();
			ArrowConverter::ToArrowArray(chunk, &chunks.back().arrow_array, properties, {});
		}
	}
	vector<ArrowArray *> arrays;
	for (auto &chunk : chunks) {
		arrays.push_back(&chunk.arrow_array);
	}
	// FILTER: an LSB-first bitmap of the rows that pass (none: every row does).
	vector<uint8_t> filter;
	if (!partition.filter_mask.AllValid()) {
		filter.resize((partition.count + 7) / 8);
		for (idx_t row = 0; row < partition.count; row++) {
			if (partition.filter_mask.RowIsValid(row)) {
				filter[row / 8] |= uint8_t(1u << (row % 8));
			}
		}
	}
	int64_t stats[4] = {partition.stats[0].begin, partition.stats[0].end, partition.stats[1].begin,
	                    partition.stats[1].end};
	vector<uint8_t> all_valid;
	for (auto valid : partition.all_valid) {
		all_valid.push_back(valid ? 1 : 0);
	}
	ThrowIfError(vgi_aggregate_window_init(data.aggregate.get(), PartitionId(g_state), int64_t(partition.count),
	                                       &schema.arrow_schema, arrays.data(), arrays.size(), filter.data(),
	                                       filter.size(), stats, all_valid.data(), all_valid.size()));
}

void WindowBatch(AggregateInputData &aggr_input, const WindowPartitionInput &partition, const_data_ptr_t g_state,
                 data_ptr_t l_state, const SubFrames *subframes_per_row, idx_t count, Vector &result, idx_t row_idx) {
	auto &data = aggr_input.bind_data->Cast<AggregateBindData>();
	vector<int64_t> frames_per_row, starts, ends;
	for (idx_t i = 0; i < count; i++) {
		auto &frames = subframes_per_row[i];
		frames_per_row.push_back(int64_t(frames.size()));
		for (auto &frame : frames) {
			starts.push_back(int64_t(frame.start));
			ends.push_back(int64_t(frame.end));
		}
	}
	auto array = make_uniq<ArrowArrayWrapper>();
	ThrowIfError(vgi_aggregate_window_batch(data.aggregate.get(), PartitionId(g_state), int64_t(row_idx), count,
	                                        frames_per_row.data(), starts.data(), ends.data(), starts.size(),
	                                        &array->arrow_array));
	CopyArrowResult(*data.context, data.output, std::move(array), count, result, 0);
}

} // namespace

void EnableWorkerWindow(AggregateFunction &function) {
	function.SetWindowInitCallback(WindowInit);
	function.SetWindowBatchCallback(WindowBatch);
}

AggregateFunction MakeAggregateFunction(const std::string &name, CatalogHandlePtr handle, const std::string &schema,
                                        const vector<LogicalType> &parameters, const vector<bool> &constant,
                                        LogicalType return_type, const vector<string> &names,
                                  const vector<Value> &defaults) {
	AggregateFunction function(Identifier(name), parameters, return_type, StateSize, Initialize, Update, Combine,
	                           Finalize, FunctionNullHandling::SPECIAL_HANDLING, nullptr, AggregateBind);
	auto info = make_shared_ptr<VgiAggregateInfo>();
	info->handle = std::move(handle);
	info->schema = schema;
	info->function = name;
	info->constant = constant;
	info->argument_names = JoinArgumentNames(names);
	info->defaults = defaults;
	function.SetExtraFunctionInfo(std::move(info));
	return function;
}

} // namespace vgi
