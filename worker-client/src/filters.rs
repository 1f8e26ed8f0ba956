//! Filter Encoding v2 (`vgi.filters.v2`) producer: turns filter expression trees into the
//! one-row Arrow containers that carry pushed-down predicates to a worker.
//!
//! # Wire format
//!
//! A filter container is a [`RecordBatch`] with exactly one row:
//! - field 0 is `filter_spec: utf8 NOT NULL`, a compact JSON document (a `snapshot` with
//!   `predicates`, or a `delta` with `updates`) holding only structure: nodes, operators,
//!   column indexes and names, and *references* to typed payloads;
//! - every literal is a payload field `value_N` holding one typed Arrow value (an `IN` set is
//!   one `list<T>` value), and every cast target is a field `type_N` holding a NULL whose field
//!   type (plus extension metadata) is the target type;
//! - the evaluation context is **schema-level** metadata: `vgi_filter_encoding`,
//!   `vgi_filter_version`, `vgi_evaluation_context` and, for `vgi.duckdb.session.v1`, the
//!   DuckDB session settings (see [`EvaluationContext`]).
//!
//! A [`FilterSnapshot`] encodes to the IPC stream bytes of `InitRequest.pushdown_filters`; a
//! [`FilterDelta`] encodes to the base64 text of the [`TICK_METADATA_KEY`] tick metadata.
//!
//! # Literal types
//!
//! A [`ScalarValue`] is any one-element Arrow array plus an optional Arrow extension type, so
//! every Arrow type can be sent. The reference consumer (vgi-python 0.47.0) evaluates filters
//! with embedded DuckDB 1.5.5, which fixes what is actually usable. The typed constructors
//! produce the forms DuckDB's own Arrow export uses:
//!
//! | DuckDB type | Wire type |
//! |---|---|
//! | `HUGEINT` / `UHUGEINT` | `decimal128(38, 0)` ([`ScalarValue::hugeint`], [`ScalarValue::uhugeint`]); values beyond ±(10^38 − 1) are refused, since the lossless `arrow.opaque` form is an unknown extension to the consumer and DuckDB cannot import `decimal256` at all |
//! | `DECIMAL(p, s)` | `decimal128(p, s)`; [`ScalarValue::decimal256`] narrows to `decimal128` |
//! | `UUID` | `fixed_size_binary(16)` with extension `arrow.uuid` |
//! | `ENUM` | `dictionary<uint8/uint16/uint32, utf8>` holding all members (index width as DuckDB picks it) |
//! | `INTERVAL` | `month_day_nano_interval` (the consumer cannot read `year_month`/`day_time` payloads: pyarrow has no scalar for them) |
//! | `TIMESTAMP[_S/_MS/_NS]`, `TIMESTAMPTZ` | `timestamp(unit[, tz])` |
//! | `TIME WITH TIME ZONE` | **not representable**: DuckDB's lossless form is the `arrow.opaque` extension, which the consumer rejects, and its lossy `time64` drops the offset. Decline such predicates. |
//!
//! An `IN` set whose element type is an Arrow extension type (e.g. UUID) is lowered to an `or`
//! of `eq` comparisons, one `value_N` per candidate: the reference consumer cannot rebuild a
//! `list<extension>` payload. The lowering keeps SQL `IN` semantics exactly (NULL candidates,
//! NULL needles, empty sets).
//!
//! # Producer rules enforced here
//!
//! Every limit and shape rule the consumer validates is checked before bytes are produced, as
//! [`Error::InvalidArgument`]: JSON ≤ 1 MiB, expression depth ≤ 64, ≤ 10 000 nodes per
//! document, ≤ 1024 predicates per snapshot, payloads ≤ 16 MiB, predicate IDs non-empty and
//! ≤ 128 bytes and unique, snapshot revisions zero, delta upserts advisory, at most 256 call
//! arguments, canonical extension-function identities, and only Arrow extension types the
//! consumer knows. Things only the worker can check (column names against the bind schema,
//! type compatibility, whether an expression depends on session context) are left to it.
use std::sync::Arc;

use arrow_array::types::{UInt16Type, UInt32Type, UInt8Type};
use arrow_array::{
    new_null_array, Array, ArrayRef, BinaryArray, BooleanArray, Date32Array, Date64Array, Decimal128Array,
    DictionaryArray, FixedSizeBinaryArray, Float32Array, Float64Array, Int16Array, Int32Array, Int64Array, Int8Array,
    IntervalMonthDayNanoArray, ListArray, RecordBatch, StringArray, Time32MillisecondArray, Time32SecondArray,
    Time64MicrosecondArray, Time64NanosecondArray, TimestampMicrosecondArray, TimestampMillisecondArray,
    TimestampNanosecondArray, TimestampSecondArray, UInt16Array, UInt32Array, UInt64Array, UInt8Array,
};
use arrow_buffer::{i256, IntervalMonthDayNano, OffsetBuffer};
use arrow_schema::{DataType, Field, Metadata, Schema, TimeUnit};

use crate::error::{Error, Result};
use crate::framing::encode_stream;

/// `vgi_filter_encoding` value and document `encoding`.
pub const FILTER_ENCODING: &str = "vgi.filters.v2";
/// `vgi_filter_version` value.
pub const FILTER_VERSION: &str = "2";
/// Document `semantics`: the expression-semantics profile (DuckDB 1.5.5 behaviour).
pub const SEMANTICS_DUCKDB_STANDARD_V1: &str = "vgi.duckdb.standard.v1";
/// Evaluation-context profile for context-independent predicates.
pub const CONTEXT_NONE_V1: &str = "vgi.none.v1";
/// Evaluation-context profile carrying DuckDB session settings.
pub const CONTEXT_DUCKDB_SESSION_V1: &str = "vgi.duckdb.session.v1";
/// Tick / exchange-input batch metadata key carrying a base64 [`FilterDelta`].
pub const TICK_METADATA_KEY: &str = "vgi_pushdown_filters";

/// Largest `filter_spec` JSON document, in UTF-8 bytes.
pub const MAX_JSON_BYTES: usize = 1 << 20;
/// Deepest expression nesting (the predicate's root expression is depth 1).
pub const MAX_DEPTH: usize = 64;
/// Most expression nodes in one document, over all predicates.
pub const MAX_NODES: usize = 10_000;
/// Most predicates in one snapshot.
pub const MAX_PREDICATES: usize = 1_024;
/// Most distinct predicate IDs per scan (live plus removed); bounds a delta's updates.
pub const MAX_PREDICATE_IDS: usize = 4_096;
/// Most arguments of one call.
pub const MAX_ARGUMENTS: usize = 256;
/// Longest predicate ID, in UTF-8 bytes.
pub const MAX_ID_BYTES: usize = 128;
/// Longest context-provider fingerprint, in UTF-8 bytes.
pub const MAX_FINGERPRINT_BYTES: usize = 256;
/// Largest filter container (JSON plus payload buffers), in bytes.
pub const MAX_PAYLOAD_BYTES: usize = 16 << 20;
/// Largest delta IPC stream the worker decodes from tick metadata.
pub const MAX_DELTA_IPC_BYTES: usize = 17 << 20;
/// Largest base64 delta text the worker accepts in tick metadata.
pub const MAX_DELTA_BASE64_BYTES: usize = 24 << 20;

/// Arrow extension types the reference consumer knows; anything else is rejected there.
const KNOWN_EXTENSIONS: &[&str] = &[
    "arrow.bool8",
    "arrow.json",
    "arrow.uuid",
    "geoarrow.linestring",
    "geoarrow.multilinestring",
    "geoarrow.multipoint",
    "geoarrow.multipolygon",
    "geoarrow.point",
    "geoarrow.polygon",
    "geoarrow.wkb",
];
const EXTENSION_NAME_KEY: &str = "ARROW:extension:name";
const EXTENSION_METADATA_KEY: &str = "ARROW:extension:metadata";
/// Lowering recursion guard for pathological (un-flattenable) input trees.
const MAX_INPUT_DEPTH: usize = 4_096;

fn invalid(msg: impl Into<String>) -> Error {
    Error::InvalidArgument(format!("filter pushdown: {}", msg.into()))
}

// ------------------------------------------------------------------------------------------
// Evaluation context
// ------------------------------------------------------------------------------------------

/// The DuckDB session settings that governed binding of the filter expressions
/// (`vgi.duckdb.session.v1`). Capture them from the session that bound the expression.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DuckDbSessionContext {
    /// DuckDB `TimeZone` (an ICU setting), e.g. `America/New_York`.
    pub time_zone: String,
    /// DuckDB `Calendar` (an ICU setting), e.g. `gregorian`.
    pub calendar: String,
    /// DuckDB `default_collation`; empty is sent as `binary`.
    pub default_collation: String,
    /// DuckDB `ieee_floating_point_ops`.
    pub ieee_floating_point_ops: bool,
    /// DuckDB `integer_division`.
    pub integer_division: bool,
    /// Optional strict provider matching: must equal a fingerprint the worker advertised.
    pub provider_fingerprint: Option<String>,
}

/// Which evaluation-context profile a filter container declares. Every snapshot and delta of
/// one scan must use the same value.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub enum EvaluationContext {
    /// `vgi.none.v1`: no predicate depends on session settings (the usual case).
    #[default]
    None,
    /// `vgi.duckdb.session.v1`: only when the worker advertised it in
    /// `filter_evaluation_contexts`.
    DuckDbSession(DuckDbSessionContext),
}

impl EvaluationContext {
    /// A `vgi.duckdb.session.v1` context without a provider fingerprint.
    pub fn duckdb_session(
        time_zone: impl Into<String>,
        calendar: impl Into<String>,
        default_collation: impl Into<String>,
        ieee_floating_point_ops: bool,
        integer_division: bool,
    ) -> Self {
        EvaluationContext::DuckDbSession(DuckDbSessionContext {
            time_zone: time_zone.into(),
            calendar: calendar.into(),
            default_collation: default_collation.into(),
            ieee_floating_point_ops,
            integer_division,
            provider_fingerprint: None,
        })
    }

    /// Requests strict provider matching (session profile only; a no-op for `None`).
    pub fn with_provider_fingerprint(mut self, fingerprint: impl Into<String>) -> Self {
        if let EvaluationContext::DuckDbSession(session) = &mut self {
            session.provider_fingerprint = Some(fingerprint.into());
        }
        self
    }

    /// The profile name (`vgi_evaluation_context`).
    pub fn profile(&self) -> &'static str {
        match self {
            EvaluationContext::None => CONTEXT_NONE_V1,
            EvaluationContext::DuckDbSession(_) => CONTEXT_DUCKDB_SESSION_V1,
        }
    }

    /// The schema-level metadata of a filter container under this context.
    pub fn schema_metadata(&self) -> Result<Metadata> {
        let mut metadata = Metadata::new();
        metadata.insert("vgi_filter_encoding", FILTER_ENCODING);
        metadata.insert("vgi_filter_version", FILTER_VERSION);
        metadata.insert("vgi_evaluation_context", self.profile());
        if let EvaluationContext::DuckDbSession(session) = self {
            let flag = |value: bool| if value { "true" } else { "false" };
            let collation = if session.default_collation.is_empty() { "binary" } else { &session.default_collation };
            metadata.insert("vgi_time_zone", session.time_zone.as_str());
            metadata.insert("vgi_calendar", session.calendar.as_str());
            metadata.insert("vgi_default_collation", collation);
            metadata.insert("vgi_ieee_floating_point_ops", flag(session.ieee_floating_point_ops));
            metadata.insert("vgi_integer_division", flag(session.integer_division));
            if let Some(fingerprint) = &session.provider_fingerprint {
                if fingerprint.is_empty() || fingerprint.len() > MAX_FINGERPRINT_BYTES {
                    return Err(invalid(format!(
                        "context provider fingerprint must be 1..={MAX_FINGERPRINT_BYTES} UTF-8 bytes"
                    )));
                }
                metadata.insert("vgi_context_provider_fingerprint", fingerprint.as_str());
            }
        }
        Ok(metadata)
    }
}

// ------------------------------------------------------------------------------------------
// Typed values
// ------------------------------------------------------------------------------------------

/// An Arrow extension type carried as field metadata (`ARROW:extension:name` / `:metadata`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ExtensionType {
    pub name: String,
    /// The serialized extension metadata; empty for most canonical types.
    pub metadata: String,
}

impl ExtensionType {
    pub fn new(name: impl Into<String>, metadata: impl Into<String>) -> Self {
        ExtensionType { name: name.into(), metadata: metadata.into() }
    }

    /// `arrow.uuid` over `fixed_size_binary(16)`.
    pub fn uuid() -> Self {
        ExtensionType::new("arrow.uuid", "")
    }

    fn field_metadata(&self) -> Metadata {
        let mut metadata = Metadata::new();
        metadata.insert(EXTENSION_NAME_KEY, self.name.as_str());
        metadata.insert(EXTENSION_METADATA_KEY, self.metadata.as_str());
        metadata
    }
}

/// One typed literal: a one-element Arrow array, plus an optional extension type. The value
/// (possibly NULL) and its exact Arrow type go on the wire unchanged as a `value_N` field.
#[derive(Debug, Clone)]
pub struct ScalarValue {
    array: ArrayRef,
    extension: Option<ExtensionType>,
}

fn one<A: Array + 'static>(array: A) -> ScalarValue {
    ScalarValue { array: Arc::new(array), extension: None }
}

/// 10^38 − 1, the largest magnitude of `decimal128(38, _)`.
const MAX_DECIMAL38: i128 = 99_999_999_999_999_999_999_999_999_999_999_999_999;

