//! Replay end to end: recorded with the SDK, replayed by the binary into a
//! second tap and into a test receiver, with exact timing and retries.

use std::collections::HashMap;
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use otlp_capture_guest::codec::OtlpRequest;
use otlp_capture_guest::otlp::logs::v1::LogRecord;
use otlp_capture_guest::otlp::trace::v1::Span;
use otlp_capture_guest::records::{PayloadEncoding, Signal};
use otlp_capture_guest::timestamps;
use serde_json::Value;

use crate::support::generate;
use crate::support::otlp::stored_requests;
use crate::support::processes::{TapProcess, run_cli, run_cli_ok};
use crate::support::receiver::{Received, Receiver};
use crate::support::sdk::emit;
use crate::support::stored_sessions::write_session;
use crate::support::wait;

fn now_nanos() -> u64 {
    SystemTime::now().duration_since(UNIX_EPOCH).unwrap().as_nanos() as u64
}

fn received_requests(received: &[Received]) -> Vec<OtlpRequest> {
    received
        .iter()
        .map(|r| {
            let signal = Signal::from_name(r.path.trim_start_matches("/v1/")).unwrap();
            OtlpRequest::decode(signal, PayloadEncoding::Protobuf, &r.message()).unwrap()
        })
        .collect()
}

fn spans(requests: &[OtlpRequest]) -> HashMap<Vec<u8>, Span> {
    let mut spans = HashMap::new();
    for request in requests {
        if let OtlpRequest::Traces(r) = request {
            for span in r.resource_spans.iter().flat_map(|x| &x.scope_spans).flat_map(|x| &x.spans) {
                assert!(spans.insert(span.span_id.clone(), span.clone()).is_none(), "every span arrives exactly once");
            }
        }
    }
    spans
}

fn logs(requests: &[OtlpRequest]) -> Vec<LogRecord> {
    let mut logs: Vec<LogRecord> = requests
        .iter()
        .filter_map(|r| if let OtlpRequest::Logs(l) = r { Some(l) } else { None })
        .flat_map(|r| r.resource_logs.iter().flat_map(|x| &x.scope_logs).flat_map(|x| x.log_records.clone()))
        .collect();
    logs.sort_by_key(|l| l.observed_time_unix_nano);
    logs
}

fn record_session(store: &str, session: &str, rounds: u64) {
    let tap = TapProcess::start(store, &[]);
    run_cli_ok(&["session", "start", session, "--tap", &tap.base], &[]);
    emit(&tap.base, "checkout", rounds);
    run_cli_ok(&["session", "stop", session, "--tap", &tap.base], &[]);
}

