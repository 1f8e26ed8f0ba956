//! Stream calls (`init`, VGI's only stream method): a header, then either a **producer**
//! (the client ticks, the worker answers each tick with one batch until it finishes) or an
//! **exchange** (each input batch is answered with exactly one output batch).
//!
//! On byte-stream transports the request, the header, the long-lived input stream and the
//! long-lived output stream are separate IPC streams on one channel, in lockstep. On HTTP each
//! turn is a request and the worker's state travels in two tokens the client echoes.
use std::io::Read;
use std::sync::Arc;

use arrow_array::RecordBatch;
use arrow_schema::{Schema, SchemaRef};

use crate::call::{CancelHandle, LogSink};
use crate::client::{routing_metadata, Client, PROTOCOL, PROTOCOL_VERSION};
use crate::error::{Error, Result};
use crate::framing::{classify, empty_batch, encode_stream, keys, meta_get, Frame, IpcStreamWriter, Metadata, StreamDecoder};
use crate::records::GlobalInitResponse;
use crate::transport::http::PendingPost;
use crate::transport::{PipeConnection, Transport, Watch};
use crate::wire::Record;

/// How many batches an early close may drain before giving up on the connection.
const MAX_DRAIN_BATCHES: usize = 10_000;

/// What kind of stream an `init` opens.
#[derive(Clone, Debug)]
pub enum StreamKind {
    /// The client ticks; the worker produces.
    Producer,
    /// The client sends batches of this schema; the worker answers each.
    Exchange(SchemaRef),
}

/// One data batch of a stream with its metadata (framework token keys removed).
pub type StreamBatch = (RecordBatch, Metadata);

/// An open stream. It owns the connection: [`Stream::finish`] and [`Stream::cancel`] hand it
/// back for reuse; dropping a stream mid-way discards the connection.
pub struct Stream {
    client: Option<Client>,
    header: GlobalInitResponse,
    input_schema: SchemaRef,
    /// An exchange (answers per input) rather than a producer.
    exchange: bool,
    io: StreamIo,
    finished: bool,
    cancel: Option<CancelHandle>,
}

enum StreamIo {
    Pipe { input: Option<IpcStreamWriter>, output: StreamDecoder, output_open: bool },
    Http {
        call_token: String,
        stream_token: Option<String>,
        pending: Option<StreamBatch>,
        /// A producer's next tick, sent as soon as the previous answer arrived: the worker
        /// works on turn k+1 while DuckDB consumes batch k (the turns of one stream are
        /// sequential, each needs the cursor the previous answer carried).
        ahead: Option<PendingPost>,
        /// Tick metadata given while a tick was already in flight: it rides the next one.
        carry: Vec<(String, String)>,
        /// Whether producer ticks go out ahead of the ask ([`Stream::set_read_ahead`]).
        read_ahead: bool,
    },
}

/// A failed `init`: the error, and the connection when the worker reported the error in-band
/// (the connection is then still in sync and reusable).
pub struct OpenError {
    pub error: Error,
    pub client: Option<Client>,
}

impl Client {
    /// Calls `init` and opens the stream it starts.
    pub fn open_stream(
        mut self,
        request: &RecordBatch,
        kind: StreamKind,
        cancel: Option<CancelHandle>,
    ) -> std::result::Result<Stream, OpenError> {
        let watch = self.call_watch(cancel.clone());
        let exchange = matches!(kind, StreamKind::Exchange(_));
        let input_schema = match &kind {
            StreamKind::Producer => Arc::new(Schema::empty()),
            StreamKind::Exchange(schema) => schema.clone(),
        };
        let logs = self.logs().clone();
        let opened = match &mut self.transport {
            Transport::Pipe(pipe) => open_pipe(pipe, &logs, request, &input_schema, &watch),
            Transport::Http(http) => open_http(http, &logs, request, &watch),
        };
        match opened {
            Ok((header, io)) => Ok(Stream { client: Some(self), header, input_schema, exchange, io, finished: false, cancel }),
            Err(e) => {
                let in_band = matches!(e, Error::Worker(_));
                let error = self.transport.explain(e);
                let client = (in_band && self.transport.is_healthy()).then_some(self);
                Err(OpenError { error, client })
            }
        }
    }
}

