//! A connection to one worker and the unary call machinery shared by all methods.
use std::sync::Arc;
use std::time::Duration;

use arrow_array::{Array, RecordBatch};

use crate::call::{CancelHandle, LogSink};
use crate::error::{Error, Result};
use crate::framing::{self, classify, encode_stream, keys, Frame, MessageReader};
use crate::transport::{ConnectOptions, Location, Route, Transport, Watch};
use crate::wire::{Blob, Record};

/// The application protocol this client speaks.
pub const PROTOCOL: &str = "vgi.v2";
/// Its version; the worker accepts any 2.2.x.
pub const PROTOCOL_VERSION: &str = "2.2.0";
/// The reflection protocol every `vgi-serve` worker hosts.
pub const REFLECTION_PROTOCOL: &str = "vgi_rpc.Reflection.v1";

/// How long a just-started worker may take to read its first request (see
/// `transport::pipe::Startup`) before that call times out anyway.
const START_LIMIT: Duration = Duration::from_secs(60);

/// One sequential call channel to a worker.
pub struct Client {
    pub(crate) transport: Transport,
    location: Location,
    options: ConnectOptions,
    timeout: Duration,
    logs: LogSink,
    /// The worker process was started for this connection and has not answered a call yet.
    starting: bool,
}

impl Client {
    /// Opens a connection (starting the worker for command locations).
    pub fn connect(location: &str, options: &ConnectOptions) -> Result<Client> {
        let location = Location::parse(location)?;
        let transport = location.connect(options)?;
        Ok(Client {
            transport,
            starting: matches!(location, Location::Command(_)),
            location,
            options: options.clone(),
            timeout: crate::call::call_timeout(),
            logs: crate::call::discard_logs(),
        })
    }

    /// The deadline and cancel flag of the next call (on a just-started worker, the first
    /// call's timeout counts from when the worker read the request).
    pub(crate) fn call_watch(&mut self, cancel: Option<CancelHandle>) -> Watch {
        match (&self.transport, std::mem::take(&mut self.starting)) {
            (Transport::Pipe(pipe), true) => {
                use std::os::fd::AsRawFd;
                Watch::first_call(self.timeout, cancel, pipe.writer.inner.as_raw_fd(), START_LIMIT)
            }
            _ => Watch::new(self.timeout, cancel),
        }
    }

    pub fn location(&self) -> &Location {
        &self.location
    }

    pub fn options(&self) -> &ConnectOptions {
        &self.options
    }

    pub fn timeout(&self) -> std::time::Duration {
        self.timeout
    }

    pub(crate) fn logs(&self) -> &LogSink {
        &self.logs
    }

    /// Sets the deadline applied to each call.
    pub fn set_timeout(&mut self, timeout: Duration) {
        self.timeout = timeout;
    }

    /// Routes the worker's in-band log records.
    pub fn set_log_sink(&mut self, sink: LogSink) {
        self.logs = sink;
    }

    /// Whether this connection can serve another call (pool check).
    pub fn is_healthy(&mut self) -> bool {
        self.transport.is_healthy()
    }

    /// Calls a `vgi.v2` method with a one-row request batch; returns the `result` column's
    /// value batch (`None` for void methods).
    pub fn call(&mut self, method: &str, request: &RecordBatch, cancel: Option<&CancelHandle>) -> Result<Option<RecordBatch>> {
        self.call_protocol(PROTOCOL, Some(PROTOCOL_VERSION), method, request, cancel)
    }

    /// Calls a void method: an answer that carries a result is not this call's answer.
    pub fn call_void(&mut self, method: &str, request: &RecordBatch, cancel: Option<&CancelHandle>) -> Result<()> {
        match self.call(method, request, cancel)? {
            None => Ok(()),
            Some(batch) => {
                self.transport.mark_broken();
                Err(Error::protocol(format!("{method} is void but the worker answered {} result rows", batch.num_rows())))
            }
        }
    }

    /// Calls a method of any hosted protocol.
    pub fn call_protocol(
        &mut self,
        protocol: &str,
        version: Option<&str>,
        method: &str,
        request: &RecordBatch,
        cancel: Option<&CancelHandle>,
    ) -> Result<Option<RecordBatch>> {
        let bytes = encode_stream(request, &routing_metadata(protocol, version, method))?;
        let watch = self.call_watch(cancel.cloned());
        let result = self.unary_exchange(Route { protocol, method }, &bytes, &watch);
        if let Err(e) = &result {
            if !matches!(e, Error::Worker(_)) {
                // Anything but an in-band error leaves the byte stream in an unknown state.
                self.transport.mark_broken();
            }
        }
        result.map_err(|e| self.transport.explain(e))
    }

