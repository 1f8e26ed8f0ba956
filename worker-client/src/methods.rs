//! Typed functions for the `vgi.v2` methods the extension calls.
//!
//! Methods with flat parameter columns declare their parameter list as a record (the same
//! `record!` mechanism), so their top-level request schema is exact by construction.
use arrow_array::RecordBatch;

use crate::call::CancelHandle;
use crate::client::{request_batch, result_blob, Client, PROTOCOL, PROTOCOL_VERSION, REFLECTION_PROTOCOL};
use crate::error::{Error, Result};
use crate::framing::empty_batch;
use crate::record;
use crate::records::*;
use crate::stream::{OpenError, Stream, StreamKind};
use crate::wire::{Blob, Record, StringMap};

record! {
    /// Parameters of calls scoped to an attached catalog.
    pub struct AttachScope {
        pub attach_opaque_data: Blob,
        pub transaction_opaque_data: Option<Blob>,
    }
}

record! {
    /// Parameters of per-schema listing calls.
    pub struct SchemaScope {
        pub attach_opaque_data: Blob,
        pub path: Vec<String>,
        pub transaction_opaque_data: Option<Blob>,
    }
}

record! {
    /// Parameters of `catalog_schema_contents_functions` / `_macros`.
    pub struct SchemaObjectsScope {
        pub attach_opaque_data: Blob,
        pub path: Vec<String>,
        pub r#type: SchemaObjectType,
        pub transaction_opaque_data: Option<Blob>,
    }
}

record! {
    /// Parameters of per-object calls (`catalog_table_*_function_get`, `catalog_view_get`, ...).
    pub struct ObjectScope {
        pub attach_opaque_data: Blob,
        pub schema_path: Vec<String>,
        pub name: String,
        pub transaction_opaque_data: Option<Blob>,
    }
}

record! {
    /// Parameters of `catalog_table_insert_function_get`.
    pub struct WriteFunctionScope {
        pub attach_opaque_data: Blob,
        pub schema_path: Vec<String>,
        pub name: String,
        pub transaction_opaque_data: Option<Blob>,
        pub writable_branch_function_name: Option<String>,
    }
}

record! {
    /// Parameters of table lookups that may time-travel.
    pub struct TableAtScope {
        pub attach_opaque_data: Blob,
        pub schema_path: Vec<String>,
        pub name: String,
        pub at_unit: Option<String>,
        pub at_value: Option<String>,
        pub transaction_opaque_data: Option<Blob>,
    }
}

record! {
    /// Parameters of `catalog_contents`.
    pub struct ContentsParams {
        pub attach_opaque_data: Blob,
        pub if_none_match: Option<String>,
    }
}

record! {
    /// Parameters of `catalog_detach` and `catalog_transaction_begin`.
    pub struct AttachOnly {
        pub attach_opaque_data: Blob,
    }
}

record! {
    /// Parameters of `catalog_transaction_commit` / `_rollback`.
    pub struct TransactionScope {
        pub attach_opaque_data: Blob,
        pub transaction_opaque_data: Blob,
    }
}

impl Client {
    /// `catalog_catalogs`: the catalogs this worker can attach.
    pub fn catalogs(&mut self) -> Result<Vec<CatalogInfo>> {
        let response: CatalogsResponse = self.call_record("catalog_catalogs", &empty_batch(1), None)?;
        response.catalogs()
    }

    /// `catalog_attach`.
    pub fn attach(&mut self, request: &CatalogAttachRequest) -> Result<CatalogAttachResult> {
        self.call_record("catalog_attach", &request_batch(request), None)
    }

    /// `catalog_detach`.
    pub fn detach(&mut self, attach_opaque_data: &Blob) -> Result<()> {
        let params = AttachOnly { attach_opaque_data: attach_opaque_data.clone() };
        self.call_void("catalog_detach", &params.to_batch(), None)
    }

    /// `catalog_version`.
    pub fn catalog_version(&mut self, scope: &AttachScope) -> Result<i64> {
        let r: CatalogVersionResponse = self.call_record("catalog_version", &scope.to_batch(), None)?;
        Ok(r.version)
    }

