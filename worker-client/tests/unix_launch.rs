//! The AF_UNIX transports: `launch:` (shared worker started on demand through the launcher
//! protocol) and `unix://` (a worker already listening).
mod common;

use std::time::{Duration, Instant};

use common::*;
use worker_client::arguments::Arguments;
use worker_client::records::FunctionType;
use worker_client::{Client, ConnectOptions};

#[test]
fn launch_starts_one_shared_worker_and_scans_through_it() {
    let location = format!("launch:{} -m vgi._test_fixtures.worker", worker_python());
    let mut first = Client::connect(&location, &ConnectOptions::default()).unwrap();
    assert!(first.catalogs().unwrap().iter().any(|c| c.name == "example"));
    // A second connection finds the running worker instead of starting another.
    let started = Instant::now();
    let mut second = Client::connect(&location, &ConnectOptions::default()).unwrap();
    assert!(second.catalogs().unwrap().iter().any(|c| c.name == "example"));
    assert!(started.elapsed() < Duration::from_secs(2), "reconnect took {:?}", started.elapsed());

    let mut session = attach(&location);
    let (req, resp) = session.bind("sequence", FunctionType::Table, &Arguments::positional(vec![int64(5000)]), None);
    let batches = session.scan(req, resp, |_| {});
    assert_eq!(total_rows(&batches), 5000);
}

#[test]
fn unix_socket_connects_to_a_listening_worker() {
    let dir = std::env::temp_dir().join(format!("vgi-unix-test-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let socket = dir.join("w.sock");
    let mut worker = std::process::Command::new(worker_python())
        .args(["-m", "vgi._test_fixtures.worker", "--unix"])
        .arg(&socket)
        .args(["--idle-timeout", "30"])
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::null())
        .spawn()
        .unwrap();
    let deadline = Instant::now() + Duration::from_secs(60);
    while !socket.exists() && Instant::now() < deadline {
        std::thread::sleep(Duration::from_millis(50));
    }
    let location = format!("unix://{}", socket.display());
    let result = std::panic::catch_unwind(|| {
        let mut client = Client::connect(&location, &ConnectOptions::default()).unwrap();
        assert!(client.catalogs().unwrap().iter().any(|c| c.name == "example"));
    });
    let _ = worker.kill();
    let _ = worker.wait();
    let _ = std::fs::remove_dir_all(&dir);
    result.unwrap();
}

#[test]
fn unix_socket_that_nobody_listens_on_is_a_connect_error() {
    let err = Client::connect("unix:///nonexistent/vgi.sock", &ConnectOptions::default()).err().expect("must fail");
    assert!(err.to_string().contains("could not connect"), "{err}");
}
