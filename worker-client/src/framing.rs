//! vgi_rpc framing (wire version "1"): Arrow IPC streams whose record-batch messages carry
//! per-batch custom metadata.
//!
//! arrow-rs' `StreamWriter`/`StreamReader` only expose *file footer* metadata, so this module
//! writes and reads IPC messages itself, delegating the array encoding and decoding to
//! `arrow_ipc`'s generator and `RecordBatchDecoder`. Bodies are read straight into 64-byte
//! aligned buffers, so decoded arrays borrow them without a copy.
use std::collections::HashMap;
use std::io::{Read, Write};
use std::sync::Arc;

use arrow_array::{ArrayRef, RecordBatch, RecordBatchOptions};
use arrow_buffer::{Buffer, MutableBuffer};
use arrow_ipc::writer::{DictionaryTracker, IpcDataGenerator, IpcWriteContext, IpcWriteOptions};
use arrow_ipc::MessageHeader;
use arrow_schema::{Schema, SchemaRef};

use crate::error::{Error, Result};

/// Custom-metadata keys of the vgi_rpc framing.
pub mod keys {
    pub const METHOD: &str = "vgi_rpc.method";
    pub const REQUEST_VERSION: &str = "vgi_rpc.request_version";
    pub const PROTOCOL: &str = "vgi_rpc.protocol";
    pub const PROTOCOL_VERSION: &str = "vgi_rpc.protocol_version";
    pub const REQUEST_ID: &str = "vgi_rpc.request_id";
    pub const LOG_LEVEL: &str = "vgi_rpc.log_level";
    pub const LOG_MESSAGE: &str = "vgi_rpc.log_message";
    pub const LOG_EXTRA: &str = "vgi_rpc.log_extra";
    pub const ERROR_KIND: &str = "vgi_rpc.error_kind";
    pub const ERROR_CODE: &str = "vgi_rpc.error_code";
    pub const STREAM_STATE: &str = "vgi_rpc.stream_state#b64";
    pub const CALL_STATE: &str = "vgi_rpc.call_state#b64";
    pub const CANCEL: &str = "vgi_rpc.cancel";
    pub const LOCATION: &str = "vgi_rpc.location";
    pub const SHM_OFFSET: &str = "vgi_rpc.shm_offset";
}

/// The framing version this client speaks (`vgi_rpc.request_version`).
pub const REQUEST_VERSION: &str = "1";

/// Upper bounds that keep a corrupt or hostile peer from making us allocate unbounded memory.
const MAX_METADATA_BYTES: usize = 64 << 20;
const MAX_BODY_BYTES: usize = 4 << 30;
/// Declared lengths are not trusted for allocation: metadata and bodies are read in pieces
/// that grow with what actually arrives, so a corrupt length field costs at most this much
/// (or twice what was received) before the short read is noticed.
const FIRST_READ_BYTES: usize = 1 << 20;

/// Per-batch custom metadata, in wire order.
pub type Metadata = Vec<(String, String)>;

/// Looks a key up in batch metadata.
pub fn meta_get<'a>(md: &'a Metadata, key: &str) -> Option<&'a str> {
    md.iter().find(|(k, _)| k == key).map(|(_, v)| v.as_str())
}

/// The IPC end-of-stream marker.
pub const EOS: [u8; 8] = [0xFF, 0xFF, 0xFF, 0xFF, 0, 0, 0, 0];

/// Writes one IPC stream (schema, batches with custom metadata, EOS) into a sink.
pub struct IpcStreamWriter {
    generator: IpcDataGenerator,
    tracker: DictionaryTracker,
    context: IpcWriteContext,
    options: IpcWriteOptions,
}

impl IpcStreamWriter {
    /// Starts a stream by writing its schema message.
    pub fn begin<W: Write>(out: &mut W, schema: &Schema) -> Result<Self> {
        let mut writer = IpcStreamWriter {
            generator: IpcDataGenerator::default(),
            tracker: DictionaryTracker::new(false),
            context: IpcWriteContext::default(),
            options: IpcWriteOptions::default(),
        };
        let encoded = writer
            .generator
            .schema_to_bytes_with_dictionary_tracker(schema, &mut writer.tracker, &writer.options);
        arrow_ipc::writer::write_message(&mut *out, encoded, &writer.options)?;
        Ok(writer)
    }

