//! The wire-format path held to the decoding path on generated requests:
//! unknown fields at every level, packed and unpacked repeated scalars,
//! missing resources, session attributes already present, zero and extreme
//! timestamps; and both paths accept and refuse the same corrupted bytes.

use crate::capabilities::NoPseudonyms;
use crate::otlp::collector::logs::v1::ExportLogsServiceRequest;
use crate::otlp::collector::metrics::v1::ExportMetricsServiceRequest;
use crate::otlp::collector::trace::v1::ExportTraceServiceRequest;
use crate::otlp::common::v1::any_value::Value;
use crate::otlp::common::v1::{AnyValue, ArrayValue, InstrumentationScope, KeyValue, KeyValueList};
use crate::otlp::logs::v1::{LogRecord, ResourceLogs, ScopeLogs};
use crate::otlp::metrics::v1::exponential_histogram_data_point::Buckets;
use crate::otlp::metrics::v1::metric::Data;
use crate::otlp::metrics::v1::{
    Exemplar, ExponentialHistogram, ExponentialHistogramDataPoint, Gauge, Histogram, HistogramDataPoint, Metric,
    NumberDataPoint, ResourceMetrics, ScopeMetrics, Sum, Summary, SummaryDataPoint, exemplar, number_data_point,
    summary_data_point::ValueAtQuantile,
};
use crate::otlp::resource::v1::Resource;
use crate::otlp::trace::v1::span::{Event, Link};
use crate::otlp::trace::v1::{ResourceSpans, ScopeSpans, Span, Status};
use fastrand::Rng;
use prost::Message as _;

use crate::codec::OtlpRequest;
use crate::filter::Filter;
use crate::records::{PayloadEncoding, SessionConfig, Signal};
use crate::replay::{self, ReplayOptions};
use crate::tag_keys::{ENABLED_FLAGS_KEY, SESSION_ID_KEY};
use crate::timestamps::{self, Rewrite};
use crate::timing::{self, Planned};
use crate::wire::reader::{self, WireType};
use crate::wire::scan::request_message;
use crate::wire::schema::{Kind, Message};
use crate::wire::*;
use crate::{gzip, processor};

const CASES: u64 = 300;

fn text(rng: &mut Rng) -> String {
    ["", "a", "checkout", "ünïcødé ✓", "service.name", SESSION_ID_KEY, ENABLED_FLAGS_KEY][rng.usize(..7)].to_owned()
}

fn any_value(rng: &mut Rng, depth: u32) -> AnyValue {
    let value = match rng.u8(..if depth > 1 { 6 } else { 8 }) {
        0 => Value::StringValue(text(rng)),
        1 => Value::BoolValue(rng.bool()),
        2 => Value::IntValue(rng.i64(..)),
        3 => Value::DoubleValue(rng.f64()),
        4 => Value::BytesValue((0..rng.usize(..5)).map(|_| rng.u8(..)).collect()),
        5 => return AnyValue { value: None },
        6 => Value::ArrayValue(ArrayValue { values: (0..rng.usize(..3)).map(|_| any_value(rng, depth + 1)).collect() }),
        _ => Value::KvlistValue(KeyValueList { values: attributes(rng, depth + 1) }),
    };
    AnyValue { value: Some(value) }
}

fn attributes(rng: &mut Rng, depth: u32) -> Vec<KeyValue> {
    (0..rng.usize(..4))
        .map(|_| KeyValue {
            key: text(rng),
            value: rng.bool().then(|| any_value(rng, depth)),
            key_strindex: if rng.u8(..8) == 0 { rng.i32(..) } else { 0 },
        })
        .collect()
}

fn resource(rng: &mut Rng) -> Option<Resource> {
    rng.u8(..5).ne(&0).then(|| Resource {
        attributes: attributes(rng, 0),
        dropped_attributes_count: rng.u32(..3),
        ..Default::default()
    })
}

fn scope(rng: &mut Rng) -> Option<InstrumentationScope> {
    rng.bool().then(|| InstrumentationScope {
        name: text(rng),
        version: text(rng),
        attributes: attributes(rng, 0),
        dropped_attributes_count: 0,
    })
}