    /// `catalog_contents`: everything in one call (when `supports_catalog_contents`).
    pub fn catalog_contents(&mut self, params: &ContentsParams) -> Result<CatalogContentsResponse> {
        self.call_record("catalog_contents", &params.to_batch(), None)
    }

    /// `catalog_schemas`.
    pub fn schemas(&mut self, scope: &AttachScope) -> Result<Vec<SchemaInfo>> {
        let r: SchemasResponse = self.call_record("catalog_schemas", &scope.to_batch(), None)?;
        decode_all(&r.items)
    }

    /// `catalog_schema_contents_tables`.
    pub fn tables(&mut self, scope: &SchemaScope) -> Result<Vec<TableInfo>> {
        let r: TablesResponse = self.call_record("catalog_schema_contents_tables", &scope.to_batch(), None)?;
        decode_all(&r.items)
    }

    /// `catalog_schema_contents_views`.
    pub fn views(&mut self, scope: &SchemaScope) -> Result<Vec<ViewInfo>> {
        let r: ViewsResponse = self.call_record("catalog_schema_contents_views", &scope.to_batch(), None)?;
        decode_all(&r.items)
    }

    /// `catalog_schema_contents_functions` for one function kind.
    pub fn functions(&mut self, scope: &SchemaObjectsScope) -> Result<Vec<FunctionInfo>> {
        let r: FunctionsResponse = self.call_record("catalog_schema_contents_functions", &scope.to_batch(), None)?;
        decode_all(&r.items)
    }

    /// `catalog_schema_contents_macros` for one macro kind.
    pub fn macros(&mut self, scope: &SchemaObjectsScope) -> Result<Vec<MacroInfo>> {
        let r: MacrosResponse = self.call_record("catalog_schema_contents_macros", &scope.to_batch(), None)?;
        decode_all(&r.items)
    }

    /// `catalog_copy_from_formats`: the COPY formats (both directions, despite the name) the
    /// catalog serves; none when the worker does not implement the method.
    pub fn copy_formats(&mut self, scope: &AttachScope) -> Result<Vec<CopyFromFormatInfo>> {
        match self.call_record::<CopyFromFormatsResponse>("catalog_copy_from_formats", &scope.to_batch(), None) {
            Ok(r) => r.formats(),
            Err(Error::Worker(w)) if w.is_not_implemented() => Ok(Vec::new()),
            Err(e) => Err(e),
        }
    }

    /// `catalog_table_get`: one table (or none).
    pub fn table(&mut self, scope: &TableAtScope) -> Result<Option<TableInfo>> {
        let r: TablesResponse = self.call_record("catalog_table_get", &scope.to_batch(), None)?;
        Ok(decode_all(&r.items)?.into_iter().next())
    }

    /// `catalog_table_scan_function_get`: the table function that scans a catalog table.
    pub fn table_scan_function(&mut self, scope: &TableAtScope) -> Result<ScanFunctionResult> {
        self.function_result("catalog_table_scan_function_get", &scope.to_batch())
    }

    /// `catalog_table_scan_branches_get`: the branches a (possibly multi-branch) table is read from.
    pub fn table_scan_branches(&mut self, scope: &TableAtScope) -> Result<ScanBranchesResult> {
        let method = "catalog_table_scan_branches_get";
        let batch = self.call(method, &scope.to_batch(), None)?.ok_or_else(|| Error::protocol(format!("{method} returned nothing")))?;
        let blob = result_blob(&batch, method)?.ok_or_else(|| Error::protocol(format!("{method} returned null")))?;
        ScanBranchesResult::from_blob(&blob.0)
    }

    /// `catalog_table_insert_function_get`.
    pub fn table_insert_function(&mut self, scope: &WriteFunctionScope) -> Result<ScanFunctionResult> {
        self.function_result("catalog_table_insert_function_get", &scope.to_batch())
    }

    /// `catalog_table_{update,delete}_function_get`.
    pub fn table_write_function(&mut self, method: &str, scope: &ObjectScope) -> Result<ScanFunctionResult> {
        self.function_result(method, &scope.to_batch())
    }