/// Reads one response stream: logs go to the sink, an error batch becomes the error (after
/// reading to EOS so the channel stays in sync), data batches are returned.
fn read_frames<R: Read + ?Sized>(decoder: &mut StreamDecoder, input: &mut R, logs: &LogSink, limit: Option<usize>) -> Result<(Vec<StreamBatch>, Vec<StreamBatch>, bool)> {
    let mut data = Vec::new();
    let mut sentinels = Vec::new();
    let mut error = None;
    let mut ended = false;
    loop {
        if limit.is_some_and(|l| data.len() >= l) && error.is_none() {
            break;
        }
        match decoder.read_batch(input)? {
            None => {
                ended = true;
                break;
            }
            Some((batch, md)) => match classify(batch, md)? {
                Frame::Log(log) => logs(&log),
                Frame::Error(e) => error = Some(e),
                Frame::Data(batch, md) => data.push((batch, md)),
                Frame::Sentinel(batch, md) => sentinels.push((batch, md)),
            },
        }
    }
    if let Some(e) = error {
        return Err(Error::Worker(e));
    }
    Ok((data, sentinels, ended))
}

/// The header stream is a `GlobalInitResponse` (or, when init failed, an error on the empty
/// schema); any other stream is not an answer to `init`, and its fields would only be
/// reported as missing ones.
fn check_header_schema(schema: &SchemaRef) -> Result<()> {
    if schema.fields().is_empty() || schema.field_with_name("execution_id").is_ok() {
        return Ok(());
    }
    let fields: Vec<String> = schema.fields().iter().map(|f| format!("{}: {}", f.name(), f.data_type())).collect();
    Err(Error::protocol(format!("init answered with a header of schema ({}) instead of GlobalInitResponse", fields.join(", "))))
}

fn header_from(data: Vec<StreamBatch>) -> Result<GlobalInitResponse> {
    match data.as_slice() {
        [(batch, _)] if batch.num_rows() == 1 => GlobalInitResponse::from_batch(batch, 0),
        _ => Err(Error::protocol("init answered without exactly one header row")),
    }
}

// ---- byte-stream transports ---------------------------------------------------------------

fn open_pipe(
    pipe: &mut PipeConnection,
    logs: &LogSink,
    request: &RecordBatch,
    input_schema: &SchemaRef,
    watch: &Watch,
) -> Result<(GlobalInitResponse, StreamIo)> {
    pipe.arm(watch);
    pipe.send(&encode_stream(request, &routing_metadata(PROTOCOL, Some(PROTOCOL_VERSION), "init"))?)?;
    let mut header_decoder = StreamDecoder::default();
    check_header_schema(&header_decoder.read_schema(&mut pipe.reader)?)?;
    let header = read_frames(&mut header_decoder, &mut pipe.reader, logs, None);
    let header = match header {
        Ok((data, _, _)) => header_from(data)?,
        Err(e) => {
            // The worker drains one input stream before its next request: send an empty one.
            let mut bytes = Vec::new();
            IpcStreamWriter::begin(&mut bytes, &Schema::empty())?.finish(&mut bytes)?;
            pipe.send(&bytes)?;
            return Err(e);
        }
    };
    // Open the input stream now: the worker reads its schema before writing the output's.
    let mut bytes = Vec::new();
    let input = IpcStreamWriter::begin(&mut bytes, input_schema)?;
    pipe.send(&bytes)?;
    Ok((header, StreamIo::Pipe { input: Some(input), output: StreamDecoder::default(), output_open: false }))
}

