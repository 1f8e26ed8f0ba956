//! Mutation fuzzing of everything that decodes a worker's bytes: the IPC stream decoder
//! (`framing::StreamDecoder`, `decode_schema`, `decode_single_batch`), batch classification
//! (logs, errors, sentinels), every protocol record (`Record::from_batch` / `from_blob`, nested
//! record blobs inside records), column statistics and scan-function arguments.
//!
//! Seeds are VALID encodings: streams this crate's encoder writes for batches of every Arrow
//! type and for every record, unary-response and stream frames, plus the bytes the real fixture
//! worker wrote during a few queries (tests/fixtures, see scripts/capture_worker_streams.py).
//! Each iteration mutates a seed (bit flips, interesting integers over length fields, truncation,
//! insertion, deletion, duplication, splicing, and structure-aware corruption of blobs nested
//! inside valid outer streams or of batch metadata) and decodes the result. Every outcome must
//! be Ok or Err: an escaped panic, a decoded array that fails Arrow's full validation, a single
//! allocation far beyond the input's size, or a slow (hung) iteration fails the run.
//!
//! `cargo test` runs a short pass; the long one is `scripts/fuzz_decoder.sh` (FUZZ_ITERATIONS,
//! default 1,000,000). Failing inputs are written to `$CARGO_TARGET_TMPDIR/fuzz-decoder/`;
//! `FUZZ_REPLAY=FILE` decodes one such file, `FUZZ_SEED` changes the mutation sequence.
use std::alloc::{GlobalAlloc, Layout, System};
use std::cell::{Cell, RefCell};
use std::collections::BTreeMap;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use arrow_array::builder::{Int64Builder, ListBuilder, MapBuilder, StringBuilder};
use arrow_array::cast::AsArray;
use arrow_array::types::{Int16Type, Int32Type, Int64Type};
use arrow_array::{
    Array, ArrayRef, BinaryArray, BinaryViewArray, BooleanArray, Date32Array, Date64Array, Decimal128Array,
    Decimal256Array, DictionaryArray, DurationSecondArray, FixedSizeBinaryArray, FixedSizeListArray, Float32Array,
    Float64Array, Int16Array, Int32Array, Int64Array, Int8Array, IntervalDayTimeArray, IntervalMonthDayNanoArray,
    IntervalYearMonthArray, LargeBinaryArray, LargeListArray, LargeStringArray, ListArray, NullArray, RecordBatch,
    RunArray, StringArray, StringViewArray, StructArray, Time32SecondArray, Time64MicrosecondArray,
    TimestampMicrosecondArray, TimestampNanosecondArray, UInt16Array, UInt32Array, UInt64Array, UInt8Array,
    UnionArray,
};
use arrow_buffer::{i256, IntervalDayTime, IntervalMonthDayNano, NullBuffer, OffsetBuffer, ScalarBuffer};
use arrow_schema::{DataType, Field, Fields, Schema, SchemaRef, UnionFields};
use worker_client::arguments::Arguments;
use worker_client::framing::{self, classify, encode_schema, keys, IpcStreamWriter, Metadata, StreamDecoder};
use worker_client::methods;
use worker_client::records::{self, decode_all};
use worker_client::wire::{Blob, DictBlob, Inline, Record, StringMap};

// ---- allocation watch ----------------------------------------------------------------------

/// Passes every allocation to the system allocator, remembering (per thread) the largest one
/// requested since the last reset: a corrupt length field must not make the decoder ask for
/// memory the input cannot back.
struct Watching;

thread_local! {
    static LARGEST: Cell<usize> = const { Cell::new(0) };
}

fn note(size: usize) {
    let _ = LARGEST.try_with(|l| {
        if size > l.get() {
            l.set(size);
        }
    });
}

unsafe impl GlobalAlloc for Watching {
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        note(layout.size());
        System.alloc(layout)
    }
    unsafe fn alloc_zeroed(&self, layout: Layout) -> *mut u8 {
        note(layout.size());
        System.alloc_zeroed(layout)
    }
    unsafe fn realloc(&self, ptr: *mut u8, layout: Layout, new_size: usize) -> *mut u8 {
        note(new_size);
        System.realloc(ptr, layout, new_size)
    }
    unsafe fn dealloc(&self, ptr: *mut u8, layout: Layout) {
        System.dealloc(ptr, layout)
    }
}

#[global_allocator]
static ALLOCATOR: Watching = Watching;

/// The most one decode may allocate at once: the input can justify a few times its size (arrow
/// realigns and copies buffers), plus fixed slack for schemas and small buffers.
fn allocation_limit(input_len: usize) -> usize {
    (4 << 20) + 8 * input_len
}

// ---- panics --------------------------------------------------------------------------------

thread_local! {
    /// Panics raised on this thread (caught inside the crate or not) and the last message.
    static PANICS: Cell<u64> = const { Cell::new(0) };
    static LAST_PANIC: RefCell<String> = const { RefCell::new(String::new()) };
}

/// Counts panics instead of printing each one (guarded ones are expected to be rare, escaped
/// ones are reported by the loop).
fn install_panic_counter() {
    std::panic::set_hook(Box::new(|info| {
        let _ = PANICS.try_with(|p| p.set(p.get() + 1));
        let message = format!("{info}");
        let _ = LAST_PANIC.try_with(|m| *m.borrow_mut() = message);
    }));
}

fn panics() -> u64 {
    PANICS.with(|p| p.get())
}

// ---- randomness ----------------------------------------------------------------------------

/// SplitMix64: tiny, seedable, good enough to drive mutations reproducibly.
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    }
    fn below(&mut self, n: usize) -> usize {
        if n == 0 {
            0
        } else {
            (self.next() % n as u64) as usize
        }
    }
    fn chance(&mut self, one_in: usize) -> bool {
        self.below(one_in) == 0
    }
}

// ---- seeds ---------------------------------------------------------------------------------

fn stream_of(batches: &[(RecordBatch, Vec<(&str, &str)>)]) -> Vec<u8> {
    let mut out = Vec::new();
    let mut writer = IpcStreamWriter::begin(&mut out, batches[0].0.schema_ref()).expect("schema encodes");
    for (batch, md) in batches {
        writer.write(&mut out, batch, md).expect("batch encodes");
    }
    writer.finish(&mut out).expect("EOS");
    out
}

fn one_row(name: &str, array: ArrayRef) -> RecordBatch {
    RecordBatch::try_from_iter(vec![(name, array)]).expect("one column")
}