fn check_decimal(value: i128, precision: u8, scale: i8) -> Result<()> {
    if precision == 0 || precision > 38 || scale < 0 || scale as u8 > precision {
        return Err(invalid(format!("invalid DECIMAL({precision},{scale})")));
    }
    let limit = 10i128.pow(precision as u32) - 1;
    if value.unsigned_abs() > limit as u128 {
        return Err(invalid(format!("value {value} does not fit DECIMAL({precision},{scale})")));
    }
    Ok(())
}

impl ScalarValue {
    /// Wraps any one-element array (the general constructor; every Arrow type works).
    pub fn new(array: ArrayRef) -> Result<Self> {
        if array.len() != 1 {
            return Err(invalid(format!("a literal must be a one-element array, got {} elements", array.len())));
        }
        Ok(ScalarValue { array, extension: None })
    }

    /// Tags the value with an Arrow extension type (e.g. [`ExtensionType::uuid`]).
    pub fn with_extension(mut self, extension: ExtensionType) -> Self {
        self.extension = Some(extension);
        self
    }

    /// A typed NULL (`DataType::Null` gives DuckDB's untyped NULL).
    pub fn null(data_type: &DataType) -> Self {
        ScalarValue { array: new_null_array(data_type, 1), extension: None }
    }

    pub fn boolean(value: bool) -> Self {
        one(BooleanArray::from(vec![value]))
    }
    pub fn int8(value: i8) -> Self {
        one(Int8Array::from(vec![value]))
    }
    pub fn int16(value: i16) -> Self {
        one(Int16Array::from(vec![value]))
    }
    pub fn int32(value: i32) -> Self {
        one(Int32Array::from(vec![value]))
    }
    pub fn int64(value: i64) -> Self {
        one(Int64Array::from(vec![value]))
    }
    pub fn uint8(value: u8) -> Self {
        one(UInt8Array::from(vec![value]))
    }
    pub fn uint16(value: u16) -> Self {
        one(UInt16Array::from(vec![value]))
    }
    pub fn uint32(value: u32) -> Self {
        one(UInt32Array::from(vec![value]))
    }
    pub fn uint64(value: u64) -> Self {
        one(UInt64Array::from(vec![value]))
    }

    /// DuckDB `HUGEINT` as `decimal128(38, 0)` (what DuckDB's Arrow export produces). Values
    /// beyond ±(10^38 − 1) have no form the reference consumer accepts and are refused.
    pub fn hugeint(value: i128) -> Result<Self> {
        Self::decimal128(value, 38, 0).map_err(|_| {
            invalid(format!("HUGEINT {value} exceeds decimal128(38,0), the only 128-bit form the worker accepts"))
        })
    }

    /// DuckDB `UHUGEINT` as `decimal128(38, 0)`; values above 10^38 − 1 are refused.
    pub fn uhugeint(value: u128) -> Result<Self> {
        match i128::try_from(value) {
            Ok(v) if v <= MAX_DECIMAL38 => Self::decimal128(v, 38, 0),
            _ => Err(invalid(format!(
                "UHUGEINT {value} exceeds decimal128(38,0), the only 128-bit form the worker accepts"
            ))),
        }
    }

    pub fn float32(value: f32) -> Self {
        one(Float32Array::from(vec![value]))
    }
    pub fn float64(value: f64) -> Self {
        one(Float64Array::from(vec![value]))
    }

    /// `decimal128(precision, scale)` from its unscaled integer (`1234, 18, 2` is `12.34`).
    pub fn decimal128(unscaled: i128, precision: u8, scale: i8) -> Result<Self> {
        check_decimal(unscaled, precision, scale)?;
        let array = Decimal128Array::from(vec![unscaled])
            .with_precision_and_scale(precision, scale)
            .map_err(|e| invalid(e.to_string()))?;
        Ok(one(array))
    }

    /// A 256-bit decimal, narrowed to `decimal128(precision, scale)`: DuckDB (the reference
    /// evaluator) has no wider DECIMAL and cannot import Arrow `decimal256` at all. Values or
    /// precisions that do not fit 38 digits are refused.
    pub fn decimal256(unscaled: i256, precision: u8, scale: i8) -> Result<Self> {
        let narrow =
            unscaled.to_i128().ok_or_else(|| invalid(format!("decimal256 value {unscaled} does not fit 38 digits")))?;
        Self::decimal128(narrow, precision, scale)
    }

    /// `utf8` (DuckDB `VARCHAR`).
    pub fn utf8(value: &str) -> Self {
        one(StringArray::from(vec![value]))
    }
    /// `binary` (DuckDB `BLOB`).
    pub fn binary(value: &[u8]) -> Self {
        one(BinaryArray::from_vec(vec![value]))
    }
    /// `date32`: days since 1970-01-01 (DuckDB `DATE`).
    pub fn date32(days: i32) -> Self {
        one(Date32Array::from(vec![days]))
    }
    /// `date64`: milliseconds since 1970-01-01.
    pub fn date64(millis: i64) -> Self {
        one(Date64Array::from(vec![millis]))
    }

    /// `time32`/`time64` in `unit` since midnight (`Second`/`Millisecond` use `time32`).
    /// DuckDB `TIME` is `time64(us)`, `TIME_NS` is `time64(ns)`; they do not compare with each
    /// other without a cast.
    pub fn time(value: i64, unit: TimeUnit) -> Result<Self> {
        let narrow = || i32::try_from(value).map_err(|_| invalid(format!("time32 value {value} out of range")));
        Ok(match unit {
            TimeUnit::Second => one(Time32SecondArray::from(vec![narrow()?])),
            TimeUnit::Millisecond => one(Time32MillisecondArray::from(vec![narrow()?])),
            TimeUnit::Microsecond => one(Time64MicrosecondArray::from(vec![value])),
            TimeUnit::Nanosecond => one(Time64NanosecondArray::from(vec![value])),
        })
    }

    /// `timestamp(unit, tz)` since the epoch. `tz: None` is DuckDB `TIMESTAMP[_S/_MS/_NS]`;
    /// `Some(zone)` is `TIMESTAMPTZ` (an instant; the zone name only labels it).
    pub fn timestamp(value: i64, unit: TimeUnit, tz: Option<&str>) -> Self {
        match unit {
            TimeUnit::Second => one(TimestampSecondArray::from(vec![value]).with_timezone_opt(tz)),
            TimeUnit::Millisecond => one(TimestampMillisecondArray::from(vec![value]).with_timezone_opt(tz)),
            TimeUnit::Microsecond => one(TimestampMicrosecondArray::from(vec![value]).with_timezone_opt(tz)),
            TimeUnit::Nanosecond => one(TimestampNanosecondArray::from(vec![value]).with_timezone_opt(tz)),
        }
    }

    /// `month_day_nano_interval` (DuckDB `INTERVAL`).
    pub fn interval(months: i32, days: i32, nanoseconds: i64) -> Self {
        one(IntervalMonthDayNanoArray::from(vec![IntervalMonthDayNano::new(months, days, nanoseconds)]))
    }

    /// DuckDB `UUID`: `fixed_size_binary(16)` (big-endian RFC 4122 bytes) tagged `arrow.uuid`.
    pub fn uuid(bytes: [u8; 16]) -> Self {
        let array = FixedSizeBinaryArray::try_from_iter(std::iter::once(bytes)).expect("16-byte value");
        one(array).with_extension(ExtensionType::uuid())
    }

    /// A DuckDB `ENUM` value: `dictionary<K, utf8>` carrying every member, with the index
    /// type DuckDB uses for that many members (`uint8` up to 255, `uint16`, then `uint32`).
    pub fn enum_value(members: &[&str], index: usize) -> Result<Self> {
        if index >= members.len() {
            return Err(invalid(format!("enum index {index} out of range for {} members", members.len())));
        }
        let values: ArrayRef = Arc::new(StringArray::from(members.to_vec()));
        let wrap = |e: arrow_schema::ArrowError| invalid(e.to_string());
        Ok(if members.len() <= u8::MAX as usize {
            one(DictionaryArray::<UInt8Type>::try_new(UInt8Array::from(vec![index as u8]), values).map_err(wrap)?)
        } else if members.len() <= u16::MAX as usize {
            one(DictionaryArray::<UInt16Type>::try_new(UInt16Array::from(vec![index as u16]), values).map_err(wrap)?)
        } else {
            let index = u32::try_from(index).map_err(|_| invalid("enum has too many members"))?;
            one(DictionaryArray::<UInt32Type>::try_new(UInt32Array::from(vec![index]), values).map_err(wrap)?)
        })
    }

    /// A `list<T>` value (e.g. the needle list of `list_contains`, or a list column literal).
    pub fn list(values: &LiteralList) -> Self {
        ScalarValue { array: values.to_list_array(), extension: None }
    }

    /// The value's Arrow type.
    pub fn data_type(&self) -> &DataType {
        self.array.data_type()
    }
    /// The one-element array.
    pub fn array(&self) -> &ArrayRef {
        &self.array
    }
    /// The extension type, if any.
    pub fn extension(&self) -> Option<&ExtensionType> {
        self.extension.as_ref()
    }
    /// True when the value is NULL.
    pub fn is_null(&self) -> bool {
        self.array.data_type() == &DataType::Null || self.array.is_null(0)
    }

    fn field(&self, name: String) -> Field {
        let field = Field::new(name, self.array.data_type().clone(), true);
        match &self.extension {
            Some(extension) => field.with_metadata(extension.field_metadata()),
            None => field,
        }
    }
}

/// The candidates of an `IN` set (or the elements of a list literal): an Arrow array of any
/// length, plus an optional extension type of the elements. On the wire it becomes one
/// `list<T>` value whose item field is `item`, nullable.
#[derive(Debug, Clone)]
pub struct LiteralList {
    values: ArrayRef,
    extension: Option<ExtensionType>,
}

impl LiteralList {
    /// Candidates from an array of elements (NULL elements are SQL NULL candidates).
    pub fn new(values: ArrayRef) -> Self {
        LiteralList { values, extension: None }
    }

    /// An empty set of elements of `data_type`.
    pub fn empty(data_type: &DataType) -> Self {
        LiteralList::new(arrow_array::new_empty_array(data_type))
    }

    /// Candidates from scalars; they must all have the same type and extension (at least one
    /// is needed to know the type: use [`LiteralList::empty`] otherwise).
    pub fn from_scalars(scalars: &[ScalarValue]) -> Result<Self> {
        let first = scalars.first().ok_or_else(|| invalid("from_scalars needs at least one value"))?;
        for scalar in scalars {
            if scalar.data_type() != first.data_type() || scalar.extension != first.extension {
                return Err(invalid(format!(
                    "IN candidates must share one type: {} vs {}",
                    first.data_type(),
                    scalar.data_type()
                )));
            }
        }
        let arrays: Vec<&dyn Array> = scalars.iter().map(|s| s.array.as_ref()).collect();
        let values = arrow_select::concat::concat(&arrays).map_err(|e| invalid(e.to_string()))?;
        Ok(LiteralList { values, extension: first.extension.clone() })
    }

    /// Tags the elements with an Arrow extension type.
    pub fn with_extension(mut self, extension: ExtensionType) -> Self {
        self.extension = Some(extension);
        self
    }

    pub fn values(&self) -> &ArrayRef {
        &self.values
    }
    pub fn len(&self) -> usize {
        self.values.len()
    }
    pub fn is_empty(&self) -> bool {
        self.values.is_empty()
    }

    fn item_field(&self) -> Field {
        let field = Field::new("item", self.values.data_type().clone(), true);
        match &self.extension {
            Some(extension) => field.with_metadata(extension.field_metadata()),
            None => field,
        }
    }

    fn to_list_array(&self) -> ArrayRef {
        Arc::new(ListArray::new(
            Arc::new(self.item_field()),
            OffsetBuffer::from_lengths([self.values.len()]),
            self.values.clone(),
            None,
        ))
    }

    fn element(&self, i: usize) -> ScalarValue {
        ScalarValue { array: self.values.slice(i, 1), extension: self.extension.clone() }
    }
}

// ------------------------------------------------------------------------------------------
// Expressions
// ------------------------------------------------------------------------------------------

/// Binary comparison operators (`comparison.op`). The first six return NULL on a NULL
/// operand; the `distinct_from` pair compare NULLs as values.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ComparisonOp {
    Eq,
    Ne,
    Lt,
    Le,
    Gt,
    Ge,
    DistinctFrom,
    NotDistinctFrom,
}

impl ComparisonOp {
    pub fn wire_name(self) -> &'static str {
        match self {
            ComparisonOp::Eq => "eq",
            ComparisonOp::Ne => "ne",
            ComparisonOp::Lt => "lt",
            ComparisonOp::Le => "le",
            ComparisonOp::Gt => "gt",
            ComparisonOp::Ge => "ge",
            ComparisonOp::DistinctFrom => "distinct_from",
            ComparisonOp::NotDistinctFrom => "not_distinct_from",
        }
    }
}

/// Binary arithmetic operators (`arithmetic.op`). `Divide`/`Modulo` depend on DuckDB session
/// settings: the worker only accepts them under `vgi.duckdb.session.v1`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ArithmeticOp {
    Add,
    Subtract,
    Multiply,
    Divide,
    Modulo,
}

impl ArithmeticOp {
    pub fn wire_name(self) -> &'static str {
        match self {
            ArithmeticOp::Add => "add",
            ArithmeticOp::Subtract => "subtract",
            ArithmeticOp::Multiply => "multiply",
            ArithmeticOp::Divide => "divide",
            ArithmeticOp::Modulo => "modulo",
        }
    }
}

