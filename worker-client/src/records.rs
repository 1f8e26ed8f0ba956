//! Typed request/response records of the `vgi.v2` protocol (Appendix A.2 of the spec) and its
//! enums (Appendix A.3).
//!
//! Every record is declared with [`record!`](crate::record): field names, order, Arrow types and
//! nullability follow A.2 exactly (checked against vgi-python 0.47.0's `ARROW_SCHEMA`s). A
//! nullable column is an `Option`; every column is always sent.
use crate::error::Result;
use crate::wire::{Blob, CountMap, DictBlob, Inline, LargeBlob, Record, StringMap, TimestampMicros};
use crate::{record, wire_enum};

/// Decodes a list of record blobs (`items`, `settings`, `global_functions`, ...).
pub fn decode_all<R: Record>(blobs: &[Blob]) -> Result<Vec<R>> {
    blobs.iter().map(|b| R::from_blob(&b.0)).collect()
}

// ---------------------------------------------------------------------------------------------
// Enums (A.3): wire value = member NAME in a `dictionary<int16, utf8>`.
// ---------------------------------------------------------------------------------------------

wire_enum! {
    /// Kind of catalog object (`catalog_schema_contents_{functions,macros}.type`).
    pub enum SchemaObjectType {
        Table = "TABLE",
        View = "VIEW",
        ScalarFunction = "SCALAR_FUNCTION",
        TableFunction = "TABLE_FUNCTION",
        AggregateFunction = "AGGREGATE_FUNCTION",
        ScalarMacro = "SCALAR_MACRO",
        TableMacro = "TABLE_MACRO",
        Index = "INDEX",
    }
}

wire_enum! {
    /// What CREATE does when the object exists.
    pub enum OnConflict {
        Error = "ERROR",
        Ignore = "IGNORE",
        Replace = "REPLACE",
    }
}

wire_enum! {
    /// Kind of function (`FunctionInfo.function_type`, `BindRequest.function_type`).
    pub enum FunctionType {
        Aggregate = "AGGREGATE",
        Scalar = "SCALAR",
        Table = "TABLE",
        TableBuffering = "TABLE_BUFFERING",
    }
}

wire_enum! {
    /// Constraint an index enforces.
    pub enum IndexConstraintType {
        None = "NONE",
        Unique = "UNIQUE",
        Primary = "PRIMARY",
    }
}

wire_enum! {
    /// Kind of macro.
    pub enum MacroType {
        Scalar = "SCALAR",
        Table = "TABLE",
    }
}

wire_enum! {
    /// Phase of an `init` call for table-in-out and table-buffering functions.
    pub enum TableInOutFunctionInitPhase {
        Input = "INPUT",
        Finalize = "FINALIZE",
        TableBuffering = "TABLE_BUFFERING",
        TableBufferingFinalize = "TABLE_BUFFERING_FINALIZE",
    }
}

wire_enum! {
    /// ORDER BY direction (Top-N hint, sort order).
    pub enum OrderByDirection {
        Asc = "ASC",
        Desc = "DESC",
    }
}

wire_enum! {
    /// ORDER BY null placement.
    pub enum OrderByNullOrder {
        NullsFirst = "NULLS_FIRST",
        NullsLast = "NULLS_LAST",
    }
}

wire_enum! {
    /// DuckDB function stability.
    pub enum FunctionStability {
        Consistent = "CONSISTENT",
        Volatile = "VOLATILE",
        ConsistentWithinQuery = "CONSISTENT_WITHIN_QUERY",
    }
}

wire_enum! {
    /// DuckDB null handling of a scalar function.
    pub enum NullHandling {
        Default = "DEFAULT",
        Special = "SPECIAL",
    }
}

wire_enum! {
    /// Monotonicity of a function in one argument (`FunctionInfo.argument_monotonicity`, sent as
    /// plain `list<utf8>` of member names).
    pub enum ArgumentMonotonicity {
        Unknown = "UNKNOWN",
        Constant = "CONSTANT",
        NonDecreasing = "NON_DECREASING",
        StrictlyIncreasing = "STRICTLY_INCREASING",
        NonIncreasing = "NON_INCREASING",
        StrictlyDecreasing = "STRICTLY_DECREASING",
    }
}

wire_enum! {
    /// Output order guarantee of a table function.
    pub enum OrderPreservation {
        PreservesOrder = "PRESERVES_ORDER",
        NoOrderGuarantee = "NO_ORDER_GUARANTEE",
        FixedOrder = "FIXED_ORDER",
    }
}

wire_enum! {
    /// How a table function's output is partitioned by its partition columns.
    pub enum PartitionKind {
        NotPartitioned = "NOT_PARTITIONED",
        SingleValuePartitions = "SINGLE_VALUE_PARTITIONS",
        OverlappingPartitions = "OVERLAPPING_PARTITIONS",
        DisjointPartitions = "DISJOINT_PARTITIONS",
    }
}

wire_enum! {
    /// Whether an aggregate depends on input order.
    pub enum OrderDependence {
        OrderDependent = "ORDER_DEPENDENT",
        NotOrderDependent = "NOT_ORDER_DEPENDENT",
    }
}

wire_enum! {
    /// Whether an aggregate depends on DISTINCT.
    pub enum DistinctDependence {
        DistinctDependent = "DISTINCT_DEPENDENT",
        NotDistinctDependent = "NOT_DISTINCT_DEPENDENT",
    }
}

/// Defaults (records derive `Default`): the A.2 default where one exists, else the first member.
macro_rules! enum_default {
    ($($name:ident => $variant:ident),* $(,)?) => {
        $(impl Default for $name {
            fn default() -> Self {
                $name::$variant
            }
        })*
    };
}

enum_default! {
    SchemaObjectType => Table,
    OnConflict => Error,
    FunctionType => Scalar,
    IndexConstraintType => None,
    MacroType => Scalar,
    TableInOutFunctionInitPhase => Input,
    OrderByDirection => Asc,
    OrderByNullOrder => NullsLast,
    FunctionStability => Consistent,
    NullHandling => Default,
    ArgumentMonotonicity => Unknown,
    OrderPreservation => PreservesOrder,
    PartitionKind => NotPartitioned,
    OrderDependence => NotOrderDependent,
    DistinctDependence => NotDistinctDependent,
}

