//! Realistic OTLP requests for tests: traces with parents, events and links;
//! every metric point type with exemplars; logs with bodies, observed times
//! and trace ids. Timestamps start at `base` and some are deliberately zero.

use otlp_capture_guest::otlp::collector::logs::v1::ExportLogsServiceRequest;
use otlp_capture_guest::otlp::collector::metrics::v1::ExportMetricsServiceRequest;
use otlp_capture_guest::otlp::collector::trace::v1::ExportTraceServiceRequest;
use otlp_capture_guest::otlp::common::v1::any_value::Value;
use otlp_capture_guest::otlp::common::v1::{AnyValue, InstrumentationScope, KeyValue};
use otlp_capture_guest::otlp::logs::v1::{LogRecord, ResourceLogs, ScopeLogs};
use otlp_capture_guest::otlp::metrics::v1::exponential_histogram_data_point::Buckets;
use otlp_capture_guest::otlp::metrics::v1::metric::Data;
use otlp_capture_guest::otlp::metrics::v1::summary_data_point::ValueAtQuantile;
use otlp_capture_guest::otlp::metrics::v1::{
    Exemplar, ExponentialHistogram, ExponentialHistogramDataPoint, Gauge, Histogram, HistogramDataPoint, Metric,
    NumberDataPoint, ResourceMetrics, ScopeMetrics, Sum, Summary, SummaryDataPoint, exemplar, number_data_point,
};
use otlp_capture_guest::otlp::resource::v1::Resource;
use otlp_capture_guest::otlp::trace::v1::span::{Event, Link};
use otlp_capture_guest::otlp::trace::v1::{ResourceSpans, ScopeSpans, Span};

fn attribute(key: &str, value: &str) -> KeyValue {
    KeyValue {
        key: key.into(),
        value: Some(AnyValue { value: Some(Value::StringValue(value.into())) }),
        ..Default::default()
    }
}

fn int_attribute(key: &str, value: i64) -> KeyValue {
    KeyValue { key: key.into(), value: Some(AnyValue { value: Some(Value::IntValue(value)) }), ..Default::default() }
}

fn resource(service: &str) -> Option<Resource> {
    Some(Resource {
        attributes: vec![
            attribute("service.name", service),
            attribute("host.name", "node-1"),
            attribute("cloud.region", "eu-west-1"),
        ],
        ..Default::default()
    })
}

fn scope() -> Option<InstrumentationScope> {
    Some(InstrumentationScope {
        name: "io.opentelemetry.generator".into(),
        version: "1.0".into(),
        attributes: vec![attribute("library.language", "rust")],
        ..Default::default()
    })
}

