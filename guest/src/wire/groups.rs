//! Which group each timestamp of an encoded request moves with on replay
//! (see [`crate::timing`]): a walk down to the items that hashes trace ids
//! and metric stream identities straight from the wire bytes.
//!
//! Meant for requests a [`super::Scan`] accepted as regular; it still
//! fails cleanly, never panics, on anything else.

use super::reader::{self, MAX_DEPTH, WireError, WireType};
use super::schema::{KEY_VALUE, Kind, Message, RESOURCE, SCOPE};
use crate::records::Signal;
use crate::timing::{ATTRIBUTES_START, UNGROUPED, add_attribute, combine, hash_bytes, stream_key, trace_key};

/// One field of a message, as the walk needs it.
enum Field {
    /// A length-delimited field: its number and the range of its bytes.
    Len(u32, usize, usize),
    /// A fixed64 field: its number and the offset of its 8 bytes.
    Fixed64(u32, usize),
}

/// Calls `on` with every length-delimited and fixed64 field in
/// `buf[start..end]`, skipping the others.
fn each_field(
    buf: &[u8],
    start: usize,
    end: usize,
    mut on: impl FnMut(Field) -> Result<(), WireError>,
) -> Result<(), WireError> {
    let mut pos = start;
    while pos < end {
        let (number, wire, at) = reader::key(buf, pos, end)?;
        pos = match wire {
            WireType::Len => {
                let (from, to) = reader::len_delimited(buf, at, end)?;
                on(Field::Len(number, from, to))?;
                to
            }
            WireType::Fixed64 => {
                let next = reader::fixed(at, 8, end)?;
                on(Field::Fixed64(number, at))?;
                next
            }
            _ => reader::skip(buf, at, end, number, wire, 0)?,
        };
    }
    Ok(())
}

/// `(group key, offset of the timestamp's 8 bytes)` for every timestamp of
/// `buf`, a protobuf export request of `signal`: the same fields and keys as
/// [`crate::timestamps::for_each_keyed_mut`] on the decoded request.
pub fn keyed_stamps(signal: Signal, buf: &[u8]) -> Result<Vec<(u64, usize)>, WireError> {
    let mut out = Vec::new();
    let walk = Walk { buf };
    each_field(buf, 0, buf.len(), |field| match (signal, field) {
        (Signal::Traces, Field::Len(1, s, e)) => walk.items(s, e, &mut out, Walk::span),
        (Signal::Logs, Field::Len(1, s, e)) => walk.items(s, e, &mut out, Walk::log_record),
        (Signal::Metrics, Field::Len(1, s, e)) => walk.resource_metrics(s, e, &mut out),
        _ => Ok(()),
    })?;
    Ok(out)
}

struct Walk<'a> {
    buf: &'a [u8],
}

type ItemWalk<'a> = fn(&Walk<'a>, usize, usize, &mut Vec<(u64, usize)>) -> Result<(), WireError>;

impl<'a> Walk<'a> {
    /// Resource → scope → items (field 2 of both) of spans or log records.
    fn items(
        &self,
        start: usize,
        end: usize,
        out: &mut Vec<(u64, usize)>,
        item: ItemWalk<'a>,
    ) -> Result<(), WireError> {
        each_field(self.buf, start, end, |field| match field {
            Field::Len(2, s, e) => each_field(self.buf, s, e, |field| match field {
                Field::Len(2, s, e) => item(self, s, e, out),
                _ => Ok(()),
            }),
            _ => Ok(()),
        })
    }

    /// A span: its start (7), end (8) and event times (11 → 1), keyed by its
    /// trace id (1).
    fn span(&self, start: usize, end: usize, out: &mut Vec<(u64, usize)>) -> Result<(), WireError> {
        self.traced_item(start, end, out, &TracedItem { trace_id: 1, stamps: &[7, 8], nested: Some((11, 1)) })
    }

    /// A log record: its time (1) and observed time (11), keyed by its
    /// trace id (9).
    fn log_record(&self, start: usize, end: usize, out: &mut Vec<(u64, usize)>) -> Result<(), WireError> {
        self.traced_item(start, end, out, &TracedItem { trace_id: 9, stamps: &[1, 11], nested: None })
    }