/// Writes one input batch and reads the worker's answer (logs, then one data batch or EOS).
fn pipe_turn(
    pipe: &mut PipeConnection,
    input: &mut Option<IpcStreamWriter>,
    output: &mut StreamDecoder,
    output_open: &mut bool,
    logs: &LogSink,
    batch: &RecordBatch,
    metadata: &[(&str, &str)],
) -> Result<Option<StreamBatch>> {
    let writer = input.as_mut().ok_or_else(|| Error::protocol("stream input already closed"))?;
    let mut bytes = Vec::with_capacity(batch.get_array_memory_size() + 512);
    writer.write(&mut bytes, batch, metadata)?;
    pipe.send(&bytes)?;
    if !*output_open {
        output.read_schema(&mut pipe.reader)?;
        *output_open = true;
    }
    let (mut data, _, ended) = match read_frames(output, &mut pipe.reader, logs, Some(1)) {
        Ok(frames) => frames,
        Err(e) => {
            // After an error batch the worker ended its output; end our input too.
            if let Some(w) = input.take() {
                let mut bytes = Vec::new();
                w.finish(&mut bytes)?;
                let _ = pipe.send(&bytes);
            }
            return Err(e);
        }
    };
    if ended {
        close_input(pipe, input)?;
    }
    Ok(data.pop())
}

fn close_input(pipe: &mut PipeConnection, input: &mut Option<IpcStreamWriter>) -> Result<()> {
    if let Some(writer) = input.take() {
        let mut bytes = Vec::new();
        writer.finish(&mut bytes)?;
        pipe.send(&bytes)?;
    }
    Ok(())
}

/// Reads and discards output up to its EOS (early close, cancel).
fn drain_output(pipe: &mut PipeConnection, output: &mut StreamDecoder, output_open: &mut bool, logs: &LogSink) -> Result<()> {
    if !*output_open {
        output.read_schema(&mut pipe.reader)?;
        *output_open = true;
    }
    for _ in 0..MAX_DRAIN_BATCHES {
        match output.read_batch(&mut pipe.reader)? {
            None => return Ok(()),
            Some((batch, md)) => {
                if let Frame::Log(log) = classify(batch, md)? {
                    logs(&log);
                }
            }
        }
    }
    Err(Error::protocol("the worker kept producing after the stream was closed"))
}

// ---- HTTP ------------------------------------------------------------------------------------

fn open_http(
    http: &mut crate::transport::http::HttpTransport,
    logs: &LogSink,
    request: &RecordBatch,
    watch: &Watch,
) -> Result<(GlobalInitResponse, StreamIo)> {
    let body = encode_stream(request, &routing_metadata(PROTOCOL, Some(PROTOCOL_VERSION), "init"))?;
    let mut response = http.post(&format!("/{PROTOCOL}/init/init"), &body, watch)?;
    let mut decoder = StreamDecoder::default();
    check_header_schema(&decoder.read_schema(&mut response)?)?;
    let (data, _, _) = read_frames(&mut decoder, &mut response, logs, None)?;
    let header = header_from(data)?;
    // The output stream follows: the first producer turn ran inside /init.
    decoder.read_schema(&mut response)?;
    let (mut data, sentinels, _) = read_frames(&mut decoder, &mut response, logs, None)?;
    let stream_token = next_stream_token(&data, &sentinels);
    // A producer that finished within /init sends no sentinel, hence no call token: the
    // stream is complete and there is no continuation to authorize.
    let call_token = match sentinels.iter().find_map(|(_, md)| meta_get(md, keys::CALL_STATE)) {
        Some(token) => token.to_string(),
        None if stream_token.is_none() => String::new(),
        None => return Err(Error::protocol("init response carries no call token")),
    };
    let pending = data.pop().map(strip_tokens);
    Ok((header, StreamIo::Http { call_token, stream_token, pending, ahead: None, carry: Vec::new(), read_ahead: true }))
}

/// The cursor for the next turn: on the sentinel, or (exchange) on the data batch itself.
/// `None` means the worker finished.
fn next_stream_token(data: &[StreamBatch], sentinels: &[StreamBatch]) -> Option<String> {
    sentinels
        .iter()
        .chain(data.iter())
        .find_map(|(_, md)| meta_get(md, keys::STREAM_STATE))
        .map(str::to_string)
}

