//! Real fixture workers for the integration tests (provisioned by scripts/setup-workers.sh;
//! `make test` exports their locations). Missing variables fail loudly: a skipped test would
//! hide a broken setup.
#![allow(dead_code)]

/// The stdio fixture worker command line.
pub fn stdio_worker() -> String {
    std::env::var("VGI_FIXTURE_WORKER")
        .expect("VGI_FIXTURE_WORKER is not set: run the tests through `make test` (scripts/setup-workers.sh)")
}

/// The base URL of the HTTP fixture worker.
pub fn http_worker() -> String {
    std::env::var("VGI_FIXTURE_HTTP_URL")
        .expect("VGI_FIXTURE_HTTP_URL is not set: run the tests through `make test` (scripts/with-http-worker.sh)")
}

/// Both transports, for tests that must pass on each.
pub fn all_workers() -> Vec<(&'static str, String)> {
    vec![("stdio", stdio_worker()), ("http", http_worker())]
}
