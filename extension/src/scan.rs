//! Rust producers of Arrow batches behind DuckDB table functions (`cpp/arrow_scan.cpp`).
use arrow_array::RecordBatch;
use arrow_schema::SchemaRef;

use crate::error::{Error, Result};

/// The immutable result of binding a table function: its output schema and how to run it.
/// Opened once per execution, possibly from several threads.
pub trait Binding: Send + Sync {
    fn schema(&self) -> SchemaRef;
    fn open(&self) -> Result<Box<dyn Scan>>;
}

/// One execution of a binding.
pub trait Scan: Send {
    /// The next batch; `None` at the end.
    fn next_batch(&mut self) -> Result<Option<RecordBatch>>;
    /// Asks the scan to stop promptly; called from another thread.
    fn cancel(&self) {}
}

/// A scan over batches that are already in memory (small metadata results).
pub struct MemoryScan {
    batches: std::vec::IntoIter<RecordBatch>,
}

impl MemoryScan {
    pub fn new(batches: Vec<RecordBatch>) -> Self {
        MemoryScan { batches: batches.into_iter() }
    }
}

impl Scan for MemoryScan {
    fn next_batch(&mut self) -> Result<Option<RecordBatch>> {
        Ok(self.batches.next())
    }
}

/// Rejects a batch that does not match the bound schema: DuckDB's Arrow reader trusts the
/// layout it was bound with, so a mismatch must never reach it.
pub fn check_batch(schema: &SchemaRef, batch: &RecordBatch) -> Result<()> {
    let got = batch.schema();
    if got.fields().len() != schema.fields().len() {
        return Err(Error::new(
            crate::error::ErrorKind::Io,
            format!(
                "the worker sent a batch with {} columns, but the scan was bound with {}",
                got.fields().len(),
                schema.fields().len()
            ),
        ));
    }
    for (sent, bound) in got.fields().iter().zip(schema.fields()) {
        if sent.data_type() != bound.data_type() {
            return Err(Error::new(
                crate::error::ErrorKind::Io,
                format!(
                    "the worker sent column `{}` as {}, but the scan was bound with {}",
                    bound.name(),
                    sent.data_type(),
                    bound.data_type()
                ),
            ));
        }
    }
    Ok(())
}
