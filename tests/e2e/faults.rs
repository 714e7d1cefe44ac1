//! Storage faults: an S3 outage mid-session and a SIGTERM while S3 is down
//! lose nothing the tap acknowledged.

use std::path::Path;
use std::time::{Duration, Instant};

use otlp_capture_guest::codec::OtlpRequest;
use otlp_capture_guest::records::Signal;
use reqwest::StatusCode;
use reqwest::blocking::Client;
use serde_json::Value;

use crate::support::generate;
use crate::support::otlp::decode_object;
use crate::support::processes::{S3Server, TapProcess, run_cli_ok};
use crate::support::wait;

/// Spans in a session's objects in S3 (requests are batched into objects).
fn stored_spans(s3: &S3Server, session: &str) -> u64 {
    fn count(dir: &Path) -> u64 {
        std::fs::read_dir(dir).map_or(0, |entries| {
            entries
                .map(|e| e.unwrap().path())
                .map(|p| {
                    if p.is_dir() {
                        return count(&p);
                    }
                    let mut request = decode_object(Signal::Traces, &std::fs::read(&p).unwrap());
                    otlp_capture_guest::summary::of(&mut request).items
                })
                .sum()
        })
    }
    count(&s3.bucket_dir().join("sessions").join(session).join("raw"))
}

/// Spans in each request [`post`] sends.
const SPANS_PER_REQUEST: u64 = 12;

/// Posts one trace request; returns whether the tap acknowledged it.
fn post(client: &Client, tap: &TapProcess, n: u64) -> bool {
    let payload =
        OtlpRequest::Traces(generate::traces("checkout", 3, 4, 1_700_000_000_000_000_000 + n * 1_000_000_000))
            .encode_protobuf();
    let response = client
        .post(format!("{}/v1/traces", tap.base))
        .header("content-type", "application/x-protobuf")
        .body(payload)
        .send()
        .unwrap();
    match response.status() {
        StatusCode::OK => true,
        StatusCode::SERVICE_UNAVAILABLE => false,
        other => panic!("unexpected answer {other}"),
    }
}

#[test]
fn a_30_second_s3_outage_loses_nothing_acknowledged() {
    let mut s3 = S3Server::start();
    let spool = tempfile::tempdir().unwrap();
    let tap = TapProcess::start_with("s3://otel-data", &s3.env(), &["--spool", spool.path().to_str().unwrap()]);
    let client = Client::new();
    run_cli_ok(&["session", "start", "outage", "--tap", &tap.base], &[]);
    let mut acknowledged = 0;
    for n in 0..5 {
        acknowledged += usize::from(post(&client, &tap, n));
    }
    s3.stop();
    let outage = Instant::now();
    let mut n = 5;
    while outage.elapsed() < Duration::from_secs(30) {
        acknowledged += usize::from(post(&client, &tap, n));
        n += 1;
        std::thread::sleep(Duration::from_millis(1500));
    }
    assert!(tap.metric("otlp_capture_spooled_objects_total") > 0, "objects went to the spool during the outage");
    s3.restart();
    wait::until_true("the spool to drain", Duration::from_secs(60), || {
        tap.metric("otlp_capture_spool_objects") == 0 && tap.metric("otlp_capture_upload_queue_objects") == 0
    });
    let stopped: Value =
        serde_json::from_str(&run_cli_ok(&["session", "stop", "outage", "--tap", &tap.base], &[])).unwrap();
    assert!(acknowledged >= 20, "the tap kept answering during the outage ({acknowledged})");
    let acknowledged_spans = acknowledged as u64 * SPANS_PER_REQUEST;
    assert_eq!(stored_spans(&s3, "outage"), acknowledged_spans, "every acknowledged request is in S3");
    assert_eq!(stopped["spanCount"].as_u64(), Some(acknowledged_spans));
    let stored: Value =
        serde_json::from_slice(&std::fs::read(s3.bucket_dir().join("sessions/outage/metadata.json")).unwrap()).unwrap();
    assert_eq!(stored["status"], "completed");
}

#[test]
fn sigterm_while_s3_is_down_spools_and_a_restart_drains_and_resumes() {
    let mut s3 = S3Server::start();
    let spool = tempfile::tempdir().unwrap();
    let spool_arg = ["--spool", spool.path().to_str().unwrap()];
    let tap = TapProcess::start_with("s3://otel-data", &s3.env(), &spool_arg);
    let client = Client::new();
    run_cli_ok(&["session", "start", "restart", "--tap", &tap.base], &[]);
    for n in 0..3 {
        assert!(post(&client, &tap, n));
    }
    s3.stop();
    for n in 3..6 {
        assert!(post(&client, &tap, n), "acknowledged while S3 is down");
    }
    assert!(tap.terminate(), "SIGTERM exits 0 with S3 down: what is queued goes to the spool");
    assert!(std::fs::read_dir(spool.path()).unwrap().count() > 0, "the spool holds what S3 has not");

    s3.restart();
    let tap = TapProcess::start_with("s3://otel-data", &s3.env(), &spool_arg);
    assert!(post(&client, &tap, 6), "the resumed session records");
    let stopped: Value =
        serde_json::from_str(&run_cli_ok(&["session", "stop", "restart", "--tap", &tap.base], &[])).unwrap();
    assert_eq!(stored_spans(&s3, "restart"), 7 * SPANS_PER_REQUEST);
    assert_eq!(
        stopped["spanCount"].as_u64(),
        Some(7 * SPANS_PER_REQUEST),
        "counts carried across the restart: {stopped}"
    );
}
