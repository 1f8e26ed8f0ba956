// ATTACH ... (TYPE vgi): the storage extension, catalog, schemas and entries. Every decision
// (what exists, what a scan returns) is Rust's; this file only copies Rust's answers into
// DuckDB's catalog classes.
#include "adapter.hpp"
#include "arrow_scan.hpp"
#include "catalog.hpp"
#include "ddl.hpp"
#include "writes.hpp"

#include "duckdb/catalog/catalog.hpp"
#include "duckdb/catalog/catalog_entry/schema_catalog_entry.hpp"
#include "duckdb/catalog/catalog_entry/table_catalog_entry.hpp"
#include "duckdb/catalog/catalog_entry/table_function_catalog_entry.hpp"
#include "duckdb/catalog/catalog_entry/scalar_function_catalog_entry.hpp"
#include "duckdb/catalog/catalog_entry/aggregate_function_catalog_entry.hpp"
#include "duckdb/parser/parsed_data/create_aggregate_function_info.hpp"
#include "duckdb/parser/parsed_data/create_macro_info.hpp"
#include "duckdb/catalog/catalog_entry/scalar_macro_catalog_entry.hpp"
#include "duckdb/catalog/catalog_entry/table_macro_catalog_entry.hpp"
#include "duckdb/function/scalar_macro_function.hpp"
#include "duckdb/function/table_macro_function.hpp"
#include "duckdb/parser/expression/columnref_expression.hpp"
#include "duckdb/parser/parsed_data/create_scalar_function_info.hpp"
#include "duckdb/catalog/catalog_entry/view_catalog_entry.hpp"
#include "duckdb/catalog/entry_lookup_info.hpp"
#include "duckdb/planner/tableref/bound_at_clause.hpp"
#include "duckdb/common/arrow/arrow_converter.hpp"
#include "duckdb/common/arrow/schema_metadata.hpp"
#include "duckdb/common/enum_class_hash.hpp"
#include "duckdb/main/attached_database.hpp"
#include "duckdb/main/database_manager.hpp"
#include "duckdb/main/config.hpp"
#include "duckdb/main/extension_helper.hpp"
#include "duckdb/main/extension/extension_loader.hpp"
#include "duckdb/parser/constraints/check_constraint.hpp"
#include "duckdb/parser/constraints/foreign_key_constraint.hpp"
#include "duckdb/parser/constraints/not_null_constraint.hpp"
#include "duckdb/parser/constraints/unique_constraint.hpp"
#include "duckdb/parser/parsed_data/attach_info.hpp"
#include "duckdb/parser/parsed_data/create_schema_info.hpp"
#include "duckdb/parser/parsed_data/create_table_function_info.hpp"
#include "duckdb/parser/parsed_data/create_table_info.hpp"
#include "duckdb/parser/parsed_data/create_view_info.hpp"
#include "duckdb/parser/parser.hpp"
#include "duckdb/storage/database_size.hpp"
#include "duckdb/storage/storage_extension.hpp"
#include "duckdb/storage/table_storage_info.hpp"
#include "duckdb/transaction/transaction.hpp"
#include "duckdb/transaction/transaction_manager.hpp"

namespace vgi {
using namespace duckdb;

// Owns a Rust entry list.
struct Entries {
	VgiEntries *list = nullptr;
	~Entries() {
		if (list) {
			vgi_entries_free(list);
		}
	}
	idx_t Count() const {
		return vgi_entries_count(list);
	}
	string Name(idx_t i) const {
		return vgi_entries_name(list, i);
	}
	Value Comment(idx_t i) const {
		auto c = vgi_entries_comment(list, i);
		return c ? Value(c) : Value();
	}
	// The entry's column/parameter schema (owned by the wrapper).
	void Columns(idx_t i, ArrowSchemaWrapper &out) const {
		ThrowIfError(vgi_entries_columns(list, i, &out.arrow_schema));
	}
	InsertionOrderPreservingMap<string> Tags(idx_t i) const {
		InsertionOrderPreservingMap<string> tags;
		for (idx_t t = 0; t < vgi_entries_tag_count(list, i); t++) {
			tags[vgi_entries_tag(list, i, t, 0)] = vgi_entries_tag(list, i, t, 1);
		}
		return tags;
	}
};

static void LoadEntries(const CatalogHandle &handle, const string *schema, VgiEntryKind kind, Entries &out) {
	ThrowIfError(vgi_catalog_entries(handle.rust, schema ? schema->c_str() : nullptr, kind, &out.list));
}

static LogicalType ArrowFieldType(ClientContext &context, ArrowSchema &field) {
	return ArrowType::GetArrowLogicalType(context, field)->GetDuckType();
}

// ------------------------------------------------------------------------------ tables

class VgiTableEntry : public TableCatalogEntry {
public:
	VgiTableEntry(Catalog &catalog, SchemaCatalogEntry &schema, CreateTableInfo &info, CatalogHandlePtr handle_p)
	    : TableCatalogEntry(catalog, schema, info), handle(std::move(handle_p)), columns(info.columns.Copy()) {
	}
	CatalogHandlePtr handle;
	ColumnList columns;
	//! Set on entries looked up with AT (...): the version/time every scan of it uses.
	string at_unit, at_value;
	//! The type of the worker's row id column, which DuckDB's `rowid` reads (UPDATE/DELETE).
	LogicalType rowid_type = LogicalType::ROW_TYPE;

	const ColumnList &GetColumns() const override {
		return columns;
	}

	virtual_column_map_t GetVirtualColumns() const override {
		auto virtual_columns = TableCatalogEntry::GetVirtualColumns();
		virtual_columns[COLUMN_IDENTIFIER_ROW_ID] = TableColumn("rowid", rowid_type);
		return virtual_columns;
	}

	TableFunction GetScanFunction(ClientContext &context, unique_ptr<FunctionData> &bind_data,
	                              const EntryLookupInfo &lookup) override {
		auto at = lookup.GetAtClause();
		if (at && at_unit.empty()) {
			at_unit = at->Unit().GetIdentifierName();
			at_value = at->GetValue().ToString();
		}
		return GetScanFunction(context, bind_data);
	}

	unique_ptr<BaseStatistics> GetStatistics(ClientContext &context, column_t column_id) override {
		return nullptr;
	}

	TableFunction GetScanFunction(ClientContext &context, unique_ptr<FunctionData> &bind_data) override {
		VgiBinding *binding = nullptr;
		ArrowSchema schema;
		schema.release = nullptr;
		auto catalog_name = ParentCatalog().GetName().GetIdentifierName();
		auto schema_name = ParentSchema().name.GetIdentifierName();
		auto table_name = name.GetIdentifierName();
		ThrowIfError(vgi_table_scan_bind(handle->rust, MakeSessionCall(context, *handle)->Get(), catalog_name.c_str(),
		                                 schema_name.c_str(), table_name.c_str(),
		                                 at_unit.empty() ? nullptr : at_unit.c_str(),
		                                 at_unit.empty() ? nullptr : at_value.c_str(), &binding, &schema));
		vector<LogicalType> types;
		vector<Identifier> names;
		auto data = FinishArrowBind(context, binding, schema, types, names);
		// The worker produces the stored columns; DuckDB computes the generated ones.
		auto stored = GetColumns().PhysicalColumnCount();
		if (stored != GetColumns().LogicalColumnCount()) {
			for (auto &column : GetColumns().Logical()) {
				data->table_columns.push_back(column.Generated() ? DConstants::INVALID_INDEX : column.Physical().index);
			}
		}
		// A bound column past the table's columns is the worker's row id (DuckDB's rowid).
		if (types.size() == stored + 1) {
			data->rowid_column = int64_t(stored);
			// DuckDB reads it into a vector of the rowid's declared type: they must agree.
			if (types.back() != rowid_type) {
				throw IOException("vgi: the worker's scan of %s.%s returns its row id as %s, but the table declares %s",
				                  schema_name, table_name, types.back().ToString(), rowid_type.ToString());
			}
			types.pop_back();
			names.pop_back();
		}
		// DuckDB reads the batches into vectors of the declared types: they must agree.
		if (types.size() != stored) {
			throw IOException("vgi: the worker bound %s.%s with %llu columns, but the table declares %llu", schema_name,
			                  table_name, types.size(), stored);
		}
		for (idx_t i = 0; i < types.size(); i++) {
			auto &column = GetColumns().GetColumn(PhysicalIndex(i));
			if (types[i] != column.Type()) {
				throw IOException("vgi: the worker's scan of %s.%s returns column %s as %s, but the table declares %s",
				                  schema_name, table_name, column.Name().GetIdentifierName(), types[i].ToString(),
				                  column.Type().ToString());
			}
		}
		data->projection_pushdown = true;
		data->table = this;
		bind_data = std::move(data);
		TableFunction function("vgi_scan", {}, nullptr, nullptr);
		SetArrowScanCallbacks(function);
		SetWorkerScanPushdown(function);
		function.get_table_entry = [](optional_ptr<const FunctionData> bind_data) {
			return bind_data->Cast<ArrowScanBindData>().table;
		};
		return function;
	}

