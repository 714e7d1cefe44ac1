//! Replay timing end to end, for each timestamp mode at speed 1 and 10:
//! sessions whose traces, log records and metric streams spread over many
//! objects, with random lags between telemetry and capture time, replayed
//! by the binary into a receiver that notes when each request arrives.
//!
//! - `current`: one offset per trace (its spans, events and logs) and per
//!   metric stream, so every offset and duration inside is exact and start
//!   times stay constant; untraced logs keep their offsets inside their
//!   object; nothing is stamped after it arrived; and each group is as fresh
//!   as that allows (its binding item lands about at its send time).
//! - `relative`: one offset for everything, the largest allowed.
//! - `none`: everything as recorded.

use std::collections::{BTreeMap, HashMap};

use fastrand::Rng;
use otlp_capture_guest::codec::OtlpRequest;
use otlp_capture_guest::otlp::collector::logs::v1::ExportLogsServiceRequest;
use otlp_capture_guest::otlp::collector::metrics::v1::ExportMetricsServiceRequest;
use otlp_capture_guest::otlp::collector::trace::v1::ExportTraceServiceRequest;
use otlp_capture_guest::otlp::common::v1::any_value::Value;
use otlp_capture_guest::otlp::common::v1::{AnyValue, KeyValue};
use otlp_capture_guest::otlp::logs::v1::{LogRecord, ResourceLogs, ScopeLogs};
use otlp_capture_guest::otlp::metrics::v1::metric::Data;
use otlp_capture_guest::otlp::metrics::v1::number_data_point;
use otlp_capture_guest::otlp::metrics::v1::{
    AggregationTemporality, Gauge, Metric, NumberDataPoint, ResourceMetrics, ScopeMetrics, Sum,
};
use otlp_capture_guest::otlp::resource::v1::Resource;
use otlp_capture_guest::otlp::trace::v1::span::Event;
use otlp_capture_guest::otlp::trace::v1::{ResourceSpans, ScopeSpans, Span};
use otlp_capture_guest::records::{PayloadEncoding, Signal};

use crate::support::otlp::hex;
use crate::support::processes::run_cli_ok;
use crate::support::receiver::{Received, Receiver};
use crate::support::stored_sessions::write_session;

/// How far after its planned send time a request may arrive here (pacing
/// and loopback on a busy machine): the freshness checks allow this much.
const ARRIVAL_SLACK_NANOS: u64 = 250_000_000;
const MS: u64 = 1_000_000;

/// Where an item sits in the recorded session and what it is.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
enum Group {
    Trace(u8),
    Stream(u8),
    /// A log record without a trace id, in the object captured at this slot.
    Untraced(usize),
}

/// Every timestamp of a request, with the item it belongs to (span id,
/// log body or point value) and the item's group.
fn items(request: &OtlpRequest) -> Vec<(String, Group, Vec<u64>)> {
    let mut out = Vec::new();
    match request {
        OtlpRequest::Traces(r) => {
            for span in r.resource_spans.iter().flat_map(|x| &x.scope_spans).flat_map(|x| &x.spans) {
                let mut times = vec![span.start_time_unix_nano, span.end_time_unix_nano];
                times.extend(span.events.iter().map(|e| e.time_unix_nano));
                out.push((hex(&span.span_id), Group::Trace(span.trace_id[0]), times));
            }
        }
        OtlpRequest::Logs(r) => {
            for log in r.resource_logs.iter().flat_map(|x| &x.scope_logs).flat_map(|x| &x.log_records) {
                let Some(Value::StringValue(body)) = log.body.as_ref().and_then(|b| b.value.clone()) else {
                    panic!("generated logs have string bodies")
                };
                let group = if log.trace_id.is_empty() {
                    Group::Untraced(body.split('-').nth(1).unwrap().parse().unwrap())
                } else {
                    Group::Trace(log.trace_id[0])
                };
                out.push((body, group, vec![log.time_unix_nano, log.observed_time_unix_nano]));
            }
        }
        OtlpRequest::Metrics(r) => {
            for metric in r.resource_metrics.iter().flat_map(|x| &x.scope_metrics).flat_map(|x| &x.metrics) {
                let points = match &metric.data {
                    Some(Data::Sum(s)) => &s.data_points,
                    Some(Data::Gauge(g)) => &g.data_points,
                    _ => panic!("generated metrics are sums and gauges"),
                };
                for p in points {
                    let Some(number_data_point::Value::AsInt(value)) = p.value else { panic!("int points") };
                    let stream = metric.name.as_bytes()[7] - b'0';
                    out.push((
                        format!("point-{value}"),
                        Group::Stream(stream),
                        vec![p.start_time_unix_nano, p.time_unix_nano],
                    ));
                }
            }
        }
    }
    out
}