fn time(rng: &mut Rng) -> u64 {
    match rng.u8(..10) {
        0 => 0,
        1 => u64::MAX - rng.u64(..3),
        2 => rng.u64(1..100),
        _ => 1_700_000_000_000_000_000 + rng.u64(..1_000_000_000_000),
    }
}

fn id(rng: &mut Rng, len: usize) -> Vec<u8> {
    match rng.u8(..6) {
        0 => Vec::new(),
        1 => vec![0; len],
        _ => (0..len).map(|_| rng.u8(..)).collect(),
    }
}

fn traces(rng: &mut Rng) -> ExportTraceServiceRequest {
    let span = |rng: &mut Rng| Span {
        trace_id: id(rng, 16),
        span_id: id(rng, 8),
        trace_state: text(rng),
        parent_span_id: id(rng, 8),
        flags: rng.u32(..),
        name: text(rng),
        kind: rng.i32(0..6),
        start_time_unix_nano: time(rng),
        end_time_unix_nano: time(rng),
        attributes: attributes(rng, 0),
        dropped_attributes_count: rng.u32(..2),
        events: (0..rng.usize(..3))
            .map(|_| Event {
                time_unix_nano: time(rng),
                name: text(rng),
                attributes: attributes(rng, 0),
                dropped_attributes_count: 0,
            })
            .collect(),
        dropped_events_count: 0,
        links: (0..rng.usize(..3))
            .map(|_| Link {
                trace_id: id(rng, 16),
                span_id: id(rng, 8),
                trace_state: text(rng),
                attributes: attributes(rng, 0),
                dropped_attributes_count: 0,
                flags: rng.u32(..),
            })
            .collect(),
        dropped_links_count: 0,
        status: rng.bool().then(|| Status { message: text(rng), code: rng.i32(0..3) }),
    };
    ExportTraceServiceRequest {
        resource_spans: (0..rng.usize(..4))
            .map(|_| ResourceSpans {
                resource: resource(rng),
                scope_spans: (0..rng.usize(..3))
                    .map(|_| ScopeSpans {
                        scope: scope(rng),
                        spans: (0..rng.usize(..5)).map(|_| span(rng)).collect(),
                        schema_url: text(rng),
                    })
                    .collect(),
                schema_url: text(rng),
            })
            .collect(),
    }
}

fn exemplars(rng: &mut Rng) -> Vec<Exemplar> {
    (0..rng.usize(..3))
        .map(|_| Exemplar {
            filtered_attributes: attributes(rng, 0),
            time_unix_nano: time(rng),
            span_id: id(rng, 8),
            trace_id: id(rng, 16),
            value: Some(if rng.bool() {
                exemplar::Value::AsDouble(rng.f64())
            } else {
                exemplar::Value::AsInt(rng.i64(..))
            }),
        })
        .collect()
}

fn number_points(rng: &mut Rng) -> Vec<NumberDataPoint> {
    (0..rng.usize(..4))
        .map(|_| NumberDataPoint {
            attributes: attributes(rng, 0),
            start_time_unix_nano: time(rng),
            time_unix_nano: time(rng),
            exemplars: exemplars(rng),
            flags: rng.u32(..2),
            value: Some(number_data_point::Value::AsInt(rng.i64(..))),
        })
        .collect()
}

