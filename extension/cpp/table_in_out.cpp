// f((SELECT ...)): a worker table-in-out function as a DuckDB in-out table function. Input
// chunks go to Rust as Arrow, output batches come back as Arrow and are converted with DuckDB's
// own Arrow reader, at most one vector at a time.
#include "arrow_scan.hpp"
#include "catalog.hpp"

#include "duckdb/common/arrow/arrow_converter.hpp"
#include "duckdb/common/vector_operations/vector_operations.hpp"
#include "duckdb/planner/binder.hpp"

namespace vgi {
using namespace duckdb;

namespace {

struct InOutBindData : public TableFunctionData {
	std::shared_ptr<VgiInOutBinding> binding;
	ArrowTableSchema arrow_table;
	vector<LogicalType> input_types;
	vector<string> input_names;
	//! A blended function called with constants: DuckDB's scan presents the one constant row
	//! again on every call, and it is answered once.
	bool literal = false;
};

// One worker stream per query, shared by DuckDB's threads (calls are serialized): the
// worker sees one substream and FINALIZE runs once, after the last thread's input.
struct InOutGlobalState : public GlobalTableFunctionState {
	mutex lock;
	VgiInOut *execution = nullptr;
	idx_t threads = 0;
	idx_t finished_threads = 0;
	bool finalized = false;
	~InOutGlobalState() override {
		if (execution) {
			vgi_in_out_free(execution);
		}
	}
};

struct InOutLocalState : public ArrowScanLocalState {
	explicit InOutLocalState(ClientContext &context) : ArrowScanLocalState(make_uniq<ArrowArrayWrapper>(), context) {
	}
	VgiBatches *pending = nullptr;
	//! The current input chunk went to the worker (DuckDB repeats it while we have output).
	bool input_sent = false;
	//! The literal row of a blended call has been answered.
	bool literal_answered = false;
	//! This thread's input ended (in_out_function_final was called).
	bool reached_end = false;
	~InOutLocalState() override {
		if (pending) {
			vgi_batches_free(pending);
		}
	}
	// Makes the next pending batch current; false when none is left.
	bool NextBatch() {
		while (pending) {
			auto chunk = make_shared_ptr<ArrowArrayWrapper>();
			ThrowIfError(vgi_batches_next(pending, &chunk->arrow_array));
			if (!chunk->arrow_array.release) {
				vgi_batches_free(pending);
				pending = nullptr;
				break;
			}
			if (chunk->arrow_array.length == 0) {
				continue;
			}
			Reset();
			this->chunk = std::move(chunk);
			return true;
		}
		return false;
	}
	bool HasRows() const {
		return chunk && chunk_offset < static_cast<idx_t>(chunk->arrow_array.length);
	}
	//! The function's own columns of the current output vector. DuckDB's output chunk can
	//! hold more (correlated LATERAL input, ordinality) that it fills itself.
	DataChunk converted;

