// The one boundary between the C++ adapter and the Rust core.
//
// Everything declared here is implemented in Rust (extension/src/ffi.rs) except
// vgi_adapter_init, which Rust's entry point calls. Rust functions never unwind: they return a
// VgiError* (NULL on success) that the adapter turns into a DuckDB exception. Batches cross as
// the Arrow C Data Interface.
#pragma once

#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

#ifndef ARROW_C_DATA_INTERFACE
#define ARROW_C_DATA_INTERFACE
struct ArrowSchema {
	const char *format;
	const char *name;
	const char *metadata;
	int64_t flags;
	int64_t n_children;
	struct ArrowSchema **children;
	struct ArrowSchema *dictionary;
	void (*release)(struct ArrowSchema *);
	void *private_data;
};
struct ArrowArray {
	int64_t length;
	int64_t null_count;
	int64_t offset;
	int64_t n_buffers;
	int64_t n_children;
	const void **buffers;
	struct ArrowArray **children;
	struct ArrowArray *dictionary;
	void (*release)(struct ArrowArray *);
	void *private_data;
};
#endif

// ---- errors -------------------------------------------------------------------------------
// Which DuckDB exception an error becomes.
enum VgiErrorKind {
	VGI_ERROR_IO = 1,             // worker unreachable, crashed, timed out, protocol broken
	VGI_ERROR_INVALID_INPUT = 2,  // bad arguments or options from the user
	VGI_ERROR_BINDER = 3,         // errors while binding a query
	VGI_ERROR_CATALOG = 4,        // unknown catalog objects
	VGI_ERROR_NOT_IMPLEMENTED = 5,
	VGI_ERROR_INTERRUPT = 6,      // the query was cancelled
	VGI_ERROR_INTERNAL = 7,       // a bug (e.g. a caught panic)
	VGI_ERROR_PERMISSION = 8,     // refused by the sandbox (enable_external_access, vgi_allowed_locations)
};
typedef struct VgiError VgiError;
int32_t vgi_error_kind(const VgiError *error);
const char *vgi_error_message(const VgiError *error);
void vgi_error_free(VgiError *error);

// ---- extension info and settings ------------------------------------------------------------
// NUL-terminated, static.
const char *vgi_extension_version(void);
// SET vgi_call_timeout: seconds each worker call may take (non-positive values are ignored).
void vgi_set_call_timeout(double seconds);

// ---- scans: a Rust producer of Arrow batches behind a DuckDB table function ----------------
// A binding is the immutable result of binding a table function (output schema + what to
// call); an execution is one run of it (one or more streams, one per DuckDB thread); a scan
// is one stream. A binding can be opened many times (prepared statements).
typedef struct VgiBinding VgiBinding;
typedef struct VgiExecution VgiExecution;
typedef struct VgiScan VgiScan;
// Polled (on the calling thread) while Rust waits for a worker: non-zero = the query was
// interrupted, stop now.
typedef int32_t (*VgiInterruptCheck)(void *context);

// What DuckDB asks of an execution. Rust decides what of it the worker is told.
typedef struct VgiScanRequest {
	const uint64_t *columns; // the bound columns to produce, in order; NULL = all columns
	size_t n_columns;
	const char *filters;     // DuckDB's table filters as `filter <slot> <node>` tokens
	                         // (extension/src/pushdown.rs), NULL = none
	int32_t filter_pushdown; // SET vgi_filter_pushdown: 0 = tell the worker nothing of them
	struct ArrowSchema *constants_schema; // the constants the filters refer to (one row),
	struct ArrowArray *constants;         // or both NULL; Rust takes ownership
	int64_t order_column;    // ORDER BY ... LIMIT hint: bound column, -1 = none
	int32_t order_descending;
	int32_t order_nulls_first;
	int64_t order_limit;     // -1 = none
	double sample_percentage; // TABLESAMPLE pushed into the scan, -1 = none
	int64_t sample_seed;      // -1 = none
	uint64_t threads;         // DuckDB's thread count
	int32_t profiling;        // the query is profiled (EXPLAIN ANALYZE)
	int32_t feeds_write;      // the rows go to an INSERT/UPDATE/DELETE on a worker catalog
} VgiScanRequest;

VgiError *vgi_binding_open(const VgiBinding *binding, const VgiScanRequest *request, VgiInterruptCheck interrupted,
                           void *context, VgiExecution **out_execution);
