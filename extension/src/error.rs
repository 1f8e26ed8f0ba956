//! The extension's error type: what DuckDB exception a failure becomes, and its message.
use std::fmt;

/// The DuckDB exception class an error maps to (mirrors `VgiErrorKind` in `cpp/vgi_bridge.h`).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[repr(i32)]
pub enum ErrorKind {
    Io = 1,
    InvalidInput = 2,
    Binder = 3,
    Catalog = 4,
    NotImplemented = 5,
    Interrupt = 6,
    Internal = 7,
    Permission = 8,
}

#[derive(Debug)]
pub struct Error {
    pub kind: ErrorKind,
    pub message: String,
}

pub type Result<T, E = Error> = std::result::Result<T, E>;

impl Error {
    pub fn new(kind: ErrorKind, message: impl Into<String>) -> Self {
        Error { kind, message: message.into() }
    }
    pub fn invalid_input(message: impl Into<String>) -> Self {
        Self::new(ErrorKind::InvalidInput, message)
    }
    pub fn binder(message: impl Into<String>) -> Self {
        Self::new(ErrorKind::Binder, message)
    }
    pub fn permission(message: impl Into<String>) -> Self {
        Self::new(ErrorKind::Permission, message)
    }
    pub fn internal(message: impl Into<String>) -> Self {
        Self::new(ErrorKind::Internal, message)
    }
}

impl fmt::Display for Error {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.message)
    }
}

impl From<worker_client::Error> for Error {
    fn from(e: worker_client::Error) -> Self {
        use worker_client::Error as W;
        let kind = match &e {
            W::InvalidArgument(_) => ErrorKind::InvalidInput,
            W::Cancelled => ErrorKind::Interrupt,
            _ => ErrorKind::Io,
        };
        Error::new(kind, e.to_string())
    }
}

impl From<arrow_schema::ArrowError> for Error {
    fn from(e: arrow_schema::ArrowError) -> Self {
        Error::internal(format!("Arrow conversion failed: {e}"))
    }
}