    /// Writes one record batch (and any dictionaries it needs) with custom metadata.
    pub fn write<W: Write>(&mut self, out: &mut W, batch: &RecordBatch, metadata: &[(&str, &str)]) -> Result<()> {
        let (dictionaries, mut encoded) =
            self.generator.encode(batch, &mut self.tracker, &self.options, &mut self.context)?;
        for dictionary in dictionaries {
            arrow_ipc::writer::write_message(&mut *out, dictionary, &self.options)?;
        }
        if !metadata.is_empty() {
            encoded.ipc_message = with_custom_metadata(&encoded.ipc_message, metadata)?;
        }
        arrow_ipc::writer::write_message(&mut *out, encoded, &self.options)?;
        Ok(())
    }

    /// Ends the stream.
    pub fn finish<W: Write>(self, out: &mut W) -> Result<()> {
        out.write_all(&EOS)?;
        Ok(())
    }
}

/// Serializes a whole stream (schema, one batch with metadata, EOS) into bytes.
pub fn encode_stream(batch: &RecordBatch, metadata: &[(&str, &str)]) -> Result<Vec<u8>> {
    let mut out = Vec::with_capacity(256 + batch.get_array_memory_size());
    let mut writer = IpcStreamWriter::begin(&mut out, batch.schema_ref())?;
    writer.write(&mut out, batch, metadata)?;
    writer.finish(&mut out)?;
    Ok(out)
}

/// Serializes a bare schema message (what pyarrow's `Schema.serialize()` produces).
pub fn encode_schema(schema: &Schema) -> Vec<u8> {
    let options = IpcWriteOptions::default();
    let encoded = IpcDataGenerator::default().schema_to_bytes_with_dictionary_tracker(
        schema,
        &mut DictionaryTracker::new(false),
        &options,
    );
    let mut out = Vec::with_capacity(encoded.ipc_message.len() + 16);
    arrow_ipc::writer::write_message(&mut out, encoded, &options).expect("writing to a Vec cannot fail");
    out
}

/// Decodes schema bytes: a bare schema message or a full stream.
pub fn decode_schema(bytes: &[u8]) -> Result<Schema> {
    let mut reader = MessageReader::new(bytes);
    match reader.next_message()? {
        Some(Message::Schema(schema)) => Ok(schema),
        _ => Err(Error::protocol("expected an Arrow IPC schema message")),
    }
}

/// A zero-column batch with `rows` rows (framework requests with no parameters).
pub fn empty_batch(rows: usize) -> RecordBatch {
    RecordBatch::try_new_with_options(
        Arc::new(Schema::empty()),
        vec![],
        &RecordBatchOptions::new().with_row_count(Some(rows)),
    )
    .expect("a zero-column batch is always valid")
}

