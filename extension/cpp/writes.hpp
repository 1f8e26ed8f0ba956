// INSERT / UPDATE / DELETE into worker tables (Rust: extension/src/writes.rs).
#pragma once

#include "catalog.hpp"
#include "duckdb/execution/physical_plan_generator.hpp"
#include "duckdb/planner/operator/logical_create_table.hpp"
#include "duckdb/planner/operator/logical_delete.hpp"
#include "duckdb/planner/operator/logical_insert.hpp"
#include "duckdb/planner/operator/logical_update.hpp"

namespace vgi {

duckdb::PhysicalOperator &PlanWorkerInsert(duckdb::ClientContext &context, duckdb::PhysicalPlanGenerator &planner,
                                           duckdb::LogicalInsert &op, duckdb::optional_ptr<duckdb::PhysicalOperator> plan,
                                           const CatalogHandlePtr &handle);

duckdb::PhysicalOperator &PlanWorkerUpdate(duckdb::ClientContext &context, duckdb::PhysicalPlanGenerator &planner,
                                           duckdb::LogicalUpdate &op, duckdb::PhysicalOperator &plan,
                                           const CatalogHandlePtr &handle);

duckdb::PhysicalOperator &PlanWorkerDelete(duckdb::ClientContext &context, duckdb::PhysicalPlanGenerator &planner,
                                           duckdb::LogicalDelete &op, duckdb::PhysicalOperator &plan,
                                           const CatalogHandlePtr &handle);

// CREATE TABLE AS into `table`, which the worker has just created: every row of `plan` goes in.
duckdb::PhysicalOperator &PlanWorkerCreateTableAs(duckdb::ClientContext &context, duckdb::PhysicalPlanGenerator &planner,
                                                  duckdb::LogicalCreateTable &op, duckdb::PhysicalOperator &plan,
                                                  duckdb::TableCatalogEntry &table, const CatalogHandlePtr &handle);

} // namespace vgi
