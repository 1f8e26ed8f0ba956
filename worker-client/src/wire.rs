//! One generic mechanism for the protocol's "records": Rust structs that travel as one-row
//! Arrow batches (usually as an IPC blob inside a `binary` cell).
//!
//! Each field type implements [`WireField`] (its Arrow type, and how to write/read one value);
//! the [`record!`](crate::record) macro derives the row (de)serialization for a struct from its
//! field list, so no record is encoded by hand.
use std::collections::BTreeMap;
use std::sync::Arc;

use arrow_array::builder::{BinaryBuilder, ListBuilder, StringBuilder};
use arrow_array::cast::AsArray;
use arrow_array::types::{Int16Type, Int32Type, Int64Type, Int8Type};
use arrow_array::{Array, ArrayRef, BooleanArray, DictionaryArray, Int16Array, Int64Array, StringArray};
use arrow_schema::{DataType, Field};

use crate::error::{Error, Result};

/// A Rust type that is one Arrow column value in a record.
pub trait WireField: Sized {
    fn data_type() -> DataType;
    fn nullable() -> bool {
        false
    }
    /// A one-element array holding `value`.
    fn to_array(value: &Self) -> ArrayRef;
    /// Reads row `row` of `array` (any compatible physical type the worker may send).
    fn from_array(array: &dyn Array, row: usize) -> Result<Self>;
    /// The value when the worker omitted the column (records are lenient about defaults).
    fn absent(name: &str) -> Result<Self> {
        Err(Error::protocol(format!("record field `{name}` is missing")))
    }
}

fn type_error(array: &dyn Array, wanted: &str) -> Error {
    Error::protocol(format!("expected {wanted}, the worker sent {}", array.data_type()))
}

fn null_error() -> Error {
    Error::protocol("a NOT NULL record field is null")
}

/// Reads a string from utf8, large utf8 or a dictionary of either (enums may be either).
pub fn string_at(array: &dyn Array, row: usize) -> Result<Option<String>> {
    if array.is_null(row) {
        return Ok(None);
    }
    Ok(Some(match array.data_type() {
        DataType::Utf8 => array.as_string::<i32>().value(row).to_string(),
        DataType::LargeUtf8 => array.as_string::<i64>().value(row).to_string(),
        DataType::Utf8View => array.as_string_view().value(row).to_string(),
        DataType::Dictionary(key, _) => {
            let (values, index) = match key.as_ref() {
                DataType::Int8 => dict_parts::<Int8Type>(array, row),
                DataType::Int16 => dict_parts::<Int16Type>(array, row),
                DataType::Int32 => dict_parts::<Int32Type>(array, row),
                DataType::Int64 => dict_parts::<Int64Type>(array, row),
                _ => return Err(type_error(array, "a string dictionary")),
            };
            return string_at(values.as_ref(), index);
        }
        _ => return Err(type_error(array, "utf8")),
    }))
}

fn dict_parts<K: arrow_array::types::ArrowDictionaryKeyType>(array: &dyn Array, row: usize) -> (ArrayRef, usize) {
    let dict: &DictionaryArray<K> = array.as_dictionary::<K>();
    let index = arrow_buffer::ArrowNativeType::as_usize(dict.keys().value(row));
    (dict.values().clone(), index)
}

/// Reads bytes from binary, large binary, fixed-size binary or a dictionary of those
/// (`FunctionInfo.arguments` is `dictionary<int32, binary>`).
pub fn bytes_at(array: &dyn Array, row: usize) -> Result<Option<Vec<u8>>> {
    if array.is_null(row) {
        return Ok(None);
    }
    Ok(Some(match array.data_type() {
        DataType::Dictionary(key, _) => {
            let (values, index) = match key.as_ref() {
                DataType::Int8 => dict_parts::<Int8Type>(array, row),
                DataType::Int16 => dict_parts::<Int16Type>(array, row),
                DataType::Int32 => dict_parts::<Int32Type>(array, row),
                DataType::Int64 => dict_parts::<Int64Type>(array, row),
                _ => return Err(type_error(array, "a binary dictionary")),
            };
            return bytes_at(values.as_ref(), index);
        }
        DataType::Binary => array.as_binary::<i32>().value(row).to_vec(),
        DataType::LargeBinary => array.as_binary::<i64>().value(row).to_vec(),
        DataType::BinaryView => array.as_binary_view().value(row).to_vec(),
        DataType::FixedSizeBinary(_) => array.as_fixed_size_binary().value(row).to_vec(),
        _ => return Err(type_error(array, "binary")),
    }))
}

