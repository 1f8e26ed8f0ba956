//! HTTP(S) transport: `POST {base}/{protocol}/{method}` with an Arrow IPC body.
//!
//! Blocking I/O on `ureq` (no async runtime to manage inside DuckDB's threads); one agent per
//! process keeps connections alive across calls and ATTACHes.
use std::io::Read;
use std::sync::OnceLock;
use std::time::{Duration, Instant};

use super::{ConnectOptions, Watch};
use crate::error::{Error, Result};

const ARROW_STREAM: &str = "application/vnd.apache.arrow.stream";
/// Hard cap on one response body (the Python client's default budget).
pub const MAX_RESPONSE_BYTES: u64 = 256 << 20;

fn agent() -> &'static ureq::Agent {
    static AGENT: OnceLock<ureq::Agent> = OnceLock::new();
    AGENT.get_or_init(|| {
        ureq::Agent::config_builder()
            // 4xx/5xx bodies still carry Arrow error streams: classify them ourselves.
            .http_status_as_error(false)
            .max_idle_connections_per_host(16)
            .max_idle_age(Duration::from_secs(60))
            .user_agent(concat!("vgi-duckdb/", env!("CARGO_PKG_VERSION")))
            .build()
            .into()
    })
}

pub struct HttpTransport {
    base: String,
    bearer_token: Option<String>,
    pub(crate) broken: bool,
}

impl HttpTransport {
    pub fn new(base: &str, options: &ConnectOptions) -> Self {
        HttpTransport { base: base.to_string(), bearer_token: options.bearer_token.clone(), broken: false }
    }

    /// POSTs `body` to `path` and returns a reader over the (decompressed) Arrow response.
    pub fn post(&self, path: &str, body: &[u8], watch: &Watch) -> Result<Box<dyn Read + 'static>> {
        if watch.cancel.as_ref().is_some_and(|c| c.is_cancelled()) {
            return Err(Error::Cancelled);
        }
        let remaining = watch.deadline.saturating_duration_since(Instant::now());
        if remaining.is_zero() {
            return Err(Error::Timeout(format!("POST {path}")));
        }
        let url = format!("{}{}", self.base, path);
        let mut request = agent()
            .post(&url)
            .header("Content-Type", ARROW_STREAM)
            .header("X-VGI-Accept-Encoding", "zstd");
        if let Some(token) = &self.bearer_token {
            request = request.header("Authorization", format!("Bearer {token}"));
        }
        let response = request
            .config()
            .timeout_global(Some(remaining))
            .build()
            .send(body)
            .map_err(|e| map_ureq_error(&super::redacted(&url), e))?;
        let status = response.status().as_u16();
        let header = |name: &str| response.headers().get(name).and_then(|v| v.to_str().ok()).map(str::to_string);
        let encoding = header("X-VGI-Content-Encoding").or_else(|| header("Content-Encoding"));
        let content_type = header("Content-Type").unwrap_or_default();
        let auth_reason = header("VGI-Auth-Reason");
        let body = response.into_body().into_with_config().limit(MAX_RESPONSE_BYTES).reader();
        if status == 401 || status == 403 {
            let mut text = String::new();
            let _ = body.take(64 * 1024).read_to_string(&mut text);
            let reason = auth_reason.or_else(|| json_reason(&text)).unwrap_or_else(|| "unauthorized".into());
            return Err(Error::Http { status, message: format!("authentication failed: {reason}") });
        }
        if !content_type.starts_with(ARROW_STREAM) && status != 200 {
            let mut text = String::new();
            let _ = body.take(4096).read_to_string(&mut text);
            return Err(Error::Http { status, message: format!("{}: {}", super::redacted(&url), text.trim()) });
        }
        match encoding.as_deref() {
            Some("zstd") => Ok(Box::new(zstd::stream::read::Decoder::new(body)?)),
            Some("gzip") => Ok(Box::new(flate2::read::GzDecoder::new(body))),
            _ => Ok(Box::new(body)),
        }
    }
}

fn json_reason(text: &str) -> Option<String> {
    let at = text.find("\"reason\"")?;
    let rest = text[at + 8..].trim_start().strip_prefix(':')?.trim_start().strip_prefix('"')?;
    Some(rest[..rest.find('"')?].to_string())
}

fn map_ureq_error(url: &str, e: ureq::Error) -> Error {
    match e {
        ureq::Error::Timeout(_) => Error::Timeout(format!("POST {url}")),
        ureq::Error::Io(io) => match io.kind() {
            std::io::ErrorKind::ConnectionRefused | std::io::ErrorKind::NotFound => {
                Error::Connect(format!("{url}: {io}"))
            }
            _ => Error::from(io),
        },
        ureq::Error::HostNotFound | ureq::Error::ConnectionFailed => Error::Connect(format!("{url}: {e}")),
        other => Error::Connect(format!("{url}: {other}")),
    }
}
