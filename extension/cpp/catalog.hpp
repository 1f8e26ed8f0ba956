// Shared between the catalog adapter and the function adapters.
#pragma once

#include "adapter.hpp"

namespace vgi {

// The Rust catalog handle, shared by the catalog and every function made from it, so a
// DETACH never leaves them dangling.
struct CatalogHandle {
	VgiCatalog *rust;
	explicit CatalogHandle(VgiCatalog *rust_p) : rust(rust_p) {
	}
	~CatalogHandle() {
		vgi_catalog_free(rust);
	}
};
using CatalogHandlePtr = std::shared_ptr<CatalogHandle>;

// What a worker function entry needs at bind time.
struct VgiFunctionInfo : public duckdb::TableFunctionInfo {
	CatalogHandlePtr handle;
	std::string schema;
	std::string function;
};

// Exports DuckDB values as one Arrow row with the given column names.
void ExportRow(duckdb::ClientContext &context, const duckdb::vector<std::string> &names,
               const duckdb::vector<duckdb::Value> &values, ArrowSchema &schema, ArrowArray &array);

// Exports the call's constant arguments in the wire layout (positional_<i>, named_<name>).
void ExportArguments(duckdb::ClientContext &context, duckdb::TableFunctionBindInput &input, ArrowSchema &schema,
                     ArrowArray &array);

// A DuckDB scalar function calling a worker function. `constant[i]`: positional parameter i
// must be a constant (vgi_const) and travels in the bind's Arguments.
duckdb::ScalarFunction MakeScalarFunction(const std::string &name, CatalogHandlePtr handle, const std::string &schema,
                                          const duckdb::vector<duckdb::LogicalType> &parameters,
                                          const duckdb::vector<bool> &constant, duckdb::LogicalType return_type);

// A DuckDB table-in-out function calling the worker function described by `info`.
duckdb::TableFunction MakeInOutFunction(const std::string &name, duckdb::shared_ptr<VgiFunctionInfo> info);

} // namespace vgi
