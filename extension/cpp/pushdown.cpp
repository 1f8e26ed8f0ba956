#include "pushdown.hpp"

#include "duckdb/common/optional.hpp"
#include "duckdb/planner/expression/list.hpp"
#include "duckdb/planner/expression/bound_between_expression.hpp"
#include "duckdb/planner/filter/expression_filter.hpp"
#include "duckdb/planner/filter/table_filter_functions.hpp"

namespace vgi {
using namespace duckdb;

namespace {

const char *ComparisonName(ExpressionType type) {
	switch (type) {
	case ExpressionType::COMPARE_EQUAL:
		return "eq";
	case ExpressionType::COMPARE_NOTEQUAL:
		return "ne";
	case ExpressionType::COMPARE_LESSTHAN:
		return "lt";
	case ExpressionType::COMPARE_LESSTHANOREQUALTO:
		return "le";
	case ExpressionType::COMPARE_GREATERTHAN:
		return "gt";
	case ExpressionType::COMPARE_GREATERTHANOREQUALTO:
		return "ge";
	case ExpressionType::COMPARE_DISTINCT_FROM:
		return "distinct_from";
	case ExpressionType::COMPARE_NOT_DISTINCT_FROM:
		return "not_distinct_from";
	default:
		return nullptr;
	}
}

// Writes the prefix-token form of an expression: a faithful description, no judgement.
class FilterWriter {
public:
	FilterWriter(const vector<column_t> &column_ids, FilterDescription &out) : column_ids(column_ids), out(out) {
	}

	//! A dynamic filter was written since the last reset.
	bool saw_dynamic = false;
	//! For predicates above a scan: the scan whose column bindings are `col`s (others unknown).
	optional<TableIndex> bound_table;

	void Write(const Expression &expr, const vector<idx_t> &inputs) {
		switch (expr.GetExpressionClass()) {
		case ExpressionClass::BOUND_REF: {
			auto index = expr.Cast<BoundReferenceExpression>().Index();
			if (index >= inputs.size() || inputs[index] >= column_ids.size() ||
			    IsVirtualColumn(column_ids[inputs[index]])) {
				return Word("unknown");
			}
			return Word("col " + std::to_string(column_ids[inputs[index]]));
		}
		case ExpressionClass::BOUND_COLUMN_REF: {
			auto &binding = expr.Cast<BoundColumnRefExpression>().Binding();
			if (!bound_table || binding.table_index != *bound_table || binding.column_index >= column_ids.size() ||
			    IsVirtualColumn(column_ids[binding.column_index])) {
				return Word("unknown");
			}
			return Word("col " + std::to_string(column_ids[binding.column_index]));
		}
		case ExpressionClass::BOUND_CONSTANT:
			return Constant(expr.Cast<BoundConstantExpression>().GetValue());
		case ExpressionClass::BOUND_CONJUNCTION: {
			auto &conjunction = expr.Cast<BoundConjunctionExpression>();
			Word(expr.GetExpressionType() == ExpressionType::CONJUNCTION_AND ? "and" : "or");
			return Children(conjunction.GetChildren(), 0, inputs);
		}
		case ExpressionClass::BOUND_OPERATOR:
			return Operator(expr.Cast<BoundOperatorExpression>(), inputs);
		case ExpressionClass::BOUND_FUNCTION:
			return Function(expr.Cast<BoundFunctionExpression>(), inputs);
		default:
			return Word("unknown");
		}
	}

private:
	const vector<column_t> &column_ids;
	FilterDescription &out;

	void Word(const string &word) {
		out.text += word;
		out.text += ' ';
	}
	void Constant(const Value &value) {
		Word("const " + std::to_string(out.constants.size()));
		out.constants.push_back(value);
	}
	void Children(const vector<unique_ptr<Expression>> &children, idx_t from, const vector<idx_t> &inputs) {
		Word(std::to_string(children.size() - from));
		for (idx_t i = from; i < children.size(); i++) {
			Write(*children[i], inputs);
		}
	}

	void Operator(const BoundOperatorExpression &op, const vector<idx_t> &inputs) {
		auto &children = op.GetChildren();
		switch (op.GetExpressionType()) {
		case ExpressionType::OPERATOR_NOT:
			Word("not");
			return Write(*children[0], inputs);
		case ExpressionType::OPERATOR_IS_NULL:
			Word("is_null");
			return Write(*children[0], inputs);
		case ExpressionType::OPERATOR_IS_NOT_NULL:
			Word("is_not_null");
			return Write(*children[0], inputs);
		case ExpressionType::COMPARE_IN:
		case ExpressionType::COMPARE_NOT_IN:
			Word(op.GetExpressionType() == ExpressionType::COMPARE_IN ? "in" : "not_in");
			Word(std::to_string(children.size() - 1));
			for (auto &child : children) {
				Write(*child, inputs);
			}
			return;
		default:
			return Word("unknown");
		}
	}