/// Rebuilds a RecordBatch `Message` flatbuffer with `custom_metadata` added.
fn with_custom_metadata(message: &[u8], metadata: &[(&str, &str)]) -> Result<Vec<u8>> {
    use flatbuffers::FlatBufferBuilder;
    let message = arrow_ipc::root_as_message(message).map_err(|e| Error::protocol(format!("bad IPC message: {e}")))?;
    let batch = message
        .header_as_record_batch()
        .ok_or_else(|| Error::protocol("custom metadata can only be attached to record batches"))?;
    let mut fbb = FlatBufferBuilder::with_capacity(1024);
    let nodes: Vec<arrow_ipc::FieldNode> = batch.nodes().map(|n| n.iter().copied().collect()).unwrap_or_default();
    let buffers: Vec<arrow_ipc::Buffer> = batch.buffers().map(|b| b.iter().copied().collect()).unwrap_or_default();
    let nodes = fbb.create_vector(&nodes);
    let buffers = fbb.create_vector(&buffers);
    let variadic = batch.variadicBufferCounts().map(|v| fbb.create_vector(&v.iter().collect::<Vec<i64>>()));
    let compression = batch.compression().map(|c| {
        let mut b = arrow_ipc::BodyCompressionBuilder::new(&mut fbb);
        b.add_codec(c.codec());
        b.add_method(c.method());
        b.finish()
    });
    let mut rb = arrow_ipc::RecordBatchBuilder::new(&mut fbb);
    rb.add_length(batch.length());
    rb.add_nodes(nodes);
    rb.add_buffers(buffers);
    if let Some(v) = variadic {
        rb.add_variadicBufferCounts(v);
    }
    if let Some(c) = compression {
        rb.add_compression(c);
    }
    let header = rb.finish();
    let kvs: Vec<_> = metadata
        .iter()
        .map(|(k, v)| {
            let key = fbb.create_string(k);
            let value = fbb.create_string(v);
            let mut kv = arrow_ipc::KeyValueBuilder::new(&mut fbb);
            kv.add_key(key);
            kv.add_value(value);
            kv.finish()
        })
        .collect();
    let custom = fbb.create_vector(&kvs);
    let mut mb = arrow_ipc::MessageBuilder::new(&mut fbb);
    mb.add_version(message.version());
    mb.add_header_type(MessageHeader::RecordBatch);
    mb.add_header(header.as_union_value());
    mb.add_bodyLength(message.bodyLength());
    mb.add_custom_metadata(custom);
    let root = mb.finish();
    fbb.finish(root, None);
    Ok(fbb.finished_data().to_vec())
}

/// One decoded IPC message.
pub enum Message {
    Schema(Schema),
    Batch(RecordBatch, Metadata),
}

/// Decoding state of one IPC stream (its schema and dictionaries). Kept apart from the byte
/// source so a stream can span several borrowed reads of a connection.
#[derive(Default)]
pub struct StreamDecoder {
    schema: Option<SchemaRef>,
    dictionaries: HashMap<i64, ArrayRef>,
}

impl StreamDecoder {
    /// The schema of the stream being read (after its schema message).
    pub fn schema(&self) -> Option<&SchemaRef> {
        self.schema.as_ref()
    }

    /// Forgets the current stream so the next one on the same byte stream can be read.
    pub fn reset(&mut self) {
        self.schema = None;
        self.dictionaries.clear();
    }

