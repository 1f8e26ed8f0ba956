//! An attached worker catalog: ATTACH option handling, `catalog_attach`, and the cached
//! metadata (schemas, tables, views, functions) DuckDB's catalog entries are built from.
use std::collections::BTreeMap;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Mutex};

use arrow_array::{Array, ArrayRef, RecordBatch};
use arrow_schema::{Field, Schema, SchemaRef};
use worker_client::framing::{decode_schema, MessageReader};
use worker_client::methods::{AttachScope, ContentsParams, SchemaObjectsScope, SchemaScope};
use worker_client::records::{
    AttachOptionSpec, CatalogAttachRequest, CatalogAttachResult, ClientCapabilities, FunctionInfo, MacroInfo, MacroType,
    SchemaInfo, SchemaObjectType, TableInfo, ViewInfo,
};
use worker_client::wire::{Blob, Record};
use worker_client::{Client, ConnectOptions, Pool};

use crate::attach_target::{AttachTarget, OptionValue, BEARER_TOKEN, DATA_VERSION, LOCATION};
use crate::call_context::CallContext;
use crate::error::{Error, ErrorKind, Result};

/// ATTACH options the extension consumes itself (with LOCATION, BEARER_TOKEN and DATA_VERSION
/// of [`crate::attach_target`]); every other option goes to the worker.
const IMPLEMENTATION_VERSION: &str = "implementation_version";
/// `pool false`: the catalog's workers are its own (started for it, never shared with another
/// attach, stopped at DETACH). The default shares idle workers process-wide.
const POOL: &str = "pool";

/// The sandbox rules an ATTACH is checked against (DuckDB settings, read by the adapter).
pub struct LocationPolicy<'a> {
    pub external_access: bool,
    pub allowed_locations: &'a str,
}

pub struct AttachedCatalog {
    /// The catalog's name at the worker (the ATTACH path).
    pub name: String,
    pub location: String,
    pub connect: ConnectOptions,
    pub attach: CatalogAttachResult,
    contents: Mutex<Option<Arc<Contents>>>,
    /// The worker's catalog version the cached contents belong to.
    version: Mutex<i64>,
    /// Bumped whenever cached metadata is dropped, so the adapter rebuilds its entries.
    generation: AtomicU64,
    /// How each table read so far is scanned when it has several branches (dropped with the
    /// rest of the metadata).
    branch_views: Mutex<std::collections::HashMap<(String, String), Option<crate::branches::BranchView>>>,
    /// DETACH told the worker; otherwise dropping the catalog does (see `Drop`).
    detached: AtomicBool,
}

/// Everything a catalog holds, loaded once per attach (per catalog version).
#[derive(Default)]
pub struct Contents {
    pub schemas: Vec<SchemaContents>,
}

#[derive(Default)]
pub struct SchemaContents {
    /// DuckDB's name for the schema: the worker's path joined with '.'.
    pub name: String,
    pub path: Vec<String>,
    pub comment: Option<String>,
    pub tags: worker_client::wire::StringMap,
    pub tables: Vec<TableInfo>,
    pub views: Vec<ViewInfo>,
    pub functions: Vec<FunctionInfo>,
    pub macros: Vec<MacroInfo>,
}

/// How long telling the worker about a catalog that ends without DETACH may take.
const CLOSE_DETACH_TIMEOUT: std::time::Duration = std::time::Duration::from_secs(5);

