//! One validating pass over an encoded export request: it accepts what
//! prost accepts (wire types, lengths, UTF-8, id lengths as
//! [`OtlpRequest::decode`](crate::codec::OtlpRequest::decode) checks them),
//! counts items and resources, takes the time bounds and, when asked,
//! notes where every timestamp and id sits so they can be rewritten in place.

use super::reader::{self, MAX_DEPTH, WireError, WireType};
use super::schema::{Kind, Message, Role};
use crate::model::{PayloadSummary, Signal};

/// What to note besides the summary.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Collect {
    /// The summary alone.
    Summary,
    /// Also the offsets of every timestamp and of every well-formed id.
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

struct Walker<'a> {
    buf: &'a [u8],
    collect: bool,
    scan: Scan,
}

fn wrong_wire(message: &Message, number: u32, wire: WireType, pos: usize) -> WireError {
    format!("field {number} of {} has wire type {wire:?} at byte {pos}", message.name)
}

impl Walker<'_> {
    fn message(&mut self, message: &'static Message, mut pos: usize, end: usize, depth: u32) -> Result<(), WireError> {
        match message.role {
            Role::Item => self.scan.items += 1,
            Role::Resource => self.scan.resources += 1,
            Role::Plain => {}
        }
        // Singular timestamp and id fields seen so far (all numbered below 64).
        let mut seen = 0u64;
        let mut data_case = 0;
        while pos < end {
            let (number, wire, at) = reader::key(self.buf, pos, end)?;
            let kind = message.kind(number);
            let expect = |wanted: WireType| {
                if wire == wanted { Ok(()) } else { Err(wrong_wire(message, number, wire, pos)) }
            };
            if matches!(kind, Kind::Timestamp | Kind::TraceId { .. } | Kind::SpanId { .. }) {
                let bit = 1u64 << number;
                self.scan.irregular |= seen & bit != 0;
                seen |= bit;
            }
            pos = match kind {
                Kind::Unknown => reader::skip(self.buf, at, end, number, wire, depth)?,
                Kind::Varint => {
                    expect(WireType::Varint)?;
                    reader::varint(self.buf, at, end)?.1
                }
                Kind::Fixed64 => {
                    expect(WireType::Fixed64)?;
                    reader::fixed(at, 8, end)?
                }
                Kind::Fixed32 => {
                    expect(WireType::Fixed32)?;
                    reader::fixed(at, 4, end)?
                }
                Kind::Bytes => {
                    expect(WireType::Len)?;
                    reader::len_delimited(self.buf, at, end)?.1
                }
                Kind::Str => {
                    expect(WireType::Len)?;
                    let (start, stop) = reader::len_delimited(self.buf, at, end)?;
                    if std::str::from_utf8(&self.buf[start..stop]).is_err() {
                        return Err(format!("field {number} of {} is not UTF-8 at byte {pos}", message.name));
                    }
                    stop
                }
                Kind::RepeatedVarint => match wire {
                    WireType::Len => {
                        let (mut at, stop) = reader::len_delimited(self.buf, at, end)?;
                        while at < stop {
                            at = reader::varint(self.buf, at, stop)?.1;
                        }
                        stop
                    }
                    _ => {
                        expect(WireType::Varint)?;
                        reader::varint(self.buf, at, end)?.1
                    }
                },
                Kind::RepeatedFixed64 => match wire {
                    WireType::Len => {
                        let (start, stop) = reader::len_delimited(self.buf, at, end)?;
                        if (stop - start) % 8 != 0 {
                            return Err(format!("packed field {number} of {} is cut at byte {pos}", message.name));
                        }
                        stop
                    }
                    _ => {
                        expect(WireType::Fixed64)?;
                        reader::fixed(at, 8, end)?
                    }
                },
                Kind::Message(inner) | Kind::DataCase(inner) => {
                    expect(WireType::Len)?;
                    if let Kind::DataCase(_) = kind {
                        self.scan.irregular |= data_case != 0 && data_case != number;
                        data_case = number;
                    }
                    if depth + 1 > MAX_DEPTH {
                        return Err(format!("nesting deeper than {MAX_DEPTH} at byte {pos}"));
                    }
                    let (start, stop) = reader::len_delimited(self.buf, at, end)?;
                    self.message(inner, start, stop, depth + 1)?;
                    stop
                }
                Kind::Timestamp => {
                    expect(WireType::Fixed64)?;
                    let next = reader::fixed(at, 8, end)?;
                    let mut bytes = [0u8; 8];
                    bytes.copy_from_slice(&self.buf[at..next]);
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
                    expect(WireType::Len)?;
                    let (start, stop) = reader::len_delimited(self.buf, at, end)?;
                    let (name, wanted, offsets) = match kind {
                        Kind::TraceId { .. } => ("traceId", 16, &mut self.scan.trace_ids),
                        _ => ("spanId", 8, &mut self.scan.span_ids),
                    };
                    let len = stop - start;
                    if checked && len != 0 && len != wanted {
                        return Err(format!(
                            "{name} (field {number} of {}) is {len} bytes long; OTLP requires {wanted}",
                            message.name
                        ));
                    }
                    if self.collect && len == wanted {
                        offsets.push(start);
                    }
                    stop
                }
            };
        }
        Ok(())
    }
}
