// ex.main.f(col, 3): a worker scalar function as a DuckDB scalar function. Constant arguments
// are folded at bind and sent once; each DuckDB thread evaluates its chunks through its own
// exchange stream.
#include "arrow_scan.hpp"
#include "catalog.hpp"
#include "scalar.hpp"

#include "duckdb/common/arrow/arrow_converter.hpp"
#include "duckdb/execution/expression_executor.hpp"
#include "duckdb/function/table/arrow.hpp"
#include "duckdb/planner/expression/bound_function_expression.hpp"

namespace vgi {
using namespace duckdb;

namespace {

struct VgiScalarInfo : public ScalarFunctionInfo {
	CatalogHandlePtr handle;
	string schema;
	string function;
	vector<bool> constant;
	string argument_names;
	vector<Value> defaults;
};

struct ScalarLocalState : public FunctionLocalState {
	VgiScalar *execution = nullptr;
	~ScalarLocalState() override {
		if (execution) {
			vgi_scalar_free(execution);
		}
	}
};

unique_ptr<FunctionData> ScalarBind(BindScalarFunctionInput &input) {
	auto &bound = input.GetBoundFunction();
	auto &info = bound.GetDefinition()->GetExtraFunctionInfo().Cast<VgiScalarInfo>();
	auto &context = input.GetClientContext();
	auto data = make_uniq<ScalarBindData>();
	FoldedArguments folded;
	folded.Fold(input, info.constant, info.defaults);
	data->input_types = folded.input_types;
	data->input_names = folded.input_names;
	ArrowSchemaWrapper args_schema, input_schema, output_schema;
	ArrowArrayWrapper args;
	ExportRow(context, folded.const_names, folded.const_values, args_schema.arrow_schema, args.arrow_array);
	auto properties = LosslessProperties(context);
	ArrowConverter::ToArrowSchema(&input_schema.arrow_schema, data->input_types, data->input_names, properties);
	VgiScalarBinding *binding = nullptr;
	ThrowIfError(vgi_scalar_bind(info.handle->rust, MakeSessionCall(context, *info.handle)->Get(), info.schema.c_str(), info.function.c_str(),
	                             &args_schema.arrow_schema, &args.arrow_array, &input_schema.arrow_schema,
	                             info.argument_names.empty() ? nullptr : info.argument_names.c_str(), &binding,
	                             &output_schema.arrow_schema));
	data->binding =
	    std::shared_ptr<VgiScalarBinding>(binding, RustDeleter<VgiScalarBinding, vgi_scalar_binding_free>());
	data->per_chunk = vgi_scalar_binding_per_chunk(binding) != 0;
	if (data->per_chunk) {
		// Rows may differ beyond their own values (e.g. seed + row index): whatever stability the
		// catalog shows, this call must not be folded to one value or deduplicated.
		bound.SetStability(FunctionStability::VOLATILE);
	}
	data->output = std::make_shared<ArrowTableSchema>();
	ArrowTableFunction::PopulateArrowTableSchema(context, *data->output, output_schema.arrow_schema);
	bound.SetReturnType(data->output->GetTypes()[0]);
	return std::move(data);
}

unique_ptr<FunctionLocalState> ScalarInitLocal(ExpressionState &state, const BoundFunctionExpression &expr,
                                               FunctionData *bind_data) {
	auto &data = bind_data->Cast<ScalarBindData>();
	auto local = make_uniq<ScalarLocalState>();
	auto &context = state.GetContext();
	ThrowIfError(vgi_scalar_open(data.binding.get(), IsInterrupted, &context, &local->execution));
	return std::move(local);
}

void ScalarExecute(DataChunk &args, ExpressionState &state, Vector &result) {
	auto &expr = state.expr.Cast<BoundFunctionExpression>();
	auto &data = expr.BindInfo()->Cast<ScalarBindData>();
	auto &local = ExecuteFunctionState::GetFunctionState(state)->Cast<ScalarLocalState>();
	auto &context = state.GetContext();
	ArrowSchemaWrapper schema;
	ArrowArrayWrapper input;
	ExportScalarArguments(context, data, args, schema.arrow_schema, input.arrow_array);
	auto output = make_uniq<ArrowArrayWrapper>();
	ThrowIfError(vgi_scalar_call(local.execution, &schema.arrow_schema, &input.arrow_array, args.size(),
	                             &output->arrow_array));
	CopyArrowResult(context, *data.output, std::move(output), args.size(), result, 0);
	// Constant arguments give a constant result, unless the answer may differ row by row.
	if (!data.per_chunk && args.AllConstant()) {
		result.SetVectorType(VectorType::CONSTANT_VECTOR);
	}
}

} // namespace

void ExportScalarArguments(ClientContext &context, const ScalarBindData &data, DataChunk &args, ArrowSchema &schema,
                           ArrowArray &array) {
	auto properties = LosslessProperties(context);
	ArrowConverter::ToArrowSchema(&schema, data.input_types, data.input_names, properties);
	ArrowConverter::ToArrowArray(args, &array, properties, {});
}

ScalarFunction MakeScalarFunction(const std::string &name, CatalogHandlePtr handle, const std::string &schema,
                                  const vector<LogicalType> &parameters, const vector<bool> &constant,
                                  LogicalType return_type, const vector<string> &names,
                                  const vector<Value> &defaults) {
	ScalarFunction function(Identifier(name), parameters, std::move(return_type), ScalarExecute);
	auto info = make_shared_ptr<VgiScalarInfo>();
	info->handle = std::move(handle);
	info->schema = schema;
	info->function = name;
	info->constant = constant;
	info->argument_names = JoinArgumentNames(names);
	info->defaults = defaults;
	function.SetExtraFunctionInfo(std::move(info));
	function.SetBindCallback(ScalarBind);
	function.SetInitStateCallback(ScalarInitLocal);
	// The worker decides; DuckDB must not constant-fold or deduplicate calls it cannot see.
	function.SetStability(FunctionStability::VOLATILE);
	function.SetFallible();
	function.SetNullHandling(FunctionNullHandling::SPECIAL_HANDLING);
	return function;
}

} // namespace vgi