#[test]
fn relative_replay_into_a_second_tap_keeps_every_duration_and_gap() {
    let source = tempfile::tempdir().unwrap();
    let source_store = source.path().to_str().unwrap();
    record_session(source_store, "recorded", 3);

    let target = tempfile::tempdir().unwrap();
    let tap = TapProcess::start(target.path().to_str().unwrap(), &[]);
    run_cli_ok(&["session", "start", "replayed", "--tap", &tap.base], &[]);
    let before = now_nanos();
    let out = run_cli_ok(
        &[
            "replay",
            "recorded",
            "--store",
            source_store,
            "--endpoint",
            &tap.base,
            "--timestamps",
            "relative",
            "--speed",
            "max",
        ],
        &[],
    );
    assert!(out.contains("objects sent (0 skipped, 0 failed)"), "{out}");
    run_cli_ok(&["session", "stop", "replayed", "--tap", &tap.base], &[]);

    let original = stored_requests(source.path(), "recorded");
    let replayed = stored_requests(target.path(), "replayed");
    let (original_spans, replayed_spans) = (spans(&original), spans(&replayed));
    assert_eq!(original_spans.len(), 9);
    assert_eq!(replayed_spans.len(), original_spans.len());
    let first = original.iter().map(|r| timestamps::bounds(&mut r.clone()).0).filter(|t| *t > 0).min().unwrap();
    let mut shifts = Vec::new();
    for (id, span) in &original_spans {
        let copy = &replayed_spans[id];
        assert_eq!(
            copy.end_time_unix_nano - copy.start_time_unix_nano,
            span.end_time_unix_nano - span.start_time_unix_nano
        );
        assert_eq!(copy.trace_id, span.trace_id);
        shifts.push(copy.start_time_unix_nano - span.start_time_unix_nano);
        assert_eq!(copy.events.len(), span.events.len(), "every event replayed");
        for (e, c) in span.events.iter().zip(&copy.events) {
            assert_eq!(c.time_unix_nano - e.time_unix_nano, shifts[shifts.len() - 1]);
        }
    }
    shifts.dedup();
    assert_eq!(shifts.len(), 1, "one offset for the whole replay");
    // At --speed max every request goes at the start: the newest item lands there, none later.
    let newest = original.iter().map(|r| timestamps::bounds(&mut r.clone()).1).max().unwrap();
    let replayed_newest = newest + shifts[0];
    assert!(
        replayed_newest >= before && replayed_newest <= now_nanos(),
        "the newest item is stamped at the replay's start, nothing after it"
    );
    assert!(first + shifts[0] <= replayed_newest);
    let (original_logs, replayed_logs) = (logs(&original), logs(&replayed));
    assert_eq!(original_logs.len(), replayed_logs.len());
    for (o, r) in original_logs.iter().zip(&replayed_logs) {
        assert_eq!(r.observed_time_unix_nano - o.observed_time_unix_nano, shifts[0]);
        assert_eq!(r.trace_id, o.trace_id);
    }
}

#[test]
fn retries_503_with_retry_after_and_delivers_everything_once() {
    let store = tempfile::tempdir().unwrap();
    let objects: Vec<_> = (0..4)
        .map(|n| {
            (
                1_700_000_000_000 + n * 10,
                OtlpRequest::Traces(generate::traces("svc", 2, 3, 1_700_000_000_000_000_000 + n)),
            )
        })
        .collect();
    write_session(store.path(), "flaky", objects.clone());
    let receiver = Receiver::start(2);
    let started = Instant::now();
    let out = run_cli_ok(
        &[
            "replay",
            "flaky",
            "--store",
            store.path().to_str().unwrap(),
            "--endpoint",
            &receiver.base,
            "--speed",
            "max",
            "--timestamps",
            "none",
        ],
        &[],
    );
    assert!(out.contains("4 objects sent") && out.contains("2 retries"), "{out}");
    assert!(started.elapsed() >= Duration::from_secs(2), "Retry-After: 1 honoured twice");
    assert_eq!(receiver.refused(), 2);
    let accepted = receiver.accepted();
    assert_eq!(accepted.len(), 4);
    let expected: Vec<OtlpRequest> = objects.into_iter().map(|(_, r)| r).collect();
    assert_eq!(received_requests(&accepted), expected, "each object once, in capture order, as stored");
}

#[test]
fn fatal_answers_fail_the_replay_with_a_clear_message() {
    let store = tempfile::tempdir().unwrap();
    write_session(store.path(), "s", [(1_700_000_000_000, OtlpRequest::Logs(generate::logs("svc", 2, 1, 1)))]);
    // A tap's OTLP port is no collector for a path it does not serve: 404 is not retried.
    let tap = TapProcess::start(store.path().to_str().unwrap(), &[]);
    let output = run_cli(
        &[
            "replay",
            "s",
            "--store",
            store.path().to_str().unwrap(),
            "--endpoint",
            &format!("{}/nowhere", tap.base),
            "--speed",
            "max",
        ],
        &[],
    );
    assert!(!output.status.success());
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(stderr.contains("404"), "{stderr}");
    let missing = run_cli(&["replay", "none", "--store", store.path().to_str().unwrap(), "--endpoint", &tap.base], &[]);
    assert!(!missing.status.success());
    assert!(String::from_utf8_lossy(&missing.stderr).contains("no session none"));
}

