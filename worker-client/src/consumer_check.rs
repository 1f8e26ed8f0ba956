//! Checks filter containers with the real worker-side consumer (vgi-python's
//! `deserialize_filters`, run by the worker venv's Python): the producer's tests and the
//! extension's pushdown tests evaluate what they encode exactly as a worker would.
//! Test support only (`cfg(test)` or the `consumer-check` feature).
use std::collections::HashMap;
use std::path::PathBuf;
use std::sync::atomic::{AtomicUsize, Ordering};

use arrow_array::RecordBatch;

use crate::framing::encode_stream;

// ---------------------------------------------------------------------------------------
// Harness: validate and evaluate with the real worker-side consumer (vgi-python)
// ---------------------------------------------------------------------------------------

/// Reads a manifest of cases; for each decodes the filter exactly as the worker does
/// (`deserialize_filters`, then `apply_delta` per base64 tick value), evaluates it on the
/// case's table and prints `name\tOK\t<T/F/N per row>\t<canonical JSON?>` or
/// `name\tERR\t<exception>`.
const RUNNER: &str = r#"
import base64, json, sys
import pyarrow as pa
from vgi.filter_v2_builder import deserialize_filter_batch
from vgi.table_filter_pushdown import deserialize_filters

CAPS = (("vgi.duckdb.session.v1", None), ("vgi.duckdb.session.v1", "test-fingerprint"))

def read_batch(path):
    with open(path, "rb") as f:
        return deserialize_filter_batch(f.read())

for line in open(sys.argv[1], encoding="utf-8"):
    line = line.rstrip("\n")
    if not line:
        continue
    name, table_path, filter_path, keys_path, *delta_paths = line.split("\t")
    try:
        table = read_batch(table_path)
        keys = None if keys_path == "-" else [read_batch(keys_path)]
        batch = read_batch(filter_path)
        spec = batch.column(0)[0].as_py()
        canonical = json.dumps(json.loads(spec), ensure_ascii=False, separators=(",", ":")) == spec
        filters = deserialize_filters(batch, join_keys=keys, output_schema=table.schema,
                                      evaluation_capabilities=CAPS)
        for path in delta_paths:
            with open(path, "rb") as f:
                raw = base64.b64decode(f.read(), validate=True)
            batches = pa.ipc.open_stream(raw).read_all().to_batches()
            assert len(batches) == 1, "delta must hold one batch"
            filters = filters.apply_delta(batches[0])
        mask = filters.evaluate(table).to_pylist()
        flags = "".join("N" if v is None else ("T" if v else "F") for v in mask)
        print(f"{name}\tOK\t{flags}\t{'canonical' if canonical else 'NONCANONICAL'}", flush=True)
    except Exception as exc:
        message = f"{type(exc).__name__}: {exc}".replace("\n", " ").replace("\t", " ")
        print(f"{name}\tERR\t{message}", flush=True)
"#;

pub fn worker_python() -> PathBuf {
    if let Some(path) = std::env::var_os("VGI_WORKER_PY").filter(|p| !p.is_empty()) {
        let path = PathBuf::from(path);
        assert!(path.exists(), "VGI_WORKER_PY={} does not exist (run `make setup`)", path.display());
        return path;
    }
    let home = std::env::var_os("HOME").unwrap_or_default();
    let fallback = PathBuf::from(home).join(".cache/vgi/workers-venv/bin/python");
    if fallback.exists() {
        return fallback;
    }
    panic!(
        "filter tests need the VGI worker venv's python (vgi-python 0.47.0): set VGI_WORKER_PY \
         (`make test` does) or run `make setup` to create {}",
        fallback.display()
    );
}

pub struct Case {
    pub name: String,
    pub table: RecordBatch,
    pub filter: Vec<u8>,
    pub join_keys: Option<RecordBatch>,
    pub deltas: Vec<String>,
}

