// DDL forwarded to worker catalogs (Rust: extension/src/ddl.rs). Each function sends one
// statement; the caller drops its cached entries afterwards.
#pragma once

#include "catalog.hpp"
#include "duckdb/parser/parsed_data/alter_info.hpp"
#include "duckdb/parser/parsed_data/create_schema_info.hpp"
#include "duckdb/parser/parsed_data/create_table_info.hpp"
#include "duckdb/parser/parsed_data/create_view_info.hpp"
#include "duckdb/parser/parsed_data/drop_info.hpp"

namespace vgi {

void CreateWorkerSchema(duckdb::ClientContext &context, const CatalogHandle &handle, duckdb::CreateSchemaInfo &info);
void DropWorkerSchema(duckdb::ClientContext &context, const CatalogHandle &handle, const std::string &catalog,
                      duckdb::DropInfo &info);
void CreateWorkerTable(duckdb::ClientContext &context, const CatalogHandle &handle, const std::string &schema,
                       duckdb::CreateTableInfo &info);
void CreateWorkerView(duckdb::ClientContext &context, const CatalogHandle &handle, const std::string &schema,
                      duckdb::CreateViewInfo &info);
void DropWorkerEntry(duckdb::ClientContext &context, const CatalogHandle &handle, const std::string &schema,
                     duckdb::DropInfo &info);
void AlterWorkerEntry(duckdb::ClientContext &context, const CatalogHandle &handle, const std::string &schema,
                      duckdb::AlterInfo &info);

} // namespace vgi