fn strip_tokens((batch, mut md): StreamBatch) -> StreamBatch {
    md.retain(|(k, _)| k != keys::STREAM_STATE && k != keys::CALL_STATE);
    (batch, md)
}

/// Sends one `/init/exchange` turn: `batch` with the tokens.
fn http_turn_start(
    http: &crate::transport::http::HttpTransport,
    watch: &Watch,
    call_token: &str,
    stream_token: &str,
    batch: &RecordBatch,
    metadata: &[(&str, &str)],
) -> Result<PendingPost> {
    let mut md: Vec<(&str, &str)> = metadata.to_vec();
    md.push((keys::STREAM_STATE, stream_token));
    md.push((keys::CALL_STATE, call_token));
    let body = encode_stream(batch, &md)?;
    http.start(&format!("/{PROTOCOL}/init/exchange"), &body, watch)
}

/// Reads a turn's answer: its data and the next cursor.
fn http_turn_read(
    pending: PendingPost,
    logs: &LogSink,
    watch: &Watch,
    exchange: bool,
) -> Result<(Option<StreamBatch>, Option<String>)> {
    let mut response = pending.wait(watch)?;
    let mut decoder = StreamDecoder::default();
    decoder.read_schema(&mut response)?;
    let (mut data, mut sentinels, _) = read_frames(&mut decoder, &mut response, logs, None)?;
    let next = next_stream_token(&data, &sentinels);
    // In an exchange a zero-row answer carries the next cursor, so it looks like a sentinel.
    if data.is_empty() && exchange {
        data = sentinels.pop().into_iter().collect();
    }
    Ok((data.pop().map(strip_tokens), next))
}

/// Sends a producer's next tick (with any carried metadata) before it is asked for; `None`
/// when the stream finished or the tick could not be sent (the next turn then sends it
/// itself and reports why).
fn tick_ahead(
    http: &crate::transport::http::HttpTransport,
    watch: &Watch,
    call_token: &str,
    stream_token: Option<&str>,
    carry: &mut Vec<(String, String)>,
) -> Option<PendingPost> {
    let token = stream_token?;
    let md: Vec<(&str, &str)> = carry.iter().map(|(k, v)| (k.as_str(), v.as_str())).collect();
    let sent = http_turn_start(http, watch, call_token, token, &empty_batch(0), &md).ok()?;
    carry.clear();
    Some(sent)
}

// ---- the stream API --------------------------------------------------------------------------

impl Stream {
    /// The `init` header: execution id, opaque state, worker fan-out.
    pub fn header(&self) -> &GlobalInitResponse {
        &self.header
    }

    /// Over HTTP a producer normally sends its next tick as soon as an answer arrives, so the
    /// worker works while the caller consumes. Off, each tick waits for the ask: a scan that
    /// feeds a write to the same worker then never has a read turn running beside a write
    /// turn of that statement (a worker may not cope, and need not). No effect on pipes.
    pub fn set_read_ahead(&mut self, on: bool) {
        if let StreamIo::Http { read_ahead, .. } = &mut self.io {
            *read_ahead = on;
        }
    }

    /// Whether the worker finished the stream.
    pub fn is_finished(&self) -> bool {
        self.finished
    }

    fn client(&mut self) -> &mut Client {
        self.client.as_mut().expect("stream still owns its connection")
    }

    fn watch(&mut self) -> Watch {
        let timeout = self.client().timeout();
        Watch::new(timeout, self.cancel.clone())
    }

