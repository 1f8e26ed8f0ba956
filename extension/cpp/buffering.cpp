// f((SELECT ...)) for a worker *buffering* function: the call binds to its own logical operator
// over the input plan, which plans as a DuckDB sink + source. Every input chunk goes to the
// worker (any thread), the sink's Finalize combines once, and the source reads the finalize
// streams, one per DuckDB thread. Rust (src/buffering.rs) drives the protocol.
#include "arrow_scan.hpp"
#include "catalog.hpp"

#include "duckdb/common/arrow/arrow_converter.hpp"
#include "duckdb/execution/physical_plan_generator.hpp"
#include "duckdb/planner/expression/bound_columnref_expression.hpp"
#include "duckdb/planner/expression/bound_reference_expression.hpp"
#include "duckdb/planner/operator/logical_extension_operator.hpp"

namespace vgi {
using namespace duckdb;

namespace {

using BufferingBindingPtr = std::shared_ptr<VgiBufferingBinding>;

// What the bind produced: the worker binding, the input layout, the output layout.
struct BufferingPlan {
	BufferingBindingPtr binding;
	vector<LogicalType> input_types;
	vector<string> input_names;
	ArrowTableSchema output;
	//! schema.function at the worker, for EXPLAIN.
	string function;
	bool sink_in_order = false;
	bool source_in_order = false;
};

struct BufferingSinkState : public GlobalSinkState {
	VgiBuffering *execution = nullptr;
	mutex lock;
	int64_t next_batch = 0;
	~BufferingSinkState() override {
		if (execution) {
			vgi_buffering_free(execution);
		}
	}
};

struct BufferingSourceState : public GlobalSourceState {
	explicit BufferingSourceState(idx_t threads) : threads(threads) {
	}
	idx_t threads;
	idx_t MaxThreads() override {
		return threads;
	}
};

// One thread's finalize stream and the batch it is emitting.
struct BufferingLocalSource : public LocalSourceState {
	explicit BufferingLocalSource(ClientContext &context) : scan(make_uniq<ArrowArrayWrapper>(), context) {
	}
	ArrowScanLocalState scan;
	VgiBufferingSource *source = nullptr;
	DataChunk converted;
	bool done = false;
	~BufferingLocalSource() override {
		if (source) {
			vgi_buffering_source_free(source);
		}
	}
	bool HasRows() const {
		return scan.chunk && scan.chunk_offset < static_cast<idx_t>(scan.chunk->arrow_array.length);
	}
};

class WorkerBuffering : public PhysicalOperator {
public:
	WorkerBuffering(PhysicalPlan &plan, vector<LogicalType> types, idx_t cardinality, std::shared_ptr<BufferingPlan> p,
	                vector<idx_t> input_columns_p)
	    : PhysicalOperator(plan, PhysicalOperatorType::EXTENSION, std::move(types), cardinality), bound(std::move(p)),
	      input_columns(std::move(input_columns_p)) {
	}
	std::shared_ptr<BufferingPlan> bound;
	//! Where each column the worker was bound to sits in the input chunks.
	vector<idx_t> input_columns;

	string GetName() const override {
		return "VGI_BUFFERING";
	}
	InsertionOrderPreservingMap<string> ParamsToString() const override {
		InsertionOrderPreservingMap<string> result;
		result["Worker Function"] = bound->function;
		result["Input"] = bound->sink_in_order ? "in order, one thread" : "parallel";
		result["Output"] = bound->source_in_order ? "in order, one stream at a time" : "parallel finalize streams";
		SetEstimatedCardinality(result, estimated_cardinality);
		return result;
	}

