// Worker scalar calls batched across chunks. DuckDB evaluates a scalar function one 2048-row
// chunk at a time and needs each answer before it goes on, so every chunk would cost a worker
// turn, and a turn costs far more than the rows it carries. After DuckDB's optimizers, this
// rule moves each worker call out of projections, aggregate inputs and single-predicate
// filters into an operator of its own (VGI_SCALAR) that appends the call's result column to
// its input. Where the pipeline lets rows be held back (DuckDB's rule for its caching
// operators), the operator queues chunks and Rust answers up to `vgi_batch_rows` rows in one
// turn; elsewhere it answers chunk by chunk. Calls under CASE, AND/OR, COALESCE or TRY stay
// where they are: those evaluate only some rows.
#include "arrow_scan.hpp"
#include "catalog.hpp"
#include "scalar.hpp"

#include "duckdb/execution/expression_executor.hpp"
#include "duckdb/execution/physical_plan_generator.hpp"
#include "duckdb/main/config.hpp"
#include "duckdb/optimizer/optimizer.hpp"
#include "duckdb/optimizer/optimizer_extension.hpp"
#include "duckdb/planner/binder.hpp"
#include "duckdb/planner/expression/bound_aggregate_expression.hpp"
#include "duckdb/planner/expression/bound_columnref_expression.hpp"
#include "duckdb/planner/expression/bound_function_expression.hpp"
#include "duckdb/planner/expression_iterator.hpp"
#include "duckdb/planner/operator/logical_aggregate.hpp"
#include "duckdb/planner/operator/logical_extension_operator.hpp"
#include "duckdb/planner/operator/logical_filter.hpp"

#include <deque>

namespace vgi {
using namespace duckdb;

namespace {

constexpr const char *BATCH_ROWS_SETTING = "vgi_batch_rows";
constexpr idx_t DEFAULT_BATCH_ROWS = 65536;

// One moved call: the worker binding and where its arguments sit among the operator's
// expressions.
struct WorkerCall {
	std::shared_ptr<ScalarBindData> data;
	string name;
	idx_t first_argument;
	idx_t argument_count;
};

// ---- execution ------------------------------------------------------------------------------

struct WorkerScalarsState : public OperatorState {
	WorkerScalarsState(ClientContext &context, const vector<unique_ptr<Expression>> &arguments)
	    : executor(context, arguments) {
		vector<LogicalType> types;
		for (auto &argument : arguments) {
			types.push_back(argument->GetReturnType());
		}
		if (!types.empty()) { // zero-argument calls need no argument columns
			args.Initialize(Allocator::Get(context), types);
		}
	}
	~WorkerScalarsState() override {
		for (auto execution : executions) {
			if (execution) {
				vgi_scalar_free(execution);
			}
		}
	}
	ExpressionExecutor executor;
	DataChunk args;
	vector<VgiScalar *> executions;
	bool started = false;
	//! Rows per worker turn; 0: chunk by chunk (the pipeline needs each chunk's rows at once).
	idx_t batch_rows = 0;
	//! The current input chunk has been sent (DuckDB presents it again while we return output).
	bool input_sent = false;
	//! Copies of the chunks sent but not yet answered, oldest first (batched mode only).
	std::deque<unique_ptr<DataChunk>> held;
};

class WorkerScalars : public PhysicalOperator {
public:
	WorkerScalars(PhysicalPlan &plan, vector<LogicalType> types, idx_t cardinality, vector<WorkerCall> calls_p,
	              vector<unique_ptr<Expression>> arguments_p, idx_t input_columns_p, idx_t batch_rows_p)
	    : PhysicalOperator(plan, PhysicalOperatorType::EXTENSION, std::move(types), cardinality),
	      calls(std::move(calls_p)), arguments(std::move(arguments_p)), input_columns(input_columns_p),
	      batch_rows(batch_rows_p) {
	}
	vector<WorkerCall> calls;
	vector<unique_ptr<Expression>> arguments;
	//! The input's columns come first in the output, the calls' results after them.
	idx_t input_columns;
	idx_t batch_rows;

	string GetName() const override {
		return "VGI_SCALAR";
	}
	InsertionOrderPreservingMap<string> ParamsToString() const override {
		InsertionOrderPreservingMap<string> result;
		string names;
		for (auto &call : calls) {
			names += (names.empty() ? "" : "\n") + call.name;
		}
		result["Worker Functions"] = names;
		result["Rows per Worker Turn"] =
		    "up to " + std::to_string(batch_rows) + " (one chunk under LIMIT or order-preserving output)";
		SetEstimatedCardinality(result, estimated_cardinality);
		return result;
	}
	bool ParallelOperator() const override {
		return true;
	}
	bool RequiresFinalExecute() const override {
		return true;
	}
	unique_ptr<OperatorState> GetOperatorState(ExecutionContext &context) const override {
		return make_uniq<WorkerScalarsState>(context.client, arguments);
	}