/// A well-mixed 64-bit value of `n`: the varying part of attribute values
/// (order ids, users, sizes), so payloads compress like real telemetry.
fn noise(n: u64) -> u64 {
    let mut x = n.wrapping_add(0x9E37_79B9_7F4A_7C15);
    x = (x ^ (x >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
    x = (x ^ (x >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
    x ^ (x >> 31)
}

/// The trace id of trace `n`.
pub fn trace_id(n: u64) -> Vec<u8> {
    let mut id = (n + 1).wrapping_mul(0x9E37_79B9_7F4A_7C15).to_be_bytes().to_vec();
    id.extend_from_slice(&(n + 7).wrapping_mul(0xC2B2_AE3D_27D4_EB4F).to_be_bytes());
    id
}

/// The span id of span `s` of trace `n`.
pub fn span_id(n: u64, s: u64) -> Vec<u8> {
    ((n << 16) + s + 1).wrapping_mul(0x1656_67B1_9E37_79F9).to_be_bytes().to_vec()
}

/// `traces` traces of `spans` spans each (a root and its children), each
/// child with an event and a link to the previous trace.
pub fn traces(service: &str, traces: u64, spans: u64, base: u64) -> ExportTraceServiceRequest {
    let mut all = Vec::new();
    for n in 0..traces {
        let start = base + n * 1_000_000;
        for s in 0..spans {
            let span_start = start + s * 1000;
            all.push(Span {
                trace_id: trace_id(n),
                span_id: span_id(n, s),
                parent_span_id: if s == 0 { Vec::new() } else { span_id(n, 0) },
                name: format!("operation-{s}"),
                kind: 2,
                start_time_unix_nano: span_start,
                end_time_unix_nano: span_start + 500 + s * 10,
                attributes: vec![
                    attribute("http.route", "/checkout"),
                    attribute("http.method", "POST"),
                    attribute("url.path", &format!("/checkout/{:016x}/items/{s}", noise(n))),
                    attribute("enduser.id", &format!("user-{}", noise(n) % 100_000)),
                    int_attribute("http.response.body.size", (noise(n << 8 | s) % 50_000) as i64),
                    int_attribute("http.response.status_code", if s % 7 == 6 { 503 } else { 200 }),
                    attribute("server.address", "checkout.internal"),
                    attribute("user_agent.original", "checkout-client/2.3 (linux; amd64)"),
                ],
                events: if s == 0 {
                    Vec::new()
                } else {
                    vec![
                        Event {
                            time_unix_nano: span_start + 100,
                            name: "retry".into(),
                            attributes: vec![
                                attribute("exception.type", "ConnectionReset"),
                                attribute(
                                    "exception.message",
                                    &format!("connection reset by peer 10.0.{}.{}", noise(s) % 256, noise(n) % 256),
                                ),
                                int_attribute("retry.attempt", (s % 3) as i64),
                            ],
                            ..Default::default()
                        },
                        Event { time_unix_nano: 0, name: "unstamped".into(), ..Default::default() },
                    ]
                },
                links: if n == 0 || s == 0 {
                    Vec::new()
                } else {
                    vec![Link { trace_id: trace_id(n - 1), span_id: span_id(n - 1, 0), ..Default::default() }]
                },
                ..Default::default()
            });
        }
    }
    ExportTraceServiceRequest {
        resource_spans: vec![ResourceSpans {
            resource: resource(service),
            scope_spans: vec![ScopeSpans { scope: scope(), spans: all, ..Default::default() }],
            ..Default::default()
        }],
    }
}

fn exemplars(time: u64, n: u64) -> Vec<Exemplar> {
    vec![Exemplar {
        time_unix_nano: time,
        trace_id: trace_id(n),
        span_id: span_id(n, 0),
        value: Some(exemplar::Value::AsDouble(1.5)),
        ..Default::default()
    }]
}

/// One metric of each point type (gauge, sum, histogram, exponential
/// histogram, summary), `points` points each, with exemplars.
pub fn metrics(service: &str, points: u64, base: u64) -> ExportMetricsServiceRequest {
    let times = |p: u64| (if p == 0 { 0 } else { base }, base + p * 1_000_000_000);
    let number = |p| {
        let (start, time) = times(p);
        NumberDataPoint {
            start_time_unix_nano: start,
            time_unix_nano: time,
            value: Some(number_data_point::Value::AsInt(p as i64)),
            exemplars: exemplars(time - 10, p),
            attributes: vec![attribute("result", "ok")],
            ..Default::default()
        }
    };
    let metric =
        |name: &str, data| Metric { name: name.into(), unit: "1".into(), data: Some(data), ..Default::default() };
    let metrics = vec![
        metric("queue.depth", Data::Gauge(Gauge { data_points: (0..points).map(number).collect() })),
        metric(
            "orders",
            Data::Sum(Sum {
                data_points: (0..points).map(number).collect(),
                aggregation_temporality: 2,
                is_monotonic: true,
            }),
        ),
        metric(
            "latency",
            Data::Histogram(Histogram {
                data_points: (0..points)
                    .map(|p| {
                        let (start, time) = times(p);
                        HistogramDataPoint {
                            start_time_unix_nano: start,
                            time_unix_nano: time,
                            count: 3,
                            sum: Some(6.0),
                            bucket_counts: vec![1, 2, 0],
                            explicit_bounds: vec![1.0, 5.0],
                            exemplars: exemplars(time - 20, p),
                            ..Default::default()
                        }
                    })
                    .collect(),
                aggregation_temporality: 2,
            }),
        ),
        metric(
            "latency.exp",
            Data::ExponentialHistogram(ExponentialHistogram {
                data_points: (0..points)
                    .map(|p| {
                        let (start, time) = times(p);
                        ExponentialHistogramDataPoint {
                            start_time_unix_nano: start,
                            time_unix_nano: time,
                            count: 2,
                            scale: 1,
                            positive: Some(Buckets { offset: 0, bucket_counts: vec![1, 1] }),
                            exemplars: exemplars(time - 30, p),
                            ..Default::default()
                        }
                    })
                    .collect(),
                aggregation_temporality: 2,
            }),
        ),
        metric(
            "latency.summary",
            Data::Summary(Summary {
                data_points: (0..points)
                    .map(|p| {
                        let (start, time) = times(p);
                        SummaryDataPoint {
                            start_time_unix_nano: start,
                            time_unix_nano: time,
                            count: 4,
                            sum: 10.0,
                            quantile_values: vec![ValueAtQuantile { quantile: 0.5, value: 2.0 }],
                            ..Default::default()
                        }
                    })
                    .collect(),
            }),
        ),
    ];
    ExportMetricsServiceRequest {
        resource_metrics: vec![ResourceMetrics {
            resource: resource(service),
            scope_metrics: vec![ScopeMetrics { scope: scope(), metrics, ..Default::default() }],
            ..Default::default()
        }],
    }
}

/// `records` log records, each tied to trace `n % traces` (span 0), one
/// in three without a time (observed time only).
pub fn logs(service: &str, records: u64, traces: u64, base: u64) -> ExportLogsServiceRequest {
    let log_records = (0..records)
        .map(|r| {
            let n = r % traces.max(1);
            LogRecord {
                time_unix_nano: if r % 3 == 0 { 0 } else { base + r * 1000 },
                observed_time_unix_nano: base + r * 1000 + 5,
                severity_number: 17,
                severity_text: "ERROR".into(),
                body: Some(AnyValue {
                    value: Some(Value::StringValue(format!(
                        "payment failed for order {:016x}: card declined (code {})",
                        noise(r),
                        noise(r + 1) % 100
                    ))),
                }),
                attributes: vec![attribute("order.id", &r.to_string()), attribute("code.function", "charge_card")],
                trace_id: trace_id(n),
                span_id: span_id(n, 0),
                ..Default::default()
            }
        })
        .collect();
    ExportLogsServiceRequest {
        resource_logs: vec![ResourceLogs {
            resource: resource(service),
            scope_logs: vec![ScopeLogs { scope: scope(), log_records, ..Default::default() }],
            ..Default::default()
        }],
    }
}

/// The benchmarks' requests, protobuf-encoded, of about 1000 items each:
/// 100 traces of 10 spans, 200 points of each metric type, 1000 log records
/// (`traces`, `metrics`, `logs`, in that order).
pub fn bench_requests(base: u64) -> [(&'static str, Vec<u8>); 3] {
    use prost::Message;
    [
        ("traces", traces("checkout", 100, 10, base).encode_to_vec()),
        ("metrics", metrics("checkout", 200, base).encode_to_vec()),
        ("logs", logs("checkout", 1000, 100, base).encode_to_vec()),
    ]
}