	TableStorageInfo GetStorageInfo(ClientContext &context) override {
		return TableStorageInfo();
	}
};

// A table's foreign keys (metadata.rs: RS between keys; GS between the referencing columns, the
// referenced schema, table, columns and their stored positions; US between columns).
static void AddForeignKeys(const string &encoded, CreateTableInfo &info) {
	for (auto &key : StringUtil::Split(encoded, '\x1e')) {
		auto parts = StringUtil::Split(key, '\x1d');
		if (parts.size() < 4) {
			continue;
		}
		parts.resize(5);
		vector<Identifier> fk_columns, pk_columns;
		ForeignKeyInfo fk;
		fk.type = ForeignKeyType::FK_TYPE_FOREIGN_KEY_TABLE;
		fk.schema = Identifier(parts[1]);
		fk.table = Identifier(parts[2]);
		for (auto &column : StringUtil::Split(parts[0], '\x1f')) {
			fk_columns.emplace_back(column);
			if (info.columns.ColumnExists(Identifier(column))) {
				fk.fk_keys.push_back(info.columns.GetColumn(Identifier(column)).Physical());
			}
		}
		for (auto &column : StringUtil::Split(parts[3], '\x1f')) {
			pk_columns.emplace_back(column);
		}
		for (auto &position : StringUtil::Split(parts[4], '\x1f')) {
			fk.pk_keys.emplace_back(std::stoull(position));
		}
		info.constraints.push_back(make_uniq<ForeignKeyConstraint>(std::move(pk_columns), std::move(fk_columns), std::move(fk)));
	}
}

static unique_ptr<CatalogEntry> MakeTable(ClientContext &context, Catalog &catalog, SchemaCatalogEntry &schema,
                                          const Entries &entries, idx_t i, const CatalogHandlePtr &handle) {
	CreateTableInfo info(schema, Identifier(entries.Name(i)));
	info.comment = entries.Comment(i);
	info.tags = entries.Tags(i);
	ArrowSchemaWrapper columns;
	entries.Columns(i, columns);
	for (idx_t c = 0; c < idx_t(columns.arrow_schema.n_children); c++) {
		auto &field = *columns.arrow_schema.children[c];
		ColumnDefinition column(Identifier(field.name), ArrowFieldType(context, field));
		ArrowSchemaMetadata metadata(field.metadata);
		auto comment = metadata.GetOption("comment");
		if (!comment.empty()) {
			column.SetComment(Value(comment));
		}
		// A generated column is DuckDB's to compute (scans never ask the worker for it).
		auto generated_sql = metadata.GetOption("generated_expression");
		auto default_sql = metadata.GetOption("default");
		if (!generated_sql.empty()) {
			Parser parser(context);
			auto expressions = parser.ParseExpressionList(generated_sql);
			if (expressions.size() != 1) {
				throw IOException("vgi: the worker's generated column %s of %s is not one expression: %s", field.name,
				                  entries.Name(i), generated_sql);
			}
			column.SetGeneratedExpression(std::move(expressions[0]));
		} else if (!default_sql.empty()) {
			Parser parser(context);
			auto expressions = parser.ParseExpressionList(default_sql);
			if (expressions.size() == 1) {
				column.SetDefaultValue(std::move(expressions[0]));
			}
		}
		if (!(field.flags & ARROW_FLAG_NULLABLE)) {
			info.constraints.push_back(make_uniq<NotNullConstraint>(LogicalIndex(c)));
		}
		info.columns.AddColumn(std::move(column));
	}
	// Key and check constraints (schema metadata set by catalog.rs: RS between constraints,
	// US between the columns of one).
	ArrowSchemaMetadata table_metadata(columns.arrow_schema.metadata);
	for (auto primary : {true, false}) {
		auto keys = table_metadata.GetOption(primary ? "vgi.primary_key" : "vgi.unique");
		for (auto &key : StringUtil::Split(keys, '\x1e')) {
			vector<Identifier> key_columns;
			for (auto &column : StringUtil::Split(key, '\x1f')) {
				key_columns.emplace_back(column);
			}
			if (!key_columns.empty()) {
				info.constraints.push_back(make_uniq<UniqueConstraint>(std::move(key_columns), primary));
			}
		}
	}
	for (auto &check : StringUtil::Split(table_metadata.GetOption("vgi.check"), '\x1e')) {
		Parser parser(context);
		auto expressions = parser.ParseExpressionList(check);
		if (expressions.size() == 1) {
			info.constraints.push_back(make_uniq<CheckConstraint>(std::move(expressions[0])));
		}
	}
	AddForeignKeys(table_metadata.GetOption("vgi.foreign_keys"), info);
	auto table = make_uniq<VgiTableEntry>(catalog, schema, info, handle);
	ArrowSchemaWrapper rowid;
	ThrowIfError(vgi_entries_output(entries.list, i, &rowid.arrow_schema));
	if (rowid.arrow_schema.release && rowid.arrow_schema.n_children == 1) {
		table->rowid_type = ArrowFieldType(context, *rowid.arrow_schema.children[0]);
	}
	return std::move(table);
}

static unique_ptr<CatalogEntry> MakeView(ClientContext &context, Catalog &catalog, SchemaCatalogEntry &schema,
                                         const Entries &entries, idx_t i) {
	CreateViewInfo info(schema, Identifier(entries.Name(i)));
	info.comment = entries.Comment(i);
	info.tags = entries.Tags(i);
	Parser parser(context);
	info.query = CreateViewInfo::ParseSelect(parser, vgi_entries_sql(entries.list, i));
	info.binding_mode = CreateViewBindingMode::SKIP_BINDING;
	ArrowSchemaWrapper comments;
	entries.Columns(i, comments);
	for (idx_t c = 0; comments.arrow_schema.release && c < idx_t(comments.arrow_schema.n_children); c++) {
		auto &field = *comments.arrow_schema.children[c];
		info.column_comments_map[Identifier(field.name)] = Value(ArrowSchemaMetadata(field.metadata).GetOption("comment"));
	}
	return make_uniq<ViewCatalogEntry>(catalog, schema, info);
}

// ------------------------------------------------------------------------------ table functions

// What duckdb_functions() shows of a worker function beyond its signature (schema metadata of
// its parameters, see metadata.rs).
struct FunctionDocs {
	string description;
	vector<string> examples;
	vector<string> categories;
	//! CONSISTENT | VOLATILE | CONSISTENT_WITHIN_QUERY; empty when the worker declares none.
	string stability;
};

static FunctionDocs ReadFunctionDocs(const Entries &entries, idx_t i) {
	ArrowSchemaWrapper params;
	entries.Columns(i, params);
	ArrowSchemaMetadata metadata(params.arrow_schema.metadata);
	FunctionDocs docs;
	docs.description = metadata.GetOption("vgi.description");
	auto list = [&](const char *key) {
		auto text = metadata.GetOption(key);
		return text.empty() ? vector<string>() : StringUtil::Split(text, '\x1f');
	};
	docs.examples = list("vgi.examples");
	docs.categories = list("vgi.categories");
	docs.stability = metadata.GetOption("vgi.stability");
	return docs;
}

// The description of one overload (DuckDB matches descriptions to overloads by parameter types).
static FunctionDescription DescribeOverload(const FunctionDocs &docs, vector<LogicalType> types, vector<string> names) {
	FunctionDescription description;
	description.parameter_types = std::move(types);
	description.parameter_names = std::move(names);
	description.description = docs.description;
	description.examples = docs.examples;
	description.categories = docs.categories;
	return description;
}

// The declared stability; `fallback` when the worker declares none.
static FunctionStability DeclaredStability(const FunctionDocs &docs, FunctionStability fallback) {
	if (docs.stability == "CONSISTENT") {
		return FunctionStability::CONSISTENT;
	}
	if (docs.stability == "VOLATILE") {
		return FunctionStability::VOLATILE;
	}
	if (docs.stability == "CONSISTENT_WITHIN_QUERY") {
		return FunctionStability::CONSISTENT_WITHIN_QUERY;
	}
	return fallback;
}

// Comment and tags of a function entry (DuckDB's function entries do not copy them from the
// create info).
static void SetCommentAndTags(CatalogEntry &entry, const Value &comment, const InsertionOrderPreservingMap<string> &tags) {
	entry.comment = comment;
	entry.tags = tags;
}


void ExportRow(ClientContext &context, const vector<string> &names, const vector<Value> &values, ArrowSchema &schema,
               ArrowArray &array) {
	vector<LogicalType> types;
	for (auto &v : values) {
		types.push_back(v.type());
	}
	auto properties = context.GetClientProperties();
	ArrowConverter::ToArrowSchema(&schema, types, names, properties);
	DataChunk chunk;
	chunk.Initialize(Allocator::DefaultAllocator(), types, 1);
	for (idx_t c = 0; c < values.size(); c++) {
		chunk.data[c].SetValue(0, values[c]);
	}
	chunk.SetCardinality(1);
	ArrowConverter::ToArrowArray(chunk, &array, properties, {});
}

void ExportArguments(ClientContext &context, TableFunctionBindInput &input, ArrowSchema &schema, ArrowArray &array,
                     bool positional) {
	vector<string> names;
	vector<Value> values;
	for (auto &value : positional ? input.inputs : vector<Value>()) {
		if (value.type().id() == LogicalTypeId::TABLE) {
			continue; // the input relation of a table-in-out call is not an argument
		}
		names.push_back("positional_" + std::to_string(names.size()));
		values.push_back(value);
	}
	for (auto &named : input.named_parameters) {
		names.push_back("named_" + named.first.GetIdentifierName());
		values.push_back(named.second);
	}
	ExportRow(context, names, values, schema, array);
}

static unique_ptr<FunctionData> WorkerFunctionBind(ClientContext &context, TableFunctionBindInput &input,
                                                   vector<LogicalType> &return_types, vector<Identifier> &names) {
	auto &info = input.info->Cast<VgiFunctionInfo>();
	ArrowSchemaWrapper args_schema;
	ArrowArrayWrapper args;
	ExportArguments(context, input, args_schema.arrow_schema, args.arrow_array);
	VgiBinding *binding = nullptr;
	ArrowSchema schema;
	schema.release = nullptr;
	ThrowIfError(vgi_table_function_bind(info.handle->rust, MakeSessionCall(context, *info.handle)->Get(), info.schema.c_str(),
	                                     info.function.c_str(),
	                                     &args_schema.arrow_schema, &args.arrow_array, &binding, &schema));
	auto data = FinishArrowBind(context, binding, schema, return_types, names);
	data->projection_pushdown = true;
	return std::move(data);
}

// The DuckDB type of a declared parameter: `vgi_type` table/any, and an untyped (Arrow null)
// parameter accepts any value, as a Python `Any` declares it.
static LogicalType ParameterType(ClientContext &context, ArrowSchema &field) {
	auto kind = ArrowSchemaMetadata(field.metadata).GetOption("vgi_type");
	if (kind == "table") {
		return LogicalType::TABLE;
	}
	if (kind == "any" || string(field.format) == "n") {
		return LogicalType::ANY;
	}
	return ArrowFieldType(context, field);
}

// Adds the DuckDB overloads of one worker table (or table-in-out) function signature to `set`:
// `worker_name` in `worker_schema` at the worker, `name` in DuckDB. A worker may declare several
// signatures under one name; they all go into one set and DuckDB's binder picks among them.
static void AddTableFunctionOverloads(TableFunctionSet &set, ClientContext &context, const Entries &entries, idx_t i,
                                      const CatalogHandlePtr &handle, const string &worker_schema,
                                      const string &worker_name, const string &name) {
	ArrowSchemaWrapper params;
	entries.Columns(i, params);
	// The worker's parameters: positional (trailing ones may have defaults), named
	// (keyword-only in DuckDB), varargs; `vgi_type` any/table.
	struct Param {
		string name;
		LogicalType type;
	};
	vector<Param> positional, named;
	optional<Param> varargs;
	idx_t required = 0;
	bool table_input = false;
	for (idx_t p = 0; p < idx_t(params.arrow_schema.n_children); p++) {
		auto &field = *params.arrow_schema.children[p];
		ArrowSchemaMetadata metadata(field.metadata);
		Param param {field.name, ParameterType(context, field)};
		if (param.type.id() == LogicalTypeId::TABLE) {
			table_input = true;
		}
		if (metadata.GetOption("vgi_arg") == "named") {
			named.push_back(std::move(param));
		} else if (metadata.GetOption("vgi_varargs") == "true") {
			varargs = std::move(param);
		} else {
			positional.push_back(std::move(param));
			if (metadata.GetOption("vgi_default").empty()) {
				required = positional.size();
			}
		}
	}
	auto function_info = make_shared_ptr<VgiFunctionInfo>();
	function_info->handle = handle;
	function_info->schema = worker_schema;
	function_info->function = worker_name;
	function_info->has_finalize =
	    ArrowSchemaMetadata(params.arrow_schema.metadata).GetOption("vgi.has_finalize") == "true";
	auto buffering = ArrowSchemaMetadata(params.arrow_schema.metadata).GetOption("vgi.buffering") == "true";
	function_info->blended = ArrowSchemaMetadata(params.arrow_schema.metadata).GetOption("vgi.input_from_args") == "true";
	for (auto &param : positional) {
		function_info->input_names.push_back(param.name);
	}
	// Trailing positional parameters with defaults may be omitted: one overload per arity.
	for (idx_t arity = required; arity <= positional.size(); arity++) {
		auto function = table_input && buffering ? MakeBufferingFunction(name, function_info)
		                : table_input || function_info->blended
		                    ? MakeInOutFunction(name, function_info, function_info->has_finalize)
		                    : TableFunction(Identifier(name), vector<LogicalType>(), nullptr, WorkerFunctionBind);
		auto &signature = function.GetSignature();
		for (idx_t p = 0; p < arity; p++) {
			signature.AddPositionalOnly(Identifier(positional[p].name), positional[p].type);
		}
		if (arity == positional.size() && varargs) {
			signature.AddArgs(Identifier(varargs->name), varargs->type);
		}
		if (!named.empty()) {
			// Optional named arguments: typed kwargs (keyword-only parameters would be required).
			signature.WithTypedKwargs(Identifier("named"), [&](TypedKwargs &kwargs) {
				for (auto &param : named) {
					kwargs.Add(Identifier(param.name), param.type);
				}
			});
		}
		if (!table_input && !function_info->blended) {
			SetArrowScanCallbacks(function);
			SetWorkerScanPushdown(function);
		}
		function.function_info = function_info;
		set.AddFunction(std::move(function));
	}
}

static TableFunctionSet BuildTableFunctions(ClientContext &context, const Entries &entries, idx_t i,
                                           const CatalogHandlePtr &handle, const string &worker_schema,
                                           const string &worker_name, const string &name) {
	TableFunctionSet set {Identifier(name)};
	AddTableFunctionOverloads(set, context, entries, i, handle, worker_schema, worker_name, name);
	return set;
}

// The descriptions of the table functions `set.functions[from..]` (DuckDB matches them by the
// types of the positional parameters).
static void AddTableFunctionDescriptions(const FunctionDocs &docs, const TableFunctionSet &set, idx_t from,
                                         vector<FunctionDescription> &descriptions) {
	for (idx_t f = from; f < set.functions.size(); f++) {
		auto &signature = set.functions[f]->GetSignature();
		vector<LogicalType> types;
		vector<string> names;
		for (idx_t p = 0; p < signature.GetPositionalParameterCount(); p++) {
			types.push_back(signature.GetParameter(p).GetType());
			names.push_back(signature.GetParameter(p).GetName().GetIdentifierName());
		}
		descriptions.push_back(DescribeOverload(docs, std::move(types), std::move(names)));
	}
}

// One catalog entry for every signature the worker declares under one name (`overloads`:
// their indexes in `entries`).
static unique_ptr<CatalogEntry> MakeTableFunction(ClientContext &context, Catalog &catalog,
                                                  SchemaCatalogEntry &schema, const Entries &entries,
                                                  const vector<idx_t> &overloads, const CatalogHandlePtr &handle) {
	auto name = entries.Name(overloads[0]);
	TableFunctionSet set {Identifier(name)};
	vector<FunctionDescription> descriptions;
	for (auto i : overloads) {
		idx_t from = set.functions.size();
		AddTableFunctionOverloads(set, context, entries, i, handle, schema.name.GetIdentifierName(), name, name);
		AddTableFunctionDescriptions(ReadFunctionDocs(entries, i), set, from, descriptions);
	}
	CreateTableFunctionInfo info(std::move(set));
	info.SetQualification(catalog.GetName(), schema.name);
	info.descriptions = std::move(descriptions);
	info.comment = entries.Comment(overloads[0]);
	auto entry = make_uniq<TableFunctionCatalogEntry>(catalog, schema, info);
	SetCommentAndTags(*entry, info.comment, entries.Tags(overloads[0]));
	return std::move(entry);
}

// The DuckDB signature of a worker scalar or aggregate function entry (a name may have several
// entries, one per signature): positional parameters, some constant; the declared result
// type is refined by the worker's bind. False when the signature is not expressible as a
// DuckDB function of this kind yet (named, varargs, table parameters).
struct SimpleSignature {
	vector<LogicalType> types;
	vector<bool> constant;
	idx_t required = 0;
	LogicalType return_type = LogicalType::ANY;
	//! Type of the trailing `vgi_varargs` parameter (column arguments), INVALID when none.
	LogicalType varargs = LogicalType::INVALID;
	//! Declared parameter names (empty with varargs: the worker gets none then).
	vector<string> names;
	//! The parameters' names as duckdb_functions() shows them (always the declared ones).
	vector<string> parameter_names;
	string varargs_name;
	//! The worker's default of each parameter (`vgi_default`, JSON), NULL when none.
	vector<Value> defaults;
	//! An aggregate that evaluates window frames itself.
	bool window = false;
};

// A `vgi_default` JSON scalar as a value of `type` (NULL when it is not a simple scalar).
static Value DefaultValue(const string &json, const LogicalType &type) {
	Value raw;
	if (json == "true" || json == "false") {
		raw = Value::BOOLEAN(json == "true");
	} else if (json.size() >= 2 && json.front() == '"' && json.back() == '"' &&
	           json.find('\\') == string::npos) {
		raw = Value(json.substr(1, json.size() - 2));
	} else if (!json.empty() && json.find_first_not_of("+-0123456789.eE") == string::npos) {
		raw = Value(json); // numeric text, cast below
	} else {
		return Value();
	}
	auto target = type;
	if (target.id() == LogicalTypeId::ANY) {
		target = raw.type().id() == LogicalTypeId::VARCHAR && json.front() != '"'
		             ? (json.find_first_of(".eE") == string::npos ? LogicalType::BIGINT : LogicalType::DOUBLE)
		             : raw.type();
	}
	auto cast = raw.DefaultTryCastAs(target);
	return cast ? *cast : Value();
}

string JoinArgumentNames(const vector<string> &names) {
	return StringUtil::Join(names, "\x1f");
}

static bool ReadSimpleSignature(ClientContext &context, const Entries &entries, idx_t i, SimpleSignature &out) {
	ArrowSchemaWrapper params, output;
	entries.Columns(i, params);
	ThrowIfError(vgi_entries_output(entries.list, i, &output.arrow_schema));
	out.window = ArrowSchemaMetadata(params.arrow_schema.metadata).GetOption("vgi.supports_window") == "true";
	for (idx_t p = 0; p < idx_t(params.arrow_schema.n_children); p++) {
		auto &field = *params.arrow_schema.children[p];
		ArrowSchemaMetadata metadata(field.metadata);
		if (metadata.GetOption("vgi_arg") == "named" || metadata.GetOption("vgi_type") == "table" ||
		    out.varargs.id() != LogicalTypeId::INVALID) {
			return false;
		}
		auto type = ParameterType(context, field);
		if (metadata.GetOption("vgi_varargs") == "true") {
			out.varargs = type;
			out.varargs_name = field.name;
			continue;
		}
		out.types.push_back(type);
		out.names.push_back(field.name);
		out.parameter_names.push_back(field.name);
		auto constant = metadata.GetOption("vgi_const") == "true";
		out.constant.push_back(constant);
		auto default_json = metadata.GetOption("vgi_default");
		out.defaults.push_back(default_json.empty() ? Value() : DefaultValue(default_json, type));
		// Only a constant parameter with a known default may be left out of a call.
		if (!constant || out.defaults.back().IsNull()) {
			out.required = out.types.size();
		}
	}
	if (output.arrow_schema.release && output.arrow_schema.n_children == 1) {
		auto declared = ArrowFieldType(context, *output.arrow_schema.children[0]);
		if (declared.id() != LogicalTypeId::SQLNULL) {
			out.return_type = declared;
		}
	}
	if (out.varargs.id() != LogicalTypeId::INVALID) {
		out.names.clear();
	}
	return true;
}

// Names an overload's parameters as the worker declares them, gives the ones a call may leave
// out their defaults (DuckDB fills them in), and adds the varargs parameter.
static void DeclareParameters(FunctionSignature &signature, const SimpleSignature &declared) {
	for (idx_t p = 0; p < signature.GetParameterCount() && p < declared.parameter_names.size(); p++) {
		auto &param = signature.GetParameter(p);
		param.SetName(Identifier(declared.parameter_names[p]));
		if (p >= declared.required && p < declared.defaults.size() && !declared.defaults[p].IsNull()) {
			param.SetDefaultValue(declared.defaults[p]);
		}
	}
	if (declared.varargs.id() != LogicalTypeId::INVALID) {
		signature.AddArgs(Identifier(declared.varargs_name.empty() ? "args" : declared.varargs_name),
		                  declared.varargs);
	}
}

// Builds one catalog entry per function name, with one overload per worker declaration of that
// name; trailing defaulted constant parameters may be omitted (DuckDB fills in their defaults).
template <class SET, class CREATE_INFO, class ENTRY, class MAKE>
static void AddFunctionEntries(ClientContext &context, Catalog &catalog, SchemaCatalogEntry &schema,
                               const Entries &entries, case_insensitive_map_t<unique_ptr<CatalogEntry>> &map,
                               MAKE make) {
	case_insensitive_map_t<SET> sets;
	case_insensitive_map_t<Value> comments;
	case_insensitive_map_t<InsertionOrderPreservingMap<string>> tags;
	case_insensitive_map_t<vector<FunctionDescription>> descriptions;
	for (idx_t i = 0; i < entries.Count(); i++) {
		auto name = entries.Name(i);
		SimpleSignature signature;
		if (!ReadSimpleSignature(context, entries, i, signature)) {
			continue;
		}
		auto it = sets.find(name);
		if (it == sets.end()) {
			it = sets.emplace(name, SET(Identifier(name))).first;
		}
		// The entry's comment and tags: those of the first declaration that has any.
		if (comments[name].IsNull()) {
			comments[name] = entries.Comment(i);
		}
		if (tags[name].empty()) {
			tags[name] = entries.Tags(i);
		}
		auto docs = ReadFunctionDocs(entries, i);
		auto function = make(name, signature.types, signature.constant, signature.return_type, signature.names,
		                     signature.defaults);
		DeclareParameters(function.GetSignature(), signature);
		// Scalars the worker does not rate stay VOLATILE (MakeScalarFunction); aggregates keep DuckDB's default.
		function.SetStability(DeclaredStability(docs, function.GetStability()));
		if constexpr (std::is_same<SET, AggregateFunctionSet>::value) {
			if (signature.window) {
				EnableWorkerWindow(function);
			}
		}
		descriptions[name].push_back(DescribeOverload(docs, signature.types, signature.parameter_names));
		it->second.AddFunction(std::move(function));
	}
	for (auto &named_set : sets) {
		CREATE_INFO info(std::move(named_set.second));
		info.SetQualification(catalog.GetName(), schema.name);
		info.comment = comments[named_set.first];
		info.descriptions = std::move(descriptions[named_set.first]);
		auto entry = make_uniq<ENTRY>(catalog, schema, info);
		SetCommentAndTags(*entry, comments[named_set.first], tags[named_set.first]);
		map[named_set.first] = std::move(entry);
	}
}

// A worker macro as a DuckDB macro (scalar or table), expanded by DuckDB itself.
static unique_ptr<CatalogEntry> MakeMacro(Catalog &catalog, SchemaCatalogEntry &schema, const Entries &entries,
                                          idx_t i) {
	ArrowSchemaWrapper params;
	entries.Columns(i, params);
	auto table = ArrowSchemaMetadata(params.arrow_schema.metadata).GetOption("vgi.macro_type") == "TABLE";
	auto parser = Parser::GetBuiltinParser();
	string definition = vgi_entries_sql(entries.list, i);
	unique_ptr<MacroFunction> function;
	if (table) {
		function = make_uniq<TableMacroFunction>(parser.ParseSelectNode(definition));
	} else {
		function = make_uniq<ScalarMacroFunction>(parser.ParseSingleExpression(definition));
	}
	for (idx_t p = 0; p < idx_t(params.arrow_schema.n_children); p++) {
		auto &field = *params.arrow_schema.children[p];
		function->parameters.push_back(make_uniq<ColumnRefExpression>(Identifier(field.name)));
		auto default_sql = ArrowSchemaMetadata(field.metadata).GetOption("default");
		if (!default_sql.empty()) {
			function->default_parameters.insert(Identifier(field.name), parser.ParseSingleExpression(default_sql));
		}
	}
	CreateMacroInfo info(table ? CatalogType::TABLE_MACRO_ENTRY : CatalogType::MACRO_ENTRY);
	info.SetQualification(catalog.GetName(), schema.name);
	info.SetQualifiedName(QualifiedName(catalog.GetName(), schema.name, Identifier(entries.Name(i))));
	info.comment = entries.Comment(i);
	info.tags = entries.Tags(i);
	info.macros.push_back(std::move(function));
	if (table) {
		return make_uniq<TableMacroCatalogEntry>(catalog, schema, info);
	}
	return make_uniq<ScalarMacroCatalogEntry>(catalog, schema, info);
}

// Publishes the catalog's global functions (`<prefix>_<name>`) in the system catalog, where
// unqualified calls find them.
static void RegisterGlobalFunctions(ClientContext &context, const CatalogHandlePtr &handle) {
	Entries entries;
	LoadEntries(*handle, nullptr, VGI_ENTRY_GLOBAL_FUNCTIONS, entries);
	auto &system = Catalog::GetSystemCatalog(context);
	for (idx_t i = 0; i < entries.Count(); i++) {
		auto published = entries.Name(i);
		string worker_name = vgi_entries_sql(entries.list, i);
		ArrowSchemaWrapper params;
		entries.Columns(i, params);
		ArrowSchemaMetadata metadata(params.arrow_schema.metadata);
		auto kind = metadata.GetOption("vgi.function_type");
		auto schema = metadata.GetOption("vgi.schema");
		unique_ptr<CreateFunctionInfo> info;
		auto docs = ReadFunctionDocs(entries, i);
		if (kind == "TABLE") {
			auto set = BuildTableFunctions(context, entries, i, handle, schema, worker_name, published);
			vector<FunctionDescription> descriptions;
			AddTableFunctionDescriptions(docs, set, 0, descriptions);
			info = make_uniq<CreateTableFunctionInfo>(std::move(set));
			info->descriptions = std::move(descriptions);
		} else if (kind == "SCALAR" || kind == "AGGREGATE") {
			SimpleSignature signature;
			if (!ReadSimpleSignature(context, entries, i, signature)) {
				continue;
			}
			if (kind == "SCALAR") {
				auto f = MakeScalarFunction(worker_name, handle, schema, signature.types, signature.constant,
				                            signature.return_type, signature.names, signature.defaults);
				f.SetName(Identifier(published));
				DeclareParameters(f.GetSignature(), signature);
				f.SetStability(DeclaredStability(docs, f.GetStability()));
				info = make_uniq<CreateScalarFunctionInfo>(ScalarFunctionSet(std::move(f)));
			} else {
				auto f = MakeAggregateFunction(worker_name, handle, schema, signature.types, signature.constant,
				                               signature.return_type, signature.names, signature.defaults);
				f.SetName(Identifier(published));
				DeclareParameters(f.GetSignature(), signature);
				f.SetStability(DeclaredStability(docs, f.GetStability()));
				info = make_uniq<CreateAggregateFunctionInfo>(AggregateFunctionSet(std::move(f)));
			}
			info->descriptions.push_back(DescribeOverload(docs, signature.types, signature.parameter_names));
		} else {
			continue; // buffering functions are not supported yet
		}
		info->on_conflict = OnCreateConflict::REPLACE_ON_CONFLICT;
		info->comment = entries.Comment(i);
		optional_ptr<CatalogEntry> entry;
		try {
			entry = system.CreateFunction(context, *info);
		} catch (TransactionException &) {
			// Another connection's uncommitted ATTACH is publishing the same name (DuckDB's
			// write-write conflict, thrown before anything changed): its version, or the
			// committed one, serves unqualified calls; this ATTACH must not fail over it.
			continue;
		}
		if (entry) {
			SetCommentAndTags(*entry, info->comment, entries.Tags(i));
		}
	}
}

// ------------------------------------------------------------------------------ schemas

// Drops the adapter's cached entries after DDL (defined with the catalog adapter below).
static void ForgetEntries(Catalog &catalog);
// Detaches the companion catalogs attached with a worker catalog (defined with Attach below).
static void DetachCompanions(ClientContext &context, CatalogHandle &handle);

class VgiSchemaEntry : public SchemaCatalogEntry {
public:
	VgiSchemaEntry(Catalog &catalog, CreateSchemaInfo &info, CatalogHandlePtr handle_p)
	    : SchemaCatalogEntry(catalog, info), handle(std::move(handle_p)) {
	}
	CatalogHandlePtr handle;