/// A generated session: objects with their capture millis.
struct Generated {
    objects: Vec<(u64, OtlpRequest)>,
    /// Metric streams whose start time is one value through the session.
    cumulative: Vec<u8>,
}

fn resource() -> Option<Resource> {
    Some(Resource {
        attributes: vec![KeyValue {
            key: "service.name".into(),
            value: Some(AnyValue { value: Some(Value::StringValue("checkout".into())) }),
            ..Default::default()
        }],
        ..Default::default()
    })
}

/// `slots` objects captured 50-250 ms apart, in turn traces, logs and
/// metrics. Five traces whose spans (with an event each) and log records
/// land in random objects, each item lagging its capture by 1-1500 ms;
/// untraced log records; two cumulative sums (start time fixed), a delta sum
/// and a gauge, one point each per metrics object.
fn generate(seed: u64, slots: usize) -> Generated {
    let mut rng = Rng::with_seed(seed);
    let mut captured = Vec::with_capacity(slots);
    let mut at = 1_700_000_000_000u64 + rng.u64(..1_000_000);
    for _ in 0..slots {
        captured.push(at);
        at += rng.u64(50..=250);
    }
    let lagged = |rng: &mut Rng, slot: usize| captured[slot] * MS - rng.u64(MS..1_500 * MS);
    let slots_of = |signal: usize| (0..slots).filter(move |s| s % 3 == signal).collect::<Vec<_>>();
    let (trace_slots, log_slots, metric_slots) = (slots_of(0), slots_of(1), slots_of(2));
    let mut spans: BTreeMap<usize, Vec<Span>> = BTreeMap::new();
    let mut logs: BTreeMap<usize, Vec<LogRecord>> = BTreeMap::new();
    let mut ids = 0u64;
    for trace in 1..=5u8 {
        let trace_id = vec![trace; 16];
        for _ in 0..rng.usize(2..=6) {
            let slot = trace_slots[rng.usize(..trace_slots.len())];
            let end = lagged(&mut rng, slot);
            let start = end - rng.u64(1_000..800 * MS);
            ids += 1;
            spans.entry(slot).or_default().push(Span {
                trace_id: trace_id.clone(),
                span_id: ids.to_be_bytes().to_vec(),
                name: "work".into(),
                start_time_unix_nano: start,
                end_time_unix_nano: end,
                events: vec![Event {
                    time_unix_nano: start + (end - start) / 3,
                    name: "step".into(),
                    ..Default::default()
                }],
                ..Default::default()
            });
        }
        for _ in 0..rng.usize(1..=2) {
            let slot = log_slots[rng.usize(..log_slots.len())];
            let time = lagged(&mut rng, slot);
            ids += 1;
            logs.entry(slot).or_default().push(log(format!("traced-{slot}-{ids}"), trace_id.clone(), time));
        }
    }
    for &slot in &log_slots {
        for _ in 0..rng.usize(1..=3) {
            let time = lagged(&mut rng, slot);
            ids += 1;
            logs.entry(slot).or_default().push(log(format!("untraced-{slot}-{ids}"), Vec::new(), time));
        }
    }
    let mut metrics: BTreeMap<usize, Vec<Metric>> = BTreeMap::new();
    let origin = captured[0] * MS - 60_000 * MS;
    let mut last = [origin; 4];
    for &slot in &metric_slots {
        let mut point = |stream: usize, start: Option<u64>, rng: &mut Rng| {
            let time = lagged(rng, slot).max(last[stream] + MS);
            let start = start.unwrap_or(last[stream]);
            last[stream] = time;
            ids += 1;
            NumberDataPoint {
                start_time_unix_nano: start,
                time_unix_nano: time,
                value: Some(number_data_point::Value::AsInt(ids as i64)),
                ..Default::default()
            }
        };
        let sum = |name: &str, temporality: AggregationTemporality, p: NumberDataPoint| Metric {
            name: name.into(),
            data: Some(Data::Sum(Sum {
                data_points: vec![p],
                aggregation_temporality: temporality as i32,
                is_monotonic: true,
            })),
            ..Default::default()
        };
        let cumulative = AggregationTemporality::Cumulative;
        metrics.insert(
            slot,
            vec![
                sum("stream-0", cumulative, point(0, Some(origin), &mut rng)),
                sum("stream-1", cumulative, point(1, Some(origin + 7 * MS), &mut rng)),
                sum("stream-2", AggregationTemporality::Delta, point(2, None, &mut rng)),
                Metric {
                    name: "stream-3".into(),
                    data: Some(Data::Gauge(Gauge { data_points: vec![point(3, Some(0), &mut rng)] })),
                    ..Default::default()
                },
            ],
        );
    }
    let objects = (0..slots)
        .filter_map(|slot| {
            let request = match slot % 3 {
                0 => OtlpRequest::Traces(ExportTraceServiceRequest {
                    resource_spans: vec![ResourceSpans {
                        resource: resource(),
                        scope_spans: vec![ScopeSpans { spans: spans.remove(&slot)?, ..Default::default() }],
                        ..Default::default()
                    }],
                }),
                1 => OtlpRequest::Logs(ExportLogsServiceRequest {
                    resource_logs: vec![ResourceLogs {
                        resource: resource(),
                        scope_logs: vec![ScopeLogs { log_records: logs.remove(&slot)?, ..Default::default() }],
                        ..Default::default()
                    }],
                }),
                _ => OtlpRequest::Metrics(ExportMetricsServiceRequest {
                    resource_metrics: vec![ResourceMetrics {
                        resource: resource(),
                        scope_metrics: vec![ScopeMetrics { metrics: metrics.remove(&slot)?, ..Default::default() }],
                        ..Default::default()
                    }],
                }),
            };
            Some((captured[slot], request))
        })
        .collect();
    Generated { objects, cumulative: vec![0, 1] }
}

