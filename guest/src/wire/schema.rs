//! The OTLP messages as the wire-format walker sees them: for each field
//! number, what it holds and what role it plays (timestamp, id, item).
//!
//! Field numbers follow opentelemetry-proto (common, resource, trace,
//! metrics and logs v1). Fields not listed are skipped as unknown fields,
//! as prost does.

/// What a field holds.
#[derive(Debug, Clone, Copy)]
pub enum Kind {
    /// Not part of the message: skipped whatever its wire type.
    Unknown,
    /// A varint scalar (integers, bools, enums).
    Varint,
    /// An 8-byte scalar (double, fixed64, sfixed64) that is not a timestamp.
    Fixed64,
    /// A 4-byte scalar (fixed32 flags).
    Fixed32,
    /// Bytes that are not an id.
    Bytes,
    /// A string: must be UTF-8.
    Str,
    /// A repeated varint scalar, packed or not.
    RepeatedVarint,
    /// A repeated 8-byte scalar, packed or not.
    RepeatedFixed64,
    /// A nested message.
    Message(&'static Message),
    /// A nested `KeyValue`: the most frequent message by far, walked by a
    /// path of its own.
    Attribute,
    /// One case of the metric `data` oneof.
    DataCase(&'static Message),
    /// A singular fixed64 unix-nanos timestamp.
    Timestamp,
    /// A singular trace id; `checked` ids must be empty or 16 bytes.
    TraceId {
        /// Whether the length is enforced.
        checked: bool,
    },
    /// A singular span id; `checked` ids must be empty or 8 bytes.
    SpanId {
        /// Whether the length is enforced.
        checked: bool,
    },
}

/// What a message stands for in a request's summary.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Role {
    /// Nothing counted.
    Plain,
    /// A resource batch (`ResourceSpans`, `ResourceMetrics`, `ResourceLogs`).
    Resource,
    /// One item: a span, a data point or a log record.
    Item,
}

/// A message: its fields indexed by field number.
#[derive(Debug)]
pub struct Message {
    /// The protobuf message name, for errors.
    pub name: &'static str,
    /// Kind of each field number; numbers past the end are unknown.
    pub fields: &'static [Kind],
    /// Role in the summary.
    pub role: Role,
    /// Whether timestamps, ids or items can sit inside: a walk that only
    /// looks for those skips the other messages whole.
    pub timed: bool,
    /// The one-byte key of the message's attributes field, for the walk to
    /// tell its most frequent field by that byte alone; past `u8::MAX` when
    /// it has none (or its number needs a longer key).
    pub attributes_key: u16,
}

impl Kind {
    /// The message a message field holds.
    pub fn message(self) -> Option<&'static Message> {
        match self {
            Kind::Message(m) | Kind::DataCase(m) => Some(m),
            Kind::Attribute => Some(&KEY_VALUE),
            _ => None,
        }
    }
}

impl Message {
    /// The kind of field `number`.
    #[inline]
    pub fn kind(&self, number: u32) -> Kind {
        self.fields.get(number as usize).copied().unwrap_or(Kind::Unknown)
    }
}

use Kind::{
    Attribute, Bytes, DataCase, Fixed32, Fixed64, RepeatedFixed64, RepeatedVarint, SpanId, Str, Timestamp, TraceId,
    Unknown as U, Varint,
};

/// See [`Message::attributes_key`].
const fn attributes_key(fields: &[Kind]) -> u16 {
    let mut number = 0;
    while number < fields.len() && number < 16 {
        if let Attribute = fields[number] {
            return (number as u16) << 3 | 2;
        }
        number += 1;
    }
    NO_KEY
}

/// No key byte is this.
const NO_KEY: u16 = 0x100;

/// A message holding no timestamp, id or item.
const fn plain(name: &'static str, fields: &'static [Kind]) -> Message {
    Message { name, fields, role: Role::Plain, timed: false, attributes_key: attributes_key(fields) }
}

/// A message on the way to timestamps, ids or items.
const fn node(name: &'static str, fields: &'static [Kind]) -> Message {
    Message { name, fields, role: Role::Plain, timed: true, attributes_key: attributes_key(fields) }
}

const fn item(name: &'static str, fields: &'static [Kind]) -> Message {
    Message { name, fields, role: Role::Item, timed: true, attributes_key: attributes_key(fields) }
}

const fn resource(name: &'static str, fields: &'static [Kind]) -> Message {
    Message { name, fields, role: Role::Resource, timed: true, attributes_key: attributes_key(fields) }
}

const fn m(message: &'static Message) -> Kind {
    Kind::Message(message)
}

const CHECKED_TRACE: Kind = TraceId { checked: true };
const CHECKED_SPAN: Kind = SpanId { checked: true };

// common.v1
/// `AnyValue`: string 1, bool 2, int 3, double 4, array 5, kvlist 6,
/// bytes 7, string-table index 8.
pub static ANY_VALUE: Message =
    plain("AnyValue", &[U, Str, Varint, Varint, Fixed64, m(&ARRAY_VALUE), m(&KEY_VALUE_LIST), Bytes, Varint]);
/// `ArrayValue`.
pub static ARRAY_VALUE: Message = plain("ArrayValue", &[U, m(&ANY_VALUE)]);
/// `KeyValueList`.
pub static KEY_VALUE_LIST: Message = plain("KeyValueList", &[U, Attribute]);
/// `KeyValue`: key 1, value 2.
pub static KEY_VALUE: Message = plain("KeyValue", &[U, Str, m(&ANY_VALUE), Varint]);
/// `InstrumentationScope`.
pub static SCOPE: Message = plain("InstrumentationScope", &[U, Str, Str, Attribute, Varint]);
static ENTITY_REF: Message = plain("EntityRef", &[U, Str, Str, Str, Str]);
/// `Resource`: attributes 1.
pub static RESOURCE: Message = plain("Resource", &[U, Attribute, Varint, m(&ENTITY_REF)]);

