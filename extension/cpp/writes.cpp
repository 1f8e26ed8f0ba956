// A write statement as one DuckDB operator: a sink that hands each chunk to Rust (which sends
// it to the table's write function) and a source that returns what the worker answered:
// its row count, or the RETURNING rows.
#include "writes.hpp"

#include "arrow_scan.hpp"

#include "duckdb/catalog/catalog_entry/schema_catalog_entry.hpp"
#include "duckdb/catalog/catalog_entry/table_catalog_entry.hpp"
#include "duckdb/common/arrow/arrow_converter.hpp"
#include "duckdb/common/types/column/column_data_collection.hpp"
#include "duckdb/planner/expression/bound_reference_expression.hpp"

namespace vgi {
using namespace duckdb;

namespace {

using WriteBindingPtr = std::shared_ptr<VgiWriteBinding>;

// What the write function receives: which columns of DuckDB's chunk, with which types/names.
struct WriteInput {
	vector<idx_t> columns;
	vector<LogicalType> types;
	vector<string> names;
};

struct WriteSinkState : public GlobalSinkState {
	mutex lock;
	VgiWrite *write = nullptr;
	unique_ptr<ColumnDataCollection> returned;
	int64_t count = 0;
	~WriteSinkState() override {
		if (write) {
			vgi_write_free(write);
		}
	}
};

struct WriteSourceState : public GlobalSourceState {
	ColumnDataScanState scan;
	bool started = false;
	bool done = false;
};

class WorkerWrite : public PhysicalOperator {
public:
	WorkerWrite(PhysicalPlan &plan, vector<LogicalType> types, idx_t cardinality, WriteBindingPtr binding_p,
	            bool returning_p, WriteInput input_p, string name_p)
	    : PhysicalOperator(plan, PhysicalOperatorType::EXTENSION, std::move(types), cardinality),
	      binding(std::move(binding_p)), returning(returning_p), input(std::move(input_p)), name(std::move(name_p)) {
	}

	WriteBindingPtr binding;
	bool returning;
	WriteInput input;
	string name;
	//! How RETURNING rows are read (the table's columns).
	ArrowTableSchema rows_table;

	string GetName() const override {
		return name;
	}
	InsertionOrderPreservingMap<string> ParamsToString() const override {
		InsertionOrderPreservingMap<string> result;
		result["Returning"] = returning ? "rows" : "count";
		return result;
	}
	bool IsSink() const override {
		return true;
	}
	// One worker stream per statement: chunks go to it one at a time, in order.
	bool ParallelSink() const override {
		return false;
	}
	bool SinkOrderDependent() const override {
		return true;
	}
	bool IsSource() const override {
		return true;
	}

	unique_ptr<GlobalSinkState> GetGlobalSinkState(ClientContext &context) const override {
		auto state = make_uniq<WriteSinkState>();
		ThrowIfError(vgi_write_open(binding.get(), IsInterrupted, &context, &state->write));
		if (returning) {
			state->returned = make_uniq<ColumnDataCollection>(context, types);
		}
		return std::move(state);
	}

	SinkResultType Sink(ExecutionContext &context, DataChunk &chunk, OperatorSinkInput &sink) const override {
		auto &state = sink.global_state.Cast<WriteSinkState>();
		lock_guard<mutex> guard(state.lock);
		// The worker's input: the chosen columns of DuckDB's chunk, in the worker's order.
		DataChunk written;
		written.InitializeEmpty(input.types);
		for (idx_t i = 0; i < input.columns.size(); i++) {
			written.data[i].Reference(chunk.data[input.columns[i]]);
		}
		written.SetCardinality(chunk.size());
		auto properties = LosslessProperties(context.client);
		ArrowSchemaWrapper schema;
		ArrowArrayWrapper array;
		ArrowConverter::ToArrowSchema(&schema.arrow_schema, input.types, input.names, properties);
		ArrowConverter::ToArrowArray(written, &array.arrow_array, properties, {});
		VgiBatches *rows = nullptr;
		ThrowIfError(vgi_write_send(state.write, &schema.arrow_schema, &array.arrow_array, &rows));
		Collect(context.client, state, rows);
		return SinkResultType::NEED_MORE_INPUT;
	}

	SinkFinalizeType Finalize(Pipeline &pipeline, Event &event, ClientContext &context,
	                          OperatorSinkFinalizeInput &input) const override {
		auto &state = input.global_state.Cast<WriteSinkState>();
		VgiBatches *rows = nullptr;
		ThrowIfError(vgi_write_finish(state.write, &rows, &state.count));
		Collect(context, state, rows);
		return SinkFinalizeType::READY;
	}

	unique_ptr<GlobalSourceState> GetGlobalSourceState(ClientContext &context) const override {
		return make_uniq<WriteSourceState>();
	}

