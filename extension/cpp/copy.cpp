// COPY ... FROM / COPY ... TO through the formats a worker declares: each is a DuckDB copy
// function `<attach alias>.<format>` in the system catalog, registered at ATTACH. COPY FROM
// reads through a worker scan (arrow_scan.cpp); COPY TO hands DuckDB's flushed batches to the
// worker's sink and has it write the file at finalize. Rust (src/copy.rs) decides everything.
#include "arrow_scan.hpp"
#include "catalog.hpp"
#include "scalar.hpp"

#include "duckdb/catalog/catalog.hpp"
#include "duckdb/common/arrow/arrow_converter.hpp"
#include "duckdb/execution/execution_context.hpp"
#include "duckdb/execution/operator/persistent/physical_copy_to_file.hpp"
#include "duckdb/function/copy_function.hpp"
#include "duckdb/parser/parsed_data/create_copy_function_info.hpp"

namespace vgi {
using namespace duckdb;

namespace {

using CopyFormatPtr = std::shared_ptr<VgiCopyFormat>;

// What a registered copy function calls: the format, on the catalog attached as `alias`.
// The copy function outlives a DETACH (DuckDB cannot drop it), so it holds the catalog weakly:
// a detached catalog, its contents and its worker connections are freed, not kept for every
// alias ever attached.
struct CopyFormatInfo : public CopyFunctionInfo {
	CopyFormatInfo(const CatalogHandlePtr &handle_p, CopyFormatPtr format_p, string alias_p)
	    : handle(handle_p), format(std::move(format_p)), alias(std::move(alias_p)),
	      name(vgi_copy_format_name(format.get())) {
	}
	std::weak_ptr<CatalogHandle> handle;
	CopyFormatPtr format;
	string alias;
	string name;

	// The catalog while attached; a COPY bind through a detached one fails with the name the
	// user typed.
	CatalogHandlePtr Attached() const {
		auto attached = handle.lock();
		if (!attached || !attached->catalog.load()) {
			throw BinderException("vgi: COPY FORMAT '%s' belongs to the catalog '%s', which has been detached", name,
			                      alias);
		}
		return attached;
	}
};

// The same, where DuckDB hands a COPY FROM bind only its table function.
struct CopyFromTableInfo : public TableFunctionInfo {
	explicit CopyFromTableInfo(shared_ptr<CopyFormatInfo> format_p) : format(std::move(format_p)) {
	}
	shared_ptr<CopyFormatInfo> format;
};

// The statement's options as one row (name -> value); a bare option (HEADER) is a flag.
void ExportOptions(ClientContext &context, const CopyInfo &info, ArrowSchemaWrapper &schema, ArrowArrayWrapper &array) {
	vector<string> names;
	vector<Value> values;
	for (auto &option : info.options) {
		names.push_back(option.first.GetIdentifierName());
		auto &given = option.second;
		if (given.empty()) {
			values.push_back(Value::BOOLEAN(true));
		} else if (given.size() == 1) {
			values.push_back(given[0]);
		} else {
			vector<Value> items;
			for (auto &v : given) {
				items.push_back(v.DefaultCastAs(given[0].type()));
			}
			values.push_back(Value::LIST(given[0].type(), std::move(items)));
		}
	}
	ExportRow(context, names, values, schema.arrow_schema, array.arrow_array);
}

// ---- COPY ... FROM

unique_ptr<FunctionData> CopyFromBind(ClientContext &context, CopyFromFunctionBindInput &input,
                                      vector<Identifier> &expected_names, vector<LogicalType> &expected_types) {
	auto &info = *input.tf.function_info->Cast<CopyFromTableInfo>().format;
	auto handle = info.Attached();
	ArrowSchemaWrapper options_schema, expected_schema;
	ArrowArrayWrapper options;
	ExportOptions(context, input.info, options_schema, options);
	vector<string> names;
	for (auto &name : expected_names) {
		names.push_back(name.GetIdentifierName());
	}
	auto properties = LosslessProperties(context);
	ArrowConverter::ToArrowSchema(&expected_schema.arrow_schema, expected_types, names, properties);
	VgiBinding *binding = nullptr;
	ArrowSchema schema;
	schema.release = nullptr;
	ThrowIfError(vgi_copy_from_bind(handle->rust, MakeSessionCall(context, *handle)->Get(), info.format.get(),
	                                input.info.file_path.c_str(), &options_schema.arrow_schema, &options.arrow_array,
	                                &expected_schema.arrow_schema, &binding, &schema));
	vector<LogicalType> types;
	vector<Identifier> bound_names;
	auto data = FinishArrowBind(context, binding, schema, types, bound_names);
	// DuckDB reads the batches into vectors of the target's types: they must agree.
	for (idx_t i = 0; i < expected_types.size(); i++) {
		if (i >= types.size() || types[i] != expected_types[i]) {
			throw BinderException("vgi: COPY FORMAT '%s' cannot fill column %s of type %s: the worker's reader "
			                      "produces %s",
			                      info.name, names[i], expected_types[i].ToString(),
			                      i < types.size() ? types[i].ToString() : string("no such column"));
		}
	}
	return std::move(data);
}

TableFunction MakeCopyFromScan(const string &name, shared_ptr<CopyFormatInfo> info) {
	TableFunction scan(Identifier(name), {}, nullptr, nullptr);
	SetArrowScanCallbacks(scan);
	scan.function_info = make_shared_ptr<CopyFromTableInfo>(std::move(info));
	return scan;
}

// ---- COPY ... TO

using CopyToBindingPtr = std::shared_ptr<VgiCopyToBinding>;

struct CopyToBindData : public FunctionData {
	shared_ptr<CopyFormatInfo> info;
	//! The catalog, kept for the statement.
	CatalogHandlePtr handle;
	CopyToBindingPtr binding;
	vector<LogicalType> types;
	vector<string> names;