    /// An item keyed by its trace id: its own timestamps and those of one
    /// kind of nested message.
    fn traced_item(
        &self,
        start: usize,
        end: usize,
        out: &mut Vec<(u64, usize)>,
        fields: &TracedItem,
    ) -> Result<(), WireError> {
        let mark = out.len();
        let mut key = UNGROUPED;
        each_field(self.buf, start, end, |field| {
            match field {
                Field::Len(n, s, e) if n == fields.trace_id => key = trace_key(&self.buf[s..e]),
                Field::Fixed64(n, at) if fields.stamps.contains(&n) => out.push((UNGROUPED, at)),
                Field::Len(n, s, e) if fields.nested.is_some_and(|(message, _)| message == n) => {
                    let stamp = fields.nested.map_or(0, |(_, stamp)| stamp);
                    each_field(self.buf, s, e, |field| {
                        if let Field::Fixed64(n, at) = field
                            && n == stamp
                        {
                            out.push((UNGROUPED, at));
                        }
                        Ok(())
                    })?;
                }
                _ => {}
            }
            Ok(())
        })?;
        for entry in &mut out[mark..] {
            entry.0 = key;
        }
        Ok(())
    }

    /// A resource's metrics. A stream's key needs parts that may come after
    /// its points on the wire (the metric's name, the scope, the resource),
    /// so points collect their parts as each enclosing message ends.
    fn resource_metrics(&self, start: usize, end: usize, out: &mut Vec<(u64, usize)>) -> Result<(), WireError> {
        let mut pending = Vec::new();
        let mut resource = stream_part(StreamPart::Absent, &[]);
        each_field(self.buf, start, end, |field| match field {
            Field::Len(1, s, e) => {
                resource = stream_part(StreamPart::Resource, &self.buf[s..e]);
                Ok(())
            }
            Field::Len(2, s, e) => self.scope_metrics(s, e, &mut pending),
            _ => Ok(()),
        })?;
        out.extend(pending.iter().map(|p| (stream_key(p.attributes, p.name, p.scope, resource), p.at)));
        Ok(())
    }

    fn scope_metrics(&self, start: usize, end: usize, pending: &mut Vec<PointStamp>) -> Result<(), WireError> {
        let mark = pending.len();
        let mut scope = stream_part(StreamPart::Absent, &[]);
        each_field(self.buf, start, end, |field| match field {
            Field::Len(1, s, e) => {
                scope = stream_part(StreamPart::Scope, &self.buf[s..e]);
                Ok(())
            }
            Field::Len(2, s, e) => self.metric(s, e, pending),
            _ => Ok(()),
        })?;
        pending[mark..].iter_mut().for_each(|p| p.scope = scope);
        Ok(())
    }

    /// A metric: its name (1) and the points of its data case (gauge 5,
    /// sum 7, histogram 9, exponential histogram 10, summary 11; points in
    /// field 1 of each).
    fn metric(&self, start: usize, end: usize, pending: &mut Vec<PointStamp>) -> Result<(), WireError> {
        let mark = pending.len();
        let mut name = stream_part(StreamPart::Absent, &[]);
        each_field(self.buf, start, end, |field| match field {
            Field::Len(1, s, e) => {
                name = stream_part(StreamPart::Name, &self.buf[s..e]);
                Ok(())
            }
            Field::Len(case @ (5 | 7 | 9 | 10 | 11), s, e) => each_field(self.buf, s, e, |field| match field {
                Field::Len(1, s, e) => self.point(s, e, PointFields::of(case), pending),
                _ => Ok(()),
            }),
            _ => Ok(()),
        })?;
        pending[mark..].iter_mut().for_each(|p| p.name = name);
        Ok(())
    }

