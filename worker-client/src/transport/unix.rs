//! AF_UNIX transports: `unix:///path.sock` connects to a running worker; `launch:<argv>`
//! starts (or reuses) a shared worker through the vgi_rpc launcher protocol: one worker per
//! (argv, cwd, VGI_RPC_* environment), found by a hash-named socket in a private state
//! directory, started under a file lock, exiting by itself after an idle timeout.
use std::fs::File;
use std::io::{BufRead, BufReader};
use std::os::fd::OwnedFd;
use std::os::unix::fs::{DirBuilderExt, FileTypeExt, MetadataExt, PermissionsExt};
use std::os::unix::net::UnixStream;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use sha2::{Digest, Sha256};

use super::pipe::{Peer, PipeConnection};
use super::ConnectOptions;
use crate::error::{Error, Result};

/// A launched worker exits after this long without clients.
const IDLE_TIMEOUT_SECS: u32 = 300;
/// How long a launched worker may take to print its `UNIX:` line.
const STARTUP_TIMEOUT: Duration = Duration::from_secs(60);

/// Connects to a worker listening on `path`.
pub fn connect(path: &Path) -> Result<PipeConnection> {
    let stream = UnixStream::connect(path).map_err(|e| Error::Connect(format!("unix://{}: {e}", path.display())))?;
    let writer = stream.try_clone()?;
    let reader = File::from(OwnedFd::from(stream));
    let writer = File::from(OwnedFd::from(writer));
    Ok(PipeConnection::new(writer, reader, Box::new(SocketPeer { path: path.to_path_buf() })))
}

struct SocketPeer {
    path: PathBuf,
}

impl Peer for SocketPeer {
    fn explain(&mut self, err: Error) -> Error {
        match err {
            Error::Disconnected(m) => Error::Disconnected(format!("unix://{}: {m}", self.path.display())),
            other => other,
        }
    }
}

/// Starts or reuses the shared worker for `command` and connects to it.
pub fn launch(command: &str, options: &ConnectOptions) -> Result<PipeConnection> {
    let argv = split_command(command)?;
    let cwd = std::env::current_dir()?.to_string_lossy().into_owned();
    let dir = state_dir()?;
    let hash = launcher_hash(&argv, &cwd, std::env::vars());
    let socket = dir.join(format!("{hash}.sock"));
    let lock = File::create(dir.join(format!("{hash}.lock")))?;
    // SAFETY: flock on a descriptor we own; released when `lock` is closed.
    if unsafe { libc::flock(std::os::fd::AsRawFd::as_raw_fd(&lock), libc::LOCK_EX) } != 0 {
        return Err(std::io::Error::last_os_error().into());
    }
    if let Ok(conn) = connect(&socket) {
        return Ok(conn);
    }
    if let Ok(meta) = std::fs::symlink_metadata(&socket) {
        if !meta.file_type().is_socket() {
            return Err(Error::Connect(format!("refusing to replace non-socket {}", socket.display())));
        }
        std::fs::remove_file(&socket)?;
    }
    spawn_launched(&argv, &socket, options)?;
    write_meta(&dir.join(format!("{hash}.meta")), &argv, &cwd, &socket);
    connect(&socket)
}

fn spawn_launched(argv: &[String], socket: &Path, options: &ConnectOptions) -> Result<()> {
    let mut child = Command::new(&argv[0])
        .args(&argv[1..])
        .arg("--unix")
        .arg(socket)
        .arg("--idle-timeout")
        .arg(IDLE_TIMEOUT_SECS.to_string())
        .envs(options.env.iter().map(|(k, v)| (k, v)))
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .map_err(|e| Error::Connect(format!("cannot start `{}`: {e}", argv.join(" "))))?;
    let stdout = child.stdout.take().expect("piped stdout");
    let expected = format!("UNIX:{}", socket.display());
    let (tx, rx) = std::sync::mpsc::channel();
    // Read the readiness line on a thread so the startup timeout holds; keep draining
    // afterwards so the worker never blocks on a full stdout pipe.
    std::thread::Builder::new().name("vgi-launch-stdout".into()).spawn(move || {
        let mut lines = BufReader::new(stdout).lines();
        let mut sent = false;
        for line in lines.by_ref().map_while(|l| l.ok()) {
            if !sent && line.starts_with("UNIX:") {
                let _ = tx.send(line);
                sent = true;
            }
        }
    })?;
    let deadline = Instant::now() + STARTUP_TIMEOUT;
    loop {
        match rx.recv_timeout(Duration::from_millis(100)) {
            Ok(line) if line == expected => break,
            Ok(line) => return Err(Error::Connect(format!("worker bound {line:?}, expected {expected:?}"))),
            Err(_) => {
                if let Ok(Some(status)) = child.try_wait() {
                    return Err(Error::Connect(format!("`{}` exited before it was ready ({status})", argv.join(" "))));
                }
                if Instant::now() > deadline {
                    let _ = child.kill();
                    return Err(Error::Timeout(format!("`{}` printed no UNIX: line", argv.join(" "))));
                }
            }
        }
    }
    // The worker outlives this connection (idle timeout); reap it whenever it exits.
    std::thread::Builder::new().name("vgi-launch-reaper".into()).spawn(move || {
        let _ = child.wait();
    })?;
    Ok(())
}