	void Scan(ClientContext &context, CatalogType type, const std::function<void(CatalogEntry &)> &callback) override {
		for (auto t : SharedNamespace(type)) {
			for (auto &entry : Load(context, t)) {
				callback(*entry.second);
			}
		}
	}
	void Scan(CatalogType type, const std::function<void(CatalogEntry &)> &callback) override {
		lock_guard<mutex> guard(lock);
		auto it = loaded.find(type);
		if (it != loaded.end()) {
			for (auto &entry : it->second) {
				callback(*entry.second);
			}
		}
	}

	optional_ptr<CatalogEntry> LookupEntry(CatalogTransaction transaction, const EntryLookupInfo &lookup) override {
		auto type = lookup.GetCatalogType();
		if (!transaction.HasContext()) {
			return nullptr;
		}
		if (type == CatalogType::SCHEMA_ENTRY) {
			// A nested schema: the worker schema whose path extends this one's.
			auto child = catalog.GetSchema(transaction,
			                               Identifier(name.GetIdentifierName() + "." + lookup.GetEntryName()),
			                               OnEntryNotFound::RETURN_NULL);
			return child ? &child->Cast<CatalogEntry>() : nullptr;
		}
		auto at = lookup.GetAtClause();
		if (at && type == CatalogType::TABLE_ENTRY) {
			return LookupTableAt(transaction.GetContext(), lookup.GetEntryName(), *at);
		}
		for (auto t : SharedNamespace(type)) {
			auto &entries = Load(transaction.GetContext(), t);
			auto it = entries.find(lookup.GetEntryName());
			if (it != entries.end()) {
				if (t == CatalogType::TABLE_ENTRY) {
					auto view = BranchView(transaction.GetContext(), lookup.GetEntryName());
					if (view) {
						return view;
					}
				}
				return it->second.get();
			}
		}
		return nullptr;
	}

#define VGI_READ_ONLY(sig)                                                                                            \
	sig override {                                                                                                     \
		throw NotImplementedException("vgi: this operation is not supported on worker catalogs yet");                  \
	}
	VGI_READ_ONLY(optional_ptr<CatalogEntry> CreateIndex(CatalogTransaction, CreateIndexInfo &, TableCatalogEntry &))
	VGI_READ_ONLY(optional_ptr<CatalogEntry> CreateFunction(CatalogTransaction, CreateFunctionInfo &))
	VGI_READ_ONLY(optional_ptr<CatalogEntry> CreateSequence(CatalogTransaction, CreateSequenceInfo &))
	VGI_READ_ONLY(optional_ptr<CatalogEntry> CreateType(CatalogTransaction, CreateTypeInfo &))