/// Three-row arrays of every Arrow type the workers may send, with nulls and nesting.
fn typed_columns() -> Vec<(&'static str, ArrayRef)> {
    let struct_fields = Fields::from(vec![Field::new("a", DataType::Int32, true), Field::new("b", DataType::Utf8, true)]);
    let structs = StructArray::try_new(
        struct_fields.clone(),
        vec![Arc::new(Int32Array::from(vec![Some(1), None, Some(3)])), Arc::new(StringArray::from(vec![Some("x"), Some("y"), None]))],
        Some(NullBuffer::from(vec![true, false, true])),
    )
    .unwrap();
    let mut map = MapBuilder::new(None, StringBuilder::new(), Int64Builder::new());
    map.keys().append_value("k1");
    map.values().append_value(1);
    map.keys().append_value("k2");
    map.values().append_null();
    map.append(true).unwrap();
    map.append(false).unwrap();
    map.append(true).unwrap();
    let union_fields = UnionFields::try_new(vec![0, 1], vec![Field::new("num", DataType::Int32, true), Field::new("str", DataType::Utf8, true)]).unwrap();
    let sparse = UnionArray::try_new(
        union_fields.clone(),
        ScalarBuffer::from(vec![0i8, 1, 0]),
        None,
        vec![Arc::new(Int32Array::from(vec![Some(7), None, Some(9)])), Arc::new(StringArray::from(vec![None, Some("s"), None]))],
    )
    .unwrap();
    let dense = UnionArray::try_new(
        union_fields,
        ScalarBuffer::from(vec![1i8, 0, 1]),
        Some(ScalarBuffer::from(vec![0i32, 0, 1])),
        vec![Arc::new(Int32Array::from(vec![5])), Arc::new(StringArray::from(vec!["p", "q"]))],
    )
    .unwrap();
    let list_of_structs = ListArray::new(
        Arc::new(Field::new("item", DataType::Struct(struct_fields), true)),
        OffsetBuffer::from_lengths([2, 0, 1]),
        Arc::new(structs.clone()),
        None,
    );
    let mut nested = ListBuilder::new(ListBuilder::new(StringBuilder::new()));
    nested.values().append_value([Some("a"), None]);
    nested.append(true);
    nested.append(false);
    nested.values().append_value([Some("b")]);
    nested.values().append(false);
    nested.append(true);
    let binary_dict = DictionaryArray::<Int32Type>::try_new(
        Int32Array::from(vec![Some(0), None, Some(1)]),
        Arc::new(BinaryArray::from_vec(vec![b"ab", b"\x00\xff"])),
    )
    .unwrap();
    vec![
        ("i8", Arc::new(Int8Array::from(vec![Some(-128), None, Some(127)])) as ArrayRef),
        ("i16", Arc::new(Int16Array::from(vec![Some(-1), Some(2), None]))),
        ("i32", Arc::new(Int32Array::from(vec![None, Some(i32::MAX), Some(0)]))),
        ("i64", Arc::new(Int64Array::from(vec![Some(i64::MIN), None, Some(42)]))),
        ("u8", Arc::new(UInt8Array::from(vec![Some(255), None, Some(0)]))),
        ("u16", Arc::new(UInt16Array::from(vec![Some(1), Some(2), Some(3)]))),
        ("u32", Arc::new(UInt32Array::from(vec![Some(u32::MAX), None, Some(1)]))),
        ("u64", Arc::new(UInt64Array::from(vec![Some(u64::MAX), Some(0), None]))),
        ("f32", Arc::new(Float32Array::from(vec![Some(1.5), Some(f32::NAN), None]))),
        ("f64", Arc::new(Float64Array::from(vec![Some(f64::NEG_INFINITY), None, Some(0.25)]))),
        ("bool", Arc::new(BooleanArray::from(vec![Some(true), None, Some(false)]))),
        ("utf8", Arc::new(StringArray::from(vec![Some("héllo"), None, Some("")]))),
        ("large_utf8", Arc::new(LargeStringArray::from(vec![Some("a"), Some("bb"), None]))),
        ("utf8_view", Arc::new(StringViewArray::from(vec![Some("short"), None, Some("a string longer than twelve bytes")]))),
        ("binary", Arc::new(BinaryArray::from_opt_vec(vec![Some(b"\x00\x01"), None, Some(b"")]))),
        ("large_binary", Arc::new(LargeBinaryArray::from_opt_vec(vec![Some(b"xyz"), Some(b"q"), None]))),
        ("binary_view", Arc::new(BinaryViewArray::from(vec![Some(&b"tiny"[..]), None, Some(&b"0123456789abcdefghij"[..])]))),
        ("fixed_binary", Arc::new(FixedSizeBinaryArray::try_from_sparse_iter_with_size(vec![Some([1u8; 16]), None, Some([2u8; 16])].into_iter(), 16).unwrap())),
        ("date32", Arc::new(Date32Array::from(vec![Some(0), Some(19782), None]))),
        ("date64", Arc::new(Date64Array::from(vec![Some(86_400_000), None, Some(0)]))),
        ("time32", Arc::new(Time32SecondArray::from(vec![Some(3600), None, Some(0)]))),
        ("time64", Arc::new(Time64MicrosecondArray::from(vec![Some(45_296_789_012), None, Some(0)]))),
        ("ts_utc", Arc::new(TimestampMicrosecondArray::from(vec![Some(1_700_000_000_000_000), None, Some(0)]).with_timezone("UTC"))),
        ("ts_ns", Arc::new(TimestampNanosecondArray::from(vec![Some(1), Some(-1), None]))),
        ("duration", Arc::new(DurationSecondArray::from(vec![Some(5), None, Some(-5)]))),
        ("interval_mdn", Arc::new(IntervalMonthDayNanoArray::from(vec![Some(IntervalMonthDayNano::new(14, 3, 1_000)), None, Some(IntervalMonthDayNano::new(0, 0, 0))]))),
        ("interval_ym", Arc::new(IntervalYearMonthArray::from(vec![Some(13), None, Some(-1)]))),
        ("interval_dt", Arc::new(IntervalDayTimeArray::from(vec![Some(IntervalDayTime::new(1, 2)), None, Some(IntervalDayTime::new(0, 0))]))),
        ("decimal128", Arc::new(Decimal128Array::from(vec![Some(12345), None, Some(-1)]).with_precision_and_scale(10, 2).unwrap())),
        ("decimal256", Arc::new(Decimal256Array::from(vec![Some(i256::from_i128(5)), None, Some(i256::MINUS_ONE)]).with_precision_and_scale(40, 3).unwrap())),
        ("list", Arc::new(ListArray::from_iter_primitive::<Int32Type, _, _>(vec![Some(vec![Some(1), None]), None, Some(vec![])]))),
        ("large_list", Arc::new(LargeListArray::from_iter_primitive::<Int64Type, _, _>(vec![Some(vec![Some(1)]), Some(vec![]), None]))),
        ("fixed_list", Arc::new(FixedSizeListArray::from_iter_primitive::<Int32Type, _, _>(vec![Some(vec![Some(1), Some(2)]), None, Some(vec![Some(3), None])], 2))),
        ("struct", Arc::new(structs)),
        ("map", Arc::new(map.finish())),
        ("dict_utf8", Arc::new(vec![Some("a"), None, Some("a")].into_iter().collect::<DictionaryArray<Int16Type>>())),
        ("dict_binary", Arc::new(binary_dict)),
        ("sparse_union", Arc::new(sparse)),
        ("dense_union", Arc::new(dense)),
        ("null", Arc::new(NullArray::new(3))),
        ("run_end", Arc::new(RunArray::<Int32Type>::try_new(&Int32Array::from(vec![2, 3]), &StringArray::from(vec![Some("r"), None])).unwrap())),
        ("list_of_structs", Arc::new(list_of_structs)),
        ("nested_list", Arc::new(nested.finish())),
    ]
}

