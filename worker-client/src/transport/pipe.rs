//! Byte-stream connections (stdio pipes, unix sockets): deadline- and cancel-aware reads and
//! writes on raw file descriptors, SIGPIPE-safe writes, and the worker's stderr tail.
use std::fs::File;
use std::io::{self, BufReader, Read, Write};
use std::os::fd::{AsRawFd, RawFd};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use crate::call::CancelHandle;
use crate::error::{Error, Result};

/// How long one `poll` waits before re-checking the cancel flag.
const CANCEL_CHECK_INTERVAL: Duration = Duration::from_millis(50);

/// The payload of the I/O error a cancelled wait returns (mapped to `Error::Cancelled`).
#[derive(Debug)]
pub struct CallCancelled;

impl std::fmt::Display for CallCancelled {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("cancelled")
    }
}

impl std::error::Error for CallCancelled {}

/// A deadline plus a cancel flag, shared by all blocking I/O of one call.
#[derive(Clone)]
pub struct Watch {
    pub deadline: Instant,
    pub cancel: Option<CancelHandle>,
    /// Set when the peer was found dead so callers can tell hangs from crashes.
    pub timed_out: Arc<AtomicBool>,
    /// The first call to a worker process we just started.
    startup: Option<Arc<Startup>>,
}

/// The first call to a just-started worker: its timeout counts from when the worker took the
/// request off its stdin, not from when we wrote it. Starting a worker (seconds for a Python
/// interpreter, more on a loaded machine) is not the call being slow, and a short
/// `vgi_call_timeout` would otherwise fail every query that needs a new worker. A worker that
/// never gets to read its request still times out, at `until`.
struct Startup {
    /// Our end of the worker's stdin: the bytes in it are the request not yet read.
    stdin: RawFd,
    timeout: Duration,
    until: Instant,
    /// The deadline so far, pushed on while the request waits unread.
    deadline: std::sync::Mutex<Instant>,
    seen_unread: AtomicBool,
    read: AtomicBool,
}

impl Startup {
    fn deadline(&self, now: Instant) -> Instant {
        let mut deadline = self.deadline.lock().unwrap_or_else(|p| p.into_inner());
        if !self.read.load(Ordering::Relaxed) {
            let mut unread: libc::c_int = 0;
            // SAFETY: FIONREAD into a c_int on a pipe descriptor we own.
            let rc = unsafe { libc::ioctl(self.stdin, libc::FIONREAD, &mut unread) };
            if rc == 0 && unread > 0 && now < self.until {
                *deadline = (now + self.timeout).min(self.until);
                self.seen_unread.store(true, Ordering::Relaxed);
            } else if rc != 0 || self.seen_unread.load(Ordering::Relaxed) || now >= self.until {
                // Read (or no way to tell): the plain timeout runs from here. An empty pipe
                // before we saw the request in it only means it is not written yet.
                self.read.store(true, Ordering::Relaxed);
            }
        }
        *deadline
    }
}

impl Watch {
    pub fn new(timeout: Duration, cancel: Option<CancelHandle>) -> Self {
        Watch { deadline: Instant::now() + timeout, cancel, timed_out: Arc::new(AtomicBool::new(false)), startup: None }
    }

    /// The watch of the first call to a worker just started on `stdin`: see [`Startup`].
    pub fn first_call(timeout: Duration, cancel: Option<CancelHandle>, stdin: RawFd, start_limit: Duration) -> Self {
        let now = Instant::now();
        let startup = Startup {
            stdin,
            timeout,
            until: now + timeout + start_limit,
            deadline: std::sync::Mutex::new(now + timeout),
            seen_unread: AtomicBool::new(false),
            read: AtomicBool::new(false),
        };
        Watch { startup: Some(Arc::new(startup)), ..Watch::new(timeout, cancel) }
    }

    /// Waits until `fd` is ready for `events`, the deadline passes or the call is cancelled.
    fn wait(&self, fd: RawFd, events: libc::c_short) -> io::Result<()> {
        loop {
            if self.cancel.as_ref().is_some_and(|c| c.is_cancelled()) {
                // Not ErrorKind::Interrupted: std's read_exact/write_all retry those.
                return Err(io::Error::other(CallCancelled));
            }
            let now = Instant::now();
            let deadline = self.startup.as_ref().map_or(self.deadline, |s| s.deadline(now));
            if now >= deadline {
                self.timed_out.store(true, Ordering::Relaxed);
                return Err(io::Error::new(io::ErrorKind::TimedOut, "no answer from the worker before the deadline"));
            }
            let slice = (deadline - now).min(CANCEL_CHECK_INTERVAL);
            let mut pfd = libc::pollfd { fd, events, revents: 0 };
            // SAFETY: one valid pollfd.
            let rc = unsafe { libc::poll(&mut pfd, 1, slice.as_millis().max(1) as libc::c_int) };
            if rc < 0 {
                let err = io::Error::last_os_error();
                if err.kind() == io::ErrorKind::Interrupted {
                    continue;
                }
                return Err(err);
            }
            if rc > 0 {
                // POLLHUP/POLLERR also end the wait: the read/write reports the condition.
                return Ok(());
            }
        }
    }
}

/// A reader that honours a [`Watch`] before every `read` syscall.
pub struct WatchedReader<R: AsRawFd + Read> {
    pub inner: R,
    pub watch: Option<Watch>,
}

impl<R: AsRawFd + Read> Read for WatchedReader<R> {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        if let Some(w) = &self.watch {
            w.wait(self.inner.as_raw_fd(), libc::POLLIN)?;
        }
        self.inner.read(buf)
    }
}

/// A writer that honours a [`Watch`] and never raises SIGPIPE.
pub struct WatchedWriter<W: AsRawFd + Write> {
    pub inner: W,
    pub watch: Option<Watch>,
}