void vgi_binding_free(VgiBinding *binding);
// What EXPLAIN shows for the binding: "key\x1fvalue" pairs separated by "\x1e" ("" = none).
const char *vgi_binding_description(const VgiBinding *binding);
// Non-zero when the worker gave a row estimate (`*max` = -1 when it gave no maximum).
int32_t vgi_binding_cardinality(const VgiBinding *binding, uint64_t *estimate, int64_t *max);

// What the worker knows about a bound column's values (optimizer statistics).
typedef struct VgiColumnStatistics {
	int32_t has_null;        // 1 / 0, -1 = unknown
	int32_t has_not_null;    // 1 / 0, -1 = unknown
	int64_t distinct_count;  // -1 = unknown
	struct ArrowArray bounds; // struct array of one column, 2 rows (min, max); release NULL = unknown
} VgiColumnStatistics;
// Non-zero when there are statistics for `column`; `out` is always initialized.
int32_t vgi_binding_statistics(const VgiBinding *binding, uint64_t column, VgiColumnStatistics *out);

// How the bound output is partitioned by the bound columns `columns[0..n)`, numbered like
// DuckDB's TablePartitionInfo (0 = not partitioned by them).
int32_t vgi_binding_partition_kind(const VgiBinding *binding, const uint64_t *columns, size_t n);

// Required filters (extension/src/required_filters.rs). `filters` is a scan's filter
// description (pushed filters and the predicates DuckDB keeps above the scan, NULL = none)
// with its constants (NULL = none; the Arrow structures are moved).
// Non-zero when the bound scan reads a table that declares required filters.
int32_t vgi_binding_has_required_filters(const VgiBinding *binding);
// Refuses (Binder Error) a scan that leaves one of its table's required filter groups unmet.
VgiError *vgi_binding_verify_required_filters(const VgiBinding *binding, const char *filters,
                                              struct ArrowSchema *constants_schema, struct ArrowArray *constants);
// The same for a scan DuckDB reads itself: `table` and `groups` as the branch view's marker
// carries them, `names` the scan's columns; `unverified` when the optimizer pass did not run.
VgiError *vgi_required_filters_check(const char *table, const char *groups, const char *const *names, size_t n_names,
                                     const char *filters, struct ArrowSchema *constants_schema,
                                     struct ArrowArray *constants, int32_t unverified);

// How many streams (threads) the execution can use.
uint64_t vgi_execution_max_threads(const VgiExecution *execution);
// What happened to filter `slot` of the request: 0 = DuckDB applies it; 1 = sent as a hint,
// DuckDB still applies it; 2 = the worker applies it exactly, DuckDB must not.
int32_t vgi_execution_filter_fate(const VgiExecution *execution, uint64_t slot);
// Non-zero when the worker applies the TABLESAMPLE (otherwise the adapter samples).
int32_t vgi_execution_sample_applied(const VgiExecution *execution);
// Non-zero when batches carry the worker's batch index.
int32_t vgi_execution_has_batch_index(const VgiExecution *execution);
// What EXPLAIN ANALYZE shows for the execution, in the vgi_binding_description format.
const char *vgi_execution_explain(const VgiExecution *execution);
// What EXPLAIN ANALYZE shows once streams ended (traffic, the worker's own profile), in the
// vgi_binding_description format, copied into `buffer` when it fits; returns the size needed
// (with the NUL).
size_t vgi_execution_metrics(const VgiExecution *execution, char *buffer, size_t capacity);
// The stream for one more thread; *out_scan = NULL when every stream is taken.
VgiError *vgi_execution_stream(const VgiExecution *execution, VgiInterruptCheck interrupted, void *context,
                               VgiScan **out_scan);
void vgi_execution_free(VgiExecution *execution);

// What the worker said about a batch.
typedef struct VgiBatchInfo {
	int64_t batch_index;                 // the worker's batch index, -1 = none
	struct ArrowArray partition_values;  // 2 rows (min, max) laid out like the batch; columns that
	                                     // are not partition columns are NULL (release NULL = none)
} VgiBatchInfo;
// Next batch as a struct array (one child per column). Sets out->release = NULL at the end.
VgiError *vgi_scan_next(VgiScan *scan, struct ArrowArray *out, VgiBatchInfo *info);
// The current state of the request's dynamic filters (`filter <slot> <node>` tokens for those
// slots, constants as in VgiScanRequest, Rust takes ownership); sent with the next batch request.
VgiError *vgi_scan_update_filters(VgiScan *scan, const char *filters, struct ArrowSchema *constants_schema,
                                  struct ArrowArray *constants);