    /// A data point: start (2) and time (3), its exemplars' times (2), and
    /// its attributes, whose field numbers depend on the point type.
    fn point(
        &self,
        start: usize,
        end: usize,
        fields: PointFields,
        pending: &mut Vec<PointStamp>,
    ) -> Result<(), WireError> {
        let mark = pending.len();
        let mut attributes = ATTRIBUTES_START;
        let stamp = |at| PointStamp { attributes: 0, name: 0, scope: 0, at };
        each_field(self.buf, start, end, |field| {
            match field {
                Field::Fixed64(2 | 3, at) => pending.push(stamp(at)),
                Field::Len(n, s, e) if n == fields.attributes => {
                    attributes = add_attribute(attributes, stream_part(StreamPart::Attribute, &self.buf[s..e]));
                }
                Field::Len(n, s, e) if Some(n) == fields.exemplars => {
                    each_field(self.buf, s, e, |field| {
                        if let Field::Fixed64(2, at) = field {
                            pending.push(stamp(at));
                        }
                        Ok(())
                    })?;
                }
                _ => {}
            }
            Ok(())
        })?;
        pending[mark..].iter_mut().for_each(|p| p.attributes = attributes);
        Ok(())
    }
}

/// Where a traced item (span, log record) keeps its trace id, its
/// timestamps, and a nested message with a timestamp (field numbers).
struct TracedItem {
    trace_id: u32,
    stamps: &'static [u32],
    nested: Option<(u32, u32)>,
}

/// A data point's timestamp and the parts of its stream's key.
struct PointStamp {
    attributes: u64,
    name: u64,
    scope: u64,
    at: usize,
}

/// Where a point type keeps its attributes and exemplars.
#[derive(Clone, Copy)]
struct PointFields {
    attributes: u32,
    exemplars: Option<u32>,
}

impl PointFields {
    /// For the metric data case `case`.
    fn of(case: u32) -> PointFields {
        match case {
            // Histogram.
            9 => PointFields { attributes: 9, exemplars: Some(8) },
            // Exponential histogram.
            10 => PointFields { attributes: 1, exemplars: Some(11) },
            // Summary.
            11 => PointFields { attributes: 7, exemplars: None },
            // Gauge and sum: number points.
            _ => PointFields { attributes: 7, exemplars: Some(5) },
        }
    }
}

/// What some bytes of a metric stream's identity encode.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum StreamPart {
    /// A part the stream does not set (no resource, no scope).
    Absent,
    /// An encoded `Resource`.
    Resource,
    /// An encoded `InstrumentationScope`.
    Scope,
    /// A metric name (UTF-8).
    Name,
    /// One point attribute, an encoded `KeyValue`.
    Attribute,
}

const PART_SEED: u64 = 0x7061_7274_2d6b_6579;

/// The hash of one part of a stream's identity. Encoded messages are hashed
/// field by field, skipping fields OTLP does not define at every level, so
/// the wire bytes a client sent and prost's encoding of the decoded message
/// give the same hash (as long as known fields keep their order).
pub fn stream_part(part: StreamPart, bytes: &[u8]) -> u64 {
    let message = match part {
        StreamPart::Absent | StreamPart::Name => return hash_bytes(PART_SEED, bytes),
        StreamPart::Resource => &RESOURCE,
        StreamPart::Scope => &SCOPE,
        StreamPart::Attribute => &KEY_VALUE,
    };
    // Malformed bytes cannot have been accepted at capture; hash them whole rather than fail.
    known_fields_hash(bytes, 0, bytes.len(), message, 0).unwrap_or_else(|_| hash_bytes(PART_SEED, bytes))
}

fn known_fields_hash(buf: &[u8], start: usize, end: usize, message: &Message, depth: u32) -> Result<u64, WireError> {
    let mut h = PART_SEED;
    let mut pos = start;
    while pos < end {
        let (number, wire, at) = reader::key(buf, pos, end)?;
        let next = reader::skip(buf, at, end, number, wire, depth)?;
        let kind = message.kind(number);
        let part = match (kind.message(), wire) {
            _ if matches!(kind, Kind::Unknown) => None,
            (Some(inner), WireType::Len) if depth < MAX_DEPTH => {
                let (from, to) = reader::len_delimited(buf, at, end)?;
                Some(known_fields_hash(buf, from, to, inner, depth + 1)?)
            }
            _ => Some(hash_bytes(PART_SEED, &buf[at..next])),
        };
        if let Some(part) = part {
            h = combine(combine(h, u64::from(number)), part);
        }
        pos = next;
    }
    Ok(h)
}