fn data(rng: &mut Rng) -> Option<Data> {
    let buckets = |rng: &mut Rng| Buckets {
        offset: rng.i32(-5..5),
        bucket_counts: (0..rng.usize(..6)).map(|_| rng.u64(..1 << 40)).collect(),
    };
    Some(match rng.u8(..6) {
        0 => return None,
        1 => Data::Gauge(Gauge { data_points: number_points(rng) }),
        2 => Data::Sum(Sum { data_points: number_points(rng), aggregation_temporality: 2, is_monotonic: rng.bool() }),
        3 => Data::Histogram(Histogram {
            data_points: (0..rng.usize(..3))
                .map(|_| HistogramDataPoint {
                    attributes: attributes(rng, 0),
                    start_time_unix_nano: time(rng),
                    time_unix_nano: time(rng),
                    count: rng.u64(..),
                    sum: rng.bool().then(|| rng.f64()),
                    bucket_counts: (0..rng.usize(..6)).map(|_| rng.u64(..)).collect(),
                    explicit_bounds: (0..rng.usize(..5)).map(|_| rng.f64()).collect(),
                    exemplars: exemplars(rng),
                    flags: 0,
                    min: rng.bool().then(|| rng.f64()),
                    max: None,
                })
                .collect(),
            aggregation_temporality: 1,
        }),
        4 => Data::ExponentialHistogram(ExponentialHistogram {
            data_points: (0..rng.usize(..3))
                .map(|_| ExponentialHistogramDataPoint {
                    attributes: attributes(rng, 0),
                    start_time_unix_nano: time(rng),
                    time_unix_nano: time(rng),
                    count: rng.u64(..),
                    sum: Some(rng.f64()),
                    scale: rng.i32(-10..20),
                    zero_count: rng.u64(..9),
                    positive: rng.bool().then(|| buckets(rng)),
                    negative: rng.bool().then(|| buckets(rng)),
                    flags: 0,
                    exemplars: exemplars(rng),
                    min: None,
                    max: Some(rng.f64()),
                    zero_threshold: rng.f64(),
                })
                .collect(),
            aggregation_temporality: 2,
        }),
        _ => Data::Summary(Summary {
            data_points: (0..rng.usize(..3))
                .map(|_| SummaryDataPoint {
                    attributes: attributes(rng, 0),
                    start_time_unix_nano: time(rng),
                    time_unix_nano: time(rng),
                    count: rng.u64(..),
                    sum: rng.f64(),
                    quantile_values: (0..rng.usize(..3))
                        .map(|_| ValueAtQuantile { quantile: rng.f64(), value: rng.f64() })
                        .collect(),
                    flags: 0,
                })
                .collect(),
        }),
    })
}

fn metrics(rng: &mut Rng) -> ExportMetricsServiceRequest {
    ExportMetricsServiceRequest {
        resource_metrics: (0..rng.usize(..4))
            .map(|_| ResourceMetrics {
                resource: resource(rng),
                scope_metrics: (0..rng.usize(..3))
                    .map(|_| ScopeMetrics {
                        scope: scope(rng),
                        metrics: (0..rng.usize(..4))
                            .map(|_| Metric {
                                name: text(rng),
                                description: text(rng),
                                unit: text(rng),
                                metadata: attributes(rng, 0),
                                data: data(rng),
                            })
                            .collect(),
                        schema_url: String::new(),
                    })
                    .collect(),
                schema_url: text(rng),
            })
            .collect(),
    }
}

fn logs(rng: &mut Rng) -> ExportLogsServiceRequest {
    ExportLogsServiceRequest {
        resource_logs: (0..rng.usize(..4))
            .map(|_| ResourceLogs {
                resource: resource(rng),
                scope_logs: (0..rng.usize(..3))
                    .map(|_| ScopeLogs {
                        scope: scope(rng),
                        log_records: (0..rng.usize(..5))
                            .map(|_| LogRecord {
                                time_unix_nano: time(rng),
                                observed_time_unix_nano: time(rng),
                                severity_number: rng.i32(0..25),
                                severity_text: text(rng),
                                body: rng.bool().then(|| any_value(rng, 0)),
                                attributes: attributes(rng, 0),
                                dropped_attributes_count: 0,
                                flags: rng.u32(..),
                                trace_id: id(rng, 16),
                                span_id: id(rng, 8),
                                event_name: text(rng),
                            })
                            .collect(),
                        schema_url: text(rng),
                    })
                    .collect(),
                schema_url: String::new(),
            })
            .collect(),
    }
}

/// A generated request of `signal`, protobuf-encoded.
fn generated(rng: &mut Rng, signal: Signal) -> Vec<u8> {
    match signal {
        Signal::Traces => traces(rng).encode_to_vec(),
        Signal::Metrics => metrics(rng).encode_to_vec(),
        Signal::Logs => logs(rng).encode_to_vec(),
    }
}

