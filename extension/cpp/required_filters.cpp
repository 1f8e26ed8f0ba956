// Required filters of catalog tables (`TableInfo.required_filters`), checked before DuckDB
// optimizes a query: for every scan of such a table, this pass collects the query's
// predicates on that scan's rows — WHERE conjuncts above it (followed through projections,
// set operations and CTE references) that read no other table — and Rust decides
// (extension/src/required_filters.rs has the rule) and words the refusal. Checking the query
// as written keeps the answer independent of the data: DuckDB's optimizer later drops
// filters that statistics prove always true.
//
// Two kinds of scans are checked: worker scans of a table (the binding knows its table), and
// the scans beneath a multi-branch table's view (DuckDB reads them: read_parquet, ...). Such a
// view carries a marker predicate, `WHERE system.main.vgi_required_filters(table, groups)`:
// this pass checks every scan under it against the table's groups (filters inside the view,
// the worker's branch filters, do not count) and removes it, so DuckDB plans the view as
// without it. When the pass does not run (optimizer disabled) the marker executes and refuses.
#include "arrow_scan.hpp"
#include "pushdown.hpp"

#include "duckdb/common/arrow/arrow_wrapper.hpp"
#include "duckdb/function/scalar_function.hpp"
#include "duckdb/main/config.hpp"
#include "duckdb/main/extension/extension_loader.hpp"
#include "duckdb/optimizer/optimizer.hpp"
#include "duckdb/optimizer/optimizer_extension.hpp"
#include "duckdb/planner/expression/bound_columnref_expression.hpp"
#include "duckdb/planner/expression/bound_conjunction_expression.hpp"
#include "duckdb/planner/expression/bound_constant_expression.hpp"
#include "duckdb/planner/expression/bound_function_expression.hpp"
#include "duckdb/planner/expression_iterator.hpp"
#include "duckdb/planner/operator/logical_cteref.hpp"
#include "duckdb/planner/operator/logical_filter.hpp"
#include "duckdb/planner/operator/logical_get.hpp"
#include "duckdb/planner/operator/logical_materialized_cte.hpp"
#include "duckdb/planner/operator/logical_projection.hpp"
#include "duckdb/planner/operator/logical_set_operation.hpp"

