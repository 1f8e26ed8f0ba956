//! Producer and exchange streams against the real fixture worker, on stdio and HTTP.
mod common;

use std::sync::Arc;
use std::time::{Duration, Instant};

use arrow_array::{Int64Array, RecordBatch};
use arrow_schema::{DataType, Field, Schema};
use common::*;
use worker_client::arguments::Arguments;
use worker_client::records::{FunctionType, InitRequest, TableInOutFunctionInitPhase};
use worker_client::wire::{Blob, Record};
use worker_client::{ConnectOptions, Error, Pool, StreamKind};

#[test]
fn sequence_scan_roundtrip() {
    for (transport, location) in all_workers() {
        let mut session = attach(&location);
        let args = Arguments::positional(vec![int64(10_000)]).with_named("batch_size", int64(1000));
        let (req, resp) = session.bind("sequence", FunctionType::Table, &args, None);
        let batches = session.scan(req, resp, |_| {});
        assert_eq!(total_rows(&batches), 10_000, "{transport}");
        let values = int64_values(&batches, "n");
        assert_eq!(values.first(), Some(&Some(0)), "{transport}");
        assert_eq!(values.last(), Some(&Some(9_999)), "{transport}");
        assert!(batches.len() >= 10, "{transport}: {} batches", batches.len());
    }
}

#[test]
fn scalar_multiply_exchange() {
    for (transport, location) in all_workers() {
        let mut session = attach(&location);
        let input = Arc::new(Schema::new(vec![Field::new("col_0", DataType::Int64, true)]));
        let (req, resp) = session.bind("multiply", FunctionType::Scalar, &Arguments::positional(vec![int64(3)]), Some(&input));
        let init = InitRequest { bind_call: req.to_blob(), output_schema: resp.output_schema, bind_opaque_data: resp.opaque_data, ..Default::default() };
        let mut stream = session.client.init(&init, StreamKind::Exchange(input.clone()), None).map_err(|e| e.error).unwrap();
        for values in [vec![Some(1), Some(2), Some(3)], vec![Some(10), None]] {
            let batch = RecordBatch::try_new(input.clone(), vec![Arc::new(Int64Array::from(values.clone()))]).unwrap();
            let (out, _) = stream.exchange(&batch, &[]).unwrap();
            let expected: Vec<Option<i64>> = values.iter().map(|v| v.map(|x| x * 3)).collect();
            assert_eq!(int64_values(&[out], "result"), expected, "{transport}");
        }
        Pool::global().put(stream.finish().unwrap());
    }
}

#[test]
fn table_in_out_echo_exchange() {
    for (transport, location) in all_workers() {
        let mut session = attach(&location);
        let input = Arc::new(Schema::new(vec![Field::new("x", DataType::Int64, true)]));
        let (req, resp) = session.bind("echo", FunctionType::Table, &Arguments::default(), Some(&input));
        let init = InitRequest {
            bind_call: req.to_blob(),
            output_schema: resp.output_schema,
            bind_opaque_data: resp.opaque_data,
            phase: Some(TableInOutFunctionInitPhase::Input),
            substream_id: Some(Blob((0u8..16).collect())),
            ..Default::default()
        };
        let mut stream = session.client.init(&init, StreamKind::Exchange(input.clone()), None).map_err(|e| e.error).unwrap();
        let batch = RecordBatch::try_new(input.clone(), vec![Arc::new(Int64Array::from(vec![5, 6, 7]))]).unwrap();
        let (out, _) = stream.exchange(&batch, &[]).unwrap();
        assert_eq!(int64_values(&[out], "x"), vec![Some(5), Some(6), Some(7)], "{transport}");
        Pool::global().put(stream.finish().unwrap());
    }
}

#[test]
fn cancel_mid_producer_then_reuse_the_pooled_connection() {
    for (transport, location) in all_workers() {
        let mut session = attach(&location);
        let args = Arguments::positional(vec![int64(10_000_000)]).with_named("batch_size", int64(1000));
        let (req, resp) = session.bind("sequence", FunctionType::Table, &args, None);
        let init = InitRequest { bind_call: req.to_blob(), output_schema: resp.output_schema, bind_opaque_data: resp.opaque_data, ..Default::default() };
        let mut stream = session.client.init(&init, StreamKind::Producer, None).map_err(|e| e.error).unwrap();
        for _ in 0..3 {
            assert!(stream.next_batch(&[]).unwrap().is_some(), "{transport}");
        }
        let started = Instant::now();
        let client = stream.cancel().unwrap_or_else(|e| panic!("{transport}: cancel: {e}"));
        assert!(started.elapsed() < Duration::from_secs(10), "{transport}: cancel took {:?}", started.elapsed());
        Pool::global().put(client);
        // The same worker serves the next call.
        let mut again = Pool::global().get(&location, &ConnectOptions::default()).unwrap();
        assert!(again.catalogs().unwrap().iter().any(|c| c.name == "example"), "{transport}");
        Pool::global().put(again);
    }
}