    /// Runs one turn, discarding the connection if the turn failed out of band.
    fn turn(&mut self, batch: &RecordBatch, metadata: &[(&str, &str)]) -> Result<Option<StreamBatch>> {
        let watch = self.watch();
        let client = self.client.as_mut().expect("stream still owns its connection");
        let logs = client.logs().clone();
        let result = match (&mut client.transport, &mut self.io) {
            (Transport::Pipe(pipe), StreamIo::Pipe { input, output, output_open }) => {
                pipe.arm(&watch);
                let r = pipe_turn(pipe, input, output, output_open, &logs, batch, metadata);
                if matches!(r, Ok(None)) || r.is_err() && input.is_none() {
                    self.finished = true;
                }
                r
            }
            (Transport::Http(http), StreamIo::Http { call_token, stream_token, ahead, carry, read_ahead, .. }) => {
                let Some(token) = stream_token.clone() else {
                    self.finished = true;
                    return Ok(None);
                };
                let sent = match ahead.take() {
                    Some(in_flight) => {
                        carry.extend(metadata.iter().map(|(k, v)| (k.to_string(), v.to_string())));
                        Ok(in_flight)
                    }
                    None if carry.is_empty() => http_turn_start(http, &watch, call_token, &token, batch, metadata),
                    None => {
                        // Metadata given with a batch that needed no turn (the one /init carried).
                        carry.extend(metadata.iter().map(|(k, v)| (k.to_string(), v.to_string())));
                        let md: Vec<(&str, &str)> = carry.iter().map(|(k, v)| (k.as_str(), v.as_str())).collect();
                        let sent = http_turn_start(http, &watch, call_token, &token, batch, &md);
                        carry.clear();
                        sent
                    }
                };
                let r = sent.and_then(|in_flight| http_turn_read(in_flight, &logs, &watch, self.exchange));
                match r {
                    Ok((data, next)) => {
                        if next.is_none() {
                            self.finished = true;
                        }
                        *stream_token = next;
                        if !self.exchange && *read_ahead {
                            *ahead = tick_ahead(http, &watch, call_token, stream_token.as_deref(), carry);
                        }
                        Ok(data)
                    }
                    Err(e) => {
                        self.finished = true;
                        Err(e)
                    }
                }
            }
            _ => unreachable!("the stream state matches its transport"),
        };
        result.map_err(|e| {
            let client = self.client.as_mut().expect("stream still owns its connection");
            client.transport.explain(e)
        })
    }

    /// Producer: asks for the next batch; `None` once the worker finished. `metadata` rides on
    /// the tick (e.g. dynamic filters).
    pub fn next_batch(&mut self, metadata: &[(&str, &str)]) -> Result<Option<StreamBatch>> {
        let watch = self.watch();
        if let (Some(client), StreamIo::Http { call_token, stream_token, pending, ahead, carry, read_ahead }) =
            (self.client.as_mut(), &mut self.io)
        {
            if let Some(first) = pending.take() {
                carry.extend(metadata.iter().map(|(k, v)| (k.to_string(), v.to_string())));
                if let (Transport::Http(http), true) = (&client.transport, *read_ahead) {
                    *ahead = tick_ahead(http, &watch, call_token, stream_token.as_deref(), carry);
                }
                return Ok(Some(first));
            }
        }
        loop {
            if self.finished {
                return Ok(None);
            }
            let tick = empty_batch(0);
            match self.turn(&tick, metadata)? {
                Some(batch) => return Ok(Some(batch)),
                // An HTTP turn may carry no data yet the stream goes on: tick again.
                None if !self.finished => continue,
                None => return Ok(None),
            }
        }
    }

    /// Exchange: sends one input batch and returns the worker's answer.
    pub fn exchange(&mut self, input: &RecordBatch, metadata: &[(&str, &str)]) -> Result<StreamBatch> {
        if self.finished {
            return Err(Error::protocol("the worker already ended this exchange stream"));
        }
        if input.schema().fields() != self.input_schema.fields() {
            return Err(Error::InvalidArgument("exchange input does not match the stream's input schema".into()));
        }
        self.turn(input, metadata)?
            .ok_or_else(|| Error::protocol("the worker ended an exchange stream instead of answering"))
    }

    /// Ends the stream normally and returns the connection for reuse.
    pub fn finish(mut self) -> Result<Client> {
        let logs = self.client().logs().clone();
        let watch = self.watch();
        let mut client = self.client.take().expect("stream still owns its connection");
        let result = match (&mut client.transport, &mut self.io) {
            (Transport::Pipe(pipe), StreamIo::Pipe { input, output, output_open }) => {
                pipe.arm(&watch);
                if input.is_some() {
                    close_input(pipe, input).and_then(|_| drain_output(pipe, output, output_open, &logs))
                } else {
                    Ok(())
                }
            }
            // The worker's state lives in the tokens; an unfinished HTTP stream just expires.
            (Transport::Http(_), StreamIo::Http { .. }) => Ok(()),
            _ => unreachable!("the stream state matches its transport"),
        };
        match result {
            Ok(()) => Ok(client),
            Err(e) => Err(client.transport.explain(e)),
        }
    }