	// Emits up to one vector of the current batch; true if rows remain to emit.
	bool Emit(const InOutBindData &bind, DataChunk &output) {
		if (!HasRows() && !NextBatch()) {
			return false;
		}
		if (converted.ColumnCount() == 0) {
			converted.Initialize(Allocator::DefaultAllocator(), const_cast<ArrowTableSchema &>(bind.arrow_table).GetTypes());
		}
		auto rows = MinValue<idx_t>(STANDARD_VECTOR_SIZE, static_cast<idx_t>(chunk->arrow_array.length) - chunk_offset);
		converted.Reset();
		converted.SetChildCardinality(rows);
		ArrowTableFunction::ArrowToDuckDB(*this, bind.arrow_table.GetColumns(), converted, false);
		for (idx_t c = 0; c < converted.ColumnCount() && c < output.ColumnCount(); c++) {
			output.data[c].Reference(converted.data[c]);
		}
		output.SetChildCardinality(rows);
		chunk_offset += rows;
		return HasRows() || pending;
	}
};

unique_ptr<FunctionData> InOutBind(ClientContext &context, TableFunctionBindInput &input,
                                   vector<LogicalType> &return_types, vector<Identifier> &names) {
	auto &info = input.info->Cast<VgiFunctionInfo>();
	if (info.has_finalize && input.binder && !input.binder->correlated_columns.empty()) {
		// DuckDB runs a correlated (LATERAL) call per outer row and has no end-of-input hook then.
		throw BinderException("%s has a FINALIZE phase and cannot be called per row in a LATERAL join",
		                      info.function);
	}
	auto data = make_uniq<InOutBindData>();
	data->input_types = input.input_table_types;
	if (info.blended) {
		// The input columns are the positional arguments, under their declared names (varargs:
		// col<i>); a literal call's columns (DuckDB's constants) have no names of their own.
		data->literal = true;
		for (idx_t i = 0; i < input.input_table_types.size(); i++) {
			if (i < input.input_table_names.size() && !input.input_table_names[i].GetIdentifierName().empty()) {
				data->literal = false;
			}
			data->input_names.push_back(i < info.input_names.size() ? info.input_names[i] : "col" + std::to_string(i));
		}
	} else {
		for (auto &name : input.input_table_names) {
			data->input_names.push_back(name.GetIdentifierName());
		}
	}
	ArrowSchemaWrapper args_schema, input_schema;
	ArrowArrayWrapper args;
	// A blended call's positional arguments travel as its input rows, not as arguments.
	ExportArguments(context, input, args_schema.arrow_schema, args.arrow_array, !info.blended);
	auto properties = LosslessProperties(context);
	ArrowConverter::ToArrowSchema(&input_schema.arrow_schema, data->input_types, data->input_names, properties);
	VgiInOutBinding *binding = nullptr;
	ArrowSchemaWrapper output_schema;
	ThrowIfError(vgi_in_out_bind(info.handle->rust, MakeSessionCall(context, *info.handle)->Get(), info.schema.c_str(), info.function.c_str(),
	                             &args_schema.arrow_schema, &args.arrow_array, &input_schema.arrow_schema, &binding,
	                             &output_schema.arrow_schema));
	data->binding = std::shared_ptr<VgiInOutBinding>(binding, RustDeleter<VgiInOutBinding, vgi_in_out_binding_free>());
	ArrowTableFunction::PopulateArrowTableSchema(context, data->arrow_table, output_schema.arrow_schema);
	return_types = data->arrow_table.GetTypes();
	for (auto &name : data->arrow_table.GetNames()) {
		names.emplace_back(name);
	}
	return std::move(data);
}

unique_ptr<GlobalTableFunctionState> InOutInitGlobal(ClientContext &context, TableFunctionInitInput &input) {
	auto &bind = input.bind_data->Cast<InOutBindData>();
	auto state = make_uniq<InOutGlobalState>();
	ThrowIfError(vgi_in_out_open(bind.binding.get(), IsInterrupted, &context, &state->execution));
	return std::move(state);
}

unique_ptr<LocalTableFunctionState> InOutInitLocal(ExecutionContext &context, TableFunctionInitInput &input,
                                                   GlobalTableFunctionState *global_p) {
	auto &global = global_p->Cast<InOutGlobalState>();
	lock_guard<mutex> guard(global.lock);
	global.threads++;
	return make_uniq<InOutLocalState>(context.client);
}

// `input`, or its columns cast into `cast` where their types differ from `types`.
DataChunk &CastToBoundTypes(ClientContext &context, DataChunk &input, const vector<LogicalType> &types, DataChunk &cast) {
	if (input.GetTypes() == types) {
		return input;
	}
	cast.Initialize(Allocator::Get(context), types, MaxValue<idx_t>(input.size(), 1));
	for (idx_t c = 0; c < types.size(); c++) {
		VectorOperations::Cast(context, input.data[c], cast.data[c], input.size());
	}
	cast.SetCardinality(input.size());
	return cast;
}

OperatorResultType InOut(ExecutionContext &context, TableFunctionInput &data, DataChunk &input, DataChunk &output) {
	auto &bind = data.bind_data->Cast<InOutBindData>();
	auto &global = data.global_state->Cast<InOutGlobalState>();
	auto &local = data.local_state->Cast<InOutLocalState>();
	if (!local.input_sent) {
		local.input_sent = true;
		// A literal call's row was answered on the first call: the scan ends on an empty chunk.
		bool repeated = bind.literal && local.literal_answered;
		local.literal_answered = true;
		if (input.size() > 0 && !repeated) {
			// A LATERAL call's input has the outer columns' types, the worker was bound to the
			// declared ones.
			DataChunk cast;
			auto &rows = CastToBoundTypes(context.client, input, bind.input_types, cast);
			rows.Flatten();
			ArrowSchemaWrapper schema;
			ArrowArrayWrapper array;
			auto properties = LosslessProperties(context.client);
			ArrowConverter::ToArrowSchema(&schema.arrow_schema, bind.input_types, bind.input_names, properties);
			ArrowConverter::ToArrowArray(rows, &array.arrow_array, properties, {});
			lock_guard<mutex> guard(global.lock);
			ThrowIfError(vgi_in_out_process(global.execution, &schema.arrow_schema, &array.arrow_array, &local.pending));
		}
	}
	if (local.Emit(bind, output)) {
		return OperatorResultType::HAVE_MORE_OUTPUT;
	}
	local.input_sent = false;
	return OperatorResultType::NEED_MORE_INPUT;
}

OperatorFinalizeResultType InOutFinal(ExecutionContext &context, TableFunctionInput &data, DataChunk &output) {
	auto &bind = data.bind_data->Cast<InOutBindData>();
	auto &global = data.global_state->Cast<InOutGlobalState>();
	auto &local = data.local_state->Cast<InOutLocalState>();
	if (!local.reached_end) {
		local.reached_end = true;
		lock_guard<mutex> guard(global.lock);
		global.finished_threads++;
		if (global.finished_threads == global.threads && !global.finalized) {
			global.finalized = true;
			ThrowIfError(vgi_in_out_finish(global.execution, &local.pending));
		}
	}
	return local.Emit(bind, output) ? OperatorFinalizeResultType::HAVE_MORE_OUTPUT
	                                : OperatorFinalizeResultType::FINISHED;
}

} // namespace

TableFunction MakeInOutFunction(const std::string &name, shared_ptr<VgiFunctionInfo> info, bool has_finalize) {
	TableFunction function(Identifier(name), vector<LogicalType>(), nullptr, InOutBind, InOutInitGlobal,
	                       InOutInitLocal);
	function.in_out_function = InOut;
	if (has_finalize) {
		function.in_out_function_final = InOutFinal;
	}
	function.function_info = std::move(info);
	return function;
}

} // namespace vgi