/// Instantiates `$apply::<T>()` for every protocol record type.
macro_rules! for_each_record {
    ($apply:ident $(, $arg:expr)*) => {{
        use records::*;
        use methods::*;
        for_each_record!(@list $apply ($($arg),*);
            AggregateBindRequest AggregateBindResponse AggregateCombineRequest AggregateCombineResponse
            AggregateDestructorRequest AggregateDestructorResponse AggregateFinalizeRequest AggregateFinalizeResponse
            AggregateStreamingChunkRequest AggregateStreamingChunkResponse AggregateStreamingCloseRequest
            AggregateStreamingCloseResponse AggregateStreamingOpenRequest AggregateStreamingOpenResponse
            AggregateUpdateRequest AggregateUpdateResponse AggregateWindowRequest AggregateWindowResponse
            AggregateWindowBatchRequest AggregateWindowBatchResponse AggregateWindowDestructorRequest
            AggregateWindowDestructorResponse AggregateWindowInitRequest AggregateWindowInitResponse BindRequest
            BindResponse InitRequest GlobalInitResponse TableBufferingCombineRequest TableBufferingCombineResponse
            TableBufferingDestructorRequest TableBufferingDestructorResponse TableBufferingProcessRequest
            TableBufferingProcessResponse TableFunctionCardinalityRequest TableCardinality
            TableFunctionDynamicToStringRequest TableFunctionDynamicToStringResponse TableFunctionPlanRequest
            PlanResponse TableFunctionStatisticsRequest ScanSplit PartitionTransform SortField CatalogAttachRequest
            ClientCapabilities CatalogAttachResult AttachCatalogInfo CatalogsResponse CatalogInfo
            CatalogDataVersionRelease CatalogCreateRequest TransactionBeginResponse CatalogVersionResponse
            CatalogContentsResponse SchemaContents SchemasResponse TablesResponse ViewsResponse FunctionsResponse
            MacrosResponse IndexesResponse CopyFromFormatsResponse SchemaInfo TableInfo ForeignKeyInfo ViewInfo
            FunctionInfo CatalogExample FilterFunctionCapability RuntimeFilterAlgorithmCapability
            EvaluationContextCapability SecretLookupEntry MacroInfo IndexInfo CopyFromFormatInfo TableCreateRequest
            MacroCreateRequest IndexCreateRequest CopyFromContext CopyToContext VgiCallState ScanFunctionResult
            WriteFunctionResult ScanBranchesResult ScanBranch SettingSpec AttachOptionSpec SecretTypeSpec
            AttachScope SchemaScope SchemaObjectsScope ObjectScope WriteFunctionScope TableAtScope ContentsParams
            AttachOnly TransactionScope ProtocolEntry SchemaCreateParams SchemaDropParams TableCreateParams
            ObjectDropParams MacroDropParams ObjectRenameParams ObjectCommentParams ViewCreateParams ColumnAddParams
            ColumnDropParams ColumnRenameParams ColumnDefaultSetParams ColumnParams ColumnTypeChangeParams
            ColumnCommentParams)
    }};
    (@list $apply:ident $args:tt; $($t:ident)*) => {{ $( $apply::<$t> $args; )* }};
}

fn push_default_blob<R: Record + Default>(seeds: &mut Vec<Vec<u8>>) {
    seeds.push(R::default().to_blob().0);
}

/// A unary response stream: a log record, then the one-row `result: binary` batch.
fn unary_response(blob: &[u8]) -> Vec<u8> {
    let result = one_row("result", Arc::new(BinaryArray::from_vec(vec![blob])));
    let log = framing::empty_batch(0);
    stream_of(&[
        (RecordBatch::new_empty(result.schema()), vec![(keys::LOG_LEVEL, "INFO"), (keys::LOG_MESSAGE, "starting")]),
        (result, vec![]),
    ])
    .into_iter()
    .chain(stream_of(&[(log, vec![(keys::LOG_LEVEL, "DEBUG"), (keys::LOG_MESSAGE, "x")])]))
    .collect()
}

fn sample_schema() -> Schema {
    Schema::new(vec![Field::new("n", DataType::Int64, false), Field::new("s", DataType::Utf8, true)])
}