	// DDL goes to the worker; the new state is read back from it.
	optional_ptr<CatalogEntry> CreateTable(CatalogTransaction transaction, BoundCreateTableInfo &info) override {
		auto &create = info.Base();
		CreateWorkerTable(transaction.GetContext(), *handle, name.GetIdentifierName(), create);
		ForgetEntries(catalog);
		return FindAfterDdl(transaction, CatalogType::TABLE_ENTRY, create.GetTableName());
	}
	optional_ptr<CatalogEntry> CreateView(CatalogTransaction transaction, CreateViewInfo &info) override {
		CreateWorkerView(transaction.GetContext(), *handle, name.GetIdentifierName(), info);
		ForgetEntries(catalog);
		return FindAfterDdl(transaction, CatalogType::VIEW_ENTRY, info.GetViewName());
	}
	void DropEntry(ClientContext &context, DropInfo &info) override {
		DropWorkerEntry(context, *handle, name.GetIdentifierName(), info);
		ForgetEntries(catalog);
	}
	void Alter(CatalogTransaction transaction, AlterInfo &info) override {
		AlterWorkerEntry(transaction.GetContext(), *handle, name.GetIdentifierName(), info);
		ForgetEntries(catalog);
	}

private:
	// The entry a CREATE made, as the worker now lists it (through the rebuilt schema).
	optional_ptr<CatalogEntry> FindAfterDdl(CatalogTransaction transaction, CatalogType type, const Identifier &entry) {
		auto schema = catalog.GetSchema(transaction, name, OnEntryNotFound::RETURN_NULL);
		if (!schema) {
			return nullptr;
		}
		return schema->LookupEntry(transaction, EntryLookupInfo(type, QualifiedName(entry)));
	}