/// An unknown field (numbers 20 and up are unknown in every OTLP message).
fn unknown_field(rng: &mut Rng, out: &mut Vec<u8>) {
    let number = rng.u32(20..5000);
    match rng.u8(..5) {
        0 => {
            reader::put_varint(out, u64::from(number << 3));
            reader::put_varint(out, rng.u64(..));
        }
        1 => {
            reader::put_varint(out, u64::from(number << 3 | 1));
            out.extend_from_slice(&rng.u64(..).to_le_bytes());
        }
        2 => {
            let body: Vec<u8> = (0..rng.usize(..6)).map(|_| rng.u8(..)).collect();
            reader::put_len_header(out, number, body.len());
            out.extend_from_slice(&body);
        }
        3 => {
            reader::put_varint(out, u64::from(number << 3 | 5));
            out.extend_from_slice(&rng.u32(..).to_le_bytes());
        }
        _ => {
            reader::put_varint(out, u64::from(number << 3 | 3));
            reader::put_varint(out, 7 << 3);
            reader::put_varint(out, rng.u64(..));
            reader::put_varint(out, u64::from(number << 3 | 4));
        }
    }
}

/// Re-encodes `buf[start..end]`, a `message`, with unknown fields slipped in
/// at every level and packed repeated scalars sometimes written unpacked.
fn disguise(rng: &mut Rng, message: &'static Message, buf: &[u8], start: usize, end: usize) -> Vec<u8> {
    let mut out = Vec::new();
    let mut pos = start;
    while pos < end {
        if rng.u8(..6) == 0 {
            unknown_field(rng, &mut out);
        }
        let (number, wire, at) = reader::key(buf, pos, end).unwrap();
        let next = reader::skip(buf, at, end, number, wire, 0).unwrap();
        match (message.kind(number), wire) {
            (kind, WireType::Len) if kind.message().is_some() => {
                let inner = kind.message().unwrap();
                let (body_start, body_end) = reader::len_delimited(buf, at, end).unwrap();
                let body = disguise(rng, inner, buf, body_start, body_end);
                reader::put_len_header(&mut out, number, body.len());
                out.extend_from_slice(&body);
            }
            (Kind::RepeatedFixed64, WireType::Len) if rng.bool() => {
                let (body_start, body_end) = reader::len_delimited(buf, at, end).unwrap();
                for value in buf[body_start..body_end].chunks(8) {
                    reader::put_varint(&mut out, u64::from(number << 3 | 1));
                    out.extend_from_slice(value);
                }
            }
            (Kind::RepeatedVarint, WireType::Len) if rng.bool() => {
                let (mut at, body_end) = reader::len_delimited(buf, at, end).unwrap();
                while at < body_end {
                    let (value, after) = reader::varint(buf, at, body_end).unwrap();
                    reader::put_varint(&mut out, u64::from(number << 3));
                    reader::put_varint(&mut out, value);
                    at = after;
                }
            }
            _ => out.extend_from_slice(&buf[pos..next]),
        }
        pos = next;
    }
    if rng.u8(..4) == 0 {
        unknown_field(rng, &mut out);
    }
    out
}

fn request(rng: &mut Rng, signal: Signal) -> Vec<u8> {
    let plain = generated(rng, signal);
    if rng.u8(..4) == 0 { plain } else { disguise(rng, request_message(signal), &plain, 0, plain.len()) }
}

fn decoded(signal: Signal, protobuf: &[u8]) -> OtlpRequest {
    OtlpRequest::decode(signal, PayloadEncoding::Protobuf, protobuf).unwrap()
}

fn config(rng: &mut Rng) -> SessionConfig {
    SessionConfig {
        session_id: "s-42".into(),
        diagnostic_session_id: None,
        description: None,
        enabled_flags: if rng.bool() { vec!["a".into(), "ünï".into()] } else { Vec::new() },
        capture_traces: true,
        capture_metrics: true,
        capture_logs: true,
        sample_ratio: 1.0,
        created_by: "test".into(),
        max_size_bytes: None,
        max_duration_millis: None,
        gzip_level: None,
        redaction: None,
    }
}

