//! The crate's one error type. Messages lead with what the user can act on: a worker's own
//! message comes first, transport details after.
use std::fmt;

use crate::framing::{keys, meta_get, Metadata};

pub type Result<T, E = Error> = std::result::Result<T, E>;

/// An error the worker reported in-band (an EXCEPTION batch).
#[derive(Debug, Clone, Default)]
pub struct WorkerError {
    /// `"<ExceptionType>: <message>"` as the worker sent it.
    pub message: String,
    /// Open token set, e.g. `method_not_implemented`, `protocol_version_mismatch`.
    pub kind: Option<String>,
    /// gRPC code name, e.g. `INVALID_ARGUMENT`.
    pub code: Option<String>,
    /// The worker-side traceback, when it sent one.
    pub traceback: Option<String>,
    /// The last lines the worker wrote to stderr before failing (stdio workers).
    pub stderr_tail: Option<String>,
}

impl WorkerError {
    pub(crate) fn from_metadata(md: &Metadata) -> Self {
        let extra = meta_get(md, keys::LOG_EXTRA).unwrap_or("");
        WorkerError {
            message: meta_get(md, keys::LOG_MESSAGE).unwrap_or("worker error").to_string(),
            kind: meta_get(md, keys::ERROR_KIND).map(str::to_string),
            code: meta_get(md, keys::ERROR_CODE).map(str::to_string),
            traceback: json_string_field(extra, "traceback"),
            stderr_tail: None,
        }
    }

    /// True when the worker does not implement the called method (capability fallback).
    pub fn is_not_implemented(&self) -> bool {
        self.kind.as_deref() == Some("method_not_implemented")
    }
}

/// Extracts a top-level string field from a small JSON object without a JSON dependency.
fn json_string_field(json: &str, field: &str) -> Option<String> {
    let key = format!("\"{field}\"");
    let at = json.find(&key)? + key.len();
    let rest = json[at..].trim_start().strip_prefix(':')?.trim_start().strip_prefix('"')?;
    let mut out = String::new();
    let mut chars = rest.chars();
    while let Some(c) = chars.next() {
        match c {
            '"' => return Some(out),
            '\\' => match chars.next()? {
                'n' => out.push('\n'),
                't' => out.push('\t'),
                'r' => out.push('\r'),
                'u' => {
                    let hex: String = chars.by_ref().take(4).collect();
                    out.push(u32::from_str_radix(&hex, 16).ok().and_then(char::from_u32).unwrap_or('?'));
                }
                other => out.push(other),
            },
            c => out.push(c),
        }
    }
    None
}

#[derive(Debug)]
pub enum Error {
    /// The worker raised an error.
    Worker(WorkerError),
    /// The worker process or connection went away.
    Disconnected(String),
    /// The peer sent bytes that do not follow the protocol.
    Protocol(String),
    /// A call exceeded its deadline.
    Timeout(String),
    /// The call was cancelled by the caller.
    Cancelled,
    /// Could not reach or start the worker.
    Connect(String),
    /// An HTTP-level failure (status other than the protocol's in-band errors).
    Http { status: u16, message: String },
    /// The caller passed something invalid.
    InvalidArgument(String),
    Io(std::io::Error),
}

impl Error {
    pub fn protocol(msg: impl Into<String>) -> Self {
        Error::Protocol(msg.into())
    }

    /// Attaches the tail of the worker's stderr to errors that benefit from it.
    pub fn with_stderr(self, tail: Option<String>) -> Self {
        let Some(tail) = tail.filter(|t| !t.trim().is_empty()) else { return self };
        match self {
            Error::Worker(mut w) => {
                w.stderr_tail = Some(tail);
                Error::Worker(w)
            }
            Error::Disconnected(m) => Error::Disconnected(format!("{m}\nworker stderr (last lines):\n{tail}")),
            Error::Protocol(m) => Error::Protocol(format!("{m}\nworker stderr (last lines):\n{tail}")),
            other => other,
        }
    }
}

impl fmt::Display for Error {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Error::Worker(w) => {
                write!(f, "{}", w.message)?;
                if let Some(tail) = &w.stderr_tail {
                    write!(f, "\nworker stderr (last lines):\n{tail}")?;
                }
                Ok(())
            }
            Error::Disconnected(m) => write!(f, "VGI worker disconnected: {m}"),
            Error::Protocol(m) => write!(f, "VGI protocol error: {m}"),
            Error::Timeout(m) => write!(f, "VGI call timed out: {m}"),
            Error::Cancelled => write!(f, "VGI call cancelled"),
            Error::Connect(m) => write!(f, "could not connect to VGI worker: {m}"),
            Error::Http { status, message } => write!(f, "VGI worker returned HTTP {status}: {message}"),
            Error::InvalidArgument(m) => write!(f, "{m}"),
            Error::Io(e) => write!(f, "VGI worker I/O error: {e}"),
        }
    }
}

impl std::error::Error for Error {}

impl From<std::io::Error> for Error {
    fn from(e: std::io::Error) -> Self {
        if e.get_ref().is_some_and(|inner| inner.is::<crate::transport::pipe::CallCancelled>()) {
            return Error::Cancelled;
        }
        match e.kind() {
            std::io::ErrorKind::BrokenPipe | std::io::ErrorKind::UnexpectedEof | std::io::ErrorKind::ConnectionReset => {
                Error::Disconnected(e.to_string())
            }
            std::io::ErrorKind::TimedOut | std::io::ErrorKind::WouldBlock => Error::Timeout(e.to_string()),
            _ => Error::Io(e),
        }
    }
}

impl From<arrow_schema::ArrowError> for Error {
    fn from(e: arrow_schema::ArrowError) -> Self {
        match e {
            arrow_schema::ArrowError::IoError(_, io) => Error::from(io),
            other => Error::Protocol(format!("invalid Arrow data from worker: {other}")),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn traceback_is_read_from_log_extra() {
        let json = r#"{"exception_type": "ValueError", "traceback": "Traceback:\n  line \"1\"", "frames": []}"#;
        assert_eq!(json_string_field(json, "traceback").unwrap(), "Traceback:\n  line \"1\"");
        assert_eq!(json_string_field(json, "missing"), None);
    }
}
