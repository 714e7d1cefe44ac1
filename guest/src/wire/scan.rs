//! One validating pass over an encoded export request: with
//! [`Collect::Summary`] it accepts what prost accepts (wire types, lengths,
//! UTF-8, id lengths as
//! [`OtlpRequest::decode`](crate::codec::OtlpRequest::decode) checks them);
//! it counts items and resources, takes the time bounds and, with
//! [`Collect::Offsets`], notes where every timestamp and id sits so they can
//! be rewritten in place.

use super::reader::{self, MAX_DEPTH, Problem, WireError, WireType, fail};
use super::schema::{ANY_VALUE, KEY_VALUE, Kind, Message, Role};
use crate::records::{PayloadSummary, Signal};

/// What to note besides the summary.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Collect {
    /// The summary alone.
    Summary,
    /// Also the offsets of every timestamp and of every well-formed id.
    /// For stored objects, which capture validated whole: the walk checks
    /// the structure down to timestamps, ids and items and skips the rest
    /// (attributes, bodies, resources, scopes) by length.
    Offsets,
}

/// The result of a scan.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Scan {
    /// Spans, data points or log records.
    pub items: u64,
    /// Resource batches.
    pub resources: u64,
    /// Earliest non-zero timestamp, `u64::MAX` when none.
    min: u64,
    /// Latest timestamp.
    max: u64,
    /// Offsets of the 8 bytes of every timestamp field.
    pub timestamps: Vec<usize>,
    /// Offsets of every 16-byte trace id.
    pub trace_ids: Vec<usize>,
    /// Offsets of every 8-byte span id.
    pub span_ids: Vec<usize>,
    /// Whether the request repeats a singular timestamp or id field or sets
    /// two cases of a metric's data: decoding keeps only the last of those,
    /// so the wire view and the decoded view could differ. Such requests go
    /// the decoding way.
    pub irregular: bool,
}

impl Scan {
    /// Scans `payload`, a protobuf export request of `signal`.
    pub fn of(signal: Signal, payload: &[u8], collect: Collect) -> Result<Scan, WireError> {
        let mut walker = Walker { buf: payload, collect: collect == Collect::Offsets, scan: Scan::default() };
        walker.scan.min = u64::MAX;
        walker.message(request_message(signal), 0, payload.len(), 0)?;
        Ok(walker.scan)
    }

    /// Earliest non-zero and latest timestamp, `(0, 0)` when there is none.
    pub fn bounds(&self) -> (u64, u64) {
        if self.max == 0 { (0, 0) } else { (self.min, self.max) }
    }

    /// The payload summary.
    pub fn summary(&self, signal: Signal) -> PayloadSummary {
        let (min_unix_nanos, max_unix_nanos) = self.bounds();
        PayloadSummary { signal, items: self.items, resources: self.resources, min_unix_nanos, max_unix_nanos }
    }
}

/// The export request message of `signal`.
pub fn request_message(signal: Signal) -> &'static Message {
    match signal {
        Signal::Traces => &super::schema::TRACES_REQUEST,
        Signal::Metrics => &super::schema::METRICS_REQUEST,
        Signal::Logs => &super::schema::LOGS_REQUEST,
    }
}

/// The key byte of field 1, length-delimited.
const KEY_1_LEN: u8 = 1 << 3 | 2;
/// The key byte of field 2, length-delimited.
const KEY_2_LEN: u8 = 2 << 3 | 2;

struct Walker<'a> {
    buf: &'a [u8],
    collect: bool,
    scan: Scan,
}

/// Whether `bytes` is UTF-8, with a fast path for ASCII: most OTLP strings
/// are, and the check runs on every string of every request.
#[inline]
fn is_utf8(bytes: &[u8]) -> bool {
    let mut words = bytes.chunks_exact(8);
    let mut high = 0u64;
    for word in &mut words {
        let mut w = [0u8; 8];
        w.copy_from_slice(word);
        high |= u64::from_le_bytes(w);
    }
    let ascii = high & 0x8080_8080_8080_8080 == 0 && words.remainder().iter().all(|b| *b < 0x80);
    ascii || std::str::from_utf8(bytes).is_ok()
}

/// Per-message state the walk of one message keeps.
#[derive(Default)]
struct Seen {
    /// Singular timestamp and id fields seen so far (all numbered below 64).
    singular: u64,
    /// The metric data case set so far, 0 for none.
    data_case: u32,
}