/// A function of a `call` node.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum FilterFunction {
    /// `starts_with(VARCHAR, VARCHAR)`.
    StartsWith,
    /// `ends_with(VARCHAR, VARCHAR)`.
    EndsWith,
    /// `contains(VARCHAR, VARCHAR)` (literal substring, not a regex).
    Contains,
    /// `list_contains(LIST<T>, T)`.
    ListContains,
    /// A capability-gated extension function, e.g. `duckdb.spatial/intersects_extent@1`; send
    /// only when the worker advertised the identity in `additional_filter_functions`.
    Extension { namespace: String, name: String, version: u64 },
}

/// The set of an `IN` node.
#[derive(Debug, Clone)]
pub enum InSet {
    /// Inline candidates, sent as one `list<T>` literal.
    Literal(LiteralList),
    /// A column of an `InitRequest.join_keys` batch (index authoritative, name validating).
    External { batch_index: usize, column_index: usize, column_name: String },
}

/// A filter expression tree (Filter Encoding v2 nodes). Column indexes refer to the
/// **unprojected** `BindResponse.output_schema`; names are validated by the worker.
#[derive(Debug, Clone)]
pub enum FilterExpr {
    /// `column_ref`: a top-level bind-schema column.
    ColumnRef { index: usize, name: String },
    /// `field_ref`: field `index` (named `name`) of a struct expression; nest for depth.
    FieldRef { expr: Box<FilterExpr>, index: usize, name: String },
    /// `literal`: a typed value.
    Literal(ScalarValue),
    /// `comparison`.
    Comparison { op: ComparisonOp, left: Box<FilterExpr>, right: Box<FilterExpr> },
    /// Kleene `and`. Nested `And`s are flattened; one child is sent as itself; none is
    /// sent as the BOOLEAN literal TRUE.
    And(Vec<FilterExpr>),
    /// Kleene `or`. Flattened like `And`; no children is the BOOLEAN literal FALSE.
    Or(Vec<FilterExpr>),
    /// Kleene `not`.
    Not(Box<FilterExpr>),
    /// `IS NULL` (`negated: false`) or `IS NOT NULL` (`negated: true`).
    IsNull { expr: Box<FilterExpr>, negated: bool },
    /// SQL `IN` / `NOT IN`.
    In { expr: Box<FilterExpr>, set: InSet, negated: bool },
    /// A throwing cast to `to` (plus an optional extension type such as `arrow.uuid`).
    Cast { expr: Box<FilterExpr>, to: DataType, extension: Option<ExtensionType> },
    /// `arithmetic`.
    Arithmetic { op: ArithmeticOp, left: Box<FilterExpr>, right: Box<FilterExpr> },
    /// Unary numeric `negate`.
    Negate(Box<FilterExpr>),
    /// `call` of a standard or extension function.
    Call { function: FilterFunction, args: Vec<FilterExpr> },
}

impl FilterExpr {
    pub fn column(index: usize, name: impl Into<String>) -> Self {
        FilterExpr::ColumnRef { index, name: name.into() }
    }
    /// `self.<name>` where `self` is a struct expression.
    pub fn field(self, index: usize, name: impl Into<String>) -> Self {
        FilterExpr::FieldRef { expr: Box::new(self), index, name: name.into() }
    }
    pub fn lit(value: ScalarValue) -> Self {
        FilterExpr::Literal(value)
    }
    pub fn compare(self, op: ComparisonOp, right: FilterExpr) -> Self {
        FilterExpr::Comparison { op, left: Box::new(self), right: Box::new(right) }
    }
    pub fn eq(self, right: FilterExpr) -> Self {
        self.compare(ComparisonOp::Eq, right)
    }
    pub fn ne(self, right: FilterExpr) -> Self {
        self.compare(ComparisonOp::Ne, right)
    }
    pub fn lt(self, right: FilterExpr) -> Self {
        self.compare(ComparisonOp::Lt, right)
    }
    pub fn le(self, right: FilterExpr) -> Self {
        self.compare(ComparisonOp::Le, right)
    }
    pub fn gt(self, right: FilterExpr) -> Self {
        self.compare(ComparisonOp::Gt, right)
    }
    pub fn ge(self, right: FilterExpr) -> Self {
        self.compare(ComparisonOp::Ge, right)
    }
    pub fn and(children: Vec<FilterExpr>) -> Self {
        FilterExpr::And(children)
    }
    pub fn or(children: Vec<FilterExpr>) -> Self {
        FilterExpr::Or(children)
    }
    #[allow(clippy::should_implement_trait)]
    pub fn not(self) -> Self {
        FilterExpr::Not(Box::new(self))
    }
    pub fn is_null(self) -> Self {
        FilterExpr::IsNull { expr: Box::new(self), negated: false }
    }
    pub fn is_not_null(self) -> Self {
        FilterExpr::IsNull { expr: Box::new(self), negated: true }
    }
    pub fn in_list(self, values: LiteralList) -> Self {
        FilterExpr::In { expr: Box::new(self), set: InSet::Literal(values), negated: false }
    }
    pub fn not_in_list(self, values: LiteralList) -> Self {
        FilterExpr::In { expr: Box::new(self), set: InSet::Literal(values), negated: true }
    }
    pub fn cast(self, to: DataType) -> Self {
        FilterExpr::Cast { expr: Box::new(self), to, extension: None }
    }
    pub fn arithmetic(self, op: ArithmeticOp, right: FilterExpr) -> Self {
        FilterExpr::Arithmetic { op, left: Box::new(self), right: Box::new(right) }
    }
    #[allow(clippy::should_implement_trait)]
    pub fn neg(self) -> Self {
        FilterExpr::Negate(Box::new(self))
    }
    pub fn call(function: FilterFunction, args: Vec<FilterExpr>) -> Self {
        FilterExpr::Call { function, args }
    }
}

// ------------------------------------------------------------------------------------------
// Predicates, snapshots and deltas
// ------------------------------------------------------------------------------------------

/// Whether the worker must apply a predicate exactly or may use it only for pruning.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PredicateMode {
    /// The client dropped its own filter: the worker applies it exactly or fails.
    Required,
    /// The client keeps an exact residual; the worker may ignore or weaken it.
    Advisory,
}

impl PredicateMode {
    pub fn wire_name(self) -> &'static str {
        match self {
            PredicateMode::Required => "required",
            PredicateMode::Advisory => "advisory",
        }
    }
}

/// Diagnostic origin of a predicate.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PredicateSource {
    Query,
    Join,
    TopN,
    SplitRefinement,
    Other,
}

impl PredicateSource {
    pub fn wire_name(self) -> &'static str {
        match self {
            PredicateSource::Query => "query",
            PredicateSource::Join => "join",
            PredicateSource::TopN => "top_n",
            PredicateSource::SplitRefinement => "split_refinement",
            PredicateSource::Other => "other",
        }
    }
}

/// One independently revisioned predicate; the predicates of a snapshot are ANDed.
#[derive(Debug, Clone)]
pub struct Predicate {
    /// Unique per scan, 1..=128 UTF-8 bytes.
    pub id: String,
    /// 0 in a snapshot; per ID, only a higher revision of a delta applies.
    pub revision: u64,
    pub mode: PredicateMode,
    pub source: PredicateSource,
    /// Must resolve to BOOLEAN.
    pub expr: FilterExpr,
}

impl Predicate {
    /// A required query predicate at revision 0.
    pub fn required(id: impl Into<String>, expr: FilterExpr) -> Self {
        Predicate { id: id.into(), revision: 0, mode: PredicateMode::Required, source: PredicateSource::Query, expr }
    }

    /// An advisory predicate at revision 0.
    pub fn advisory(id: impl Into<String>, source: PredicateSource, expr: FilterExpr) -> Self {
        Predicate { id: id.into(), revision: 0, mode: PredicateMode::Advisory, source, expr }
    }

    pub fn with_revision(mut self, revision: u64) -> Self {
        self.revision = revision;
        self
    }
}

/// The initial predicate state of a scan (`kind: "snapshot"`), for
/// `InitRequest.pushdown_filters` and the plan request's `pushdown_filters`/`refined_filters`.
#[derive(Debug, Clone, Default)]
pub struct FilterSnapshot {
    pub context: EvaluationContext,
    pub predicates: Vec<Predicate>,
}

impl FilterSnapshot {
    pub fn new(context: EvaluationContext) -> Self {
        FilterSnapshot { context, predicates: Vec::new() }
    }

    pub fn with_predicate(mut self, predicate: Predicate) -> Self {
        self.predicates.push(predicate);
        self
    }

    pub fn push(&mut self, predicate: Predicate) {
        self.predicates.push(predicate);
    }

    /// Builds the one-row filter container.
    pub fn to_batch(&self) -> Result<RecordBatch> {
        if self.predicates.len() > MAX_PREDICATES {
            return Err(invalid(format!(
                "{} predicates exceed the limit of {MAX_PREDICATES} per snapshot",
                self.predicates.len()
            )));
        }
        let mut doc = DocumentEncoder::new("snapshot", "predicates");
        let mut ids = std::collections::HashSet::new();
        for predicate in &self.predicates {
            check_id(&predicate.id, &mut ids)?;
            if predicate.revision != 0 {
                return Err(invalid(format!("snapshot predicate {:?} must have revision 0", predicate.id)));
            }
            doc.begin_entry();
            doc.predicate_body(predicate)?;
            doc.end_entry();
        }
        doc.finish(&self.context)
    }

    /// The `filter_spec` JSON document alone.
    pub fn to_json(&self) -> Result<String> {
        spec_of(&self.to_batch()?)
    }

    /// The Arrow IPC stream bytes for `InitRequest.pushdown_filters`.
    pub fn encode(&self) -> Result<Vec<u8>> {
        encode_stream(&self.to_batch()?, &[])
    }
}

/// One change of a [`FilterDelta`].
#[derive(Debug, Clone)]
pub enum DeltaUpdate {
    /// Add or replace a predicate (must be advisory).
    Upsert(Predicate),
    /// Remove a predicate; the ID stays reserved at this revision.
    Remove { id: String, revision: u64 },
}

/// A dynamic-filter update (`kind: "delta"`) sent as tick metadata [`TICK_METADATA_KEY`].
/// Its context must equal the scan's snapshot context. Updates may not target IDs that were
/// required in the snapshot (the worker rejects the whole delta).
#[derive(Debug, Clone, Default)]
pub struct FilterDelta {
    pub context: EvaluationContext,
    pub updates: Vec<DeltaUpdate>,
}

impl FilterDelta {
    pub fn new(context: EvaluationContext) -> Self {
        FilterDelta { context, updates: Vec::new() }
    }

    pub fn upsert(mut self, predicate: Predicate) -> Self {
        self.updates.push(DeltaUpdate::Upsert(predicate));
        self
    }

    pub fn remove(mut self, id: impl Into<String>, revision: u64) -> Self {
        self.updates.push(DeltaUpdate::Remove { id: id.into(), revision });
        self
    }

    /// True when there is nothing to send (an empty delta is legal but should not be sent).
    pub fn is_empty(&self) -> bool {
        self.updates.is_empty()
    }

    /// Builds the one-row filter container.
    pub fn to_batch(&self) -> Result<RecordBatch> {
        if self.updates.len() > MAX_PREDICATE_IDS {
            return Err(invalid(format!(
                "{} updates exceed the per-scan limit of {MAX_PREDICATE_IDS} predicate IDs",
                self.updates.len()
            )));
        }
        let mut doc = DocumentEncoder::new("delta", "updates");
        let mut ids = std::collections::HashSet::new();
        for update in &self.updates {
            doc.begin_entry();
            match update {
                DeltaUpdate::Upsert(predicate) => {
                    check_id(&predicate.id, &mut ids)?;
                    if predicate.mode != PredicateMode::Advisory {
                        return Err(invalid(format!("delta upsert {:?} must be advisory", predicate.id)));
                    }
                    doc.json.push_str("\"operation\":\"upsert\",");
                    doc.predicate_body(predicate)?;
                }
                DeltaUpdate::Remove { id, revision } => {
                    check_id(id, &mut ids)?;
                    doc.json.push_str("\"operation\":\"remove\",\"id\":");
                    push_json_string(&mut doc.json, id);
                    doc.json.push_str(",\"revision\":");
                    doc.json.push_str(&revision.to_string());
                }
            }
            doc.end_entry();
        }
        doc.finish(&self.context)
    }

    /// The `filter_spec` JSON document alone.
    pub fn to_json(&self) -> Result<String> {
        spec_of(&self.to_batch()?)
    }

    /// The Arrow IPC stream bytes of the delta container.
    pub fn encode(&self) -> Result<Vec<u8>> {
        let bytes = encode_stream(&self.to_batch()?, &[])?;
        if bytes.len() > MAX_DELTA_IPC_BYTES {
            return Err(invalid(format!(
                "delta IPC of {} bytes exceeds the tick-metadata limit of {MAX_DELTA_IPC_BYTES}",
                bytes.len()
            )));
        }
        Ok(bytes)
    }

    /// The base64 text for the `vgi_pushdown_filters` tick metadata value.
    pub fn encode_base64(&self) -> Result<String> {
        let text = base64_encode(&self.encode()?);
        if text.len() > MAX_DELTA_BASE64_BYTES {
            return Err(invalid("base64 delta exceeds the tick-metadata limit"));
        }
        Ok(text)
    }

    /// `(key, value)` ready to merge into a tick batch's custom metadata.
    pub fn tick_metadata(&self) -> Result<(&'static str, String)> {
        Ok((TICK_METADATA_KEY, self.encode_base64()?))
    }
}

fn spec_of(batch: &RecordBatch) -> Result<String> {
    let column =
        batch.column(0).as_any().downcast_ref::<StringArray>().ok_or_else(|| invalid("filter_spec is not utf8"))?;
    Ok(column.value(0).to_string())
}

