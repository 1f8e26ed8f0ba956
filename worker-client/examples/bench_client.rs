//! Client benchmark (run by `scripts/bench-client.sh`, results in BENCHMARKS.md).
//!
//! `bench_client scan LOCATION ROWS BATCH`   — scan `sequence(ROWS, batch_size := BATCH)`,
//!                                             prints `rows seconds`
//! `bench_client exchange LOCATION ITERS`    — one-row `multiply` exchanges, prints
//!                                             `iters seconds request_bytes response_bytes client_cpu_seconds`
//! `bench_client pingpong ITERS REQ RESP [CMD]` — raw pipe ping-pong of REQ/RESP bytes with a
//!                                             child (this binary's `echo` mode, or CMD),
//!                                             prints `iters seconds`
//! `bench_client echo REQ RESP`              — the ping-pong child: read REQ bytes, write RESP
use std::io::{Read, Write};
use std::process::{Command, Stdio};
use std::sync::Arc;
use std::time::Instant;

use arrow_array::{ArrayRef, Int64Array, RecordBatch};
use arrow_schema::{DataType, Field, Schema};
use worker_client::arguments::Arguments;
use worker_client::framing::{encode_schema, IpcStreamWriter};
use worker_client::records::{BindRequest, CatalogAttachRequest, FunctionType, InitRequest};
use worker_client::wire::{Blob, Record};
use worker_client::{Client, ConnectOptions, StreamKind};

fn int64(v: i64) -> ArrayRef {
    Arc::new(Int64Array::from(vec![v]))
}

fn attach(location: &str) -> (Client, Blob) {
    let mut client = Client::connect(location, &ConnectOptions::default()).expect("connect");
    let attached = client.attach(&CatalogAttachRequest { name: "example".into(), ..Default::default() }).expect("attach");
    (client, attached.attach_opaque_data)
}

fn bind(client: &mut Client, attach: &Blob, name: &str, kind: FunctionType, args: Arguments, input: Option<&Schema>) -> InitRequest {
    let request = BindRequest {
        function_name: name.into(),
        arguments: args.to_blob().unwrap(),
        function_type: kind,
        input_schema: input.map(|s| Blob(encode_schema(s))),
        attach_opaque_data: Some(attach.clone()),
        schema_path: Some(vec!["main".into()]),
        ..Default::default()
    };
    let response = client.bind(&request, None).expect("bind");
    InitRequest { bind_call: request.to_blob(), output_schema: response.output_schema, bind_opaque_data: response.opaque_data, ..Default::default() }
}

fn scan(location: &str, rows: i64, batch: i64) {
    let (mut client, attach) = attach(location);
    // Timed from bind, like the Python client's table_function() call.
    let started = Instant::now();
    let init = bind(&mut client, &attach, "sequence", FunctionType::Table, Arguments::positional(vec![int64(rows)]).with_named("batch_size", int64(batch)), None);
    let mut stream = client.init(&init, StreamKind::Producer, None).map_err(|e| e.error).expect("init");
    let mut total = 0usize;
    while let Some((b, _)) = stream.next_batch(&[]).expect("tick") {
        total += b.num_rows();
    }
    let seconds = started.elapsed().as_secs_f64();
    stream.finish().expect("finish");
    println!("{total} {seconds:.6}");
}

fn exchange(location: &str, iters: usize) {
    let (mut client, attach) = attach(location);
    let input = Arc::new(Schema::new(vec![Field::new("col_0", DataType::Int64, true)]));
    let init = bind(&mut client, &attach, "multiply", FunctionType::Scalar, Arguments::positional(vec![int64(3)]), Some(&input));
    let mut stream = client.init(&init, StreamKind::Exchange(input.clone()), None).map_err(|e| e.error).expect("init");
    let batch = RecordBatch::try_new(input.clone(), vec![int64(7)]).unwrap();
    for _ in 0..50 {
        stream.exchange(&batch, &[]).expect("warm-up");
    }
    let started = Instant::now();
    let cpu_before = cpu_seconds();
    let mut last = None;
    for _ in 0..iters {
        last = Some(stream.exchange(&batch, &[]).expect("exchange").0);
    }
    let seconds = started.elapsed().as_secs_f64();
    let cpu = cpu_seconds() - cpu_before;
    stream.finish().expect("finish");
    // The bytes one turn moves, for the ping-pong floor: an input batch message and an
    // output batch message (schemas travel once per stream).
    let message_len = |b: &RecordBatch| {
        let mut sink = Vec::new();
        let mut w = IpcStreamWriter::begin(&mut sink, b.schema_ref()).unwrap();
        let start = sink.len();
        w.write(&mut sink, b, &[]).unwrap();
        sink.len() - start
    };
    println!("{iters} {seconds:.6} {} {} {cpu:.6}", message_len(&batch), message_len(&last.unwrap()));
}

/// User + system CPU time of this process (the client's own cost, excluding the worker).
fn cpu_seconds() -> f64 {
    // SAFETY: getrusage fills the struct we pass.
    let mut usage: libc_rusage = unsafe { std::mem::zeroed() };
    unsafe { getrusage(0, &mut usage) };
    let t = |tv: [i64; 2]| tv[0] as f64 + tv[1] as f64 * 1e-6;
    t(usage.utime) + t(usage.stime)
}

#[repr(C)]
struct libc_rusage {
    utime: [i64; 2],
    stime: [i64; 2],
    rest: [i64; 14],
}

extern "C" {
    fn getrusage(who: i32, usage: *mut libc_rusage) -> i32;
}

fn pingpong(iters: usize, req: usize, resp: usize, command: Option<String>) {
    let mut command = match command {
        Some(cmd) => {
            let mut c = Command::new("/bin/sh");
            c.arg("-c").arg(cmd);
            c
        }
        None => {
            let mut c = Command::new(std::env::current_exe().unwrap());
            c.args(["echo", &req.to_string(), &resp.to_string()]);
            c
        }
    };
    let mut child = command
    .stdin(Stdio::piped())
    .stdout(Stdio::piped())
    .spawn()
    .expect("spawn echo child");
    let mut to_child = child.stdin.take().unwrap();
    let mut from_child = child.stdout.take().unwrap();
    let request = vec![7u8; req];
    let mut response = vec![0u8; resp];
    for _ in 0..50 {
        to_child.write_all(&request).unwrap();
        from_child.read_exact(&mut response).unwrap();
    }
    let started = Instant::now();
    for _ in 0..iters {
        to_child.write_all(&request).unwrap();
        from_child.read_exact(&mut response).unwrap();
    }
    let seconds = started.elapsed().as_secs_f64();
    drop(to_child);
    let _ = child.wait();
    println!("{iters} {seconds:.6}");
}

fn echo(req: usize, resp: usize) {
    let mut input = std::io::stdin().lock();
    let mut output = std::io::stdout().lock();
    let mut request = vec![0u8; req];
    let response = vec![9u8; resp];
    while input.read_exact(&mut request).is_ok() {
        if output.write_all(&response).and_then(|_| output.flush()).is_err() {
            break;
        }
    }
}

fn main() {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let num = |i: usize| args[i].parse::<usize>().expect("a number");
    match args.first().map(String::as_str) {
        Some("scan") => scan(&args[1], num(2) as i64, num(3) as i64),
        Some("exchange") => exchange(&args[1], num(2)),
        Some("pingpong") => pingpong(num(1), num(2), num(3), args.get(4).cloned()),
        Some("echo") => echo(num(1), num(2)),
        _ => eprintln!("usage: see the module documentation"),
    }
}