namespace vgi {
using namespace duckdb;

namespace {

// Rust writes the marker with this name (extension/src/branches.rs).
constexpr const char *MARKER = "vgi_required_filters";

// A table's required filters as a branch view's marker carries them.
struct Marker {
	string table;
	string groups;
};

using Predicates = vector<unique_ptr<Expression>>;

void MarkerFunction(DataChunk &args, ExpressionState &state, Vector &result) {
	// Only reached when the optimizer pass did not run: nothing of the query can be seen.
	auto table = StringValue::Get(args.GetValue(0, 0));
	auto groups = StringValue::Get(args.GetValue(1, 0));
	ThrowIfError(vgi_required_filters_check(table.c_str(), groups.c_str(), nullptr, 0, nullptr, nullptr, nullptr, 1));
	result.SetVectorType(VectorType::CONSTANT_VECTOR);
	ConstantVector::GetData<bool>(result)[0] = true;
}

// The marker's table and groups when `expr` is a marker call.
bool IsMarker(const Expression &expr, Marker &out) {
	if (expr.GetExpressionClass() != ExpressionClass::BOUND_FUNCTION) {
		return false;
	}
	auto &call = expr.Cast<BoundFunctionExpression>();
	auto &children = call.GetChildren();
	if (call.Function().GetName().GetIdentifierName() != MARKER || children.size() != 2 ||
	    children[0]->GetExpressionClass() != ExpressionClass::BOUND_CONSTANT ||
	    children[1]->GetExpressionClass() != ExpressionClass::BOUND_CONSTANT) {
		return false;
	}
	auto &table = children[0]->Cast<BoundConstantExpression>().GetValue();
	auto &groups = children[1]->Cast<BoundConstantExpression>().GetValue();
	if (table.IsNull() || groups.IsNull()) {
		return false;
	}
	out.table = StringValue::Get(table);
	out.groups = StringValue::Get(groups);
	return true;
}

// The worker binding of a scan whose table declares required filters.
optional_ptr<ArrowScanBindData> RequiringBinding(LogicalGet &get) {
	auto bind = dynamic_cast<ArrowScanBindData *>(get.bind_data.get());
	if (!bind || !bind->binding || !vgi_binding_has_required_filters(bind->binding.get())) {
		return nullptr;
	}
	return bind;
}

// Whether the plan has anything to check (most plans have not).
bool Needed(LogicalOperator &op) {
	if (op.type == LogicalOperatorType::LOGICAL_GET && RequiringBinding(op.Cast<LogicalGet>())) {
		return true;
	}
	if (op.type == LogicalOperatorType::LOGICAL_FILTER) {
		Marker marker;
		for (auto &expr : op.expressions) {
			if (IsMarker(*expr, marker)) {
				return true;
			}
		}
	}
	for (auto &child : op.children) {
		if (Needed(*child)) {
			return true;
		}
	}
	return false;
}

// Replaces the column references `map` knows (a projection's, set operation's or CTE
// reference's outputs) with what they stand for below it.
void Substitute(unique_ptr<Expression> &expr,
                const std::function<unique_ptr<Expression>(const BoundColumnRefExpression &)> &map) {
	if (expr->GetExpressionClass() == ExpressionClass::BOUND_COLUMN_REF) {
		auto replacement = map(expr->Cast<BoundColumnRefExpression>());
		if (replacement) {
			expr = std::move(replacement);
		}
		return;
	}
	ExpressionIterator::EnumerateChildren(*expr, [&](unique_ptr<Expression> &child) { Substitute(child, map); });
}

// Replaces references to the outputs of `table_index` (by position) with `inputs`.
void SubstituteBindings(Predicates &predicates, TableIndex table_index, const vector<ColumnBinding> &inputs) {
	for (auto &expr : predicates) {
		Substitute(expr, [&](const BoundColumnRefExpression &ref) -> unique_ptr<Expression> {
			auto &binding = ref.Binding();
			if (binding.table_index != table_index || binding.column_index >= inputs.size()) {
				return nullptr;
			}
			// Types are not resolved before the optimizer runs: the reference keeps its own.
			return make_uniq<BoundColumnRefExpression>(ref.GetReturnType(), inputs[binding.column_index]);
		});
	}
}

Predicates Copy(const Predicates &predicates) {
	Predicates result;
	for (auto &expr : predicates) {
		result.push_back(expr->Copy());
	}
	return result;
}

// Whether `expr` reads columns of `table_index` and of no other table (a join condition, a
// correlated or subquery value, reads another).
bool ReadsOnly(const Expression &expr, TableIndex table_index) {
	bool this_table = false, other = false;
	std::function<void(const Expression &)> walk = [&](const Expression &e) {
		if (e.GetExpressionClass() == ExpressionClass::BOUND_COLUMN_REF) {
			auto &binding = e.Cast<BoundColumnRefExpression>();
			(binding.Binding().table_index == table_index && binding.Depth() == 0 ? this_table : other) = true;
			return;
		}
		ExpressionIterator::EnumerateChildren(e, walk);
	};
	walk(expr);
	return this_table && !other;
}

class RequiredFiltersCheck {
public:
	explicit RequiredFiltersCheck(ClientContext &context) : context(context) {
	}