	using EntryMap = case_insensitive_map_t<unique_ptr<CatalogEntry>>;
	//! Entries of tables as of an AT clause (their columns may differ per version); kept for
	//! the catalog's lifetime because DuckDB holds references to them.
	vector<unique_ptr<CatalogEntry>> at_entries;

	optional_ptr<CatalogEntry> LookupTableAt(ClientContext &context, const string &table_name, BoundAtClause &at) {
		auto unit = at.Unit().GetIdentifierName();
		auto value = at.GetValue().ToString();
		auto schema_name = name.GetIdentifierName();
		Entries entries;
		ThrowIfError(vgi_catalog_table_at(handle->rust, schema_name.c_str(), table_name.c_str(), unit.c_str(),
		                                  value.c_str(), &entries.list));
		if (entries.Count() == 0) {
			return nullptr;
		}
		auto entry = MakeTable(context, catalog, *this, entries, 0, handle);
		auto &table = entry->Cast<VgiTableEntry>();
		table.at_unit = unit;
		table.at_value = value;
		lock_guard<mutex> guard(lock);
		at_entries.push_back(std::move(entry));
		return at_entries.back().get();
	}

	// The kinds DuckDB keeps in one namespace with `type`: a table reference may name a table
	// or a view; a function call a scalar, an aggregate or a macro; a table function call a
	// table function or a table macro.
	static vector<CatalogType> SharedNamespace(CatalogType type) {
		switch (type) {
		case CatalogType::TABLE_ENTRY:
			return {type, CatalogType::VIEW_ENTRY};
		case CatalogType::SCALAR_FUNCTION_ENTRY:
			return {type, CatalogType::AGGREGATE_FUNCTION_ENTRY, CatalogType::MACRO_ENTRY};
		case CatalogType::TABLE_FUNCTION_ENTRY:
			return {type, CatalogType::TABLE_MACRO_ENTRY};
		default:
			return {type};
		}
	}
	mutex lock;
	unordered_map<CatalogType, EntryMap, EnumClassHash> loaded;
	//! Multi-branch tables as the views they read as (by table name).
	EntryMap branch_views;