/// Replays a session with capture gaps of 0, 1.0, 2.5 and 3.0 s at `speed`
/// and returns the arrival offsets in seconds, and the requests.
fn paced(speed: &str) -> (Vec<f64>, Vec<Received>) {
    let store = tempfile::tempdir().unwrap();
    let base = 1_700_000_000_000u64;
    let objects: Vec<_> = [0u64, 1000, 2500, 3000]
        .iter()
        .enumerate()
        .map(|(n, gap)| {
            (
                base + gap,
                OtlpRequest::Logs(generate::logs("svc", 3, 1, (base + gap) * 1_000_000 - 50_000_000 + n as u64)),
            )
        })
        .collect();
    write_session(store.path(), "paced", objects);
    let receiver = Receiver::start(0);
    run_cli_ok(
        &["replay", "paced", "--store", store.path().to_str().unwrap(), "--endpoint", &receiver.base, "--speed", speed],
        &[],
    );
    let accepted = receiver.accepted();
    assert_eq!(accepted.len(), 4);
    let offsets = accepted.iter().map(|r| (r.at - accepted[0].at).as_secs_f64()).collect();
    (offsets, accepted)
}

#[test]
fn paces_by_capture_time_at_speed_1_and_10() {
    // Tolerance: 150 ms at speed 1, 60 ms at speed 10 (a shared, loaded machine).
    let (at_1, requests) = paced("1");
    for (got, want) in at_1.iter().zip([0.0, 1.0, 2.5, 3.0]) {
        assert!((got - want).abs() < 0.15, "speed 1: {at_1:?}");
    }
    // `current` (the default) stamps each batch's newest item with its send time: never in the future.
    for request in &requests {
        let signal = Signal::from_name(request.path.trim_start_matches("/v1/")).unwrap();
        let mut decoded = OtlpRequest::decode(signal, PayloadEncoding::Protobuf, &request.message()).unwrap();
        let (_, newest) = timestamps::bounds(&mut decoded);
        assert!(newest <= request.at_unix_nanos, "nothing lies in the future");
        assert!(request.at_unix_nanos - newest < 500_000_000, "the newest item is stamped when it is sent");
    }
    let (at_10, _) = paced("10");
    for (got, want) in at_10.iter().zip([0.0, 0.1, 0.25, 0.3]) {
        assert!((got - want).abs() < 0.06, "speed 10: {at_10:?}");
    }
}

#[test]
fn rewrite_ids_dry_run_inspect_and_a_dead_taps_session() {
    let dir = tempfile::tempdir().unwrap();
    let store = dir.path().to_str().unwrap();
    // A tap that dies (SIGKILL) leaves its session active, refreshed to what it recorded.
    let tap = TapProcess::start(store, &[]);
    run_cli_ok(&["session", "start", "died", "--tap", &tap.base], &[]);
    emit(&tap.base, "checkout", 2);
    let metadata = dir.path().join("sessions/died/metadata.json");
    wait::until_true("a refresh to write what the tap recorded", Duration::from_secs(10), || {
        let document: Option<Value> = std::fs::read(&metadata).ok().and_then(|b| serde_json::from_slice(&b).ok());
        document.is_some_and(|d| d["spanCount"].as_u64().unwrap_or(0) > 0)
    });
    drop(tap);

    let dry = run_cli_ok(&["replay", "died", "--store", store, "--endpoint", "http://127.0.0.1:9", "--dry-run"], &[]);
    assert!(dry.starts_with("would send "), "{dry}");

    let receiver = Receiver::start(0);
    let output = run_cli(
        &[
            "replay",
            "died",
            "--store",
            store,
            "--endpoint",
            &receiver.base,
            "--speed",
            "max",
            "--rewrite-ids",
            "--loop",
            "2",
        ],
        &[],
    );
    assert!(output.status.success(), "{}", String::from_utf8_lossy(&output.stderr));
    assert!(String::from_utf8_lossy(&output.stderr).contains("still marked active"));
    let received = received_requests(&receiver.accepted());
    let original = stored_requests(dir.path(), "died");
    let original_spans = spans(&original);
    let replayed = spans(&received);
    assert_eq!(replayed.len(), 2 * original_spans.len(), "two loops, distinct ids");
    assert!(replayed.keys().all(|id| !original_spans.contains_key(id)));
    for span in replayed.values().filter(|s| !s.parent_span_id.is_empty()) {
        let parent = &replayed[&span.parent_span_id];
        assert_eq!(parent.trace_id, span.trace_id, "parents remapped alike");
    }

    let inspected = run_cli_ok(&["inspect", "died", "--store", store], &[]);
    let lines: Vec<Value> = inspected.lines().map(|l| serde_json::from_str(l).unwrap()).collect();
    assert_eq!(lines.len(), original.len());
    assert!(lines.iter().any(|l| {
        l["resourceSpans"][0]["scopeSpans"][0]["spans"][0]["traceId"].as_str().is_some_and(|id| id.len() == 32)
    }));
}