/// A catalog that ends without DETACH (its DuckDB database closed, or the ATTACH failed after
/// `catalog_attach`) still tells the worker, which may hold state for the attach until then:
/// a long-lived HTTP worker otherwise keeps it for every database ever closed. Best effort, on
/// a thread of its own (closing a database never waits for a worker), and never starting a
/// worker process just to say so: a process-local worker without an idle connection has no
/// state of this attach to free.
impl Drop for AttachedCatalog {
    fn drop(&mut self) {
        if self.detached.load(Ordering::SeqCst) {
            return;
        }
        let is_http = matches!(worker_client::transport::Location::parse(&self.location), Ok(worker_client::transport::Location::Http(_)));
        if !is_http && !Pool::global().has_idle(&self.location, &self.connect) {
            if self.connect.dedicated_to.is_some() {
                Pool::global().evict_key(&self.location, &self.connect);
            }
            return;
        }
        let (location, connect, attach_data) = (self.location.clone(), self.connect.clone(), self.attach.attach_opaque_data.clone());
        let _ = std::thread::Builder::new().name("vgi-close-detach".into()).spawn(move || {
            let Ok(mut client) = Pool::global().lend(&location, &connect) else { return };
            client.set_timeout(CLOSE_DETACH_TIMEOUT);
            let _ = client.detach(&attach_data);
            drop(client);
            if connect.dedicated_to.is_some() {
                Pool::global().evict_key(&location, &connect);
            }
        });
    }
}

impl AttachedCatalog {
    /// ATTACH: resolves the path and options ([`AttachTarget`]), checks the location against
    /// the sandbox, checks the options against what the worker declares, then `catalog_attach`.
    pub fn attach(path: &str, options: &RecordBatch, policy: &LocationPolicy<'_>) -> Result<AttachedCatalog> {
        let AttachTarget { catalog, options: mut user } = AttachTarget::resolve(path, options)?;
        let name = catalog.as_str();
        let text = |user: &mut BTreeMap<String, OptionValue>, key: &str| -> Result<Option<String>> {
            match user.remove(key) {
                None => Ok(None),
                Some(option) => {
                    let s = worker_client::wire::string_at(option.value.as_ref(), 0)
                        .map_err(|_| Error::invalid_input(format!("ATTACH option {key} must be a string")))?;
                    Ok(s)
                }
            }
        };
        let location = text(&mut user, LOCATION)?.ok_or_else(|| {
            Error::binder(
                "ATTACH ... (TYPE vgi) needs a LOCATION: a worker command, http(s)://, unix:// or launch: address \
                 (as the LOCATION option or in the path: 'catalog?location=...')",
            )
        })?;
        crate::sandbox::check_location("ATTACH", &location, policy.external_access, policy.allowed_locations)?;
        let dedicated = match user.remove(POOL) {
            None => false,
            Some(option) => !pool_flag(&option)?,
        };
        let connect = ConnectOptions {
            bearer_token: text(&mut user, BEARER_TOKEN)?,
            // Debugging aid: echo the workers' stderr to ours.
            stderr_passthrough: std::env::var("VGI_WORKER_STDERR_PASSTHROUGH").is_ok_and(|v| v == "1"),
            dedicated_to: dedicated.then(next_dedicated_id),
            ..Default::default()
        };
        let data_version = text(&mut user, DATA_VERSION)?;
        let implementation_version = text(&mut user, IMPLEMENTATION_VERSION)?;

        let mut client = Pool::global().get(&location, &connect)?;
        let catalogs = client.catalogs()?;
        let info = catalogs.iter().find(|c| c.name == name).ok_or_else(|| {
            let names: Vec<_> = catalogs.iter().map(|c| c.name.as_str()).collect();
            Error::new(ErrorKind::Catalog, format!("the worker at '{}' has no catalog '{name}' (it offers: {})", worker_client::transport::redacted(&location), names.join(", ")))
        })?;
        let specs = worker_client::records::decode_all::<AttachOptionSpec>(&info.attach_option_specs)?;
        let worker_options = validate_options(name, &specs, user)?;
        let capabilities = ClientCapabilities {
            engine: "duckdb".into(),
            native_formats: vec![],
            catalogs: vec![],
            can_stream: true,
            filter_encodings: vec![worker_client::filters::FILTER_ENCODING.into()],
        };
        let request = CatalogAttachRequest {
            name: name.into(),
            options: worker_options,
            data_version_spec: data_version,
            implementation_version,
            client_capabilities: Some(capabilities.to_blob()),
        };
        let attach = client.attach(&request)?;
        Pool::global().put(client);
        let version = Mutex::new(attach.catalog_version);
        Ok(AttachedCatalog { name: name.into(), location, connect, attach, contents: Mutex::new(None), version, generation: AtomicU64::new(0), branch_views: Mutex::default(), detached: AtomicBool::new(false) })
    }

