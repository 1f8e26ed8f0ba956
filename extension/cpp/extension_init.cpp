// Registers everything the extension adds to DuckDB. Each object forwards to Rust.
#include "adapter.hpp"
#include "arrow_scan.hpp"
#include "scalar.hpp"

#include "duckdb/main/config.hpp"
#include "duckdb/main/extension/extension_loader.hpp"

namespace vgi {
using namespace duckdb;

static void VersionFunction(DataChunk &args, ExpressionState &state, Vector &result) {
	result.SetVectorType(VectorType::CONSTANT_VECTOR);
	ConstantVector::GetData<string_t>(result)[0] = StringVector::AddString(result, vgi_extension_version());
}

// A discovery table function (location) -> rows, answered by Rust.
template <VgiError *(*BIND)(const char *, VgiBinding **, ArrowSchema *)>
static unique_ptr<FunctionData> LocationBind(ClientContext &context, TableFunctionBindInput &input,
                                             vector<LogicalType> &return_types, vector<Identifier> &names) {
	if (input.inputs[0].IsNull()) {
		throw BinderException("%s: the worker location must not be NULL", input.table_function.GetName());
	}
	auto location = input.inputs[0].GetValue<string>();
	CheckLocationAllowed(context, input.table_function.GetName().c_str(), location);
	VgiBinding *binding = nullptr;
	ArrowSchema schema;
	schema.release = nullptr;
	ThrowIfError(BIND(location.c_str(), &binding, &schema));
	return FinishArrowBind(context, binding, schema, return_types, names);
}

void RegisterStorage(ExtensionLoader &loader);         // catalog.cpp
void RegisterRequiredFilters(ExtensionLoader &loader); // required_filters.cpp

static void SetCallTimeout(ClientContext &context, SetScope scope, Value &parameter) {
	auto seconds = parameter.GetValue<double>();
	if (seconds <= 0) {
		throw InvalidInputException("vgi_call_timeout must be a positive number of seconds");
	}
	vgi_set_call_timeout(seconds);
}

static void RegisterSettings(ExtensionLoader &loader) {
	auto &config = DBConfig::GetConfig(loader.GetDatabaseInstance());
	config.AddExtensionOption(Identifier("vgi_call_timeout"),
	                          "Seconds a VGI worker call (or one stream turn) may take before it fails",
	                          LogicalType::DOUBLE, Value::DOUBLE(300), SetCallTimeout);
	// Read by each scan at init (arrow_scan.cpp): off = every filter stays in DuckDB.
	config.AddExtensionOption(Identifier("vgi_filter_pushdown"),
	                          "Send query filters to VGI workers that accept them (results are the same either way)",
	                          LogicalType::BOOLEAN, Value::BOOLEAN(true));
	// Read at each ATTACH and discovery call (sandbox.rs); lock_configuration fixes it.
	config.AddExtensionOption(Identifier("vgi_allowed_locations"),
	                          "Worker LOCATION forms (command, launch, unix, http, https) or prefixes that ATTACH and "
	                          "vgi_catalogs accept, comma-separated; empty = any",
	                          LogicalType::VARCHAR, Value(""));
	RegisterScalarBatching(config);
}

static void RegisterFunctions(ExtensionLoader &loader) {
	ScalarFunction version("vgi_version", {}, LogicalType::VARCHAR, VersionFunction);
	loader.RegisterFunction(version);

	TableFunction catalogs("vgi_catalogs", {LogicalType::VARCHAR}, nullptr, LocationBind<vgi_catalogs_bind>);
	SetArrowScanCallbacks(catalogs);
	loader.RegisterFunction(catalogs);

	TableFunction protocols("vgi_protocols", {LogicalType::VARCHAR}, nullptr, LocationBind<vgi_protocols_bind>);
	SetArrowScanCallbacks(protocols);
	loader.RegisterFunction(protocols);
}

} // namespace vgi

extern "C" void vgi_adapter_init(duckdb::ExtensionLoader &loader) {
	vgi::RegisterFunctions(loader);
	// Before RegisterSettings: its optimizer pass (scalar batching) must see the plan after this
	// one checked it.
	vgi::RegisterRequiredFilters(loader);
	vgi::RegisterSettings(loader);
	vgi::RegisterStorage(loader);
}