fn log(body: String, trace_id: Vec<u8>, time: u64) -> LogRecord {
    LogRecord {
        time_unix_nano: time,
        observed_time_unix_nano: time + 3 * MS,
        trace_id,
        span_id: if time.is_multiple_of(2) { Vec::new() } else { vec![1; 8] },
        body: Some(AnyValue { value: Some(Value::StringValue(body)) }),
        ..Default::default()
    }
}

/// Replays `generated` with `mode` at `speed`; what arrived, in order.
fn replay(generated: &Generated, mode: &str, speed: &str) -> Vec<(OtlpRequest, u64)> {
    let store = tempfile::tempdir().unwrap();
    write_session(store.path(), "spread", generated.objects.clone());
    let receiver = Receiver::start(0);
    let store_arg = store.path().to_str().unwrap();
    let args = [
        "replay",
        "spread",
        "--store",
        store_arg,
        "--endpoint",
        &receiver.base,
        "--timestamps",
        mode,
        "--speed",
        speed,
    ];
    run_cli_ok(&args, &[]);
    let accepted = receiver.accepted();
    assert_eq!(accepted.len(), generated.objects.len(), "every object arrives");
    accepted.iter().map(|r: &Received| (decode(r), r.at_unix_nanos)).collect()
}

fn decode(received: &Received) -> OtlpRequest {
    let signal = Signal::from_name(received.path.trim_start_matches("/v1/")).unwrap();
    OtlpRequest::decode(signal, PayloadEncoding::Protobuf, &received.message()).unwrap()
}

/// Per item: its group, recorded times, replayed times and arrival time.
struct Moved {
    group: Group,
    before: Vec<u64>,
    after: Vec<u64>,
    arrived: u64,
}

fn moved(generated: &Generated, replayed: &[(OtlpRequest, u64)]) -> Vec<Moved> {
    let recorded: HashMap<String, (Group, Vec<u64>)> =
        generated.objects.iter().flat_map(|(_, r)| items(r)).map(|(id, group, times)| (id, (group, times))).collect();
    let mut all = Vec::new();
    for (request, arrived) in replayed {
        for (id, group, after) in items(request) {
            let (recorded_group, before) = recorded[&id].clone();
            assert_eq!(group, recorded_group);
            all.push(Moved { group, before, after, arrived: *arrived });
        }
    }
    assert_eq!(all.len(), recorded.len(), "every item arrives once");
    all
}

