//! HTTP(S) transport: `POST {base}/{protocol}/{method}` with an Arrow IPC body.
//!
//! Blocking I/O on `ureq` (no async runtime to manage inside DuckDB's threads); one agent per
//! process keeps connections alive across calls and ATTACHes.
use std::io::Read;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{mpsc, Arc, Mutex, OnceLock};
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
        self.start(path, body, watch)?.wait(watch)
    }

    /// Sends a request without waiting for its answer ([`PendingPost::wait`] collects it), so
    /// the caller can work, or a stream can ask for its next turn, while the worker answers.
    ///
    /// The request runs on an I/O thread; waiting happens in short slices, so DuckDB's
    /// interrupt ends the wait within one slice even when the worker sits on a request (ureq
    /// blocks until the response or the deadline). An abandoned request finishes, or times
    /// out, on its own thread; its connection is ureq's to reuse or drop.
    pub fn start(&self, path: &str, body: &[u8], watch: &Watch) -> Result<PendingPost> {
        if watch.cancel.as_ref().is_some_and(|c| c.is_cancelled()) {
            return Err(Error::Cancelled);
        }
        let remaining = watch.deadline.saturating_duration_since(Instant::now());
        if remaining.is_zero() {
            return Err(Error::Timeout(format!("POST {path}")));
        }
        let url = format!("{}{}", self.base, path);
        let (bearer_token, body) = (self.bearer_token.clone(), body.to_vec());
        let (done, answer) = mpsc::sync_channel(1);
        io_threads().run(Box::new(move || {
            let _ = done.send(exchange(&url, bearer_token.as_deref(), &body, remaining));
        }));
        Ok(PendingPost { path: path.to_string(), answer })
    }
}

/// A request in flight on an I/O thread.
pub struct PendingPost {
    path: String,
    answer: mpsc::Receiver<Result<Response>>,
}

impl PendingPost {
    /// Waits for the answer, giving up when `watch` is cancelled or its deadline passes.
    pub fn wait(self, watch: &Watch) -> Result<Box<dyn Read + 'static>> {
        let path = &self.path;
        loop {
            match self.answer.recv_timeout(CANCEL_CHECK_INTERVAL) {
                Ok(response) => return response.and_then(Response::into_reader),
                Err(mpsc::RecvTimeoutError::Disconnected) => {
                    return Err(Error::Connect(format!("POST {path}: the request thread ended without an answer")));
                }
                Err(mpsc::RecvTimeoutError::Timeout) => {
                    if watch.cancel.as_ref().is_some_and(|c| c.is_cancelled()) {
                        return Err(Error::Cancelled);
                    }
                    // ureq's own deadline ends the request; this is a backstop.
                    if Instant::now() >= watch.deadline + Duration::from_secs(5) {
                        return Err(Error::Timeout(format!("POST {path}")));
                    }
                }
            }
        }
    }
}

/// How long a waiting caller sleeps between checks of its cancel flag.
const CANCEL_CHECK_INTERVAL: Duration = Duration::from_millis(20);

/// A response read to its end on the I/O thread, decompressed by the caller.
struct Response {
    encoding: Option<String>,
    body: Vec<u8>,
}

impl Response {
    fn into_reader(self) -> Result<Box<dyn Read + 'static>> {
        let body = std::io::Cursor::new(self.body);
        match self.encoding.as_deref() {
            Some("zstd") => Ok(Box::new(zstd::stream::read::Decoder::new(body)?)),
            Some("gzip") => Ok(Box::new(flate2::read::GzDecoder::new(body))),
            _ => Ok(Box::new(body)),
        }
    }
}

/// One request and its whole (still compressed) body; runs on an I/O thread.
fn exchange(url: &str, bearer_token: Option<&str>, body: &[u8], remaining: Duration) -> Result<Response> {
    let shown = super::redacted(url);
    let mut request = agent().post(url).header("Content-Type", ARROW_STREAM).header("X-VGI-Accept-Encoding", "zstd");
    if let Some(token) = bearer_token {
        request = request.header("Authorization", format!("Bearer {token}"));
    }
    let response = request
        .config()
        .timeout_global(Some(remaining))
        .build()
        .send(body)
        .map_err(|e| map_ureq_error(&shown, e))?;
    let status = response.status().as_u16();
    let header = |name: &str| response.headers().get(name).and_then(|v| v.to_str().ok()).map(str::to_string);
    let encoding = header("X-VGI-Content-Encoding").or_else(|| header("Content-Encoding"));
    let content_type = header("Content-Type").unwrap_or_default();
    let auth_reason = header("VGI-Auth-Reason");
    let mut reader = response.into_body().into_with_config().limit(MAX_RESPONSE_BYTES).reader();
    if status == 401 || status == 403 {
        let mut text = String::new();
        let _ = reader.take(64 * 1024).read_to_string(&mut text);
        let reason = auth_reason.or_else(|| json_reason(&text)).unwrap_or_else(|| "unauthorized".into());
        return Err(Error::Http { status, message: format!("authentication failed: {reason}") });
    }
    if !content_type.starts_with(ARROW_STREAM) && status != 200 {
        let mut text = String::new();
        let _ = reader.take(4096).read_to_string(&mut text);
        return Err(Error::Http { status, message: format!("{shown}: {}", text.trim()) });
    }
    let mut body = Vec::new();
    reader.read_to_end(&mut body).map_err(|e| match e.kind() {
        std::io::ErrorKind::TimedOut => Error::Timeout(format!("POST {shown}")),
        _ => Error::from(e),
    })?;
    Ok(Response { encoding, body })
}

type Job = Box<dyn FnOnce() + Send>;

/// Threads that run HTTP requests for waiting callers. One is added whenever none is idle,
/// so there are at most as many as requests were ever in flight at once (DuckDB's threads
/// times attached workers); idle ones wait for the next request.
struct IoThreads {
    jobs: Mutex<mpsc::Sender<Job>>,
    queue: Arc<Mutex<mpsc::Receiver<Job>>>,
    idle: Arc<AtomicUsize>,
}

fn io_threads() -> &'static IoThreads {
    static THREADS: OnceLock<IoThreads> = OnceLock::new();
    THREADS.get_or_init(|| {
        let (jobs, queue) = mpsc::channel();
        IoThreads { jobs: Mutex::new(jobs), queue: Arc::new(Mutex::new(queue)), idle: Arc::default() }
    })
}

impl IoThreads {
    fn run(&self, job: Job) {
        // Claim an idle thread, or add one: a job never waits behind another request.
        let claimed = self.idle.fetch_update(Ordering::AcqRel, Ordering::Acquire, |n| n.checked_sub(1)).is_ok();
        if !claimed {
            let (queue, idle) = (self.queue.clone(), self.idle.clone());
            let spawned = std::thread::Builder::new().name("vgi-http-io".into()).spawn(move || loop {
                let job = queue.lock().unwrap_or_else(|p| p.into_inner()).recv();
                match job {
                    Ok(job) => job(),
                    Err(_) => return,
                }
                idle.fetch_add(1, Ordering::AcqRel);
            });
            if spawned.is_err() {
                // No thread to be had: run the request here (it is then not interruptible).
                job();
                return;
            }
        }
        let _ = self.jobs.lock().unwrap_or_else(|p| p.into_inner()).send(job);
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