/// Reads an integer from any integer column.
pub fn int_at(array: &dyn Array, row: usize) -> Result<Option<i64>> {
    if array.is_null(row) {
        return Ok(None);
    }
    use arrow_array::types::*;
    Ok(Some(match array.data_type() {
        DataType::Int64 => array.as_primitive::<Int64Type>().value(row),
        DataType::Int32 => array.as_primitive::<Int32Type>().value(row) as i64,
        DataType::Int16 => array.as_primitive::<Int16Type>().value(row) as i64,
        DataType::Int8 => array.as_primitive::<Int8Type>().value(row) as i64,
        DataType::UInt32 => array.as_primitive::<UInt32Type>().value(row) as i64,
        DataType::UInt16 => array.as_primitive::<UInt16Type>().value(row) as i64,
        DataType::UInt8 => array.as_primitive::<UInt8Type>().value(row) as i64,
        DataType::UInt64 => i64::try_from(array.as_primitive::<UInt64Type>().value(row))
            .map_err(|_| Error::protocol("integer out of range"))?,
        _ => return Err(type_error(array, "an integer")),
    }))
}

/// Iterates the elements of row `row` of a list column.
fn list_at(array: &dyn Array, row: usize) -> Result<Option<ArrayRef>> {
    if array.is_null(row) {
        return Ok(None);
    }
    match array.data_type() {
        DataType::List(_) => Ok(Some(array.as_list::<i32>().value(row))),
        DataType::LargeList(_) => Ok(Some(array.as_list::<i64>().value(row))),
        DataType::FixedSizeList(..) => Ok(Some(array.as_fixed_size_list().value(row))),
        _ => Err(type_error(array, "a list")),
    }
}

impl WireField for String {
    fn data_type() -> DataType {
        DataType::Utf8
    }
    fn to_array(value: &Self) -> ArrayRef {
        Arc::new(StringArray::from(vec![value.as_str()]))
    }
    fn from_array(array: &dyn Array, row: usize) -> Result<Self> {
        string_at(array, row)?.ok_or_else(null_error)
    }
}

impl WireField for i64 {
    fn data_type() -> DataType {
        DataType::Int64
    }
    fn to_array(value: &Self) -> ArrayRef {
        Arc::new(Int64Array::from(vec![*value]))
    }
    fn from_array(array: &dyn Array, row: usize) -> Result<Self> {
        int_at(array, row)?.ok_or_else(null_error)
    }
}

impl WireField for bool {
    fn data_type() -> DataType {
        DataType::Boolean
    }
    fn to_array(value: &Self) -> ArrayRef {
        Arc::new(BooleanArray::from(vec![*value]))
    }
    fn from_array(array: &dyn Array, row: usize) -> Result<Self> {
        if array.is_null(row) {
            return Err(null_error());
        }
        match array.data_type() {
            DataType::Boolean => Ok(array.as_boolean().value(row)),
            _ => Err(type_error(array, "bool")),
        }
    }
    fn absent(_: &str) -> Result<Self> {
        Ok(false)
    }
}