// Asks a running scan to stop promptly (from any thread).
void vgi_scan_cancel(VgiScan *scan);
void vgi_scan_free(VgiScan *scan);

// vgi_catalogs(location): the catalogs a worker offers. Fills the output schema.
// Whether a worker LOCATION may be used (sandbox.rs): `what` names the caller for the message,
// `allowed` is vgi_allowed_locations.
VgiError *vgi_check_location(const char *what, const char *location, bool external_access, const char *allowed);
VgiError *vgi_catalogs_bind(const char *location, VgiBinding **out_binding, struct ArrowSchema *out_schema);
// vgi_protocols(location): the protocols (and versions) a worker hosts.
VgiError *vgi_protocols_bind(const char *location, VgiBinding **out_binding, struct ArrowSchema *out_schema);

// ---- attached catalogs ---------------------------------------------------------------------
typedef struct VgiCatalog VgiCatalog;
// ATTACH: `path` is the ATTACH path ('catalog' or 'catalog?key=value&...'), `options` a one-row
// struct of every ATTACH option (lower-case name -> value). The worker location is checked
// against the sandbox (enable_external_access, vgi_allowed_locations) before anything starts.
VgiError *vgi_catalog_attach(const char *path, struct ArrowSchema *options_schema, struct ArrowArray *options,
                             bool external_access, const char *allowed_locations, VgiCatalog **out_catalog);
const char *vgi_catalog_default_schema(const VgiCatalog *catalog);
// The worker location the catalog was attached from (either ATTACH form).
const char *vgi_catalog_location(const VgiCatalog *catalog);
// The alias to register the catalog under instead of DuckDB's, or NULL to keep DuckDB's.
// `alias_derived_from_path`: the ATTACH had no AS (DuckDB named it after the path's tail).
const char *vgi_catalog_alias(const VgiCatalog *catalog, bool alias_derived_from_path);
// The catalog as duckdb_databases() shows it: one entry with its comment and tags.
typedef struct VgiEntries VgiEntries;
VgiError *vgi_catalog_describe(const VgiCatalog *catalog, VgiEntries **out);
// At transaction start: revalidates cached metadata (catalog_version); `generation` changes
// when cached entries must be rebuilt.
VgiError *vgi_catalog_refresh(const VgiCatalog *catalog, uint64_t *generation);
void vgi_catalog_detach(const VgiCatalog *catalog);
void vgi_catalog_free(VgiCatalog *catalog);

// One DuckDB transaction on a catalog. The worker's transaction begins on the first bind that
// needs it; vgi_transaction_end commits (commit != 0) or rolls it back, once.
typedef struct VgiTransaction VgiTransaction;
VgiTransaction *vgi_transaction_new(const VgiCatalog *catalog);
VgiError *vgi_transaction_end(const VgiTransaction *transaction, int32_t commit);
void vgi_transaction_free(VgiTransaction *transaction);

// What a bind carries from the DuckDB session (Rust reads it during the call only).
// `lookup_secret` resolves a secret (type; scope and name may be NULL) into one row of its
// fields (name, type, scope, then its key/values); it returns 0 when DuckDB has none.
typedef int32_t (*VgiSecretLookup)(void *context, const char *type, const char *scope, const char *name,
                                   struct ArrowSchema *out_schema, struct ArrowArray *out);
typedef struct VgiCallContext {
	const VgiTransaction *transaction;
	// One row: each declared setting's current value (both NULL when the worker declares none).
	struct ArrowSchema *settings_schema;
	struct ArrowArray *settings;
	VgiSecretLookup lookup_secret;
	void *lookup_context;
} VgiCallContext;

// DDL on the worker's catalog. `operation` names the worker method without `catalog_`
// (schema_create, table_drop, table_column_add, ...); `fields` is one row of the statement's
// fields (schema, name, new_name, column, new_column, comment, expression, definition,
// on_conflict, if_exists, cascade, not_null, unique, primary_key, checks, defaults, path...);
// `columns` (may be NULL) the column definitions. Rust drops its cached metadata afterwards.
VgiError *vgi_catalog_ddl(const VgiCatalog *catalog, const VgiCallContext *call, const char *operation,
                          struct ArrowSchema *fields_schema, struct ArrowArray *fields, struct ArrowSchema *columns);