	// A table the worker serves from several scan branches reads as a view over them; nullptr
	// for an ordinary table.
	optional_ptr<CatalogEntry> BranchView(ClientContext &context, const string &table) {
		{
			lock_guard<mutex> guard(lock);
			auto it = branch_views.find(table);
			if (it != branch_views.end()) {
				return it->second.get();
			}
		}
		Entries entries;
		auto schema_name = name.GetIdentifierName();
		auto catalog_name = catalog.GetName().GetIdentifierName();
		ThrowIfError(vgi_catalog_branch_view(handle->rust, schema_name.c_str(), table.c_str(), catalog_name.c_str(),
		                                     &entries.list));
		if (entries.Count() == 0) {
			return nullptr;
		}
		auto comment = vgi_entries_comment(entries.list, 0);
		for (auto &extension : StringUtil::Split(comment ? comment : "", '\x1f')) {
			if (!extension.empty()) {
				ExtensionHelper::AutoLoadExtension(context, extension);
			}
		}
		CreateViewInfo info(*this, Identifier(table));
		Parser parser(context);
		info.query = CreateViewInfo::ParseSelect(parser, vgi_entries_sql(entries.list, 0));
		info.binding_mode = CreateViewBindingMode::SKIP_BINDING;
		auto view = make_uniq<ViewCatalogEntry>(catalog, *this, info);
		lock_guard<mutex> guard(lock);
		auto &slot = branch_views[table];
		slot = std::move(view);
		return slot.get();
	}

	// The entries of one kind, built from Rust's metadata on first use.
	EntryMap &Load(ClientContext &context, CatalogType type) {
		lock_guard<mutex> guard(lock);
		auto it = loaded.find(type);
		if (it != loaded.end()) {
			return it->second;
		}
		auto &map = loaded[type];
		auto schema_name = name.GetIdentifierName();
		Entries entries;
		switch (type) {
		case CatalogType::TABLE_ENTRY:
			LoadEntries(*handle, &schema_name, VGI_ENTRY_TABLES, entries);
			for (idx_t i = 0; i < entries.Count(); i++) {
				map[entries.Name(i)] = MakeTable(context, catalog, *this, entries, i, handle);
			}
			break;
		case CatalogType::VIEW_ENTRY:
			LoadEntries(*handle, &schema_name, VGI_ENTRY_VIEWS, entries);
			for (idx_t i = 0; i < entries.Count(); i++) {
				map[entries.Name(i)] = MakeView(context, catalog, *this, entries, i);
			}
			break;
		case CatalogType::SCALAR_FUNCTION_ENTRY:
			LoadEntries(*handle, &schema_name, VGI_ENTRY_SCALAR_FUNCTIONS, entries);
			AddFunctionEntries<ScalarFunctionSet, CreateScalarFunctionInfo, ScalarFunctionCatalogEntry>(
			    context, catalog, *this, entries, map,
			    [&](const string &fn, const vector<LogicalType> &args, const vector<bool> &constant,
			        const LogicalType &ret, const vector<string> &names, const vector<Value> &defaults) {
				    return MakeScalarFunction(fn, handle, schema_name, args, constant, ret, names, defaults);
			    });
			break;
		case CatalogType::AGGREGATE_FUNCTION_ENTRY:
			LoadEntries(*handle, &schema_name, VGI_ENTRY_AGGREGATE_FUNCTIONS, entries);
			AddFunctionEntries<AggregateFunctionSet, CreateAggregateFunctionInfo, AggregateFunctionCatalogEntry>(
			    context, catalog, *this, entries, map,
			    [&](const string &fn, const vector<LogicalType> &args, const vector<bool> &constant,
			        const LogicalType &ret, const vector<string> &names, const vector<Value> &defaults) {
				    return MakeAggregateFunction(fn, handle, schema_name, args, constant, ret, names, defaults);
			    });
			break;
		case CatalogType::MACRO_ENTRY:
		case CatalogType::TABLE_MACRO_ENTRY:
			LoadEntries(*handle, &schema_name, VGI_ENTRY_MACROS, entries);
			for (idx_t i = 0; i < entries.Count(); i++) {
				auto entry = MakeMacro(catalog, *this, entries, i);
				if (entry->type == type) {
					map[entries.Name(i)] = std::move(entry);
				}
			}
			break;
		case CatalogType::TABLE_FUNCTION_ENTRY:
			LoadEntries(*handle, &schema_name, VGI_ENTRY_TABLE_FUNCTIONS, entries);
			{
				// The worker lists each signature on its own; DuckDB wants one entry per name.
				vector<string> names;
				case_insensitive_map_t<vector<idx_t>> overloads;
				for (idx_t i = 0; i < entries.Count(); i++) {
					auto &indexes = overloads[entries.Name(i)];
					if (indexes.empty()) {
						names.push_back(entries.Name(i));
					}
					indexes.push_back(i);
				}
				for (auto &fn : names) {
					map[fn] = MakeTableFunction(context, catalog, *this, entries, overloads[fn], handle);
				}
			}
			break;
		default:
			break;
		}
		return map;
	}
};

// ------------------------------------------------------------------------------ catalog

class VgiCatalogAdapter : public Catalog {
public:
	VgiCatalogAdapter(AttachedDatabase &db, CatalogHandlePtr handle_p, string location_p)
	    : Catalog(db), handle(std::move(handle_p)), location(std::move(location_p)) {
		handle->catalog = this;
	}
	~VgiCatalogAdapter() override {
		handle->catalog = nullptr;
	}
	CatalogHandlePtr handle;
	string location;