impl<W: AsRawFd + Write> Write for WatchedWriter<W> {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        if let Some(w) = &self.watch {
            w.wait(self.inner.as_raw_fd(), libc::POLLOUT)?;
        }
        without_sigpipe(|| self.inner.write(buf))
    }

    fn flush(&mut self) -> io::Result<()> {
        self.inner.flush()
    }
}

/// Runs a write with SIGPIPE blocked on this thread, discarding a SIGPIPE it raised, so a dead
/// worker yields EPIPE instead of killing the host process (whose disposition we don't own).
pub fn without_sigpipe<T>(f: impl FnOnce() -> io::Result<T>) -> io::Result<T> {
    // SAFETY: plain signal-mask manipulation on the calling thread.
    unsafe {
        let mut block: libc::sigset_t = std::mem::zeroed();
        let mut old: libc::sigset_t = std::mem::zeroed();
        libc::sigemptyset(&mut block);
        libc::sigaddset(&mut block, libc::SIGPIPE);
        libc::pthread_sigmask(libc::SIG_BLOCK, &block, &mut old);
        let result = f();
        if matches!(&result, Err(e) if e.kind() == io::ErrorKind::BrokenPipe) {
            let mut pending: libc::sigset_t = std::mem::zeroed();
            libc::sigpending(&mut pending);
            if libc::sigismember(&pending, libc::SIGPIPE) == 1 && libc::sigismember(&old, libc::SIGPIPE) == 0 {
                let timeout = libc::timespec { tv_sec: 0, tv_nsec: 0 };
                libc::sigtimedwait(&block, std::ptr::null_mut(), &timeout);
            }
        }
        libc::pthread_sigmask(libc::SIG_SETMASK, &old, std::ptr::null_mut());
        result
    }
}

/// Keeps the last lines a worker wrote to stderr, for error messages.
#[derive(Clone, Default)]
pub struct StderrTail {
    lines: Arc<std::sync::Mutex<std::collections::VecDeque<String>>>,
    closed: Arc<AtomicBool>,
}

impl StderrTail {
    const MAX_LINES: usize = 30;

    /// Drains `stream` on a thread until EOF, keeping the tail (and echoing it when asked).
    pub fn drain(stream: impl Read + Send + 'static, echo: bool) -> Self {
        let tail = StderrTail::default();
        let keep = tail.clone();
        std::thread::Builder::new()
            .name("vgi-worker-stderr".into())
            .spawn(move || {
                use std::io::BufRead;
                let mut reader = io::BufReader::new(stream);
                let mut line = Vec::new();
                while matches!(reader.read_until(b'\n', &mut line), Ok(n) if n > 0) {
                    let text = String::from_utf8_lossy(&line).trim_end().to_string();
                    if echo {
                        eprintln!("[vgi worker] {text}");
                    }
                    let mut lines = keep.lines.lock().unwrap_or_else(|p| p.into_inner());
                    if lines.len() == Self::MAX_LINES {
                        lines.pop_front();
                    }
                    lines.push_back(text);
                    line.clear();
                }
                keep.closed.store(true, Ordering::SeqCst);
            })
            .expect("spawning the stderr drain thread");
        tail
    }

    /// Waits (briefly) until the worker's stderr reached EOF, so a dying worker's last words
    /// make it into the error message.
    pub fn settle(&self, limit: Duration) {
        let until = Instant::now() + limit;
        while !self.closed.load(Ordering::SeqCst) && Instant::now() < until {
            std::thread::sleep(Duration::from_millis(5));
        }
    }

    pub fn text(&self) -> Option<String> {
        let lines = self.lines.lock().unwrap_or_else(|p| p.into_inner());
        if lines.is_empty() {
            None
        } else {
            Some(lines.iter().cloned().collect::<Vec<_>>().join("\n"))
        }
    }
}

/// Who is on the other end of a byte-stream connection, for error messages and cleanup.
pub trait Peer: Send {
    /// Describes a failure of the connection in the peer's terms (exit status, stderr).
    fn explain(&mut self, err: Error) -> Error;
    /// Whether the peer is still alive.
    fn is_alive(&mut self) -> bool {
        true
    }
    /// Called when the connection is abandoned in an unknown state.
    fn mark_broken(&mut self) {}
}

/// A sequential call channel over a pair of file descriptors (pipes or a socket).
pub struct PipeConnection {
    pub writer: WatchedWriter<File>,
    pub reader: BufReader<WatchedReader<File>>,
    peer: Box<dyn Peer>,
    broken: bool,
}

impl PipeConnection {
    pub fn new(writer: File, reader: File, peer: Box<dyn Peer>) -> Self {
        PipeConnection {
            writer: WatchedWriter { inner: writer, watch: None },
            reader: BufReader::with_capacity(256 * 1024, WatchedReader { inner: reader, watch: None }),
            peer,
            broken: false,
        }
    }

    /// Installs a call's deadline/cancel watch on both directions.
    pub fn arm(&mut self, watch: &Watch) {
        self.writer.watch = Some(watch.clone());
        self.reader.get_mut().watch = Some(watch.clone());
    }

    /// Writes bytes and flushes.
    pub fn send(&mut self, bytes: &[u8]) -> Result<()> {
        self.writer.write_all(bytes).and_then(|_| self.writer.flush()).map_err(Error::from)
    }

    pub fn explain(&mut self, err: Error) -> Error {
        if !matches!(err, Error::Worker(_)) {
            self.mark_broken();
        }
        self.peer.explain(err)
    }

    pub fn mark_broken(&mut self) {
        self.broken = true;
        self.peer.mark_broken();
    }

    pub fn is_healthy(&mut self) -> bool {
        !self.broken && self.peer.is_alive()
    }
}
