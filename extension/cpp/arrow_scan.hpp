// A DuckDB table function whose rows come from a Rust scan as Arrow batches, converted with
// DuckDB's own Arrow reader (zero-copy where DuckDB allows).
#pragma once

#include "adapter.hpp"
#include "duckdb/function/table/arrow.hpp"

namespace vgi {

struct ArrowScanBindData : public duckdb::TableFunctionData {
	BindingPtr binding;
	duckdb::ArrowTableSchema arrow_table;
	//! The function has projection_pushdown: the scan produces only the columns DuckDB asks for.
	bool projection_pushdown = false;
	//! The bound column that holds the worker's row id (DuckDB's `rowid`), -1 when none.
	int64_t rowid_column = -1;
	//! A catalog table with generated columns: the bound column of each of its columns (by
	//! DuckDB's column index), INVALID_INDEX for the generated ones (DuckDB computes those).
	//! Empty: DuckDB's column indexes are the bound columns.
	duckdb::vector<duckdb::idx_t> table_columns;
	//! The catalog table this scan reads (binds `rowid`, lets UPDATE/DELETE find their table).
	duckdb::optional_ptr<duckdb::TableCatalogEntry> table;
	//! ORDER BY ... LIMIT hint from DuckDB's Top-N (set_scan_order): bound column, -1 = none.
	int64_t order_column = -1;
	bool order_descending = false;
	bool order_nulls_first = false;
	int64_t order_limit = -1;
	//! What the latest execution pushed to the worker ("key\x1fvalue" pairs separated by
	//! "\x1e"; EXPLAIN ANALYZE reads it once the scan started).
	struct Explain {
		duckdb::mutex lock;
		std::string pairs;
	};
	duckdb::shared_ptr<Explain> explain = duckdb::make_shared_ptr<Explain>();
	//! The rows go to a write on a worker catalog (MarkScansFeedingWrite).
	bool feeds_write = false;
};

// Fills return types and names from the Arrow schema Rust produced at bind, and adopts the
// binding.
duckdb::unique_ptr<ArrowScanBindData> FinishArrowBind(duckdb::ClientContext &context, VgiBinding *binding,
                                                      ArrowSchema &schema,
                                                      duckdb::vector<duckdb::LogicalType> &return_types,
                                                      duckdb::vector<duckdb::Identifier> &names);

// A filter description's constants as one row of columns c0, c1, ... for Rust (false when
// there are none).
bool ExportConstants(duckdb::ClientContext &context, const duckdb::vector<duckdb::Value> &values,
                     duckdb::ArrowSchemaWrapper &schema, duckdb::ArrowArrayWrapper &array);

// DuckDB's column ids of a scan with its `rowid` pseudo-column mapped to the bound row id column.
duckdb::vector<duckdb::column_t> ScanColumns(const ArrowScanBindData &bind, const duckdb::vector<duckdb::column_t> &column_ids);

// Client properties for rows sent to a worker: lossless, so UUID, HUGEINT and TIMETZ keep
// their types as Arrow extension types (an echo comes back as what went in).
duckdb::ClientProperties LosslessProperties(duckdb::ClientContext &context);

// Tells every worker scan in `plan` that its rows go to a write (INSERT/UPDATE/DELETE/CTAS on a
// worker catalog); Rust then lets no read turn of it overlap the write's turns.
void MarkScansFeedingWrite(duckdb::PhysicalOperator &plan);

// Sets the init/scan callbacks of a table function to run a Rust scan, with projection,
// filter and sample pushdown, ORDER BY hints, parallel streams and batch indexes.
void SetArrowScanCallbacks(duckdb::TableFunction &function);

// Declares the pushdowns a worker scan accepts (Rust decides what the worker is told; the
// scan applies the rest).
void SetWorkerScanPushdown(duckdb::TableFunction &function);

} // namespace vgi