    /// Runs `f` on a pooled connection to the worker, returning it to the pool afterwards.
    pub fn with_client<T>(&self, f: impl FnOnce(&mut Client) -> worker_client::Result<T>) -> Result<T> {
        let mut client = Pool::global().get(&self.location, &self.connect)?;
        let result = f(&mut client);
        Pool::global().put(client);
        Ok(result?)
    }

    pub fn scope(&self) -> AttachScope {
        AttachScope { attach_opaque_data: self.attach.attach_opaque_data.clone(), transaction_opaque_data: None }
    }

    pub fn attach_data(&self) -> Blob {
        self.attach.attach_opaque_data.clone()
    }

    /// DETACH: tells the worker and drops its pooled connections (a `pool false` catalog's
    /// own workers, or the shared idle ones of its location).
    pub fn detach(&self) {
        self.detached.store(true, Ordering::SeqCst);
        let _ = self.with_client(|c| c.detach(&self.attach.attach_opaque_data));
        if self.connect.dedicated_to.is_some() {
            Pool::global().evict_key(&self.location, &self.connect);
        } else {
            Pool::global().evict(&self.location);
        }
    }

    /// The catalog's contents, loading them on first use.
    pub fn contents(&self) -> Result<Arc<Contents>> {
        let mut cached = self.contents.lock().unwrap_or_else(|p| p.into_inner());
        if let Some(contents) = cached.as_ref() {
            return Ok(contents.clone());
        }
        let loaded = Arc::new(self.load()?);
        *cached = Some(loaded.clone());
        Ok(loaded)
    }

    /// The view a multi-branch table reads as (see [`crate::branches`]), asked once per table.
    pub fn branch_view(&self, duckdb_catalog: &str, schema: &str, table: &str) -> Result<Option<crate::branches::BranchView>> {
        let key = (schema.to_string(), table.to_string());
        if let Some(known) = self.branch_views.lock().unwrap_or_else(|p| p.into_inner()).get(&key) {
            return Ok(known.clone());
        }
        let contents = self.contents()?;
        let Some(info) = contents.schema(schema).and_then(|s| s.table(table)) else { return Ok(None) };
        let path = self.schema_path(schema)?;
        let view = crate::branches::branch_view(self, duckdb_catalog, &path, &info.name, table_columns(info)?.as_ref(), &info.required_filters)?;
        self.branch_views.lock().unwrap_or_else(|p| p.into_inner()).insert(key, view.clone());
        Ok(view)
    }

    /// The worker's path of a schema DuckDB names (paths are joined with '.').
    pub fn schema_path(&self, schema: &str) -> Result<Vec<String>> {
        Ok(self.contents()?.schema(schema).map(|s| s.path.clone()).unwrap_or_else(|| vec![schema.to_string()]))
    }

    /// Forgets cached metadata (the worker's catalog version changed, or DDL ran).
    pub fn invalidate(&self) {
        *self.contents.lock().unwrap_or_else(|p| p.into_inner()) = None;
        self.branch_views.lock().unwrap_or_else(|p| p.into_inner()).clear();
        self.generation.fetch_add(1, Ordering::SeqCst);
    }

    /// At transaction start: asks the worker for its catalog version (unless it declared it
    /// frozen) and drops cached metadata when it changed. Returns the metadata generation.
    pub fn refresh(&self) -> Result<u64> {
        if !self.attach.catalog_version_frozen {
            let current = self.with_client(|c| c.catalog_version(&self.scope()))?;
            let mut known = self.version.lock().unwrap_or_else(|p| p.into_inner());
            if current != *known {
                *known = current;
                self.invalidate();
            }
        }
        Ok(self.generation.load(Ordering::SeqCst))
    }