#[test]
fn worker_error_surfaces_its_message() {
    for (transport, location) in all_workers() {
        let mut session = attach(&location);
        let request = worker_client::records::BindRequest {
            function_name: "no_such_function_anywhere".into(),
            arguments: Arguments::default().to_blob().unwrap(),
            function_type: FunctionType::Table,
            attach_opaque_data: Some(session.attach.clone()),
            schema_path: Some(vec!["main".into()]),
            ..Default::default()
        };
        let err = session.client.bind(&request, None).unwrap_err();
        let Error::Worker(w) = &err else { panic!("{transport}: {err:?}") };
        assert!(w.message.contains("no_such_function_anywhere"), "{transport}: {}", w.message);
        // An in-band error leaves the connection usable.
        assert!(session.client.catalogs().is_ok(), "{transport}");
    }
}

#[test]
fn init_error_keeps_the_connection_in_sync() {
    for (transport, location) in all_workers() {
        let mut session = attach(&location);
        let args = Arguments::positional(vec![int64(10)]);
        let (req, resp) = session.bind("sequence", FunctionType::Table, &args, None);
        // A plain table function called with a phase is rejected at init.
        let init = InitRequest {
            bind_call: req.to_blob(),
            output_schema: resp.output_schema,
            bind_opaque_data: resp.opaque_data,
            phase: Some(TableInOutFunctionInitPhase::Input),
            ..Default::default()
        };
        let err = session.client.init(&init, StreamKind::Producer, None).err().expect("init must fail");
        assert!(matches!(err.error, Error::Worker(_)), "{transport}: {}", err.error);
        let mut client = err.client.unwrap_or_else(|| panic!("{transport}: connection not returned"));
        assert!(client.catalogs().is_ok(), "{transport}");
    }
}

#[test]
fn aggregate_vgi_sum_full_cycle() {
    use worker_client::records::*;
    for (transport, location) in all_workers() {
        let mut session = attach(&location);
        let input = Schema::new(vec![Field::new("value", DataType::Int64, true)]);
        let bind = session
            .client
            .aggregate_bind(&AggregateBindRequest {
                function_name: "vgi_sum".into(),
                arguments: Arguments::default().to_blob().unwrap(),
                input_schema: Some(Blob(worker_client::framing::encode_schema(&input))),
                attach_opaque_data: Some(session.attach.clone()),
                schema_path: Some(vec!["main".into()]),
                ..Default::default()
            })
            .unwrap();
        let ipc = |batch: RecordBatch| Blob(worker_client::framing::encode_stream(&batch, &[]).unwrap());
        let groups = |ids: Vec<i64>, name: &str| {
            let schema = Arc::new(Schema::new(vec![Field::new(name, DataType::Int64, false)]));
            RecordBatch::try_new(schema, vec![Arc::new(Int64Array::from(ids))]).unwrap()
        };
        let update_schema = Arc::new(Schema::new(vec![
            Field::new("__vgi_group_id", DataType::Int64, false),
            Field::new("value", DataType::Int64, true),
        ]));
        let update = RecordBatch::try_new(
            update_schema,
            vec![Arc::new(Int64Array::from(vec![0, 0, 1, 2, 2])), Arc::new(Int64Array::from(vec![Some(1), Some(2), Some(10), None, Some(5)]))],
        )
        .unwrap();
        let common = |session: &Attached| (bind.execution_id.clone(), Some(session.attach.clone()), Some(vec!["main".to_string()]));
        let (execution_id, attach_opaque_data, schema_path) = common(&session);
        session
            .client
            .aggregate_update(&AggregateUpdateRequest { function_name: "vgi_sum".into(), execution_id: execution_id.clone(), input_batch: ipc(update), attach_opaque_data: attach_opaque_data.clone(), schema_path: schema_path.clone() })
            .unwrap();
        // Merge group 2 into group 1 (DuckDB's thread-local -> global combine).
        let merge_schema = Arc::new(Schema::new(vec![Field::new("source_group_id", DataType::Int64, false), Field::new("target_group_id", DataType::Int64, false)]));
        let merge = RecordBatch::try_new(merge_schema, vec![Arc::new(Int64Array::from(vec![2])), Arc::new(Int64Array::from(vec![1]))]).unwrap();
        session
            .client
            .aggregate_combine(&AggregateCombineRequest { function_name: "vgi_sum".into(), execution_id: execution_id.clone(), merge_batch: ipc(merge), attach_opaque_data: attach_opaque_data.clone(), schema_path: schema_path.clone() })
            .unwrap();
        let finalize = session
            .client
            .aggregate_finalize(&AggregateFinalizeRequest {
                function_name: "vgi_sum".into(),
                execution_id: execution_id.clone(),
                group_ids_batch: ipc(groups(vec![0, 1, 3], "group_id")),
                output_schema: bind.output_schema.clone(),
                attach_opaque_data: attach_opaque_data.clone(),
                schema_path: schema_path.clone(),
            })
            .unwrap();
        let result = worker_client::framing::decode_single_batch(&finalize.result_batch.0).unwrap();
        // group 0: 1+2; group 1: 10 + merged 5; group 3 never updated: NULL.
        assert_eq!(int64_values(&[result], "result"), vec![Some(3), Some(15), None], "{transport}");
        session
            .client
            .aggregate_destructor(&AggregateDestructorRequest { function_name: "vgi_sum".into(), execution_id, group_ids_batch: ipc(groups(vec![0], "group_id")), attach_opaque_data, schema_path })
            .unwrap();
    }
}