// trace.v1
static STATUS: Message = plain("Status", &[U, U, Str, Varint]);
static EVENT: Message = node("Span.Event", &[U, Timestamp, Str, Attribute, Varint]);
static LINK: Message = node("Span.Link", &[U, CHECKED_TRACE, CHECKED_SPAN, Str, Attribute, Varint, Fixed32]);
static SPAN: Message = item(
    "Span",
    &[
        U,
        CHECKED_TRACE,
        CHECKED_SPAN,
        Str,
        CHECKED_SPAN,
        Str,
        Varint,
        Timestamp,
        Timestamp,
        Attribute,
        Varint,
        m(&EVENT),
        Varint,
        m(&LINK),
        Varint,
        m(&STATUS),
        Fixed32,
    ],
);
static SCOPE_SPANS: Message = node("ScopeSpans", &[U, m(&SCOPE), m(&SPAN), Str]);
static RESOURCE_SPANS: Message = resource("ResourceSpans", &[U, m(&RESOURCE), m(&SCOPE_SPANS), Str]);
/// `ExportTraceServiceRequest`.
pub static TRACES_REQUEST: Message = node("ExportTraceServiceRequest", &[U, m(&RESOURCE_SPANS)]);

// logs.v1
static LOG_RECORD: Message = item(
    "LogRecord",
    &[
        U,
        Timestamp,
        Varint,
        Str,
        U,
        m(&ANY_VALUE),
        Attribute,
        Varint,
        Fixed32,
        CHECKED_TRACE,
        CHECKED_SPAN,
        Timestamp,
        Str,
    ],
);
static SCOPE_LOGS: Message = node("ScopeLogs", &[U, m(&SCOPE), m(&LOG_RECORD), Str]);
static RESOURCE_LOGS: Message = resource("ResourceLogs", &[U, m(&RESOURCE), m(&SCOPE_LOGS), Str]);
/// `ExportLogsServiceRequest`.
pub static LOGS_REQUEST: Message = node("ExportLogsServiceRequest", &[U, m(&RESOURCE_LOGS)]);

// metrics.v1
static EXEMPLAR: Message = node(
    "Exemplar",
    &[U, U, Timestamp, Fixed64, SpanId { checked: false }, TraceId { checked: false }, Fixed64, Attribute],
);
static NUMBER_POINT: Message =
    item("NumberDataPoint", &[U, U, Timestamp, Timestamp, Fixed64, m(&EXEMPLAR), Fixed64, Attribute, Varint]);
static HISTOGRAM_POINT: Message = item(
    "HistogramDataPoint",
    &[
        U,
        U,
        Timestamp,
        Timestamp,
        Fixed64,
        Fixed64,
        RepeatedFixed64,
        RepeatedFixed64,
        m(&EXEMPLAR),
        Attribute,
        Varint,
        Fixed64,
        Fixed64,
    ],
);
static BUCKETS: Message = plain("ExponentialHistogramDataPoint.Buckets", &[U, Varint, RepeatedVarint]);
static EXPONENTIAL_POINT: Message = item(
    "ExponentialHistogramDataPoint",
    &[
        U,
        Attribute,
        Timestamp,
        Timestamp,
        Fixed64,
        Fixed64,
        Varint,
        Fixed64,
        m(&BUCKETS),
        m(&BUCKETS),
        Varint,
        m(&EXEMPLAR),
        Fixed64,
        Fixed64,
        Fixed64,
    ],
);
static QUANTILE: Message = plain("SummaryDataPoint.ValueAtQuantile", &[U, Fixed64, Fixed64]);
static SUMMARY_POINT: Message =
    item("SummaryDataPoint", &[U, U, Timestamp, Timestamp, Fixed64, Fixed64, m(&QUANTILE), Attribute, Varint]);
static GAUGE: Message = node("Gauge", &[U, m(&NUMBER_POINT)]);
static SUM: Message = node("Sum", &[U, m(&NUMBER_POINT), Varint, Varint]);
static HISTOGRAM: Message = node("Histogram", &[U, m(&HISTOGRAM_POINT), Varint]);
static EXPONENTIAL_HISTOGRAM: Message = node("ExponentialHistogram", &[U, m(&EXPONENTIAL_POINT), Varint]);
static SUMMARY: Message = node("Summary", &[U, m(&SUMMARY_POINT)]);
static METRIC: Message = node(
    "Metric",
    &[
        U,
        Str,
        Str,
        Str,
        U,
        DataCase(&GAUGE),
        U,
        DataCase(&SUM),
        U,
        DataCase(&HISTOGRAM),
        DataCase(&EXPONENTIAL_HISTOGRAM),
        DataCase(&SUMMARY),
        Attribute,
    ],
);
static SCOPE_METRICS: Message = node("ScopeMetrics", &[U, m(&SCOPE), m(&METRIC), Str]);
static RESOURCE_METRICS: Message = resource("ResourceMetrics", &[U, m(&RESOURCE), m(&SCOPE_METRICS), Str]);
/// `ExportMetricsServiceRequest`.
pub static METRICS_REQUEST: Message = node("ExportMetricsServiceRequest", &[U, m(&RESOURCE_METRICS)]);