#[test]
fn a_running_tap_replays_on_request() {
    let dir = tempfile::tempdir().unwrap();
    let store = dir.path().to_str().unwrap();
    let objects: Vec<_> = (0..3)
        .map(|n| (1_700_000_000_000 + n, OtlpRequest::Metrics(generate::metrics("svc", 2, 1_700_000_000_000_000_000))))
        .collect();
    write_session(dir.path(), "remote", objects.clone());
    let tap = TapProcess::start(store, &[]);
    let receiver = Receiver::start(0);
    let client = reqwest::blocking::Client::new();
    let started: Value = client
        .post(format!("{}/api/replay", tap.base))
        .json(&serde_json::json!({"sessionId": "remote", "endpoint": receiver.base, "speed": "max", "timestamps": "none"}))
        .send()
        .unwrap()
        .json()
        .unwrap();
    let id = started["id"].as_str().unwrap().to_owned();
    let status = wait::until("the replay finishing", Duration::from_secs(20), || {
        let status: Value = client.get(format!("{}/api/replay/{id}", tap.base)).send().unwrap().json().unwrap();
        (status["state"] != "running").then_some(status)
    });
    assert_eq!(status["state"], "completed", "{status}");
    assert_eq!(status["counts"]["dataPoints"], 3 * 5 * 2);
    let received = received_requests(&receiver.accepted());
    let expected: Vec<OtlpRequest> = objects.into_iter().map(|(_, r)| r).collect();
    assert_eq!(received, expected, "timestamps none: sent as stored, in capture order");
    let missing = client
        .post(format!("{}/api/replay", tap.base))
        .json(&serde_json::json!({"sessionId": "none", "endpoint": receiver.base}))
        .send()
        .unwrap();
    assert_eq!(missing.status(), reqwest::StatusCode::NOT_FOUND);
}

#[test]
fn replays_over_grpc_into_a_taps_grpc_receiver() {
    let source = tempfile::tempdir().unwrap();
    let objects: Vec<_> = vec![
        (1_700_000_000_000, OtlpRequest::Traces(generate::traces("svc", 3, 4, 1_700_000_000_000_000_000))),
        (1_700_000_000_500, OtlpRequest::Metrics(generate::metrics("svc", 3, 1_700_000_000_000_000_000))),
        (1_700_000_001_000, OtlpRequest::Logs(generate::logs("svc", 6, 3, 1_700_000_000_000_000_000))),
    ];
    write_session(source.path(), "grpc-source", objects.clone());
    let target = tempfile::tempdir().unwrap();
    let tap = TapProcess::start(target.path().to_str().unwrap(), &[]);
    run_cli_ok(&["session", "start", "grpc-copy", "--tap", &tap.base], &[]);
    let out = run_cli_ok(
        &[
            "replay",
            "grpc-source",
            "--store",
            source.path().to_str().unwrap(),
            "--endpoint",
            &tap.grpc,
            "--protocol",
            "grpc",
            "--speed",
            "max",
            "--timestamps",
            "none",
        ],
        &[],
    );
    assert!(out.contains("3 objects sent"), "{out}");
    run_cli_ok(&["session", "stop", "grpc-copy", "--tap", &tap.base], &[]);
    let mut copied: Vec<OtlpRequest> =
        stored_requests(target.path(), "grpc-copy").into_iter().map(crate::support::otlp::untagged).collect();
    let mut expected: Vec<OtlpRequest> = objects.into_iter().map(|(_, r)| r).collect();
    let order = |r: &OtlpRequest| r.signal().as_str();
    copied.sort_by_key(order);
    expected.sort_by_key(order);
    assert_eq!(copied, expected, "recorded over gRPC exactly as sent");
}