    /// The caller found the worker's answer unusable (a batch of another schema, bad batch
    /// metadata). More of that answer may still be in the channel (a worker that wrote a
    /// stream of its own ahead of the real one), so the connection is never reused: a cancel
    /// and drain would stop at the wrong end of stream and hand the rest to the next call.
    pub fn poison(&mut self) {
        if let Some(client) = self.client.as_mut() {
            client.transport.mark_broken();
        }
    }

    /// Where this stream's connection would be pooled, if it is still reusable (a turn cut
    /// off mid-message, by an interrupt or a timeout, leaves it broken).
    pub fn reusable_key(&mut self) -> Option<crate::pool::PoolKey> {
        let client = self.client.as_mut()?;
        client.is_healthy().then(|| crate::pool::PoolKey { location: client.location().clone(), options: client.options().clone() })
    }

    /// Cancels the stream (the worker runs its cancel hook) and returns the connection.
    pub fn cancel(mut self) -> Result<Client> {
        let timeout = self.client().timeout();
        self.cancel_within(timeout)
    }

    /// [`Stream::cancel`] with its own deadline (background cancels give up sooner than calls).
    pub fn cancel_within(mut self, timeout: std::time::Duration) -> Result<Client> {
        if self.finished {
            return self.finish();
        }
        if self.reusable_key().is_none() {
            // Nothing to drain on a broken channel: dropping the stream stops the worker.
            return Err(Error::protocol("the stream's connection is broken"));
        }
        let logs = self.client().logs().clone();
        // Cancelling must work even when the caller's cancel flag is what got us here.
        let watch = Watch::new(timeout, None);
        let mut client = self.client.take().expect("stream still owns its connection");
        let cancel_batch = RecordBatch::new_empty(self.input_schema.clone());
        let result = match (&mut client.transport, &mut self.io) {
            (Transport::Pipe(pipe), StreamIo::Pipe { input, output, output_open }) => {
                pipe.arm(&watch);
                (|| {
                    let writer = input.as_mut().ok_or_else(|| Error::protocol("stream input already closed"))?;
                    let mut bytes = Vec::new();
                    writer.write(&mut bytes, &cancel_batch, &[(keys::CANCEL, "1")])?;
                    pipe.send(&bytes)?;
                    close_input(pipe, input)?;
                    drain_output(pipe, output, output_open, &logs)
                })()
            }
            (Transport::Http(http), StreamIo::Http { call_token, stream_token: Some(token), .. }) => {
                let md = [(keys::STREAM_STATE, token.as_str()), (keys::CALL_STATE, call_token.as_str()), (keys::CANCEL, "1")];
                encode_stream(&cancel_batch, &md)
                    .and_then(|body| http.post(&format!("/{PROTOCOL}/init/exchange"), &body, &watch))
                    .and_then(|mut response| {
                        let mut decoder = StreamDecoder::default();
                        decoder.read_schema(&mut response)?;
                        read_frames(&mut decoder, &mut response, &logs, None).map(|_| ())
                    })
            }
            (Transport::Http(_), StreamIo::Http { stream_token: None, .. }) => Ok(()),
            _ => unreachable!("the stream state matches its transport"),
        };
        match result {
            Ok(()) => Ok(client),
            Err(e) => Err(client.transport.explain(e)),
        }
    }
}

impl Drop for Stream {
    fn drop(&mut self) {
        // Abandoned mid-stream: the channel is in an unknown state; never reuse it.
        if let Some(client) = self.client.as_mut() {
            if !self.finished {
                client.transport.mark_broken();
            }
        }
    }
}