	//! `above`: the query's predicates on `op`'s rows, over `op`'s column bindings. `marker`:
	//! `op` is inside a branch view of a table with required filters (the view's own
	//! predicates do not count). Removes the markers it passes.
	void Visit(unique_ptr<LogicalOperator> &op_p, Predicates above, optional_ptr<const Marker> marker) {
		auto &op = *op_p;
		Marker found;
		switch (op.type) {
		case LogicalOperatorType::LOGICAL_FILTER: {
			auto &filter = op.Cast<LogicalFilter>();
			bool marks = false;
			for (idx_t i = 0; i < filter.expressions.size(); i++) {
				if (IsMarker(*filter.expressions[i], found)) {
					filter.expressions.erase_at(i--);
					marks = true;
				}
			}
			if (marks) {
				marker = &found;
			} else if (!marker) {
				for (auto &expr : filter.expressions) {
					above.push_back(expr->Copy());
				}
			}
			Visit(filter.children[0], std::move(above), marker);
			if (marks && filter.expressions.empty()) {
				if (filter.HasProjectionMap()) {
					filter.expressions.push_back(make_uniq<BoundConstantExpression>(Value::BOOLEAN(true)));
				} else {
					op_p = std::move(filter.children[0]);
				}
			}
			return;
		}
		case LogicalOperatorType::LOGICAL_PROJECTION: {
			auto &projection = op.Cast<LogicalProjection>();
			for (auto &expr : above) {
				Substitute(expr, [&](const BoundColumnRefExpression &ref) -> unique_ptr<Expression> {
					auto &binding = ref.Binding();
					if (binding.table_index != projection.table_index ||
					    binding.column_index >= projection.expressions.size()) {
						return nullptr;
					}
					return projection.expressions[binding.column_index]->Copy();
				});
			}
			break;
		}
		case LogicalOperatorType::LOGICAL_UNION:
		case LogicalOperatorType::LOGICAL_INTERSECT:
		case LogicalOperatorType::LOGICAL_EXCEPT: {
			// A set operation's rows come from its inputs, position by position (EXCEPT's from
			// its first input only).
			auto &setop = op.Cast<LogicalSetOperation>();
			for (idx_t c = 0; c < op.children.size(); c++) {
				Predicates child_above;
				if (c == 0 || op.type != LogicalOperatorType::LOGICAL_EXCEPT) {
					child_above = Copy(above);
					SubstituteBindings(child_above, setop.table_index, op.children[c]->GetColumnBindings());
				}
				Visit(op.children[c], std::move(child_above), marker);
			}
			return;
		}
		case LogicalOperatorType::LOGICAL_MATERIALIZED_CTE: {
			// The query (second child) first: its references tell what the CTE's rows are
			// filtered by.
			auto &cte = op.Cast<LogicalMaterializedCTE>();
			cte_outputs[cte.table_index] = op.children[0]->GetColumnBindings();
			Visit(op.children[1], std::move(above), marker);
			Visit(op.children[0], CtePredicates(cte.table_index), marker);
			return;
		}
		case LogicalOperatorType::LOGICAL_CTE_REF: {
			auto &ref = op.Cast<LogicalCTERef>();
			auto output = cte_outputs.find(ref.cte_index);
			if (output != cte_outputs.end()) {
				Predicates own; // the predicates on this reference's rows alone
				for (auto &expr : above) {
					if (ReadsOnly(*expr, ref.table_index)) {
						own.push_back(std::move(expr));
					}
				}
				SubstituteBindings(own, ref.table_index, output->second);
				cte_refs[ref.cte_index].push_back(std::move(own));
			}
			return;
		}
		case LogicalOperatorType::LOGICAL_GET:
			Check(op.Cast<LogicalGet>(), above, marker);
			// A table in-out function's input is another query, with its own predicates.
			for (auto &child : op.children) {
				Visit(child, {}, marker);
			}
			return;
		default:
			break;
		}
		// Joins, limits, orders...: the predicates still apply to the rows from below, over the
		// same bindings; those over other bindings (an aggregate's) match no scan.
		for (idx_t c = 0; c < op.children.size(); c++) {
			Visit(op.children[c], c + 1 == op.children.size() ? std::move(above) : Copy(above), marker);
		}
	}

private:
	ClientContext &context;
	//! Per CTE: its definition's output bindings.
	unordered_map<TableIndex, vector<ColumnBinding>> cte_outputs;
	//! Per CTE: the predicates of each of its references, over the definition's bindings.
	unordered_map<TableIndex, vector<Predicates>> cte_refs;