#[test]
fn an_unreachable_endpoint_is_reported_at_once_and_the_run_gives_up_within_its_retry_time() {
    let store = tempfile::tempdir().unwrap();
    let objects = (0..3).map(|n| (1_700_000_000_000 + n, OtlpRequest::Logs(generate::logs("svc", 2, 1, 1 + n))));
    write_session(store.path(), "down", objects);
    // A port nothing listens on: connection refused.
    let port = std::net::TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port();
    let endpoint = format!("http://127.0.0.1:{port}");
    let started = Instant::now();
    let output = run_cli(
        &[
            "replay",
            "down",
            "--store",
            store.path().to_str().unwrap(),
            "--endpoint",
            &endpoint,
            "--speed",
            "max",
            "--max-retry-time",
            "3s",
        ],
        &[],
    );
    let elapsed = started.elapsed();
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert_eq!(output.status.code(), Some(1), "{stderr}");
    assert!(elapsed < Duration::from_secs(15), "the whole run's retrying is bounded, not per object: {elapsed:?}");
    assert!(
        stderr.lines().any(|l| l.contains("WARN") && l.contains("Connection refused") && l.contains("retrying in")),
        "each failed attempt is visible at the default log level: {stderr}"
    );
    let last = stderr.lines().last().unwrap_or_default();
    assert!(last.starts_with("otlp-capture:") && last.contains("Connection refused"), "one-line reason: {last}");
}

/// Log records' observed times of a request, in order.
fn observed_times(request: &OtlpRequest) -> Vec<u64> {
    let OtlpRequest::Logs(logs) = request else { panic!("logs only") };
    logs.resource_logs
        .iter()
        .flat_map(|r| &r.scope_logs)
        .flat_map(|s| &s.log_records)
        .map(|l| l.observed_time_unix_nano)
        .collect()
}

#[test]
fn relative_uses_one_offset_the_largest_that_stamps_nothing_after_its_send_time() {
    // Objects captured 400 ms apart whose records lag their capture time by 50 ms to 1.5 s, as
    // an SDK's batch processor makes them: the first object's lag is not the largest.
    let capture_millis = 1_700_000_000_000u64;
    let lags_millis = [300u64, 1_500, 50, 900];
    let objects: Vec<(u64, OtlpRequest)> = lags_millis
        .iter()
        .enumerate()
        .map(|(i, lag)| {
            let captured = capture_millis + 400 * i as u64;
            let newest = (captured - lag) * 1_000_000;
            // 3 records 1 ms apart, the newest `lag` before capture.
            (captured, OtlpRequest::Logs(generate::logs("svc", 3, 1, newest - 2_000 - 5)))
        })
        .collect();
    let originals: Vec<Vec<u64>> = objects.iter().map(|(_, r)| observed_times(r)).collect();
    for speed in ["1", "10"] {
        let store = tempfile::tempdir().unwrap();
        write_session(store.path(), "lagged", objects.clone());
        let receiver = Receiver::start(0);
        run_cli_ok(
            &[
                "replay",
                "lagged",
                "--store",
                store.path().to_str().unwrap(),
                "--endpoint",
                &receiver.base,
                "--timestamps",
                "relative",
                "--speed",
                speed,
            ],
            &[],
        );
        let accepted = receiver.accepted();
        assert_eq!(accepted.len(), objects.len());
        let replayed = received_requests(&accepted);
        let shift = i128::from(observed_times(&replayed[0])[0]) - i128::from(originals[0][0]);
        let mut least_headroom = u64::MAX;
        for ((request, arrival), original) in replayed.iter().zip(&accepted).zip(&originals) {
            let times = observed_times(request);
            for (now, before) in times.iter().zip(original) {
                assert_eq!(i128::from(*now) - i128::from(*before), shift, "speed {speed}: one offset for the run");
            }
            let newest = *times.iter().max().unwrap();
            assert!(newest <= arrival.at_unix_nanos, "speed {speed}: an item stamped after it arrived");
            least_headroom = least_headroom.min(arrival.at_unix_nanos - newest);
        }
        assert!(
            least_headroom < 150_000_000,
            "speed {speed}: the offset is the largest allowed, one object's newest item about at its send time \
             (least headroom {least_headroom} ns)"
        );
    }
}