impl WireField for i32 {
    fn data_type() -> DataType {
        DataType::Int32
    }
    fn to_array(value: &Self) -> ArrayRef {
        Arc::new(arrow_array::Int32Array::from(vec![*value]))
    }
    fn from_array(array: &dyn Array, row: usize) -> Result<Self> {
        let v = int_at(array, row)?.ok_or_else(null_error)?;
        i32::try_from(v).map_err(|_| Error::protocol("int32 out of range"))
    }
}

impl WireField for f64 {
    fn data_type() -> DataType {
        DataType::Float64
    }
    fn to_array(value: &Self) -> ArrayRef {
        Arc::new(arrow_array::Float64Array::from(vec![*value]))
    }
    fn from_array(array: &dyn Array, row: usize) -> Result<Self> {
        if array.is_null(row) {
            return Err(null_error());
        }
        match array.data_type() {
            DataType::Float64 => Ok(array.as_primitive::<arrow_array::types::Float64Type>().value(row)),
            DataType::Float32 => Ok(array.as_primitive::<arrow_array::types::Float32Type>().value(row) as f64),
            _ => Ok(int_at(array, row)?.ok_or_else(null_error)? as f64),
        }
    }
}

/// `binary` values (records, schemas, opaque tokens).
#[derive(Clone, Default, PartialEq, Eq)]
pub struct Blob(pub Vec<u8>);

impl std::fmt::Debug for Blob {
    // Blobs hold opaque attach/transaction tokens: never print their contents.
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "Blob({} bytes)", self.0.len())
    }
}

impl WireField for Blob {
    fn data_type() -> DataType {
        DataType::Binary
    }
    fn to_array(value: &Self) -> ArrayRef {
        let mut b = BinaryBuilder::with_capacity(1, value.0.len());
        b.append_value(&value.0);
        Arc::new(b.finish())
    }
    fn from_array(array: &dyn Array, row: usize) -> Result<Self> {
        Ok(Blob(bytes_at(array, row)?.ok_or_else(null_error)?))
    }
}

/// `large_binary` values (filter batches, join keys).
#[derive(Clone, Default, PartialEq, Eq)]
pub struct LargeBlob(pub Vec<u8>);

impl std::fmt::Debug for LargeBlob {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "LargeBlob({} bytes)", self.0.len())
    }
}

impl WireField for LargeBlob {
    fn data_type() -> DataType {
        DataType::LargeBinary
    }
    fn to_array(value: &Self) -> ArrayRef {
        Arc::new(arrow_array::LargeBinaryArray::from(vec![value.0.as_slice()]))
    }
    fn from_array(array: &dyn Array, row: usize) -> Result<Self> {
        Ok(LargeBlob(bytes_at(array, row)?.ok_or_else(null_error)?))
    }
}

/// `dictionary<int32, binary>` values (FunctionInfo's argument and output schemas).
#[derive(Clone, Default, PartialEq, Eq, Debug)]
pub struct DictBlob(pub Blob);

impl WireField for DictBlob {
    fn data_type() -> DataType {
        DataType::Dictionary(Box::new(DataType::Int32), Box::new(DataType::Binary))
    }
    fn to_array(value: &Self) -> ArrayRef {
        let keys = arrow_array::Int32Array::from(vec![0i32]);
        let values = Blob::to_array(&value.0);
        Arc::new(DictionaryArray::<Int32Type>::try_new(keys, values).expect("valid dictionary"))
    }
    fn from_array(array: &dyn Array, row: usize) -> Result<Self> {
        Ok(DictBlob(Blob(bytes_at(array, row)?.ok_or_else(null_error)?)))
    }
}

impl<T: WireField> WireField for Option<T> {
    fn data_type() -> DataType {
        T::data_type()
    }
    fn nullable() -> bool {
        true
    }
    fn to_array(value: &Self) -> ArrayRef {
        match value {
            Some(v) => T::to_array(v),
            None => arrow_array::new_null_array(&T::data_type(), 1),
        }
    }
    fn from_array(array: &dyn Array, row: usize) -> Result<Self> {
        if array.is_null(row) || array.data_type() == &DataType::Null {
            Ok(None)
        } else {
            T::from_array(array, row).map(Some)
        }
    }
    fn absent(_: &str) -> Result<Self> {
        Ok(None)
    }
}

