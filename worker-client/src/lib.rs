//! Client for VGI workers: the `vgi.v2` application protocol over vgi_rpc framing (Arrow IPC
//! streams with per-batch metadata), on stdio subprocess and HTTP transports.
//!
//! Layers, bottom up: [`transport`] moves bytes, [`framing`] turns them into Arrow batches and
//! classifies them (data / log / error), [`wire`] maps records to one-row batches,
//! [`records`] declares the protocol's records, [`client`] runs calls and [`methods`] gives
//! each protocol method a typed function. [`filters`] encodes pushed-down predicates and
//! [`statistics`] decodes column statistics.
//!
//! ```no_run
//! let mut client = worker_client::Client::connect("vgi-serve my_pkg:Worker", &Default::default())?;
//! for catalog in client.catalogs()? {
//!     println!("{}", catalog.name);
//! }
//! # Ok::<(), worker_client::Error>(())
//! ```
pub mod arguments;
pub mod call;
pub mod client;
#[cfg(any(test, feature = "consumer-check"))]
pub mod consumer_check;
pub mod error;
pub mod filters;
pub mod framing;
pub mod json;
pub mod methods;
pub mod pool;
pub mod records;
pub mod statistics;
pub mod stream;
pub mod transport;
pub mod wire;

pub use call::CancelHandle;
pub use client::Client;
pub use error::{Error, Result, WorkerError};
pub use pool::Pool;
pub use stream::{Stream, StreamKind};
pub use transport::ConnectOptions;