/// Declares a zero-field ack record (`record!` cannot infer the type of an empty field list).
/// It is sent as one row and accepted with any row count.
macro_rules! empty_record {
    ($(#[$meta:meta])* pub struct $name:ident;) => {
        $(#[$meta])*
        #[derive(Clone, Debug, Default)]
        pub struct $name {}

        impl Record for $name {
            fn schema() -> arrow_schema::SchemaRef {
                static SCHEMA: std::sync::OnceLock<arrow_schema::SchemaRef> = std::sync::OnceLock::new();
                SCHEMA.get_or_init(|| std::sync::Arc::new(arrow_schema::Schema::empty())).clone()
            }
            fn to_batch(&self) -> arrow_array::RecordBatch {
                crate::framing::empty_batch(1)
            }
            fn from_batch(_: &arrow_array::RecordBatch, _: usize) -> Result<Self> {
                Ok($name {})
            }
            /// vgi-python encodes a zero-field record as a zero-column batch with 0 rows.
            fn from_blob(bytes: &[u8]) -> Result<Self> {
                crate::framing::decode_single_batch(bytes)?;
                Ok($name {})
            }
        }
    };
}

// ---------------------------------------------------------------------------------------------
// Aggregate functions (§4.8)
// ---------------------------------------------------------------------------------------------

record! {
    /// `aggregate_bind` request: binds an aggregate to its constant args and value columns.
    pub struct AggregateBindRequest {
        pub function_name: String,
        pub arguments: Blob,
        pub input_schema: Option<Blob>,
        pub settings: Option<Blob>,
        pub secrets: Option<Blob>,
        pub attach_opaque_data: Option<Blob>,
        pub schema_path: Option<Vec<String>>,
        pub argument_names: Option<Vec<String>>,
    }
}

record! {
    /// `aggregate_bind` result: output schema and the execution id of the aggregate's states.
    pub struct AggregateBindResponse {
        pub output_schema: Blob,
        pub execution_id: Blob,
    }
}

record! {
    /// `aggregate_combine` request: merges source group states into target groups.
    pub struct AggregateCombineRequest {
        pub function_name: String,
        pub execution_id: Blob,
        pub merge_batch: Blob,
        pub attach_opaque_data: Option<Blob>,
        pub schema_path: Option<Vec<String>>,
    }
}

empty_record! {
    /// `aggregate_combine` result (empty ack).
    pub struct AggregateCombineResponse;
}

record! {
    /// `aggregate_destructor` request: frees the execution's group states.
    pub struct AggregateDestructorRequest {
        pub function_name: String,
        pub execution_id: Blob,
        pub group_ids_batch: Blob,
        pub attach_opaque_data: Option<Blob>,
        pub schema_path: Option<Vec<String>>,
    }
}

empty_record! {
    /// `aggregate_destructor` result (empty ack).
    pub struct AggregateDestructorResponse;
}

record! {
    /// `aggregate_finalize` request: the final values of some groups.
    pub struct AggregateFinalizeRequest {
        pub function_name: String,
        pub execution_id: Blob,
        pub group_ids_batch: Blob,
        pub output_schema: Blob,
        pub attach_opaque_data: Option<Blob>,
        pub schema_path: Option<Vec<String>>,
    }
}

record! {
    /// `aggregate_finalize` result: IPC batch with one row per requested group, in order.
    pub struct AggregateFinalizeResponse {
        pub result_batch: Blob,
    }
}

record! {
    /// `aggregate_streaming_chunk` request: one input chunk of a streaming partitioned aggregate.
    pub struct AggregateStreamingChunkRequest {
        pub function_name: String,
        pub execution_id: Blob,
        pub input_batch: Blob,
        pub attach_opaque_data: Option<Blob>,
        pub schema_path: Option<Vec<String>>,
    }
}

record! {
    /// `aggregate_streaming_chunk` result: one output row per input row.
    pub struct AggregateStreamingChunkResponse {
        pub result_batch: Blob,
    }
}

record! {
    /// `aggregate_streaming_close` request: ends a streaming partitioned aggregate.
    pub struct AggregateStreamingCloseRequest {
        pub function_name: String,
        pub execution_id: Blob,
        pub attach_opaque_data: Option<Blob>,
        pub schema_path: Option<Vec<String>>,
    }
}

empty_record! {
    /// `aggregate_streaming_close` result (empty ack).
    pub struct AggregateStreamingCloseResponse;
}

record! {
    /// `aggregate_streaming_open` request: starts a streaming partitioned aggregate (`OVER`).
    pub struct AggregateStreamingOpenRequest {
        pub function_name: String,
        pub arguments: Blob,
        pub input_schema: Blob,
        pub partition_key_count: i64,
        pub order_key_count: i64,
        pub output_schema: Blob,
        pub settings: Option<Blob>,
        pub secrets: Option<Blob>,
        pub attach_opaque_data: Option<Blob>,
        pub schema_path: Option<Vec<String>>,
    }
}

record! {
    /// `aggregate_streaming_open` result.
    pub struct AggregateStreamingOpenResponse {
        pub execution_id: Blob,
    }
}

record! {
    /// `aggregate_update` request: folds an input batch (`__vgi_group_id` first) into groups.
    pub struct AggregateUpdateRequest {
        pub function_name: String,
        pub execution_id: Blob,
        pub input_batch: Blob,
        pub attach_opaque_data: Option<Blob>,
        pub schema_path: Option<Vec<String>>,
    }
}

empty_record! {
    /// `aggregate_update` result (empty ack).
    pub struct AggregateUpdateResponse;
}

record! {
    /// `aggregate_window` request: evaluates one row's frames of a windowed aggregate.
    pub struct AggregateWindowRequest {
        pub function_name: String,
        pub execution_id: Blob,
        pub partition_id: i64,
        pub rid: i64,
        pub frame_starts: Vec<i64>,
        pub frame_ends: Vec<i64>,
        pub attach_opaque_data: Option<Blob>,
        pub schema_path: Option<Vec<String>>,
    }
}

record! {
    /// `aggregate_window` result: a one-row batch.
    pub struct AggregateWindowResponse {
        pub result_batch: Blob,
    }
}

record! {
    /// `aggregate_window_batch` request: evaluates `count` rows' frames at once.
    pub struct AggregateWindowBatchRequest {
        pub function_name: String,
        pub execution_id: Blob,
        pub partition_id: i64,
        pub row_idx: i64,
        pub count: i64,
        pub frames_per_row: Vec<i64>,
        pub frame_starts: Vec<i64>,
        pub frame_ends: Vec<i64>,
        pub attach_opaque_data: Option<Blob>,
        pub schema_path: Option<Vec<String>>,
    }
}

record! {
    /// `aggregate_window_batch` result: `count` rows.
    pub struct AggregateWindowBatchResponse {
        pub result_batch: Blob,
    }
}

record! {
    /// `aggregate_window_destructor` request: frees one window partition.
    pub struct AggregateWindowDestructorRequest {
        pub function_name: String,
        pub execution_id: Blob,
        pub partition_id: i64,
        pub attach_opaque_data: Option<Blob>,
        pub schema_path: Option<Vec<String>>,
    }
}

empty_record! {
    /// `aggregate_window_destructor` result (empty ack).
    pub struct AggregateWindowDestructorResponse;
}

record! {
    /// `aggregate_window_init` request: ships one window partition's input to the worker.
    pub struct AggregateWindowInitRequest {
        pub function_name: String,
        pub execution_id: Blob,
        pub partition_id: i64,
        pub row_count: i64,
        pub partition_batch: Blob,
        pub output_schema: Blob,
        pub filter_mask: Blob,
        pub frame_stats: Blob,
        pub all_valid: Blob,
        pub attach_opaque_data: Option<Blob>,
        pub schema_path: Option<Vec<String>>,
    }
}

empty_record! {
    /// `aggregate_window_init` result (empty ack).
    pub struct AggregateWindowInitResponse;
}

// ---------------------------------------------------------------------------------------------
// Bind / init (§4.4–4.7)
// ---------------------------------------------------------------------------------------------

record! {
    /// `bind` request (scalar, table, table-in-out and buffering functions); also embedded as
    /// the `bind_call` blob of `init`, cardinality, statistics, plan and dynamic-to-string.
    pub struct BindRequest {
        pub function_name: String,
        pub arguments: Blob,
        pub function_type: FunctionType,
        pub input_schema: Option<Blob>,
        pub settings: Option<Blob>,
        pub secrets: Option<Blob>,
        pub attach_opaque_data: Option<Blob>,
        pub transaction_opaque_data: Option<Blob>,
        pub resolved_secrets_provided: bool,
        pub at_unit: Option<String>,
        pub at_value: Option<String>,
        pub copy_from: Option<Inline<CopyFromContext>>,
        pub copy_to: Option<Inline<CopyToContext>>,
        pub schema_path: Option<Vec<String>>,
        pub argument_names: Option<Vec<String>>,
    }
}

record! {
    /// `bind` result: the unprojected output schema, opaque bind state, or a secret lookup.
    pub struct BindResponse {
        pub output_schema: Blob,
        pub opaque_data: Option<Blob>,
        pub lookup_secret_types: Vec<String>,
        pub lookup_scopes: Vec<String>,
        pub lookup_names: Vec<String>,
    }
}

record! {
    /// `init` request: opens the producer/exchange stream of a bound function.
    pub struct InitRequest {
        pub bind_call: Blob,
        pub output_schema: Blob,
        pub bind_opaque_data: Option<Blob>,
        pub projection_ids: Option<Vec<i64>>,
        pub pushdown_filters: Option<LargeBlob>,
        pub join_keys: Option<Vec<LargeBlob>>,
        pub split_tokens: Option<Vec<LargeBlob>>,
        pub row_limit: Option<i64>,
        pub phase: Option<TableInOutFunctionInitPhase>,
        pub finalize_state_id: Option<Blob>,
        pub execution_id: Option<Blob>,
        pub init_opaque_data: Option<Blob>,
        pub substream_id: Option<Blob>,
        pub order_by_column_name: Option<String>,
        pub order_by_direction: Option<OrderByDirection>,
        pub order_by_null_order: Option<OrderByNullOrder>,
        pub order_by_limit: Option<i64>,
        pub tablesample_percentage: Option<f64>,
        pub tablesample_seed: Option<i64>,
    }
}

record! {
    /// `init` stream header: the execution id and opaque state for secondary inits.
    pub struct GlobalInitResponse {
        pub execution_id: Blob,
        pub opaque_data: Option<Blob>,
        pub max_workers: i64,
    }
}

// ---------------------------------------------------------------------------------------------
// Table buffering (§4.7)
// ---------------------------------------------------------------------------------------------

record! {
    /// `table_buffering_combine` request: combines all sink states into finalize states.
    pub struct TableBufferingCombineRequest {
        pub function_name: String,
        pub execution_id: Blob,
        pub state_ids: Vec<Blob>,
        pub attach_opaque_data: Option<Blob>,
        pub transaction_id: Option<Blob>,
        pub schema_path: Option<Vec<String>>,
    }
}

record! {
    /// `table_buffering_combine` result: one id per `TABLE_BUFFERING_FINALIZE` init.
    pub struct TableBufferingCombineResponse {
        pub finalize_state_ids: Vec<Blob>,
    }
}

record! {
    /// `table_buffering_destructor` request: frees a buffering execution.
    pub struct TableBufferingDestructorRequest {
        pub function_name: String,
        pub execution_id: Blob,
        pub attach_opaque_data: Option<Blob>,
        pub transaction_id: Option<Blob>,
        pub schema_path: Option<Vec<String>>,
    }
}

empty_record! {
    /// `table_buffering_destructor` result (empty ack).
    pub struct TableBufferingDestructorResponse;
}

record! {
    /// `table_buffering_process` request: one input chunk of the sink.
    pub struct TableBufferingProcessRequest {
        pub function_name: String,
        pub execution_id: Blob,
        pub input_batch: Blob,
        pub attach_opaque_data: Option<Blob>,
        pub transaction_id: Option<Blob>,
        pub batch_index: Option<i64>,
        pub schema_path: Option<Vec<String>>,
    }
}

record! {
    /// `table_buffering_process` result: the sink state the chunk went into.
    pub struct TableBufferingProcessResponse {
        pub state_id: Blob,
    }
}

// ---------------------------------------------------------------------------------------------
// Table-function side calls (§4.4)
// ---------------------------------------------------------------------------------------------

record! {
    /// `table_function_cardinality` request.
    pub struct TableFunctionCardinalityRequest {
        pub bind_call: Blob,
        pub bind_opaque_data: Option<Blob>,
    }
}

record! {
    /// `table_function_cardinality` result: estimated and maximum row counts.
    pub struct TableCardinality {
        pub estimate: Option<i64>,
        pub max: Option<i64>,
    }
}

record! {
    /// `table_function_dynamic_to_string` request (EXPLAIN ANALYZE extra info).
    pub struct TableFunctionDynamicToStringRequest {
        pub bind_call: Blob,
        pub bind_opaque_data: Option<Blob>,
        pub global_execution_id: Blob,
    }
}

record! {
    /// `table_function_dynamic_to_string` result: ordered key/value pairs.
    pub struct TableFunctionDynamicToStringResponse {
        pub keys: Vec<String>,
        pub values: Vec<String>,
    }
}

record! {
    /// `table_function_plan` request: split planning for a bound scan.
    pub struct TableFunctionPlanRequest {
        pub bind_call: Blob,
        pub bind_opaque_data: Option<Blob>,
        pub projection_ids: Option<Vec<i64>>,
        pub pushdown_filters: Option<LargeBlob>,
        pub join_keys: Option<Vec<LargeBlob>>,
        pub row_limit: Option<i64>,
        pub target_split_bytes: Option<i64>,
        pub min_splits: Option<i64>,
        pub max_splits_per_response: Option<i64>,
        pub cursor: Option<Blob>,
        pub refined_filters: Option<LargeBlob>,
        pub filters_complete: bool,
        pub start_position: Option<Blob>,
        pub end_position: Option<Blob>,
        pub order_by_column_name: Option<String>,
        pub order_by_direction: Option<OrderByDirection>,
        pub order_by_null_order: Option<OrderByNullOrder>,
        pub order_by_limit: Option<i64>,
        pub tablesample_percentage: Option<f64>,
        pub tablesample_seed: Option<i64>,
    }
}

record! {
    /// `table_function_plan` result: one page of splits (`ScanSplit` blobs) and planning hints.
    pub struct PlanResponse {
        pub splits: Vec<Blob>,
        pub next_cursors: Option<Vec<Blob>>,
        pub execution_id: Option<Blob>,
        pub init_opaque_data: Option<Blob>,
        pub max_workers: Option<i64>,
        pub estimated_total_splits: Option<i64>,
        pub estimated_total_rows: Option<i64>,
        pub estimated_total_bytes: Option<i64>,
        pub catalog_version: Option<i64>,
        pub scope: String,
        pub locations: Option<Vec<String>>,
        pub partitioning: Option<Vec<Blob>>,
        pub sort_order: Option<Vec<Blob>>,
        pub cache_max_age_seconds: Option<i64>,
        pub start_position: Option<Blob>,
        pub end_position: Option<Blob>,
    }
}

record! {
    /// `table_function_statistics` request (result: raw statistics IPC or null).
    pub struct TableFunctionStatisticsRequest {
        pub bind_call: Blob,
        pub bind_opaque_data: Option<Blob>,
    }
}

record! {
    /// One split of a planned scan (`PlanResponse.splits`); its `token` goes in
    /// `InitRequest.split_tokens`.
    pub struct ScanSplit {
        pub payload: Blob,
        pub token: Blob,
        pub estimated_rows: Option<i64>,
        pub rows_exact: bool,
        pub estimated_bytes: Option<i64>,
        pub partition_bounds: Option<Blob>,
        pub column_statistics: Option<Blob>,
        pub location_ids: Option<Vec<i64>>,
        pub start_position: Option<Blob>,
        pub end_position: Option<Blob>,
    }
}

record! {
    /// One partitioning transform of a planned scan (`PlanResponse.partitioning`).
    pub struct PartitionTransform {
        pub column: String,
        pub transform: String,
        pub param: Option<i64>,
    }
}

record! {
    /// One sort key of a planned scan's output (`PlanResponse.sort_order`).
    pub struct SortField {
        pub column: String,
        pub direction: OrderByDirection,
        pub nulls: OrderByNullOrder,
    }
}

// ---------------------------------------------------------------------------------------------
// Catalog lifecycle (§4.2)
// ---------------------------------------------------------------------------------------------

record! {
    /// `catalog_attach` request.
    pub struct CatalogAttachRequest {
        pub name: String,
        pub options: Option<Blob>,
        pub data_version_spec: Option<String>,
        pub implementation_version: Option<String>,
        pub client_capabilities: Option<Blob>,
    }
}

record! {
    /// What the client supports (`CatalogAttachRequest.client_capabilities` blob).
    pub struct ClientCapabilities {
        pub engine: String,
        pub native_formats: Vec<String>,
        pub catalogs: Vec<String>,
        pub can_stream: bool,
        pub filter_encodings: Vec<String>,
    }
}

record! {
    /// `catalog_attach` result: the attach token and the catalog's capabilities.
    pub struct CatalogAttachResult {
        pub attach_opaque_data: Blob,
        pub supports_transactions: bool,
        pub supports_time_travel: bool,
        pub catalog_version_frozen: bool,
        pub catalog_version: i64,
        pub attach_opaque_data_required: bool,
        pub default_schema: String,
        pub settings: Vec<Blob>,
        pub secret_types: Vec<Blob>,
        pub attach_catalogs: Vec<Blob>,
        pub comment: Option<String>,
        pub tags: StringMap,
        pub supports_column_statistics: bool,
        pub global_functions: Vec<Blob>,
        pub global_function_prefix: String,
        pub resolved_data_version: Option<String>,
        pub resolved_implementation_version: Option<String>,
        pub supports_catalog_contents: bool,
    }
}

record! {
    /// A companion catalog to ATTACH alongside (`CatalogAttachResult.attach_catalogs` blob).
    pub struct AttachCatalogInfo {
        pub alias: String,
        pub target: String,
        pub db_type: String,
        pub options: StringMap,
        pub hidden: bool,
        pub required: bool,
        pub secret_ref: String,
    }
}

record! {
    /// `catalog_catalogs` result.
    pub struct CatalogsResponse {
        pub items: Vec<Blob>,
    }
}

record! {
    /// One catalog a worker offers (`CatalogsResponse.items` blob).
    pub struct CatalogInfo {
        pub name: String,
        pub implementation_version: Option<String>,
        pub data_version_spec: Option<String>,
        pub attach_option_specs: Vec<Blob>,
        pub releases: Vec<Inline<CatalogDataVersionRelease>>,
        pub source_url: Option<String>,
    }
}

record! {
    /// One data release of a catalog (inline struct in `CatalogInfo.releases`).
    pub struct CatalogDataVersionRelease {
        pub version: String,
        pub released_at: Option<TimestampMicros>,
        pub summary: String,
        pub notes_url: Option<String>,
    }
}

record! {
    /// `catalog_create` request.
    pub struct CatalogCreateRequest {
        pub name: String,
        pub on_conflict: OnConflict,
        pub options: Option<Blob>,
    }
}

record! {
    /// `catalog_transaction_begin` result (null token for non-transactional catalogs).
    pub struct TransactionBeginResponse {
        pub transaction_opaque_data: Option<Blob>,
    }
}

record! {
    /// `catalog_version` result.
    pub struct CatalogVersionResponse {
        pub version: i64,
    }
}

// ---------------------------------------------------------------------------------------------
// Catalog metadata (§4.3)
// ---------------------------------------------------------------------------------------------

record! {
    /// `catalog_contents` result: every category as one multi-row IPC stream (one row per record).
    pub struct CatalogContentsResponse {
        pub catalog_version: i64,
        pub etag: Option<String>,
        pub not_modified: bool,
        pub schemas: Option<Blob>,
        pub tables: Option<Blob>,
        pub views: Option<Blob>,
        pub functions: Option<Blob>,
        pub macros: Option<Blob>,
        pub indexes: Option<Blob>,
    }
}

record! {
    /// One schema with all its objects as record blobs.
    pub struct SchemaContents {
        pub path: Vec<String>,
        pub schema: Blob,
        pub tables: Vec<Blob>,
        pub views: Vec<Blob>,
        pub scalar_functions: Vec<Blob>,
        pub aggregate_functions: Vec<Blob>,
        pub table_functions: Vec<Blob>,
        pub scalar_macros: Vec<Blob>,
        pub table_macros: Vec<Blob>,
        pub indexes: Vec<Blob>,
    }
}

record! {
    /// `catalog_schemas` / `catalog_schema_get` result (`SchemaInfo` blobs).
    pub struct SchemasResponse {
        pub items: Vec<Blob>,
    }
}

record! {
    /// `catalog_schema_contents_tables` / `catalog_table_get` result (`TableInfo` blobs).
    pub struct TablesResponse {
        pub items: Vec<Blob>,
    }
}

record! {
    /// `catalog_schema_contents_views` / `catalog_view_get` result (`ViewInfo` blobs).
    pub struct ViewsResponse {
        pub items: Vec<Blob>,
    }
}

record! {
    /// `catalog_schema_contents_functions` result (`FunctionInfo` blobs).
    pub struct FunctionsResponse {
        pub items: Vec<Blob>,
    }
}

record! {
    /// `catalog_schema_contents_macros` / `catalog_macro_get` result (`MacroInfo` blobs).
    pub struct MacrosResponse {
        pub items: Vec<Blob>,
    }
}

record! {
    /// `catalog_schema_contents_indexes` / `catalog_index_get` result (`IndexInfo` blobs).
    pub struct IndexesResponse {
        pub items: Vec<Blob>,
    }
}

record! {
    /// `catalog_copy_from_formats` result (`CopyFromFormatInfo` blobs).
    pub struct CopyFromFormatsResponse {
        pub items: Vec<Blob>,
    }
}

record! {
    /// One schema of an attached catalog; a zero `estimated_object_count` lets the client skip
    /// that kind's RPC.
    pub struct SchemaInfo {
        pub comment: Option<String>,
        pub tags: StringMap,
        pub path: Vec<String>,
        pub estimated_object_count: Option<CountMap>,
    }
}

record! {
    /// One table: columns, constraints, write modes and inline scan/bind shortcuts.
    pub struct TableInfo {
        pub comment: Option<String>,
        pub tags: StringMap,
        pub name: String,
        pub schema_path: Vec<String>,
        pub columns: Blob,
        pub not_null_constraints: Vec<i32>,
        pub unique_constraints: Vec<Vec<i32>>,
        pub check_constraints: Vec<String>,
        pub primary_key_constraints: Vec<Vec<i32>>,
        pub foreign_key_constraints: Vec<Blob>,
        pub write_result_modes: StringMap,
        pub supports_column_statistics: bool,
        pub scan_function: Option<Blob>,
        pub insert_function: Option<Blob>,
        pub update_function: Option<Blob>,
        pub delete_function: Option<Blob>,
        pub cardinality_estimate: Option<i64>,
        pub cardinality_max: Option<i64>,
        pub column_statistics: Option<Blob>,
        pub bind_result: Option<Blob>,
        pub required_filters: Vec<Vec<String>>,
    }
}

record! {
    /// A foreign key of a table (`TableInfo.foreign_key_constraints` blob).
    pub struct ForeignKeyInfo {
        pub fk_columns: Vec<String>,
        pub pk_columns: Vec<String>,
        pub referenced_table: String,
        pub referenced_schema_path: Vec<String>,
    }
}

record! {
    /// One view.
    pub struct ViewInfo {
        pub comment: Option<String>,
        pub tags: StringMap,
        pub name: String,
        pub schema_path: Vec<String>,
        pub definition: String,
        pub column_comments: StringMap,
    }
}

record! {
    /// One function (scalar, table, table-in-out, buffering or aggregate) and its planner
    /// capabilities.
    pub struct FunctionInfo {
        pub comment: Option<String>,
        pub tags: StringMap,
        pub name: String,
        pub schema_path: Vec<String>,
        pub function_type: FunctionType,
        pub arguments: DictBlob,
        pub output_schema: DictBlob,
        pub parameter_default_values: Option<DictBlob>,
        pub stability: Option<FunctionStability>,
        pub null_handling: Option<NullHandling>,
        pub argument_monotonicity: Option<Vec<String>>,
        pub description: String,
        pub examples: Vec<Inline<CatalogExample>>,
        pub categories: Vec<String>,
        pub projection_pushdown: Option<bool>,
        pub filter_pushdown: Option<bool>,
        pub sampling_pushdown: Option<bool>,
        pub late_materialization: Option<bool>,
        pub filter_semantic_profiles: Vec<String>,
        pub additional_filter_functions: Vec<Inline<FilterFunctionCapability>>,
        pub runtime_filter_algorithms: Vec<Inline<RuntimeFilterAlgorithmCapability>>,
        pub filter_evaluation_contexts: Vec<Inline<EvaluationContextCapability>>,
        pub order_preservation: Option<OrderPreservation>,
        pub max_workers: Option<i32>,
        pub supports_batch_index: bool,
        pub supports_splits: bool,
        pub filters_exactly_applied: bool,
        pub supports_positions: bool,
        pub split_token_ttl_seconds: Option<i64>,
        pub partition_kind: PartitionKind,
        pub order_dependent: OrderDependence,
        pub distinct_dependent: DistinctDependence,
        pub supports_window: bool,
        pub streaming_partitioned: bool,
        pub has_finalize: bool,
        pub source_order_dependent: bool,
        pub sink_order_dependent: bool,
        pub requires_input_batch_index: bool,
        pub input_from_args: bool,
        pub input_rows_per_call: Option<i64>,
        pub required_settings: Vec<String>,
        pub required_secrets: Vec<Inline<SecretLookupEntry>>,
    }
}

record! {
    /// A documented example of a function (inline struct in `FunctionInfo.examples`).
    pub struct CatalogExample {
        pub sql: String,
        pub description: String,
        pub expected_output: Option<String>,
    }
}

record! {
    /// An extension filter function the worker accepts (inline struct in
    /// `FunctionInfo.additional_filter_functions`). `version` is `uint64` as carried inside
    /// `FunctionInfo` (vgi-python's standalone `ARROW_SCHEMA` says `int64`; it never travels alone).
    pub struct FilterFunctionCapability {
        pub namespace: String,
        pub name: String,
        pub version: u64,
    }
}

record! {
    /// A runtime-filter algorithm the worker accepts (inline struct in
    /// `FunctionInfo.runtime_filter_algorithms`); `version` is `uint64` like
    /// [`FilterFunctionCapability`].
    pub struct RuntimeFilterAlgorithmCapability {
        pub namespace: String,
        pub name: String,
        pub version: u64,
    }
}

record! {
    /// A filter evaluation context the worker accepts (inline struct in
    /// `FunctionInfo.filter_evaluation_contexts`).
    pub struct EvaluationContextCapability {
        pub profile: String,
        pub provider_fingerprint: Option<String>,
    }
}

record! {
    /// A secret a function needs resolved before bind (inline struct in
    /// `FunctionInfo.required_secrets`).
    pub struct SecretLookupEntry {
        pub secret_type: String,
        pub scope: Option<String>,
        pub secret_name: Option<String>,
    }
}

record! {
    /// One macro.
    pub struct MacroInfo {
        pub comment: Option<String>,
        pub tags: StringMap,
        pub name: String,
        pub schema_path: Vec<String>,
        pub macro_type: MacroType,
        pub parameters: Vec<String>,
        pub parameter_default_values: Option<Blob>,
        pub definition: String,
        pub arguments_schema: Option<Blob>,
    }
}

record! {
    /// One index.
    pub struct IndexInfo {
        pub comment: Option<String>,
        pub tags: StringMap,
        pub name: String,
        pub schema_path: Vec<String>,
        pub table_name: String,
        pub index_type: String,
        pub constraint_type: IndexConstraintType,
        pub expressions: Vec<String>,
        pub options: StringMap,
    }
}

record! {
    /// One COPY FROM/TO format a catalog handles (`CopyFromFormatsResponse.items` blob).
    pub struct CopyFromFormatInfo {
        pub comment: Option<String>,
        pub tags: StringMap,
        pub format_name: String,
        pub handler: String,
        pub options: Blob,
        pub direction: String,
        pub description: String,
        pub ordered: bool,
    }
}

// ---------------------------------------------------------------------------------------------
// Writes, DDL and COPY (§4.9, §4.10)
// ---------------------------------------------------------------------------------------------

record! {
    /// `catalog_table_create` request.
    pub struct TableCreateRequest {
        pub attach_opaque_data: Blob,
        pub schema_path: Vec<String>,
        pub name: String,
        pub columns: Blob,
        pub on_conflict: OnConflict,
        pub not_null_constraints: Vec<i32>,
        pub unique_constraints: Vec<Vec<i32>>,
        pub check_constraints: Vec<String>,
        pub primary_key_constraints: Vec<Vec<i32>>,
        pub foreign_key_constraints: Vec<Blob>,
        pub transaction_opaque_data: Option<Blob>,
    }
}

record! {
    /// `catalog_macro_create` request.
    pub struct MacroCreateRequest {
        pub attach_opaque_data: Blob,
        pub schema_path: Vec<String>,
        pub name: String,
        pub macro_type: MacroType,
        pub parameters: Vec<String>,
        pub definition: String,
        pub on_conflict: OnConflict,
        pub parameter_default_values: Option<Blob>,
        pub arguments_schema: Option<Blob>,
        pub transaction_opaque_data: Option<Blob>,
    }
}

record! {
    /// `catalog_index_create` request.
    pub struct IndexCreateRequest {
        pub attach_opaque_data: Blob,
        pub schema_path: Vec<String>,
        pub name: String,
        pub table_name: String,
        pub index_type: String,
        pub constraint_type: IndexConstraintType,
        pub expressions: Vec<String>,
        pub on_conflict: OnConflict,
        pub options: StringMap,
        pub transaction_opaque_data: Option<Blob>,
    }
}

record! {
    /// COPY FROM context (inline struct `BindRequest.copy_from`).
    pub struct CopyFromContext {
        pub format: String,
        pub file_path: String,
        pub expected_schema: Blob,
    }
}

record! {
    /// COPY TO context (inline struct `BindRequest.copy_to`).
    pub struct CopyToContext {
        pub format: String,
        pub file_path: String,
    }
}

record! {
    /// HTTP stream call state: the `init` request and its header (worker-minted token content).
    pub struct VgiCallState {
        pub init_call: Blob,
        pub init_response: Blob,
    }
}

// ---------------------------------------------------------------------------------------------
// Records used by the client that A.2 does not list (vgi-python 0.47.0 `ARROW_SCHEMA`s)
// ---------------------------------------------------------------------------------------------

record! {
    /// `catalog_table_scan_function_get` result (raw IPC, also inline as `TableInfo.scan_function`):
    /// the function that scans a table; `arguments` is the `arg_N`/named 1-row batch.
    pub struct ScanFunctionResult {
        pub function_name: String,
        pub arguments: Blob,
        pub required_extensions: Vec<String>,
        pub schema_path: Option<Vec<String>>,
    }
}

record! {
    /// `catalog_table_{insert,update,delete}_function_get` result (raw IPC, also inline in
    /// `TableInfo`): the write function of a table; same layout as [`ScanFunctionResult`].
    pub struct WriteFunctionResult {
        pub function_name: String,
        pub arguments: Blob,
        pub required_extensions: Vec<String>,
        pub schema_path: Option<Vec<String>>,
    }
}

record! {
    /// `catalog_table_scan_branches_get` result (raw IPC): a UNION ALL of `ScanBranch` blobs.
    pub struct ScanBranchesResult {
        pub branches: Vec<Blob>,
        pub required_extensions: Vec<String>,
    }
}

record! {
    /// One branch of a multi-branch table scan (`ScanBranchesResult.branches` blob).
    pub struct ScanBranch {
        pub function_name: String,
        pub arguments: Blob,
        pub branch_filter: Option<String>,
        pub writable: bool,
        pub source_catalog: Option<String>,
        pub source_schema_path: Option<Vec<String>>,
        pub source_table: Option<String>,
        pub format_name: Option<String>,
        pub format_locations: Option<Vec<String>>,
        pub format_options: Option<Blob>,
        pub schema_path: Option<Vec<String>>,
    }
}

record! {
    /// A setting the worker declares (`CatalogAttachResult.settings` blob): `type` is a serialized
    /// schema with one field `value`, `default_value` a 1-row batch with a `value` column.
    pub struct SettingSpec {
        pub name: String,
        pub description: String,
        pub r#type: Blob,
        pub default_value: Option<Blob>,
    }
}

record! {
    /// An ATTACH option a catalog accepts (`CatalogInfo.attach_option_specs` blob); a null or
    /// absent `required`/`secret` means false.
    pub struct AttachOptionSpec {
        pub name: String,
        pub description: String,
        pub r#type: Blob,
        pub default_value: Option<Blob>,
        pub required: Option<bool>,
        pub secret: Option<bool>,
    }
}

record! {
    /// A custom DuckDB secret type to register (`CatalogAttachResult.secret_types` blob).
    pub struct SecretTypeSpec {
        pub name: String,
        pub description: String,
        pub parameters_schema: Blob,
    }
}

// ---------------------------------------------------------------------------------------------
// Helpers
// ---------------------------------------------------------------------------------------------

impl CatalogsResponse {
    pub fn catalogs(&self) -> Result<Vec<CatalogInfo>> {
        decode_all(&self.items)
    }
}

impl CatalogInfo {
    pub fn attach_option_spec_list(&self) -> Result<Vec<AttachOptionSpec>> {
        decode_all(&self.attach_option_specs)
    }
}

impl CatalogAttachResult {
    pub fn setting_specs(&self) -> Result<Vec<SettingSpec>> {
        decode_all(&self.settings)
    }
    pub fn secret_type_specs(&self) -> Result<Vec<SecretTypeSpec>> {
        decode_all(&self.secret_types)
    }
    pub fn attach_catalog_infos(&self) -> Result<Vec<AttachCatalogInfo>> {
        decode_all(&self.attach_catalogs)
    }
    pub fn global_function_infos(&self) -> Result<Vec<FunctionInfo>> {
        decode_all(&self.global_functions)
    }
}

impl SchemasResponse {
    pub fn schemas(&self) -> Result<Vec<SchemaInfo>> {
        decode_all(&self.items)
    }
}

impl TablesResponse {
    pub fn tables(&self) -> Result<Vec<TableInfo>> {
        decode_all(&self.items)
    }
}

impl ViewsResponse {
    pub fn views(&self) -> Result<Vec<ViewInfo>> {
        decode_all(&self.items)
    }
}

impl FunctionsResponse {
    pub fn functions(&self) -> Result<Vec<FunctionInfo>> {
        decode_all(&self.items)
    }
}

impl MacrosResponse {
    pub fn macros(&self) -> Result<Vec<MacroInfo>> {
        decode_all(&self.items)
    }
}

impl IndexesResponse {
    pub fn indexes(&self) -> Result<Vec<IndexInfo>> {
        decode_all(&self.items)
    }
}

impl CopyFromFormatsResponse {
    pub fn formats(&self) -> Result<Vec<CopyFromFormatInfo>> {
        decode_all(&self.items)
    }
}

impl TableInfo {
    pub fn foreign_keys(&self) -> Result<Vec<ForeignKeyInfo>> {
        decode_all(&self.foreign_key_constraints)
    }
}

impl FunctionInfo {
    /// `argument_monotonicity` parsed (unknown names map to `None`).
    pub fn argument_monotonicity_parsed(&self) -> Option<Vec<Option<ArgumentMonotonicity>>> {
        self.argument_monotonicity
            .as_ref()
            .map(|names| names.iter().map(|n| ArgumentMonotonicity::from_wire(n)).collect())
    }
}

impl PlanResponse {
    pub fn scan_splits(&self) -> Result<Vec<ScanSplit>> {
        decode_all(&self.splits)
    }
    pub fn partition_transforms(&self) -> Result<Vec<PartitionTransform>> {
        decode_all(self.partitioning.as_deref().unwrap_or_default())
    }
    pub fn sort_fields(&self) -> Result<Vec<SortField>> {
        decode_all(self.sort_order.as_deref().unwrap_or_default())
    }
}

impl ScanBranchesResult {
    pub fn scan_branches(&self) -> Result<Vec<ScanBranch>> {
        decode_all(&self.branches)
    }
}

#[cfg(test)]
mod tests {
    use std::collections::BTreeMap;
    use std::sync::Arc;

    use arrow_array::{ArrayRef, RecordBatch};
    use arrow_schema::{DataType, Field, Schema, TimeUnit};

    use super::*;

    fn list(item: DataType) -> DataType {
        DataType::List(Arc::new(Field::new("item", item, true)))
    }
    fn dict16() -> DataType {
        DataType::Dictionary(Box::new(DataType::Int16), Box::new(DataType::Utf8))
    }
    fn f(name: &str, data_type: DataType, nullable: bool) -> Field {
        Field::new(name, data_type, nullable)
    }

    /// Renders a schema in Appendix A.2's notation, one `name: type [NOT NULL]` per field.
    fn render(schema: &Schema) -> Vec<String> {
        fn ty(d: &DataType) -> String {
            match d {
                DataType::Utf8 => "utf8".into(),
                DataType::Binary => "binary".into(),
                DataType::LargeBinary => "large_binary".into(),
                DataType::Int64 => "int64".into(),
                DataType::Int32 => "int32".into(),
                DataType::UInt64 => "uint64".into(),
                DataType::Boolean => "bool".into(),
                DataType::Float64 => "double".into(),
                DataType::Timestamp(TimeUnit::Microsecond, Some(tz)) => format!("timestamp[us, tz={tz}]"),
                DataType::Dictionary(k, v) => format!("dict<{},{}>", ty(k), ty(v)),
                DataType::Int16 => "int16".into(),
                DataType::List(item) => {
                    assert!(item.is_nullable(), "list items are nullable");
                    format!("list<{}>", ty(item.data_type()))
                }
                DataType::Map(entries, false) => {
                    let DataType::Struct(kv) = entries.data_type() else { panic!("map entries") };
                    assert!(!kv[0].is_nullable() && kv[1].is_nullable(), "map key NOT NULL, value nullable");
                    format!("map<{}, {}>", ty(kv[0].data_type()), ty(kv[1].data_type()))
                }
                DataType::Struct(fields) => format!(
                    "struct<{}>",
                    fields
                        .iter()
                        .map(|f| format!("{}: {}{}", f.name(), ty(f.data_type()), if f.is_nullable() { "" } else { " not null" }))
                        .collect::<Vec<_>>()
                        .join(", ")
                ),
                other => panic!("unexpected type {other}"),
            }
        }
        schema
            .fields()
            .iter()
            .map(|f| format!("{}: {}{}", f.name(), ty(f.data_type()), if f.is_nullable() { "" } else { " NOT NULL" }))
            .collect()
    }

    fn assert_a2<R: Record>(expected: &str) {
        let expected: Vec<String> = expected.lines().map(str::trim).filter(|l| !l.is_empty()).map(String::from).collect();
        assert_eq!(render(&R::schema()), expected);
    }

    #[test]
    fn bind_request_schema_matches_a2() {
        let copy_from = DataType::Struct(
            vec![
                f("format", DataType::Utf8, false),
                f("file_path", DataType::Utf8, false),
                f("expected_schema", DataType::Binary, false),
            ]
            .into(),
        );
        let copy_to =
            DataType::Struct(vec![f("format", DataType::Utf8, false), f("file_path", DataType::Utf8, false)].into());
        let expected = Schema::new(vec![
            f("function_name", DataType::Utf8, false),
            f("arguments", DataType::Binary, false),
            f("function_type", dict16(), false),
            f("input_schema", DataType::Binary, true),
            f("settings", DataType::Binary, true),
            f("secrets", DataType::Binary, true),
            f("attach_opaque_data", DataType::Binary, true),
            f("transaction_opaque_data", DataType::Binary, true),
            f("resolved_secrets_provided", DataType::Boolean, false),
            f("at_unit", DataType::Utf8, true),
            f("at_value", DataType::Utf8, true),
            f("copy_from", copy_from, true),
            f("copy_to", copy_to, true),
            f("schema_path", list(DataType::Utf8), true),
            f("argument_names", list(DataType::Utf8), true),
        ]);
        assert_eq!(*BindRequest::schema(), expected);
    }

    #[test]
    fn init_request_schema_matches_a2() {
        let expected = Schema::new(vec![
            f("bind_call", DataType::Binary, false),
            f("output_schema", DataType::Binary, false),
            f("bind_opaque_data", DataType::Binary, true),
            f("projection_ids", list(DataType::Int64), true),
            f("pushdown_filters", DataType::LargeBinary, true),
            f("join_keys", list(DataType::LargeBinary), true),
            f("split_tokens", list(DataType::LargeBinary), true),
            f("row_limit", DataType::Int64, true),
            f("phase", dict16(), true),
            f("finalize_state_id", DataType::Binary, true),
            f("execution_id", DataType::Binary, true),
            f("init_opaque_data", DataType::Binary, true),
            f("substream_id", DataType::Binary, true),
            f("order_by_column_name", DataType::Utf8, true),
            f("order_by_direction", dict16(), true),
            f("order_by_null_order", dict16(), true),
            f("order_by_limit", DataType::Int64, true),
            f("tablesample_percentage", DataType::Float64, true),
            f("tablesample_seed", DataType::Int64, true),
        ]);
        assert_eq!(*InitRequest::schema(), expected);
    }

    #[test]
    fn catalog_attach_request_schema_matches_a2() {
        let expected = Schema::new(vec![
            f("name", DataType::Utf8, false),
            f("options", DataType::Binary, true),
            f("data_version_spec", DataType::Utf8, true),
            f("implementation_version", DataType::Utf8, true),
            f("client_capabilities", DataType::Binary, true),
        ]);
        assert_eq!(*CatalogAttachRequest::schema(), expected);
    }

    #[test]
    fn representative_schemas_match_a2_text() {
        assert_a2::<CatalogAttachResult>(
            "attach_opaque_data: binary NOT NULL
             supports_transactions: bool NOT NULL
             supports_time_travel: bool NOT NULL
             catalog_version_frozen: bool NOT NULL
             catalog_version: int64 NOT NULL
             attach_opaque_data_required: bool NOT NULL
             default_schema: utf8 NOT NULL
             settings: list<binary> NOT NULL
             secret_types: list<binary> NOT NULL
             attach_catalogs: list<binary> NOT NULL
             comment: utf8
             tags: map<utf8, utf8> NOT NULL
             supports_column_statistics: bool NOT NULL
             global_functions: list<binary> NOT NULL
             global_function_prefix: utf8 NOT NULL
             resolved_data_version: utf8
             resolved_implementation_version: utf8
             supports_catalog_contents: bool NOT NULL",
        );
        assert_a2::<FunctionInfo>(
            "comment: utf8
             tags: map<utf8, utf8> NOT NULL
             name: utf8 NOT NULL
             schema_path: list<utf8> NOT NULL
             function_type: dict<int16,utf8> NOT NULL
             arguments: dict<int32,binary> NOT NULL
             output_schema: dict<int32,binary> NOT NULL
             parameter_default_values: dict<int32,binary>
             stability: dict<int16,utf8>
             null_handling: dict<int16,utf8>
             argument_monotonicity: list<utf8>
             description: utf8 NOT NULL
             examples: list<struct<sql: utf8 not null, description: utf8 not null, expected_output: utf8>> NOT NULL
             categories: list<utf8> NOT NULL
             projection_pushdown: bool
             filter_pushdown: bool
             sampling_pushdown: bool
             late_materialization: bool
             filter_semantic_profiles: list<utf8> NOT NULL
             additional_filter_functions: list<struct<namespace: utf8 not null, name: utf8 not null, version: uint64 not null>> NOT NULL
             runtime_filter_algorithms: list<struct<namespace: utf8 not null, name: utf8 not null, version: uint64 not null>> NOT NULL
             filter_evaluation_contexts: list<struct<profile: utf8 not null, provider_fingerprint: utf8>> NOT NULL
             order_preservation: dict<int16,utf8>
             max_workers: int32
             supports_batch_index: bool NOT NULL
             supports_splits: bool NOT NULL
             filters_exactly_applied: bool NOT NULL
             supports_positions: bool NOT NULL
             split_token_ttl_seconds: int64
             partition_kind: dict<int16,utf8> NOT NULL
             order_dependent: dict<int16,utf8> NOT NULL
             distinct_dependent: dict<int16,utf8> NOT NULL
             supports_window: bool NOT NULL
             streaming_partitioned: bool NOT NULL
             has_finalize: bool NOT NULL
             source_order_dependent: bool NOT NULL
             sink_order_dependent: bool NOT NULL
             requires_input_batch_index: bool NOT NULL
             input_from_args: bool NOT NULL
             input_rows_per_call: int64
             required_settings: list<utf8> NOT NULL
             required_secrets: list<struct<secret_type: utf8 not null, scope: utf8, secret_name: utf8>> NOT NULL",
        );
        assert_a2::<TableInfo>(
            "comment: utf8
             tags: map<utf8, utf8> NOT NULL
             name: utf8 NOT NULL
             schema_path: list<utf8> NOT NULL
             columns: binary NOT NULL
             not_null_constraints: list<int32> NOT NULL
             unique_constraints: list<list<int32>> NOT NULL
             check_constraints: list<utf8> NOT NULL
             primary_key_constraints: list<list<int32>> NOT NULL
             foreign_key_constraints: list<binary> NOT NULL
             write_result_modes: map<utf8, utf8> NOT NULL
             supports_column_statistics: bool NOT NULL
             scan_function: binary
             insert_function: binary
             update_function: binary
             delete_function: binary
             cardinality_estimate: int64
             cardinality_max: int64
             column_statistics: binary
             bind_result: binary
             required_filters: list<list<utf8>> NOT NULL",
        );
        assert_a2::<AggregateUpdateRequest>(
            "function_name: utf8 NOT NULL
             execution_id: binary NOT NULL
             input_batch: binary NOT NULL
             attach_opaque_data: binary
             schema_path: list<utf8>",
        );
        assert_a2::<SchemaInfo>(
            "comment: utf8
             tags: map<utf8, utf8> NOT NULL
             path: list<utf8> NOT NULL
             estimated_object_count: map<utf8, int64>",
        );
        assert_a2::<ScanSplit>(
            "payload: binary NOT NULL
             token: binary NOT NULL
             estimated_rows: int64
             rows_exact: bool NOT NULL
             estimated_bytes: int64
             partition_bounds: binary
             column_statistics: binary
             location_ids: list<int64>
             start_position: binary
             end_position: binary",
        );
        assert_a2::<CatalogInfo>(
            "name: utf8 NOT NULL
             implementation_version: utf8
             data_version_spec: utf8
             attach_option_specs: list<binary> NOT NULL
             releases: list<struct<version: utf8 not null, released_at: timestamp[us, tz=UTC], summary: utf8 not null, notes_url: utf8>> NOT NULL
             source_url: utf8",
        );
        assert_a2::<AggregateUpdateResponse>("");
    }

    fn b(s: &str) -> Blob {
        Blob(s.as_bytes().to_vec())
    }
    fn sv(v: &[&str]) -> Vec<String> {
        v.iter().map(|s| s.to_string()).collect()
    }
    fn tags() -> StringMap {
        BTreeMap::from([("k".to_string(), "v".to_string()), ("a".to_string(), "".to_string())])
    }

    /// Encodes to a blob, decodes, and checks the decoded record re-encodes to the same batch.
    fn round_trip<R: Record>(value: &R) -> R {
        let blob = value.to_blob();
        let back = R::from_blob(&blob.0).expect("decodes");
        assert_eq!(back.to_batch(), value.to_batch());
        back
    }

    fn full_bind_request() -> BindRequest {
        BindRequest {
            function_name: "read_things".into(),
            arguments: b("args"),
            function_type: FunctionType::TableBuffering,
            input_schema: Some(b("input")),
            settings: Some(b("settings")),
            secrets: Some(b("secrets")),
            attach_opaque_data: Some(b("attach")),
            transaction_opaque_data: Some(b("txn")),
            resolved_secrets_provided: true,
            at_unit: Some("VERSION".into()),
            at_value: Some("3".into()),
            copy_from: Some(Inline(CopyFromContext {
                format: "csv".into(),
                file_path: "/data/x.csv".into(),
                expected_schema: b("schema"),
            })),
            copy_to: Some(Inline(CopyToContext { format: "parquet".into(), file_path: "/out".into() })),
            schema_path: Some(sv(&["main", "nested"])),
            argument_names: Some(sv(&["a", "b"])),
        }
    }

    #[test]
    fn bind_request_round_trips() {
        let back = round_trip(&full_bind_request());
        assert_eq!(back.function_type, FunctionType::TableBuffering);
        assert_eq!(back.copy_from.as_ref().unwrap().0.file_path, "/data/x.csv");
        assert_eq!(back.copy_from.as_ref().unwrap().0.expected_schema, b("schema"));
        assert_eq!(back.copy_to.as_ref().unwrap().0.format, "parquet");
        assert_eq!(back.transaction_opaque_data, Some(b("txn")));
        assert_eq!(back.schema_path, Some(sv(&["main", "nested"])));

        // Null inline structs and empty optionals.
        let minimal =
            BindRequest { function_name: "f".into(), arguments: b("a"), function_type: FunctionType::Scalar, ..Default::default() };
        let back = round_trip(&minimal);
        assert!(back.copy_from.is_none() && back.copy_to.is_none() && back.schema_path.is_none());
    }

    #[test]
    fn init_request_round_trips() {
        let value = InitRequest {
            bind_call: full_bind_request().to_blob(),
            output_schema: b("out"),
            bind_opaque_data: Some(b("bind")),
            projection_ids: Some(vec![2, 0]),
            pushdown_filters: Some(LargeBlob(b"filters".to_vec())),
            join_keys: Some(vec![LargeBlob(b"k1".to_vec()), LargeBlob(b"k2".to_vec())]),
            split_tokens: Some(vec![]),
            row_limit: Some(10),
            phase: Some(TableInOutFunctionInitPhase::Finalize),
            finalize_state_id: Some(b("fs")),
            execution_id: Some(b("exec")),
            init_opaque_data: Some(b("init")),
            substream_id: Some(b("sub")),
            order_by_column_name: Some("n".into()),
            order_by_direction: Some(OrderByDirection::Desc),
            order_by_null_order: Some(OrderByNullOrder::NullsFirst),
            order_by_limit: Some(5),
            tablesample_percentage: Some(12.5),
            tablesample_seed: Some(-7),
        };
        let back = round_trip(&value);
        assert_eq!(back.phase, Some(TableInOutFunctionInitPhase::Finalize));
        assert_eq!(back.join_keys.as_ref().map(Vec::len), Some(2));
        assert_eq!(back.split_tokens, Some(vec![]));
        assert_eq!(back.tablesample_percentage, Some(12.5));
        let bind = BindRequest::from_blob(&back.bind_call.0).unwrap();
        assert_eq!(bind.function_name, "read_things");
    }

    #[test]
    fn catalog_attach_round_trips() {
        let caps = ClientCapabilities {
            engine: "duckdb".into(),
            native_formats: sv(&["parquet"]),
            catalogs: sv(&["iceberg"]),
            can_stream: true,
            filter_encodings: sv(&["vgi.filters.v2"]),
        };
        let request = CatalogAttachRequest {
            name: "demo".into(),
            options: Some(b("opts")),
            data_version_spec: Some(">=1.0".into()),
            implementation_version: None,
            client_capabilities: Some(caps.to_blob()),
        };
        let back = round_trip(&request);
        let caps_back = ClientCapabilities::from_blob(&back.client_capabilities.unwrap().0).unwrap();
        assert!(caps_back.can_stream);
        assert_eq!(caps_back.catalogs, sv(&["iceberg"]));

        let result = CatalogAttachResult {
            attach_opaque_data: b("token"),
            supports_transactions: true,
            supports_time_travel: true,
            catalog_version_frozen: true,
            catalog_version: 42,
            attach_opaque_data_required: true,
            default_schema: "data".into(),
            settings: vec![SettingSpec {
                name: "s".into(),
                description: "d".into(),
                r#type: b("type"),
                default_value: Some(b("dv")),
            }
            .to_blob()],
            secret_types: vec![SecretTypeSpec { name: "st".into(), description: "d".into(), parameters_schema: b("p") }.to_blob()],
            attach_catalogs: vec![AttachCatalogInfo {
                alias: "a".into(),
                target: "t".into(),
                db_type: "duckdb".into(),
                options: tags(),
                hidden: true,
                required: true,
                secret_ref: "r".into(),
            }
            .to_blob()],
            comment: Some("c".into()),
            tags: tags(),
            supports_column_statistics: true,
            global_functions: vec![],
            global_function_prefix: "demo".into(),
            resolved_data_version: Some("1.2.0".into()),
            resolved_implementation_version: None,
            supports_catalog_contents: true,
        };
        let back = round_trip(&result);
        assert_eq!(back.catalog_version, 42);
        assert_eq!(back.tags, tags());
        assert_eq!(back.setting_specs().unwrap()[0].r#type, b("type"));
        assert_eq!(back.secret_type_specs().unwrap()[0].parameters_schema, b("p"));
        assert!(back.attach_catalog_infos().unwrap()[0].hidden);
        assert!(back.global_function_infos().unwrap().is_empty());
    }

    #[test]
    fn function_info_round_trips_with_inline_sub_records() {
        let value = FunctionInfo {
            comment: Some("doc".into()),
            tags: tags(),
            name: "multiply".into(),
            schema_path: sv(&["main"]),
            function_type: FunctionType::Scalar,
            arguments: DictBlob(b("args")),
            output_schema: DictBlob(b("out")),
            parameter_default_values: Some(DictBlob(b("defaults"))),
            stability: Some(FunctionStability::ConsistentWithinQuery),
            null_handling: Some(NullHandling::Special),
            argument_monotonicity: Some(sv(&["NON_DECREASING", "CONSTANT"])),
            description: "multiplies".into(),
            examples: vec![Inline(CatalogExample {
                sql: "SELECT multiply(2, 3)".into(),
                description: "".into(),
                expected_output: Some("6".into()),
            })],
            categories: sv(&["math"]),
            projection_pushdown: Some(true),
            filter_pushdown: Some(false),
            sampling_pushdown: None,
            late_materialization: Some(true),
            filter_semantic_profiles: sv(&["vgi.duckdb.standard.v1"]),
            additional_filter_functions: vec![
                Inline(FilterFunctionCapability { namespace: "vgi.ext".into(), name: "within".into(), version: u64::MAX }),
                Inline(FilterFunctionCapability { namespace: "vgi".into(), name: "near".into(), version: 1 }),
            ],
            runtime_filter_algorithms: vec![Inline(RuntimeFilterAlgorithmCapability {
                namespace: "vgi".into(),
                name: "bloom".into(),
                version: 2,
            })],
            filter_evaluation_contexts: vec![Inline(EvaluationContextCapability {
                profile: "vgi.duckdb.session.v1".into(),
                provider_fingerprint: None,
            })],
            order_preservation: Some(OrderPreservation::FixedOrder),
            max_workers: Some(4),
            supports_batch_index: true,
            supports_splits: true,
            filters_exactly_applied: true,
            supports_positions: true,
            split_token_ttl_seconds: Some(60),
            partition_kind: PartitionKind::DisjointPartitions,
            order_dependent: OrderDependence::OrderDependent,
            distinct_dependent: DistinctDependence::DistinctDependent,
            supports_window: true,
            streaming_partitioned: true,
            has_finalize: true,
            source_order_dependent: true,
            sink_order_dependent: true,
            requires_input_batch_index: true,
            input_from_args: true,
            input_rows_per_call: Some(1),
            required_settings: sv(&["timezone"]),
            required_secrets: vec![
                Inline(SecretLookupEntry { secret_type: "s3".into(), scope: Some("s3://b".into()), secret_name: None }),
                Inline(SecretLookupEntry { secret_type: "http".into(), scope: None, secret_name: Some("mine".into()) }),
            ],
        };
        let back = round_trip(&value);
        assert_eq!(back.additional_filter_functions[0].0.version, u64::MAX);
        assert_eq!(back.required_secrets.len(), 2);
        assert_eq!(back.required_secrets[1].0.secret_name.as_deref(), Some("mine"));
        assert_eq!(back.examples[0].0.expected_output.as_deref(), Some("6"));
        assert_eq!(back.arguments, DictBlob(b("args")));
        assert_eq!(back.partition_kind, PartitionKind::DisjointPartitions);
        assert_eq!(
            back.argument_monotonicity_parsed(),
            Some(vec![Some(ArgumentMonotonicity::NonDecreasing), Some(ArgumentMonotonicity::Constant)])
        );

        // Empty inline lists.
        let minimal = FunctionInfo { name: "f".into(), ..Default::default() };
        let back = round_trip(&minimal);
        assert!(back.examples.is_empty() && back.required_secrets.is_empty());
    }

    #[test]
    fn catalog_info_round_trips_releases() {
        let value = CatalogInfo {
            name: "demo".into(),
            implementation_version: Some("1.0.0".into()),
            data_version_spec: None,
            attach_option_specs: vec![AttachOptionSpec {
                name: "api_key".into(),
                description: "key".into(),
                r#type: b("t"),
                default_value: None,
                required: Some(true),
                secret: Some(true),
            }
            .to_blob()],
            releases: vec![
                Inline(CatalogDataVersionRelease {
                    version: "2.0.0".into(),
                    released_at: Some(TimestampMicros(1_700_000_000_123_456)),
                    summary: "big".into(),
                    notes_url: Some("https://example.com".into()),
                }),
                Inline(CatalogDataVersionRelease { version: "1.0.0".into(), ..Default::default() }),
            ],
            source_url: None,
        };
        let back = round_trip(&value);
        assert_eq!(back.releases[0].0.released_at, Some(TimestampMicros(1_700_000_000_123_456)));
        assert_eq!(back.releases[1].0.released_at, None);
        let options = back.attach_option_spec_list().unwrap();
        assert_eq!(options[0].secret, Some(true));
        let response = CatalogsResponse { items: vec![value.to_blob(), value.to_blob()] };
        assert_eq!(round_trip(&response).catalogs().unwrap().len(), 2);
    }

    #[test]
    fn table_schema_and_split_records_round_trip() {
        let table = TableInfo {
            comment: None,
            tags: tags(),
            name: "t".into(),
            schema_path: sv(&["main"]),
            columns: b("cols"),
            not_null_constraints: vec![0, 2],
            unique_constraints: vec![vec![0], vec![1, 2]],
            check_constraints: sv(&["a > 0"]),
            primary_key_constraints: vec![vec![0]],
            foreign_key_constraints: vec![ForeignKeyInfo {
                fk_columns: sv(&["o"]),
                pk_columns: sv(&["id"]),
                referenced_table: "other".into(),
                referenced_schema_path: sv(&["main"]),
            }
            .to_blob()],
            write_result_modes: BTreeMap::from([("insert".to_string(), "count".to_string())]),
            supports_column_statistics: true,
            scan_function: Some(b("scan")),
            insert_function: None,
            update_function: Some(b("upd")),
            delete_function: None,
            cardinality_estimate: Some(100),
            cardinality_max: Some(1000),
            column_statistics: None,
            bind_result: Some(b("bind")),
            required_filters: vec![sv(&["a", "b.c"]), vec![]],
        };
        let back = round_trip(&table);
        assert_eq!(back.unique_constraints, vec![vec![0], vec![1, 2]]);
        assert_eq!(back.required_filters, vec![sv(&["a", "b.c"]), vec![]]);
        assert_eq!(back.foreign_keys().unwrap()[0].referenced_table, "other");

        let schema = SchemaInfo {
            comment: Some("c".into()),
            tags: tags(),
            path: sv(&["main"]),
            estimated_object_count: Some(BTreeMap::from([("table".to_string(), 3), ("macro".to_string(), 0)])),
        };
        let back = round_trip(&schema);
        assert_eq!(back.estimated_object_count.unwrap()["table"], 3);
        assert!(round_trip(&SchemaInfo::default()).estimated_object_count.is_none());

        let split = ScanSplit {
            payload: b("p"),
            token: b("t"),
            estimated_rows: Some(5),
            rows_exact: true,
            estimated_bytes: None,
            partition_bounds: Some(b("bounds")),
            column_statistics: None,
            location_ids: Some(vec![0, 3]),
            start_position: Some(b("s")),
            end_position: None,
        };
        let back = round_trip(&split);
        assert_eq!(back.location_ids, Some(vec![0, 3]));
        let plan = PlanResponse {
            splits: vec![split.to_blob()],
            scope: "transaction".into(),
            sort_order: Some(vec![SortField {
                column: "c".into(),
                direction: OrderByDirection::Desc,
                nulls: OrderByNullOrder::NullsFirst,
            }
            .to_blob()]),
            ..Default::default()
        };
        let back = round_trip(&plan);
        assert_eq!(back.scan_splits().unwrap()[0].token, b("t"));
        assert_eq!(back.sort_fields().unwrap()[0].direction, OrderByDirection::Desc);
        assert!(back.partition_transforms().unwrap().is_empty());
    }

    #[test]
    fn aggregate_records_round_trip() {
        let update = AggregateUpdateRequest {
            function_name: "vgi_sum".into(),
            execution_id: b("exec"),
            input_batch: b("batch"),
            attach_opaque_data: Some(b("attach")),
            schema_path: Some(sv(&["main"])),
        };
        let back = round_trip(&update);
        assert_eq!(back.input_batch, b("batch"));
        let window = AggregateWindowBatchRequest {
            function_name: "f".into(),
            execution_id: b("e"),
            partition_id: 1,
            row_idx: 2,
            count: 3,
            frames_per_row: vec![1, 1, 1],
            frame_starts: vec![0, 1, 2],
            frame_ends: vec![1, 2, 3],
            attach_opaque_data: None,
            schema_path: None,
        };
        assert_eq!(round_trip(&window).frame_ends, vec![1, 2, 3]);
        round_trip(&AggregateUpdateResponse {});
    }

    #[test]
    fn empty_ack_records_accept_zero_row_blobs() {
        // vgi-python sends an ack record as a zero-column, zero-row batch.
        let blob = crate::framing::encode_stream(&crate::framing::empty_batch(0), &[]).unwrap();
        AggregateUpdateResponse::from_blob(&blob).unwrap();
        TableBufferingDestructorResponse::from_blob(&blob).unwrap();
        assert_eq!(AggregateCombineResponse {}.to_batch().num_rows(), 1);
    }

    #[test]
    fn records_are_lenient_about_plain_utf8_enums_and_missing_defaults() {
        // A BindRequest whose enum is plain utf8 and which lacks every defaulted column.
        let columns: Vec<(&str, ArrayRef)> = vec![
            ("function_name", Arc::new(arrow_array::StringArray::from(vec!["f"]))),
            ("arguments", Arc::new(arrow_array::BinaryArray::from(vec![b"args".as_ref()]))),
            ("function_type", Arc::new(arrow_array::StringArray::from(vec!["TABLE"]))),
        ];
        let batch = RecordBatch::try_from_iter(columns).unwrap();
        let blob = crate::framing::encode_stream(&batch, &[]).unwrap();
        let bind = BindRequest::from_blob(&blob).unwrap();
        assert_eq!(bind.function_type, FunctionType::Table);
        assert_eq!(bind.arguments, b("args"));
        assert!(!bind.resolved_secrets_provided);
        assert!(bind.copy_from.is_none() && bind.schema_path.is_none() && bind.input_schema.is_none());

        // A FunctionInfo with plain-utf8 enums (one nullable) and plain-binary schemas.
        let columns: Vec<(&str, ArrayRef)> = vec![
            ("name", Arc::new(arrow_array::StringArray::from(vec!["g"]))),
            ("function_type", Arc::new(arrow_array::StringArray::from(vec!["AGGREGATE"]))),
            ("arguments", Arc::new(arrow_array::BinaryArray::from(vec![b"a".as_ref()]))),
            ("output_schema", Arc::new(arrow_array::BinaryArray::from(vec![b"o".as_ref()]))),
            ("stability", Arc::new(arrow_array::StringArray::from(vec![Some("VOLATILE")]))),
            ("partition_kind", Arc::new(arrow_array::StringArray::from(vec!["SINGLE_VALUE_PARTITIONS"]))),
            ("order_dependent", Arc::new(arrow_array::StringArray::from(vec!["NOT_ORDER_DEPENDENT"]))),
            ("distinct_dependent", Arc::new(arrow_array::StringArray::from(vec!["NOT_DISTINCT_DEPENDENT"]))),
            ("description", Arc::new(arrow_array::StringArray::from(vec![""]))),
        ];
        let batch = RecordBatch::try_from_iter(columns).unwrap();
        let info = FunctionInfo::from_blob(&crate::framing::encode_stream(&batch, &[]).unwrap()).unwrap();
        assert_eq!(info.function_type, FunctionType::Aggregate);
        assert_eq!(info.stability, Some(FunctionStability::Volatile));
        assert_eq!(info.partition_kind, PartitionKind::SingleValuePartitions);
        assert_eq!(info.arguments, DictBlob(b("a")));
        assert!(info.tags.is_empty() && info.examples.is_empty() && info.required_secrets.is_empty());
        assert!(info.null_handling.is_none() && info.max_workers.is_none() && !info.has_finalize);
    }

    #[test]
    fn enums_use_member_names_on_the_wire() {
        assert_eq!(FunctionType::TableBuffering.wire_name(), "TABLE_BUFFERING");
        assert_eq!(OnConflict::from_wire("REPLACE"), Some(OnConflict::Replace));
        assert_eq!(OnConflict::from_wire("replace"), None);
        assert_eq!(SchemaObjectType::from_wire("AGGREGATE_FUNCTION"), Some(SchemaObjectType::AggregateFunction));
        assert_eq!(IndexConstraintType::default(), IndexConstraintType::None);
        assert_eq!(PartitionKind::default().wire_name(), "NOT_PARTITIONED");
        assert_eq!(OrderDependence::default().wire_name(), "NOT_ORDER_DEPENDENT");
        assert_eq!(DistinctDependence::default().wire_name(), "NOT_DISTINCT_DEPENDENT");
        let array = <OrderByNullOrder as crate::wire::WireField>::to_array(&OrderByNullOrder::NullsLast);
        assert_eq!(array.data_type(), &dict16());
    }
}