#[test]
fn capture_on_the_wire_decodes_to_what_decoding_produces() {
    let mut rng = Rng::with_seed(7);
    for case in 0..CASES {
        for signal in Signal::ALL {
            let payload = request(&mut rng, signal);
            let config = config(&mut rng);
            let scan = Scan::of(signal, &payload, Collect::Summary).unwrap();
            assert!(!scan.irregular, "case {case}: generated requests are regular");
            let fast = processor::prepare(&config, signal, PayloadEncoding::Protobuf, &payload, &NoPseudonyms)
                .unwrap()
                .unwrap();
            let slow =
                processor::prepare_by_decoding(&config, signal, PayloadEncoding::Protobuf, &payload, &NoPseudonyms)
                    .unwrap()
                    .unwrap();
            assert_eq!(decoded(signal, &fast.protobuf), decoded(signal, &slow.protobuf), "case {case} {signal:?}");
            assert_eq!(fast.summary, slow.summary, "case {case} {signal:?}");
            assert_eq!(fast.bytes_in, slow.bytes_in);
            let mut request = decoded(signal, &payload);
            let summary = processor::summarize(signal, PayloadEncoding::Protobuf, &payload).unwrap();
            assert_eq!(summary, crate::summary::of(&mut request), "case {case} {signal:?}");
        }
    }
}

#[test]
fn replay_on_the_wire_decodes_to_what_decoding_produces() {
    let mut rng = Rng::with_seed(11);
    for case in 0..CASES {
        for signal in Signal::ALL {
            let object = gzip::compress(&request(&mut rng, signal), 1);
            let rewrite = match rng.u8(..5) {
                0 => Rewrite::None,
                1 => Rewrite::Shift(rng.i64(..)),
                2 => Rewrite::Shift(rng.i64(-1_000_000_000..1_000_000_000)),
                3 => Rewrite::NewestAt(rng.u64(..)),
                _ => Rewrite::Planned(some_shifts(&mut rng, &object_keys(signal, &object))),
            };
            let options = ReplayOptions {
                rewrite,
                id_remap_seed: rng.bool().then(|| rng.u64(..)),
                filter: Filter::default(),
                max_uncompressed_bytes: 1 << 24,
            };
            let fast = replay::prepare(signal, &object, &options).unwrap().unwrap();
            let slow = replay::prepare_by_decoding(signal, &object, &options).unwrap().unwrap();
            assert_eq!(decoded(signal, &fast.payload), decoded(signal, &slow.payload), "case {case} {signal:?}");
            assert_eq!((fast.summary, fast.applied_shift), (slow.summary, slow.applied_shift), "case {case}");
        }
    }
}

/// The group keys of a stored object, as decoding sees them.
fn object_keys(signal: Signal, object: &[u8]) -> Vec<u64> {
    let mut request = decoded(signal, &gzip::decompress(object, 1 << 24).unwrap());
    let mut keys = Vec::new();
    timestamps::for_each_keyed_mut(&mut request, |key, _| keys.push(key));
    keys
}

/// Shifts for a random half of `keys`, the others left to move with the ungrouped items.
fn some_shifts(rng: &mut Rng, keys: &[u64]) -> Planned {
    let mut shifts = Vec::new();
    for &key in keys {
        if key != timing::UNGROUPED && rng.bool() {
            shifts.push((key, rng.i64(-1 << 40..1 << 40)));
        }
    }
    shifts.sort_unstable();
    shifts.dedup_by_key(|(k, _)| *k);
    Planned { shifts, ungrouped_newest_at: rng.u64(..) }
}

#[test]
fn groups_on_the_wire_are_the_groups_decoding_finds() {
    let mut rng = Rng::with_seed(17);
    let mut streams = std::collections::HashSet::new();
    for case in 0..CASES {
        for signal in Signal::ALL {
            let payload = request(&mut rng, signal);
            let on_wire: Vec<(u64, u64)> = keyed_stamps(signal, &payload)
                .unwrap()
                .into_iter()
                .map(|(key, at)| (key, u64::from_le_bytes(payload[at..at + 8].try_into().unwrap())))
                .filter(|(_, t)| *t != 0)
                .collect();
            // Decoding also visits the unset (zero) fields the wire leaves out.
            let mut by_decoding = Vec::new();
            timestamps::for_each_keyed_mut(&mut decoded(signal, &payload), |key, t| {
                if *t != 0 {
                    by_decoding.push((key, *t));
                }
            });
            assert_eq!(on_wire, by_decoding, "case {case} {signal:?}");
            if signal == Signal::Metrics {
                streams.extend(on_wire.iter().map(|(key, _)| *key));
            }
        }
    }
    assert!(streams.len() > 100, "generated metrics cover many streams: {}", streams.len());
}