    /// Returns the next schema or batch message; `None` at EOS. Dictionary messages are
    /// absorbed. Never reads past the message it returns.
    pub fn next_message<R: Read + ?Sized>(&mut self, input: &mut R) -> Result<Option<Message>> {
        loop {
            let mut prefix = [0u8; 4];
            input.read_exact(&mut prefix).map_err(eof_is_protocol)?;
            let len = if prefix == [0xFF; 4] {
                input.read_exact(&mut prefix).map_err(eof_is_protocol)?;
                i32::from_le_bytes(prefix)
            } else {
                i32::from_le_bytes(prefix) // pre-0.15 format without continuation marker
            };
            if len == 0 {
                return Ok(None);
            }
            if len < 0 || len as usize > MAX_METADATA_BYTES {
                return Err(Error::protocol(format!("malformed Arrow IPC message (metadata length {len})")));
            }
            let meta = read_metadata(input, len as usize)?;
            let message = arrow_ipc::root_as_message(&meta)
                .map_err(|e| Error::protocol(format!("malformed Arrow IPC message: {e}")))?;
            let body_len = message.bodyLength();
            if body_len < 0 || body_len as u64 > MAX_BODY_BYTES as u64 {
                return Err(Error::protocol(format!("malformed Arrow IPC message (body length {body_len})")));
            }
            let body = read_body(input, body_len as usize)?;
            match message.header_type() {
                MessageHeader::Schema => {
                    let ipc_schema =
                        message.header_as_schema().ok_or_else(|| Error::protocol("schema message without schema"))?;
                    let schema = arrow_ipc::convert::try_fb_to_schema(ipc_schema)?;
                    check_schema_types(&schema)?;
                    self.schema = Some(Arc::new(schema.clone()));
                    self.dictionaries.clear();
                    return Ok(Some(Message::Schema(schema)));
                }
                MessageHeader::DictionaryBatch => {
                    let schema = self.schema.clone().ok_or_else(|| Error::protocol("dictionary before schema"))?;
                    let dict =
                        message.header_as_dictionary_batch().ok_or_else(|| Error::protocol("bad dictionary message"))?;
                    if let Some(data) = dict.data() {
                        check_buffer_ranges(&data, body.len())?;
                        if let Some(values) = dictionary_value_schema(&schema, dict.id()) {
                            check_buffer_layouts(&data, &values, message.version())?;
                        }
                    }
                    let dictionaries = &mut self.dictionaries;
                    guard_decoder(|| {
                        arrow_ipc::reader::read_dictionary(&body, dict, &schema, dictionaries, &message.version())
                    })?;
                }
                MessageHeader::RecordBatch => {
                    let schema = self.schema.clone().ok_or_else(|| Error::protocol("record batch before schema"))?;
                    let ipc_batch =
                        message.header_as_record_batch().ok_or_else(|| Error::protocol("bad record batch message"))?;
                    check_buffer_ranges(&ipc_batch, body.len())?;
                    check_buffer_layouts(&ipc_batch, &schema, message.version())?;
                    let dictionaries = &self.dictionaries;
                    let batch = guard_decoder(|| {
                        arrow_ipc::reader::read_record_batch(&body, ipc_batch, schema, dictionaries, None, &message.version())
                    })?;
                    let metadata = message
                        .custom_metadata()
                        .map(|kvs| {
                            kvs.iter()
                                .map(|kv| {
                                    (kv.key().unwrap_or_default().to_string(), kv.value().unwrap_or_default().to_string())
                                })
                                .collect()
                        })
                        .unwrap_or_default();
                    return Ok(Some(Message::Batch(batch, metadata)));
                }
                other => return Err(Error::protocol(format!("unexpected Arrow IPC message type {other:?}"))),
            }
        }
    }

    /// Reads a stream's schema message (the first message of every stream).
    pub fn read_schema<R: Read + ?Sized>(&mut self, input: &mut R) -> Result<SchemaRef> {
        self.reset();
        match self.next_message(input)? {
            Some(Message::Schema(_)) => Ok(self.schema.clone().expect("just set")),
            Some(Message::Batch(..)) => Err(Error::protocol("stream started with a batch instead of a schema")),
            None => Err(Error::protocol("empty IPC stream (EOS before schema)")),
        }
    }

    /// Reads the next batch of the current stream; `None` at EOS.
    pub fn read_batch<R: Read + ?Sized>(&mut self, input: &mut R) -> Result<Option<(RecordBatch, Metadata)>> {
        match self.next_message(input)? {
            Some(Message::Batch(batch, md)) => Ok(Some((batch, md))),
            Some(Message::Schema(_)) => Err(Error::protocol("unexpected schema message inside a stream")),
            None => Ok(None),
        }
    }
}

/// arrow-rs slices every buffer a message describes out of its body and panics when the range
/// is outside it: check the descriptors first, so a corrupt one is a protocol error.
fn check_buffer_ranges(batch: &arrow_ipc::RecordBatch<'_>, body_len: usize) -> Result<()> {
    for buffer in batch.buffers().iter().flat_map(|b| b.iter()) {
        let (offset, length) = (buffer.offset(), buffer.length());
        let inside = offset >= 0 && length >= 0 && offset.checked_add(length).is_some_and(|end| end as u64 <= body_len as u64);
        if !inside {
            return Err(Error::protocol(format!(
                "malformed Arrow IPC record batch (buffer at {offset} of {length} bytes, body of {body_len})"
            )));
        }
    }
    Ok(())
}