	// ---- sink: the input
	bool IsSink() const override {
		return true;
	}
	bool ParallelSink() const override {
		return !bound->sink_in_order;
	}
	bool SinkOrderDependent() const override {
		return bound->sink_in_order;
	}
	unique_ptr<GlobalSinkState> GetGlobalSinkState(ClientContext &context) const override {
		auto state = make_uniq<BufferingSinkState>();
		ThrowIfError(vgi_buffering_start(bound->binding.get(), IsInterrupted, &context, &state->execution));
		return std::move(state);
	}
	SinkResultType Sink(ExecutionContext &context, DataChunk &chunk, OperatorSinkInput &input) const override {
		auto &state = input.global_state.Cast<BufferingSinkState>();
		auto properties = LosslessProperties(context.client);
		ArrowSchemaWrapper schema;
		ArrowArrayWrapper array;
		ArrowConverter::ToArrowSchema(&schema.arrow_schema, bound->input_types, bound->input_names, properties);
		DataChunk sent;
		sent.InitializeEmpty(bound->input_types);
		for (idx_t i = 0; i < input_columns.size(); i++) {
			sent.data[i].Reference(chunk.data[input_columns[i]]);
		}
		sent.SetCardinality(chunk.size());
		ArrowConverter::ToArrowArray(sent, &array.arrow_array, properties, {});
		int64_t batch_index = -1;
		if (bound->sink_in_order) {
			// One sink thread: arrival order is DuckDB's order.
			lock_guard<mutex> guard(state.lock);
			batch_index = state.next_batch++;
		}
		ThrowIfError(vgi_buffering_process(state.execution, &schema.arrow_schema, &array.arrow_array, batch_index));
		return SinkResultType::NEED_MORE_INPUT;
	}
	SinkFinalizeType Finalize(Pipeline &pipeline, Event &event, ClientContext &context,
	                          OperatorSinkFinalizeInput &input) const override {
		ThrowIfError(vgi_buffering_combine(input.global_state.Cast<BufferingSinkState>().execution));
		return SinkFinalizeType::READY;
	}

	// ---- source: the finalize streams
	bool IsSource() const override {
		return true;
	}
	bool ParallelSource() const override {
		return !bound->source_in_order;
	}
	unique_ptr<GlobalSourceState> GetGlobalSourceState(ClientContext &context) const override {
		return make_uniq<BufferingSourceState>(bound->source_in_order ? 1 : TaskScheduler::GetScheduler(context).NumberOfThreads());
	}
	unique_ptr<LocalSourceState> GetLocalSourceState(ExecutionContext &context,
	                                                 GlobalSourceState &gstate) const override {
		return make_uniq<BufferingLocalSource>(context.client);
	}
	SourceResultType GetDataInternal(ExecutionContext &context, DataChunk &chunk,
	                                 OperatorSourceInput &input) const override {
		auto &sink = sink_state->Cast<BufferingSinkState>();
		auto &local = input.local_state.Cast<BufferingLocalSource>();
		while (!local.done && !local.HasRows()) {
			if (!local.source) {
				ThrowIfError(vgi_buffering_next_source(sink.execution, IsInterrupted, &context.client, &local.source));
				if (!local.source) {
					local.done = true;
					break;
				}
			}
			auto batch = make_shared_ptr<ArrowArrayWrapper>();
			ThrowIfError(vgi_buffering_source_next(local.source, &batch->arrow_array));
			if (!batch->arrow_array.release) {
				vgi_buffering_source_free(local.source);
				local.source = nullptr;
				continue;
			}
			local.scan.Reset();
			local.scan.chunk = std::move(batch);
		}
		if (local.done) {
			return SourceResultType::FINISHED;
		}
		// At most one vector of the current batch per call.
		auto &scan = local.scan;
		auto rows = MinValue<idx_t>(STANDARD_VECTOR_SIZE, static_cast<idx_t>(scan.chunk->arrow_array.length) - scan.chunk_offset);
		if (local.converted.ColumnCount() == 0) {
			local.converted.Initialize(Allocator::DefaultAllocator(), types);
		}
		local.converted.Reset();
		local.converted.SetChildCardinality(rows);
		ArrowTableFunction::ArrowToDuckDB(scan, bound->output.GetColumns(), local.converted, false);
		scan.chunk_offset += rows;
		for (idx_t c = 0; c < chunk.ColumnCount(); c++) {
			chunk.data[c].Reference(local.converted.data[c]);
		}
		chunk.SetCardinality(rows);
		return SourceResultType::HAVE_MORE_OUTPUT;
	}
};

// The bound call in the logical plan: its only child is the input relation.
class LogicalWorkerBuffering : public LogicalExtensionOperator {
public:
	LogicalWorkerBuffering(TableIndex table_index_p, std::shared_ptr<BufferingPlan> bound_p)
	    : table_index(table_index_p), bound(std::move(bound_p)) {
	}
	TableIndex table_index;
	std::shared_ptr<BufferingPlan> bound;

