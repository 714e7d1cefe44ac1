//! A whole session recorded from the SDK: local store and S3.

use std::collections::HashSet;
use std::path::Path;
use std::time::Duration;

use otlp_capture_guest::codec::OtlpRequest;
use otlp_capture_guest::keys::parse_object_key;
use otlp_capture_guest::records::Signal;
use otlp_capture_guest::tag_keys::ENABLED_FLAGS_KEY;
use serde_json::Value;

use crate::support::otlp::{decode_object, resource_attributes, tagged_with};
use crate::support::processes::{S3Server, TapProcess, run_cli_ok};
use crate::support::receiver::Receiver;
use crate::support::sdk::{Emitted, emit};
use crate::support::wait;

/// Every file below `dir`, as (key relative to `root`, bytes).
fn files_under(root: &Path, dir: &Path) -> Vec<(String, Vec<u8>)> {
    let mut files = Vec::new();
    let Ok(entries) = std::fs::read_dir(dir) else { return files };
    for entry in entries.map(Result::unwrap) {
        let path = entry.path();
        if path.is_dir() {
            files.extend(files_under(root, &path));
        } else {
            let key = path.strip_prefix(root).unwrap().to_string_lossy().replace('\\', "/");
            files.push((key, std::fs::read(&path).unwrap()));
        }
    }
    files
}

/// Starts a session through the CLI, emits from the SDK, checks the live
/// metadata (read by `live`) catches up while active, stops the session, and
/// returns the final metadata the CLI printed.
fn record(tap: &TapProcess, session: &str, rounds: u64, live: impl Fn() -> Option<Value>) -> (Value, Emitted) {
    let started: Value = serde_json::from_str(&run_cli_ok(
        &["session", "start", session, "--flag", "paymentServiceFailure", "--description", "e2e", "--tap", &tap.base],
        &[],
    ))
    .unwrap();
    assert_eq!(started["status"], "active");
    let emitted = emit(&tap.base, "checkout", rounds);
    // The tap runs with --refresh-interval 1s.
    wait::until_true("live counts catching up", Duration::from_secs(10), || {
        let metadata = live().expect("metadata.json exists while active");
        assert_eq!(metadata["status"], "active");
        metadata["spanCount"].as_u64() == Some(emitted.spans)
            && metadata["logRecordCount"].as_u64() == Some(emitted.logs)
    });
    let stopped: Value =
        serde_json::from_str(&run_cli_ok(&["session", "stop", session, "--tap", &tap.base], &[])).unwrap();
    (stopped, emitted)
}

/// Checks the stored objects of a session against what was sent and its metadata.
fn check_session(session: &str, metadata: &Value, emitted: Emitted, objects: &[(String, Vec<u8>)]) {
    let raw: Vec<_> = objects.iter().filter(|(k, _)| k.contains("/raw/")).collect();
    assert!(objects.iter().any(|(k, _)| *k == format!("sessions/{session}/metadata.json")));
    let (mut spans, mut logs, mut points, mut bytes) = (0u64, 0u64, 0u64, 0u64);
    let mut span_traces = HashSet::new();
    let mut log_traces = HashSet::new();
    for (key, object) in &raw {
        let info = parse_object_key(key).unwrap_or_else(|e| panic!("{key}: {e}"));
        assert_eq!(info.session_id, session);
        let parts: Vec<_> = key.split('/').collect();
        assert_eq!(parts[3].len(), 10, "{key}: YYYY-MM-DD");
        assert_eq!(parts[4].len(), 2, "{key}: HH");
        let request = decode_object(info.signal, object);
        assert!(tagged_with(&request, session), "{key}");
        for attributes in resource_attributes(&request) {
            assert!(
                attributes.iter().any(|(k, v)| k == ENABLED_FLAGS_KEY && v.contains("paymentServiceFailure")),
                "{key}"
            );
            assert!(attributes.iter().any(|(k, v)| k == "service.name" && v.contains("checkout")), "{key}");
        }
        bytes += object.len() as u64;
        match (&request, info.signal) {
            (OtlpRequest::Traces(r), Signal::Traces) => {
                for span in r.resource_spans.iter().flat_map(|x| &x.scope_spans).flat_map(|x| &x.spans) {
                    spans += 1;
                    span_traces.insert(span.trace_id.clone());
                }
            }
            (OtlpRequest::Logs(r), Signal::Logs) => {
                for record in r.resource_logs.iter().flat_map(|x| &x.scope_logs).flat_map(|x| &x.log_records) {
                    logs += 1;
                    log_traces.insert(record.trace_id.clone());
                }
            }
            (OtlpRequest::Metrics(r), Signal::Metrics) => {
                points += r
                    .resource_metrics
                    .iter()
                    .flat_map(|x| &x.scope_metrics)
                    .map(|x| x.metrics.len() as u64)
                    .sum::<u64>();
            }
            _ => panic!("{key} holds another signal"),
        }
    }
    assert_eq!(spans, emitted.spans);
    assert_eq!(logs, emitted.logs);
    assert!(points >= emitted.instruments, "{points} metric series");
    assert_eq!(log_traces, span_traces, "logs were emitted inside the traces");
    assert_eq!(metadata["status"], "completed");
    assert_eq!(metadata["spanCount"].as_u64(), Some(spans));
    assert_eq!(metadata["logRecordCount"].as_u64(), Some(logs));
    assert!(metadata["dataPointCount"].as_u64().unwrap() >= emitted.instruments);
    assert_eq!(metadata["objectCount"].as_u64(), Some(raw.len() as u64));
    assert_eq!(metadata["totalSizeBytes"].as_u64(), Some(bytes));
    assert!(metadata["firstTelemetryTimeUnixNano"].as_str().unwrap().parse::<u64>().unwrap() > 0);
    assert!(metadata["endTime"].is_string());
}