// Catalog metadata lists (copied into DuckDB catalog entries, then freed).
enum VgiEntryKind {
	VGI_ENTRY_SCHEMAS = 0,          // schema: ignored
	VGI_ENTRY_TABLES = 1,           // columns: the table's columns (nullable flag, metadata:
	                                // comment, default, generated_expression; schema metadata
	                                // vgi.primary_key/unique/check/foreign_keys, see catalog.rs)
	VGI_ENTRY_VIEWS = 2,            // sql: the view's definition
	VGI_ENTRY_TABLE_FUNCTIONS = 3,  // columns: the parameters (vgi_arg/vgi_type/... metadata;
	                                // schema metadata vgi.description/examples/categories/
	                                // stability, see metadata.rs)
	VGI_ENTRY_SCALAR_FUNCTIONS = 4, // columns: the parameters; output: the declared result
	VGI_ENTRY_AGGREGATE_FUNCTIONS = 5,
	VGI_ENTRY_MACROS = 6,           // sql: definition; columns: parameters (default metadata),
	                                // schema metadata vgi.macro_type = SCALAR | TABLE
	VGI_ENTRY_GLOBAL_FUNCTIONS = 7, // schema: ignored; name: published name; sql: the worker's name;
	                                // columns metadata vgi.function_type, vgi.schema
};
VgiError *vgi_catalog_entries(const VgiCatalog *catalog, const char *schema, int32_t kind, VgiEntries **out);
size_t vgi_entries_count(const VgiEntries *entries);
const char *vgi_entries_name(const VgiEntries *entries, size_t i);
const char *vgi_entries_comment(const VgiEntries *entries, size_t i); // NULL when none
const char *vgi_entries_sql(const VgiEntries *entries, size_t i);     // NULL when none
VgiError *vgi_entries_columns(const VgiEntries *entries, size_t i, struct ArrowSchema *out);
VgiError *vgi_entries_output(const VgiEntries *entries, size_t i, struct ArrowSchema *out);
// The entry's tags: how many, and tag `t`'s key (`value` 0) or value (`value` 1).
size_t vgi_entries_tag_count(const VgiEntries *entries, size_t i);
const char *vgi_entries_tag(const VgiEntries *entries, size_t i, size_t t, int32_t value);
void vgi_entries_free(VgiEntries *entries);

// How a table reads when the worker serves it from several scan branches: no entry for an
// ordinary table, else one whose sql is the view to read and whose comment lists the DuckDB
// extensions it needs (US separated). `duckdb_catalog` is the attach's name in DuckDB.
VgiError *vgi_catalog_branch_view(const VgiCatalog *catalog, const char *schema, const char *table,
                                  const char *duckdb_catalog, VgiEntries **out);

// The companion catalogs to attach beside this one: per entry its alias (name), ATTACH target
// (sql), storage type (comment; empty for a DuckDB file), options as the fields of `columns`
// (metadata `value`); `output` has a field when the companion is required.
VgiError *vgi_catalog_companions(const VgiCatalog *catalog, VgiEntries **out);

// The settings the worker declared at ATTACH: one row of their defaults (NULL where none), each
// field with `description` metadata (no fields when none).
VgiError *vgi_catalog_settings(const VgiCatalog *catalog, struct ArrowSchema *out_schema, struct ArrowArray *out);
// The secret types it declared: per entry the type name, description (comment), parameters
// (columns) and, as `sql`, the parameters to redact (US separated).
VgiError *vgi_catalog_secret_types(const VgiCatalog *catalog, VgiEntries **out);

// Scans of worker data: a catalog table, or a table function call whose `args` is one row of
// `positional_<i>` / `named_<name>` columns.
// `at_unit`/`at_value`: DuckDB's AT (VERSION => v) / AT (TIMESTAMP => t), or both NULL.
VgiError *vgi_table_scan_bind(const VgiCatalog *catalog, const VgiCallContext *call, const char *duckdb_catalog, const char *schema,
                              const char *table, const char *at_unit, const char *at_value, VgiBinding **out_binding,
                              struct ArrowSchema *out_schema);
// A table as of an AT clause: one VGI_ENTRY_TABLES entry, or none.
VgiError *vgi_catalog_table_at(const VgiCatalog *catalog, const char *schema, const char *table, const char *at_unit,
                               const char *at_value, VgiEntries **out);
