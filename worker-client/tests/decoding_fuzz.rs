//! Property tests: whatever bytes a worker sends, decoding returns a value or an error and
//! never panics (a panic inside DuckDB would abort the host). Runs briefly in `make test`;
//! raise PROPTEST_CASES for a longer run.
use std::sync::Arc;

use arrow_array::{ArrayRef, Int64Array, ListArray, RecordBatch, StringArray};
use arrow_array::types::Int32Type;
use arrow_schema::{DataType, Field, Schema};
use proptest::prelude::*;
use worker_client::framing::{classify, encode_stream, StreamDecoder};
use worker_client::records::{BindResponse, CatalogAttachResult, FunctionInfo};
use worker_client::wire::Record;

fn sample_stream() -> Vec<u8> {
    let schema = Arc::new(Schema::new(vec![
        Field::new("n", DataType::Int64, true),
        Field::new("s", DataType::Utf8, true),
        Field::new("l", DataType::List(Arc::new(Field::new("item", DataType::Int32, true))), true),
        Field::new("d", DataType::Dictionary(Box::new(DataType::Int16), Box::new(DataType::Utf8)), true),
    ]));
    let list = ListArray::from_iter_primitive::<Int32Type, _, _>(vec![Some(vec![Some(1), None]), None, Some(vec![])]);
    let dict: arrow_array::DictionaryArray<arrow_array::types::Int16Type> = vec!["a", "b", "a"].into_iter().collect();
    let columns: Vec<ArrayRef> = vec![
        Arc::new(Int64Array::from(vec![Some(1), None, Some(3)])),
        Arc::new(StringArray::from(vec![Some("x"), Some("yy"), None])),
        Arc::new(list),
        Arc::new(dict),
    ];
    let batch = RecordBatch::try_new(schema, columns).unwrap();
    encode_stream(&batch, &[("vgi_rpc.log_level", "INFO"), ("vgi_batch_index", "7")]).unwrap()
}

/// Decodes every stream in `bytes`, touching every value, classifying every batch.
fn decode_everything(bytes: &[u8]) {
    let mut input = bytes;
    let mut decoder = StreamDecoder::default();
    for _ in 0..4 {
        if decoder.read_schema(&mut input).is_err() {
            return;
        }
        loop {
            match decoder.read_batch(&mut input) {
                Ok(Some((batch, md))) => {
                    for column in batch.columns() {
                        let _ = arrow_array::Array::to_data(column.as_ref()).validate_full();
                    }
                    let _ = classify(batch, md);
                }
                Ok(None) | Err(_) => break,
            }
        }
    }
    let _ = CatalogAttachResult::from_blob(bytes);
    let _ = FunctionInfo::from_blob(bytes);
    let _ = BindResponse::from_blob(bytes);
    let _ = worker_client::framing::decode_schema(bytes);
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 512, .. ProptestConfig::default() })]

    #[test]
    fn random_bytes_never_panic(bytes in proptest::collection::vec(any::<u8>(), 0..2048)) {
        decode_everything(&bytes);
    }

    #[test]
    fn corrupted_streams_never_panic(flips in proptest::collection::vec((any::<prop::sample::Index>(), any::<u8>()), 1..8), cut in any::<prop::sample::Index>()) {
        let mut bytes = sample_stream();
        for (at, value) in flips {
            let i = at.index(bytes.len());
            bytes[i] = value;
        }
        decode_everything(&bytes);
        let keep = cut.index(bytes.len() + 1);
        decode_everything(&bytes[..keep]);
    }
}

#[test]
fn the_sample_stream_decodes() {
    let bytes = sample_stream();
    let mut input = &bytes[..];
    let mut decoder = StreamDecoder::default();
    decoder.read_schema(&mut input).unwrap();
    let (batch, md) = decoder.read_batch(&mut input).unwrap().unwrap();
    assert_eq!(batch.num_rows(), 3);
    assert!(md.iter().any(|(k, v)| k == "vgi_batch_index" && v == "7"));
}