/// Element types that can appear in `list<...>` record fields.
pub trait ListItem: Sized {
    fn item_type() -> DataType;
    fn build(values: &[Self]) -> ArrayRef;
    fn read(array: &dyn Array, row: usize) -> Result<Self>;
}

impl ListItem for String {
    fn item_type() -> DataType {
        DataType::Utf8
    }
    fn build(values: &[Self]) -> ArrayRef {
        let mut b = ListBuilder::new(StringBuilder::new());
        b.append_value(values.iter().map(|s| Some(s.as_str())));
        Arc::new(b.finish())
    }
    fn read(array: &dyn Array, row: usize) -> Result<Self> {
        String::from_array(array, row)
    }
}

impl ListItem for Blob {
    fn item_type() -> DataType {
        DataType::Binary
    }
    fn build(values: &[Self]) -> ArrayRef {
        let mut b = ListBuilder::new(BinaryBuilder::new());
        b.append_value(values.iter().map(|s| Some(s.0.as_slice())));
        Arc::new(b.finish())
    }
    fn read(array: &dyn Array, row: usize) -> Result<Self> {
        Blob::from_array(array, row)
    }
}

impl ListItem for i64 {
    fn item_type() -> DataType {
        DataType::Int64
    }
    fn build(values: &[Self]) -> ArrayRef {
        let mut b = ListBuilder::new(arrow_array::builder::Int64Builder::new());
        b.append_value(values.iter().map(|v| Some(*v)));
        Arc::new(b.finish())
    }
    fn read(array: &dyn Array, row: usize) -> Result<Self> {
        i64::from_array(array, row)
    }
}

impl ListItem for i32 {
    fn item_type() -> DataType {
        DataType::Int32
    }
    fn build(values: &[Self]) -> ArrayRef {
        let mut b = ListBuilder::new(arrow_array::builder::Int32Builder::new());
        b.append_value(values.iter().map(|v| Some(*v)));
        Arc::new(b.finish())
    }
    fn read(array: &dyn Array, row: usize) -> Result<Self> {
        let v = int_at(array, row)?.ok_or_else(null_error)?;
        i32::try_from(v).map_err(|_| Error::protocol("int32 out of range"))
    }
}

impl ListItem for LargeBlob {
    fn item_type() -> DataType {
        DataType::LargeBinary
    }
    fn build(values: &[Self]) -> ArrayRef {
        let mut b = ListBuilder::new(arrow_array::builder::LargeBinaryBuilder::new());
        b.append_value(values.iter().map(|s| Some(s.0.as_slice())));
        Arc::new(b.finish())
    }
    fn read(array: &dyn Array, row: usize) -> Result<Self> {
        LargeBlob::from_array(array, row)
    }
}

/// Nested lists (`list<list<int32>>` unique constraints, `list<list<utf8>>` required filters).
impl<T: ListItem> ListItem for Vec<T> {
    fn item_type() -> DataType {
        <Vec<T> as WireField>::data_type()
    }
    fn build(values: &[Self]) -> ArrayRef {
        let inner: Vec<ArrayRef> = values.iter().map(|v| T::build(v)).collect();
        list_of(Self::item_type(), &inner)
    }
    fn read(array: &dyn Array, row: usize) -> Result<Self> {
        <Vec<T> as WireField>::from_array(array, row)
    }
}

/// Records inlined as `struct` values inside lists (`releases`, `required_secrets`, ...).
#[derive(Clone, Debug, Default)]
pub struct Inline<R>(pub R);

