//! Sampling by trace id: a session's sampleRatio keeps or drops traces
//! whole, logs of a trace follow it, metrics are all kept.

use std::collections::{HashMap, HashSet};

use otlp_capture_guest::codec::OtlpRequest;
use reqwest::blocking::Client;
use serde_json::json;

use crate::support::generate;
use crate::support::otlp::stored_requests;
use crate::support::processes::{TapProcess, run_cli_ok};

#[test]
fn sample_ratio_keeps_traces_whole_and_logs_follow_them() {
    let dir = tempfile::tempdir().unwrap();
    let tap = TapProcess::start(dir.path().to_str().unwrap(), &[]);
    let client = Client::new();
    let created = client
        .post(format!("{}/api/capture/sessions", tap.base))
        .json(&json!({"sessionId": "sampled", "sampleRatio": 0.25}))
        .send()
        .unwrap();
    assert_eq!(created.status(), reqwest::StatusCode::CREATED);
    let (traces, spans_per_trace) = (400u64, 4u64);
    // The traces arrive in four requests, each trace's spans split across two of them.
    let all = generate::traces("checkout", traces, spans_per_trace, 1_700_000_000_000_000_000);
    let spans = all.resource_spans[0].scope_spans[0].spans.clone();
    for part in 0..4 {
        let mut request = all.clone();
        request.resource_spans[0].scope_spans[0].spans =
            spans.iter().enumerate().filter(|(i, _)| (i / 2) % 4 == part).map(|(_, s)| s.clone()).collect();
        let body = OtlpRequest::Traces(request).encode_protobuf();
        client
            .post(format!("{}/v1/traces", tap.base))
            .header("content-type", "application/x-protobuf")
            .body(body)
            .send()
            .unwrap();
    }
    let logs =
        OtlpRequest::Logs(generate::logs("checkout", traces, traces, 1_700_000_000_000_000_000)).encode_protobuf();
    client
        .post(format!("{}/v1/logs", tap.base))
        .header("content-type", "application/x-protobuf")
        .body(logs)
        .send()
        .unwrap();
    let metrics = OtlpRequest::Metrics(generate::metrics("checkout", 5, 1_700_000_000_000_000_000)).encode_protobuf();
    client
        .post(format!("{}/v1/metrics", tap.base))
        .header("content-type", "application/x-protobuf")
        .body(metrics)
        .send()
        .unwrap();
    run_cli_ok(&["session", "stop", "sampled", "--tap", &tap.base], &[]);

    let mut per_trace: HashMap<Vec<u8>, u64> = HashMap::new();
    let mut log_traces = HashSet::new();
    let mut points = 0;
    for request in stored_requests(dir.path(), "sampled") {
        match request {
            OtlpRequest::Traces(r) => {
                for span in r.resource_spans.iter().flat_map(|x| &x.scope_spans).flat_map(|x| &x.spans) {
                    *per_trace.entry(span.trace_id.clone()).or_default() += 1;
                }
            }
            OtlpRequest::Logs(r) => {
                log_traces.extend(
                    r.resource_logs
                        .iter()
                        .flat_map(|x| &x.scope_logs)
                        .flat_map(|x| &x.log_records)
                        .map(|l| l.trace_id.clone()),
                );
            }
            OtlpRequest::Metrics(mut r) => {
                points += otlp_capture_guest::summary::of(&mut OtlpRequest::Metrics(std::mem::take(&mut r))).items
            }
        }
    }
    assert!(per_trace.values().all(|n| *n == spans_per_trace), "every kept trace is whole, across requests");
    // 400 traces at 0.25: expect 100, and 60..140 is more than four standard deviations wide.
    let kept = per_trace.len() as u64;
    assert!((60..=140).contains(&kept), "kept {kept} of {traces} traces");
    assert_eq!(log_traces, per_trace.keys().cloned().collect::<HashSet<_>>(), "logs follow their traces");
    assert_eq!(points, 5 * 5, "metrics are all kept");
}