	OperatorResultType Execute(ExecutionContext &context, DataChunk &input, DataChunk &chunk,
	                           GlobalOperatorState &gstate, OperatorState &state_p) const override {
		auto &state = state_p.Cast<WorkerScalarsState>();
		Start(context, state);
		if (!state.input_sent) {
			Send(context, state, input);
			state.input_sent = true;
		}
		if (Emit(context, state, input, chunk)) {
			return OperatorResultType::HAVE_MORE_OUTPUT;
		}
		state.input_sent = false;
		return OperatorResultType::NEED_MORE_INPUT;
	}

	OperatorFinalizeResultType FinalExecute(ExecutionContext &context, DataChunk &chunk, GlobalOperatorState &gstate,
	                                        OperatorState &state_p) const override {
		auto &state = state_p.Cast<WorkerScalarsState>();
		if (!state.started || state.batch_rows == 0) {
			return OperatorFinalizeResultType::FINISHED;
		}
		// The input has ended: send what is queued (nothing, on the calls after the first).
		for (auto execution : state.executions) {
			ThrowIfError(vgi_scalar_flush(execution));
		}
		DataChunk none;
		return Emit(context, state, none, chunk) ? OperatorFinalizeResultType::HAVE_MORE_OUTPUT
		                                         : OperatorFinalizeResultType::FINISHED;
	}

private:
	// Opens one exchange stream per call for this thread and picks the mode.
	void Start(ExecutionContext &context, WorkerScalarsState &state) const {
		if (state.started) {
			return;
		}
		state.executions.resize(calls.size(), nullptr);
		for (idx_t i = 0; i < calls.size(); i++) {
			ThrowIfError(vgi_scalar_open(calls[i].data->binding.get(), IsInterrupted, &context.client,
			                             &state.executions[i]));
		}
		auto mode = SelectOperatorCachingMode(context);
		bool may_hold = mode == OperatorCachingMode::UNORDERED || mode == OperatorCachingMode::ORDERED;
		state.batch_rows = may_hold ? batch_rows : 0;
		state.started = true;
	}

	// Evaluates the arguments of one input chunk and hands them to each call's stream.
	void Send(ExecutionContext &context, WorkerScalarsState &state, DataChunk &input) const {
		if (!arguments.empty()) {
			state.args.Reset();
			state.executor.Execute(input, state.args);
		}
		for (idx_t i = 0; i < calls.size(); i++) {
			auto &call = calls[i];
			DataChunk sent;
			sent.InitializeEmpty(call.data->input_types);
			for (idx_t a = 0; a < call.argument_count; a++) {
				sent.data[a].Reference(state.args.data[call.first_argument + a]);
			}
			sent.SetCardinality(input.size());
			ArrowSchemaWrapper schema;
			ArrowArrayWrapper array;
			ExportScalarArguments(context.client, *call.data, sent, schema.arrow_schema, array.arrow_array);
			ThrowIfError(vgi_scalar_push(state.executions[i], &schema.arrow_schema, &array.arrow_array, input.size(),
			                             state.batch_rows));
		}
		if (state.batch_rows > 0) {
			auto copy = make_uniq<DataChunk>();
			copy->Initialize(Allocator::Get(context.client), input.GetTypes(), MaxValue<idx_t>(input.size(), 1));
			input.Copy(*copy);
			state.held.push_back(std::move(copy));
		}
	}

	// Writes the oldest answered chunk into `chunk`, if any; true when more answers are ready.
	bool Emit(ExecutionContext &context, WorkerScalarsState &state, DataChunk &input, DataChunk &chunk) const {
		bool more = false;
		for (idx_t i = 0; i < calls.size(); i++) {
			auto answer = make_uniq<ArrowArrayWrapper>();
			uint64_t remaining = 0;
			ThrowIfError(vgi_scalar_pop(state.executions[i], &answer->arrow_array, &remaining));
			if (!answer->arrow_array.release) {
				if (i > 0) {
					throw InternalException("vgi: worker scalar calls answered different chunks");
				}
				return false;
			}
			more = remaining > 0;
			auto rows = static_cast<idx_t>(answer->arrow_array.length);
			CopyArrowResult(context.client, *calls[i].data->output, std::move(answer), rows,
			                chunk.data[input_columns + i], 0);
		}
		auto &source = state.batch_rows > 0 ? *state.held.front() : input;
		for (idx_t c = 0; c < input_columns; c++) {
			chunk.data[c].Reference(source.data[c]);
		}
		chunk.SetCardinality(source.size());
		if (state.batch_rows > 0) {
			state.held.pop_front();
		}
		return more;
	}
};

// ---- planning -------------------------------------------------------------------------------

class LogicalWorkerScalars : public LogicalExtensionOperator {
public:
	LogicalWorkerScalars(TableIndex table_index_p, vector<WorkerCall> calls_p)
	    : table_index(table_index_p), calls(std::move(calls_p)) {
	}
	TableIndex table_index;
	vector<WorkerCall> calls;