impl<R: Record> ListItem for Inline<R> {
    fn item_type() -> DataType {
        DataType::Struct(R::schema().fields().clone())
    }
    fn build(values: &[Self]) -> ArrayRef {
        let rows: Vec<ArrayRef> =
            values.iter().map(|v| Arc::new(arrow_array::StructArray::from(v.0.to_batch())) as ArrayRef).collect();
        let refs: Vec<&dyn Array> = rows.iter().map(|a| a.as_ref()).collect();
        let items: ArrayRef = if refs.is_empty() {
            arrow_array::new_empty_array(&Self::item_type())
        } else {
            arrow_select::concat::concat(&refs).expect("same struct type")
        };
        list_of_items(Self::item_type(), items, values.len())
    }
    fn read(array: &dyn Array, row: usize) -> Result<Self> {
        // (A null struct in the list is an error: `RecordBatch::from` would panic on it.)
        <Inline<R> as WireField>::from_array(array, row)
    }
}

/// One list row holding `items` (all of them).
fn list_of_items(item_type: DataType, items: ArrayRef, len: usize) -> ArrayRef {
    debug_assert_eq!(items.len(), len);
    let field = Arc::new(Field::new("item", item_type, true));
    let offsets = arrow_buffer::OffsetBuffer::from_lengths([len]);
    Arc::new(arrow_array::ListArray::new(field, offsets, items, None))
}

/// One list row whose items are the single rows of `inner` (each a one-row list array).
fn list_of(item_type: DataType, inner: &[ArrayRef]) -> ArrayRef {
    let refs: Vec<&dyn Array> = inner.iter().map(|a| a.as_ref()).collect();
    let items: ArrayRef = if refs.is_empty() {
        arrow_array::new_empty_array(&item_type)
    } else {
        arrow_select::concat::concat(&refs).expect("same list type")
    };
    list_of_items(item_type, items, inner.len())
}

impl<T: ListItem> WireField for Vec<T> {
    fn data_type() -> DataType {
        DataType::List(Arc::new(Field::new("item", T::item_type(), true)))
    }
    fn to_array(value: &Self) -> ArrayRef {
        T::build(value)
    }
    fn from_array(array: &dyn Array, row: usize) -> Result<Self> {
        let items = list_at(array, row)?.ok_or_else(null_error)?;
        (0..items.len()).map(|i| T::read(items.as_ref(), i)).collect()
    }
    fn absent(_: &str) -> Result<Self> {
        Ok(Vec::new())
    }
}

/// `map<utf8, utf8>` (tags, options).
pub type StringMap = BTreeMap<String, String>;

impl WireField for StringMap {
    fn data_type() -> DataType {
        map_type(DataType::Utf8)
    }
    fn to_array(value: &Self) -> ArrayRef {
        let values: ArrayRef = Arc::new(StringArray::from_iter_values(value.values()));
        one_map(DataType::Utf8, value.keys(), values)
    }
    fn from_array(array: &dyn Array, row: usize) -> Result<Self> {
        if array.is_null(row) {
            return Err(null_error());
        }
        let map = match array.data_type() {
            DataType::Map(..) => array.as_map(),
            _ => return Err(type_error(array, "a map")),
        };
        let entries = map.value(row);
        let (keys, values) = (entries.column(0), entries.column(1));
        let mut out = StringMap::new();
        for i in 0..entries.len() {
            let key = string_at(keys.as_ref(), i)?.ok_or_else(null_error)?;
            out.insert(key, string_at(values.as_ref(), i)?.unwrap_or_default());
        }
        Ok(out)
    }
    fn absent(_: &str) -> Result<Self> {
        Ok(StringMap::new())
    }
}

/// `map<utf8, int64>` (estimated object counts).
pub type CountMap = BTreeMap<String, i64>;

/// The declared `map<utf8, V>` type (non-null `key`, nullable `value`).
fn map_type(value_type: DataType) -> DataType {
    let entries = Field::new(
        "entries",
        DataType::Struct(vec![Field::new("key", DataType::Utf8, false), Field::new("value", value_type, true)].into()),
        false,
    );
    DataType::Map(Arc::new(entries), false)
}