	void Initialize(bool load_builtin) override {
	}
	string GetCatalogType() override {
		return "vgi";
	}
	optional<Identifier> GetDefaultSchema() const override {
		return Identifier(vgi_catalog_default_schema(handle->rust));
	}

	void ScanSchemas(ClientContext &context, std::function<void(SchemaCatalogEntry &)> callback) override {
		for (auto &schema : LoadSchemas()) {
			callback(*schema.second);
		}
	}

	optional_ptr<SchemaCatalogEntry> LookupSchema(CatalogTransaction transaction, const EntryLookupInfo &lookup,
	                                              OnEntryNotFound if_not_found) override {
		auto &schemas = LoadSchemas();
		auto it = schemas.find(lookup.GetEntryName());
		if (it != schemas.end()) {
			return it->second.get();
		}
		// A nested path (DuckDB 2.0: `cat.a.b.t`) names the worker schema path a.b.
		auto &path = lookup.GetQualifiedName().Path();
		if (path.size() > 1) {
			idx_t first = path[0].GetIdentifierName() == GetName().GetIdentifierName() ? 1 : 0;
			string joined;
			for (idx_t i = first; i < path.size(); i++) {
				joined += (joined.empty() ? "" : ".") + path[i].GetIdentifierName();
			}
			it = schemas.find(joined);
			if (it != schemas.end()) {
				return it->second.get();
			}
		}
		if (if_not_found == OnEntryNotFound::THROW_EXCEPTION) {
			throw CatalogException("Schema with name %s does not exist in catalog %s", lookup.GetEntryName(),
			                       GetName());
		}
		return nullptr;
	}

	void OnDetach(ClientContext &context) override {
		handle->catalog = nullptr;
		DetachCompanions(context, *handle);
		vgi_catalog_detach(handle->rust);
	}

	// Called at transaction start. Entries DuckDB may still hold are retired, not freed.
	void Refresh() {
		uint64_t current = generation;
		auto error = vgi_catalog_refresh(handle->rust, &current);
		if (error) {
			// An unreachable worker surfaces on the query's own calls; keep what we have.
			vgi_error_free(error);
			return;
		}
		lock_guard<mutex> guard(lock);
		if (current != generation && schemas) {
			retired.push_back(std::move(schemas));
		}
		generation = current;
	}

	optional_ptr<CatalogEntry> CreateSchema(CatalogTransaction transaction, CreateSchemaInfo &info) override {
		CreateWorkerSchema(transaction.GetContext(), *handle, info);
		ForgetEntries();
		auto &schemas = LoadSchemas();
		auto it = schemas.find(info.SchemaName().GetIdentifierName());
		return it == schemas.end() ? nullptr : it->second.get();
	}
	void DropSchema(ClientContext &context, DropInfo &info) override {
		DropWorkerSchema(context, *handle, GetName().GetIdentifierName(), info);
		ForgetEntries();
	}
	// CREATE TABLE AS: the worker creates the table now (at planning, as DuckDB's other
	// remote catalogs do), then the rows go in through its insert function.
	PhysicalOperator &PlanCreateTableAs(ClientContext &context, PhysicalPlanGenerator &planner, LogicalCreateTable &op,
	                                    PhysicalOperator &plan) override {
		auto transaction = GetCatalogTransaction(context);
		auto entry = op.schema.CreateTable(transaction, *op.info);
		if (!entry || entry->type != CatalogType::TABLE_ENTRY) {
			throw CatalogException("vgi: the worker did not list table %s after creating it",
			                       op.info->Base().GetTableName().GetIdentifierName());
		}
		try {
			return PlanWorkerCreateTableAs(context, planner, op, plan, entry->Cast<TableCatalogEntry>(), handle);
		} catch (...) {
			// The rows cannot go in (e.g. the table has no insert function): leave no empty
			// table behind, then report why.
			DropInfo drop;
			drop.type = CatalogType::TABLE_ENTRY;
			drop.SetQualifiedName(GetName(), op.schema.name, op.info->Base().GetTableName());
			drop.if_not_found = OnEntryNotFound::RETURN_NULL;
			try {
				DropWorkerEntry(context, *handle, op.schema.name.GetIdentifierName(), drop);
			} catch (...) {
			}
			ForgetEntries();
			throw;
		}
	}
	// The adapter's entries are rebuilt from Rust's (already dropped) metadata on next use;
	// the old ones stay alive while DuckDB may still hold them.
	void ForgetEntries() {
		lock_guard<mutex> guard(lock);
		if (schemas) {
			retired.push_back(std::move(schemas));
		}
	}
	PhysicalOperator &PlanInsert(ClientContext &context, PhysicalPlanGenerator &planner, LogicalInsert &op,
	                             optional_ptr<PhysicalOperator> plan) override {
		return PlanWorkerInsert(context, planner, op, plan, handle);
	}
	PhysicalOperator &PlanDelete(ClientContext &context, PhysicalPlanGenerator &planner, LogicalDelete &op,
	                             PhysicalOperator &plan) override {
		return PlanWorkerDelete(context, planner, op, plan, handle);
	}
	PhysicalOperator &PlanUpdate(ClientContext &context, PhysicalPlanGenerator &planner, LogicalUpdate &op,
	                             PhysicalOperator &plan) override {
		return PlanWorkerUpdate(context, planner, op, plan, handle);
	}

	DatabaseSize GetDatabaseSize(ClientContext &context) override {
		return DatabaseSize();
	}
	bool InMemory() override {
		return true;
	}
	string GetDBPath() override {
		return location;
	}
	// Rust refuses AT when the worker's catalog does not support time travel.
	bool SupportsTimeTravel() const override {
		return true;
	}

private:
	using SchemaMap = case_insensitive_map_t<unique_ptr<SchemaCatalogEntry>>;
	mutex lock;
	unique_ptr<SchemaMap> schemas;
	vector<unique_ptr<SchemaMap>> retired;
	uint64_t generation = 0;