	unique_ptr<FunctionData> Copy() const override {
		auto copy = make_uniq<CopyToBindData>();
		copy->info = info;
		copy->handle = handle;
		copy->binding = binding;
		copy->types = types;
		copy->names = names;
		return std::move(copy);
	}
	bool Equals(const FunctionData &other) const override {
		return binding == other.Cast<CopyToBindData>().binding;
	}
};

struct CopyToGlobal : public GlobalFunctionData {
	VgiCopyTo *execution = nullptr;
	~CopyToGlobal() override {
		if (execution) {
			vgi_copy_to_free(execution);
		}
	}
};

struct CopyToLocal : public LocalFunctionData {
	VgiCopyToRows *rows = vgi_copy_to_rows_new();
	~CopyToLocal() override {
		vgi_copy_to_rows_free(rows);
	}
};

unique_ptr<FunctionData> CopyToBind(ClientContext &context, CopyFunctionBindInput &input,
                                    const vector<Identifier> &names, const vector<LogicalType> &sql_types) {
	auto info = shared_ptr_cast<CopyFunctionInfo, CopyFormatInfo>(input.function_info);
	auto data = make_uniq<CopyToBindData>();
	data->handle = info->Attached();
	data->info = info;
	data->types = sql_types;
	for (auto &name : names) {
		data->names.push_back(name.GetIdentifierName());
	}
	ArrowSchemaWrapper options_schema, input_schema;
	ArrowArrayWrapper options;
	ExportOptions(context, input.info, options_schema, options);
	auto properties = LosslessProperties(context);
	ArrowConverter::ToArrowSchema(&input_schema.arrow_schema, data->types, data->names, properties);
	VgiCopyToBinding *binding = nullptr;
	ThrowIfError(vgi_copy_to_bind(data->handle->rust, MakeSessionCall(context, *data->handle)->Get(),
	                              info->format.get(), input.info.file_path.c_str(), &options_schema.arrow_schema,
	                              &options.arrow_array, &input_schema.arrow_schema, &binding));
	data->binding = CopyToBindingPtr(binding, RustDeleter<VgiCopyToBinding, vgi_copy_to_binding_free>());
	return std::move(data);
}

unique_ptr<GlobalFunctionData> CopyToInitGlobal(ClientContext &context, FunctionData &bind_data,
                                                const string &file_path) {
	auto &data = bind_data.Cast<CopyToBindData>();
	data.info->Attached();
	auto state = make_uniq<CopyToGlobal>();
	ThrowIfError(vgi_copy_to_start(data.binding.get(), MakeSessionCall(context, *data.handle)->Get(),
	                               file_path.c_str(), IsInterrupted, &context, &state->execution));
	return std::move(state);
}

// A worker format writes one destination: DuckDB's multi-file modes would split it.
void CopyToInitOperator(GlobalFunctionData &, const PhysicalOperator &op) {
	auto &copy = op.Cast<PhysicalCopyToFile>();
	const char *mode = copy.per_thread_output ? "PER_THREAD_OUTPUT"
	                   : copy.partition_output ? "PARTITION_BY"
	                   : copy.Rotate()         ? "FILE_SIZE_BYTES / ROW_GROUPS_PER_FILE"
	                                           : nullptr;
	if (mode) {
		throw NotImplementedException("COPY FORMAT '%s': VGI worker formats write a single destination and do not "
		                              "support %s",
		                              copy.function.name.GetIdentifierName(), mode);
	}
}

unique_ptr<LocalFunctionData> CopyToInitLocal(ExecutionContext &context, FunctionData &bind_data) {
	return make_uniq<CopyToLocal>();
}

void CopyToSink(ExecutionContext &context, FunctionData &bind_data, GlobalFunctionData &gstate,
                LocalFunctionData &lstate, DataChunk &input) {
	auto &data = bind_data.Cast<CopyToBindData>();
	auto properties = LosslessProperties(context.client);
	ArrowSchemaWrapper schema;
	ArrowArrayWrapper array;
	ArrowConverter::ToArrowSchema(&schema.arrow_schema, data.types, data.names, properties);
	ArrowConverter::ToArrowArray(input, &array.arrow_array, properties, {});
	ThrowIfError(vgi_copy_to_rows_append(lstate.Cast<CopyToLocal>().rows, &schema.arrow_schema, &array.arrow_array));
}

// DuckDB flushes a batch as sink..sink, combine: the batch goes to the worker in one call.
void CopyToCombine(ExecutionContext &context, FunctionData &bind_data, GlobalFunctionData &gstate,
                   LocalFunctionData &lstate) {
	ThrowIfError(vgi_copy_to_send(gstate.Cast<CopyToGlobal>().execution, lstate.Cast<CopyToLocal>().rows));
}

void CopyToFinalize(ClientContext &context, FunctionData &bind_data, GlobalFunctionData &gstate) {
	ThrowIfError(vgi_copy_to_finish(gstate.Cast<CopyToGlobal>().execution));
}

// How many rows DuckDB collects before it flushes them to the worker (one call).
optional_idx CopyToBatchRows(ClientContext &context, FunctionData &bind_data) {
	return optional_idx(MaxValue<idx_t>(BatchRows(context), 1));
}

CopyFunctionExecutionMode ParallelSink(bool, bool) {
	return CopyFunctionExecutionMode::PARALLEL_COPY_TO_FILE;
}

CopyFunctionExecutionMode OrderedSink(bool, bool) {
	return CopyFunctionExecutionMode::REGULAR_COPY_TO_FILE;
}

} // namespace

void RegisterCopyFormats(ClientContext &context, const string &alias, const CatalogHandlePtr &handle) {
	VgiCopyFormats *list = nullptr;
	ThrowIfError(vgi_catalog_copy_formats(handle->rust, alias.c_str(), &list));
	std::unique_ptr<VgiCopyFormats, RustDeleter<VgiCopyFormats, vgi_copy_formats_free>> formats(list);
	auto &system = Catalog::GetSystemCatalog(context);
	for (idx_t i = 0; i < vgi_copy_formats_count(list); i++) {
		CopyFormatPtr format(vgi_copy_formats_take(list, i), RustDeleter<VgiCopyFormat, vgi_copy_format_free>());
		if (!format) {
			continue;
		}
		auto flags = vgi_copy_format_flags(format.get());
		auto info = make_shared_ptr<CopyFormatInfo>(handle, format, alias);
		CopyFunction function {Identifier(info->name)};
		function.function_info = info;
		if (flags & 1) {
			function.copy_from_bind = CopyFromBind;
			function.copy_from_function = MakeCopyFromScan(info->name, info);
		}
		if (flags & 2) {
			function.copy_to_bind = CopyToBind;
			function.copy_to_initialize_global = CopyToInitGlobal;
			function.initialize_operator = CopyToInitOperator;
			function.copy_to_initialize_local = CopyToInitLocal;
			function.copy_to_sink = CopyToSink;
			function.copy_to_combine = CopyToCombine;
			function.copy_to_finalize = CopyToFinalize;
			function.desired_batch_size = CopyToBatchRows;
			function.execution_mode = (flags & 4) ? OrderedSink : ParallelSink;
		}
		CreateCopyFunctionInfo create(std::move(function));
		// A new ATTACH under the same alias replaces what an earlier one registered.
		create.on_conflict = OnCreateConflict::REPLACE_ON_CONFLICT;
		auto comment = vgi_copy_format_comment(format.get());
		if (comment) {
			create.comment = Value(comment);
		}
		system.CreateCopyFunction(context, create);
	}
}

} // namespace vgi