    fn function_result(&mut self, method: &str, request: &RecordBatch) -> Result<ScanFunctionResult> {
        let batch = self.call(method, request, None)?.ok_or_else(|| Error::protocol(format!("{method} returned nothing")))?;
        let blob = result_blob(&batch, method)?.ok_or_else(|| Error::protocol(format!("{method} returned null")))?;
        ScanFunctionResult::from_blob(&blob.0)
    }

    /// `bind`.
    pub fn bind(&mut self, request: &BindRequest, cancel: Option<&CancelHandle>) -> Result<BindResponse> {
        self.call_record("bind", &request_batch(request), cancel)
    }

    /// `table_function_statistics`: the raw statistics IPC, `None` when the worker has none.
    pub fn function_statistics(&mut self, request: &TableFunctionStatisticsRequest) -> Result<Option<Vec<u8>>> {
        self.optional_bytes("table_function_statistics", &request_batch(request))
    }

    /// `catalog_table_column_statistics_get`: the raw statistics IPC, or `None`.
    pub fn table_statistics(&mut self, scope: &ObjectScope) -> Result<Option<Vec<u8>>> {
        self.optional_bytes("catalog_table_column_statistics_get", &scope.to_batch())
    }

    fn optional_bytes(&mut self, method: &str, request: &RecordBatch) -> Result<Option<Vec<u8>>> {
        match self.call(method, request, None)? {
            Some(batch) => Ok(result_blob(&batch, method)?.map(|b| b.0)),
            None => Ok(None),
        }
    }

    /// `table_function_dynamic_to_string`: the worker's EXPLAIN ANALYZE pairs for an execution.
    pub fn dynamic_to_string(&mut self, request: &TableFunctionDynamicToStringRequest) -> Result<TableFunctionDynamicToStringResponse> {
        self.call_record("table_function_dynamic_to_string", &request_batch(request), None)
    }

    /// `table_function_cardinality`.
    pub fn cardinality(&mut self, request: &TableFunctionCardinalityRequest) -> Result<TableCardinality> {
        self.call_record("table_function_cardinality", &request_batch(request), None)
    }

    /// `table_function_plan`: one page of a split-planned scan's splits.
    pub fn plan(&mut self, request: &TableFunctionPlanRequest) -> Result<PlanResponse> {
        self.call_record("table_function_plan", &request_batch(request), None)
    }

    /// `init`: opens a producer or exchange stream (consumes the connection; the stream gives
    /// it back when finished).
    pub fn init(self, request: &InitRequest, kind: StreamKind, cancel: Option<CancelHandle>) -> std::result::Result<Stream, OpenError> {
        self.open_stream(&request_batch(request), kind, cancel)
    }

    /// `aggregate_bind`.
    pub fn aggregate_bind(&mut self, request: &AggregateBindRequest) -> Result<AggregateBindResponse> {
        self.call_record("aggregate_bind", &request_batch(request), None)
    }

    /// `aggregate_update`.
    pub fn aggregate_update(&mut self, request: &AggregateUpdateRequest) -> Result<AggregateUpdateResponse> {
        self.call_record("aggregate_update", &request_batch(request), None)
    }

    /// `aggregate_combine`.
    pub fn aggregate_combine(&mut self, request: &AggregateCombineRequest) -> Result<AggregateCombineResponse> {
        self.call_record("aggregate_combine", &request_batch(request), None)
    }

    /// `aggregate_finalize`.
    pub fn aggregate_finalize(&mut self, request: &AggregateFinalizeRequest) -> Result<AggregateFinalizeResponse> {
        self.call_record("aggregate_finalize", &request_batch(request), None)
    }

    /// `aggregate_destructor`.
    pub fn aggregate_destructor(&mut self, request: &AggregateDestructorRequest) -> Result<AggregateDestructorResponse> {
        self.call_record("aggregate_destructor", &request_batch(request), None)
    }

    /// `catalog_transaction_begin`.
    pub fn transaction_begin(&mut self, attach_opaque_data: &Blob) -> Result<Option<Blob>> {
        let params = AttachOnly { attach_opaque_data: attach_opaque_data.clone() };
        let r: TransactionBeginResponse = self.call_record("catalog_transaction_begin", &params.to_batch(), None)?;
        Ok(r.transaction_opaque_data)
    }