fn check_id(id: &str, seen: &mut std::collections::HashSet<String>) -> Result<()> {
    if id.is_empty() || id.len() > MAX_ID_BYTES {
        return Err(invalid(format!("predicate ID {id:?} must be 1..={MAX_ID_BYTES} UTF-8 bytes")));
    }
    if !seen.insert(id.to_string()) {
        return Err(invalid(format!("duplicate predicate ID {id:?}")));
    }
    Ok(())
}

// ------------------------------------------------------------------------------------------
// Lowering: normalizes a user tree into the exact node tree sent on the wire
// ------------------------------------------------------------------------------------------

fn lower(expr: &FilterExpr, depth: usize) -> Result<FilterExpr> {
    if depth > MAX_INPUT_DEPTH {
        return Err(invalid(format!("expression nesting exceeds {MAX_INPUT_DEPTH} levels")));
    }
    let sub = |e: &FilterExpr| lower(e, depth + 1).map(Box::new);
    Ok(match expr {
        FilterExpr::ColumnRef { .. } | FilterExpr::Literal(_) => expr.clone(),
        FilterExpr::FieldRef { expr, index, name } => {
            FilterExpr::FieldRef { expr: sub(expr)?, index: *index, name: name.clone() }
        }
        FilterExpr::Comparison { op, left, right } => {
            FilterExpr::Comparison { op: *op, left: sub(left)?, right: sub(right)? }
        }
        FilterExpr::And(children) => lower_junction(true, children, depth)?,
        FilterExpr::Or(children) => lower_junction(false, children, depth)?,
        FilterExpr::Not(inner) => FilterExpr::Not(sub(inner)?),
        FilterExpr::IsNull { expr, negated } => FilterExpr::IsNull { expr: sub(expr)?, negated: *negated },
        FilterExpr::In { expr, set: InSet::Literal(list), negated } if list.extension.is_some() => {
            // The reference consumer rebuilds an inline IN list through Python objects, which
            // fails for extension element types: send `x = c1 OR x = c2 ...` instead, which
            // has the same three-valued result (an empty set is FALSE even for a NULL needle).
            let needle = lower(expr, depth + 1)?;
            let arms: Vec<FilterExpr> =
                (0..list.len()).map(|i| needle.clone().eq(FilterExpr::Literal(list.element(i)))).collect();
            let membership = match arms.len() {
                0 => FilterExpr::Literal(ScalarValue::boolean(false)),
                1 => arms.into_iter().next().expect("one arm"),
                _ => FilterExpr::Or(arms),
            };
            if *negated {
                match membership {
                    FilterExpr::Literal(_) => FilterExpr::Literal(ScalarValue::boolean(true)),
                    other => other.not(),
                }
            } else {
                membership
            }
        }
        FilterExpr::In { expr, set, negated } => {
            FilterExpr::In { expr: sub(expr)?, set: set.clone(), negated: *negated }
        }
        FilterExpr::Cast { expr, to, extension } => {
            FilterExpr::Cast { expr: sub(expr)?, to: to.clone(), extension: extension.clone() }
        }
        FilterExpr::Arithmetic { op, left, right } => {
            FilterExpr::Arithmetic { op: *op, left: sub(left)?, right: sub(right)? }
        }
        FilterExpr::Negate(inner) => FilterExpr::Negate(sub(inner)?),
        FilterExpr::Call { function, args } => FilterExpr::Call {
            function: function.clone(),
            args: args.iter().map(|a| lower(a, depth + 1)).collect::<Result<_>>()?,
        },
    })
}

/// Flattens nested same-kind junctions (keeping child order), then maps 0 children to the
/// identity constant and 1 child to itself.
fn lower_junction(is_and: bool, children: &[FilterExpr], depth: usize) -> Result<FilterExpr> {
    let mut flat = Vec::with_capacity(children.len());
    for child in children {
        match (is_and, lower(child, depth + 1)?) {
            (true, FilterExpr::And(inner)) | (false, FilterExpr::Or(inner)) => flat.extend(inner),
            (_, other) => flat.push(other),
        }
    }
    Ok(match flat.len() {
        0 => FilterExpr::Literal(ScalarValue::boolean(is_and)),
        1 => flat.pop().expect("one child"),
        _ if is_and => FilterExpr::And(flat),
        _ => FilterExpr::Or(flat),
    })
}

// ------------------------------------------------------------------------------------------
// Document encoding
// ------------------------------------------------------------------------------------------

struct DocumentEncoder {
    json: String,
    fields: Vec<Field>,
    arrays: Vec<ArrayRef>,
    next_value: usize,
    next_type: usize,
    nodes: usize,
    entries: usize,
}

impl DocumentEncoder {
    fn new(kind: &str, member: &str) -> Self {
        let mut json = String::with_capacity(256);
        json.push_str("{\"encoding\":\"");
        json.push_str(FILTER_ENCODING);
        json.push_str("\",\"semantics\":\"");
        json.push_str(SEMANTICS_DUCKDB_STANDARD_V1);
        json.push_str("\",\"kind\":\"");
        json.push_str(kind);
        json.push_str("\",\"");
        json.push_str(member);
        json.push_str("\":[");
        DocumentEncoder {
            json,
            fields: vec![Field::new("filter_spec", DataType::Utf8, false)],
            arrays: Vec::new(),
            next_value: 0,
            next_type: 0,
            nodes: 0,
            entries: 0,
        }
    }

    fn begin_entry(&mut self) {
        if self.entries > 0 {
            self.json.push(',');
        }
        self.entries += 1;
        self.json.push('{');
    }

    fn end_entry(&mut self) {
        self.json.push('}');
    }

    /// `"id":…,"revision":…,"mode":…,"source":…,"expression":…` (no braces).
    fn predicate_body(&mut self, predicate: &Predicate) -> Result<()> {
        self.json.push_str("\"id\":");
        push_json_string(&mut self.json, &predicate.id);
        self.json.push_str(",\"revision\":");
        self.json.push_str(&predicate.revision.to_string());
        self.json.push_str(",\"mode\":\"");
        self.json.push_str(predicate.mode.wire_name());
        self.json.push_str("\",\"source\":\"");
        self.json.push_str(predicate.source.wire_name());
        self.json.push_str("\",\"expression\":");
        let lowered = lower(&predicate.expr, 1)?;
        self.expression(&lowered, 1).map_err(|e| match e {
            Error::InvalidArgument(m) => Error::InvalidArgument(format!("{m} (predicate {:?})", predicate.id)),
            other => other,
        })
    }

    fn finish(mut self, context: &EvaluationContext) -> Result<RecordBatch> {
        self.json.push_str("]}");
        if self.json.len() > MAX_JSON_BYTES {
            return Err(invalid(format!(
                "filter JSON of {} bytes exceeds the limit of {MAX_JSON_BYTES}",
                self.json.len()
            )));
        }
        let spec: ArrayRef = Arc::new(StringArray::from(vec![self.json.as_str()]));
        let mut size = spec.to_data().get_slice_memory_size().map_err(|e| invalid(e.to_string()))?;
        for array in &self.arrays {
            size += array.to_data().get_slice_memory_size().map_err(|e| invalid(e.to_string()))?;
        }
        if size > MAX_PAYLOAD_BYTES {
            return Err(invalid(format!("filter payload of {size} bytes exceeds the limit of {MAX_PAYLOAD_BYTES}")));
        }
        let mut arrays = Vec::with_capacity(self.arrays.len() + 1);
        arrays.push(spec);
        arrays.extend(self.arrays);
        let schema = Schema::new_with_metadata(self.fields, context.schema_metadata()?);
        RecordBatch::try_new(Arc::new(schema), arrays).map_err(|e| invalid(format!("building filter batch: {e}")))
    }

    fn add_value(&mut self, field_of: impl FnOnce(String) -> Field, array: ArrayRef) -> Result<usize> {
        let index = self.next_value;
        self.next_value += 1;
        let field = field_of(format!("value_{index}"));
        check_extensions(&field)?;
        self.fields.push(field);
        self.arrays.push(array);
        Ok(index)
    }

    fn child(&mut self, key: &str, expr: &FilterExpr, depth: usize) -> Result<()> {
        self.json.push_str(",\"");
        self.json.push_str(key);
        self.json.push_str("\":");
        self.expression(expr, depth + 1)
    }

    fn children(&mut self, key: &str, exprs: &[FilterExpr], depth: usize) -> Result<()> {
        self.json.push_str(",\"");
        self.json.push_str(key);
        self.json.push_str("\":[");
        for (i, expr) in exprs.iter().enumerate() {
            if i > 0 {
                self.json.push(',');
            }
            self.expression(expr, depth + 1)?;
        }
        self.json.push(']');
        Ok(())
    }

    fn node(&mut self, name: &str) {
        self.json.push_str("{\"node\":\"");
        self.json.push_str(name);
        self.json.push('"');
    }

    fn key_uint(&mut self, key: &str, value: u64) {
        self.json.push_str(",\"");
        self.json.push_str(key);
        self.json.push_str("\":");
        self.json.push_str(&value.to_string());
    }

    fn key_str(&mut self, key: &str, value: &str) {
        self.json.push_str(",\"");
        self.json.push_str(key);
        self.json.push_str("\":");
        push_json_string(&mut self.json, value);
    }

    fn key_bool(&mut self, key: &str, value: bool) {
        self.json.push_str(",\"");
        self.json.push_str(key);
        self.json.push_str(if value { "\":true" } else { "\":false" });
    }

    /// Writes one (already lowered) expression object.
    fn expression(&mut self, expr: &FilterExpr, depth: usize) -> Result<()> {
        if depth > MAX_DEPTH {
            return Err(invalid(format!("expression nesting exceeds the depth limit of {MAX_DEPTH}")));
        }
        self.nodes += 1;
        if self.nodes > MAX_NODES {
            return Err(invalid(format!("filter document exceeds the limit of {MAX_NODES} expression nodes")));
        }
        match expr {
            FilterExpr::ColumnRef { index, name } => {
                check_name("column_ref.column_name", name)?;
                self.node("column_ref");
                self.key_uint("column_index", *index as u64);
                self.key_str("column_name", name);
            }
            FilterExpr::FieldRef { expr, index, name } => {
                check_name("field_ref.field_name", name)?;
                self.node("field_ref");
                self.child("expression", expr, depth)?;
                self.key_uint("field_index", *index as u64);
                self.key_str("field_name", name);
            }
            FilterExpr::Literal(value) => {
                let index = self.add_value(|name| value.field(name), value.array.clone())?;
                self.node("literal");
                self.key_uint("value_ref", index as u64);
            }
            FilterExpr::Comparison { op, left, right } => {
                self.node("comparison");
                self.key_str("op", op.wire_name());
                self.child("left", left, depth)?;
                self.child("right", right, depth)?;
            }
            FilterExpr::And(children) | FilterExpr::Or(children) => {
                if children.len() < 2 {
                    return Err(invalid("and/or need at least two children"));
                }
                self.node(if matches!(expr, FilterExpr::And(_)) { "and" } else { "or" });
                self.children("children", children, depth)?;
            }
            FilterExpr::Not(inner) => {
                self.node("not");
                self.child("expression", inner, depth)?;
            }
            FilterExpr::IsNull { expr, negated } => {
                self.node("is_null");
                self.child("expression", expr, depth)?;
                self.key_bool("negated", *negated);
            }
            FilterExpr::In { expr, set, negated } => {
                self.node("in");
                self.child("expression", expr, depth)?;
                self.json.push_str(",\"set\":");
                match set {
                    InSet::Literal(list) => {
                        let index = self.add_value(
                            |name| Field::new(name, DataType::List(Arc::new(list.item_field())), true),
                            list.to_list_array(),
                        )?;
                        self.json.push_str("{\"kind\":\"literal\",\"value_ref\":");
                        self.json.push_str(&index.to_string());
                        self.json.push('}');
                    }
                    InSet::External { batch_index, column_index, column_name } => {
                        check_name("in.set.column_name", column_name)?;
                        self.json.push_str("{\"kind\":\"external\"");
                        self.key_uint("batch_index", *batch_index as u64);
                        self.key_uint("column_index", *column_index as u64);
                        self.key_str("column_name", column_name);
                        self.json.push('}');
                    }
                }
                self.key_bool("negated", *negated);
            }
            FilterExpr::Cast { expr, to, extension } => {
                let index = self.next_type;
                self.next_type += 1;
                let mut field = Field::new(format!("type_{index}"), to.clone(), true);
                if let Some(extension) = extension {
                    field = field.with_metadata(extension.field_metadata());
                }
                check_extensions(&field)?;
                self.fields.push(field);
                self.arrays.push(new_null_array(to, 1));
                self.node("cast");
                self.child("expression", expr, depth)?;
                self.key_uint("type_ref", index as u64);
            }
            FilterExpr::Arithmetic { op, left, right } => {
                self.node("arithmetic");
                self.key_str("op", op.wire_name());
                self.child("left", left, depth)?;
                self.child("right", right, depth)?;
            }
            FilterExpr::Negate(inner) => {
                self.node("negate");
                self.child("expression", inner, depth)?;
            }
            FilterExpr::Call { function, args } => {
                if args.len() > MAX_ARGUMENTS {
                    return Err(invalid(format!("call has {} arguments; the limit is {MAX_ARGUMENTS}", args.len())));
                }
                self.node("call");
                self.json.push_str(",\"function\":");
                match function {
                    FilterFunction::StartsWith => self.json.push_str("\"starts_with\""),
                    FilterFunction::EndsWith => self.json.push_str("\"ends_with\""),
                    FilterFunction::Contains => self.json.push_str("\"contains\""),
                    FilterFunction::ListContains => self.json.push_str("\"list_contains\""),
                    FilterFunction::Extension { namespace, name, version } => {
                        check_identity(namespace, name, *version)?;
                        self.json.push_str("{\"namespace\":");
                        push_json_string(&mut self.json, namespace);
                        self.key_str("name", name);
                        self.key_uint("version", *version);
                        self.json.push('}');
                    }
                }
                self.children("arguments", args, depth)?;
            }
        }
        self.json.push('}');
        Ok(())
    }
}