	vector<ColumnBinding> GetColumnBindings() override {
		auto bindings = children[0]->GetColumnBindings();
		for (auto &binding : GenerateColumnBindings(table_index, calls.size())) {
			bindings.push_back(binding);
		}
		return bindings;
	}
	vector<TableIndex> GetTableIndex() const override {
		return {table_index};
	}
	string GetName() const override {
		return "VGI_SCALAR";
	}
	string GetExtensionName() const override {
		return "vgi";
	}
	PhysicalOperator &CreatePlan(ClientContext &context, PhysicalPlanGenerator &planner) override {
		auto &input = planner.CreatePlan(*children[0]);
		auto &op = planner.Make<WorkerScalars>(types, estimated_cardinality, calls, std::move(expressions),
		                                       input.types.size(), BatchRows(context));
		op.children.push_back(input);
		return op;
	}

protected:
	void ResolveTypes() override {
		types = children[0]->types;
		for (auto &call : calls) {
			types.push_back(call.data->output->GetTypes()[0]);
		}
	}
};

// A worker call whose chunks may be batched (a call evaluated chunk by chunk stays in its
// expression: the operator would only add a copy).
bool IsWorkerCall(const Expression &expr) {
	if (expr.GetExpressionClass() != ExpressionClass::BOUND_FUNCTION) {
		return false;
	}
	auto &bind_info = expr.Cast<BoundFunctionExpression>().BindInfo();
	auto data = bind_info ? dynamic_cast<const ScalarBindData *>(bind_info.get()) : nullptr;
	return data && !data->per_chunk;
}

// Expressions that evaluate their operands only for some rows.
bool EvaluatesSomeRows(const Expression &expr) {
	switch (expr.GetExpressionClass()) {
	case ExpressionClass::BOUND_CASE:
	case ExpressionClass::BOUND_CONJUNCTION:
	case ExpressionClass::BOUND_LAMBDA:
		return true;
	case ExpressionClass::BOUND_OPERATOR:
		return expr.GetExpressionType() == ExpressionType::OPERATOR_COALESCE ||
		       expr.GetExpressionType() == ExpressionType::OPERATOR_TRY;
	default:
		return false;
	}
}

// Whether `expr` holds a worker call that evaluates for every row.
bool HasMovableCall(const Expression &expr) {
	if (EvaluatesSomeRows(expr)) {
		return false;
	}
	if (IsWorkerCall(expr)) {
		return true;
	}
	bool found = false;
	ExpressionIterator::EnumerateChildren(expr, [&](const Expression &child) { found = found || HasMovableCall(child); });
	return found;
}

// Moves the innermost worker calls of `expr` into `moved`, leaving references to the columns
// the new operator (`table_index`) will append.
void TakeInnermostCalls(unique_ptr<Expression> &expr, TableIndex table_index, vector<unique_ptr<Expression>> &moved) {
	if (EvaluatesSomeRows(*expr)) {
		return;
	}
	if (IsWorkerCall(*expr)) {
		bool inner = false;
		ExpressionIterator::EnumerateChildren(*expr, [&](const Expression &child) { inner = inner || HasMovableCall(child); });
		if (!inner) {
			auto binding = ColumnBinding(table_index, ProjectionIndex(moved.size()));
			auto reference = make_uniq<BoundColumnRefExpression>(expr->GetAlias(), expr->GetReturnType(), binding);
			moved.push_back(std::move(expr));
			expr = std::move(reference);
			return;
		}
	}
	ExpressionIterator::EnumerateChildren(
	    *expr, [&](unique_ptr<Expression> &child) { TakeInnermostCalls(child, table_index, moved); });
}

// The expressions of `op` evaluated once per input row, where calls may move from.
vector<reference<unique_ptr<Expression>>> PerRowExpressions(LogicalOperator &op) {
	vector<reference<unique_ptr<Expression>>> result;
	if (op.type == LogicalOperatorType::LOGICAL_PROJECTION) {
		for (auto &expr : op.expressions) {
			result.push_back(expr);
		}
	} else if (op.type == LogicalOperatorType::LOGICAL_FILTER && op.expressions.size() == 1) {
		// One predicate sees every row; of several, DuckDB evaluates each on the rows the
		// others left (in an order it adapts at run time).
		result.push_back(op.expressions[0]);
	} else if (op.type == LogicalOperatorType::LOGICAL_AGGREGATE_AND_GROUP_BY) {
		auto &aggregate = op.Cast<LogicalAggregate>();
		for (auto &group : aggregate.groups) {
			result.push_back(group);
		}
		for (auto &expr : aggregate.expressions) {
			if (expr->GetExpressionClass() != ExpressionClass::BOUND_AGGREGATE) {
				continue;
			}
			auto &bound = expr->Cast<BoundAggregateExpression>();
			// With FILTER, only the selected rows' inputs are evaluated.
			if (bound.GetFilter()) {
				continue;
			}
			for (auto &child : bound.GetChildrenMutable()) {
				result.push_back(child);
			}
		}
	}
	return result;
}

void MoveWorkerCalls(unique_ptr<LogicalOperator> &op, Binder &binder) {
	for (auto &child : op->children) {
		MoveWorkerCalls(child, binder);
	}
	if (op->children.size() != 1) {
		return;
	}
	// One operator per nesting level: f(g(x)) becomes g's operator under f's.
	while (true) {
		auto expressions = PerRowExpressions(*op);
		bool any = false;
		for (auto &expr : expressions) {
			any = any || HasMovableCall(*expr.get());
		}
		if (!any) {
			return;
		}
		auto table_index = binder.GenerateTableIndex();
		vector<unique_ptr<Expression>> moved;
		for (auto &expr : expressions) {
			TakeInnermostCalls(expr.get(), table_index, moved);
		}
		vector<WorkerCall> calls;
		vector<unique_ptr<Expression>> arguments;
		for (auto &expr : moved) {
			auto &call = expr->Cast<BoundFunctionExpression>();
			auto &data = call.BindInfo()->Cast<ScalarBindData>();
			WorkerCall worker_call {std::make_shared<ScalarBindData>(data), call.Function().GetName().GetIdentifierName(), arguments.size(),
			                        call.GetChildren().size()};
			for (auto &argument : call.GetChildrenMutable()) {
				arguments.push_back(std::move(argument));
			}
			calls.push_back(std::move(worker_call));
		}
		auto scalars = make_uniq<LogicalWorkerScalars>(table_index, std::move(calls));
		scalars->expressions = std::move(arguments);
		scalars->children.push_back(std::move(op->children[0]));
		if (scalars->children[0]->has_estimated_cardinality) {
			scalars->SetEstimatedCardinality(scalars->children[0]->estimated_cardinality);
		}
		scalars->ResolveOperatorTypes();
		if (op->type == LogicalOperatorType::LOGICAL_FILTER) {
			// A filter passes its input's columns on: keep the result columns out of its output.
			auto &filter = op->Cast<LogicalFilter>();
			if (filter.projection_map.empty()) {
				for (idx_t i = 0; i < scalars->children[0]->types.size(); i++) {
					filter.projection_map.emplace_back(i);
				}
			}
		}
		op->children[0] = std::move(scalars);
	}
}

void OptimizeWorkerCalls(OptimizerExtensionInput &input, unique_ptr<LogicalOperator> &plan) {
	if (BatchRows(input.context) <= STANDARD_VECTOR_SIZE) {
		return; // batching off: calls stay in their expressions
	}
	MoveWorkerCalls(plan, input.optimizer.binder);
}

} // namespace

idx_t BatchRows(ClientContext &context) {
	Value setting;
	if (context.TryGetCurrentSetting(BATCH_ROWS_SETTING, setting) && !setting.IsNull()) {
		return setting.GetValue<uint64_t>();
	}
	return DEFAULT_BATCH_ROWS;
}

void RegisterScalarBatching(DBConfig &config) {
	config.AddExtensionOption(Identifier(BATCH_ROWS_SETTING),
	                          "Rows one call to a worker scalar or aggregate function may carry (scalars: where row "
	                          "order allows holding rows back); at most 2048, one DuckDB vector: a call per chunk",
	                          LogicalType::UBIGINT, Value::UBIGINT(DEFAULT_BATCH_ROWS));
	OptimizerExtension extension;
	extension.optimize_function = OptimizeWorkerCalls;
	OptimizerExtension::Register(config, std::move(extension));
}

} // namespace vgi