    /// `catalog_transaction_commit` / `catalog_transaction_rollback`.
    pub fn transaction_end(&mut self, commit: bool, scope: &TransactionScope) -> Result<()> {
        let method = if commit { "catalog_transaction_commit" } else { "catalog_transaction_rollback" };
        self.call_void(method, &scope.to_batch(), None)
    }

    /// Checks that the worker hosts the protocol this client speaks, naming both versions
    /// and which side to upgrade when it does not.
    pub fn check_protocol(&mut self) -> Result<()> {
        let hosted = self.list_protocols()?;
        let ours = version_tuple(PROTOCOL_VERSION);
        match hosted.iter().find(|(name, _)| name == PROTOCOL) {
            Some((_, theirs)) if version_tuple(theirs)[..2] == ours[..2] => Ok(()),
            Some((_, theirs)) => {
                let side = if version_tuple(theirs) > ours { "the vgi extension" } else { "the worker" };
                Err(Error::protocol(format!(
                    "protocol version mismatch: the worker speaks {PROTOCOL} {theirs}, this extension speaks {PROTOCOL} {PROTOCOL_VERSION}; upgrade {side}"
                )))
            }
            None => Err(Error::protocol(format!(
                "the worker does not host {PROTOCOL} (it hosts {}); this extension speaks {PROTOCOL} {PROTOCOL_VERSION}",
                hosted.iter().map(|(n, v)| format!("{n} {v}")).collect::<Vec<_>>().join(", ")
            ))),
        }
    }

    /// `vgi_rpc.Reflection.v1 list_protocols`: `(name, version)` of every protocol the worker
    /// hosts.
    pub fn list_protocols(&mut self) -> Result<Vec<(String, String)>> {
        let batch = self
            .call_protocol(REFLECTION_PROTOCOL, None, "list_protocols", &empty_batch(1), None)?
            .ok_or_else(|| Error::protocol("list_protocols returned nothing"))?;
        let blob = result_blob(&batch, "list_protocols")?.ok_or_else(|| Error::protocol("list_protocols returned null"))?;
        let list = crate::framing::decode_single_batch(&blob.0)?;
        let protocols = list
            .column_by_name("protocols")
            .ok_or_else(|| Error::protocol("ProtocolList has no `protocols`"))?;
        let items = <Vec<crate::wire::Inline<ProtocolEntry>> as crate::wire::WireField>::from_array(protocols.as_ref(), 0)?;
        Ok(items.into_iter().map(|p| (p.0.protocol, p.0.protocol_version.unwrap_or_default())).collect())
    }
}

record! {
    /// One entry of the reflection protocol's `ProtocolList.protocols` (fields we read).
    pub struct ProtocolEntry {
        pub protocol: String,
        pub protocol_version: Option<String>,
    }
}

/// `"2.2.0"` -> `[2, 2, 0]` (missing or non-numeric parts are 0).
fn version_tuple(version: &str) -> [u64; 3] {
    let mut out = [0; 3];
    for (slot, part) in out.iter_mut().zip(version.split('.')) {
        *slot = part.trim().parse().unwrap_or(0);
    }
    out
}

// ---- DDL: the parameter columns of each `catalog_*` DDL method (Appendix A.1) ----------------

record! {
    /// `catalog_schema_create`.
    pub struct SchemaCreateParams {
        pub attach_opaque_data: Blob,
        pub path: Vec<String>,
        pub on_conflict: OnConflict,
        pub comment: Option<String>,
        pub tags: Option<StringMap>,
        pub transaction_opaque_data: Option<Blob>,
    }
}

record! {
    /// `catalog_schema_drop`.
    pub struct SchemaDropParams {
        pub attach_opaque_data: Blob,
        pub path: Vec<String>,
        pub ignore_not_found: bool,
        pub cascade: bool,
        pub transaction_opaque_data: Option<Blob>,
    }
}

record! {
    /// `catalog_table_create`: one binary column holding a `TableCreateRequest`.
    pub struct TableCreateParams {
        pub request: Blob,
    }
}

record! {
    /// `catalog_table_drop` / `catalog_view_drop`.
    pub struct ObjectDropParams {
        pub attach_opaque_data: Blob,
        pub schema_path: Vec<String>,
        pub name: String,
        pub ignore_not_found: bool,
        pub cascade: bool,
        pub transaction_opaque_data: Option<Blob>,
    }
}

