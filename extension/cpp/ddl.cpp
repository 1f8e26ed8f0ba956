// DDL statements on worker catalogs: reads DuckDB's parsed statement into one row of named
// fields (plus column definitions) and hands it to Rust (extension/src/ddl.rs), which picks
// the worker method. No decisions here beyond naming what DuckDB parsed.
#include "ddl.hpp"

#include "arrow_scan.hpp"

#include "duckdb/common/arrow/arrow_converter.hpp"
#include "duckdb/parser/constraints/check_constraint.hpp"
#include "duckdb/parser/constraints/not_null_constraint.hpp"
#include "duckdb/parser/constraints/unique_constraint.hpp"
#include "duckdb/parser/parsed_data/alter_table_info.hpp"
#include "duckdb/parser/parsed_data/comment_on_column_info.hpp"
#include "duckdb/parser/parsed_data/create_schema_info.hpp"
#include "duckdb/parser/parsed_data/create_table_info.hpp"
#include "duckdb/parser/parsed_data/create_view_info.hpp"
#include "duckdb/parser/parsed_data/drop_info.hpp"
#include "duckdb/parser/statement/select_statement.hpp"

namespace vgi {
using namespace duckdb;

namespace {

// The statement's fields, by name.
struct DdlFields {
	vector<string> names;
	vector<Value> values;
	vector<LogicalType> column_types;
	vector<string> column_names;
	bool has_columns = false;

