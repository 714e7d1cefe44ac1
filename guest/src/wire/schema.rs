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
}

impl Message {
    /// The kind of field `number`.
    #[inline]
    pub fn kind(&self, number: u32) -> Kind {
        self.fields.get(number as usize).copied().unwrap_or(Kind::Unknown)
    }
}

use Kind::{
    Bytes, DataCase, Fixed32, Fixed64, RepeatedFixed64, RepeatedVarint, SpanId, Str, Timestamp, TraceId, Unknown as U,
    Varint,
};

const fn plain(name: &'static str, fields: &'static [Kind]) -> Message {
    Message { name, fields, role: Role::Plain }
}

const fn item(name: &'static str, fields: &'static [Kind]) -> Message {
    Message { name, fields, role: Role::Item }
}

const fn resource(name: &'static str, fields: &'static [Kind]) -> Message {
    Message { name, fields, role: Role::Resource }
}

const fn m(message: &'static Message) -> Kind {
    Kind::Message(message)
}

const CHECKED_TRACE: Kind = TraceId { checked: true };
const CHECKED_SPAN: Kind = SpanId { checked: true };

// common.v1
static ANY_VALUE: Message =
    plain("AnyValue", &[U, Str, Varint, Varint, Fixed64, m(&ARRAY_VALUE), m(&KEY_VALUE_LIST), Bytes, Varint]);
static ARRAY_VALUE: Message = plain("ArrayValue", &[U, m(&ANY_VALUE)]);
static KEY_VALUE_LIST: Message = plain("KeyValueList", &[U, m(&KEY_VALUE)]);
/// `KeyValue`: key 1, value 2.
pub static KEY_VALUE: Message = plain("KeyValue", &[U, Str, m(&ANY_VALUE), Varint]);
static SCOPE: Message = plain("InstrumentationScope", &[U, Str, Str, m(&KEY_VALUE), Varint]);
static ENTITY_REF: Message = plain("EntityRef", &[U, Str, Str, Str, Str]);
/// `Resource`: attributes 1.
pub static RESOURCE: Message = plain("Resource", &[U, m(&KEY_VALUE), Varint, m(&ENTITY_REF)]);

// trace.v1
static STATUS: Message = plain("Status", &[U, U, Str, Varint]);
static EVENT: Message = plain("Span.Event", &[U, Timestamp, Str, m(&KEY_VALUE), Varint]);
static LINK: Message = plain("Span.Link", &[U, CHECKED_TRACE, CHECKED_SPAN, Str, m(&KEY_VALUE), Varint, Fixed32]);
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
        m(&KEY_VALUE),
        Varint,
        m(&EVENT),
        Varint,
        m(&LINK),
        Varint,
        m(&STATUS),
        Fixed32,
    ],
);
static SCOPE_SPANS: Message = plain("ScopeSpans", &[U, m(&SCOPE), m(&SPAN), Str]);
static RESOURCE_SPANS: Message = resource("ResourceSpans", &[U, m(&RESOURCE), m(&SCOPE_SPANS), Str]);
/// `ExportTraceServiceRequest`.
pub static TRACES_REQUEST: Message = plain("ExportTraceServiceRequest", &[U, m(&RESOURCE_SPANS)]);

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
        m(&KEY_VALUE),
        Varint,
        Fixed32,
        CHECKED_TRACE,
        CHECKED_SPAN,
        Timestamp,
        Str,
    ],
);
static SCOPE_LOGS: Message = plain("ScopeLogs", &[U, m(&SCOPE), m(&LOG_RECORD), Str]);
static RESOURCE_LOGS: Message = resource("ResourceLogs", &[U, m(&RESOURCE), m(&SCOPE_LOGS), Str]);
/// `ExportLogsServiceRequest`.
pub static LOGS_REQUEST: Message = plain("ExportLogsServiceRequest", &[U, m(&RESOURCE_LOGS)]);

// metrics.v1
static EXEMPLAR: Message = plain(
    "Exemplar",
    &[U, U, Timestamp, Fixed64, SpanId { checked: false }, TraceId { checked: false }, Fixed64, m(&KEY_VALUE)],
);
static NUMBER_POINT: Message =
    item("NumberDataPoint", &[U, U, Timestamp, Timestamp, Fixed64, m(&EXEMPLAR), Fixed64, m(&KEY_VALUE), Varint]);
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
        m(&KEY_VALUE),
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
        m(&KEY_VALUE),
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
    item("SummaryDataPoint", &[U, U, Timestamp, Timestamp, Fixed64, Fixed64, m(&QUANTILE), m(&KEY_VALUE), Varint]);
static GAUGE: Message = plain("Gauge", &[U, m(&NUMBER_POINT)]);
static SUM: Message = plain("Sum", &[U, m(&NUMBER_POINT), Varint, Varint]);
static HISTOGRAM: Message = plain("Histogram", &[U, m(&HISTOGRAM_POINT), Varint]);
static EXPONENTIAL_HISTOGRAM: Message = plain("ExponentialHistogram", &[U, m(&EXPONENTIAL_POINT), Varint]);
static SUMMARY: Message = plain("Summary", &[U, m(&SUMMARY_POINT)]);
static METRIC: Message = plain(
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
        m(&KEY_VALUE),
    ],
);
static SCOPE_METRICS: Message = plain("ScopeMetrics", &[U, m(&SCOPE), m(&METRIC), Str]);
static RESOURCE_METRICS: Message = resource("ResourceMetrics", &[U, m(&RESOURCE), m(&SCOPE_METRICS), Str]);
/// `ExportMetricsServiceRequest`.
pub static METRICS_REQUEST: Message = plain("ExportMetricsServiceRequest", &[U, m(&RESOURCE_METRICS)]);