VgiError *vgi_table_function_bind(const VgiCatalog *catalog, const VgiCallContext *call, const char *schema, const char *function,
                                  struct ArrowSchema *args_schema, struct ArrowArray *args,
                                  VgiBinding **out_binding, struct ArrowSchema *out_schema);

// ---- table-in-out functions: f((SELECT ...)) ----------------------------------------------------
typedef struct VgiInOutBinding VgiInOutBinding;
typedef struct VgiInOut VgiInOut;
typedef struct VgiBatches VgiBatches;
VgiError *vgi_in_out_bind(const VgiCatalog *catalog, const VgiCallContext *call, const char *schema, const char *function,
                          struct ArrowSchema *args_schema, struct ArrowArray *args, struct ArrowSchema *input_schema,
                          VgiInOutBinding **out_binding, struct ArrowSchema *out_schema);
void vgi_in_out_binding_free(VgiInOutBinding *binding);
VgiError *vgi_in_out_open(const VgiInOutBinding *binding, VgiInterruptCheck interrupted, void *context,
                          VgiInOut **out);
// One input chunk in, the output batches for it out.
VgiError *vgi_in_out_process(VgiInOut *execution, struct ArrowSchema *input_schema, struct ArrowArray *input,
                             VgiBatches **out);
// End of input; the FINALIZE phase's batches (possibly none).
VgiError *vgi_in_out_finish(VgiInOut *execution, VgiBatches **out);
void vgi_in_out_free(VgiInOut *execution);
// Pops the next batch (struct array); out->release == NULL when the list is empty.
VgiError *vgi_batches_next(VgiBatches *batches, struct ArrowArray *out);
void vgi_batches_free(VgiBatches *batches);

// ---- scalar functions: one exchange stream per DuckDB thread ----------------------------------
typedef struct VgiScalarBinding VgiScalarBinding;
typedef struct VgiScalar VgiScalar;
// `args`: the constant arguments (wire layout); `input_schema`: the column arguments col_<i>.
// `argument_names`: the declared parameter names of the call, US (0x1f) separated, or NULL.
VgiError *vgi_scalar_bind(const VgiCatalog *catalog, const VgiCallContext *call, const char *schema, const char *function,
                          struct ArrowSchema *args_schema, struct ArrowArray *args, struct ArrowSchema *input_schema,
                          const char *argument_names, VgiScalarBinding **out_binding, struct ArrowSchema *out_schema);
void vgi_scalar_binding_free(VgiScalarBinding *binding);
// 1 when every DuckDB chunk must be its own worker call, answered row for row as sent: the
// function is volatile, or has no column arguments (its rows differ only by position).
int32_t vgi_scalar_binding_per_chunk(const VgiScalarBinding *binding);
VgiError *vgi_scalar_open(const VgiScalarBinding *binding, VgiInterruptCheck interrupted, void *context,
                          VgiScalar **out);
// One chunk of `rows` rows in; `out` is a struct array holding the result column.
VgiError *vgi_scalar_call(VgiScalar *execution, struct ArrowSchema *input_schema, struct ArrowArray *input,
                          uint64_t rows, struct ArrowArray *out);
// Batched evaluation: queue a chunk; once `batch_rows` rows wait (0: at once) one worker turn
// answers them all. Answers come back per pushed chunk, oldest first.
VgiError *vgi_scalar_push(VgiScalar *execution, struct ArrowSchema *input_schema, struct ArrowArray *input,
                          uint64_t rows, uint64_t batch_rows);
// End of input: send whatever is queued.
VgiError *vgi_scalar_flush(VgiScalar *execution);
// The next answer (struct array) if its turn has run, else out->release == NULL; `remaining`:
// answers ready after it.
VgiError *vgi_scalar_pop(VgiScalar *execution, struct ArrowArray *out, uint64_t *remaining);
void vgi_scalar_free(VgiScalar *execution);

// ---- aggregate functions: DuckDB states are int64 group ids; the worker holds the values --------
typedef struct VgiAggregate VgiAggregate;
VgiError *vgi_aggregate_bind(const VgiCatalog *catalog, const VgiCallContext *call, const char *schema, const char *function,
                             struct ArrowSchema *args_schema, struct ArrowArray *args,
                             struct ArrowSchema *input_schema, const char *argument_names, uint64_t batch_rows,
                             VgiAggregate **out, struct ArrowSchema *out_schema);
