//! Per-call controls: deadlines, cancellation and where worker log records go.
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::Duration;

use crate::framing::LogMessage;

/// Default deadline of one call (a unary call, or one tick of a stream).
pub const DEFAULT_CALL_TIMEOUT: Duration = Duration::from_secs(300);

static CALL_TIMEOUT_MILLIS: std::sync::atomic::AtomicU64 = std::sync::atomic::AtomicU64::new(300_000);

/// The deadline new connections apply to each call (process-wide; `SET vgi_call_timeout`).
pub fn call_timeout() -> Duration {
    Duration::from_millis(CALL_TIMEOUT_MILLIS.load(Ordering::Relaxed))
}

/// Changes the deadline of calls made from now on (pooled connections pick it up when taken).
pub fn set_call_timeout(timeout: Duration) {
    CALL_TIMEOUT_MILLIS.store(timeout.as_millis().max(1) as u64, Ordering::Relaxed);
}

/// Lets another thread abort a call or stream promptly (DuckDB interrupts, LIMIT).
#[derive(Clone, Default)]
pub struct CancelHandle {
    flag: Arc<AtomicBool>,
    external: Option<Arc<dyn Fn() -> bool + Send + Sync>>,
}

impl std::fmt::Debug for CancelHandle {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "CancelHandle({})", self.flag.load(Ordering::SeqCst))
    }
}

impl CancelHandle {
    pub fn new() -> Self {
        Self::default()
    }

    /// A handle that also reports cancelled when `check` says so (polled while a call
    /// waits, e.g. DuckDB's "query interrupted" flag).
    pub fn with_check(check: impl Fn() -> bool + Send + Sync + 'static) -> Self {
        CancelHandle { flag: Arc::default(), external: Some(Arc::new(check)) }
    }

    pub fn cancel(&self) {
        self.flag.store(true, Ordering::SeqCst);
    }

    pub fn is_cancelled(&self) -> bool {
        self.flag.load(Ordering::SeqCst) || self.external.as_ref().is_some_and(|check| check())
    }
}

/// Receives the worker's in-band log records (the extension routes them to DuckDB's log).
pub type LogSink = Arc<dyn Fn(&LogMessage) + Send + Sync>;

/// A sink that drops log records.
pub fn discard_logs() -> LogSink {
    Arc::new(|_| {})
}