/// Replays `objects` (capture millis, request) at full speed into a backend
/// that holds each request 150 ms, with `extra` arguments; returns what it
/// got and the most requests it held at once.
fn into_slow_backend(objects: &[(u64, OtlpRequest)], extra: &[&str]) -> (Vec<Received>, usize) {
    let store = tempfile::tempdir().unwrap();
    write_session(store.path(), "busy", objects.to_vec());
    let receiver = Receiver::slow(Duration::from_millis(150));
    let mut args = vec!["replay", "busy", "--store", store.path().to_str().unwrap(), "--endpoint", &receiver.base];
    args.extend(["--speed", "max", "--timestamps", "none"]);
    args.extend(extra);
    let out = run_cli_ok(&args, &[]);
    assert!(out.contains(&format!("{} objects sent", objects.len())), "{out}");
    (receiver.accepted(), receiver.most_in_flight())
}

#[test]
fn requests_overlap_across_signals_and_each_signal_arrives_in_capture_order() {
    let base = 1_700_000_000_000u64;
    let objects: Vec<(u64, OtlpRequest)> = (0..12u64)
        .map(|n| {
            let at = base + n * 100;
            let nanos = at * 1_000_000 + n;
            let request = match n % 3 {
                0 => OtlpRequest::Traces(generate::traces("svc", 1, 2, nanos)),
                1 => OtlpRequest::Metrics(generate::metrics("svc", 2, nanos)),
                _ => OtlpRequest::Logs(generate::logs("svc", 2, 1, nanos)),
            };
            (at, request)
        })
        .collect();
    let in_order = |received: &[Received]| {
        for signal in [Signal::Traces, Signal::Metrics, Signal::Logs] {
            let path = format!("/v1/{}", signal.as_str());
            let got: Vec<OtlpRequest> =
                received_requests(&received.iter().filter(|r| r.path == path).cloned().collect::<Vec<_>>());
            let want: Vec<OtlpRequest> =
                objects.iter().filter(|(_, r)| r.signal() == signal).map(|(_, r)| r.clone()).collect();
            assert_eq!(got, want, "{path} in capture order, each once");
        }
    };
    // The default (4): one request per signal in flight, the three signals at once.
    let (received, most) = into_slow_backend(&objects, &[]);
    assert_eq!(most, 3, "one request of each signal at a time");
    in_order(&received);
    let (received, most) = into_slow_backend(&objects, &["--concurrency", "1"]);
    assert_eq!(most, 1);
    in_order(&received);
    let (received, most) = into_slow_backend(&objects, &["--concurrency", "2"]);
    assert_eq!(most, 2);
    in_order(&received);
    for wrong in ["0", "65", "many"] {
        let refused = run_cli(&["replay", "busy", "--endpoint", "http://127.0.0.1:9", "--concurrency", wrong], &[]);
        assert!(!refused.status.success(), "--concurrency {wrong}");
    }
}