/// A one-row map array from its keys and a values array.
fn one_map<'a>(value_type: DataType, keys: impl Iterator<Item = &'a String>, values: ArrayRef) -> ArrayRef {
    let DataType::Map(fields, _) = map_type(value_type) else { unreachable!() };
    let DataType::Struct(struct_fields) = fields.data_type().clone() else { unreachable!() };
    let keys: ArrayRef = Arc::new(StringArray::from_iter_values(keys));
    let len = keys.len();
    let entries = arrow_array::StructArray::new(struct_fields, vec![keys, values], None);
    let offsets = arrow_buffer::OffsetBuffer::from_lengths([len]);
    Arc::new(arrow_array::MapArray::new(fields, offsets, entries, None, false))
}

impl WireField for CountMap {
    fn data_type() -> DataType {
        map_type(DataType::Int64)
    }
    fn to_array(value: &Self) -> ArrayRef {
        let values: ArrayRef = Arc::new(Int64Array::from_iter_values(value.values().copied()));
        one_map(DataType::Int64, value.keys(), values)
    }
    fn from_array(array: &dyn Array, row: usize) -> Result<Self> {
        if array.is_null(row) {
            return Err(null_error());
        }
        let map = match array.data_type() {
            DataType::Map(..) => array.as_map(),
            _ => return Err(type_error(array, "a map")),
        };
        let entries = map.value(row);
        let mut out = CountMap::new();
        for i in 0..entries.len() {
            let key = string_at(entries.column(0).as_ref(), i)?.ok_or_else(null_error)?;
            out.insert(key, int_at(entries.column(1).as_ref(), i)?.unwrap_or_default());
        }
        Ok(out)
    }
    fn absent(_: &str) -> Result<Self> {
        Ok(CountMap::new())
    }
}

/// Builds a `dictionary<int16, utf8>` array holding one enum member name.
pub fn enum_array(name: &str) -> ArrayRef {
    let keys = Int16Array::from(vec![0i16]);
    let values = Arc::new(StringArray::from(vec![name]));
    Arc::new(DictionaryArray::<Int16Type>::try_new(keys, values).expect("valid dictionary"))
}

/// The Arrow type of enum fields.
pub fn enum_type() -> DataType {
    DataType::Dictionary(Box::new(DataType::Int16), Box::new(DataType::Utf8))
}