	// A CTE's rows pass the predicates of one of its references: with several, a row meets
	// the OR of their conjunctions (a reference without predicates constrains nothing).
	Predicates CtePredicates(TableIndex cte_index) {
		auto &refs = cte_refs[cte_index];
		Predicates result;
		if (refs.size() == 1) {
			return std::move(refs[0]);
		}
		auto any = make_uniq<BoundConjunctionExpression>(ExpressionType::CONJUNCTION_OR);
		for (auto &ref : refs) {
			if (ref.empty()) {
				return result;
			}
			auto all = make_uniq<BoundConjunctionExpression>(ExpressionType::CONJUNCTION_AND);
			for (auto &expr : ref) {
				all->GetChildrenMutable().push_back(std::move(expr));
			}
			any->GetChildrenMutable().push_back(std::move(all));
		}
		if (!refs.empty()) {
			result.push_back(std::move(any));
		}
		return result;
	}

	void Check(LogicalGet &get, const Predicates &above, optional_ptr<const Marker> marker) {
		auto bind = RequiringBinding(get);
		if (!marker && !bind) {
			return;
		}
		// Columns as Rust names them: a worker scan's by its bound columns; a DuckDB reader's by
		// scan position, as dotted paths (DuckDB may scan struct fields as columns).
		vector<column_t> column_ids;
		vector<string> names;
		auto &ids = get.GetColumnIds();
		for (idx_t i = 0; i < ids.size(); i++) {
			auto &id = ids[i];
			bool real = id.HasPrimaryIndex() && !id.IsVirtualColumn() && id.GetPrimaryIndex() < get.names.size();
			if (bind) {
				column_ids.push_back(id.HasPrimaryIndex() ? id.GetPrimaryIndex() : COLUMN_IDENTIFIER_ROW_ID);
			} else {
				column_ids.push_back(real ? column_t(i) : COLUMN_IDENTIFIER_ROW_ID);
				names.push_back(real ? id.GetName(get.names[id.GetPrimaryIndex()].GetIdentifierName()) : string());
			}
		}
		if (bind) {
			column_ids = ScanColumns(*bind, column_ids);
			for (auto &name : get.names) {
				names.push_back(name.GetIdentifierName());
			}
		}
		auto description = DescribeFilters(get.table_filters, column_ids, names);
		vector<reference<const Expression>> predicates;
		for (auto &expr : above) {
			if (ReadsOnly(*expr, get.table_index)) {
				predicates.push_back(*expr);
			}
		}
		DescribePredicates(predicates, get.table_index, column_ids, description);
		ArrowSchemaWrapper constants_schema;
		ArrowArrayWrapper constants;
		bool exported = ExportConstants(context, description.constants, constants_schema, constants);
		auto schema_ptr = exported ? &constants_schema.arrow_schema : nullptr;
		auto array_ptr = exported ? &constants.arrow_array : nullptr;
		auto text = description.text.c_str();
		if (bind) {
			ThrowIfError(vgi_binding_verify_required_filters(bind->binding.get(), text, schema_ptr, array_ptr));
			return;
		}
		vector<const char *> name_ptrs;
		for (auto &name : names) {
			name_ptrs.push_back(name.c_str());
		}
		ThrowIfError(vgi_required_filters_check(marker->table.c_str(), marker->groups.c_str(), name_ptrs.data(),
		                                        name_ptrs.size(), text, schema_ptr, array_ptr, 0));
	}
};

void PreOptimize(OptimizerExtensionInput &input, unique_ptr<LogicalOperator> &plan) {
	if (Needed(*plan)) {
		RequiredFiltersCheck(input.context).Visit(plan, {}, nullptr);
	}
}

} // namespace

void RegisterRequiredFilters(ExtensionLoader &loader) {
	ScalarFunction marker(MARKER, {LogicalType::VARCHAR, LogicalType::VARCHAR}, LogicalType::BOOLEAN, MarkerFunction);
	marker.SetVolatile(); // never folded away: it must reach the pass (or run)
	loader.RegisterFunction(marker);
	OptimizerExtension extension;
	extension.pre_optimize_function = PreOptimize;
	OptimizerExtension::Register(DBConfig::GetConfig(loader.GetDatabaseInstance()), std::move(extension));
}

} // namespace vgi