// Reserves `count` consecutive group ids; returns the first.
int64_t vgi_aggregate_group_ids(uint64_t count);
VgiError *vgi_aggregate_update(const VgiAggregate *aggregate, const int64_t *group_ids, size_t n,
                               struct ArrowSchema *input_schema, struct ArrowArray *input);
VgiError *vgi_aggregate_combine(const VgiAggregate *aggregate, const int64_t *sources, const int64_t *targets,
                                size_t n);
// A struct array holding the result column, one row per group id.
VgiError *vgi_aggregate_finalize(const VgiAggregate *aggregate, const int64_t *group_ids, size_t n,
                                 struct ArrowArray *out);
// Runs the worker's destructor for the whole execution and releases the connection.
void vgi_aggregate_free(VgiAggregate *aggregate);

// ---- writes: INSERT / UPDATE / DELETE into a worker table -------------------------------------
// Table buffering (sink + source) functions: process per input chunk (any thread), combine
// once, then read the finalize streams (in parallel unless flags bit 1 asks for order).
typedef struct VgiBufferingBinding VgiBufferingBinding;
typedef struct VgiBuffering VgiBuffering;
typedef struct VgiBufferingSource VgiBufferingSource;
// `flags`: bit 0 = the input must arrive in order from one thread; bit 1 = read the output in order.
VgiError *vgi_buffering_bind(const VgiCatalog *catalog, const VgiCallContext *call, const char *schema,
                             const char *function, struct ArrowSchema *args_schema, struct ArrowArray *args,
                             struct ArrowSchema *input_schema, VgiBufferingBinding **out,
                             struct ArrowSchema *out_schema, int32_t *flags);
void vgi_buffering_binding_free(VgiBufferingBinding *binding);
VgiError *vgi_buffering_start(const VgiBufferingBinding *binding, VgiInterruptCheck interrupted, void *context,
                              VgiBuffering **out);
// `batch_index` < 0: none.
VgiError *vgi_buffering_process(const VgiBuffering *execution, struct ArrowSchema *input_schema,
                                struct ArrowArray *input, int64_t batch_index);
VgiError *vgi_buffering_combine(const VgiBuffering *execution);
// `out` is NULL when every finalize stream has been taken.
VgiError *vgi_buffering_next_source(const VgiBuffering *execution, VgiInterruptCheck interrupted, void *context,
                                    VgiBufferingSource **out);
// `out->release` is NULL at the end of this stream.
VgiError *vgi_buffering_source_next(VgiBufferingSource *source, struct ArrowArray *out);
void vgi_buffering_source_free(VgiBufferingSource *source);
// Runs the worker's destructor.
void vgi_buffering_free(VgiBuffering *execution);

// Window aggregates the worker evaluates (supports_window): one partition in `n` chunks of
// `schema` (consumed), then frames for `count` rows at a time (`frames_per_row[i]` frames of
// row i, listed in `starts`/`ends`). `filter` is an LSB-first bitmap (length 0: no FILTER);
// `stats` is DuckDB's 4 frame deltas; `all_valid` a byte per input column.
VgiError *vgi_aggregate_window_init(const VgiAggregate *aggregate, int64_t partition_id, int64_t row_count,
                                    struct ArrowSchema *schema, struct ArrowArray *const *chunks, size_t n,
                                    const uint8_t *filter, size_t filter_len, const int64_t *stats,
                                    const uint8_t *all_valid, size_t all_valid_len);
VgiError *vgi_aggregate_window_batch(const VgiAggregate *aggregate, int64_t partition_id, int64_t row_idx,
                                     size_t count, const int64_t *frames_per_row, const int64_t *starts,
                                     const int64_t *ends, size_t n_frames, struct ArrowArray *out);

typedef struct VgiWriteBinding VgiWriteBinding;
typedef struct VgiWrite VgiWrite;
// `kind`: 0 INSERT, 1 UPDATE, 2 DELETE. `input_schema`: the rows DuckDB sends (INSERT: the
// table's columns; UPDATE: the updated columns, then the row id; DELETE: the row id).
// `on_conflict_nothing`: INSERT ... ON CONFLICT DO NOTHING's columns (US separated, "" for
// none) or NULL. `out_rows_schema`: the layout of RETURNING rows (the table's columns).
VgiError *vgi_write_bind(const VgiCatalog *catalog, const VgiCallContext *call, const char *schema, const char *table, int32_t kind,
                         struct ArrowSchema *input_schema, int32_t returning, const char *on_conflict_nothing,
                         VgiWriteBinding **out, struct ArrowSchema *out_rows_schema);
