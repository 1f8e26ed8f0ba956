// Shared between the catalog adapter and the function adapters.
#pragma once

#include "adapter.hpp"
#include "duckdb/function/table/arrow.hpp"

namespace vgi {

// The Rust catalog handle, shared by the catalog and every function made from it, so a
// DETACH never leaves them dangling.
struct CatalogHandle {
	VgiCatalog *rust;
	//! The DuckDB catalog while attached (functions find their transaction through it).
	std::atomic<duckdb::Catalog *> catalog {nullptr};
	//! The settings the worker declared at ATTACH (registered as DuckDB options).
	duckdb::vector<std::string> setting_names;
	duckdb::vector<duckdb::LogicalType> setting_types;
	//! Companion catalogs attached beside this one (detached with it).
	duckdb::vector<std::string> companions;
	explicit CatalogHandle(VgiCatalog *rust_p) : rust(rust_p) {
	}
	~CatalogHandle() {
		vgi_catalog_free(rust);
	}
};
using CatalogHandlePtr = std::shared_ptr<CatalogHandle>;

// The DuckDB transaction a bind on this catalog runs in, as Rust knows it (DuckDB starts it
// lazily on first use). Throws when the catalog has been detached.
const VgiTransaction *CurrentTransaction(duckdb::ClientContext &context, const CatalogHandle &handle);

// What one bind carries from the session (Rust: src/call_context.rs): the transaction, the
// current values of the worker's declared settings, and a way to look up secrets.
struct SessionCall {
	VgiCallContext call;
	duckdb::ArrowSchemaWrapper settings_schema;
	duckdb::ArrowArrayWrapper settings;
	const VgiCallContext *Get() const {
		return &call;
	}
};
std::unique_ptr<SessionCall> MakeSessionCall(duckdb::ClientContext &context, const CatalogHandle &handle);

// At ATTACH: registers the worker's settings as DuckDB options and its secret types with
// DuckDB's secret manager (each once per database).
void RegisterWorkerSettingsAndSecrets(duckdb::ClientContext &context, CatalogHandle &handle);

// At ATTACH: registers the worker's COPY formats as DuckDB copy functions `<alias>.<format>`
// (copy.cpp).
void RegisterCopyFormats(duckdb::ClientContext &context, const std::string &alias, const CatalogHandlePtr &handle);

// What a worker function entry needs at bind time.
struct VgiFunctionInfo : public duckdb::TableFunctionInfo {
	CatalogHandlePtr handle;
	std::string schema;
	std::string function;
	//! A table-in-out function whose end of input runs a FINALIZE phase.
	bool has_finalize = false;
	//! Blended ("UNNEST-style", `input_from_args`): the positional arguments are the input
	//! rows, one per literal call or per outer row of a LATERAL call.
	bool blended = false;
	//! A blended function's declared positional parameter names: its input columns' names.
	std::vector<std::string> input_names;
};

// Exports DuckDB values as one Arrow row with the given column names.
void ExportRow(duckdb::ClientContext &context, const duckdb::vector<std::string> &names,
               const duckdb::vector<duckdb::Value> &values, ArrowSchema &schema, ArrowArray &array);

// Exports the call's constant arguments in the wire layout (positional_<i>, named_<name>);
// `positional` false: the named ones only.
void ExportArguments(duckdb::ClientContext &context, duckdb::TableFunctionBindInput &input, ArrowSchema &schema,
                     ArrowArray &array, bool positional = true);

// A DuckDB scalar function calling a worker function. `constant[i]`: positional parameter i
// must be a constant (vgi_const) and travels in the bind's Arguments.
// `names`: the declared parameter names (sent as the bind's argument_names), empty when the
// function has varargs.
duckdb::ScalarFunction MakeScalarFunction(const std::string &name, CatalogHandlePtr handle, const std::string &schema,
                                          const duckdb::vector<duckdb::LogicalType> &parameters,
                                          const duckdb::vector<bool> &constant, duckdb::LogicalType return_type,
                                          const duckdb::vector<std::string> &names,
                                          const duckdb::vector<duckdb::Value> &defaults);

// A DuckDB aggregate function calling a worker aggregate (same parameter conventions).
duckdb::AggregateFunction MakeAggregateFunction(const std::string &name, CatalogHandlePtr handle,
                                                const std::string &schema,
                                                const duckdb::vector<duckdb::LogicalType> &parameters,
                                                const duckdb::vector<bool> &constant,
                                                duckdb::LogicalType return_type,
                                                const duckdb::vector<std::string> &names,
                                                const duckdb::vector<duckdb::Value> &defaults);

// Lets DuckDB's window operator use the worker's own window evaluation (supports_window).
void EnableWorkerWindow(duckdb::AggregateFunction &function);

// The argument_names value for a bind (US separated), or empty for none.
std::string JoinArgumentNames(const duckdb::vector<std::string> &names);

// Converts a Rust struct array (one result column) into `result[offset, offset + count)`.
void CopyArrowResult(duckdb::ClientContext &context, const duckdb::ArrowTableSchema &schema,
                     duckdb::unique_ptr<duckdb::ArrowArrayWrapper> array, duckdb::idx_t count, duckdb::Vector &result,
                     duckdb::idx_t offset);

// A scalar/aggregate call split into its constant arguments (`constant[i]`: sent once at
// bind, in the wire's Arguments layout) and its column inputs (col_<i>).
struct FoldedArguments {
	duckdb::vector<std::string> const_names;
	duckdb::vector<duckdb::Value> const_values;
	duckdb::vector<duckdb::LogicalType> input_types;
	duckdb::vector<std::string> input_names;