/// Populated records (nested blobs, inline structs, maps, enums) the way workers send them.
fn populated_records() -> Vec<Vec<u8>> {
    let schema_blob = Blob(encode_schema(&sample_schema()));
    let mut tags = StringMap::new();
    tags.insert("owner".into(), "fuzz".into());
    let setting = records::SettingSpec { name: "s".into(), description: "d".into(), r#type: schema_blob.clone(), default_value: None };
    let function = records::FunctionInfo {
        name: "f".into(),
        schema_path: vec!["main".into()],
        tags: tags.clone(),
        arguments: DictBlob(schema_blob.clone()),
        output_schema: DictBlob(schema_blob.clone()),
        argument_monotonicity: Some(vec!["CONSTANT".into()]),
        examples: vec![Inline(records::CatalogExample::default())],
        categories: vec!["c".into()],
        ..Default::default()
    };
    let attach = records::CatalogAttachResult {
        attach_opaque_data: Blob(vec![1, 2, 3]),
        default_schema: "main".into(),
        settings: vec![setting.to_blob()],
        global_functions: vec![function.to_blob()],
        tags: tags.clone(),
        comment: Some("c".into()),
        ..Default::default()
    };
    let catalog = records::CatalogInfo {
        name: "example".into(),
        releases: vec![Inline(records::CatalogDataVersionRelease { version: "1".into(), summary: "s".into(), ..Default::default() })],
        attach_option_specs: vec![records::AttachOptionSpec { name: "o".into(), r#type: schema_blob.clone(), ..Default::default() }.to_blob()],
        ..Default::default()
    };
    let table = records::TableInfo {
        name: "t".into(),
        schema_path: vec!["main".into()],
        columns: schema_blob.clone(),
        not_null_constraints: vec![0],
        unique_constraints: vec![vec![0, 1]],
        required_filters: vec![vec!["n".into()]],
        write_result_modes: tags.clone(),
        tags,
        ..Default::default()
    };
    let args = Arguments { positional: vec![Arc::new(Int64Array::from(vec![3]))], named: vec![("k".into(), Arc::new(StringArray::from(vec!["v"])))] };
    let scan = records::ScanFunctionResult { function_name: "scan".into(), arguments: args.to_blob().unwrap(), ..Default::default() };
    let plan = records::PlanResponse {
        splits: vec![records::ScanSplit { payload: Blob(vec![9]), token: Blob(vec![8]), estimated_rows: Some(3), ..Default::default() }.to_blob()],
        partitioning: Some(vec![records::PartitionTransform { column: "n".into(), transform: "identity".into(), param: None }.to_blob()]),
        ..Default::default()
    };
    vec![
        attach.to_blob().0,
        records::CatalogsResponse { items: vec![catalog.to_blob()] }.to_blob().0,
        catalog.to_blob().0,
        function.to_blob().0,
        table.to_blob().0,
        records::TablesResponse { items: vec![table.to_blob()] }.to_blob().0,
        scan.to_blob().0,
        plan.to_blob().0,
        records::BindResponse { output_schema: schema_blob.clone(), opaque_data: Some(Blob(vec![0; 5])), ..Default::default() }.to_blob().0,
        records::GlobalInitResponse { execution_id: Blob(vec![7; 16]), opaque_data: None, max_workers: 2 }.to_blob().0,
        schema_blob.0,
    ]
}

/// A statistics stream (`min`/`max` sparse unions) as `table_function_statistics` returns it.
fn statistics_stream() -> Vec<u8> {
    let fields = UnionFields::try_new(vec![0, 1], vec![Field::new("0", DataType::Int64, true), Field::new("1", DataType::Utf8, true)]).unwrap();
    let union = |v: i64, s: &str| -> ArrayRef {
        Arc::new(
            UnionArray::try_new(
                fields.clone(),
                ScalarBuffer::from(vec![0i8, 1]),
                None,
                vec![Arc::new(Int64Array::from(vec![Some(v), None])), Arc::new(StringArray::from(vec![None, Some(s)]))],
            )
            .unwrap(),
        )
    };
    let batch = RecordBatch::try_from_iter(vec![
        ("column_name", Arc::new(StringArray::from(vec!["n", "s"])) as ArrayRef),
        ("min", union(0, "a")),
        ("max", union(99, "z")),
        ("has_null", Arc::new(BooleanArray::from(vec![Some(false), None]))),
        ("has_not_null", Arc::new(BooleanArray::from(vec![true, true]))),
        ("distinct_count", Arc::new(Int64Array::from(vec![Some(97), None]))),
    ])
    .unwrap();
    stream_of(&[(batch, vec![])])
}

/// HTTP-style stream frames: header stream, then an output stream with data, a log, an error
/// and the continuation sentinel carrying state tokens.
fn stream_frames() -> Vec<Vec<u8>> {
    let header = records::GlobalInitResponse { execution_id: Blob(vec![1; 8]), opaque_data: None, max_workers: 1 }.to_batch();
    let data = RecordBatch::try_from_iter(vec![("n", Arc::new(Int64Array::from(vec![1, 2, 3])) as ArrayRef)]).unwrap();
    let empty = RecordBatch::new_empty(data.schema());
    let extra = r#"{"exception_type": "ValueError", "traceback": "Traceback:\n  \u00e9 \"q\"", "frames": []}"#;
    let mut both = stream_of(&[(header, vec![])]);
    both.extend(stream_of(&[
        (data.clone(), vec![("vgi_batch_index", "0")]),
        (empty.clone(), vec![(keys::LOG_LEVEL, "WARNING"), (keys::LOG_MESSAGE, "careful")]),
        (empty.clone(), vec![(keys::STREAM_STATE, "c3RhdGU="), (keys::CALL_STATE, "Y2FsbA==")]),
    ]));
    let error = stream_of(&[(
        empty.clone(),
        vec![(keys::LOG_LEVEL, "EXCEPTION"), (keys::LOG_MESSAGE, "boom"), (keys::LOG_EXTRA, extra), (keys::ERROR_KIND, "method_not_implemented")],
    )]);
    let exchange = stream_of(&[(data, vec![(keys::STREAM_STATE, "bmV4dA==")]), (empty, vec![(keys::SHM_OFFSET, "0")])]);
    vec![both, error, exchange]
}

/// Splits captured worker output (records of u32 length + one process's bytes) into streams.
fn captured_streams(file: &[u8]) -> Vec<Vec<u8>> {
    let mut out = Vec::new();
    let mut rest = file;
    while rest.len() >= 4 {
        let len = u32::from_le_bytes(rest[..4].try_into().unwrap()) as usize;
        let chunk = &rest[4..4 + len.min(rest.len() - 4)];
        rest = &rest[4 + chunk.len()..];
        let mut input = chunk;
        loop {
            let before = input;
            let mut decoder = StreamDecoder::default();
            if decoder.read_schema(&mut input).is_err() {
                break;
            }
            let mut complete = false;
            while let Ok(next) = decoder.read_batch(&mut input) {
                if next.is_none() {
                    complete = true;
                    break;
                }
            }
            if !complete {
                break; // an abandoned stream at the end of a process's output
            }
            out.push(before[..before.len() - input.len()].to_vec());
        }
    }
    out
}

/// Every seed: encoder output for typed batches and records, frames, and captured bytes.
fn seeds() -> Vec<Vec<u8>> {
    let mut seeds = Vec::new();
    let columns = typed_columns();
    for (name, array) in &columns {
        seeds.push(stream_of(&[(one_row(name, array.clone()), vec![])]));
    }
    let wide = RecordBatch::try_from_iter(columns.clone()).expect("all columns have three rows");
    seeds.push(stream_of(&[(wide.clone(), vec![("vgi_batch_index", "1")])]));
    seeds.push(stream_of(&[(wide.slice(1, 2), vec![])]));
    // Several batches whose dictionaries change between them (dictionary messages mid-stream).
    let dict = |v: Vec<&'static str>| one_row("d", Arc::new(v.into_iter().collect::<DictionaryArray<Int32Type>>()) as ArrayRef);
    seeds.push(stream_of(&[(dict(vec!["a", "b"]), vec![]), (dict(vec!["c"]), vec![]), (dict(vec!["c", "c"]), vec![])]));
    let mut blobs = Vec::new();
    for_each_record!(push_default_blob, &mut blobs);
    blobs.extend(populated_records());
    for blob in &blobs {
        seeds.push(unary_response(blob));
    }
    seeds.extend(blobs);
    seeds.push(statistics_stream());
    seeds.extend(stream_frames());
    for file in [&include_bytes!("fixtures/example_worker_stdout.bin")[..], &include_bytes!("fixtures/extension_requests.bin")[..]] {
        let captured = captured_streams(file);
        assert!(captured.len() > 20, "the captured worker output splits into streams ({} found)", captured.len());
        seeds.extend(captured);
    }
    seeds
}

// ---- decoding everything -------------------------------------------------------------------

#[derive(Default)]
struct Tally {
    iterations: u64,
    /// Outcome of decoding the mutated bytes as a byte stream, by kind.
    outcomes: BTreeMap<String, u64>,
    /// Decodes attempted below the top level (blobs in cells, records, statistics, arguments).
    inner_decodes: u64,
    inner_ok: u64,
    /// Panics raised inside the crate and turned into errors by its guards.
    guarded_panics: u64,
    guarded_example: String,
    /// Where guarded panics were raised (file:line), with a count.
    guarded_at: BTreeMap<String, u64>,
    failures: Vec<String>,
    largest_allocation: usize,
    slowest: Duration,
    slowest_iteration: u64,
}

/// Where one decode of the top-level bytes ended.
fn outcome_kind(e: &worker_client::Error) -> String {
    let text = e.to_string();
    let kind = match e {
        worker_client::Error::Disconnected(_) => "err: truncated",
        worker_client::Error::Protocol(_) if text.contains("invalid Arrow data") => "err: arrow rejected",
        worker_client::Error::Protocol(_) if text.contains("malformed Arrow IPC") => "err: malformed IPC",
        worker_client::Error::Protocol(_) => "err: protocol",
        worker_client::Error::Worker(_) => "err: worker error",
        _ => "err: other",
    };
    kind.to_string()
}

fn try_record<R: Record>(batch: &RecordBatch, row: usize, tally: &mut Tally) {
    tally.inner_decodes += 1;
    if R::from_batch(batch, row).is_ok() {
        tally.inner_ok += 1;
    }
}

fn try_blob<R: Record>(bytes: &[u8], tally: &mut Tally) {
    tally.inner_decodes += 1;
    if R::from_blob(bytes).is_ok() {
        tally.inner_ok += 1;
    }
}

/// Every accessor a decoded batch meets downstream: full validation (what the decoder returned
/// must be sound), classification, every record on its first rows, nested blobs in cells.
fn exercise_batch(batch: &RecordBatch, md: &Metadata, depth: usize, tally: &mut Tally) -> Result<(), String> {
    for (field, column) in batch.schema().fields().iter().zip(batch.columns()) {
        if let Err(e) = column.to_data().validate_full() {
            return Err(format!("the decoder returned an invalid `{}` column: {e}", field.name()));
        }
        if column.len() != batch.num_rows() {
            return Err(format!("column `{}` has {} rows in a batch of {}", field.name(), column.len(), batch.num_rows()));
        }
    }
    for row in 0..batch.num_rows().min(2) {
        for_each_record!(try_record, batch, row, tally);
        for column in batch.columns() {
            let _ = worker_client::wire::string_at(column.as_ref(), row);
            let _ = worker_client::wire::int_at(column.as_ref(), row);
            if let Ok(Some(bytes)) = worker_client::wire::bytes_at(column.as_ref(), row) {
                if depth < 3 {
                    decode_blob(&bytes, depth + 1, tally)?;
                }
            }
        }
    }
    let _ = worker_client::client::result_blob(batch, "fuzz");
    let _ = classify(batch.clone(), md.clone());
    Ok(())
}

/// Decodes a byte stream holding back-to-back IPC streams, as a connection would.
fn decode_streams<R: std::io::Read>(mut input: R, depth: usize, tally: &mut Tally) -> Result<Result<(), worker_client::Error>, String> {
    let mut decoder = StreamDecoder::default();
    for _ in 0..64 {
        match decoder.read_schema(&mut input) {
            Ok(_) => {}
            // A clean end between streams is the normal end of a connection.
            Err(worker_client::Error::Disconnected(_)) if decoder.schema().is_none() && at_end(&mut input) => return Ok(Ok(())),
            Err(e) => return Ok(Err(e)),
        }
        for _ in 0..10_000 {
            match decoder.read_batch(&mut input) {
                Ok(Some((batch, md))) => exercise_batch(&batch, &md, depth, tally)?,
                Ok(None) => break,
                Err(e) => return Ok(Err(e)),
            }
        }
    }
    Ok(Ok(()))
}

fn at_end<R: std::io::Read>(input: &mut R) -> bool {
    let mut probe = [0u8; 1];
    matches!(input.read(&mut probe), Ok(0))
}

/// Decodes `bytes` as each kind of blob a worker sends inside records and results.
fn decode_blob(bytes: &[u8], depth: usize, tally: &mut Tally) -> Result<(), String> {
    tally.inner_decodes += 4;
    if let Ok(batch) = framing::decode_single_batch(bytes) {
        tally.inner_ok += 1;
        exercise_batch(&batch, &Metadata::new(), depth, tally)?;
    }
    if framing::decode_schema(bytes).is_ok() {
        tally.inner_ok += 1;
    }
    if worker_client::statistics::decode_statistics(bytes).is_ok() {
        tally.inner_ok += 1;
    }
    if Arguments::from_scan_function_result(bytes).is_ok() {
        tally.inner_ok += 1;
    }
    // The blob-level entry points records override (zero-field acks) and list decoding.
    try_blob::<records::AggregateUpdateResponse>(bytes, tally);
    try_blob::<records::CatalogAttachResult>(bytes, tally);
    tally.inner_decodes += 1;
    if decode_all::<records::CatalogInfo>(&[Blob(bytes.to_vec())]).is_ok() {
        tally.inner_ok += 1;
    }
    Ok(())
}

/// A reader that hands out at most a few bytes per read (pipes deliver messages in pieces).
struct Trickle<'a> {
    data: &'a [u8],
    step: usize,
}

impl std::io::Read for Trickle<'_> {
    fn read(&mut self, buf: &mut [u8]) -> std::io::Result<usize> {
        let n = buf.len().min(self.step).min(self.data.len());
        buf[..n].copy_from_slice(&self.data[..n]);
        self.data = &self.data[n..];
        Ok(n)
    }
}

/// Decodes one input every way; `Err` describes a property violation.
fn decode_everything(bytes: &[u8], trickle: Option<usize>, tally: &mut Tally) -> Result<String, String> {
    let top = match trickle {
        Some(step) => decode_streams(Trickle { data: bytes, step }, 0, tally)?,
        None => decode_streams(bytes, 0, tally)?,
    };
    decode_blob(bytes, 0, tally)?;
    Ok(match top {
        Ok(()) => "ok".to_string(),
        Err(e) => outcome_kind(&e),
    })
}

// ---- mutations -----------------------------------------------------------------------------

const INTERESTING_32: [i32; 12] = [0, 1, -1, 7, 8, 64, 0x7FFF_FFFF, i32::MIN, 0x0100_0000, -8, 0xFFFF, 4096];
const INTERESTING_64: [i64; 8] = [0, 1, -1, i64::MAX, i64::MIN, 1 << 32, 1 << 40, -8];

fn mutate_bytes(data: &mut Vec<u8>, rng: &mut Rng, other: &[u8]) {
    if data.is_empty() {
        data.extend((0..rng.below(16)).map(|_| rng.next() as u8));
        return;
    }
    let len = data.len();
    match rng.below(12) {
        0 | 1 => {
            let at = rng.below(len);
            data[at] ^= 1 << rng.below(8);
        }
        2 => {
            let at = rng.below(len);
            data[at] = [0u8, 0xFF, 0x7F, 0x80, 1, 8][rng.below(6)];
        }
        3 | 4 => {
            // A 4-byte little-endian integer (IPC length prefixes, flatbuffer offsets and
            // lengths) set to a value that stresses bounds checks.
            if len >= 4 {
                let at = rng.below(len - 3) & !3;
                let base = i32::from_le_bytes(data[at..at + 4].try_into().unwrap());
                let value = if rng.chance(3) { base.wrapping_add(rng.below(17) as i32 - 8) } else { INTERESTING_32[rng.below(INTERESTING_32.len())] };
                data[at..at + 4].copy_from_slice(&value.to_le_bytes());
            }
        }
        5 => {
            // An 8-byte integer (buffer offsets/lengths, body lengths, batch lengths).
            if len >= 8 {
                let at = rng.below(len - 7) & !7;
                let value = INTERESTING_64[rng.below(INTERESTING_64.len())];
                data[at..at + 8].copy_from_slice(&value.to_le_bytes());
            }
        }
        6 => data.truncate(rng.below(len)),
        7 => {
            let at = rng.below(len + 1);
            let n = 1 + rng.below(16);
            let bytes: Vec<u8> = (0..n).map(|_| rng.next() as u8).collect();
            data.splice(at..at, bytes);
        }
        8 => {
            let at = rng.below(len);
            let n = 1 + rng.below((len - at).min(64));
            data.drain(at..at + n);
        }
        9 => {
            let at = rng.below(len);
            let n = 1 + rng.below((len - at).min(256));
            let chunk = data[at..at + n].to_vec();
            let to = rng.below(len + 1);
            data.splice(to..to, chunk);
        }
        10 => {
            // Splice: this seed's head, another's tail.
            if !other.is_empty() {
                let cut = rng.below(len + 1);
                let from = rng.below(other.len());
                data.truncate(cut);
                data.extend_from_slice(&other[from..]);
            }
        }
        _ => {
            // The metadata length after a continuation marker.
            let markers: Vec<usize> = data.windows(4).enumerate().filter(|(_, w)| *w == [0xFF; 4]).map(|(i, _)| i).collect();
            if let Some(&at) = markers.get(rng.below(markers.len().max(1))) {
                if at + 8 <= len {
                    let value = INTERESTING_32[rng.below(INTERESTING_32.len())];
                    data[at + 4..at + 8].copy_from_slice(&value.to_le_bytes());
                }
            }
        }
    }
}

/// Decodes `bytes` into streams of (schema, batches); `None` unless it decodes cleanly.
fn parse_streams(bytes: &[u8]) -> Option<Vec<(SchemaRef, Vec<(RecordBatch, Metadata)>)>> {
    let mut input = bytes;
    let mut out = Vec::new();
    while !input.is_empty() {
        let mut decoder = StreamDecoder::default();
        let schema = decoder.read_schema(&mut input).ok()?;
        let mut batches = Vec::new();
        while let Some(b) = decoder.read_batch(&mut input).ok()? {
            batches.push(b);
        }
        out.push((schema, batches));
    }
    Some(out)
}

fn encode_streams(streams: &[(SchemaRef, Vec<(RecordBatch, Metadata)>)]) -> Option<Vec<u8>> {
    let mut out = Vec::new();
    for (schema, batches) in streams {
        let mut writer = IpcStreamWriter::begin(&mut out, schema).ok()?;
        for (batch, md) in batches {
            let md: Vec<(&str, &str)> = md.iter().map(|(k, v)| (k.as_str(), v.as_str())).collect();
            writer.write(&mut out, batch, &md).ok()?;
        }
        writer.finish(&mut out).ok()?;
    }
    Some(out)
}

/// Replaces value `row` of a binary-like column (top level, list items or dictionary values).
fn replace_binary(column: &ArrayRef, row: usize, value: &[u8]) -> Option<ArrayRef> {
    let rebuild = |array: &dyn Array, row: usize| -> Option<ArrayRef> {
        match array.data_type() {
            DataType::Binary => {
                let a = array.as_binary::<i32>();
                let values: Vec<Option<&[u8]>> = (0..a.len()).map(|i| if i == row { Some(value) } else { a.is_valid(i).then(|| a.value(i)) }).collect();
                Some(Arc::new(BinaryArray::from_opt_vec(values)))
            }
            DataType::LargeBinary => {
                let a = array.as_binary::<i64>();
                let values: Vec<Option<&[u8]>> = (0..a.len()).map(|i| if i == row { Some(value) } else { a.is_valid(i).then(|| a.value(i)) }).collect();
                Some(Arc::new(LargeBinaryArray::from_opt_vec(values)))
            }
            _ => None,
        }
    };
    match column.data_type() {
        DataType::Binary | DataType::LargeBinary => rebuild(column.as_ref(), row),
        DataType::List(field) => {
            let list = column.as_list::<i32>();
            let values = rebuild(list.values().as_ref(), row)?;
            Some(Arc::new(ListArray::try_new(field.clone(), list.offsets().clone(), values, list.nulls().cloned()).ok()?))
        }
        DataType::Dictionary(key, _) if key.as_ref() == &DataType::Int32 => {
            let dict = column.as_dictionary::<Int32Type>();
            let values = rebuild(dict.values().as_ref(), row)?;
            Some(Arc::new(DictionaryArray::<Int32Type>::try_new(dict.keys().clone(), values).ok()?))
        }
        _ => None,
    }
}

/// The binary values of a column that can hold nested blobs.
fn binary_values(column: &ArrayRef) -> Option<ArrayRef> {
    match column.data_type() {
        DataType::Binary | DataType::LargeBinary => Some(column.clone()),
        DataType::List(_) => Some(column.as_list::<i32>().values().clone()).filter(|v| matches!(v.data_type(), DataType::Binary | DataType::LargeBinary)),
        DataType::Dictionary(key, _) if key.as_ref() == &DataType::Int32 => {
            Some(column.as_dictionary::<Int32Type>().values().clone()).filter(|v| matches!(v.data_type(), DataType::Binary))
        }
        _ => None,
    }
}

const METADATA_KEYS: [&str; 8] = [
    keys::LOG_LEVEL,
    keys::LOG_MESSAGE,
    keys::LOG_EXTRA,
    keys::STREAM_STATE,
    keys::CALL_STATE,
    keys::ERROR_KIND,
    keys::LOCATION,
    keys::SHM_OFFSET,
];

/// Structure-aware mutation: keeps the outer streams valid and corrupts a blob nested in a
/// cell (recursively, up to three levels) or a batch's metadata.
fn mutate_nested(bytes: &[u8], rng: &mut Rng, other: &[u8], depth: usize) -> Option<Vec<u8>> {
    let mut streams = parse_streams(bytes)?;
    let s = rng.below(streams.len());
    let (_, batches) = streams.get_mut(s)?;
    if batches.is_empty() {
        return None;
    }
    let b = rng.below(batches.len());
    let (batch, md) = &mut batches[b];
    if rng.chance(4) {
        let key = METADATA_KEYS[rng.below(METADATA_KEYS.len())].to_string();
        let value = ["EXCEPTION", "INFO", "", "{\"traceback\": \"\\u12", "{\"traceback\": \"a\\", "0", "\u{1F600}"][rng.below(7)].to_string();
        md.retain(|(k, _)| rng.chance(2) || *k != key);
        md.push((key, value));
        if rng.chance(2) {
            *batch = RecordBatch::new_empty(batch.schema());
        }
        return encode_streams(&streams);
    }
    if rng.chance(3) && batch.num_columns() > 0 {
        // Nulls where the sender never puts them (inside lists, structs, maps of records).
        let c = rng.below(batch.num_columns());
        let data = inject_nulls(&batch.column(c).to_data(), rng)?;
        let mut columns = batch.columns().to_vec();
        columns[c] = arrow_array::make_array(data);
        let fields: Vec<Field> = batch.schema().fields().iter().map(|f| f.as_ref().clone().with_nullable(true)).collect();
        *batch = RecordBatch::try_new(Arc::new(Schema::new(fields)), columns).ok()?;
        return encode_streams(&streams);
    }
    let candidates: Vec<usize> = (0..batch.num_columns()).filter(|&i| binary_values(batch.column(i)).is_some_and(|v| !v.is_empty())).collect();
    let &c = candidates.get(rng.below(candidates.len().max(1)))?;
    let values = binary_values(batch.column(c))?;
    let row = rng.below(values.len());
    let inner = worker_client::wire::bytes_at(values.as_ref(), row).ok()??;
    let mutated = match (depth < 3 && rng.chance(2)).then(|| mutate_nested(&inner, rng, other, depth + 1)).flatten() {
        Some(deeper) => deeper,
        None => {
            let mut inner = inner;
            for _ in 0..1 + rng.below(3) {
                mutate_bytes(&mut inner, rng, other);
            }
            inner
        }
    };
    let column = replace_binary(batch.column(c), row, &mutated)?;
    let mut columns = batch.columns().to_vec();
    columns[c] = column;
    *batch = RecordBatch::try_new(batch.schema(), columns).ok()?;
    encode_streams(&streams)
}

/// The same array with random nulls at one random nesting level (validated; `None` where the
/// type takes no validity buffer).
fn inject_nulls(data: &arrow_data::ArrayData, rng: &mut Rng) -> Option<arrow_data::ArrayData> {
    if !data.child_data().is_empty() && rng.chance(2) {
        let c = rng.below(data.child_data().len());
        let mut children = data.child_data().to_vec();
        children[c] = inject_nulls(&children[c], rng)?;
        return data.clone().into_builder().child_data(children).build().ok();
    }
    if data.is_empty() || matches!(data.data_type(), DataType::Null | DataType::Union(..) | DataType::RunEndEncoded(..)) {
        return None;
    }
    let valid: Vec<bool> = (0..data.len()).map(|_| !rng.chance(2)).collect();
    data.clone().into_builder().nulls(Some(NullBuffer::from(valid))).build().ok()
}

/// The input of iteration `i` (deterministic in the seed and `i`, for replay).
fn input_for(seeds: &[Vec<u8>], base_seed: u64, i: u64) -> (Vec<u8>, Option<usize>) {
    let mut rng = Rng(base_seed ^ i.wrapping_mul(0xD134_2543_DE82_EF95));
    let seed = &seeds[rng.below(seeds.len())];
    let other = &seeds[rng.below(seeds.len())];
    let data = match rng.below(8) {
        0 | 1 => mutate_nested(seed, &mut rng, other, 0).unwrap_or_else(|| seed.clone()),
        _ => {
            let mut data = seed.clone();
            for _ in 0..1 + rng.below(4) {
                mutate_bytes(&mut data, &mut rng, other);
            }
            data
        }
    };
    let trickle = rng.chance(8).then(|| 1 + rng.below(7));
    (data, trickle)
}

fn failure_dir() -> std::path::PathBuf {
    std::path::Path::new(env!("CARGO_TARGET_TMPDIR")).join("fuzz-decoder")
}

fn save_failure(i: u64, data: &[u8]) -> String {
    let dir = failure_dir();
    let _ = std::fs::create_dir_all(&dir);
    let path = dir.join(format!("case-{i}.bin"));
    let _ = std::fs::write(&path, data);
    path.display().to_string()
}

/// Runs `iterations` mutated decodes and checks every property; returns the tally.
fn fuzz(iterations: u64, base_seed: u64, hang_after: Duration) -> Tally {
    let seeds: Vec<Vec<u8>> = seeds().into_iter().filter(|s| s.len() <= 64 << 10).collect();
    let mut tally = Tally::default();
    // Every seed decodes cleanly: the decoder reads what the encoder and the worker write.
    for (n, seed) in seeds.iter().enumerate() {
        let outcome = decode_everything(seed, None, &mut tally).expect("a valid seed decodes soundly");
        // (A bare schema message, as pyarrow's Schema.serialize() writes, is not a stream.)
        let bare_schema = outcome == "err: truncated" && framing::decode_schema(seed).is_ok();
        assert!(outcome == "ok" || bare_schema, "seed {n} ({} bytes) does not decode: {outcome}", seed.len());
    }
    tally = Tally::default();
    install_panic_counter();

    // A watchdog: an iteration that does not end is a hang (the test aborts with its number).
    let progress = Arc::new(AtomicU64::new(0));
    let done = Arc::new(AtomicBool::new(false));
    let watchdog = {
        let (progress, done) = (progress.clone(), done.clone());
        std::thread::spawn(move || {
            let mut last = (u64::MAX, Instant::now());
            while !done.load(Ordering::Relaxed) {
                std::thread::sleep(Duration::from_millis(200));
                let now = progress.load(Ordering::Relaxed);
                if now != last.0 {
                    last = (now, Instant::now());
                } else if last.1.elapsed() > hang_after {
                    eprintln!("fuzz_decoder: iteration {now} (seed {base_seed}) has not finished after {hang_after:?}: hang");
                    std::process::abort();
                }
            }
        })
    };

    for i in 0..iterations {
        progress.store(i, Ordering::Relaxed);
        let (data, trickle) = input_for(&seeds, base_seed, i);
        let panics_before = panics();
        LARGEST.with(|l| l.set(0));
        let started = Instant::now();
        let result = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
            let mut local = Tally::default();
            let r = decode_everything(&data, trickle, &mut local);
            (r, local)
        }));
        let took = started.elapsed();
        let largest = LARGEST.with(|l| l.get());
        tally.iterations += 1;
        if took > tally.slowest {
            tally.slowest = took;
            tally.slowest_iteration = i;
        }
        tally.largest_allocation = tally.largest_allocation.max(largest);
        match result {
            Ok((Ok(outcome), local)) => {
                *tally.outcomes.entry(outcome).or_default() += 1;
                tally.inner_decodes += local.inner_decodes;
                tally.inner_ok += local.inner_ok;
                let raised = panics() - panics_before;
                if raised > 0 {
                    tally.guarded_panics += raised;
                    let message = LAST_PANIC.with(|m| m.borrow().clone());
                    let at = message.split(':').take(3).collect::<Vec<_>>().join(":").trim_start_matches("panicked at ").to_string();
                    let seen = tally.guarded_at.entry(at.clone()).or_default();
                    if *seen == 0 {
                        eprintln!("guarded panic at {at}: {}", save_failure(i, &data));
                    }
                    *seen += 1;
                    if tally.guarded_example.is_empty() {
                        tally.guarded_example = format!("{} ({})", LAST_PANIC.with(|m| m.borrow().clone()), save_failure(i, &data));
                    }
                }
            }
            Ok((Err(violation), _)) => {
                *tally.outcomes.entry("FAIL: unsound".into()).or_default() += 1;
                tally.failures.push(format!("iteration {i}: {violation} ({})", save_failure(i, &data)));
            }
            Err(_) => {
                *tally.outcomes.entry("FAIL: panic".into()).or_default() += 1;
                let message = LAST_PANIC.with(|m| m.borrow().clone());
                tally.failures.push(format!("iteration {i}: panic: {message} ({})", save_failure(i, &data)));
            }
        }
        if largest > allocation_limit(data.len()) {
            *tally.outcomes.entry("FAIL: huge allocation".into()).or_default() += 1;
            tally.failures.push(format!("iteration {i}: one allocation of {largest} bytes for {} input bytes ({})", data.len(), save_failure(i, &data)));
        }
        if took > hang_after / 4 {
            tally.failures.push(format!("iteration {i}: took {took:?} ({})", save_failure(i, &data)));
        }
        if tally.failures.len() > 50 {
            break;
        }
    }
    done.store(true, Ordering::Relaxed);
    let _ = watchdog.join();
    tally
}