void vgi_write_binding_free(VgiWriteBinding *binding);
VgiError *vgi_write_open(const VgiWriteBinding *binding, VgiInterruptCheck interrupted, void *context, VgiWrite **out);
// One chunk of rows; `returned` receives its RETURNING rows (struct arrays, possibly none).
VgiError *vgi_write_send(VgiWrite *write, struct ArrowSchema *input_schema, struct ArrowArray *input,
                         VgiBatches **returned);
// End of the statement: the last RETURNING rows and the worker's row count.
VgiError *vgi_write_finish(VgiWrite *write, VgiBatches **returned, int64_t *count);
void vgi_write_free(VgiWrite *write);

// ---- COPY ... FROM / COPY ... TO through the formats a worker declares ----------------------
// Each format is a DuckDB copy function named `<attach alias>.<format>` (lower case).
typedef struct VgiCopyFormat VgiCopyFormat;
typedef struct VgiCopyFormats VgiCopyFormats;
// The formats of the catalog attached as `alias` (an empty list when the worker has none).
VgiError *vgi_catalog_copy_formats(const VgiCatalog *catalog, const char *alias, VgiCopyFormats **out);
size_t vgi_copy_formats_count(const VgiCopyFormats *formats);
// Takes format i out of the list (NULL when taken already): the DuckDB copy function owns it.
VgiCopyFormat *vgi_copy_formats_take(VgiCopyFormats *formats, size_t i);
void vgi_copy_formats_free(VgiCopyFormats *formats);
const char *vgi_copy_format_name(const VgiCopyFormat *format);
const char *vgi_copy_format_comment(const VgiCopyFormat *format); // NULL when none
// Bit 0: serves COPY FROM; bit 1: serves COPY TO; bit 2: the writer needs the rows in order.
int32_t vgi_copy_format_flags(const VgiCopyFormat *format);
void vgi_copy_format_free(VgiCopyFormat *format);

// `options`: one row of the statement's options (name -> value, as DuckDB bound them).
// COPY FROM: a scan producing the target's columns `expected` (consumed), like vgi_table_function_bind.
VgiError *vgi_copy_from_bind(const VgiCatalog *catalog, const VgiCallContext *call, const VgiCopyFormat *format,
                             const char *file_path, struct ArrowSchema *options_schema, struct ArrowArray *options,
                             struct ArrowSchema *expected, VgiBinding **out_binding, struct ArrowSchema *out_schema);
// COPY TO: the worker bound as the sink of rows of `input_schema`.
typedef struct VgiCopyToBinding VgiCopyToBinding;
typedef struct VgiCopyTo VgiCopyTo;
typedef struct VgiCopyToRows VgiCopyToRows;
VgiError *vgi_copy_to_bind(const VgiCatalog *catalog, const VgiCallContext *call, const VgiCopyFormat *format,
                           const char *file_path, struct ArrowSchema *options_schema, struct ArrowArray *options,
                           struct ArrowSchema *input_schema, VgiCopyToBinding **out);
void vgi_copy_to_binding_free(VgiCopyToBinding *binding);
// One run writing `file_path` (DuckDB's path: a temporary sibling when it replaces a file).
VgiError *vgi_copy_to_start(const VgiCopyToBinding *binding, const VgiCallContext *call, const char *file_path,
                            VgiInterruptCheck interrupted, void *context, VgiCopyTo **out);
// A thread's rows: chunks (struct arrays, consumed) kept until vgi_copy_to_send ships them in
// one worker call (thread-safe) and forgets them.
VgiCopyToRows *vgi_copy_to_rows_new(void);
VgiError *vgi_copy_to_rows_append(VgiCopyToRows *rows, struct ArrowSchema *schema, struct ArrowArray *chunk);
VgiError *vgi_copy_to_send(const VgiCopyTo *execution, VgiCopyToRows *rows);
void vgi_copy_to_rows_free(VgiCopyToRows *rows);
// End of input: the worker writes and closes the destination.
VgiError *vgi_copy_to_finish(const VgiCopyTo *execution);
// Runs the worker's destructor.
void vgi_copy_to_free(VgiCopyTo *execution);

// ---- implemented in C++ ---------------------------------------------------------------------
#ifdef __cplusplus
}
namespace duckdb {
class ExtensionLoader;
}
extern "C" void vgi_adapter_init(duckdb::ExtensionLoader &loader);
#endif