/// arrow-rs trusts a batch's buffer descriptors in ways it does not check: it views offset,
/// view and value buffers as typed slices (asserting their byte length is a multiple of the
/// element width) and slices union type ids and dense offsets by the node's row count. Walk
/// the fields the way it reads a batch, one node per field and its buffers in order, and check
/// those first, so a corrupt descriptor is a protocol error rather than a panic.
fn check_buffer_layouts(batch: &arrow_ipc::RecordBatch<'_>, schema: &Schema, version: arrow_ipc::MetadataVersion) -> Result<()> {
    if batch.compression().is_some() {
        return Ok(()); // compressed lengths say nothing of the data (and arrow refuses them here)
    }
    let mut walk = LayoutWalk {
        nodes: batch.nodes().map(|n| n.iter().copied().collect()).unwrap_or_default(),
        buffers: batch.buffers().map(|b| b.iter().copied().collect()).unwrap_or_default(),
        variadic: batch.variadicBufferCounts().map(|v| v.iter().collect()).unwrap_or_default(),
        at: (0, 0, 0),
        old_unions: version < arrow_ipc::MetadataVersion::V5,
    };
    for field in schema.fields() {
        // Running out of nodes or buffers is arrow's to report.
        if walk.field(field.data_type())?.is_none() {
            break;
        }
    }
    Ok(())
}

/// The one-column schema a dictionary batch is read with (the dictionary's value type).
fn dictionary_value_schema(schema: &Schema, id: i64) -> Option<Schema> {
    #[allow(deprecated)] // arrow-rs still routes dictionaries by the schema's ids
    let fields = schema.fields_with_dict_id(id);
    match fields.first()?.data_type() {
        arrow_schema::DataType::Dictionary(_, values) => Some(Schema::new(vec![arrow_schema::Field::new("", values.as_ref().clone(), true)])),
        _ => None,
    }
}

/// Types a schema message can declare but arrow-rs cannot lay out without panicking.
fn check_schema_types(schema: &Schema) -> Result<()> {
    fn check(data_type: &arrow_schema::DataType) -> Result<()> {
        use arrow_schema::DataType::*;
        match data_type {
            FixedSizeBinary(size) | FixedSizeList(_, size) if *size < 0 => {
                Err(Error::protocol(format!("malformed Arrow IPC schema (type {data_type} has a negative size)")))
            }
            List(f) | LargeList(f) | ListView(f) | LargeListView(f) | FixedSizeList(f, _) | Map(f, _) => check(f.data_type()),
            Struct(fields) => fields.iter().try_for_each(|f| check(f.data_type())),
            Union(fields, _) => fields.iter().try_for_each(|(_, f)| check(f.data_type())),
            RunEndEncoded(a, b) => check(a.data_type()).and_then(|_| check(b.data_type())),
            Dictionary(key, values) => check(key).and_then(|_| check(values)),
            _ => Ok(()),
        }
    }
    schema.fields().iter().try_for_each(|f| check(f.data_type()))
}

struct LayoutWalk {
    nodes: Vec<arrow_ipc::FieldNode>,
    buffers: Vec<arrow_ipc::Buffer>,
    variadic: Vec<i64>,
    /// Next node, buffer and variadic count.
    at: (usize, usize, usize),
    /// Before metadata V5 unions had a validity buffer.
    old_unions: bool,
}

fn layout_error(what: String) -> Error {
    Error::protocol(format!("malformed Arrow IPC record batch ({what})"))
}

impl LayoutWalk {
    /// The next buffer, checked to hold whole elements of `width` bytes.
    fn buffer(&mut self, width: usize) -> Result<Option<arrow_ipc::Buffer>> {
        let Some(buffer) = self.buffers.get(self.at.1).copied() else { return Ok(None) };
        self.at.1 += 1;
        if width > 1 && buffer.length() % width as i64 != 0 {
            return Err(layout_error(format!("a buffer of {} bytes holding {width}-byte values", buffer.length())));
        }
        Ok(Some(buffer))
    }

    /// Checks the next buffers against their element widths; `None` when they run out.
    fn buffers(&mut self, widths: &[usize]) -> Result<Option<()>> {
        for &width in widths {
            if self.buffer(width)?.is_none() {
                return Ok(None);
            }
        }
        Ok(Some(()))
    }