    fn load(&self) -> Result<Contents> {
        if self.attach.supports_catalog_contents {
            if let Ok(contents) = self.load_bulk() {
                return Ok(contents);
            }
        }
        self.load_per_schema()
    }

    /// One `catalog_contents` call: every category is an IPC stream, one record per row.
    fn load_bulk(&self) -> Result<Contents> {
        let params = ContentsParams { attach_opaque_data: self.attach_data(), if_none_match: None };
        let response = self.with_client(|c| c.catalog_contents(&params))?;
        let schemas: Vec<SchemaInfo> = rows(&response.schemas)?;
        let mut contents = Contents { schemas: schemas.into_iter().map(SchemaContents::from_info).collect() };
        for table in rows::<TableInfo>(&response.tables)? {
            contents.schema_mut(&table.schema_path).tables.push(table);
        }
        for view in rows::<ViewInfo>(&response.views)? {
            contents.schema_mut(&view.schema_path).views.push(view);
        }
        for function in rows::<FunctionInfo>(&response.functions)? {
            contents.schema_mut(&function.schema_path).functions.push(function);
        }
        for m in rows::<MacroInfo>(&response.macros)? {
            contents.schema_mut(&m.schema_path).macros.push(m);
        }
        Ok(contents)
    }

    fn load_per_schema(&self) -> Result<Contents> {
        let scope = self.scope();
        self.with_client(|client| {
            let mut schemas = Vec::new();
            for info in client.schemas(&scope)? {
                let counts = info.estimated_object_count.clone().unwrap_or_default();
                let has = |kind: &str| counts.get(kind).is_none_or(|n| *n > 0);
                let mut schema = SchemaContents::from_info(info);
                let at = SchemaScope { attach_opaque_data: scope.attach_opaque_data.clone(), path: schema.path.clone(), transaction_opaque_data: None };
                if has("table") {
                    schema.tables = client.tables(&at)?;
                }
                if has("view") {
                    schema.views = client.views(&at)?;
                }
                for (kind, key) in [
                    (SchemaObjectType::TableFunction, "table_function"),
                    (SchemaObjectType::ScalarFunction, "scalar_function"),
                    (SchemaObjectType::AggregateFunction, "aggregate_function"),
                ] {
                    if has(key) {
                        let objects = SchemaObjectsScope { attach_opaque_data: at.attach_opaque_data.clone(), path: at.path.clone(), r#type: kind, transaction_opaque_data: None };
                        schema.functions.extend(client.functions(&objects)?);
                    }
                }
                if has("macro") {
                    for kind in [SchemaObjectType::ScalarMacro, SchemaObjectType::TableMacro] {
                        let objects = SchemaObjectsScope { attach_opaque_data: at.attach_opaque_data.clone(), path: at.path.clone(), r#type: kind, transaction_opaque_data: None };
                        schema.macros.extend(client.macros(&objects)?);
                    }
                }
                schemas.push(schema);
            }
            Ok(Contents { schemas })
        })
    }

    /// `bind` of a worker function: the request (re-sent inside `init`), the response and the
    /// decoded output schema.
    pub fn bind_function(
        &self,
        function: &str,
        function_type: worker_client::records::FunctionType,
        schema_path: Option<Vec<String>>,
        arguments: &worker_client::arguments::Arguments,
        options: BindOptions<'_>,
    ) -> Result<(worker_client::records::BindRequest, worker_client::records::BindResponse, SchemaRef)> {
        let BindOptions { input_schema, at, argument_names, call, copy_from, copy_to } = options;
        let (at_unit, at_value) = at.map_or((None, None), |(u, v)| (Some(u), Some(v)));
        let mut request = worker_client::records::BindRequest {
            at_unit,
            at_value,
            argument_names,
            function_name: function.into(),
            arguments: arguments.to_blob()?,
            function_type,
            input_schema: input_schema.map(|s| Blob(worker_client::framing::encode_schema(s))),
            attach_opaque_data: Some(self.attach_data()),
            schema_path,
            transaction_opaque_data: call.and_then(|c| c.transaction.clone()),
            settings: match call {
                Some(c) => c.settings_blob()?,
                None => None,
            },
            copy_from: copy_from.map(worker_client::wire::Inline),
            copy_to: copy_to.map(worker_client::wire::Inline),
            ..Default::default()
        };
        let mut response = self.with_client(|c| c.bind(&request, None))?;
        // Two-phase secrets: the worker names the secrets it needs, the bind goes again with them.
        if !response.lookup_secret_types.is_empty() {
            let call = call.ok_or_else(|| Error::new(ErrorKind::InvalidInput, format!("vgi: {function} asks for secrets")))?;
            request.secrets = call.resolve_secrets(&response.lookup_secret_types, &response.lookup_scopes, &response.lookup_names)?;
            request.resolved_secrets_provided = true;
            response = self.with_client(|c| c.bind(&request, None)).map_err(|mut e| {
                if let Some(hint) = call.missing_secrets_hint() {
                    e.message = format!("{}\n{hint}", e.message);
                }
                e
            })?;
            if !response.lookup_secret_types.is_empty() {
                return Err(Error::new(ErrorKind::Io, format!("the worker's {function} asked for secrets again after receiving them")));
            }
        }
        let output = Arc::new(decode_schema(&response.output_schema.0)?);
        Ok((request, response, output))
    }

    /// The catalog's description of the table function a bind request calls (its planner
    /// capabilities); `None` when the catalog does not list it.
    pub fn function_info(&self, request: &worker_client::records::BindRequest) -> Option<FunctionInfo> {
        let path = request.schema_path.clone().unwrap_or_else(|| vec![self.default_schema().to_string()]);
        self.function_named(&path, &request.function_name, request.function_type)
            .or_else(|| self.function_by_bare_name(&request.function_name, request.function_type))
    }

    /// The function a worker binds when the schema it was named in does not hold it: the one
    /// of that name (the default schema's, when several schemas have one). An inline scan
    /// function names the table's schema, which need not be the function's (`data.tt_pushdown_fn`
    /// is served by `main.tt_pushdown_scan`); without this its capabilities would be lost.
    fn function_by_bare_name(&self, name: &str, kind: worker_client::records::FunctionType) -> Option<FunctionInfo> {
        let contents = self.contents().ok()?;
        let mut found = contents.schemas.iter().filter_map(|s| s.functions.iter().find(|f| f.name == name && f.function_type == kind).map(|f| (s, f)));
        let first = found.next()?;
        let rest: Vec<_> = found.collect();
        if rest.is_empty() {
            return Some(first.1.clone());
        }
        std::iter::once(first).chain(rest).find(|(s, _)| s.name.eq_ignore_ascii_case(self.default_schema())).map(|(_, f)| f.clone())
    }

    /// The catalog's description of function `name` of `kind` in the schema at `schema_path`.
    pub fn function_named(&self, schema_path: &[String], name: &str, kind: worker_client::records::FunctionType) -> Option<FunctionInfo> {
        let contents = self.contents().ok()?;
        let schema = contents.schema(&schema_path.join("."))?;
        schema.functions.iter().find(|f| f.name == name && f.function_type == kind).cloned()
    }

    /// A table as of a version or time (`catalog_table_get` with `at_unit`/`at_value`).
    pub fn table_at(&self, schema_path: &[String], table: &str, at: &(String, String)) -> Result<Option<TableInfo>> {
        if !self.attach.supports_time_travel {
            return Err(Error::binder(format!("catalog '{}' does not support AT (time travel)", self.name)));
        }
        let scope = worker_client::methods::TableAtScope {
            attach_opaque_data: self.attach_data(),
            schema_path: schema_path.to_vec(),
            name: table.into(),
            at_unit: Some(at.0.clone()),
            at_value: Some(at.1.clone()),
            transaction_opaque_data: None,
        };
        self.with_client(|c| c.table(&scope))
    }

    /// The schema DuckDB uses when a query names none.
    pub fn default_schema(&self) -> &str {
        if self.attach.default_schema.is_empty() {
            "main"
        } else {
            &self.attach.default_schema
        }
    }
}

impl Contents {
    fn schema_mut(&mut self, path: &[String]) -> &mut SchemaContents {
        let name = path.join(".");
        if let Some(i) = self.schemas.iter().position(|s| s.name == name) {
            return &mut self.schemas[i];
        }
        self.schemas.push(SchemaContents { name, path: path.to_vec(), ..Default::default() });
        self.schemas.last_mut().expect("just pushed")
    }

    pub fn schema(&self, name: &str) -> Option<&SchemaContents> {
        self.schemas.iter().find(|s| s.name.eq_ignore_ascii_case(name))
    }
}

impl SchemaContents {
    fn from_info(info: SchemaInfo) -> Self {
        SchemaContents { name: info.path.join("."), path: info.path, comment: info.comment, tags: info.tags, ..Default::default() }
    }

    pub fn table(&self, name: &str) -> Option<&TableInfo> {
        self.tables.iter().find(|t| t.name.eq_ignore_ascii_case(name))
    }
}

/// Decodes a `catalog_contents` category: an IPC stream of possibly several batches whose
/// rows are records.
fn rows<R: Record>(category: &Option<Blob>) -> Result<Vec<R>> {
    let Some(blob) = category else { return Ok(Vec::new()) };
    let mut reader = MessageReader::new(&blob.0[..]);
    reader.read_schema()?;
    let mut out = Vec::new();
    while let Some((batch, _)) = reader.read_batch()? {
        for row in 0..batch.num_rows() {
            out.push(R::from_batch(&batch, row)?);
        }
    }
    Ok(out)
}

/// Checks user options against the worker's declared specs and builds the `options` batch:
/// unknown or missing required options are errors, values are cast to the declared types.
fn validate_options(catalog: &str, specs: &[AttachOptionSpec], mut user: BTreeMap<String, OptionValue>) -> Result<Option<Blob>> {
    let mut fields = Vec::new();
    let mut columns = Vec::new();
    for spec in specs {
        let declared = decode_schema(&spec.r#type.0)?;
        let target = declared.field_with_name("value").map(|f| f.data_type().clone()).unwrap_or(arrow_schema::DataType::Utf8);
        match user.remove(&spec.name.to_ascii_lowercase()) {
            Some(OptionValue { from_path: true, .. }) if spec.secret == Some(true) => {
                return Err(crate::attach_target::secret_in_path(&spec.name));
            }
            Some(OptionValue { value, .. }) => {
                let cast = arrow_cast::cast(value.as_ref(), &target).ok().filter(|c| c.null_count() == value.null_count());
                let Some(cast) = cast else {
                    return Err(Error::invalid_input(format!(
                        "ATTACH option '{}' of catalog '{catalog}' expects {target}, got {}",
                        spec.name,
                        value.data_type()
                    )));
                };
                fields.push(Field::new(&spec.name, target, true));
                columns.push(cast);
            }
            None if spec.required == Some(true) && spec.default_value.is_none() => {
                return Err(Error::invalid_input(format!(
                    "catalog '{catalog}' requires the ATTACH option '{}' ({})",
                    spec.name, spec.description
                )));
            }
            None => {}
        }
    }
    if let Some(unknown) = user.keys().next() {
        let known: Vec<_> = specs.iter().map(|s| s.name.as_str()).chain([LOCATION, BEARER_TOKEN, DATA_VERSION, IMPLEMENTATION_VERSION, POOL]).collect();
        return Err(Error::invalid_input(format!(
            "unknown ATTACH option '{unknown}' for catalog '{catalog}' (known options: {})",
            known.join(", ")
        )));
    }
    if fields.is_empty() {
        return Ok(None);
    }
    let batch = RecordBatch::try_new(Arc::new(Schema::new(fields)), columns)?;
    Ok(Some(Blob(worker_client::framing::encode_stream(&batch, &[])?)))
}

/// The `pool` option's value: a boolean, or text / a number that casts to one.
fn pool_flag(option: &OptionValue) -> Result<bool> {
    let cast = arrow_cast::cast(option.value.as_ref(), &arrow_schema::DataType::Boolean).ok();
    match cast.as_ref().and_then(|c| c.as_any().downcast_ref::<arrow_array::BooleanArray>()) {
        Some(flags) if flags.len() == 1 && flags.is_valid(0) => Ok(flags.value(0)),
        _ => Err(Error::invalid_input("ATTACH option 'pool' expects a boolean (pool false gives the catalog workers of its own)")),
    }
}

/// A process-unique id for a catalog whose workers are its own.
fn next_dedicated_id() -> u64 {
    static NEXT: AtomicU64 = AtomicU64::new(1);
    NEXT.fetch_add(1, Ordering::Relaxed)
}

/// A table's columns as DuckDB should see them: the worker's schema with its NOT NULL
/// constraints applied to the fields.
/// The worker's row id column of a table (DuckDB's `rowid`, with the worker's type), if any.
pub fn table_row_id(table: &TableInfo) -> Result<Option<SchemaRef>> {
    let schema = decode_schema(&table.columns.0)?;
    Ok(schema.fields().iter().find(|f| is_row_id(f)).map(|f| Arc::new(Schema::new(vec![f.as_ref().clone()]))))
}

pub fn table_columns(table: &TableInfo) -> Result<SchemaRef> {
    let schema = decode_schema(&table.columns.0)?;
    // The worker's row id column is DuckDB's `rowid` pseudo-column, not a table column.
    let mut rowid = None;
    let fields: Vec<Field> = schema
        .fields()
        .iter()
        .enumerate()
        .filter_map(|(i, f)| {
            if is_row_id(f) {
                rowid = Some(f.name().clone());
                return None;
            }
            let mut f = f.as_ref().clone();
            if table.not_null_constraints.contains(&(i as i32)) {
                f.set_nullable(false);
            }
            Some(f)
        })
        .collect();
    // Key constraints travel to the adapter as schema metadata: constraints separated by
    // RS (0x1e), the columns of one constraint by US (0x1f).
    let mut metadata = schema.metadata().clone();
    if let Some(name) = rowid {
        metadata.insert(ROWID_METADATA.to_string(), name);
    }
    let column_name = |i: &i32| schema.fields().get(*i as usize).map(|f| f.name().clone()).unwrap_or_default();
    let keys = |constraints: &[Vec<i32>]| {
        constraints.iter().map(|cols| cols.iter().map(column_name).collect::<Vec<_>>().join("\x1f")).collect::<Vec<_>>().join("\x1e")
    };
    if !table.primary_key_constraints.is_empty() {
        metadata.insert(PRIMARY_KEY_METADATA.to_string(), keys(&table.primary_key_constraints));
    }
    if !table.unique_constraints.is_empty() {
        metadata.insert(UNIQUE_METADATA.to_string(), keys(&table.unique_constraints));
    }
    if !table.check_constraints.is_empty() {
        metadata.insert(CHECK_METADATA.to_string(), table.check_constraints.join("\x1e"));
    }
    Ok(Arc::new(Schema::new_with_metadata(fields, metadata)))
}

/// The optional parts of a worker `bind` call.
#[derive(Default)]
pub struct BindOptions<'a> {
    /// The schema of the rows the function receives (scalar and table-in-out functions).
    pub input_schema: Option<&'a Schema>,
    /// `AT (unit => value)` time travel of a catalog table's scan.
    pub at: Option<(String, String)>,
    /// The declared names of the call's parameters.
    pub argument_names: Option<Vec<String>>,
    /// The DuckDB session's side of the call: transaction, settings, secrets.
    pub call: Option<&'a CallContext<'a>>,
    /// The COPY statement a format's handler is bound for (see [`crate::copy`]).
    pub copy_from: Option<worker_client::records::CopyFromContext>,
    pub copy_to: Option<worker_client::records::CopyToContext>,
}

/// The settings a worker declared at ATTACH as one row of their defaults (NULL where none);
/// each field carries its `description` as metadata.
pub fn declared_settings(attach: &CatalogAttachResult) -> Result<RecordBatch> {
    let mut fields = Vec::new();
    let mut columns: Vec<ArrayRef> = Vec::new();
    for spec in attach.setting_specs()? {
        let declared = decode_schema(&spec.r#type.0)?;
        let value_type = declared.fields().first().map(|f| f.data_type().clone()).ok_or_else(|| {
            Error::new(ErrorKind::Io, format!("the worker's setting {} declares no type", spec.name))
        })?;
        let default = match &spec.default_value {
            Some(blob) => {
                let batch = worker_client::framing::decode_single_batch(&blob.0)?;
                match batch.column_by_name("value") {
                    Some(v) if v.len() == 1 => arrow_cast::cast(v.as_ref(), &value_type)?,
                    _ => arrow_array::new_null_array(&value_type, 1),
                }
            }
            None => arrow_array::new_null_array(&value_type, 1),
        };
        let metadata: std::collections::HashMap<String, String> = [("description".to_string(), spec.description.clone())].into();
        fields.push(Field::new(spec.name.clone(), value_type, true).with_metadata(metadata));
        columns.push(default);
    }
    let options = arrow_array::RecordBatchOptions::new().with_row_count(Some(1));
    Ok(RecordBatch::try_new_with_options(Arc::new(Schema::new(fields)), columns, &options)?)
}

/// Field metadata marking a worker table's row id column (UPDATE/DELETE address rows by it).
pub const ROW_ID_FIELD_METADATA: &str = "is_row_id";

pub fn is_row_id(field: &Field) -> bool {
    field.metadata().contains_key(ROW_ID_FIELD_METADATA)
}

/// Schema metadata of `table_columns`: the name of the table's row id column, if any.
pub const ROWID_METADATA: &str = "vgi.rowid";

/// Schema metadata keys of `table_columns` (read by `cpp/catalog.cpp`).
pub const PRIMARY_KEY_METADATA: &str = "vgi.primary_key";
pub const UNIQUE_METADATA: &str = "vgi.unique";
pub const CHECK_METADATA: &str = "vgi.check";

/// A macro's parameters as the adapter reads them: one field per parameter, in order, with
/// its default as SQL text in the `default` metadata; the macro kind in the schema metadata.
pub fn macro_parameters(m: &MacroInfo) -> Result<SchemaRef> {
    let defaults = match &m.parameter_default_values {
        Some(blob) => Some(worker_client::framing::decode_single_batch(&blob.0)?),
        None => None,
    };
    let fields: Vec<Field> = m
        .parameters
        .iter()
        .map(|name| {
            let mut field = Field::new(name, arrow_schema::DataType::Utf8, true);
            if let Some(value) = defaults.as_ref().and_then(|d| d.column_by_name(name)) {
                let metadata: std::collections::HashMap<String, String> = [("default".to_string(), sql_literal(value.as_ref()))].into_iter().collect();
                field = field.with_metadata(metadata);
            }
            field
        })
        .collect();
    let kind = if m.macro_type == MacroType::Table { "TABLE" } else { "SCALAR" };
    let metadata: std::collections::HashMap<String, String> = [(MACRO_TYPE_METADATA.to_string(), kind.to_string())].into_iter().collect();
    Ok(Arc::new(Schema::new_with_metadata(fields, metadata)))
}

/// Schema metadata key of `macro_parameters`.
pub const MACRO_TYPE_METADATA: &str = "vgi.macro_type";

/// Row 0 of a one-value array as a SQL literal (numbers and booleans bare, NULL, others quoted).
pub fn sql_literal(array: &dyn Array) -> String {
    if array.is_null(0) {
        return "NULL".into();
    }
    let text = arrow_cast::display::ArrayFormatter::try_new(array, &Default::default())
        .map(|f| f.value(0).to_string())
        .unwrap_or_default();
    if array.data_type().is_numeric() || array.data_type() == &arrow_schema::DataType::Boolean {
        text
    } else {
        format!("'{}'", text.replace('\'', "''"))
    }
}