	SourceResultType GetDataInternal(ExecutionContext &context, DataChunk &chunk,
	                                 OperatorSourceInput &input) const override {
		auto &state = sink_state->Cast<WriteSinkState>();
		auto &source = input.global_state.Cast<WriteSourceState>();
		if (!returning) {
			if (!source.done) {
				chunk.SetCardinality(1);
				chunk.SetValue(0, 0, Value::BIGINT(state.count));
				source.done = true;
			}
			return SourceResultType::FINISHED;
		}
		if (!source.started) {
			state.returned->InitializeScan(source.scan);
			source.started = true;
		}
		state.returned->Scan(source.scan, chunk);
		return chunk.size() == 0 ? SourceResultType::FINISHED : SourceResultType::HAVE_MORE_OUTPUT;
	}

private:
	// Appends RETURNING rows (struct arrays in the table's layout) to the collection; frees them.
	void Collect(ClientContext &context, WriteSinkState &state, VgiBatches *rows) const {
		if (!rows) {
			return;
		}
		std::unique_ptr<VgiBatches, RustDeleter<VgiBatches, vgi_batches_free>> owned(rows);
		while (true) {
			auto batch = make_shared_ptr<ArrowArrayWrapper>();
			ThrowIfError(vgi_batches_next(rows, &batch->arrow_array));
			if (!batch->arrow_array.release) {
				return;
			}
			if (!state.returned) {
				continue;
			}
			ArrowScanLocalState scan(make_uniq<ArrowArrayWrapper>(), context);
			auto length = static_cast<idx_t>(batch->arrow_array.length);
			scan.chunk = std::move(batch);
			// The table's columns come from the worker; what DuckDB adds after them (the rowid
			// pseudo-column of DELETE, the old image of UPDATE) is NULL.
			DataChunk converted, full;
			converted.Initialize(Allocator::DefaultAllocator(), const_cast<ArrowTableSchema &>(rows_table).GetTypes());
			full.Initialize(Allocator::DefaultAllocator(), types);
			for (idx_t offset = 0; offset < length; offset += STANDARD_VECTOR_SIZE) {
				converted.Reset();
				full.Reset();
				converted.SetChildCardinality(MinValue<idx_t>(STANDARD_VECTOR_SIZE, length - offset));
				scan.chunk_offset = offset;
				ArrowTableFunction::ArrowToDuckDB(scan, rows_table.GetColumns(), converted, false);
				for (idx_t c = 0; c < types.size(); c++) {
					if (c < converted.ColumnCount()) {
						full.data[c].Reference(converted.data[c]);
					} else {
						full.data[c].SetVectorType(VectorType::CONSTANT_VECTOR);
						ConstantVector::SetNull(full.data[c], true);
					}
				}
				full.SetCardinality(converted.size());
				state.returned->Append(full);
			}
		}
	}
};

// Binds the write on the Rust side and makes the operator.
PhysicalOperator &MakeWrite(ClientContext &context, PhysicalPlanGenerator &planner, const CatalogHandlePtr &handle,
                            TableCatalogEntry &table, int32_t kind, vector<LogicalType> types, idx_t cardinality,
                            bool returning, WriteInput input, const char *on_conflict_nothing, const string &name) {
	auto properties = LosslessProperties(context);
	ArrowSchemaWrapper input_schema, rows_schema;
	ArrowConverter::ToArrowSchema(&input_schema.arrow_schema, input.types, input.names, properties);
	VgiWriteBinding *binding = nullptr;
	auto schema_name = table.ParentSchema().name.GetIdentifierName();
	auto table_name = table.name.GetIdentifierName();
	ThrowIfError(vgi_write_bind(handle->rust, MakeSessionCall(context, *handle)->Get(), schema_name.c_str(), table_name.c_str(), kind,
	                            &input_schema.arrow_schema, returning, on_conflict_nothing, &binding,
	                            &rows_schema.arrow_schema));
	WriteBindingPtr owned(binding, RustDeleter<VgiWriteBinding, vgi_write_binding_free>());
	auto &write =
	    planner.Make<WorkerWrite>(std::move(types), cardinality, std::move(owned), returning, std::move(input), name);
	auto &rows_table = write.Cast<WorkerWrite>().rows_table;
	ArrowTableFunction::PopulateArrowTableSchema(context, rows_table, rows_schema.arrow_schema);
	if (returning) {
		// RETURNING rows: the table's columns first, in DuckDB's types.
		auto rows_types = rows_table.GetTypes();
		if (rows_types.size() > write.types.size()) {
			throw IOException("vgi: the worker's RETURNING rows of %s have %llu columns, DuckDB expects %llu", table_name,
			                  rows_types.size(), write.types.size());
		}
		for (idx_t c = 0; c < rows_types.size(); c++) {
			if (rows_types[c] != write.types[c]) {
				throw IOException("vgi: the worker's RETURNING column %llu of %s is %s, DuckDB expects %s", c, table_name,
				                  rows_types[c].ToString(), write.types[c].ToString());
			}
		}
	}
	return write;
}

// Every physical column of the table, in order (what INSERT and CREATE TABLE AS send).
WriteInput TableColumns(TableCatalogEntry &table) {
	WriteInput input;
	for (auto &column : table.GetColumns().Physical()) {
		input.columns.push_back(input.columns.size());
		input.types.push_back(column.Type());
		input.names.push_back(column.Name().GetIdentifierName());
	}
	return input;
}

// The position of a bound reference in the child's chunk.
idx_t ChunkColumn(const Expression &expression, const char *what) {
	if (expression.GetExpressionClass() != ExpressionClass::BOUND_REF) {
		throw NotImplementedException("vgi: %s is not supported on worker tables", what);
	}
	return expression.Cast<BoundReferenceExpression>().Index();
}

} // namespace

PhysicalOperator &PlanWorkerInsert(ClientContext &context, PhysicalPlanGenerator &planner, LogicalInsert &op,
                                   optional_ptr<PhysicalOperator> plan, const CatalogHandlePtr &handle) {
	if (!plan) {
		throw InternalException("vgi: INSERT without input");
	}
	string conflict_columns;
	auto action = op.on_conflict_info.action_type;
	if (action == OnConflictAction::UPDATE || action == OnConflictAction::REPLACE) {
		throw NotImplementedException("vgi: INSERT ... ON CONFLICT DO UPDATE / OR REPLACE is not supported on worker tables");
	}
	if (action == OnConflictAction::NOTHING) {
		for (auto column : op.on_conflict_info.on_conflict_filter) {
			conflict_columns += (conflict_columns.empty() ? "" : "\x1f") +
			                    op.table.GetColumns().GetColumn(LogicalIndex(column)).Name().GetIdentifierName();
		}
	}
	if (!op.column_index_map.empty()) {
		plan = planner.ResolveDefaultsProjection(op, *plan);
	}
	// The input: every physical column of the table, in order.
	auto input = TableColumns(op.table);
	auto &write = MakeWrite(context, planner, handle, op.table, 0, op.types, op.estimated_cardinality, op.return_chunk,
	                        std::move(input), action == OnConflictAction::NOTHING ? conflict_columns.c_str() : nullptr,
	                        "VGI_INSERT");
	write.children.push_back(*plan);
	MarkScansFeedingWrite(*plan);
	return write;
}

PhysicalOperator &PlanWorkerCreateTableAs(ClientContext &context, PhysicalPlanGenerator &planner,
                                          LogicalCreateTable &op, PhysicalOperator &plan, TableCatalogEntry &table,
                                          const CatalogHandlePtr &handle) {
	auto input = TableColumns(table);
	auto &write = MakeWrite(context, planner, handle, table, 0, op.types, op.estimated_cardinality, false,
	                        std::move(input), nullptr, "VGI_CREATE_TABLE_AS");
	write.children.push_back(plan);
	MarkScansFeedingWrite(plan);
	return write;
}

PhysicalOperator &PlanWorkerUpdate(ClientContext &context, PhysicalPlanGenerator &planner, LogicalUpdate &op,
                                   PhysicalOperator &plan, const CatalogHandlePtr &handle) {
	// The input: the new values of the updated columns, then the row id (the chunk's last column).
	WriteInput input;
	for (idx_t i = 0; i < op.columns.size(); i++) {
		if (op.expressions[i]->GetExpressionType() == ExpressionType::VALUE_DEFAULT) {
			throw NotImplementedException("vgi: UPDATE ... SET column = DEFAULT is not supported on worker tables");
		}
		auto &column = op.table.GetColumns().GetColumn(op.columns[i]);
		input.columns.push_back(ChunkColumn(*op.expressions[i], "this UPDATE"));
		input.types.push_back(column.Type());
		input.names.push_back(column.Name().GetIdentifierName());
	}
	input.columns.push_back(plan.types.size() - 1);
	input.types.push_back(plan.types.back());
	input.names.push_back("rowid");
	auto &write = MakeWrite(context, planner, handle, op.table, 1, op.types, op.estimated_cardinality, op.return_chunk,
	                        std::move(input), nullptr, "VGI_UPDATE");
	write.children.push_back(plan);
	MarkScansFeedingWrite(plan);
	return write;
}

PhysicalOperator &PlanWorkerDelete(ClientContext &context, PhysicalPlanGenerator &planner, LogicalDelete &op,
                                   PhysicalOperator &plan, const CatalogHandlePtr &handle) {
	// The input: the row id.
	WriteInput input;
	auto rowid = ChunkColumn(*op.expressions[0], "this DELETE");
	input.columns.push_back(rowid);
	input.types.push_back(plan.types[rowid]);
	input.names.push_back("rowid");
	auto &write = MakeWrite(context, planner, handle, op.table, 2, op.types, op.estimated_cardinality, op.return_chunk,
	                        std::move(input), nullptr, "VGI_DELETE");
	write.children.push_back(plan);
	MarkScansFeedingWrite(plan);
	return write;
}

} // namespace vgi