fn report(tally: &Tally, elapsed: Duration) {
    let rate = tally.iterations as f64 / elapsed.as_secs_f64().max(1e-9);
    println!("fuzz_decoder: {} iterations in {:.1} s ({rate:.0} iterations/s)", tally.iterations, elapsed.as_secs_f64());
    for (outcome, n) in &tally.outcomes {
        println!("  {outcome:24} {n}");
    }
    println!("  nested decodes           {} ({} ok)", tally.inner_decodes, tally.inner_ok);
    println!("  guarded panics           {}{}", tally.guarded_panics, if tally.guarded_example.is_empty() { String::new() } else { format!(" (first: {})", tally.guarded_example) });
    println!("  largest allocation       {} bytes", tally.largest_allocation);
    for (at, n) in &tally.guarded_at {
        println!("    guarded at {at}: {n}");
    }
    println!("  slowest iteration        {:?} (iteration {})", tally.slowest, tally.slowest_iteration);
    for failure in &tally.failures {
        println!("  FAILED {failure}");
    }
}

fn env_u64(name: &str, default: u64) -> u64 {
    std::env::var(name).ok().and_then(|v| v.replace('_', "").parse().ok()).unwrap_or(default)
}

fn run(default_iterations: u64) {
    if let Ok(path) = std::env::var("FUZZ_REPLAY") {
        install_panic_counter();
        let data = std::fs::read(&path).expect("FUZZ_REPLAY names a readable file");
        let _ = std::panic::take_hook();
        let mut tally = Tally::default();
        println!("replay {path}: {:?}", decode_everything(&data, None, &mut tally));
        return;
    }
    let iterations = env_u64("FUZZ_ITERATIONS", default_iterations);
    let seed = env_u64("FUZZ_SEED", 0x5EED_0F_F022);
    let hang_after = Duration::from_secs(env_u64("FUZZ_HANG_SECONDS", 60));
    let started = Instant::now();
    let tally = fuzz(iterations, seed, hang_after);
    let _ = std::panic::take_hook(); // the default hook again, so assertion messages print
    report(&tally, started.elapsed());
    assert!(tally.failures.is_empty(), "{} inputs broke a decoding property (see above)", tally.failures.len());
    assert_eq!(tally.guarded_panics, 0, "the decoder panicked internally (caught by its guard): {}", tally.guarded_example);
}

/// The short pass `cargo test` runs.
#[test]
fn mutated_worker_bytes_decode_to_ok_or_err() {
    run(20_000);
}

/// The long pass (scripts/fuzz_decoder.sh): `cargo test --release -p worker-client --test
/// fuzz_decoder -- --ignored --nocapture`.
#[test]
#[ignore]
fn mutated_worker_bytes_decode_to_ok_or_err_long() {
    run(1_000_000);
}