impl Walker<'_> {
    fn message(&mut self, message: &'static Message, mut pos: usize, end: usize, depth: u32) -> Result<(), WireError> {
        match message.role {
            Role::Item => self.scan.items += 1,
            Role::Resource => self.scan.resources += 1,
            Role::Plain => {}
        }
        let mut seen = Seen::default();
        while pos < end {
            // Attributes, the most frequent field of most messages, go the
            // short way: told by their key byte, no dispatch on the field kind.
            if u16::from(self.buf[pos]) == message.attributes_key {
                pos = if self.collect {
                    reader::len_delimited(self.buf, pos + 1, end)?.1
                } else {
                    let (start, stop) = self.nested(pos, pos + 1, end, depth)?;
                    self.key_value(start, stop, depth + 1)?;
                    stop
                };
                continue;
            }
            let (number, wire, at) = reader::key(self.buf, pos, end)?;
            pos = self.field(message, &mut seen, number, wire, pos, at, end, depth)?;
        }
        Ok(())
    }

    /// A `KeyValue`: key, value and string-table index on a short path;
    /// anything else the general way.
    #[inline]
    fn key_value(&mut self, mut pos: usize, end: usize, depth: u32) -> Result<(), WireError> {
        // Keys of fields 1-15 are one byte: the usual fields are told by
        // that byte alone, before any decoding of keys.
        while pos < end {
            pos = match self.buf[pos] {
                KEY_1_LEN => self.string(&KEY_VALUE, 1, pos, pos + 1, end)?,
                KEY_2_LEN => {
                    let (start, stop) = self.nested(pos, pos + 1, end, depth)?;
                    self.any_value(start, stop, depth + 1)?;
                    stop
                }
                _ => {
                    let (number, wire, at) = reader::key(self.buf, pos, end)?;
                    self.rare_field(&KEY_VALUE, number, wire, pos, at, end, depth)?
                }
            };
        }
        Ok(())
    }

    /// An `AnyValue`: scalars on a short path, arrays and lists the general way.
    #[inline]
    fn any_value(&mut self, mut pos: usize, end: usize, depth: u32) -> Result<(), WireError> {
        while pos < end {
            pos = match self.buf[pos] {
                KEY_1_LEN => self.string(&ANY_VALUE, 1, pos, pos + 1, end)?,
                // bool_value, int_value, string_value_strindex.
                0x10 | 0x18 | 0x40 => reader::varint(self.buf, pos + 1, end)?.1,
                // double_value.
                0x21 => reader::fixed(pos + 1, 8, end)?,
                _ => {
                    let (number, wire, at) = reader::key(self.buf, pos, end)?;
                    self.rare_field(&ANY_VALUE, number, wire, pos, at, end, depth)?
                }
            };
        }
        Ok(())
    }

    /// A field the short paths do not expect, out of line so they stay small.
    #[allow(clippy::too_many_arguments)]
    #[inline(never)]
    fn rare_field(
        &mut self,
        message: &'static Message,
        number: u32,
        wire: WireType,
        field_at: usize,
        at: usize,
        end: usize,
        depth: u32,
    ) -> Result<usize, WireError> {
        self.field(message, &mut Seen::default(), number, wire, field_at, at, end, depth)
    }

    /// Checks a string field's bytes; returns the position after it.
    #[inline(always)]
    fn string(
        &self,
        message: &'static Message,
        number: u32,
        field_at: usize,
        at: usize,
        end: usize,
    ) -> Result<usize, WireError> {
        let (start, stop) = reader::len_delimited(self.buf, at, end)?;
        if !is_utf8(&self.buf[start..stop]) {
            return fail(field_at, Problem::NotUtf8 { field: number, message: message.name });
        }
        Ok(stop)
    }

    /// The range of a nested message, refused when nesting goes too deep.
    #[inline(always)]
    fn nested(&self, field_at: usize, at: usize, end: usize, depth: u32) -> Result<(usize, usize), WireError> {
        if depth >= MAX_DEPTH {
            return fail(field_at, Problem::TooDeep);
        }
        reader::len_delimited(self.buf, at, end)
    }

    /// One field of `message` whose key, at `field_at`, was just read;
    /// returns the position after the field. Inlined into each walk, so
    /// its state stays in locals (in wasm, a reference would put it in
    /// linear memory).
    #[allow(clippy::too_many_arguments)]
    #[inline(always)]
    fn field(
        &mut self,
        message: &'static Message,
        seen: &mut Seen,
        number: u32,
        wire: WireType,
        field_at: usize,
        at: usize,
        end: usize,
        depth: u32,
    ) -> Result<usize, WireError> {
        let buf = self.buf;
        let kind = message.kind(number);
        let wrong = || fail(field_at, Problem::WrongWireType { field: number, message: message.name });
        Ok(match kind {
            Kind::Unknown => reader::skip(buf, at, end, number, wire, depth)?,
            Kind::Varint => {
                if wire != WireType::Varint {
                    return wrong();
                }
                reader::varint(buf, at, end)?.1
            }
            Kind::Fixed64 => {
                if wire != WireType::Fixed64 {
                    return wrong();
                }
                reader::fixed(at, 8, end)?
            }
            Kind::Fixed32 => {
                if wire != WireType::Fixed32 {
                    return wrong();
                }
                reader::fixed(at, 4, end)?
            }
            Kind::Bytes => {
                if wire != WireType::Len {
                    return wrong();
                }
                reader::len_delimited(buf, at, end)?.1
            }
            Kind::Str | Kind::Attribute if self.collect => {
                if wire != WireType::Len {
                    return wrong();
                }
                reader::len_delimited(buf, at, end)?.1
            }
            Kind::Str => {
                if wire != WireType::Len {
                    return wrong();
                }
                self.string(message, number, field_at, at, end)?
            }
            Kind::Attribute => {
                if wire != WireType::Len {
                    return wrong();
                }
                let (start, stop) = self.nested(field_at, at, end, depth)?;
                self.key_value(start, stop, depth + 1)?;
                stop
            }
            Kind::Message(inner) if self.collect && !inner.timed => {
                if wire != WireType::Len {
                    return wrong();
                }
                reader::len_delimited(buf, at, end)?.1
            }
            Kind::Message(inner) | Kind::DataCase(inner) => {
                if wire != WireType::Len {
                    return wrong();
                }
                if let Kind::DataCase(_) = kind {
                    self.scan.irregular |= seen.data_case != 0 && seen.data_case != number;
                    seen.data_case = number;
                }
                let (start, stop) = self.nested(field_at, at, end, depth)?;
                self.message(inner, start, stop, depth + 1)?;
                stop
            }
            Kind::Timestamp => {
                if wire != WireType::Fixed64 {
                    return wrong();
                }
                let next = reader::fixed(at, 8, end)?;
                let bit = 1u64 << number;
                self.scan.irregular |= seen.singular & bit != 0;
                seen.singular |= bit;
                let mut bytes = [0u8; 8];
                bytes.copy_from_slice(&buf[at..next]);
                let time = u64::from_le_bytes(bytes);
                if time != 0 {
                    self.scan.min = self.scan.min.min(time);
                    self.scan.max = self.scan.max.max(time);
                }
                if self.collect {
                    self.scan.timestamps.push(at);
                }
                next
            }
            Kind::TraceId { checked } | Kind::SpanId { checked } => {
                if wire != WireType::Len {
                    return wrong();
                }
                let (start, stop) = reader::len_delimited(buf, at, end)?;
                let bit = 1u64 << number;
                self.scan.irregular |= seen.singular & bit != 0;
                seen.singular |= bit;
                let (name, wanted) = match kind {
                    Kind::TraceId { .. } => ("traceId", 16),
                    _ => ("spanId", 8),
                };
                let len = stop - start;
                if checked && len != 0 && len != wanted {
                    return fail(field_at, Problem::IdLength { name, len, wanted });
                }
                if self.collect && len == wanted {
                    match kind {
                        Kind::TraceId { .. } => self.scan.trace_ids.push(start),
                        _ => self.scan.span_ids.push(start),
                    }
                }
                stop
            }
            Kind::RepeatedVarint => match wire {
                WireType::Len => {
                    let (mut at, stop) = reader::len_delimited(buf, at, end)?;
                    while at < stop {
                        at = reader::varint(buf, at, stop)?.1;
                    }
                    stop
                }
                WireType::Varint => reader::varint(buf, at, end)?.1,
                _ => return wrong(),
            },
            Kind::RepeatedFixed64 => match wire {
                WireType::Len => {
                    let (start, stop) = reader::len_delimited(buf, at, end)?;
                    if (stop - start) % 8 != 0 {
                        return fail(field_at, Problem::CutPacked { field: number, message: message.name });
                    }
                    stop
                }
                WireType::Fixed64 => reader::fixed(at, 8, end)?,
                _ => return wrong(),
            },
        })
    }
}
