//! Transports: how request and response bytes reach a worker. A connection is one sequential
//! call channel (a worker serves one call at a time per connection).
use std::io::Read;

use crate::error::{Error, Result};

pub mod http;
pub mod pipe;
pub mod stdio;
pub mod unix;

pub use pipe::{PipeConnection, Watch};

/// Where a call is routed: the application protocol name and the method.
#[derive(Clone, Copy, Debug)]
pub struct Route<'a> {
    pub protocol: &'a str,
    pub method: &'a str,
}

/// One connection to a worker.
pub enum Transport {
    /// stdio subprocess or unix socket: streams interleave writes and reads on one channel.
    Pipe(PipeConnection),
    /// HTTP: every call and stream turn is a request; stream state travels in tokens.
    Http(http::HttpTransport),
}

impl Transport {
    /// Sends one complete request stream and returns a reader positioned at the start of the
    /// response stream. The reader honours `watch` (deadline, cancel).
    pub fn unary<'a>(&'a mut self, route: Route<'_>, request: &[u8], watch: &Watch) -> Result<Box<dyn Read + 'a>> {
        match self {
            Transport::Pipe(pipe) => {
                pipe.arm(watch);
                if let Err(e) = pipe.send(request) {
                    return Err(pipe.explain(e));
                }
                Ok(Box::new(&mut pipe.reader))
            }
            Transport::Http(http) => http.post(&format!("/{}/{}", route.protocol, route.method), request, watch),
        }
    }

    /// Enriches a failure with what the transport knows (exit status, stderr tail).
    pub fn explain(&mut self, err: Error) -> Error {
        match self {
            Transport::Pipe(pipe) => pipe.explain(err),
            Transport::Http(_) => err,
        }
    }

    /// Marks the connection unusable (mid-stream abandon, I/O failure): it is never reused.
    pub fn mark_broken(&mut self) {
        match self {
            Transport::Pipe(pipe) => pipe.mark_broken(),
            Transport::Http(http) => http.broken = true,
        }
    }

    /// Whether the connection may serve another call.
    pub fn is_healthy(&mut self) -> bool {
        match self {
            Transport::Pipe(pipe) => pipe.is_healthy(),
            Transport::Http(http) => !http.broken,
        }
    }
}

/// A location with any `user:password@` of a URL removed: what error messages show.
pub fn redacted(location: &str) -> String {
    let Some(scheme_end) = location.find("://") else { return location.to_string() };
    let rest = &location[scheme_end + 3..];
    let authority_end = rest.find('/').unwrap_or(rest.len());
    match rest[..authority_end].rfind('@') {
        Some(at) => format!("{}://***@{}", &location[..scheme_end], &rest[at + 1..]),
        None => location.to_string(),
    }
}

/// How a `LOCATION` string selects a transport.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub enum Location {
    /// A shell command line that starts a worker speaking on stdin/stdout.
    Command(String),
    /// `unix:///path.sock`: a worker already listening on a unix socket.
    Unix(std::path::PathBuf),
    /// `launch:<argv>`: a shared worker started on demand (launcher protocol).
    Launch(String),
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
        } else if let Some(path) = trimmed.strip_prefix("unix://") {
            if !path.starts_with('/') {
                return Err(Error::InvalidArgument(format!("unix:// location needs an absolute path: {location}")));
            }
            Ok(Location::Unix(path.into()))
        } else if let Some(command) = trimmed.strip_prefix("launch:") {
            Ok(Location::Launch(command.trim().to_string()))
        } else {
            Ok(Location::Command(trimmed.to_string()))
        }
    }

    /// Opens a new connection.
    pub fn connect(&self, options: &ConnectOptions) -> Result<Transport> {
        Ok(match self {
            Location::Command(cmd) => Transport::Pipe(stdio::spawn(cmd, options)?),
            Location::Unix(path) => Transport::Pipe(unix::connect(path)?),
            Location::Launch(cmd) => Transport::Pipe(unix::launch(cmd, options)?),
            Location::Http(url) => Transport::Http(http::HttpTransport::new(url, options)),
        })
    }

    pub fn is_http(&self) -> bool {
        matches!(self, Location::Http(_))
    }
}

/// Connection-level options that come from ATTACH.
#[derive(Clone, Default, PartialEq, Eq, Hash)]
pub struct ConnectOptions {
    /// Sent as `Authorization: Bearer` on HTTP.
    pub bearer_token: Option<String>,
    /// Extra environment for launched workers.
    pub env: Vec<(String, String)>,
    /// Echo the worker's stderr to ours (debugging).
    pub stderr_passthrough: bool,
    /// Connections with different values never share pooled workers: `Some(id)` keeps a
    /// catalog's workers to itself (ATTACH ... `pool false`), `None` shares them.
    pub dedicated_to: Option<u64>,
}

impl std::fmt::Debug for ConnectOptions {
    // The bearer token is a secret: never print it.
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ConnectOptions")
            .field("bearer_token", &self.bearer_token.as_ref().map(|_| "<redacted>"))
            .field("env", &self.env.iter().map(|(k, _)| k).collect::<Vec<_>>())
            .field("stderr_passthrough", &self.stderr_passthrough)
            .field("dedicated_to", &self.dedicated_to)
            .finish()
    }
}
