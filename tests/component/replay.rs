//! The replay exports: timestamp rewriting on every signal and point type,
//! id remapping, filters and JSON rendering, through the built component.

use otlp_capture::otlp::Signal as HostSignal;
use otlp_capture::runtime::processor_types::{CallError, GuestError, PlannedShifts, ReplayOptions, TimestampRewrite};
use otlp_capture_guest::codec::OtlpRequest;
use otlp_capture_guest::records::{PayloadEncoding, Signal};
use otlp_capture_guest::{gzip, timestamps};

use crate::support::component::Harness;
use crate::support::generate;

const BASE: u64 = 1_700_000_000_000_000_000;

fn requests() -> Vec<OtlpRequest> {
    vec![
        OtlpRequest::Traces(generate::traces("checkout", 4, 5, BASE)),
        OtlpRequest::Metrics(generate::metrics("checkout", 4, BASE)),
        OtlpRequest::Logs(generate::logs("checkout", 9, 4, BASE)),
    ]
}

fn host(signal: Signal) -> HostSignal {
    match signal {
        Signal::Traces => HostSignal::Traces,
        Signal::Metrics => HostSignal::Metrics,
        Signal::Logs => HostSignal::Logs,
    }
}

fn options(rewrite: TimestampRewrite) -> ReplayOptions {
    ReplayOptions {
        rewrite,
        id_remap_seed: None,
        services: vec![],
        from_unix_nanos: 0,
        to_unix_nanos: 0,
        max_uncompressed_bytes: 64 << 20,
    }
}

fn stamps(request: &OtlpRequest) -> Vec<u64> {
    let mut request = request.clone();
    let mut all = Vec::new();
    timestamps::for_each_mut(&mut request, |t| all.push(*t));
    all
}

/// Replays `request` through the component and decodes what would be sent.
fn replay(h: &mut Harness, request: &OtlpRequest, options: &ReplayOptions) -> Option<OtlpRequest> {
    let object = gzip::compress(&request.encode_protobuf(), 1);
    let signal = request.signal();
    let batch = h.instance.prepare_replay(host(signal), &object, options).unwrap()?;
    Some(OtlpRequest::decode(signal, PayloadEncoding::Protobuf, &batch.payload).unwrap())
}