fn check_name(what: &str, name: &str) -> Result<()> {
    if name.is_empty() {
        return Err(invalid(format!("{what} must not be empty")));
    }
    Ok(())
}

/// Extension identities: namespace `[a-z][a-z0-9]*(\.[a-z][a-z0-9_]*)*`, name
/// `[a-z][a-z0-9_]*`, version ≥ 1.
fn check_identity(namespace: &str, name: &str, version: u64) -> Result<()> {
    fn segment(s: &str, underscore_ok: bool) -> bool {
        let mut chars = s.chars();
        matches!(chars.next(), Some('a'..='z'))
            && chars.all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || (underscore_ok && c == '_'))
    }
    let mut parts = namespace.split('.');
    let head_ok = parts.next().is_some_and(|head| segment(head, false));
    let namespace_ok = head_ok && parts.all(|part| segment(part, true));
    if !namespace_ok || !segment(name, true) || version == 0 {
        return Err(invalid(format!("noncanonical extension function identity {namespace}/{name}@{version}")));
    }
    Ok(())
}

/// Refuses Arrow extension types the consumer does not know (it would reject the document).
fn check_extensions(field: &Field) -> Result<()> {
    if let Some(name) = field.metadata().get(EXTENSION_NAME_KEY) {
        if !KNOWN_EXTENSIONS.contains(&name.as_str()) {
            return Err(invalid(format!(
                "Arrow extension type {name:?} (field {:?}) is unknown to the worker's filter consumer",
                field.name()
            )));
        }
    }
    check_type_extensions(field.data_type())
}

fn check_type_extensions(data_type: &DataType) -> Result<()> {
    match data_type {
        DataType::List(f)
        | DataType::LargeList(f)
        | DataType::ListView(f)
        | DataType::LargeListView(f)
        | DataType::FixedSizeList(f, _)
        | DataType::Map(f, _) => check_extensions(f),
        DataType::Struct(fields) => fields.iter().try_for_each(|f| check_extensions(f)),
        DataType::Union(fields, _) => fields.iter().try_for_each(|(_, f)| check_extensions(f)),
        DataType::Dictionary(_, value) => check_type_extensions(value),
        DataType::RunEndEncoded(_, values) => check_extensions(values),
        _ => Ok(()),
    }
}

fn push_json_string(out: &mut String, value: &str) {
    crate::json::push_string(out, value, false);
}

/// Standard base64 (RFC 4648 alphabet, `=` padding), as Python's `b64decode(validate=True)`
/// expects.
pub fn base64_encode(data: &[u8]) -> String {
    use base64::Engine as _;
    base64::engine::general_purpose::STANDARD.encode(data)
}

/// Decodes standard base64 (the worker's `#b64` metadata values).
pub fn base64_decode(text: &str) -> std::result::Result<Vec<u8>, String> {
    use base64::Engine as _;
    base64::engine::general_purpose::STANDARD.decode(text.trim()).map_err(|e| e.to_string())
}

#[cfg(test)]
mod tests {
    use super::*;

    use arrow_array::types::Int64Type;
    use arrow_array::{Decimal256Array, IntervalDayTimeArray, IntervalYearMonthArray, StructArray};
    use arrow_buffer::{IntervalDayTime, NullBuffer};
    use arrow_schema::Fields;

    use crate::consumer_check::{case, run, Case};

    // ---------------------------------------------------------------------------------------
    // Builders
    // ---------------------------------------------------------------------------------------

    fn table(columns: Vec<(&str, ArrayRef)>) -> RecordBatch {
        let fields: Vec<Field> =
            columns.iter().map(|(name, array)| Field::new(*name, array.data_type().clone(), true)).collect();
        table_with_fields(fields, columns.into_iter().map(|(_, a)| a).collect())
    }

    fn table_with_fields(fields: Vec<Field>, arrays: Vec<ArrayRef>) -> RecordBatch {
        RecordBatch::try_new(Arc::new(Schema::new(fields)), arrays).unwrap()
    }

    /// One required predicate under `vgi.none.v1`.
    fn snap(expr: FilterExpr) -> Vec<u8> {
        snap_in(EvaluationContext::None, expr)
    }

    fn snap_in(context: EvaluationContext, expr: FilterExpr) -> Vec<u8> {
        FilterSnapshot::new(context).with_predicate(Predicate::required("query:0", expr)).encode().unwrap()
    }

    fn col(index: usize, name: &str) -> FilterExpr {
        FilterExpr::column(index, name)
    }

    fn lit(value: ScalarValue) -> FilterExpr {
        FilterExpr::lit(value)
    }

    fn i64s(values: &[Option<i64>]) -> ArrayRef {
        Arc::new(Int64Array::from(values.to_vec()))
    }

    fn one_to_ten() -> RecordBatch {
        table(vec![("x", Arc::new(Int64Array::from((1..=10).collect::<Vec<i64>>())) as ArrayRef)])
    }

    fn expect_invalid<T: std::fmt::Debug>(result: Result<T>, needle: &str) {
        match result {
            Err(Error::InvalidArgument(message)) => {
                assert!(message.contains(needle), "error {message:?} lacks {needle:?}")
            }
            other => panic!("expected InvalidArgument containing {needle:?}, got {other:?}"),
        }
    }

    // ---------------------------------------------------------------------------------------
    // Tests
    // ---------------------------------------------------------------------------------------

    /// The protocol spec's example, byte for byte.
    const GOLDEN: &str = concat!(
        r#"{"encoding":"vgi.filters.v2","semantics":"vgi.duckdb.standard.v1","kind":"snapshot","#,
        r#""predicates":[{"id":"query:0","revision":0,"mode":"required","source":"query","#,
        r#""expression":{"node":"comparison","op":"ge","#,
        r#""left":{"node":"column_ref","column_index":0,"column_name":"n"},"#,
        r#""right":{"node":"literal","value_ref":0}}}]}"#
    );

    #[test]
    fn golden_spec_example() {
        let snapshot = FilterSnapshot::new(EvaluationContext::None)
            .with_predicate(Predicate::required("query:0", col(0, "n").ge(lit(ScalarValue::int64(5)))));
        assert_eq!(snapshot.to_json().unwrap(), GOLDEN);

        let batch = snapshot.to_batch().unwrap();
        assert_eq!(batch.num_rows(), 1);
        let schema = batch.schema();
        assert_eq!(schema.field(0), &Field::new("filter_spec", DataType::Utf8, false));
        assert_eq!(schema.field(1), &Field::new("value_0", DataType::Int64, true));
        let metadata: Vec<(String, String)> = schema.metadata().iter().map(|(k, v)| (k.clone(), v.clone())).collect();
        let expected: Vec<(String, String)> = [
            ("vgi_evaluation_context", "vgi.none.v1"),
            ("vgi_filter_encoding", "vgi.filters.v2"),
            ("vgi_filter_version", "2"),
        ]
        .iter()
        .map(|(k, v)| (k.to_string(), v.to_string()))
        .collect();
        assert_eq!(metadata, expected, "context metadata must be schema-level");
        assert!(schema.field(0).metadata().is_empty());

        let n = table(vec![("n", Arc::new(Int64Array::from((0..100).collect::<Vec<i64>>())) as ArrayRef)]);
        let out = run(&[
            case("spec", &n, snapshot.encode().unwrap()),
            case("x_gt_5", &one_to_ten(), snap(col(0, "x").gt(lit(ScalarValue::int64(5))))),
            case("wrong_name", &one_to_ten(), snap(col(0, "y").gt(lit(ScalarValue::int64(5))))),
            case("empty_snapshot", &one_to_ten(), FilterSnapshot::default().encode().unwrap()),
        ]);
        out.mask("spec", &format!("{}{}", "F".repeat(5), "T".repeat(95)));
        out.mask("x_gt_5", "FFFFFTTTTT");
        out.error("wrong_name", "does not match index 0");
        out.mask("empty_snapshot", "TTTTTTTTTT");
    }

    #[test]
    fn integers_of_every_width_and_128_bit() {
        let t = table(vec![
            ("i8", Arc::new(Int8Array::from(vec![i8::MIN, 0, i8::MAX])) as ArrayRef),
            ("i16", Arc::new(Int16Array::from(vec![i16::MIN, 0, i16::MAX]))),
            ("i32", Arc::new(Int32Array::from(vec![i32::MIN, 0, i32::MAX]))),
            ("i64", Arc::new(Int64Array::from(vec![i64::MIN, 0, i64::MAX]))),
            ("u8", Arc::new(UInt8Array::from(vec![0, 1, u8::MAX]))),
            ("u16", Arc::new(UInt16Array::from(vec![0, 1, u16::MAX]))),
            ("u32", Arc::new(UInt32Array::from(vec![0, 1, u32::MAX]))),
            ("u64", Arc::new(UInt64Array::from(vec![0, 1, u64::MAX]))),
            (
                "huge",
                Arc::new(
                    Decimal128Array::from(vec![-MAX_DECIMAL38, 0, MAX_DECIMAL38])
                        .with_precision_and_scale(38, 0)
                        .unwrap(),
                ),
            ),
        ]);
        let literals = [
            ("i8", ScalarValue::int8(i8::MIN), ScalarValue::int8(0)),
            ("i16", ScalarValue::int16(i16::MIN), ScalarValue::int16(0)),
            ("i32", ScalarValue::int32(i32::MIN), ScalarValue::int32(0)),
            ("i64", ScalarValue::int64(i64::MIN), ScalarValue::int64(0)),
            ("u8", ScalarValue::uint8(0), ScalarValue::uint8(1)),
            ("u16", ScalarValue::uint16(0), ScalarValue::uint16(1)),
            ("u32", ScalarValue::uint32(0), ScalarValue::uint32(1)),
            ("u64", ScalarValue::uint64(0), ScalarValue::uint64(1)),
            ("huge", ScalarValue::hugeint(-MAX_DECIMAL38).unwrap(), ScalarValue::hugeint(0).unwrap()),
        ];
        let mut cases = Vec::new();
        for (i, (name, low, mid)) in literals.iter().enumerate() {
            cases.push(case(&format!("{name}_eq_min"), &t, snap(col(i, name).eq(lit(low.clone())))));
            cases.push(case(&format!("{name}_gt_mid"), &t, snap(col(i, name).gt(lit(mid.clone())))));
        }
        let max_u = ScalarValue::uhugeint(MAX_DECIMAL38 as u128).unwrap();
        assert_eq!(max_u.data_type(), &DataType::Decimal128(38, 0));
        cases.push(case("uhuge_ge_max", &t, snap(col(8, "huge").ge(lit(max_u)))));
        cases.push(case("u64_max", &t, snap(col(7, "u64").eq(lit(ScalarValue::uint64(u64::MAX))))));
        // A narrower literal against a wider column is coerced by the worker.
        cases.push(case("i64_vs_int8_lit", &t, snap(col(3, "i64").gt(lit(ScalarValue::int8(-1))))));
        let out = run(&cases);
        for (name, _, _) in &literals {
            out.mask(&format!("{name}_eq_min"), "TFF");
            out.mask(&format!("{name}_gt_mid"), "FFT");
        }
        out.mask("uhuge_ge_max", "FFT");
        out.mask("u64_max", "FFT");
        out.mask("i64_vs_int8_lit", "FTT");

        // 128-bit values outside decimal128(38, 0) have no accepted wire form.
        expect_invalid(ScalarValue::hugeint(i128::MAX), "HUGEINT");
        expect_invalid(ScalarValue::hugeint(i128::MIN), "HUGEINT");
        expect_invalid(ScalarValue::uhugeint(u128::MAX), "UHUGEINT");
    }

    #[test]
    fn floats_nan_infinity_and_negative_zero() {
        let t = table(vec![
            (
                "f",
                Arc::new(Float64Array::from(vec![
                    Some(1.0),
                    Some(f64::NAN),
                    Some(f64::INFINITY),
                    Some(f64::NEG_INFINITY),
                    None,
                    Some(-0.0),
                ])) as ArrayRef,
            ),
            (
                "g",
                Arc::new(Float32Array::from(vec![
                    Some(0.5),
                    Some(f32::NAN),
                    None,
                    Some(f32::INFINITY),
                    Some(-1.0),
                    Some(0.0),
                ])),
            ),
        ]);
        let f = || col(0, "f");
        let out = run(&[
            case("eq_nan", &t, snap(f().eq(lit(ScalarValue::float64(f64::NAN))))),
            // DuckDB orders NaN above +inf.
            case("gt_max", &t, snap(f().gt(lit(ScalarValue::float64(f64::MAX))))),
            case("lt_inf", &t, snap(f().lt(lit(ScalarValue::float64(f64::INFINITY))))),
            case("eq_neg_inf", &t, snap(f().eq(lit(ScalarValue::float64(f64::NEG_INFINITY))))),
            case("eq_zero", &t, snap(f().eq(lit(ScalarValue::float64(0.0))))),
            case("in_nan", &t, snap(f().in_list(LiteralList::new(Arc::new(Float64Array::from(vec![f64::NAN, 1.0])))))),
            case("f32_ge_nan", &t, snap(col(1, "g").ge(lit(ScalarValue::float32(f32::NAN))))),
            case("f32_gt_f64", &t, snap(col(1, "g").gt(lit(ScalarValue::float64(0.25))))),
        ]);
        out.mask("eq_nan", "FTFFNF");
        out.mask("gt_max", "FTTFNF");
        out.mask("lt_inf", "TFFTNT");
        out.mask("eq_neg_inf", "FFFTNF");
        out.mask("eq_zero", "FFFFNT");
        out.mask("in_nan", "TTFFNF");
        out.mask("f32_ge_nan", "FTNFFF");
        out.mask("f32_gt_f64", "TTNTFF");
    }

