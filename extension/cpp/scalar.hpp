// A bound worker scalar call, shared by the per-chunk path (scalar.cpp) and the batching
// operator (scalar_batch.cpp).
#pragma once

#include "adapter.hpp"
#include "duckdb/function/table/arrow.hpp"

namespace vgi {

struct ScalarBindData : public duckdb::FunctionData {
	std::shared_ptr<VgiScalarBinding> binding;
	std::shared_ptr<duckdb::ArrowTableSchema> output;
	duckdb::vector<duckdb::LogicalType> input_types;
	duckdb::vector<std::string> input_names;
	//! Each chunk is its own worker call, its result never a constant vector (vgi_scalar_binding_per_chunk).
	bool per_chunk = false;

	duckdb::unique_ptr<duckdb::FunctionData> Copy() const override {
		return duckdb::make_uniq<ScalarBindData>(*this);
	}
	bool Equals(const duckdb::FunctionData &other) const override {
		return binding == other.Cast<ScalarBindData>().binding;
	}
};

// Exports one chunk of a call's column arguments (all columns of `args`) in the layout the
// worker was bound to.
void ExportScalarArguments(duckdb::ClientContext &context, const ScalarBindData &data, duckdb::DataChunk &args,
                           ArrowSchema &schema, ArrowArray &array);

// Rows a worker function call may carry (SET vgi_batch_rows); at most one DuckDB vector means
// one call per chunk.
duckdb::idx_t BatchRows(duckdb::ClientContext &context);

// Registers the optimizer rule that moves worker scalar calls into batching operators.
void RegisterScalarBatching(duckdb::DBConfig &config);

} // namespace vgi