pub fn case(name: &str, table: &RecordBatch, filter: Vec<u8>) -> Case {
    Case { name: name.to_string(), table: table.clone(), filter, join_keys: None, deltas: Vec::new() }
}

#[derive(Debug)]
pub enum Outcome {
    Ok(String),
    Err(String),
}

pub struct Outcomes(HashMap<String, Outcome>);

impl Outcomes {
    pub fn mask(&self, name: &str, expected: &str) {
        match self.0.get(name) {
            Some(Outcome::Ok(mask)) => assert_eq!(mask, expected, "case {name}: wrong rows kept"),
            other => panic!("case {name}: expected rows {expected}, got {other:?}"),
        }
    }
    pub fn error(&self, name: &str, needle: &str) {
        match self.0.get(name) {
            Some(Outcome::Err(message)) => {
                assert!(message.contains(needle), "case {name}: error {message:?} lacks {needle:?}")
            }
            other => panic!("case {name}: expected an error containing {needle:?}, got {other:?}"),
        }
    }
}

static RUN: AtomicUsize = AtomicUsize::new(0);

/// Runs all cases in one Python process.
pub fn run(cases: &[Case]) -> Outcomes {
    let dir = std::env::temp_dir().join(format!(
        "vgi-filters-{}-{}",
        std::process::id(),
        RUN.fetch_add(1, Ordering::Relaxed)
    ));
    std::fs::create_dir_all(&dir).unwrap();
    let mut manifest = String::new();
    for (i, case) in cases.iter().enumerate() {
        assert!(!case.name.contains('\t') && !case.name.contains('\n'));
        let table = dir.join(format!("{i}.table.arrows"));
        std::fs::write(&table, encode_stream(&case.table, &[]).unwrap()).unwrap();
        let filter = dir.join(format!("{i}.filter.arrows"));
        std::fs::write(&filter, &case.filter).unwrap();
        let keys = match &case.join_keys {
            Some(batch) => {
                let path = dir.join(format!("{i}.keys.arrows"));
                std::fs::write(&path, encode_stream(batch, &[]).unwrap()).unwrap();
                path.display().to_string()
            }
            None => "-".to_string(),
        };
        let mut line = format!("{}\t{}\t{}\t{keys}", case.name, table.display(), filter.display());
        for (j, delta) in case.deltas.iter().enumerate() {
            let path = dir.join(format!("{i}.delta{j}.b64"));
            std::fs::write(&path, delta).unwrap();
            line.push('\t');
            line.push_str(&path.display().to_string());
        }
        manifest.push_str(&line);
        manifest.push('\n');
    }
    let manifest_path = dir.join("manifest.tsv");
    std::fs::write(&manifest_path, manifest).unwrap();
    let output = std::process::Command::new(worker_python())
        .arg("-c")
        .arg(RUNNER)
        .arg(&manifest_path)
        .output()
        .expect("running the worker venv's python");
    let _ = std::fs::remove_dir_all(&dir);
    let stdout = String::from_utf8_lossy(&output.stdout);
    assert!(
        output.status.success(),
        "python runner failed ({}):\n{stdout}\n{}",
        output.status,
        String::from_utf8_lossy(&output.stderr)
    );
    let mut outcomes = HashMap::new();
    for line in stdout.lines() {
        let parts: Vec<&str> = line.split('\t').collect();
        let outcome = match parts.as_slice() {
            [_, "OK", mask, flag] => {
                assert_eq!(*flag, "canonical", "case {}: JSON is not canonical compact JSON", parts[0]);
                Outcome::Ok(mask.to_string())
            }
            [_, "ERR", message] => Outcome::Err(message.to_string()),
            _ => panic!("unexpected runner output line {line:?}"),
        };
        outcomes.insert(parts[0].to_string(), outcome);
    }
    assert_eq!(outcomes.len(), cases.len(), "runner output:\n{stdout}");
    Outcomes(outcomes)
}

