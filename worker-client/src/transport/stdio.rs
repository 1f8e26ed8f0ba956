//! Subprocess transport: the worker is started with `/bin/sh -c LOCATION` and speaks Arrow IPC
//! on stdin/stdout; stderr is drained continuously (a full pipe would block the worker).
use std::io::{BufReader, Read, Write};
use std::os::unix::process::CommandExt;
use std::process::{Child, ChildStdin, ChildStdout, Command, Stdio};
use std::time::{Duration, Instant};

use super::pipe::{StderrTail, Watch, WatchedReader, WatchedWriter};
use super::{ConnectOptions, Route, Transport};
use crate::error::{Error, Result};

/// How long a worker gets to exit after its stdin is closed before it is killed.
const EXIT_GRACE: Duration = Duration::from_secs(3);

pub struct StdioTransport {
    /// `None` only after `drop` handed it to the reaper thread.
    child: Option<Child>,
    stdin: Option<WatchedWriter<ChildStdin>>,
    stdout: BufReader<WatchedReader<ChildStdout>>,
    stderr: StderrTail,
    broken: bool,
    command: String,
}

impl StdioTransport {
    pub fn spawn(command: &str, options: &ConnectOptions) -> Result<Self> {
        let mut cmd = Command::new("/bin/sh");
        cmd.arg("-c")
            .arg(command)
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .envs(options.env.iter().map(|(k, v)| (k, v)));
        // SAFETY: only async-signal-safe calls between fork and exec.
        unsafe {
            cmd.pre_exec(|| {
                // Own process group: a terminal Ctrl-C goes to DuckDB, which cancels calls;
                // and on drop the whole group (sh and its children) can be killed.
                libc::setpgid(0, 0);
                // Don't leak the host's descriptors (database files, sockets) into the worker.
                libc::syscall(libc::SYS_close_range, 3u32, u32::MAX, 0u32);
                Ok(())
            });
        }
        let mut child = cmd.spawn().map_err(|e| Error::Connect(format!("cannot start `{command}`: {e}")))?;
        let stdin = child.stdin.take().expect("piped stdin");
        let stdout = child.stdout.take().expect("piped stdout");
        let stderr = child.stderr.take().expect("piped stderr");
        Ok(StdioTransport {
            child: Some(child),
            stdin: Some(WatchedWriter { inner: stdin, watch: None }),
            stdout: BufReader::with_capacity(256 * 1024, WatchedReader { inner: stdout, watch: None }),
            stderr: StderrTail::drain(stderr, options.stderr_passthrough),
            broken: false,
            command: command.to_string(),
        })
    }

    /// Installs the call's deadline/cancel watch on both pipes.
    pub fn arm(&mut self, watch: &Watch) {
        if let Some(stdin) = self.stdin.as_mut() {
            stdin.watch = Some(watch.clone());
        }
        self.stdout.get_mut().watch = Some(watch.clone());
    }

    /// The pipes, for stream calls that interleave writes and reads.
    pub fn pipes(&mut self) -> Result<(&mut WatchedWriter<ChildStdin>, &mut BufReader<WatchedReader<ChildStdout>>)> {
        let stdin = self.stdin.as_mut().ok_or_else(|| Error::Disconnected("worker stdin already closed".into()))?;
        Ok((stdin, &mut self.stdout))
    }

    /// Turns an I/O failure into an error that says whether the worker died, hung or broke
    /// the protocol, with its stderr tail attached.
    fn explain_failure(&mut self, err: Error) -> Error {
        self.broken = true;
        let err = match err {
            Error::Disconnected(_) => {
                // Give the exit status a moment to become visible.
                let status = self.child.as_mut().and_then(|c| wait_for_exit(c, Duration::from_millis(200)));
                let how = match status {
                    Some(s) => format!("the worker `{}` exited ({s})", self.command),
                    None => format!("the worker `{}` closed its pipes", self.command),
                };
                if status.is_some() {
                    self.stderr.settle(Duration::from_millis(500));
                }
                Error::Disconnected(how)
            }
            other => other,
        };
        err.with_stderr(self.stderr.text())
    }
}

fn wait_for_exit(child: &mut Child, limit: Duration) -> Option<std::process::ExitStatus> {
    let until = Instant::now() + limit;
    loop {
        match child.try_wait() {
            Ok(Some(status)) => return Some(status),
            Ok(None) if Instant::now() < until => std::thread::sleep(Duration::from_millis(10)),
            _ => return None,
        }
    }
}

impl Transport for StdioTransport {
    fn unary<'a>(&'a mut self, _route: Route<'_>, request: &[u8], watch: &Watch) -> Result<Box<dyn Read + 'a>> {
        self.arm(watch);
        let write = {
            let stdin = self.stdin.as_mut().ok_or_else(|| Error::Disconnected("worker stdin already closed".into()))?;
            stdin.write_all(request).and_then(|_| stdin.flush())
        };
        if let Err(e) = write {
            return Err(self.explain_failure(e.into()));
        }
        Ok(Box::new(&mut self.stdout))
    }

    fn stderr_tail(&self) -> Option<String> {
        self.stderr.text()
    }

    fn explain(&mut self, err: Error) -> Error {
        match err {
            Error::Worker(_) => err.with_stderr(self.stderr.text()),
            other => self.explain_failure(other),
        }
    }

    fn mark_broken(&mut self) {
        self.broken = true;
    }

    fn is_healthy(&mut self) -> bool {
        !self.broken && self.child.as_mut().is_some_and(|c| matches!(c.try_wait(), Ok(None)))
    }
}

impl Drop for StdioTransport {
    fn drop(&mut self) {
        // Closing stdin is the worker's signal to exit; reap it on a thread so DuckDB never
        // waits for a slow worker, and kill the group if it outstays the grace period.
        drop(self.stdin.take());
        let Some(mut child) = self.child.take() else { return };
        let pid = child.id() as libc::pid_t;
        let broken = self.broken;
        let _ = std::thread::Builder::new().name("vgi-worker-reaper".into()).spawn(move || {
            let grace = if broken { Duration::from_millis(100) } else { EXIT_GRACE };
            if wait_for_exit(&mut child, grace).is_none() {
                // SAFETY: signalling our own child's process group.
                unsafe { libc::kill(-pid, libc::SIGKILL) };
                let _ = child.kill();
                let _ = child.wait();
            }
        });
    }
}

