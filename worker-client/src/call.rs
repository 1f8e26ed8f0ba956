//! Per-call controls: deadlines, cancellation and where worker log records go.
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::Duration;

use crate::framing::LogMessage;

/// Default deadline of one call (a unary call, or one tick of a stream).
pub const DEFAULT_CALL_TIMEOUT: Duration = Duration::from_secs(300);

/// Lets another thread abort a call or stream promptly (DuckDB interrupts, LIMIT).
#[derive(Clone, Default, Debug)]
pub struct CancelHandle(Arc<AtomicBool>);

impl CancelHandle {
    pub fn new() -> Self {
        Self::default()
    }
    pub fn cancel(&self) {
        self.0.store(true, Ordering::SeqCst);
    }
    pub fn is_cancelled(&self) -> bool {
        self.0.load(Ordering::SeqCst)
    }
}

/// Receives the worker's in-band log records (the extension routes them to DuckDB's log).
pub type LogSink = Arc<dyn Fn(&LogMessage) + Send + Sync>;

/// A sink that drops log records.
pub fn discard_logs() -> LogSink {
    Arc::new(|_| {})
}