#[test]
fn reflection_lists_the_vgi_protocol() {
    for (transport, location) in all_workers() {
        let mut client = worker_client::Client::connect(&location, &ConnectOptions::default()).unwrap();
        let protocols = client.list_protocols().unwrap();
        assert!(protocols.iter().any(|(name, version)| name == "vgi.v2" && version.starts_with("2.2")), "{transport}: {protocols:?}");
    }
}

#[test]
fn worker_killed_mid_stream_is_an_error_within_bounded_time() {
    let pid_file = std::env::temp_dir().join(format!("vgi-kill-test-{}", std::process::id()));
    // `exec` makes the recorded shell pid the worker's own.
    let location = format!("echo $$ > {}; exec {}", pid_file.display(), stdio_worker());
    let mut session = attach(&location);
    let (req, resp) = session.bind("sequence", FunctionType::Table, &Arguments::positional(vec![int64(10_000_000)]), None);
    let init = InitRequest { bind_call: req.to_blob(), output_schema: resp.output_schema, bind_opaque_data: resp.opaque_data, ..Default::default() };
    let mut stream = session.client.init(&init, StreamKind::Producer, None).map_err(|e| e.error).unwrap();
    assert!(stream.next_batch(&[]).unwrap().is_some());
    let pid: i32 = std::fs::read_to_string(&pid_file).unwrap().trim().parse().unwrap();
    let _ = std::fs::remove_file(&pid_file);
    // SAFETY: killing the worker process this test started.
    unsafe { libc_kill(pid, 9) };
    let started = Instant::now();
    let err = loop {
        match stream.next_batch(&[]) {
            Ok(Some(_)) => continue, // batches already in the pipe
            Ok(None) => panic!("stream ended cleanly after the worker was killed"),
            Err(e) => break e,
        }
    };
    assert!(started.elapsed() < Duration::from_secs(5), "took {:?}", started.elapsed());
    let text = err.to_string();
    assert!(text.contains("exited") && text.contains("signal: 9"), "{text}");
}

extern "C" {
    #[link_name = "kill"]
    fn libc_kill(pid: i32, signal: i32) -> i32;
}

#[test]
fn a_slow_starting_worker_is_not_a_timeout() {
    // The timeout of a just-started worker's first call counts from when it read the request:
    // a worker that takes longer than the timeout to start still answers.
    let command = format!("sleep 2; exec {}", stdio_worker());
    let mut client = worker_client::Client::connect(&command, &ConnectOptions::default()).unwrap();
    client.set_timeout(Duration::from_millis(1500));
    let catalogs = client.catalogs().expect("the first call waits for the worker to start");
    assert!(!catalogs.is_empty());
    assert!(client.is_healthy());
}