	DdlFields &Set(const string &name, Value value) {
		names.push_back(name);
		values.push_back(std::move(value));
		return *this;
	}
	// Column definitions, and their DEFAULTs as SQL text (NULL for none).
	void Columns(const vector<reference<const ColumnDefinition>> &columns) {
		has_columns = true;
		vector<Value> defaults;
		for (auto &column : columns) {
			column_types.push_back(column.get().Type());
			column_names.push_back(column.get().Name().GetIdentifierName());
			defaults.push_back(column.get().HasDefaultValue() ? Value(column.get().DefaultValue().ToString())
			                                                  : Value(LogicalType::VARCHAR));
		}
		Set("defaults", Value::LIST(LogicalType::VARCHAR, std::move(defaults)));
	}
};

Value OnConflictName(OnCreateConflict on_conflict) {
	switch (on_conflict) {
	case OnCreateConflict::IGNORE_ON_CONFLICT:
		return Value("ignore");
	case OnCreateConflict::REPLACE_ON_CONFLICT:
		return Value("replace");
	default:
		return Value("error");
	}
}

Value IndexList(const vector<idx_t> &indexes) {
	vector<Value> values;
	for (auto i : indexes) {
		values.push_back(Value::INTEGER(NumericCast<int32_t>(i)));
	}
	return Value::LIST(LogicalType::INTEGER, std::move(values));
}

Value CommentText(const Value &comment) {
	return comment.IsNull() ? Value(LogicalType::VARCHAR) : Value(comment.ToString());
}

void Run(ClientContext &context, const CatalogHandle &handle, const char *operation, DdlFields &fields) {
	auto properties = LosslessProperties(context);
	ArrowSchemaWrapper fields_schema;
	ArrowArrayWrapper fields_array;
	ExportRow(context, fields.names, fields.values, fields_schema.arrow_schema, fields_array.arrow_array);
	ArrowSchemaWrapper columns;
	if (fields.has_columns) {
		ArrowConverter::ToArrowSchema(&columns.arrow_schema, fields.column_types, fields.column_names, properties);
	}
	ThrowIfError(vgi_catalog_ddl(handle.rust, MakeSessionCall(context, handle)->Get(), operation,
	                             &fields_schema.arrow_schema, &fields_array.arrow_array,
	                             fields.has_columns ? &columns.arrow_schema : nullptr));
}

string EntryName(const QualifiedName &name) {
	return name.Name().GetIdentifierName();
}

} // namespace

void CreateWorkerSchema(ClientContext &context, const CatalogHandle &handle, CreateSchemaInfo &info) {
	DdlFields fields;
	vector<Value> path;
	for (auto &parent : info.ParentSchemas()) {
		path.push_back(Value(parent.GetIdentifierName()));
	}
	path.push_back(Value(info.SchemaName().GetIdentifierName()));
	fields.Set("name", Value(info.SchemaName().GetIdentifierName()))
	    .Set("path", Value::LIST(LogicalType::VARCHAR, std::move(path)))
	    .Set("on_conflict", OnConflictName(info.on_conflict))
	    .Set("comment", CommentText(info.comment));
	Run(context, handle, "schema_create", fields);
}

void DropWorkerSchema(ClientContext &context, const CatalogHandle &handle, const string &catalog, DropInfo &info) {
	// The schema's DuckDB name: its path after the catalog, nested levels joined with '.'.
	auto &path = info.GetQualifiedName().Path();
	idx_t first = path.size() > 1 && path[0].GetIdentifierName() == catalog ? 1 : 0;
	string name;
	for (idx_t i = first; i < path.size(); i++) {
		name += (name.empty() ? "" : ".") + path[i].GetIdentifierName();
	}
	DdlFields fields;
	fields.Set("name", Value(name))
	    .Set("if_exists", Value::BOOLEAN(info.if_not_found == OnEntryNotFound::RETURN_NULL))
	    .Set("cascade", Value::BOOLEAN(info.cascade));
	Run(context, handle, "schema_drop", fields);
}

void CreateWorkerTable(ClientContext &context, const CatalogHandle &handle, const string &schema,
                       CreateTableInfo &info) {
	DdlFields fields;
	vector<reference<const ColumnDefinition>> columns;
	for (auto &column : info.columns.Physical()) {
		columns.push_back(column);
	}
	// Constraints by physical column position (what the worker's column schema holds).
	vector<idx_t> not_null;
	vector<Value> unique, primary_key, checks;
	for (auto &constraint : info.constraints) {
		switch (constraint->type) {
		case ConstraintType::NOT_NULL:
			not_null.push_back(
			    info.columns.LogicalToPhysical(constraint->Cast<NotNullConstraint>().index).index);
			break;
		case ConstraintType::UNIQUE: {
			auto &key = constraint->Cast<UniqueConstraint>();
			vector<idx_t> indexes;
			for (auto &logical : key.GetLogicalIndexes(info.columns)) {
				indexes.push_back(info.columns.LogicalToPhysical(logical).index);
			}
			(key.IsPrimaryKey() ? primary_key : unique).push_back(IndexList(indexes));
			break;
		}
		case ConstraintType::CHECK:
			checks.push_back(Value(constraint->Cast<CheckConstraint>().expression->ToString()));
			break;
		default:
			throw NotImplementedException("vgi: %s constraints are not supported on worker tables",
			                              constraint->ToString());
		}
	}
	fields.Set("schema", Value(schema))
	    .Set("name", Value(info.GetTableName().GetIdentifierName()))
	    .Set("on_conflict", OnConflictName(info.on_conflict))
	    .Set("not_null", IndexList(not_null))
	    .Set("unique", Value::LIST(LogicalType::LIST(LogicalType::INTEGER), std::move(unique)))
	    .Set("primary_key", Value::LIST(LogicalType::LIST(LogicalType::INTEGER), std::move(primary_key)))
	    .Set("checks", Value::LIST(LogicalType::VARCHAR, std::move(checks)));
	fields.Columns(columns);
	Run(context, handle, "table_create", fields);
	if (!info.comment.IsNull()) {
		DdlFields comment;
		comment.Set("schema", Value(schema))
		    .Set("name", Value(info.GetTableName().GetIdentifierName()))
		    .Set("comment", CommentText(info.comment));
		Run(context, handle, "table_comment_set", comment);
	}
}

void CreateWorkerView(ClientContext &context, const CatalogHandle &handle, const string &schema, CreateViewInfo &info) {
	if (!info.aliases.empty()) {
		throw NotImplementedException("vgi: CREATE VIEW with column aliases is not supported on worker catalogs");
	}
	DdlFields fields;
	fields.Set("schema", Value(schema))
	    .Set("name", Value(info.GetViewName().GetIdentifierName()))
	    .Set("definition", Value(info.query->ToString()))
	    .Set("on_conflict", OnConflictName(info.on_conflict));
	Run(context, handle, "view_create", fields);
}

void DropWorkerEntry(ClientContext &context, const CatalogHandle &handle, const string &schema, DropInfo &info) {
	const char *operation;
	switch (info.type) {
	case CatalogType::TABLE_ENTRY:
		operation = "table_drop";
		break;
	case CatalogType::VIEW_ENTRY:
		operation = "view_drop";
		break;
	case CatalogType::MACRO_ENTRY:
	case CatalogType::TABLE_MACRO_ENTRY:
		operation = "macro_drop";
		break;
	default:
		throw NotImplementedException("vgi: DROP %s is not supported on worker catalogs",
		                              CatalogTypeToString(info.type));
	}
	DdlFields fields;
	fields.Set("schema", Value(schema))
	    .Set("name", Value(EntryName(info.GetQualifiedName())))
	    .Set("if_exists", Value::BOOLEAN(info.if_not_found == OnEntryNotFound::RETURN_NULL))
	    .Set("cascade", Value::BOOLEAN(info.cascade));
	Run(context, handle, operation, fields);
}

void AlterWorkerEntry(ClientContext &context, const CatalogHandle &handle, const string &schema, AlterInfo &info) {
	DdlFields fields;
	fields.Set("schema", Value(schema))
	    .Set("name", Value(EntryName(info.GetQualifiedName())))
	    .Set("if_exists", Value::BOOLEAN(info.if_not_found == OnEntryNotFound::RETURN_NULL));
	const char *operation = nullptr;
	switch (info.type) {
	case AlterType::ALTER_TABLE: {
		auto &alter = info.Cast<AlterTableInfo>();
		switch (alter.alter_table_type) {
		case AlterTableType::RENAME_COLUMN: {
			auto &rename = alter.Cast<RenameColumnInfo>();
			fields.Set("column", Value(rename.old_name.GetIdentifierName()))
			    .Set("new_column", Value(rename.new_name.GetIdentifierName()));
			operation = "table_column_rename";
			break;
		}
		case AlterTableType::RENAME_TABLE:
			fields.Set("new_name", Value(alter.Cast<RenameTableInfo>().new_table_name.GetIdentifierName()));
			operation = "table_rename";
			break;
		case AlterTableType::ADD_COLUMN: {
			auto &add = alter.Cast<AddColumnInfo>();
			fields.Set("if_column_not_exists", Value::BOOLEAN(add.if_column_not_exists));
			fields.Columns({add.new_column});
			operation = "table_column_add";
			break;
		}
		case AlterTableType::REMOVE_COLUMN: {
			auto &remove = alter.Cast<RemoveColumnInfo>();
			fields.Set("column", Value(remove.removed_column.GetIdentifierName()))
			    .Set("if_column_exists", Value::BOOLEAN(remove.if_column_exists))
			    .Set("cascade", Value::BOOLEAN(remove.cascade));
			operation = "table_column_drop";
			break;
		}
		case AlterTableType::ALTER_COLUMN_TYPE: {
			auto &change = alter.Cast<ChangeColumnTypeInfo>();
			fields.Set("column", Value(change.GetColumnName().GetIdentifierName()));
			if (change.expression) {
				fields.Set("expression", Value(change.expression->ToString()));
			}
			fields.has_columns = true;
			fields.column_types.push_back(change.target_type);
			fields.column_names.push_back(change.GetColumnName().GetIdentifierName());
			operation = "table_column_type_change";
			break;
		}
		case AlterTableType::SET_DEFAULT: {
			auto &set = alter.Cast<SetDefaultInfo>();
			fields.Set("column", Value(set.GetColumnName().GetIdentifierName()));
			if (set.expression) {
				fields.Set("expression", Value(set.expression->ToString()));
				operation = "table_column_default_set";
			} else {
				operation = "table_column_default_drop";
			}
			break;
		}
		case AlterTableType::SET_NOT_NULL:
			fields.Set("column", Value(alter.GetColumnName().GetIdentifierName()));
			operation = "table_not_null_set";
			break;
		case AlterTableType::DROP_NOT_NULL:
			fields.Set("column", Value(alter.GetColumnName().GetIdentifierName()));
			operation = "table_not_null_drop";
			break;
		default:
			break;
		}
		break;
	}
	case AlterType::ALTER_VIEW:
		if (info.Cast<AlterViewInfo>().alter_view_type == AlterViewType::RENAME_VIEW) {
			fields.Set("new_name", Value(info.Cast<RenameViewInfo>().new_view_name.GetIdentifierName()));
			operation = "view_rename";
		}
		break;
	case AlterType::SET_COMMENT: {
		auto &comment = info.Cast<SetCommentInfo>();
		fields.Set("comment", CommentText(comment.comment_value));
		if (comment.entry_catalog_type == CatalogType::TABLE_ENTRY) {
			operation = "table_comment_set";
		} else if (comment.entry_catalog_type == CatalogType::VIEW_ENTRY) {
			operation = "view_comment_set";
		}
		break;
	}
	case AlterType::SET_COLUMN_COMMENT: {
		auto &comment = info.Cast<SetColumnCommentInfo>();
		fields.Set("column", Value(comment.column_name.GetIdentifierName()))
		    .Set("comment", CommentText(comment.comment_value));
		operation = "table_column_comment_set";
		break;
	}
	default:
		break;
	}
	if (!operation) {
		throw NotImplementedException("vgi: %s is not supported on worker catalogs", info.ToString());
	}
	Run(context, handle, operation, fields);
}

} // namespace vgi