#[tokio::test(flavor = "multi_thread")]
async fn none_sends_what_was_stored() {
    let mut h = Harness::new();
    for request in requests() {
        assert_eq!(replay(&mut h, &request, &options(TimestampRewrite::None)).unwrap(), request);
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn shift_moves_every_field_by_one_offset_and_keeps_zeros() {
    let mut h = Harness::new();
    for request in requests() {
        let before = stamps(&request);
        assert!(before.contains(&0), "{:?} has unset timestamps to keep", request.signal());
        for offset in [3_600_000_000_000i64, -1_000_000_007] {
            let after = stamps(&replay(&mut h, &request, &options(TimestampRewrite::Shift(offset))).unwrap());
            assert_eq!(after.len(), before.len());
            for (b, a) in before.iter().zip(&after) {
                let expected = if *b == 0 { 0 } else { b.checked_add_signed(offset).unwrap() };
                assert_eq!(*a, expected, "{:?}", request.signal());
            }
        }
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn newest_at_stamps_the_newest_item_and_keeps_every_offset() {
    let mut h = Harness::new();
    let now = 1_800_000_000_000_000_000;
    for request in requests() {
        let before = stamps(&request);
        let sent = replay(&mut h, &request, &options(TimestampRewrite::NewestAt(now))).unwrap();
        let after = stamps(&sent);
        assert_eq!(after.iter().max(), Some(&now), "{:?}", request.signal());
        let newest = *before.iter().max().unwrap();
        assert_eq!(after.len(), before.len());
        for (b, a) in before.iter().zip(&after) {
            // Every duration and pairwise offset is the same: each set timestamp keeps its distance to the newest.
            if *b == 0 {
                assert_eq!(*a, 0);
            } else {
                assert_eq!(now - a, newest - b, "{:?}", request.signal());
            }
        }
    }
}

/// The group keys `replay-timing` reports for a request, with each group's newest time.
fn timing(h: &mut Harness, request: &OtlpRequest) -> Vec<(u64, u64)> {
    let object = gzip::compress(&request.encode_protobuf(), 1);
    let timing = h.instance.replay_timing(host(request.signal()), &object, &options(TimestampRewrite::None));
    let timing = timing.unwrap().unwrap();
    assert_eq!(timing.summary.max_unix_nanos, *stamps(request).iter().max().unwrap());
    timing.groups
}

#[tokio::test(flavor = "multi_thread")]
async fn replay_timing_names_each_trace_and_stream_alike_in_every_object() {
    let mut h = Harness::new();
    // Two objects holding the same four traces, and their logs, an hour apart.
    let hour = 3_600_000_000_000;
    let (early, late) = (generate::traces("checkout", 4, 3, BASE), generate::traces("checkout", 4, 3, BASE + hour));
    let (early, late) = (timing(&mut h, &OtlpRequest::Traces(early)), timing(&mut h, &OtlpRequest::Traces(late)));
    assert_eq!(early.len(), 4, "one group per trace");
    let keys = |groups: &[(u64, u64)]| groups.iter().map(|(k, _)| *k).collect::<Vec<_>>();
    assert_eq!(keys(&early), keys(&late));
    for ((_, a), (_, b)) in early.iter().zip(&late) {
        assert_eq!(b - a, hour);
    }
    let logs = timing(&mut h, &OtlpRequest::Logs(generate::logs("checkout", 12, 4, BASE)));
    assert_eq!(keys(&logs), keys(&early), "log records carrying a trace id are in their trace's group");
    // The same metric streams in two objects; a stream differs by resource, name or attributes.
    let metrics = timing(&mut h, &OtlpRequest::Metrics(generate::metrics("checkout", 8, BASE)));
    let again = timing(&mut h, &OtlpRequest::Metrics(generate::metrics("checkout", 8, BASE + hour)));
    let elsewhere = timing(&mut h, &OtlpRequest::Metrics(generate::metrics("payments", 8, BASE)));
    assert!(metrics.len() > 1);
    assert_eq!(keys(&metrics), keys(&again));
    assert!(keys(&metrics).iter().all(|k| !keys(&elsewhere).contains(k)));
}

#[tokio::test(flavor = "multi_thread")]
async fn planned_shifts_move_each_group_by_its_own_offset() {
    let mut h = Harness::new();
    let request = OtlpRequest::Traces(generate::traces("checkout", 3, 4, BASE));
    let groups = timing(&mut h, &request);
    let shifts: Vec<(u64, i64)> = groups.iter().enumerate().map(|(n, (k, _))| (*k, 1_000 * (n as i64 + 1))).collect();
    let planned = PlannedShifts { shifts: shifts.clone(), ungrouped_newest_at: 0 };
    let sent = replay(&mut h, &request, &options(TimestampRewrite::Planned(planned))).unwrap();
    let (OtlpRequest::Traces(before), OtlpRequest::Traces(after)) = (&request, &sent) else { unreachable!() };
    let spans = |r: &otlp_capture_guest::otlp::collector::trace::v1::ExportTraceServiceRequest| {
        r.resource_spans.iter().flat_map(|x| &x.scope_spans).flat_map(|x| x.spans.clone()).collect::<Vec<_>>()
    };
    let mut seen = std::collections::HashMap::new();
    for (b, a) in spans(before).iter().zip(spans(after)) {
        let shift = a.start_time_unix_nano - b.start_time_unix_nano;
        assert_eq!(a.end_time_unix_nano - b.end_time_unix_nano, shift, "a span keeps its duration");
        assert_eq!(*seen.entry(b.trace_id.clone()).or_insert(shift), shift, "a trace moves by one offset");
    }
    let mut moved: Vec<u64> = seen.into_values().collect();
    moved.sort_unstable();
    assert_eq!(moved, [1_000, 2_000, 3_000]);
    // Untraced log records land with their newest at the given instant; traced ones without a plan too.
    let logs = OtlpRequest::Logs(generate::logs("checkout", 6, 2, BASE));
    let planned = PlannedShifts { shifts: vec![], ungrouped_newest_at: BASE + 1_000_000 };
    let sent = replay(&mut h, &logs, &options(TimestampRewrite::Planned(planned))).unwrap();
    assert_eq!(stamps(&sent).iter().max(), Some(&(BASE + 1_000_000)));
}

#[tokio::test(flavor = "multi_thread")]
async fn arithmetic_saturates_at_the_u64_edges() {
    let mut h = Harness::new();
    let late = OtlpRequest::Traces(generate::traces("edge", 1, 2, u64::MAX - 10_000));
    let sent = stamps(&replay(&mut h, &late, &options(TimestampRewrite::Shift(i64::MAX))).unwrap());
    assert!(sent.iter().all(|t| *t == 0 || *t == u64::MAX), "{sent:?}");
    let early = OtlpRequest::Logs(generate::logs("edge", 3, 1, 1));
    let sent = stamps(&replay(&mut h, &early, &options(TimestampRewrite::Shift(i64::MIN))).unwrap());
    assert!(sent.iter().all(|t| *t == 0 || *t == 1), "set timestamps stay set: {sent:?}");
    let sent = stamps(&replay(&mut h, &early, &options(TimestampRewrite::NewestAt(u64::MAX))).unwrap());
    assert_eq!(sent.iter().max(), Some(&u64::MAX));
}

#[tokio::test(flavor = "multi_thread")]
async fn id_remap_is_consistent_across_a_traces_spans_logs_and_exemplars() {
    let mut h = Harness::new();
    let mut remap = options(TimestampRewrite::None);
    remap.id_remap_seed = Some(42);
    let Some(OtlpRequest::Traces(traces)) = replay(&mut h, &requests()[0], &remap) else { panic!() };
    let Some(OtlpRequest::Logs(logs)) = replay(&mut h, &requests()[2], &remap) else { panic!() };
    let Some(OtlpRequest::Metrics(metrics)) = replay(&mut h, &requests()[1], &remap) else { panic!() };
    let spans: Vec<_> = traces.resource_spans[0].scope_spans[0].spans.clone();
    for (index, span) in spans.iter().enumerate() {
        let n = index as u64 / 5;
        assert_ne!(span.trace_id, generate::trace_id(n), "ids are remapped");
        let root = &spans[(n * 5) as usize];
        assert_eq!(span.trace_id, root.trace_id, "one trace keeps one id");
        if !index.is_multiple_of(5) {
            assert_eq!(span.parent_span_id, root.span_id, "children point at the remapped root");
        }
        if n > 0 && !index.is_multiple_of(5) {
            let previous_root = &spans[((n - 1) * 5) as usize];
            assert_eq!(
                (span.links[0].trace_id.clone(), span.links[0].span_id.clone()),
                (previous_root.trace_id.clone(), previous_root.span_id.clone())
            );
        }
    }
    for record in &logs.resource_logs[0].scope_logs[0].log_records {
        let root = spans.iter().find(|s| s.trace_id == record.trace_id).expect("a log's trace is a replayed trace");
        assert!(root.parent_span_id.is_empty() && root.span_id == record.span_id);
    }
    use otlp_capture_guest::otlp::metrics::v1::metric::Data;
    let Some(Data::Gauge(gauge)) = &metrics.resource_metrics[0].scope_metrics[0].metrics[0].data else { panic!() };
    let exemplar = &gauge.data_points[1].exemplars[0];
    assert!(spans.iter().any(|s| s.trace_id == exemplar.trace_id && s.span_id == exemplar.span_id));

    let mut other = remap.clone();
    other.id_remap_seed = Some(43);
    let Some(OtlpRequest::Traces(again)) = replay(&mut h, &requests()[0], &other) else { panic!() };
    assert_ne!(again.resource_spans[0].scope_spans[0].spans[0].trace_id, spans[0].trace_id, "another run, other ids");
}

#[tokio::test(flavor = "multi_thread")]
async fn filters_and_json_rendering() {
    let mut h = Harness::new();
    let traces = &requests()[0];
    let mut other_service = options(TimestampRewrite::None);
    other_service.services = vec!["inventory".into()];
    assert!(replay(&mut h, traces, &other_service).is_none(), "nothing to send");
    let mut window = options(TimestampRewrite::None);
    (window.from_unix_nanos, window.to_unix_nanos) = (BASE + 1_000_000, BASE + 1_999_999);
    let Some(OtlpRequest::Traces(kept)) = replay(&mut h, traces, &window) else { panic!() };
    assert_eq!(
        kept.resource_spans[0].scope_spans[0].spans.len(),
        5,
        "the spans of the one trace that started in the window"
    );

    let object = gzip::compress(&traces.encode_protobuf(), 1);
    let json = h.instance.object_to_json(HostSignal::Traces, &object, 1 << 20).unwrap();
    let decoded = OtlpRequest::decode(Signal::Traces, PayloadEncoding::Json, json.as_bytes()).unwrap();
    assert_eq!(&decoded, traces);
    let corrupt = h.instance.prepare_replay(HostSignal::Traces, b"not gzip", &options(TimestampRewrite::None));
    assert!(matches!(corrupt, Err(CallError::Guest(GuestError::InvalidPayload(_)))));
}