	// Evaluates the constants and removes them from the call (the function only sees columns).
	// `defaults[i]`: the value of constant parameter i when the call leaves it out.
	template <class BIND_INPUT>
	void Fold(BIND_INPUT &input, const duckdb::vector<bool> &constant, const duckdb::vector<duckdb::Value> &defaults) {
		auto &arguments = input.GetArguments();
		auto &bound = input.GetBoundFunction();
		duckdb::vector<duckdb::idx_t> folded;
		for (duckdb::idx_t i = 0; i < arguments.size(); i++) {
			if (i < constant.size() && constant[i]) {
				const_names.push_back("positional_" + std::to_string(const_values.size()));
				const_values.push_back(input.GetConstant(i));
				folded.push_back(i);
			} else {
				// DuckDB casts each argument to the declared type (ANY parameters keep theirs).
				auto declared = i < bound.GetArguments().size() ? bound.GetArguments()[i] : duckdb::LogicalType::ANY;
				input_names.push_back("col_" + std::to_string(input_types.size()));
				input_types.push_back(declared.id() == duckdb::LogicalTypeId::ANY ? arguments[i]->GetReturnType()
				                                                                   : declared);
			}
		}
		// Trailing constant parameters the call left out take the worker's defaults.
		for (auto i = arguments.size(); i < constant.size() && i < defaults.size(); i++) {
			if (constant[i] && !defaults[i].IsNull()) {
				const_names.push_back("positional_" + std::to_string(const_values.size()));
				const_values.push_back(defaults[i]);
			}
		}
		for (auto it = folded.rbegin(); it != folded.rend(); ++it) {
			arguments.erase(arguments.begin() + static_cast<int64_t>(*it));
			bound.GetArguments().erase(bound.GetArguments().begin() + static_cast<int64_t>(*it));
		}
	}
};

// A DuckDB table-in-out function calling the worker function described by `info`. Only a
// function with a FINALIZE phase gets an end-of-input callback (DuckDB cannot run those in a
// LATERAL join); the others close their stream when the query's state goes.
// A DuckDB table function with a TABLE parameter that binds a worker buffering (sink + source)
// function: its own operator over the input relation.
duckdb::TableFunction MakeBufferingFunction(const std::string &name, duckdb::shared_ptr<VgiFunctionInfo> info);

duckdb::TableFunction MakeInOutFunction(const std::string &name, duckdb::shared_ptr<VgiFunctionInfo> info,
                                        bool has_finalize);

} // namespace vgi