/// Declares a protocol enum (wire value = member NAME in a `dictionary<int16, utf8>`).
#[macro_export]
macro_rules! wire_enum {
    ($(#[$meta:meta])* pub enum $name:ident { $($(#[$vmeta:meta])* $variant:ident = $wire:literal),+ $(,)? }) => {
        $(#[$meta])*
        #[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
        pub enum $name { $($(#[$vmeta])* $variant),+ }

        impl $name {
            pub fn wire_name(self) -> &'static str {
                match self { $($name::$variant => $wire),+ }
            }
            pub fn from_wire(s: &str) -> Option<Self> {
                match s { $($wire => Some($name::$variant),)+ _ => None }
            }
        }

        impl $crate::wire::WireField for $name {
            fn data_type() -> arrow_schema::DataType {
                $crate::wire::enum_type()
            }
            fn to_array(value: &Self) -> arrow_array::ArrayRef {
                $crate::wire::enum_array(value.wire_name())
            }
            fn from_array(array: &dyn arrow_array::Array, row: usize) -> $crate::error::Result<Self> {
                let s = $crate::wire::string_at(array, row)?
                    .ok_or_else(|| $crate::error::Error::protocol(concat!("null ", stringify!($name))))?;
                Self::from_wire(&s).ok_or_else(|| {
                    $crate::error::Error::protocol(format!(concat!("unknown ", stringify!($name), " `{}`"), s))
                })
            }
        }
    };
}

/// A struct that travels as a one-row Arrow batch.
pub trait Record: Sized {
    fn schema() -> arrow_schema::SchemaRef;
    fn to_batch(&self) -> arrow_array::RecordBatch;
    fn from_batch(batch: &arrow_array::RecordBatch, row: usize) -> Result<Self>;

    /// The record as an IPC blob (schema + one batch + EOS).
    fn to_blob(&self) -> Blob {
        Blob(crate::framing::encode_stream(&self.to_batch(), &[]).expect("encoding a record cannot fail"))
    }

    /// Reads a record from an IPC blob.
    fn from_blob(bytes: &[u8]) -> Result<Self> {
        let batch = crate::framing::decode_single_batch(bytes)?;
        if batch.num_rows() != 1 {
            return Err(Error::protocol(format!("a record blob must hold one row, it holds {}", batch.num_rows())));
        }
        Self::from_batch(&batch, 0)
    }
}

/// The wire name of a field (`r#type` travels as `type`).
pub fn wire_name(rust_name: &'static str) -> &'static str {
    rust_name.trim_start_matches("r#")
}

/// Reads column `name` of `batch` at `row` into a field, using the field's default when absent.
pub fn read_field<T: WireField>(batch: &arrow_array::RecordBatch, name: &str, row: usize) -> Result<T> {
    match batch.column_by_name(name) {
        Some(col) => T::from_array(col.as_ref(), row)
            .map_err(|e| Error::protocol(format!("record field `{name}`: {e}"))),
        None => T::absent(name),
    }
}

/// Declares a record: a struct whose fields map one-to-one, in order, to Arrow columns.
#[macro_export]
macro_rules! record {
    ($(#[$meta:meta])* pub struct $name:ident { $($(#[$fmeta:meta])* pub $field:ident : $ty:ty),* $(,)? }) => {
        $(#[$meta])*
        #[derive(Clone, Debug, Default)]
        pub struct $name { $($(#[$fmeta])* pub $field: $ty),* }

        impl $crate::wire::Record for $name {
            fn schema() -> arrow_schema::SchemaRef {
                static SCHEMA: std::sync::OnceLock<arrow_schema::SchemaRef> = std::sync::OnceLock::new();
                SCHEMA.get_or_init(|| std::sync::Arc::new(arrow_schema::Schema::new(vec![$(
                    arrow_schema::Field::new(
                        $crate::wire::wire_name(stringify!($field)),
                        <$ty as $crate::wire::WireField>::data_type(),
                        <$ty as $crate::wire::WireField>::nullable(),
                    )
                ),*]))).clone()
            }
            fn to_batch(&self) -> arrow_array::RecordBatch {
                let columns: Vec<arrow_array::ArrayRef> =
                    vec![$(<$ty as $crate::wire::WireField>::to_array(&self.$field)),*];
                arrow_array::RecordBatch::try_new_with_options(
                    Self::schema(),
                    columns,
                    &arrow_array::RecordBatchOptions::new().with_row_count(Some(1)),
                )
                .expect(concat!("record ", stringify!($name), " matches its schema"))
            }
            #[allow(unused_variables)]
            fn from_batch(batch: &arrow_array::RecordBatch, row: usize) -> $crate::error::Result<Self> {
                Ok($name { $($field: $crate::wire::read_field(batch, $crate::wire::wire_name(stringify!($field)), row)?),* })
            }
        }
    };
}

/// `uint64` values (filter capability versions inside `FunctionInfo`).
impl WireField for u64 {
    fn data_type() -> DataType {
        DataType::UInt64
    }
    fn to_array(value: &Self) -> ArrayRef {
        Arc::new(arrow_array::UInt64Array::from(vec![*value]))
    }
    fn from_array(array: &dyn Array, row: usize) -> Result<Self> {
        if array.is_null(row) {
            return Err(null_error());
        }
        match array.data_type() {
            DataType::UInt64 => Ok(array.as_primitive::<arrow_array::types::UInt64Type>().value(row)),
            _ => {
                let v = int_at(array, row)?.ok_or_else(null_error)?;
                u64::try_from(v).map_err(|_| Error::protocol("uint64 out of range"))
            }
        }
    }
}

/// `timestamp[us, tz=UTC]` values: microseconds since the Unix epoch.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct TimestampMicros(pub i64);

impl WireField for TimestampMicros {
    fn data_type() -> DataType {
        DataType::Timestamp(arrow_schema::TimeUnit::Microsecond, Some("UTC".into()))
    }
    fn to_array(value: &Self) -> ArrayRef {
        Arc::new(arrow_array::TimestampMicrosecondArray::from(vec![value.0]).with_timezone("UTC"))
    }
    fn from_array(array: &dyn Array, row: usize) -> Result<Self> {
        use arrow_array::types::{TimestampMicrosecondType, TimestampMillisecondType, TimestampNanosecondType, TimestampSecondType};
        use arrow_schema::TimeUnit;
        if array.is_null(row) {
            return Err(null_error());
        }
        Ok(TimestampMicros(match array.data_type() {
            DataType::Timestamp(TimeUnit::Second, _) => {
                array.as_primitive::<TimestampSecondType>().value(row).saturating_mul(1_000_000)
            }
            DataType::Timestamp(TimeUnit::Millisecond, _) => {
                array.as_primitive::<TimestampMillisecondType>().value(row).saturating_mul(1_000)
            }
            DataType::Timestamp(TimeUnit::Microsecond, _) => array.as_primitive::<TimestampMicrosecondType>().value(row),
            DataType::Timestamp(TimeUnit::Nanosecond, _) => array.as_primitive::<TimestampNanosecondType>().value(row) / 1_000,
            _ => int_at(array, row)?.ok_or_else(null_error)?,
        }))
    }
}

/// A record inlined as a `struct` column value (`BindRequest.copy_from` / `copy_to`); use
/// `Option<Inline<R>>` for a nullable struct.
impl<R: Record> WireField for Inline<R> {
    fn data_type() -> DataType {
        DataType::Struct(R::schema().fields().clone())
    }
    fn to_array(value: &Self) -> ArrayRef {
        Arc::new(arrow_array::StructArray::from(value.0.to_batch()))
    }
    fn from_array(array: &dyn Array, row: usize) -> Result<Self> {
        let structs = array.as_struct_opt().ok_or_else(|| type_error(array, "a struct"))?;
        if structs.is_null(row) {
            return Err(null_error());
        }
        let one = structs.slice(row, 1);
        let (fields, columns, _) = one.into_parts();
        let batch = arrow_array::RecordBatch::try_new_with_options(
            Arc::new(arrow_schema::Schema::new(fields)),
            columns,
            &arrow_array::RecordBatchOptions::new().with_row_count(Some(1)),
        )?;
        Ok(Inline(R::from_batch(&batch, 0)?))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::records::CatalogDataVersionRelease;

    /// A list of inline records whose second struct is null (workers may send one).
    fn releases_with_a_null() -> ArrayRef {
        let item = <Inline<CatalogDataVersionRelease> as ListItem>::item_type();
        let DataType::Struct(fields) = item.clone() else { unreachable!() };
        let one = arrow_array::StructArray::from(CatalogDataVersionRelease { version: "1".into(), ..Default::default() }.to_batch());
        let two = arrow_select::concat::concat(&[&one, &one]).unwrap();
        let (_, columns, _) = two.as_struct().clone().into_parts();
        let structs = arrow_array::StructArray::new(fields, columns, Some(arrow_buffer::NullBuffer::from(vec![true, false])));
        list_of_items(item, Arc::new(structs), 2)
    }

    #[test]
    fn a_null_inline_record_in_a_list_is_an_error_not_a_panic() {
        let list = releases_with_a_null();
        let read = <Vec<Inline<CatalogDataVersionRelease>> as WireField>::from_array(list.as_ref(), 0);
        assert!(read.unwrap_err().to_string().contains("null"));
    }
}