	vector<ColumnBinding> GetColumnBindings() override {
		return GenerateColumnBindings(table_index, bound->output.GetTypes().size());
	}
	vector<TableIndex> GetTableIndex() const override {
		return {table_index};
	}
	string GetName() const override {
		return "VGI_BUFFERING";
	}
	string GetExtensionName() const override {
		return "vgi";
	}
	PhysicalOperator &CreatePlan(ClientContext &context, PhysicalPlanGenerator &planner) override {
		auto &input = planner.CreatePlan(*children[0]);
		// The input columns, where they now sit in the child's chunks.
		vector<idx_t> columns;
		for (auto &expression : expressions) {
			if (expression->GetExpressionClass() != ExpressionClass::BOUND_REF) {
				throw InternalException("vgi: unresolved buffering input column");
			}
			columns.push_back(expression->Cast<BoundReferenceExpression>().Index());
		}
		auto &op = planner.Make<WorkerBuffering>(types, estimated_cardinality, bound, std::move(columns));
		op.children.push_back(input);
		return op;
	}

protected:
	void ResolveTypes() override {
		types = bound->output.GetTypes();
	}
};

unique_ptr<LogicalOperator> BufferingBindOperator(ClientContext &context, TableFunctionBindInput &input,
                                                  TableIndex bind_index, vector<Identifier> &return_names) {
	auto &info = input.info->Cast<VgiFunctionInfo>();
	if (!input.input_plan || !*input.input_plan) {
		throw BinderException("%s buffers a table: call it as %s((SELECT ...))", info.function, info.function);
	}
	if (input.binder && !input.binder->correlated_columns.empty()) {
		throw BinderException("%s buffers its whole input and cannot be called per row in a LATERAL join",
		                      info.function);
	}
	auto bound = std::make_shared<BufferingPlan>();
	bound->function = info.schema + "." + info.function;
	bound->input_types = input.input_table_types;
	for (auto &name : input.input_table_names) {
		bound->input_names.push_back(name.GetIdentifierName());
	}
	ArrowSchemaWrapper args_schema, input_schema, output_schema;
	ArrowArrayWrapper args;
	ExportArguments(context, input, args_schema.arrow_schema, args.arrow_array);
	auto properties = LosslessProperties(context);
	ArrowConverter::ToArrowSchema(&input_schema.arrow_schema, bound->input_types, bound->input_names, properties);
	VgiBufferingBinding *binding = nullptr;
	int32_t flags = 0;
	ThrowIfError(vgi_buffering_bind(info.handle->rust, MakeSessionCall(context, *info.handle)->Get(),
	                                info.schema.c_str(), info.function.c_str(), &args_schema.arrow_schema,
	                                &args.arrow_array, &input_schema.arrow_schema, &binding,
	                                &output_schema.arrow_schema, &flags));
	bound->binding = BufferingBindingPtr(binding, RustDeleter<VgiBufferingBinding, vgi_buffering_binding_free>());
	bound->sink_in_order = flags & 1;
	bound->source_in_order = flags & 2;
	ArrowTableFunction::PopulateArrowTableSchema(context, bound->output, output_schema.arrow_schema);
	for (auto &name : bound->output.GetNames()) {
		return_names.emplace_back(name);
	}
	auto op = make_uniq<LogicalWorkerBuffering>(bind_index, std::move(bound));
	auto &child = *input.input_plan;
	child->ResolveOperatorTypes();
	// Reference every input column, so the optimizer keeps them all: the worker gets the whole
	// relation it was bound to.
	auto bindings = child->GetColumnBindings();
	for (idx_t i = 0; i < bindings.size(); i++) {
		op->expressions.push_back(make_uniq<BoundColumnRefExpression>(child->types[i], bindings[i]));
	}
	op->children.push_back(std::move(child));
	return std::move(op);
}

} // namespace

TableFunction MakeBufferingFunction(const std::string &name, shared_ptr<VgiFunctionInfo> info) {
	TableFunction function(Identifier(name), {}, nullptr, nullptr);
	function.bind_operator = BufferingBindOperator;
	function.function_info = std::move(info);
	return function;
}

} // namespace vgi