record! {
    /// `catalog_macro_drop`.
    pub struct MacroDropParams {
        pub attach_opaque_data: Blob,
        pub schema_path: Vec<String>,
        pub name: String,
        pub ignore_not_found: bool,
        pub transaction_opaque_data: Option<Blob>,
    }
}

record! {
    /// `catalog_table_rename` / `catalog_view_rename`.
    pub struct ObjectRenameParams {
        pub attach_opaque_data: Blob,
        pub schema_path: Vec<String>,
        pub name: String,
        pub new_name: String,
        pub ignore_not_found: bool,
        pub transaction_opaque_data: Option<Blob>,
    }
}

record! {
    /// `catalog_table_comment_set` / `catalog_view_comment_set`.
    pub struct ObjectCommentParams {
        pub attach_opaque_data: Blob,
        pub schema_path: Vec<String>,
        pub name: String,
        pub comment: Option<String>,
        pub ignore_not_found: bool,
        pub transaction_opaque_data: Option<Blob>,
    }
}

record! {
    /// `catalog_view_create`.
    pub struct ViewCreateParams {
        pub attach_opaque_data: Blob,
        pub schema_path: Vec<String>,
        pub name: String,
        pub definition: String,
        pub on_conflict: OnConflict,
        pub transaction_opaque_data: Option<Blob>,
    }
}

record! {
    /// `catalog_table_column_add` (`column_definition`: a serialized one-field schema).
    pub struct ColumnAddParams {
        pub attach_opaque_data: Blob,
        pub schema_path: Vec<String>,
        pub name: String,
        pub column_definition: Blob,
        pub ignore_not_found: bool,
        pub if_column_not_exists: bool,
        pub transaction_opaque_data: Option<Blob>,
    }
}

record! {
    /// `catalog_table_column_drop`.
    pub struct ColumnDropParams {
        pub attach_opaque_data: Blob,
        pub schema_path: Vec<String>,
        pub name: String,
        pub column_name: String,
        pub ignore_not_found: bool,
        pub if_column_exists: bool,
        pub cascade: bool,
        pub transaction_opaque_data: Option<Blob>,
    }
}

record! {
    /// `catalog_table_column_rename`.
    pub struct ColumnRenameParams {
        pub attach_opaque_data: Blob,
        pub schema_path: Vec<String>,
        pub name: String,
        pub column_name: String,
        pub new_column_name: String,
        pub ignore_not_found: bool,
        pub transaction_opaque_data: Option<Blob>,
    }
}

record! {
    /// `catalog_table_column_default_set` (`expression`: SQL text).
    pub struct ColumnDefaultSetParams {
        pub attach_opaque_data: Blob,
        pub schema_path: Vec<String>,
        pub name: String,
        pub column_name: String,
        pub expression: String,
        pub ignore_not_found: bool,
        pub transaction_opaque_data: Option<Blob>,
    }
}

record! {
    /// `catalog_table_column_default_drop`, `catalog_table_not_null_set` / `_drop`.
    pub struct ColumnParams {
        pub attach_opaque_data: Blob,
        pub schema_path: Vec<String>,
        pub name: String,
        pub column_name: String,
        pub ignore_not_found: bool,
        pub transaction_opaque_data: Option<Blob>,
    }
}

record! {
    /// `catalog_table_column_type_change` (`column_definition`: the column with its new type;
    /// `expression`: the USING conversion, SQL text).
    pub struct ColumnTypeChangeParams {
        pub attach_opaque_data: Blob,
        pub schema_path: Vec<String>,
        pub name: String,
        pub column_definition: Blob,
        pub expression: Option<String>,
        pub ignore_not_found: bool,
        pub transaction_opaque_data: Option<Blob>,
    }
}

record! {
    /// `catalog_table_column_comment_set`.
    pub struct ColumnCommentParams {
        pub attach_opaque_data: Blob,
        pub schema_path: Vec<String>,
        pub name: String,
        pub column_name: String,
        pub comment: Option<String>,
        pub ignore_not_found: bool,
        pub transaction_opaque_data: Option<Blob>,
    }
}
