// Describes what DuckDB pushes into a scan (table filters, sample) for Rust to decide on, and
// applies the filters Rust leaves to DuckDB (a scan with filter_pushdown must apply them).
#pragma once

#include "adapter.hpp"
#include "duckdb/execution/expression_executor.hpp"
#include "duckdb/planner/table_filter_set.hpp"

namespace vgi {

// One of DuckDB's table filters, over the scan's output columns.
struct ScanFilter {
	duckdb::unique_ptr<duckdb::Expression> expr;
	//! Output column (projection position) of each BoundReference index of `expr`.
	duckdb::vector<duckdb::idx_t> inputs;
	//! How EXPLAIN shows it.
	std::string display;
	//! It holds a dynamic filter (Top-N, join) whose constant DuckDB changes while scanning.
	bool dynamic = false;
};

// The filters of a scan and their description for Rust (see extension/src/pushdown.rs):
// `filter <slot> <node>` per filter, plus the constants the nodes refer to.
struct FilterDescription {
	duckdb::vector<ScanFilter> filters;
	std::string text;
	duckdb::vector<duckdb::Value> constants;
};

FilterDescription DescribeFilters(const duckdb::TableFilterSet &filters, const duckdb::vector<duckdb::column_t> &column_ids,
                                  const duckdb::vector<std::string> &names);

// Appends to `out` the predicates DuckDB keeps above a scan, over its column bindings
// (`table_index`; a binding's column is `column_ids[i]`, other tables' columns are unknown).
void DescribePredicates(const duckdb::vector<duckdb::reference<const duckdb::Expression>> &predicates,
                        duckdb::TableIndex table_index, const duckdb::vector<duckdb::column_t> &column_ids,
                        FilterDescription &out);

// The current state of the dynamic filters among `filters` (same slots), for the worker's
// filter updates while the scan runs.
FilterDescription DescribeDynamicFilters(const duckdb::vector<ScanFilter> &filters,
                                         const duckdb::vector<duckdb::column_t> &column_ids);

// Applies `filters` to `output` (the scan's chunk), slicing away rejected rows.
void ApplyFilters(duckdb::vector<duckdb::unique_ptr<duckdb::ExpressionExecutor>> &executors,
                  const duckdb::vector<duckdb::reference<ScanFilter>> &filters, duckdb::DataChunk &output);

} // namespace vgi