    #[test]
    fn decimals() {
        let d = Decimal128Array::from(vec![Some(100), Some(1234), Some(9999), None])
            .with_precision_and_scale(18, 2)
            .unwrap();
        let t = table(vec![("d", Arc::new(d) as ArrayRef)]);
        let narrowed = ScalarValue::decimal256(i256::from_i128(1234), 18, 2).unwrap();
        assert_eq!(narrowed.data_type(), &DataType::Decimal128(18, 2));
        let wide = Decimal256Array::from(vec![i256::from_i128(1234)]).with_precision_and_scale(18, 2).unwrap();
        let out = run(&[
            case("ge_12_34", &t, snap(col(0, "d").ge(lit(ScalarValue::decimal128(1234, 18, 2).unwrap())))),
            case("gt_12_3_other_scale", &t, snap(col(0, "d").gt(lit(ScalarValue::decimal128(123, 5, 1).unwrap())))),
            case("narrowed_256", &t, snap(col(0, "d").eq(lit(narrowed)))),
            // Sent verbatim, decimal256 is refused by the worker's DuckDB evaluator.
            case("raw_256", &t, snap(col(0, "d").eq(lit(ScalarValue::new(Arc::new(wide)).unwrap())))),
        ]);
        out.mask("ge_12_34", "FTTN");
        out.mask("gt_12_3_other_scale", "FTTN");
        out.mask("narrowed_256", "FTFN");
        out.error("raw_256", "Unsupported Internal Arrow Type for Decimal");
        expect_invalid(ScalarValue::decimal128(1000, 3, 0), "does not fit");
        expect_invalid(ScalarValue::decimal256(i256::MAX, 38, 0), "does not fit");
    }