/// `$XDG_RUNTIME_DIR/vgi-rpc/`, else `$TMPDIR/vgi-rpc-$EUID/`, mode 0700, owned by us.
fn state_dir() -> Result<PathBuf> {
    // SAFETY: geteuid has no failure mode.
    let euid = unsafe { libc::geteuid() };
    let dir = match std::env::var_os("XDG_RUNTIME_DIR").filter(|v| !v.is_empty()) {
        Some(xdg) => PathBuf::from(xdg).join("vgi-rpc"),
        None => std::env::temp_dir().join(format!("vgi-rpc-{euid}")),
    };
    std::fs::DirBuilder::new().recursive(true).mode(0o700).create(&dir)?;
    let meta = std::fs::metadata(&dir)?;
    if meta.uid() != euid {
        return Err(Error::Connect(format!("launcher state directory {} is not ours", dir.display())));
    }
    let _ = std::fs::set_permissions(&dir, std::fs::Permissions::from_mode(0o700));
    Ok(dir)
}

/// The launcher's identity of a worker: sha256 of canonical JSON of argv, cwd and the
/// `VGI_RPC_*` environment, first 16 hex digits (shared with other vgi_rpc clients).
pub fn launcher_hash(argv: &[String], cwd: &str, env: impl Iterator<Item = (String, String)>) -> String {
    let mut vars: Vec<(String, String)> = env.filter(|(k, _)| k.starts_with("VGI_RPC_")).collect();
    vars.sort();
    let cmd = argv.iter().map(|a| crate::json::quote(a)).collect::<Vec<_>>().join(",");
    let env = vars.iter().map(|(k, v)| format!("{}:{}", crate::json::quote(k), crate::json::quote(v))).collect::<Vec<_>>().join(",");
    let canonical = format!("{{\"cmd\":[{cmd}],\"cwd\":{},\"env\":{{{env}}}}}", crate::json::quote(cwd));
    let digest = Sha256::digest(canonical.as_bytes());
    digest.iter().take(8).map(|b| format!("{b:02x}")).collect()
}

fn write_meta(path: &Path, argv: &[String], cwd: &str, socket: &Path) {
    let cmd = argv.iter().map(|a| crate::json::quote(a)).collect::<Vec<_>>().join(", ");
    let text = format!(
        "{{\"cmd\": [{cmd}], \"cwd\": {}, \"socket\": {}, \"launcher_pid\": {}}}",
        crate::json::quote(cwd),
        crate::json::quote(&socket.to_string_lossy()),
        std::process::id()
    );
    let _ = std::fs::write(path, text);
}

/// Splits a command line like a POSIX shell does for words (quotes and backslashes; no
/// expansion).
pub fn split_command(command: &str) -> Result<Vec<String>> {
    let mut words = Vec::new();
    let mut word = String::new();
    let mut in_word = false;
    let mut chars = command.chars();
    while let Some(c) = chars.next() {
        match c {
            '\'' => {
                in_word = true;
                loop {
                    match chars.next() {
                        Some('\'') => break,
                        Some(c) => word.push(c),
                        None => return Err(Error::InvalidArgument(format!("unterminated quote in `{command}`"))),
                    }
                }
            }
            '"' => {
                in_word = true;
                loop {
                    match chars.next() {
                        Some('"') => break,
                        Some('\\') => match chars.next() {
                            Some(c @ ('"' | '\\' | '$' | '`')) => word.push(c),
                            Some(c) => {
                                word.push('\\');
                                word.push(c);
                            }
                            None => return Err(Error::InvalidArgument(format!("unterminated quote in `{command}`"))),
                        },
                        Some(c) => word.push(c),
                        None => return Err(Error::InvalidArgument(format!("unterminated quote in `{command}`"))),
                    }
                }
            }
            '\\' => {
                in_word = true;
                if let Some(c) = chars.next() {
                    word.push(c);
                }
            }
            c if c.is_whitespace() => {
                if in_word {
                    words.push(std::mem::take(&mut word));
                    in_word = false;
                }
            }
            c => {
                in_word = true;
                word.push(c);
            }
        }
    }
    if in_word {
        words.push(word);
    }
    if words.is_empty() {
        return Err(Error::InvalidArgument("launch: needs a command".into()));
    }
    Ok(words)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn split_command_handles_quotes() {
        assert_eq!(split_command(r#"a 'b c' "d \"e\"" f\ g"#).unwrap(), vec!["a", "b c", "d \"e\"", "f g"]);
        assert!(split_command("a 'b").is_err());
    }

    #[test]
    fn launcher_hash_is_canonical_json() {
        // sha256 of {"cmd":["w","--x"],"cwd":"/d","env":{"VGI_RPC_A":"1"}}
        let h = launcher_hash(
            &["w".into(), "--x".into()],
            "/d",
            vec![("VGI_RPC_A".to_string(), "1".to_string()), ("HOME".into(), "/h".into())].into_iter(),
        );
        assert_eq!(h.len(), 16);
        let expected = Sha256::digest(br#"{"cmd":["w","--x"],"cwd":"/d","env":{"VGI_RPC_A":"1"}}"#);
        assert_eq!(h, expected.iter().take(8).map(|b| format!("{b:02x}")).collect::<String>());
    }
}