	SchemaMap &LoadSchemas() {
		lock_guard<mutex> guard(lock);
		if (!schemas) {
			auto map = make_uniq<SchemaMap>();
			Entries entries;
			LoadEntries(*handle, nullptr, VGI_ENTRY_SCHEMAS, entries);
			for (idx_t i = 0; i < entries.Count(); i++) {
				CreateSchemaInfo info;
				info.SetQualifiedName(QualifiedName(GetName(), Identifier(entries.Name(i)), Identifier()));
				info.comment = entries.Comment(i);
				info.tags = entries.Tags(i);
				(*map)[entries.Name(i)] = make_uniq<VgiSchemaEntry>(*this, info, handle);
			}
			schemas = std::move(map);
		}
		return *schemas;
	}
};

static void ForgetEntries(Catalog &catalog) {
	catalog.Cast<VgiCatalogAdapter>().ForgetEntries();
}

// ------------------------------------------------------------------------------ transactions

// A DuckDB transaction on a worker catalog; its worker side lives in Rust.
class WorkerTransactionAdapter : public Transaction {
public:
	WorkerTransactionAdapter(TransactionManager &manager, ClientContext &context, VgiTransaction *rust_p)
	    : Transaction(manager, context), rust(rust_p) {
	}
	~WorkerTransactionAdapter() override {
		vgi_transaction_free(rust);
	}
	VgiTransaction *rust;
};

const VgiTransaction *CurrentTransaction(ClientContext &context, const CatalogHandle &handle) {
	auto catalog = handle.catalog.load();
	if (!catalog) {
		throw BinderException("vgi: the worker catalog of this function has been detached");
	}
	return Transaction::Get(context, *catalog).Cast<WorkerTransactionAdapter>().rust;
}

class VgiTransactionManager : public TransactionManager {
public:
	VgiTransactionManager(AttachedDatabase &db, VgiCatalogAdapter &catalog_p)
	    : TransactionManager(db), catalog(catalog_p) {
	}
	VgiCatalogAdapter &catalog;

	Transaction &StartTransaction(ClientContext &context) override {
		catalog.Refresh();
		auto transaction = make_uniq<WorkerTransactionAdapter>(*this, context, vgi_transaction_new(catalog.handle->rust));
		auto &result = *transaction;
		lock_guard<mutex> guard(lock);
		transactions[result] = std::move(transaction);
		return result;
	}
	// The worker commits first: when it refuses, DuckDB reports its message and the
	// transaction counts as rolled back.
	ErrorData CommitTransaction(ClientContext &context, Transaction &transaction) override {
		auto error = vgi_transaction_end(transaction.Cast<WorkerTransactionAdapter>().rust, 1);
		ErrorData result;
		if (error) {
			result = ErrorData(ExceptionType::TRANSACTION, vgi_error_message(error));
			vgi_error_free(error);
		}
		lock_guard<mutex> guard(lock);
		transactions.erase(transaction);
		return result;
	}
	// A failed statement in auto-commit mode lands here too. A rollback the worker cannot
	// take has nothing left to undo on DuckDB's side, so its error is dropped.
	void RollbackTransaction(Transaction &transaction) override {
		auto error = vgi_transaction_end(transaction.Cast<WorkerTransactionAdapter>().rust, 0);
		if (error) {
			vgi_error_free(error);
		}
		lock_guard<mutex> guard(lock);
		transactions.erase(transaction);
	}
	void Checkpoint(ClientContext &context, bool force) override {
	}

private:
	mutex lock;
	reference_map_t<Transaction, unique_ptr<Transaction>> transactions;
};

// ------------------------------------------------------------------------------ storage extension

// Companion catalogs: databases the worker asks DuckDB to attach beside it (its multi-branch
// tables may read their tables). Detached with the worker catalog.
static void DetachCompanions(ClientContext &context, CatalogHandle &handle) {
	auto &manager = DatabaseManager::Get(context);
	for (auto &alias : handle.companions) {
		try {
			manager.DetachDatabase(context, Identifier(alias), OnEntryNotFound::RETURN_NULL);
		} catch (std::exception &) {
			// Already gone (the user detached it): nothing to release.
		}
	}
	handle.companions.clear();
}

static void AttachCompanions(ClientContext &context, CatalogHandle &handle) {
	Entries entries;
	ThrowIfError(vgi_catalog_companions(handle.rust, &entries.list));
	auto &manager = DatabaseManager::Get(context);
	for (idx_t i = 0; i < entries.Count(); i++) {
		AttachInfo info;
		auto alias = entries.Name(i);
		info.name = Identifier(alias);
		info.path = vgi_entries_sql(entries.list, i);
		ArrowSchemaWrapper options_schema, required_schema;
		entries.Columns(i, options_schema);
		for (idx_t o = 0; o < idx_t(options_schema.arrow_schema.n_children); o++) {
			auto &option = *options_schema.arrow_schema.children[o];
			info.options[option.name] = Value(ArrowSchemaMetadata(option.metadata).GetOption("value"));
		}
		ThrowIfError(vgi_entries_output(entries.list, i, &required_schema.arrow_schema));
		bool required = required_schema.arrow_schema.release && required_schema.arrow_schema.n_children > 0;
		AttachOptions options(info.options, AccessMode::AUTOMATIC);
		auto db_type = vgi_entries_comment(entries.list, i);
		options.db_type = db_type ? db_type : "";
		try {
			manager.AttachDatabase(context, info, options);
			handle.companions.push_back(alias);
		} catch (std::exception &ex) {
			if (!required) {
				continue;
			}
			// Leave nothing half-attached.
			DetachCompanions(context, handle);
			throw IOException("vgi: could not attach the companion catalog %s ('%s') the worker asks for: %s", alias,
			                  info.path, ErrorData(ex).RawMessage());
		}
	}
}

static unique_ptr<Catalog> Attach(optional_ptr<StorageExtensionInfo>, ClientContext &context, AttachedDatabase &db,
                                  const string &name, AttachInfo &info, AttachOptions &options) {
	// Every option (LOCATION, credentials, worker-declared ones) goes to Rust as one Arrow row.
	vector<string> names;
	vector<LogicalType> types;
	vector<Value> values;
	for (auto &option : options.options) {
		names.push_back(StringUtil::Lower(option.first));
		types.push_back(option.second.type());
		values.push_back(option.second);
	}
	options.options.clear();
	auto properties = context.GetClientProperties();
	ArrowSchemaWrapper schema;
	ArrowArrayWrapper array;
	ArrowConverter::ToArrowSchema(&schema.arrow_schema, types, names, properties);
	DataChunk chunk;
	chunk.Initialize(Allocator::DefaultAllocator(), types, 1);
	for (idx_t c = 0; c < values.size(); c++) {
		chunk.data[c].SetValue(0, values[c]);
	}
	chunk.SetCardinality(1);
	ArrowConverter::ToArrowArray(chunk, &array.arrow_array, properties, {});
	// The location may come from the path ('catalog?location=...'): Rust resolves it, then
	// checks it against the sandbox before starting anything.
	bool external_access;
	string allowed_locations;
	ReadLocationPolicy(context, external_access, allowed_locations);
	VgiCatalog *rust = nullptr;
	ThrowIfError(vgi_catalog_attach(info.path.c_str(), &schema.arrow_schema, &array.arrow_array, external_access,
	                                allowed_locations.c_str(), &rust));
	auto handle = std::make_shared<CatalogHandle>(rust);
	string location = vgi_catalog_location(rust);
	// Without AS, DuckDB derived the alias from the path; registration uses db's name.
	auto derived = AttachedDatabase::ExtractDatabaseName(info.path, FileSystem::GetFileSystem(context));
	auto alias = vgi_catalog_alias(rust, derived == Identifier(name));
	string registered = alias ? string(alias) : name;
	if (alias) {
		db.SetName(Identifier(alias));
	}
	// duckdb_databases() shows the worker's comment and tags (and the versions it resolved).
	Entries described;
	ThrowIfError(vgi_catalog_describe(rust, &described.list));
	db.comment = described.Comment(0);
	db.tags = described.Tags(0);
	RegisterWorkerSettingsAndSecrets(context, *handle);
	AttachCompanions(context, *handle);
	RegisterGlobalFunctions(context, handle);
	RegisterCopyFormats(context, registered, handle);
	return make_uniq<VgiCatalogAdapter>(db, std::move(handle), location);
}

static unique_ptr<TransactionManager> CreateTransactionManager(optional_ptr<StorageExtensionInfo>, AttachedDatabase &db,
                                                               Catalog &catalog) {
	return make_uniq<VgiTransactionManager>(db, catalog.Cast<VgiCatalogAdapter>());
}

void RegisterStorage(ExtensionLoader &loader) {
	auto &config = DBConfig::GetConfig(loader.GetDatabaseInstance());
	auto extension = make_shared_ptr<StorageExtension>();
	extension->attach = Attach;
	extension->create_transaction_manager = CreateTransactionManager;
	StorageExtension::Register(config, "vgi", std::move(extension));
}

} // namespace vgi