    fn unary_exchange(&mut self, route: Route<'_>, request: &[u8], watch: &Watch) -> Result<Option<RecordBatch>> {
        let logs = self.logs.clone();
        let reader = self.transport.unary(route, request, watch)?;
        let mut reader = MessageReader::new(reader);
        let schema = reader.read_schema()?;
        // Every unary answer is `result: <type>` or, for void methods, the empty schema. Any
        // other stream is not this call's answer (a worker that wrote something else on its
        // stdout): accepting it would leave the real answer in the channel for the next call.
        if !(schema.fields().is_empty() || (schema.fields().len() == 1 && schema.field(0).name() == "result")) {
            return Err(Error::protocol(format!(
                "{} answered with a stream of schema ({}) instead of its `result`",
                route.method,
                schema.fields().iter().map(|f| format!("{}: {}", f.name(), f.data_type())).collect::<Vec<_>>().join(", ")
            )));
        }
        let mut result = None;
        let mut error = None;
        // Read to EOS even after an error batch so the channel stays in sync.
        while let Some((batch, md)) = reader.read_batch()? {
            match classify(batch, md)? {
                Frame::Log(log) => logs(&log),
                Frame::Error(e) => error = Some(e),
                Frame::Data(batch, _) => result = Some(batch),
                Frame::Sentinel(..) => return Err(Error::protocol("stream sentinel in a unary response")),
            }
        }
        match (error, result) {
            (Some(e), _) => Err(Error::Worker(e)),
            (None, Some(batch)) if batch.num_columns() > 0 => Ok(Some(batch)),
            _ => Ok(None),
        }
    }

    /// Calls a method whose result is a record blob in `result: binary`.
    pub fn call_record<R: Record>(&mut self, method: &str, request: &RecordBatch, cancel: Option<&CancelHandle>) -> Result<R> {
        let batch = self.call(method, request, cancel)?;
        let decoded = batch
            .ok_or_else(|| Error::protocol(format!("{method} returned no result")))
            .and_then(|batch| result_blob(&batch, method))
            .and_then(|blob| blob.ok_or_else(|| Error::protocol(format!("{method} returned a null result"))))
            .and_then(|blob| R::from_blob(&blob.0));
        if decoded.is_err() {
            // An answer that is not this method's record may not be this call's answer at all
            // (bytes a worker wrote ahead of it): the channel cannot be trusted any more.
            self.transport.mark_broken();
        }
        decoded
    }
}

/// The routing keys every request carries.
pub(crate) fn routing_metadata<'a>(protocol: &'a str, version: Option<&'a str>, method: &'a str) -> Vec<(&'a str, &'a str)> {
    let mut md = vec![
        (keys::METHOD, method),
        (keys::REQUEST_VERSION, framing::REQUEST_VERSION),
        (keys::PROTOCOL, protocol),
    ];
    if let Some(v) = version {
        md.push((keys::PROTOCOL_VERSION, v));
    }
    md
}

/// Reads the single `result: binary` cell of a unary response.
pub fn result_blob(batch: &RecordBatch, method: &str) -> Result<Option<Blob>> {
    if batch.num_rows() != 1 {
        return Err(Error::protocol(format!("{method} returned {} result rows instead of 1", batch.num_rows())));
    }
    let column = batch
        .column_by_name("result")
        .ok_or_else(|| Error::protocol(format!("{method} response has no `result` column")))?;
    Ok(crate::wire::bytes_at(column.as_ref(), 0)?.map(Blob))
}

/// A request batch from one record (the common `request: binary` single-column shape).
pub fn request_batch<R: Record>(record: &R) -> RecordBatch {
    let blob = record.to_blob();
    let schema = Arc::new(arrow_schema::Schema::new(vec![arrow_schema::Field::new(
        "request",
        arrow_schema::DataType::Binary,
        false,
    )]));
    let column: Arc<dyn Array> = Arc::new(arrow_array::BinaryArray::from(vec![blob.0.as_slice()]));
    RecordBatch::try_new(schema, vec![column]).expect("request batch matches its schema")
}