    /// `Ok(None)`: the message ran out of nodes or buffers.
    fn field(&mut self, data_type: &arrow_schema::DataType) -> Result<Option<()>> {
        use arrow_schema::DataType::*;
        let Some(node) = self.nodes.get(self.at.0).copied() else { return Ok(None) };
        self.at.0 += 1;
        // Validity buffers and bitmaps hold bits: any byte length is whole (width 1).
        let fits = match data_type {
            Null | RunEndEncoded(..) => Some(()),
            Utf8 | Binary => self.buffers(&[1, 4, 1])?,
            List(_) | Map(..) => self.buffers(&[1, 4])?,
            LargeUtf8 | LargeBinary => self.buffers(&[1, 8, 1])?,
            LargeList(_) => self.buffers(&[1, 8])?,
            ListView(_) => self.buffers(&[1, 4, 4])?,
            LargeListView(_) => self.buffers(&[1, 8, 8])?,
            Utf8View | BinaryView => {
                let count = self.variadic.get(self.at.2).copied().and_then(|c| usize::try_from(c).ok());
                self.at.2 += 1;
                match count {
                    Some(count) if count <= self.buffers.len() => {
                        let mut widths = vec![1, 16];
                        widths.resize(count + 2, 1);
                        self.buffers(&widths)?
                    }
                    _ => None,
                }
            }
            Struct(_) => self.buffers(&[1])?,
            FixedSizeList(_, size) => {
                if node.length() < 0 || node.length().checked_mul((*size).into()).is_none() {
                    return Err(layout_error(format!("{} lists of {size} values", node.length())));
                }
                self.buffers(&[1])?
            }
            Dictionary(key, _) => self.buffers(&[1, key.primitive_width().unwrap_or(1)])?,
            Union(_, mode) => {
                if self.old_unions && self.buffers(&[1])?.is_none() {
                    return Ok(None);
                }
                let rows = node.length();
                let Some(type_ids) = self.buffer(1)? else { return Ok(None) };
                if rows < 0 || type_ids.length() < rows {
                    return Err(layout_error(format!("a union of {rows} rows with {} type ids", type_ids.length())));
                }
                if *mode == arrow_schema::UnionMode::Dense {
                    let Some(offsets) = self.buffer(4)? else { return Ok(None) };
                    if offsets.offset() % 4 != 0 || offsets.length() / 4 < rows {
                        return Err(layout_error(format!(
                            "a dense union of {rows} rows with {} offset bytes at {}",
                            offsets.length(),
                            offsets.offset()
                        )));
                    }
                }
                Some(())
            }
            other => self.buffers(&[1, other.primitive_width().unwrap_or(1)])?,
        };
        if fits.is_none() {
            return Ok(None);
        }
        let children: Vec<&arrow_schema::DataType> = match data_type {
            List(f) | LargeList(f) | ListView(f) | LargeListView(f) | FixedSizeList(f, _) | Map(f, _) => vec![f.data_type()],
            Struct(fields) => fields.iter().map(|f| f.data_type()).collect(),
            Union(fields, _) => fields.iter().map(|(_, f)| f.data_type()).collect(),
            RunEndEncoded(a, b) => vec![a.data_type(), b.data_type()],
            _ => vec![],
        };
        for child in children {
            if self.field(child)?.is_none() {
                return Ok(None);
            }
        }
        Ok(Some(()))
    }
}

/// arrow-rs' IPC reader can panic on malformed buffer descriptors (slicing past a body); a
/// worker's bytes must never take the host down, so such a panic becomes a protocol error.
fn guard_decoder<T>(decode: impl FnOnce() -> std::result::Result<T, arrow_schema::ArrowError>) -> Result<T> {
    match std::panic::catch_unwind(std::panic::AssertUnwindSafe(decode)) {
        Ok(result) => Ok(result?),
        Err(_) => Err(Error::protocol("malformed Arrow IPC record batch (buffers out of bounds)")),
    }
}

