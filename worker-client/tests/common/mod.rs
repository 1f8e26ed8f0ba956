//! Real fixture workers for the integration tests (provisioned by scripts/setup-workers.sh;
//! `make test` exports their locations). Missing variables fail loudly: a skipped test would
//! hide a broken setup.
#![allow(dead_code)]

/// The stdio fixture worker command line.
pub fn stdio_worker() -> String {
    std::env::var("VGI_FIXTURE_WORKER")
        .expect("VGI_FIXTURE_WORKER is not set: run the tests through `make test` (scripts/setup-workers.sh)")
}

/// The base URL of the HTTP fixture worker.
pub fn http_worker() -> String {
    std::env::var("VGI_FIXTURE_HTTP_URL")
        .expect("VGI_FIXTURE_HTTP_URL is not set: run the tests through `make test` (scripts/with-http-worker.sh)")
}

/// Both transports, for tests that must pass on each.
pub fn all_workers() -> Vec<(&'static str, String)> {
    vec![("stdio", stdio_worker()), ("http", http_worker())]
}

use std::sync::Arc;

use arrow_array::{ArrayRef, Int64Array, RecordBatch};
use worker_client::arguments::Arguments;
use worker_client::records::{BindRequest, BindResponse, CatalogAttachRequest, FunctionType, InitRequest};
use worker_client::wire::{Blob, Record};
use worker_client::{Client, ConnectOptions, Pool, StreamKind};

/// A connection with the fixture's `example` catalog attached.
pub struct Attached {
    pub client: Client,
    pub attach: Blob,
}

pub fn attach(location: &str) -> Attached {
    let mut client = Pool::global().get(location, &ConnectOptions::default()).expect("connect");
    let result = client
        .attach(&CatalogAttachRequest { name: "example".into(), ..Default::default() })
        .expect("catalog_attach");
    Attached { client, attach: result.attach_opaque_data }
}

pub fn int64(v: i64) -> ArrayRef {
    Arc::new(Int64Array::from(vec![v]))
}

impl Attached {
    /// Binds a function of the `main` schema.
    pub fn bind(&mut self, name: &str, kind: FunctionType, args: &Arguments, input_schema: Option<&arrow_schema::Schema>) -> (BindRequest, BindResponse) {
        let request = BindRequest {
            function_name: name.into(),
            arguments: args.to_blob().unwrap(),
            function_type: kind,
            input_schema: input_schema.map(|s| Blob(worker_client::framing::encode_schema(s))),
            attach_opaque_data: Some(self.attach.clone()),
            schema_path: Some(vec!["main".into()]),
            ..Default::default()
        };
        let response = self.client.bind(&request, None).unwrap_or_else(|e| panic!("bind {name}: {e}"));
        (request, response)
    }

    /// Runs a table function as a producer and collects every batch; returns the connection
    /// to the pool.
    pub fn scan(self, request: BindRequest, response: BindResponse, customize: impl FnOnce(&mut InitRequest)) -> Vec<RecordBatch> {
        let mut init = InitRequest {
            bind_call: request.to_blob(),
            output_schema: response.output_schema,
            bind_opaque_data: response.opaque_data,
            ..Default::default()
        };
        customize(&mut init);
        let mut stream = match self.client.init(&init, StreamKind::Producer, None) {
            Ok(s) => s,
            Err(e) => panic!("init: {}", e.error),
        };
        let mut batches = Vec::new();
        while let Some((batch, _)) = stream.next_batch(&[]).expect("tick") {
            batches.push(batch);
        }
        Pool::global().put(stream.finish().expect("finish"));
        batches
    }
}

pub fn total_rows(batches: &[RecordBatch]) -> usize {
    batches.iter().map(|b| b.num_rows()).sum()
}

pub fn int64_values(batches: &[RecordBatch], column: &str) -> Vec<Option<i64>> {
    use arrow_array::cast::AsArray;
    batches
        .iter()
        .flat_map(|b| {
            let col = b.column_by_name(column).unwrap_or_else(|| panic!("no column {column}"));
            col.as_primitive::<arrow_array::types::Int64Type>().iter().collect::<Vec<_>>()
        })
        .collect()
}

/// The interpreter of the workers venv (for `launch:` and `--unix` workers).
pub fn worker_python() -> String {
    std::env::var("VGI_WORKER_PY")
        .expect("VGI_WORKER_PY is not set: run the tests through `make test` (scripts/setup-workers.sh)")
}