#[test]
fn corrupted_requests_are_refused_exactly_when_decoding_refuses_them() {
    let mut rng = Rng::with_seed(13);
    let (mut refused, mut accepted) = (0, 0);
    for _ in 0..CASES * 10 {
        let signal = Signal::ALL[rng.usize(..3)];
        let mut payload = request(&mut rng, signal);
        if payload.is_empty() {
            continue;
        }
        match rng.u8(..3) {
            0 => {
                let at = rng.usize(..payload.len());
                payload[at] ^= 1 << rng.u8(..8);
            }
            1 => payload.truncate(rng.usize(..payload.len())),
            _ => {
                let at = rng.usize(..payload.len());
                payload[at] = rng.u8(..);
            }
        }
        let by_decoding = OtlpRequest::decode(signal, PayloadEncoding::Protobuf, &payload);
        match Scan::of(signal, &payload, Collect::Summary) {
            Ok(scan) if scan.irregular => {}
            Ok(_) => {
                accepted += 1;
                assert!(by_decoding.is_ok(), "wire accepted what decoding refused: {by_decoding:?}");
            }
            Err(why) => {
                refused += 1;
                assert!(by_decoding.is_err(), "wire refused what decoding accepted: {why}");
            }
        }
    }
    assert!(refused > 100 && accepted > 100, "both outcomes exercised: {refused} refused, {accepted} accepted");
}

#[test]
fn irregular_requests_take_the_decoding_way_and_agree() {
    // A span whose start time is given twice: decoding keeps the second.
    let mut span = Vec::new();
    for time in [5u64, 9] {
        reader::put_varint(&mut span, 7 << 3 | 1);
        span.extend_from_slice(&time.to_le_bytes());
    }
    let mut scope_spans = Vec::new();
    reader::put_len_header(&mut scope_spans, 2, span.len());
    scope_spans.extend_from_slice(&span);
    let mut resource_spans = Vec::new();
    reader::put_len_header(&mut resource_spans, 2, scope_spans.len());
    resource_spans.extend_from_slice(&scope_spans);
    let mut payload = Vec::new();
    reader::put_len_header(&mut payload, 1, resource_spans.len());
    payload.extend_from_slice(&resource_spans);
    assert!(Scan::of(Signal::Traces, &payload, Collect::Summary).unwrap().irregular);
    let config = config(&mut Rng::with_seed(1));
    let prepared = processor::prepare(&config, Signal::Traces, PayloadEncoding::Protobuf, &payload, &NoPseudonyms)
        .unwrap()
        .unwrap();
    assert_eq!((prepared.summary.min_unix_nanos, prepared.summary.max_unix_nanos), (9, 9));
}

#[test]
fn spec_examples_take_the_wire_path_with_the_same_result() {
    for (file, signal) in
        [("trace.json", Signal::Traces), ("metrics.json", Signal::Metrics), ("logs.json", Signal::Logs)]
    {
        let json = crate::codec::tests::spec_example(file);
        let protobuf = OtlpRequest::decode(signal, PayloadEncoding::Json, &json).unwrap().encode_protobuf();
        let config = config(&mut Rng::with_seed(3));
        let fast =
            processor::prepare(&config, signal, PayloadEncoding::Protobuf, &protobuf, &NoPseudonyms).unwrap().unwrap();
        let from_json =
            processor::prepare(&config, signal, PayloadEncoding::Json, &json, &NoPseudonyms).unwrap().unwrap();
        assert_eq!(decoded(signal, &fast.protobuf), decoded(signal, &from_json.protobuf), "{file}");
        assert_eq!(fast.summary, from_json.summary, "{file}");
    }
}