/// The one shift of each group's non-zero timestamps; fails when a group
/// has two. Zeros must stay zero.
fn shifts(moved: &[Moved], group_of: impl Fn(Group) -> Group) -> BTreeMap<Group, i128> {
    let mut shifts = BTreeMap::new();
    for item in moved {
        for (before, after) in item.before.iter().zip(&item.after) {
            if *before == 0 {
                assert_eq!(*after, 0, "zero stays zero");
                continue;
            }
            let shift = i128::from(*after) - i128::from(*before);
            let group = group_of(item.group);
            let first = *shifts.entry(group).or_insert(shift);
            assert_eq!(shift, first, "{group:?}: every timestamp of the group moves by one offset");
        }
    }
    shifts
}

/// Every item stamped no later than its arrival, and each group's closest
/// item within [`ARRIVAL_SLACK_NANOS`] of it: the offset is the largest
/// allowed.
fn check_fresh(moved: &[Moved], group_of: impl Fn(Group) -> Group, what: &str) {
    let mut headroom: BTreeMap<Group, u64> = BTreeMap::new();
    for item in moved {
        for t in item.after.iter().filter(|t| **t != 0) {
            assert!(*t <= item.arrived, "{what}: {:?} stamped {} ns after it arrived", item.group, t - item.arrived);
            let least = headroom.entry(group_of(item.group)).or_insert(u64::MAX);
            *least = (*least).min(item.arrived - t);
        }
    }
    for (group, least) in headroom {
        assert!(least < ARRIVAL_SLACK_NANOS, "{what}: {group:?} could be {least} ns fresher");
    }
}

fn check_current(generated: &Generated, speed: &str) {
    let moved = moved(generated, &replay(generated, "current", speed));
    let what = format!("current at speed {speed}");
    shifts(&moved, |g| g);
    check_fresh(&moved, |g| g, &what);
    for stream in &generated.cumulative {
        let mut starts: Vec<u64> =
            moved.iter().filter(|m| m.group == Group::Stream(*stream)).map(|m| m.after[0]).collect();
        starts.dedup();
        assert_eq!(starts.len(), 1, "{what}: cumulative stream {stream} keeps one start time");
    }
    for stream in 0..4 {
        let times: Vec<(u64, u64)> =
            moved.iter().filter(|m| m.group == Group::Stream(stream)).map(|m| (m.after[0], m.after[1])).collect();
        assert!(times.windows(2).all(|w| w[0].1 < w[1].1), "{what}: stream {stream}'s point times increase");
        assert!(times.iter().all(|(start, time)| *start == 0 || start <= time), "{what}: no point before its start");
    }
}

fn check_relative(generated: &Generated, speed: &str) {
    let moved = moved(generated, &replay(generated, "relative", speed));
    let what = format!("relative at speed {speed}");
    assert_eq!(shifts(&moved, |_| Group::Trace(0)).len(), 1);
    check_fresh(&moved, |_| Group::Trace(0), &what);
}

#[test]
fn current_keeps_traces_and_streams_exact_and_fresh_at_speed_1() {
    check_current(&generate(1, 30), "1");
}

#[test]
fn current_keeps_traces_and_streams_exact_and_fresh_at_speed_10() {
    check_current(&generate(2, 30), "10");
}

#[test]
fn relative_keeps_every_gap_with_the_largest_offset_at_speed_1_and_10() {
    let generated = generate(3, 30);
    check_relative(&generated, "1");
    check_relative(&generated, "10");
}

#[test]
fn none_sends_every_timestamp_as_recorded() {
    let generated = generate(4, 15);
    let moved = moved(&generated, &replay(&generated, "none", "max"));
    assert!(moved.iter().all(|m| m.before == m.after));
}

#[test]
fn generated_sessions_keep_every_timing_promise() {
    // Short sessions at speeds from 5 to 40: the lags, the spread of traces over objects and the
    // streams' points differ with each seed.
    for seed in 10..16u64 {
        let speed = ["5", "10", "20", "40"][seed as usize % 4];
        let generated = generate(seed, 12 + seed as usize % 7);
        check_current(&generated, speed);
        check_relative(&generated, speed);
    }
}