/// Reads a message's flatbuffer metadata (`len` bytes, allocated as they arrive).
fn read_metadata<R: Read + ?Sized>(input: &mut R, len: usize) -> Result<Vec<u8>> {
    let mut meta = Vec::with_capacity(len.min(FIRST_READ_BYTES));
    input.take(len as u64).read_to_end(&mut meta)?;
    if meta.len() < len {
        return Err(eof_is_protocol(std::io::ErrorKind::UnexpectedEof.into()));
    }
    Ok(meta)
}

/// Reads a message body straight into a 64-byte aligned buffer (decoded arrays borrow it).
/// The buffer doubles with what has arrived, ending at exactly `len`, so a body length the
/// peer does not back with bytes is never allocated.
fn read_body<R: Read + ?Sized>(input: &mut R, len: usize) -> Result<Buffer> {
    let mut buf = MutableBuffer::with_capacity(len.min(FIRST_READ_BYTES));
    while buf.len() < len {
        if buf.len() == buf.capacity() {
            let mut bigger = MutableBuffer::with_capacity(len.min(buf.len().saturating_mul(2)));
            bigger.extend_from_slice(buf.as_slice());
            buf = bigger;
        }
        let (start, end) = (buf.len(), buf.capacity().min(len));
        buf.resize(end, 0);
        input.read_exact(&mut buf.as_slice_mut()[start..end]).map_err(eof_is_protocol)?;
    }
    Ok(buf.into())
}

/// A [`StreamDecoder`] bundled with the byte source it reads.
pub struct MessageReader<R> {
    input: R,
    decoder: StreamDecoder,
}

impl<R: Read> MessageReader<R> {
    pub fn new(input: R) -> Self {
        MessageReader { input, decoder: StreamDecoder::default() }
    }

    pub fn into_inner(self) -> R {
        self.input
    }

    pub fn schema(&self) -> Option<&SchemaRef> {
        self.decoder.schema()
    }

    pub fn next_message(&mut self) -> Result<Option<Message>> {
        self.decoder.next_message(&mut self.input)
    }

    pub fn read_schema(&mut self) -> Result<SchemaRef> {
        self.decoder.read_schema(&mut self.input)
    }

    pub fn read_batch(&mut self) -> Result<Option<(RecordBatch, Metadata)>> {
        self.decoder.read_batch(&mut self.input)
    }
}

fn eof_is_protocol(e: std::io::Error) -> Error {
    if e.kind() == std::io::ErrorKind::UnexpectedEof {
        Error::Disconnected("the worker closed its output in the middle of a message".into())
    } else {
        Error::from(e)
    }
}

/// Reads a record blob: a complete IPC stream holding exactly one batch.
pub fn decode_single_batch(bytes: &[u8]) -> Result<RecordBatch> {
    let mut reader = MessageReader::new(bytes);
    reader.read_schema()?;
    let (batch, _) = reader.read_batch()?.ok_or_else(|| Error::protocol("record blob holds no batch"))?;
    Ok(batch)
}

/// What one received batch means (vgi_rpc batch classification).
pub enum Frame {
    Data(RecordBatch, Metadata),
    Log(LogMessage),
    Error(crate::error::WorkerError),
    /// HTTP continuation sentinel: a zero-row batch carrying the next stream state (in an
    /// exchange it is also the answer, when the answer has no rows).
    Sentinel(RecordBatch, Metadata),
}

/// An in-band log record sent by the worker.
#[derive(Debug, Clone)]
pub struct LogMessage {
    pub level: String,
    pub message: String,
}