	void Function(const BoundFunctionExpression &function, const vector<idx_t> &inputs) {
		auto type = function.GetExpressionType();
		if (BoundComparisonExpression::IsComparison(function) && ComparisonName(type)) {
			Word(string("cmp ") + ComparisonName(type));
			Write(BoundComparisonExpression::Left(function), inputs);
			return Write(BoundComparisonExpression::Right(function), inputs);
		}
		if (type == ExpressionType::COMPARE_BETWEEN && BoundBetweenExpression::HasValidBindData(function)) {
			Word(string("between ") + (BoundBetweenExpression::LowerInclusive(function) ? "1 " : "0 ") +
			     (BoundBetweenExpression::UpperInclusive(function) ? "1" : "0"));
			Write(BoundBetweenExpression::Input(function), inputs);
			Write(BoundBetweenExpression::LowerBound(function), inputs);
			return Write(BoundBetweenExpression::UpperBound(function), inputs);
		}
		if (BoundCastExpression::IsCast(function)) {
			// The target type travels as a typed NULL constant.
			Word("cast " + std::to_string(out.constants.size()) +
			     (BoundCastExpression::IsTryCast(function) ? " 1" : " 0"));
			out.constants.push_back(Value(BoundCastExpression::TargetType(function)));
			return Write(BoundCastExpression::Child(function), inputs);
		}
		auto name = function.Function().GetName().GetIdentifierName();
		auto &bind_info = function.BindInfo();
		if (name == OptionalFilterScalarFun::NAME || name == SelectivityOptionalFilterScalarFun::NAME) {
			optional_ptr<Expression> child;
			if (bind_info && name == OptionalFilterScalarFun::NAME) {
				child = bind_info->Cast<OptionalFilterFunctionData>().child_filter_expr.get();
			} else if (bind_info) {
				child = bind_info->Cast<SelectivityOptionalFilterFunctionData>().child_filter_expr.get();
			}
			if (!child) {
				return Word("optional_none");
			}
			Word("optional");
			return Write(*child, inputs);
		}
		if (name == DynamicFilterScalarFun::NAME) {
			auto &children = function.GetChildren();
			if (!bind_info || children.empty()) {
				return Word("unknown");
			}
			auto &data = *bind_info->Cast<DynamicFilterFunctionData>().filter_data;
			auto op = ComparisonName(data.comparison_type);
			if (!op) {
				return Word("unknown");
			}
			Word(string("dynamic ") + op);
			saw_dynamic = true;
			if (data.initialized) {
				// Reads the current constant under the filter's own lock.
				auto comparison = data.ToExpression(*children[0]);
				auto &right = BoundComparisonExpression::Right(comparison->Cast<BoundFunctionExpression>());
				Constant(right.Cast<BoundConstantExpression>().GetValue());
			} else {
				Word("none");
			}
			return Write(*children[0], inputs);
		}
		if (TableFilterFunctions::IsTableFilterFunction(function.Function())) {
			return Word("unknown"); // bloom and prefix-range filters: DuckDB-internal state
		}
		for (auto &c : name) {
			if (StringUtil::CharacterIsSpace(c)) {
				c = '_';
			}
		}
		Word("fn " + (name.empty() ? string("_") : name));
		Children(function.GetChildren(), 0, inputs);
	}
};

} // namespace

FilterDescription DescribeFilters(const TableFilterSet &filters, const vector<column_t> &column_ids,
                                  const vector<string> &names) {
	FilterDescription result;
	FilterWriter writer(column_ids, result);
	auto add = [&](const TableFilter &filter, vector<idx_t> inputs) {
		auto &expression_filter = ExpressionFilter::GetExpressionFilter(filter, "vgi scan");
		result.text += "filter " + std::to_string(result.filters.size()) + " ";
		writer.saw_dynamic = false;
		writer.Write(*expression_filter.expr, inputs);
		string display;
		if (inputs.size() == 1 && inputs[0] < column_ids.size() && column_ids[inputs[0]] < names.size()) {
			display = expression_filter.ToString(names[column_ids[inputs[0]]]);
		} else {
			display = expression_filter.expr->ToString();
		}
		result.filters.push_back(
		    ScanFilter {expression_filter.expr->Copy(), std::move(inputs), std::move(display), writer.saw_dynamic});
	};
	for (auto &entry : filters) {
		add(entry.Filter(), {entry.GetIndex().GetIndex()});
	}
	for (auto &filter : filters.GetMultiColumnFilters()) {
		vector<idx_t> inputs;
		for (auto &index : ExpressionFilter::GetExpressionFilter(*filter, "vgi scan").column_indexes) {
			inputs.push_back(index.GetIndex());
		}
		add(*filter, std::move(inputs));
	}
	return result;
}

void DescribePredicates(const vector<reference<const Expression>> &predicates, TableIndex table_index,
                        const vector<column_t> &column_ids, FilterDescription &out) {
	FilterWriter writer(column_ids, out);
	writer.bound_table = table_index;
	idx_t slot = out.filters.size();
	for (auto &predicate : predicates) {
		out.text += "filter " + std::to_string(slot++) + " ";
		writer.Write(predicate.get(), {});
	}
}

FilterDescription DescribeDynamicFilters(const vector<ScanFilter> &filters, const vector<column_t> &column_ids) {
	FilterDescription result;
	FilterWriter writer(column_ids, result);
	for (idx_t slot = 0; slot < filters.size(); slot++) {
		if (filters[slot].dynamic) {
			result.text += "filter " + std::to_string(slot) + " ";
			writer.Write(*filters[slot].expr, filters[slot].inputs);
		}
	}
	return result;
}

void ApplyFilters(vector<unique_ptr<ExpressionExecutor>> &executors, const vector<reference<ScanFilter>> &filters,
                  DataChunk &output) {
	for (idx_t f = 0; f < filters.size() && output.size() > 0; f++) {
		// A fresh selection per filter: Slice keeps referencing the buffer it was given, so
		// reusing it would rewrite the rows an earlier filter selected.
		SelectionVector selection(STANDARD_VECTOR_SIZE);
		auto &filter = filters[f].get();
		DataChunk input;
		vector<LogicalType> types;
		for (auto column : filter.inputs) {
			types.push_back(output.data[column].GetType());
		}
		input.InitializeEmpty(types);
		for (idx_t i = 0; i < filter.inputs.size(); i++) {
			input.data[i].Reference(output.data[filter.inputs[i]]);
		}
		input.SetCardinality(output.size());
		auto count = executors[f]->SelectExpression(input, selection);
		if (count != output.size()) {
			output.Slice(selection, count);
		}
	}
}

} // namespace vgi
