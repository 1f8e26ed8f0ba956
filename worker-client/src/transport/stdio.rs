//! Subprocess transport: the worker is started with `/bin/sh -c LOCATION` and speaks Arrow IPC
//! on stdin/stdout; stderr is drained continuously (a full pipe would block the worker).
use std::fs::File;
use std::os::fd::OwnedFd;
use std::os::unix::process::CommandExt;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use super::pipe::{Peer, PipeConnection, StderrTail};
use super::ConnectOptions;
use crate::error::{Error, Result};

/// How long a worker gets to exit after its stdin is closed before it is killed.
const EXIT_GRACE: Duration = Duration::from_secs(3);

/// Starts `command` and connects to its stdin/stdout.
pub fn spawn(command: &str, options: &ConnectOptions) -> Result<PipeConnection> {
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
    let stdin = File::from(OwnedFd::from(child.stdin.take().expect("piped stdin")));
    let stdout = File::from(OwnedFd::from(child.stdout.take().expect("piped stdout")));
    let stderr = StderrTail::drain(child.stderr.take().expect("piped stderr"), options.stderr_passthrough);
    enlarge_pipe(&stdin);
    enlarge_pipe(&stdout);
    let process = WorkerProcess { child: Some(child), stderr, command: command.to_string(), broken: false };
    Ok(PipeConnection::new(stdin, stdout, Box::new(process)))
}

/// Large batches cross a 64 KiB pipe in many wake-ups of both processes; a 1 MiB pipe (the
/// default limit for unprivileged processes) needs few. Best effort: the default still works.
fn enlarge_pipe(pipe: &File) {
    use std::os::fd::AsRawFd;
    // SAFETY: fcntl on a descriptor we own.
    unsafe {
        libc::fcntl(pipe.as_raw_fd(), libc::F_SETPIPE_SZ, 1 << 20);
    }
}

/// A worker process we started and must reap.
struct WorkerProcess {
    /// `None` only after `drop` handed it to the reaper thread.
    child: Option<Child>,
    stderr: StderrTail,
    command: String,
    broken: bool,
}

/// An exit status, saying which signal killed the worker when `/bin/sh` reports one as
/// 128 + its number (the shell outlives the worker it started).
fn describe_exit(status: std::process::ExitStatus) -> String {
    let Some(code @ 129..=192) = status.code() else { return status.to_string() };
    let signal = code - 128;
    let name = match signal {
        1 => "SIGHUP",
        2 => "SIGINT",
        3 => "SIGQUIT",
        4 => "SIGILL",
        6 => "SIGABRT",
        7 => "SIGBUS",
        8 => "SIGFPE",
        9 => "SIGKILL",
        11 => "SIGSEGV",
        13 => "SIGPIPE",
        15 => "SIGTERM",
        _ => return format!("{status}: killed by signal {signal}"),
    };
    format!("{status}: killed by signal {signal}, {name}")
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

impl Peer for WorkerProcess {
    /// Says whether the worker died or closed its pipes, with its stderr tail attached.
    fn explain(&mut self, err: Error) -> Error {
        let err = match err {
            Error::Disconnected(_) => {
                // Give the exit status a moment to become visible.
                let status = self.child.as_mut().and_then(|c| wait_for_exit(c, Duration::from_millis(200)));
                let how = match status {
                    Some(s) => format!("the worker `{}` exited ({})", self.command, describe_exit(s)),
                    None => format!("the worker `{}` closed its pipes", self.command),
                };
                if status.is_some() {
                    self.stderr.settle(Duration::from_millis(500));
                }
                Error::Disconnected(how)
            }
            // The worker reported the error itself: its message says it all.
            Error::Worker(w) => return Error::Worker(w),
            other => other,
        };
        err.with_stderr(self.stderr.text())
    }

    fn is_alive(&mut self) -> bool {
        self.child.as_mut().is_some_and(|c| matches!(c.try_wait(), Ok(None)))
    }

    fn mark_broken(&mut self) {
        self.broken = true;
    }
}

impl Drop for WorkerProcess {
    fn drop(&mut self) {
        // The connection closed stdin before this runs (field order in PipeConnection), which
        // is the worker's signal to exit. Reap it on a thread so DuckDB never waits for a slow
        // worker, and kill its group if it outstays the grace period.
        let Some(mut child) = self.child.take() else { return };
        let pid = child.id() as libc::pid_t;
        let grace = if self.broken { Duration::from_millis(100) } else { EXIT_GRACE };
        let _ = std::thread::Builder::new().name("vgi-worker-reaper".into()).spawn(move || {
            if wait_for_exit(&mut child, grace).is_none() {
                // SAFETY: signalling our own child's process group.
                unsafe { libc::kill(-pid, libc::SIGKILL) };
                let _ = child.kill();
                let _ = child.wait();
            }
        });
    }
}
