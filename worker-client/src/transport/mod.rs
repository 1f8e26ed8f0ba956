//! Transports: how request and response bytes reach a worker. Each transport is one
//! sequential call channel (workers serve one call at a time per connection).
use std::io::Read;

use crate::error::{Error, Result};

pub mod http;
pub mod pipe;
pub mod stdio;

pub use pipe::Watch;

/// Where a call is routed: the application protocol name and the method.
#[derive(Clone, Copy, Debug)]
pub struct Route<'a> {
    pub protocol: &'a str,
    pub method: &'a str,
}

/// One connection to a worker.
pub trait Transport: Send {
    /// Sends one complete request stream and returns a reader positioned at the start of
    /// the response stream. The reader honours `watch` (deadline, cancel).
    fn unary<'a>(&'a mut self, route: Route<'_>, request: &[u8], watch: &Watch) -> Result<Box<dyn Read + 'a>>;

    /// The last lines the worker wrote to stderr, if the transport can see them.
    fn stderr_tail(&self) -> Option<String> {
        None
    }

    /// Enriches a failure with what the transport knows (exit status, stderr tail).
    fn explain(&mut self, err: Error) -> Error {
        err.with_stderr(self.stderr_tail())
    }

    /// Marks the connection unusable (mid-stream abandon, I/O failure): it is never reused.
    fn mark_broken(&mut self);

    /// Whether the connection may serve another call.
    fn is_healthy(&mut self) -> bool;
}

/// How a `LOCATION` string selects a transport.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Location {
    /// A shell command line that starts a worker speaking on stdin/stdout.
    Command(String),
    /// `http://` or `https://` base URL.
    Http(String),
}

impl Location {
    pub fn parse(location: &str) -> Result<Location> {
        let trimmed = location.trim();
        if trimmed.is_empty() {
            return Err(Error::InvalidArgument("VGI worker location is empty".into()));
        }
        let lower = trimmed.to_ascii_lowercase();
        if lower.starts_with("http://") || lower.starts_with("https://") {
            Ok(Location::Http(trimmed.trim_end_matches('/').to_string()))
        } else {
            Ok(Location::Command(trimmed.to_string()))
        }
    }

    /// Opens a new connection.
    pub fn connect(&self, options: &ConnectOptions) -> Result<Box<dyn Transport>> {
        match self {
            Location::Command(cmd) => Ok(Box::new(stdio::StdioTransport::spawn(cmd, options)?)),
            Location::Http(url) => Ok(Box::new(http::HttpTransport::new(url, options)?)),
        }
    }
}

/// Connection-level options that come from ATTACH.
#[derive(Clone, Debug, Default, PartialEq, Eq, Hash)]
pub struct ConnectOptions {
    /// Sent as `Authorization: Bearer` on HTTP.
    pub bearer_token: Option<String>,
    /// Extra environment for launched workers.
    pub env: Vec<(String, String)>,
    /// Echo the worker's stderr to ours (debugging).
    pub stderr_passthrough: bool,
}