/// Classifies a batch by its metadata.
pub fn classify(batch: RecordBatch, md: Metadata) -> Result<Frame> {
    if batch.num_rows() > 0 || md.is_empty() {
        return Ok(Frame::Data(batch, md));
    }
    if let (Some(level), Some(message)) = (meta_get(&md, keys::LOG_LEVEL), meta_get(&md, keys::LOG_MESSAGE)) {
        if level == "EXCEPTION" {
            return Ok(Frame::Error(crate::error::WorkerError::from_metadata(&md)));
        }
        return Ok(Frame::Log(LogMessage { level: level.to_string(), message: message.to_string() }));
    }
    if meta_get(&md, keys::LOCATION).is_some() {
        return Err(Error::protocol("the worker sent an external-location batch, which this client does not support"));
    }
    if meta_get(&md, keys::SHM_OFFSET).is_some() {
        return Err(Error::protocol("the worker sent a shared-memory batch, which this client did not negotiate"));
    }
    if meta_get(&md, keys::STREAM_STATE).is_some() {
        return Ok(Frame::Sentinel(batch, md));
    }
    Ok(Frame::Data(batch, md))
}

#[cfg(test)]
mod tests {
    use super::*;
    use arrow_array::{Int64Array, StringArray};
    use arrow_schema::{DataType, Field};

    fn sample() -> RecordBatch {
        let schema = Arc::new(Schema::new(vec![
            Field::new("n", DataType::Int64, false),
            Field::new("s", DataType::Utf8, true),
        ]));
        RecordBatch::try_new(
            schema,
            vec![Arc::new(Int64Array::from(vec![1, 2, 3])), Arc::new(StringArray::from(vec![Some("a"), None, Some("c")]))],
        )
        .unwrap()
    }

    #[test]
    fn stream_roundtrip_keeps_batch_metadata() {
        let bytes = encode_stream(&sample(), &[("vgi_rpc.method", "bind"), ("k", "v")]).unwrap();
        let mut reader = MessageReader::new(&bytes[..]);
        reader.read_schema().unwrap();
        let (batch, md) = reader.read_batch().unwrap().unwrap();
        assert_eq!(batch, sample());
        assert_eq!(meta_get(&md, "vgi_rpc.method"), Some("bind"));
        assert_eq!(meta_get(&md, "k"), Some("v"));
        assert!(reader.read_batch().unwrap().is_none());
    }

    #[test]
    fn back_to_back_streams_are_read_separately() {
        let mut bytes = encode_stream(&sample(), &[]).unwrap();
        bytes.extend(encode_stream(&empty_batch(1), &[("x", "y")]).unwrap());
        let mut reader = MessageReader::new(&bytes[..]);
        reader.read_schema().unwrap();
        assert!(reader.read_batch().unwrap().is_some());
        assert!(reader.read_batch().unwrap().is_none());
        let schema = reader.read_schema().unwrap();
        assert_eq!(schema.fields().len(), 0);
        let (batch, md) = reader.read_batch().unwrap().unwrap();
        assert_eq!(batch.num_rows(), 1);
        assert_eq!(meta_get(&md, "x"), Some("y"));
    }

    #[test]
    fn empty_schema_reads_pyarrows_bytes_and_our_own() {
        // Appendix B of the protocol spec: pyarrow's 56-byte empty schema message.
        let pyarrow: [u8; 56] = [
            0xff, 0xff, 0xff, 0xff, 0x30, 0, 0, 0, 0x10, 0, 0, 0, 0, 0, 0x0a, 0, 0x0c, 0, 0x06, 0, 0x05, 0, 0x08, 0,
            0x0a, 0, 0, 0, 0, 0x01, 0x04, 0, 0x0c, 0, 0, 0, 0x08, 0, 0x08, 0, 0, 0, 0x04, 0, 0x08, 0, 0, 0, 0x04, 0,
            0, 0, 0, 0, 0, 0,
        ];
        assert_eq!(decode_schema(&pyarrow).unwrap(), Schema::empty());
        let ours = encode_schema(&Schema::empty());
        assert_eq!(&ours[..4], &[0xff, 0xff, 0xff, 0xff]);
        assert_eq!(decode_schema(&ours).unwrap(), Schema::empty());
    }

    #[test]
    fn garbage_is_an_error_not_a_panic() {
        for garbage in [&b"hello world, not arrow"[..], &[0xff, 0xff, 0xff, 0xff, 0x10, 0, 0, 0, 1, 2, 3][..], &[][..]] {
            let mut reader = MessageReader::new(garbage);
            assert!(reader.read_schema().is_err());
        }
    }
}