#[test]
fn records_a_session_into_the_local_store() {
    let dir = tempfile::tempdir().unwrap();
    let store = dir.path().join("otel-data");
    let store = store.to_str().unwrap();
    let tap = TapProcess::start(store, &[]);
    let metadata_file = Path::new(store).join("sessions/local-1/metadata.json");
    let live = || std::fs::read(&metadata_file).ok().map(|d| serde_json::from_slice(&d).unwrap());
    let (metadata, emitted) = record(&tap, "local-1", 4, live);
    let objects = files_under(Path::new(store), &Path::new(store).join("sessions/local-1"));
    check_session("local-1", &metadata, emitted, &objects);

    let shown: Value =
        serde_json::from_str(&run_cli_ok(&["session", "show", "local-1", "--store", store], &[])).unwrap();
    assert_eq!(shown, metadata, "the stored metadata.json is the final one");
    let listed = run_cli_ok(&["session", "list", "--store", store], &[]);
    assert!(listed.lines().any(|l| l.starts_with("local-1") && l.contains("completed")), "{listed}");
    assert!(tap.terminate(), "exit 0 on SIGTERM");
}

#[test]
fn records_a_session_into_s3() {
    let s3 = S3Server::start();
    let tap = TapProcess::start("s3://otel-data", &s3.env());
    let metadata_file = s3.bucket_dir().join("sessions/s3-1/metadata.json");
    let live = || std::fs::read(&metadata_file).ok().map(|d| serde_json::from_slice(&d).unwrap());
    let (metadata, emitted) = record(&tap, "s3-1", 3, live);
    let objects = files_under(&s3.bucket_dir(), &s3.bucket_dir().join("sessions/s3-1"));
    check_session("s3-1", &metadata, emitted, &objects);
    // Read back through the S3 API, as a user would.
    let shown: Value =
        serde_json::from_str(&run_cli_ok(&["session", "show", "s3-1", "--store", "s3://otel-data"], &s3.env()))
            .unwrap();
    assert_eq!(shown, metadata);
    // And replayed straight from S3.
    let receiver = Receiver::start(0);
    let out = run_cli_ok(
        &["replay", "s3-1", "--store", "s3://otel-data", "--endpoint", &receiver.base, "--speed", "max"],
        &s3.env(),
    );
    assert!(
        out.contains(&format!("{} spans", emitted.spans)) && out.contains(&format!("{} log records", emitted.logs)),
        "{out}"
    );
    assert_eq!(receiver.accepted().len() as u64, metadata["objectCount"].as_u64().unwrap());
    assert!(tap.terminate());
}

#[test]
fn a_restarted_tap_resumes_an_active_session() {
    let dir = tempfile::tempdir().unwrap();
    let store = dir.path().to_str().unwrap();
    let tap = TapProcess::start(store, &[]);
    run_cli_ok(&["session", "start", "resume-1", "--tap", &tap.base], &[]);
    let first = emit(&tap.base, "checkout", 2);
    assert!(tap.terminate(), "SIGTERM flushes and exits 0");
    let persisted: Value =
        serde_json::from_str(&run_cli_ok(&["session", "show", "resume-1", "--store", store], &[])).unwrap();
    assert_eq!(persisted["status"], "active", "a shutdown does not end sessions");
    assert_eq!(persisted["spanCount"].as_u64(), Some(first.spans));

    let tap = TapProcess::start(store, &[]);
    let second = emit(&tap.base, "checkout", 1);
    let stopped: Value =
        serde_json::from_str(&run_cli_ok(&["session", "stop", "resume-1", "--tap", &tap.base], &[])).unwrap();
    assert_eq!(stopped["spanCount"].as_u64(), Some(first.spans + second.spans));
    assert_eq!(stopped["logRecordCount"].as_u64(), Some(first.logs + second.logs));
}