    #[test]
    fn varchar_and_string_functions_and_escaping() {
        let weird = "we\"ird\\name\n\t\u{1}é☃";
        let values = vec![Some("apple"), Some("banana"), Some("cherry"), None, Some(""), Some(weird)];
        let t = table(vec![
            ("s", Arc::new(StringArray::from(values.clone())) as ArrayRef),
            (weird, Arc::new(StringArray::from(values))),
        ]);
        let s = || col(0, "s");
        let call = |f: FilterFunction, arg: &str| FilterExpr::call(f, vec![s(), lit(ScalarValue::utf8(arg))]);
        let out = run(&[
            case("eq", &t, snap(s().eq(lit(ScalarValue::utf8("banana"))))),
            case("lt", &t, snap(s().lt(lit(ScalarValue::utf8("b"))))),
            case("starts_with", &t, snap(call(FilterFunction::StartsWith, "ch"))),
            case("ends_with", &t, snap(call(FilterFunction::EndsWith, "a"))),
            case("contains", &t, snap(call(FilterFunction::Contains, "an"))),
            case("contains_empty", &t, snap(call(FilterFunction::Contains, ""))),
            case("weird_name_and_value", &t, snap(col(1, weird).eq(lit(ScalarValue::utf8(weird))))),
            case("in", &t, snap(s().in_list(LiteralList::new(Arc::new(StringArray::from(vec!["apple", "cherry"])))))),
        ]);
        out.mask("eq", "FTFNFF");
        out.mask("lt", "TFFNTF");
        out.mask("starts_with", "FFTNFF");
        out.mask("ends_with", "FTFNFF");
        out.mask("contains", "FTFNFF");
        out.mask("contains_empty", "TTTNTT");
        out.mask("weird_name_and_value", "FFFNFT");
        out.mask("in", "TFTNFF");
        let json = FilterSnapshot::default()
            .with_predicate(Predicate::required("q", col(1, weird).is_null()))
            .to_json()
            .unwrap();
        assert!(json.contains(r#""column_name":"we\"ird\\name\n\t\u0001é☃""#), "{json}");
    }

    #[test]
    fn blobs() {
        let t = table(vec![(
            "b",
            Arc::new(BinaryArray::from_opt_vec(vec![Some(b"\x00\x01".as_slice()), Some(b"abc"), Some(b""), None]))
                as ArrayRef,
        )]);
        let out = run(&[
            case("eq_bytes", &t, snap(col(0, "b").eq(lit(ScalarValue::binary(b"\x00\x01"))))),
            case("gt_empty", &t, snap(col(0, "b").gt(lit(ScalarValue::binary(b""))))),
            case("ne_abc", &t, snap(col(0, "b").ne(lit(ScalarValue::binary(b"abc"))))),
        ]);
        out.mask("eq_bytes", "TFFN");
        out.mask("gt_empty", "TTFN");
        out.mask("ne_abc", "TFTN");
    }

    #[test]
    fn booleans_and_bare_column_roots() {
        let t = table(vec![("flag", Arc::new(BooleanArray::from(vec![Some(true), Some(false), None])) as ArrayRef)]);
        let flag = || col(0, "flag");
        let out = run(&[
            case("eq_true", &t, snap(flag().eq(lit(ScalarValue::boolean(true))))),
            case("bare_column", &t, snap(flag())),
            case("not_column", &t, snap(flag().not())),
            case(
                "distinct_from_true",
                &t,
                snap(flag().compare(ComparisonOp::DistinctFrom, lit(ScalarValue::boolean(true)))),
            ),
            case("constant_true", &t, snap(lit(ScalarValue::boolean(true)))),
            case("constant_false", &t, snap(lit(ScalarValue::boolean(false)))),
        ]);
        out.mask("eq_true", "TFN");
        out.mask("bare_column", "TFN");
        out.mask("not_column", "FTN");
        out.mask("distinct_from_true", "FTT");
        out.mask("constant_true", "TTT");
        out.mask("constant_false", "FFF");
    }

    #[test]
    fn dates_times_and_timestamps_in_every_unit() {
        const DAY_US: i64 = 86_400_000_000;
        let mut columns: Vec<(String, ArrayRef)> = vec![
            ("date".into(), Arc::new(Date32Array::from(vec![Some(0), Some(19_000), None]))),
            ("time".into(), Arc::new(Time64MicrosecondArray::from(vec![Some(0), Some(DAY_US / 2), None]))),
            ("time_ns".into(), Arc::new(Time64NanosecondArray::from(vec![Some(0), Some(DAY_US * 500), None]))),
        ];
        let units = [TimeUnit::Second, TimeUnit::Millisecond, TimeUnit::Microsecond, TimeUnit::Nanosecond];
        let scale = |unit: &TimeUnit| match unit {
            TimeUnit::Second => 1,
            TimeUnit::Millisecond => 1_000,
            TimeUnit::Microsecond => 1_000_000,
            TimeUnit::Nanosecond => 1_000_000_000,
        };
        for (tz, suffix) in [(None, "ts"), (Some("UTC"), "tstz")] {
            for unit in &units {
                let values = vec![Some(0), Some(1_700_000_000 * scale(unit)), None];
                let built: ArrayRef = match unit {
                    TimeUnit::Second => Arc::new(TimestampSecondArray::from(values).with_timezone_opt(tz)),
                    TimeUnit::Millisecond => Arc::new(TimestampMillisecondArray::from(values).with_timezone_opt(tz)),
                    TimeUnit::Microsecond => Arc::new(TimestampMicrosecondArray::from(values).with_timezone_opt(tz)),
                    TimeUnit::Nanosecond => Arc::new(TimestampNanosecondArray::from(values).with_timezone_opt(tz)),
                };
                columns.push((format!("{suffix}_{unit:?}"), built));
            }
        }
        let t = table(columns.iter().map(|(n, a)| (n.as_str(), a.clone())).collect());
        let mut cases = vec![
            case("date_gt", &t, snap(col(0, "date").gt(lit(ScalarValue::date32(100))))),
            case("date_vs_date64", &t, snap(col(0, "date").eq(lit(ScalarValue::date64(19_000 * 86_400_000))))),
            case(
                "time_ge",
                &t,
                snap(col(1, "time").ge(lit(ScalarValue::time(DAY_US / 4, TimeUnit::Microsecond).unwrap()))),
            ),
            case(
                "time_vs_time32",
                &t,
                snap(col(1, "time").eq(lit(ScalarValue::time(43_200, TimeUnit::Second).unwrap()))),
            ),
            case(
                "time_ns_gt",
                &t,
                snap(col(2, "time_ns").gt(lit(ScalarValue::time(1, TimeUnit::Nanosecond).unwrap()))),
            ),
            // An instant compares as an instant whatever zone labels the literal.
            case(
                "tstz_other_zone_label",
                &t,
                snap(col(9, "tstz_Microsecond").eq(lit(ScalarValue::timestamp(
                    0,
                    TimeUnit::Microsecond,
                    Some("America/New_York"),
                )))),
            ),
        ];
        for (i, (name, _)) in columns.iter().enumerate().skip(3) {
            let unit = units[(i - 3) % 4];
            let tz = if name.starts_with("tstz") { Some("UTC") } else { None };
            let literal = ScalarValue::timestamp(1_000 * scale(&unit), unit, tz);
            cases.push(case(name, &t, snap(col(i, name).gt(lit(literal)))));
        }
        let out = run(&cases);
        out.mask("date_gt", "FTN");
        out.mask("date_vs_date64", "FTN");
        out.mask("time_ge", "FTN");
        out.mask("time_vs_time32", "FTN");
        out.mask("time_ns_gt", "FTN");
        out.mask("tstz_other_zone_label", "TFN");
        for (name, _) in columns.iter().skip(3) {
            out.mask(name, "FTN");
        }
        expect_invalid(ScalarValue::time(i64::MAX, TimeUnit::Second), "out of range");
    }

    #[test]
    fn time_with_time_zone_is_not_representable() {
        // DuckDB's lossless TIMETZ export is the `arrow.opaque` extension, which the consumer
        // rejects as unknown: the encoder refuses it up front.
        let opaque =
            ScalarValue::new(Arc::new(FixedSizeBinaryArray::try_from_iter(std::iter::once([0u8; 8])).unwrap()))
                .unwrap()
                .with_extension(ExtensionType::new(
                    "arrow.opaque",
                    r#"{"type_name":"time_tz","vendor_name":"DuckDB"}"#,
                ));
        let snapshot = FilterSnapshot::default().with_predicate(Predicate::required("q", col(0, "t").eq(lit(opaque))));
        expect_invalid(snapshot.encode(), "arrow.opaque");
        // Also inside nested types and cast targets.
        let nested = DataType::List(Arc::new(
            Field::new("item", DataType::FixedSizeBinary(8), true)
                .with_metadata(ExtensionType::new("duckdb.time_tz", "").field_metadata()),
        ));
        let snapshot =
            FilterSnapshot::default().with_predicate(Predicate::required("q", col(0, "t").cast(nested).is_null()));
        expect_invalid(snapshot.encode(), "duckdb.time_tz");
    }

    #[test]
    fn intervals() {
        let day = IntervalMonthDayNano::new(0, 1, 0);
        let t = table(vec![(
            "i",
            Arc::new(IntervalMonthDayNanoArray::from(vec![
                Some(day),
                Some(IntervalMonthDayNano::new(1, 0, 0)),
                Some(IntervalMonthDayNano::new(0, 0, 36 * 3_600_000_000_000)),
                None,
            ])) as ArrayRef,
        )]);
        // Only month_day_nano is usable: pyarrow has no scalar for the other interval types, so
        // the worker fails to read such a payload.
        let year_month = ScalarValue::new(Arc::new(IntervalYearMonthArray::from(vec![1]))).unwrap();
        let day_time =
            ScalarValue::new(Arc::new(IntervalDayTimeArray::from(vec![IntervalDayTime::new(1, 0)]))).unwrap();
        let out = run(&[
            case("eq_day", &t, snap(col(0, "i").eq(lit(ScalarValue::interval(0, 1, 0))))),
            case("gt_day", &t, snap(col(0, "i").gt(lit(ScalarValue::interval(0, 1, 0))))),
            case("year_month_type", &t, snap(col(0, "i").eq(lit(year_month)))),
            case("day_time_type", &t, snap(col(0, "i").eq(lit(day_time)))),
        ]);
        out.mask("eq_day", "TFFN");
        out.mask("gt_day", "FTTN");
        out.error("year_month_type", "KeyError");
        out.error("day_time_type", "KeyError");
    }

    fn uuid_bytes(n: u8) -> [u8; 16] {
        let mut bytes = [0u8; 16];
        bytes[0] = 0x1c;
        bytes[6] = 0x40;
        bytes[8] = 0x80;
        bytes[15] = n;
        bytes
    }

    fn uuid_text(n: u8) -> String {
        format!("1c000000-0000-4000-8000-0000000000{n:02x}")
    }

    #[test]
    fn uuids_including_in_lists() {
        let values = FixedSizeBinaryArray::try_from_sparse_iter_with_size(
            vec![Some(uuid_bytes(1)), Some(uuid_bytes(2)), None].into_iter(),
            16,
        )
        .unwrap();
        let uuid_field =
            Field::new("u", DataType::FixedSizeBinary(16), true).with_metadata(ExtensionType::uuid().field_metadata());
        let text: ArrayRef = Arc::new(StringArray::from(vec![Some(uuid_text(1)), Some(uuid_text(2)), None]));
        let t =
            table_with_fields(vec![uuid_field, Field::new("s", DataType::Utf8, true)], vec![Arc::new(values), text]);
        let u = || col(0, "u");
        let set = |ids: &[Option<u8>]| {
            let array = FixedSizeBinaryArray::try_from_sparse_iter_with_size(ids.iter().map(|n| n.map(uuid_bytes)), 16)
                .unwrap();
            LiteralList::new(Arc::new(array)).with_extension(ExtensionType::uuid())
        };
        let in_two = u().in_list(set(&[Some(1), Some(2)]));
        let json =
            FilterSnapshot::default().with_predicate(Predicate::required("q", in_two.clone())).to_json().unwrap();
        assert!(json.contains(r#""node":"or""#) && !json.contains(r#""node":"in""#), "uuid IN is lowered: {json}");
        let batch = FilterSnapshot::default()
            .with_predicate(Predicate::required("q", lit(ScalarValue::uuid(uuid_bytes(1))).is_null()))
            .to_batch()
            .unwrap();
        let field = batch.schema().field(1).clone();
        assert_eq!(field.data_type(), &DataType::FixedSizeBinary(16));
        assert_eq!(field.metadata().get("ARROW:extension:name").map(String::as_str), Some("arrow.uuid"));

        let out = run(&[
            case("eq", &t, snap(u().eq(lit(ScalarValue::uuid(uuid_bytes(1)))))),
            case("in", &t, snap(in_two)),
            case("in_one", &t, snap(u().in_list(set(&[Some(2)])))),
            case("not_in", &t, snap(u().not_in_list(set(&[Some(1)])))),
            case("in_with_null", &t, snap(u().in_list(set(&[Some(1), None])))),
            case("not_in_with_null", &t, snap(u().not_in_list(set(&[Some(1), None])))),
            case("in_empty", &t, snap(u().in_list(set(&[])))),
            case("not_in_empty", &t, snap(u().not_in_list(set(&[])))),
            case("text_column_vs_uuid", &t, snap(col(1, "s").eq(lit(ScalarValue::uuid(uuid_bytes(2)))))),
            case(
                "cast_text_to_uuid",
                &t,
                snap(
                    FilterExpr::Cast {
                        expr: Box::new(col(1, "s")),
                        to: DataType::FixedSizeBinary(16),
                        extension: Some(ExtensionType::uuid()),
                    }
                    .eq(lit(ScalarValue::uuid(uuid_bytes(1)))),
                ),
            ),
        ]);
        out.mask("eq", "TFN");
        out.mask("in", "TTN");
        out.mask("in_one", "FTN");
        out.mask("not_in", "FTN");
        out.mask("in_with_null", "TNN");
        out.mask("not_in_with_null", "FNN");
        out.mask("in_empty", "FFF");
        out.mask("not_in_empty", "TTT");
        out.mask("text_column_vs_uuid", "FTN");
        out.mask("cast_text_to_uuid", "TFN");
    }

    #[test]
    fn enums_as_dictionaries() {
        let members = ["red", "green", "blue"];
        let column = DictionaryArray::<UInt8Type>::try_new(
            UInt8Array::from(vec![Some(0), Some(1), None, Some(2)]),
            Arc::new(StringArray::from(members.to_vec())),
        )
        .unwrap();
        let t = table(vec![("e", Arc::new(column) as ArrayRef)]);
        let green = ScalarValue::enum_value(&members, 1).unwrap();
        assert_eq!(green.data_type(), &DataType::Dictionary(Box::new(DataType::UInt8), Box::new(DataType::Utf8)));
        let many: Vec<String> = (0..300).map(|i| format!("m{i}")).collect();
        let many: Vec<&str> = many.iter().map(String::as_str).collect();
        assert_eq!(
            ScalarValue::enum_value(&many, 299).unwrap().data_type(),
            &DataType::Dictionary(Box::new(DataType::UInt16), Box::new(DataType::Utf8))
        );
        expect_invalid(ScalarValue::enum_value(&members, 3), "out of range");
        let red_blue = LiteralList::from_scalars(&[
            ScalarValue::enum_value(&members, 0).unwrap(),
            ScalarValue::enum_value(&members, 2).unwrap(),
        ])
        .unwrap();
        let out = run(&[
            case("eq_enum", &t, snap(col(0, "e").eq(lit(green)))),
            case("in_enum", &t, snap(col(0, "e").in_list(red_blue))),
            case("eq_varchar", &t, snap(col(0, "e").eq(lit(ScalarValue::utf8("blue"))))),
            case("ne_enum", &t, snap(col(0, "e").ne(lit(ScalarValue::enum_value(&members, 0).unwrap())))),
        ]);
        out.mask("eq_enum", "FTNF");
        out.mask("in_enum", "TFNT");
        out.mask("eq_varchar", "FFNT");
        out.mask("ne_enum", "FTNT");
    }

    #[test]
    fn null_literals() {
        let t = table(vec![("x", i64s(&[Some(1), None]))]);
        let x = || col(0, "x");
        let null = || lit(ScalarValue::null(&DataType::Int64));
        let out = run(&[
            case("eq_null", &t, snap(x().eq(null()))),
            case("distinct_from_null", &t, snap(x().compare(ComparisonOp::DistinctFrom, null()))),
            case("not_distinct_from_null", &t, snap(x().compare(ComparisonOp::NotDistinctFrom, null()))),
            case("eq_untyped_null", &t, snap(x().eq(lit(ScalarValue::null(&DataType::Null))))),
            case("null_is_null", &t, snap(null().is_null())),
            case("null_utf8_ne", &t, snap(lit(ScalarValue::null(&DataType::Utf8)).ne(lit(ScalarValue::utf8("a"))))),
        ]);
        out.mask("eq_null", "NN");
        out.mask("distinct_from_null", "TF");
        out.mask("not_distinct_from_null", "FT");
        out.mask("eq_untyped_null", "NN");
        out.mask("null_is_null", "TT");
        out.mask("null_utf8_ne", "NN");
        assert!(ScalarValue::null(&DataType::Int64).is_null());
    }

    #[test]
    fn in_lists_literal_and_external() {
        let t = table(vec![("x", i64s(&[Some(1), Some(2), Some(3), None]))]);
        let x = || col(0, "x");
        let list = |v: Vec<Option<i64>>| LiteralList::new(Arc::new(Int64Array::from(v)));
        let batch = FilterSnapshot::default()
            .with_predicate(Predicate::required("q", x().in_list(list(vec![Some(1), Some(3)]))))
            .to_batch()
            .unwrap();
        let list_type = DataType::List(Arc::new(Field::new("item", DataType::Int64, true)));
        assert_eq!(batch.schema().field(1).data_type(), &list_type, "an IN set is one list<T> value");
        let external = FilterExpr::In {
            expr: Box::new(x()),
            set: InSet::External { batch_index: 0, column_index: 0, column_name: "k".into() },
            negated: false,
        };
        let json =
            FilterSnapshot::default().with_predicate(Predicate::required("q", external.clone())).to_json().unwrap();
        assert!(
            json.contains(r#""set":{"kind":"external","batch_index":0,"column_index":0,"column_name":"k"}"#),
            "{json}"
        );
        let mut external_case = case("external", &t, snap(external));
        external_case.join_keys = Some(table(vec![("k", i64s(&[Some(2), Some(3)]))]));
        let out = run(&[
            case("in", &t, snap(x().in_list(list(vec![Some(1), Some(3)])))),
            case("not_in", &t, snap(x().not_in_list(list(vec![Some(1), Some(3)])))),
            case("in_null_candidate", &t, snap(x().in_list(list(vec![Some(1), None])))),
            case("not_in_null_candidate", &t, snap(x().not_in_list(list(vec![Some(1), None])))),
            case("in_empty", &t, snap(x().in_list(LiteralList::empty(&DataType::Int64)))),
            case("not_in_empty", &t, snap(x().not_in_list(LiteralList::empty(&DataType::Int64)))),
            case("in_int32_list", &t, snap(x().in_list(LiteralList::new(Arc::new(Int32Array::from(vec![2])))))),
            case(
                "in_from_scalars",
                &t,
                snap(x().in_list(LiteralList::from_scalars(&[ScalarValue::int64(3), ScalarValue::int64(1)]).unwrap())),
            ),
            external_case,
        ]);
        out.mask("in", "TFTN");
        out.mask("not_in", "FTFN");
        out.mask("in_null_candidate", "TNNN");
        out.mask("not_in_null_candidate", "FNNN");
        out.mask("in_empty", "FFFF");
        out.mask("not_in_empty", "TTTT");
        out.mask("in_int32_list", "FTFN");
        out.mask("in_from_scalars", "TFTN");
        out.mask("external", "FTTN");
        expect_invalid(LiteralList::from_scalars(&[ScalarValue::int64(1), ScalarValue::int32(1)]), "share one type");
    }

    #[test]
    fn and_or_not_trees_with_kleene_logic() {
        let tvn = [Some(true), Some(false), None];
        let a: Vec<Option<bool>> = tvn.iter().flat_map(|v| [*v; 3]).collect();
        let b: Vec<Option<bool>> = (0..3).flat_map(|_| tvn).collect();
        let t = table(vec![("a", Arc::new(BooleanArray::from(a)) as ArrayRef), ("b", Arc::new(BooleanArray::from(b)))]);
        let a = || col(0, "a");
        let b = || col(1, "b");
        let nested = FilterExpr::and(vec![a(), FilterExpr::and(vec![b(), FilterExpr::and(vec![a()])])]);
        let json =
            FilterSnapshot::default().with_predicate(Predicate::required("q", nested.clone())).to_json().unwrap();
        assert_eq!(json.matches(r#""node":"and""#).count(), 1, "nested ANDs are flattened: {json}");
        let out = run(&[
            case("and", &t, snap(FilterExpr::and(vec![a(), b()]))),
            case("or", &t, snap(FilterExpr::or(vec![a(), b()]))),
            case("not", &t, snap(a().not())),
            case("flattened", &t, snap(nested)),
            case("single_child", &t, snap(FilterExpr::or(vec![a()]))),
            case("empty_and", &t, snap(FilterExpr::and(vec![]))),
            case("empty_or", &t, snap(FilterExpr::or(vec![]))),
            case(
                "mixed",
                &t,
                snap(FilterExpr::or(vec![
                    FilterExpr::and(vec![a(), b().not()]),
                    FilterExpr::and(vec![a().not(), b()]),
                ])),
            ),
            case(
                "comparisons",
                &t,
                snap(FilterExpr::and(vec![a().eq(lit(ScalarValue::boolean(true))), b().is_not_null()])),
            ),
        ]);
        out.mask("and", "TFNFFFNFN");
        out.mask("or", "TTTTFNTNN");
        out.mask("not", "FFFTTTNNN");
        out.mask("flattened", "TFNFFFNFN");
        out.mask("single_child", "TTTFFFNNN");
        out.mask("empty_and", "TTTTTTTTT");
        out.mask("empty_or", "FFFFFFFFF");
        out.mask("mixed", "FTNTFNNNN");
        out.mask("comparisons", "TTFFFFNNF");
    }

    #[test]
    fn struct_field_refs() {
        let inner_fields = Fields::from(vec![Field::new("b", DataType::Utf8, true)]);
        // Row 3's parent is NULL but its child storage holds a readable value ("x").
        let inner = StructArray::try_new(
            inner_fields.clone(),
            vec![Arc::new(StringArray::from(vec![Some("x"), Some("y"), Some("x"), Some("x")])) as ArrayRef],
            Some(NullBuffer::from(vec![true, true, true, false])),
        )
        .unwrap();
        let outer_fields = Fields::from(vec![
            Field::new("a", DataType::Int64, true),
            Field::new("inner", DataType::Struct(inner_fields), true),
        ]);
        let outer = StructArray::try_new(
            outer_fields,
            vec![i64s(&[Some(1), Some(5), Some(9), None]), Arc::new(inner)],
            Some(NullBuffer::from(vec![true, true, false, true])),
        )
        .unwrap();
        let t = table(vec![("id", i64s(&[Some(0), Some(1), Some(2), Some(3)])), ("s", Arc::new(outer) as ArrayRef)]);
        let s = || col(1, "s");
        let b = || s().field(1, "inner").field(0, "b");
        let out = run(&[
            case("a_gt_2", &t, snap(s().field(0, "a").gt(lit(ScalarValue::int64(2))))),
            case("b_eq_x", &t, snap(b().eq(lit(ScalarValue::utf8("x"))))),
            case("b_is_null", &t, snap(b().is_null())),
            case("inner_is_not_null", &t, snap(s().field(1, "inner").is_not_null())),
            case("wrong_field_name", &t, snap(s().field(0, "z").is_null())),
        ]);
        out.mask("a_gt_2", "FTNN");
        out.mask("b_eq_x", "TFNN");
        out.mask("b_is_null", "FFTT");
        out.mask("inner_is_not_null", "TTFF");
        out.error("wrong_field_name", "does not match index 0");
    }

    #[test]
    fn is_null_and_is_not_null() {
        let t = table(vec![("x", i64s(&[Some(1), None, Some(3)]))]);
        let out = run(&[
            case("is_null", &t, snap(col(0, "x").is_null())),
            case("is_not_null", &t, snap(col(0, "x").is_not_null())),
            case("not_is_null", &t, snap(col(0, "x").is_null().not())),
        ]);
        out.mask("is_null", "FTF");
        out.mask("is_not_null", "TFT");
        out.mask("not_is_null", "TFT");
    }

    #[test]
    fn casts_arithmetic_and_list_contains() {
        let lists = arrow_array::ListArray::from_iter_primitive::<Int64Type, _, _>(vec![
            Some(vec![Some(1), Some(2)]),
            Some(vec![Some(3)]),
            None,
            Some(vec![]),
        ]);
        let t = table(vec![
            ("x", i64s(&[Some(1), Some(6), Some(3), Some(10)])),
            ("s", Arc::new(StringArray::from(vec!["1", "20", "3", "x"])) as ArrayRef),
            ("l", Arc::new(lists)),
            ("n", Arc::new(StringArray::from(vec!["1", "20", "3", "-4"]))),
        ]);
        let x = || col(0, "x");
        let out = run(&[
            case(
                "add",
                &t,
                snap(x().arithmetic(ArithmeticOp::Add, lit(ScalarValue::int64(1))).gt(lit(ScalarValue::int64(5)))),
            ),
            case("negate", &t, snap(x().neg().lt(lit(ScalarValue::int64(-5))))),
            case(
                "multiply",
                &t,
                snap(
                    x().arithmetic(ArithmeticOp::Multiply, lit(ScalarValue::int32(2))).eq(lit(ScalarValue::int64(12))),
                ),
            ),
            // Division depends on session settings: refused under vgi.none.v1.
            case(
                "divide_none",
                &t,
                snap(x().arithmetic(ArithmeticOp::Divide, lit(ScalarValue::int64(2))).gt(lit(ScalarValue::int64(1)))),
            ),
            case("cast_utf8_to_int", &t, snap(col(3, "n").cast(DataType::Int64).gt(lit(ScalarValue::int64(2))))),
            // Casts throw, and DuckDB evaluates both sides of an AND: a guard conjunct does not
            // protect a throwing one (why producers never split such conjunctions).
            case(
                "cast_throws",
                &t,
                snap(FilterExpr::and(vec![
                    col(1, "s").ne(lit(ScalarValue::utf8("x"))),
                    col(1, "s").cast(DataType::Int64).gt(lit(ScalarValue::int64(2))),
                ])),
            ),
            case(
                "list_contains",
                &t,
                snap(FilterExpr::call(FilterFunction::ListContains, vec![col(2, "l"), lit(ScalarValue::int64(2))])),
            ),
            case(
                "list_literal_eq",
                &t,
                snap(col(2, "l").eq(lit(ScalarValue::list(&LiteralList::new(i64s(&[Some(3)])))))),
            ),
        ]);
        out.mask("add", "FTFT");
        out.mask("negate", "FTFT");
        out.mask("multiply", "FTFF");
        out.error("divide_none", "requires vgi.duckdb.session.v1");
        out.mask("cast_utf8_to_int", "FTTF");
        out.error("cast_throws", "Conversion Error");
        out.mask("list_contains", "TFNF");
        out.mask("list_literal_eq", "FTNF");
    }

    #[test]
    fn duckdb_session_context() {
        let session = |tz: &str, integer_division: bool| {
            EvaluationContext::duckdb_session(tz, "gregorian", "", true, integer_division)
        };
        let metadata = session("UTC", false).with_provider_fingerprint("fp").schema_metadata().unwrap();
        let get = |k: &str| metadata.get(k).map(String::as_str);
        assert_eq!(get("vgi_evaluation_context"), Some("vgi.duckdb.session.v1"));
        assert_eq!(get("vgi_time_zone"), Some("UTC"));
        assert_eq!(get("vgi_calendar"), Some("gregorian"));
        assert_eq!(get("vgi_default_collation"), Some("binary"), "empty collation is sent as binary");
        assert_eq!(get("vgi_ieee_floating_point_ops"), Some("true"));
        assert_eq!(get("vgi_integer_division"), Some("false"));
        assert_eq!(get("vgi_context_provider_fingerprint"), Some("fp"));
        assert_eq!(metadata.len(), 9);
        expect_invalid(session("UTC", false).with_provider_fingerprint("").schema_metadata(), "fingerprint");

        // Parsing local text as TIMESTAMPTZ depends on the session time zone.
        let t = table(vec![
            ("s", Arc::new(StringArray::from(vec!["2024-01-01 00:00:00"])) as ArrayRef),
            ("x", i64s(&[Some(7)])),
        ]);
        let five_utc = 1_704_085_200_000_000; // 2024-01-01T05:00:00Z
        let parsed = || {
            col(0, "s")
                .cast(DataType::Timestamp(TimeUnit::Microsecond, Some("UTC".into())))
                .eq(lit(ScalarValue::timestamp(five_utc, TimeUnit::Microsecond, Some("UTC"))))
        };
        let half =
            || col(1, "x").arithmetic(ArithmeticOp::Divide, lit(ScalarValue::int64(2))).eq(lit(ScalarValue::int64(3)));
        let out = run(&[
            case("new_york", &t, snap_in(session("America/New_York", false), parsed())),
            case("utc", &t, snap_in(session("UTC", false), parsed())),
            case("none_refused", &t, snap_in(EvaluationContext::None, parsed())),
            case(
                "advertised_fingerprint",
                &t,
                snap_in(session("UTC", false).with_provider_fingerprint("test-fingerprint"), parsed()),
            ),
            case(
                "unknown_fingerprint",
                &t,
                snap_in(session("UTC", false).with_provider_fingerprint("other"), parsed()),
            ),
            case("integer_division", &t, snap_in(session("UTC", true), half())),
            case("float_division", &t, snap_in(session("UTC", false), half())),
        ]);
        out.mask("new_york", "T");
        out.mask("utc", "F");
        out.error("none_refused", "requires vgi.duckdb.session.v1");
        out.mask("advertised_fingerprint", "F");
        out.error("unknown_fingerprint", "fingerprint");
        out.mask("integer_division", "T");
        out.mask("float_division", "F");
    }

    #[test]
    fn deltas_upsert_remove_and_revisions() {
        let t = one_to_ten();
        let x = || col(0, "x");
        let snapshot = FilterSnapshot::default()
            .with_predicate(Predicate::required("q", x().gt(lit(ScalarValue::int64(1)))))
            .with_predicate(Predicate::advisory("j", PredicateSource::Join, x().lt(lit(ScalarValue::int64(9)))))
            .encode()
            .unwrap();
        let upsert = |revision: u64, bound: i64| {
            FilterDelta::new(EvaluationContext::None)
                .upsert(
                    Predicate::advisory("j", PredicateSource::Join, x().le(lit(ScalarValue::int64(bound))))
                        .with_revision(revision),
                )
                .encode_base64()
                .unwrap()
        };
        let remove = |revision: u64| FilterDelta::default().remove("j", revision).encode_base64().unwrap();
        let top_n = FilterDelta::default()
            .upsert(
                Predicate::advisory("top_n:0", PredicateSource::TopN, x().ge(lit(ScalarValue::int64(4))))
                    .with_revision(1),
            )
            .encode_base64()
            .unwrap();
        let touch_required = FilterDelta::default().remove("q", 1).encode_base64().unwrap();
        let other_context =
            FilterDelta::new(EvaluationContext::duckdb_session("UTC", "gregorian", "binary", true, false))
                .remove("j", 5)
                .encode_base64()
                .unwrap();
        let with = |name: &str, deltas: Vec<String>| Case { deltas, ..case(name, &t, snapshot.clone()) };
        let out = run(&[
            with("snapshot_only", vec![]),
            with("upsert", vec![upsert(1, 5)]),
            with("upsert_then_remove", vec![upsert(1, 5), remove(2)]),
            with("stale_upsert_after_remove", vec![upsert(1, 5), remove(2), upsert(2, 3)]),
            with("newer_upsert", vec![upsert(1, 5), upsert(3, 3)]),
            with("new_id", vec![top_n.clone()]),
            with("empty_delta", vec![FilterDelta::default().encode_base64().unwrap()]),
            with("required_id", vec![touch_required]),
            with("context_changed", vec![other_context]),
        ]);
        out.mask("snapshot_only", "FTTTTTTTFF");
        out.mask("upsert", "FTTTTFFFFF");
        out.mask("upsert_then_remove", "FTTTTTTTTT");
        out.mask("stale_upsert_after_remove", "FTTTTTTTTT");
        out.mask("newer_upsert", "FTTFFFFFFF");
        out.mask("new_id", "FFFTTTTTFF");
        out.mask("empty_delta", "FTTTTTTTFF");
        out.error("required_id", "required predicate");
        out.error("context_changed", "evaluation context changed");

        let json = FilterDelta::default().remove("j", 7).to_json().unwrap();
        assert_eq!(
            json,
            r#"{"encoding":"vgi.filters.v2","semantics":"vgi.duckdb.standard.v1","kind":"delta","updates":[{"operation":"remove","id":"j","revision":7}]}"#
        );
        let (key, value) = FilterDelta::default().remove("j", 7).tick_metadata().unwrap();
        assert_eq!(key, "vgi_pushdown_filters");
        assert_eq!(value.len() % 4, 0);
        expect_invalid(FilterDelta::default().upsert(Predicate::required("r", x().is_null())).to_batch(), "advisory");
        expect_invalid(FilterDelta::default().remove("j", 1).remove("j", 2).to_batch(), "duplicate");
    }

    #[test]
    fn producer_limits() {
        let flag = || col(0, "flag");
        let one = |expr: FilterExpr| FilterSnapshot::default().with_predicate(Predicate::required("q", expr));
        let nots = |n: usize| (0..n).fold(flag(), |e, _| e.not());

        // Depth: the root is level 1, so 63 NOTs over a column is exactly the limit.
        assert!(one(nots(63)).to_batch().is_ok());
        expect_invalid(one(nots(64)).to_batch(), "depth limit");
        let t = table(vec![("flag", Arc::new(BooleanArray::from(vec![Some(true), Some(false)])) as ArrayRef)]);
        let out = run(&[case("depth_64", &t, one(nots(63)).encode().unwrap())]);
        out.mask("depth_64", "FT");

        // Nodes, over the whole document.
        assert!(one(FilterExpr::or((0..MAX_NODES - 1).map(|_| flag()).collect())).to_batch().is_ok());
        expect_invalid(one(FilterExpr::or((0..MAX_NODES).map(|_| flag()).collect())).to_batch(), "expression nodes");
        let split = FilterSnapshot::default()
            .with_predicate(Predicate::required("a", FilterExpr::or((0..5_000).map(|_| flag()).collect())))
            .with_predicate(Predicate::required("b", FilterExpr::or((0..5_000).map(|_| flag()).collect())));
        expect_invalid(split.to_batch(), "expression nodes");

        // Predicates.
        let many = |n: usize| FilterSnapshot {
            context: EvaluationContext::None,
            predicates: (0..n).map(|i| Predicate::required(format!("p{i}"), flag())).collect(),
        };
        assert!(many(MAX_PREDICATES).to_batch().is_ok());
        expect_invalid(many(MAX_PREDICATES + 1).to_batch(), "predicates exceed");

        // JSON size and payload size.
        expect_invalid(one(col(0, &"c".repeat(MAX_JSON_BYTES)).is_null()).to_batch(), "filter JSON");
        let big = vec![0u8; MAX_PAYLOAD_BYTES];
        expect_invalid(one(flag().eq(lit(ScalarValue::binary(&big)))).to_batch(), "payload");

        // IDs, revisions, identities, arguments.
        expect_invalid(
            FilterSnapshot::default().with_predicate(Predicate::required("", flag())).to_batch(),
            "predicate ID",
        );
        expect_invalid(
            FilterSnapshot::default().with_predicate(Predicate::required("é".repeat(65), flag())).to_batch(),
            "predicate ID",
        );
        expect_invalid(
            FilterSnapshot::default()
                .with_predicate(Predicate::required("x", flag()))
                .with_predicate(Predicate::required("x", flag()))
                .to_batch(),
            "duplicate",
        );
        expect_invalid(
            FilterSnapshot::default().with_predicate(Predicate::required("x", flag()).with_revision(1)).to_batch(),
            "revision 0",
        );
        let extension = |namespace: &str, name: &str, version: u64| {
            one(FilterExpr::call(
                FilterFunction::Extension { namespace: namespace.into(), name: name.into(), version },
                vec![flag(), flag()],
            ))
            .to_json()
        };
        let ok = extension("duckdb.spatial", "intersects_extent", 1).unwrap();
        assert!(
            ok.contains(r#""function":{"namespace":"duckdb.spatial","name":"intersects_extent","version":1}"#),
            "{ok}"
        );
        expect_invalid(extension("DuckDB", "x", 1), "noncanonical");
        expect_invalid(extension("duckdb", "x", 0), "noncanonical");
        expect_invalid(extension("duckdb.", "x", 1), "noncanonical");
        expect_invalid(
            one(FilterExpr::call(FilterFunction::Contains, (0..MAX_ARGUMENTS + 1).map(|_| flag()).collect()))
                .to_batch(),
            "arguments",
        );
        expect_invalid(ScalarValue::new(i64s(&[Some(1), Some(2)])), "one-element");
    }

    #[test]
    fn base64_matches_rfc4648_vectors() {
        for (input, expected) in [
            ("", ""),
            ("f", "Zg=="),
            ("fo", "Zm8="),
            ("foo", "Zm9v"),
            ("foob", "Zm9vYg=="),
            ("fooba", "Zm9vYmE="),
            ("foobar", "Zm9vYmFy"),
        ] {
            assert_eq!(base64_encode(input.as_bytes()), expected);
        }
        assert_eq!(base64_encode(&[0xfb, 0xff, 0xfe]), "+//+");
    }
}