#[test]
fn a_silent_worker_times_out() {
    let mut client = worker_client::Client::connect("cat > /dev/null", &ConnectOptions::default()).unwrap();
    client.set_timeout(Duration::from_millis(500));
    let started = Instant::now();
    let err = client.catalogs().unwrap_err();
    assert!(matches!(err, Error::Timeout(_)), "{err:?}");
    assert!(started.elapsed() < Duration::from_secs(3), "took {:?}", started.elapsed());
    assert!(!client.is_healthy(), "a timed-out connection must not be reused");
}

#[test]
fn a_cancel_handle_interrupts_a_blocked_call_from_another_thread() {
    let mut client = worker_client::Client::connect("cat > /dev/null", &ConnectOptions::default()).unwrap();
    let cancel = worker_client::CancelHandle::new();
    let trigger = cancel.clone();
    let canceller = std::thread::spawn(move || {
        std::thread::sleep(Duration::from_millis(200));
        trigger.cancel();
    });
    let started = Instant::now();
    let err = client.call("catalog_catalogs", &worker_client::framing::empty_batch(1), Some(&cancel)).unwrap_err();
    canceller.join().unwrap();
    assert!(started.elapsed() < Duration::from_secs(2), "took {:?}", started.elapsed());
    assert!(matches!(err, Error::Cancelled), "{err:?}");
}

#[test]
fn garbage_on_stdout_is_a_protocol_error() {
    let mut client = worker_client::Client::connect("head -c 8 >/dev/null; echo not arrow at all; sleep 10", &ConnectOptions::default()).unwrap();
    let started = Instant::now();
    let err = client.catalogs().unwrap_err();
    assert!(matches!(err, Error::Protocol(_)), "{err:?}");
    assert!(started.elapsed() < Duration::from_secs(3));
}

#[test]
fn catalog_table_scan_with_projection_and_filter_pushdown() {
    use worker_client::filters::{FilterExpr, FilterSnapshot, Predicate, ScalarValue};
    use worker_client::methods::{AttachScope, SchemaScope, TableAtScope};
    use worker_client::records::BindRequest;
    use worker_client::wire::LargeBlob;
    for (transport, location) in all_workers() {
        let mut session = attach(&location);
        // catalogs -> attach (done) -> schemas -> tables
        let scope = AttachScope { attach_opaque_data: session.attach.clone(), transaction_opaque_data: None };
        let schemas = session.client.schemas(&scope).unwrap();
        assert!(schemas.iter().any(|s| s.path == ["data"]), "{transport}");
        let tables = session
            .client
            .tables(&SchemaScope { attach_opaque_data: session.attach.clone(), path: vec!["data".into()], transaction_opaque_data: None })
            .unwrap();
        let table = tables.iter().find(|t| t.name == "filter_echo_table").expect("filter_echo_table");
        let columns = worker_client::framing::decode_schema(&table.columns.0).unwrap();
        assert_eq!(columns.field(0).name(), "n");
        // -> the table's scan function -> bind
        let scan = session
            .client
            .table_scan_function(&TableAtScope {
                attach_opaque_data: session.attach.clone(),
                schema_path: vec!["data".into()],
                name: "filter_echo_table".into(),
                at_unit: None,
                at_value: None,
                transaction_opaque_data: None,
            })
            .unwrap();
        let args = Arguments::from_scan_function_result(&scan.arguments.0).unwrap();
        let request = BindRequest {
            function_name: scan.function_name.clone(),
            arguments: args.to_blob().unwrap(),
            function_type: FunctionType::Table,
            attach_opaque_data: Some(session.attach.clone()),
            schema_path: scan.schema_path.clone(),
            ..Default::default()
        };
        let response = session.client.bind(&request, None).unwrap();
        // -> init with projection [n] and the Filter v2 predicate n >= 5
        let filter = FilterSnapshot::default()
            .with_predicate(Predicate::required("query:0", FilterExpr::column(0, "n").ge(FilterExpr::lit(ScalarValue::int64(5)))))
            .encode()
            .unwrap();
        let batches = session.scan(request, response, |init| {
            init.projection_ids = Some(vec![0]);
            init.pushdown_filters = Some(LargeBlob(filter));
        });
        let values = int64_values(&batches, "n");
        assert_eq!(values.len(), 95, "{transport}");
        assert!(values.iter().all(|v| v.is_some_and(|n| n >= 5)), "{transport}");
        assert!(batches.iter().all(|b| b.num_columns() == 1), "{transport}: projection not applied");
    }
}
