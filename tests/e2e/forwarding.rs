//! The tap in front of a collector: forwarding over HTTP and gRPC with the
//! upstream's answers passed through, recording off the request path, and
//! routing requests to one session by header.

use std::collections::HashMap;
use std::io::Write;
use std::path::Path;
use std::time::Duration;

use otlp_capture_guest::codec::OtlpRequest;
use reqwest::StatusCode;
use reqwest::blocking::Client;
use serde_json::Value;

use crate::support::generate;
use crate::support::otlp::{stored_requests, untagged};
use crate::support::processes::{TapProcess, run_cli, run_cli_ok};
use crate::support::receiver::{Received, Receiver};
use crate::support::sdk::{emit, emit_grpc};
use crate::support::wait;

/// Every stored request of a session, by signal, with the session tags taken off.
fn stored(store: &Path, session: &str) -> HashMap<&'static str, Vec<OtlpRequest>> {
    let mut by_signal: HashMap<&'static str, Vec<OtlpRequest>> = HashMap::new();
    for request in stored_requests(store, session) {
        by_signal.entry(request.signal().as_str()).or_default().push(untagged(request));
    }
    by_signal
}

/// Every span, metric and log record with its resource, in a stable order.
fn item_list(requests: &[OtlpRequest]) -> Vec<String> {
    let mut items = Vec::new();
    for request in requests {
        match request {
            OtlpRequest::Traces(r) => {
                for rs in &r.resource_spans {
                    items.extend(
                        rs.scope_spans.iter().flat_map(|x| &x.spans).map(|s| format!("{:?} {s:?}", rs.resource)),
                    );
                }
            }
            OtlpRequest::Metrics(r) => {
                for rm in &r.resource_metrics {
                    items.extend(
                        rm.scope_metrics.iter().flat_map(|x| &x.metrics).map(|m| format!("{:?} {m:?}", rm.resource)),
                    );
                }
            }
            OtlpRequest::Logs(r) => {
                for rl in &r.resource_logs {
                    items.extend(
                        rl.scope_logs.iter().flat_map(|x| &x.log_records).map(|l| format!("{:?} {l:?}", rl.resource)),
                    );
                }
            }
        }
    }
    items.sort();
    items
}

fn items(requests: &[OtlpRequest]) -> u64 {
    requests.iter().map(|r| otlp_capture_guest::summary::of(&mut r.clone()).items).sum()
}

/// Waits until a session's live metadata (refreshed every second) shows
/// `spans` spans and `logs` log records.
fn wait_for_items(store: &Path, session: &str, spans: u64, logs: u64) {
    wait::until_true(&format!("{session} reaching {spans} spans and {logs} logs"), Duration::from_secs(30), || {
        let metadata: Option<Value> = std::fs::read(store.join(format!("sessions/{session}/metadata.json")))
            .ok()
            .map(|d| serde_json::from_slice(&d).unwrap());
        let count = |field: &str| metadata.as_ref().and_then(|m| m[field].as_u64());
        count("spanCount") == Some(spans) && count("logRecordCount") == Some(logs)
    });
}

#[test]
fn forwards_http_byte_exact_and_passes_the_upstreams_answers() {
    let upstream = Receiver::start(1);
    let dir = tempfile::tempdir().unwrap();
    let tap = TapProcess::start_with(dir.path().to_str().unwrap(), &[], &["--forward", &upstream.base]);
    run_cli_ok(&["session", "start", "fwd", "--tap", &tap.base], &[]);
    let payload = OtlpRequest::Traces(generate::traces("checkout", 2, 3, 1_700_000_000_000_000_000)).encode_protobuf();
    let mut gz = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::fast());
    gz.write_all(&payload).unwrap();
    let gzipped = gz.finish().unwrap();
    let send = || {
        Client::new()
            .post(format!("{}/v1/traces", tap.base))
            .header("content-type", "application/x-protobuf")
            .header("content-encoding", "gzip")
            .body(gzipped.clone())
            .send()
            .unwrap()
    };
    let refused = send();
    assert_eq!(refused.status(), StatusCode::SERVICE_UNAVAILABLE, "the upstream's 503 is the client's");
    assert_eq!(refused.headers()["retry-after"], "1");
    let accepted = send();
    assert_eq!(accepted.status(), StatusCode::OK);
    assert_eq!(upstream.accepted().len(), 1);
    assert_eq!(upstream.accepted()[0].body, gzipped, "forwarded byte-exact, still gzipped");

    wait_for_items(dir.path(), "fwd", 6, 0);
    let stopped: Value =
        serde_json::from_str(&run_cli_ok(&["session", "stop", "fwd", "--tap", &tap.base], &[])).unwrap();
    assert_eq!(stopped["capturedTraces"], 1, "what the upstream refused is not recorded (the client retries it)");
}

#[test]
fn a_tap_forwards_sdk_telemetry_over_grpc_to_a_second_tap() {
    let upstream_dir = tempfile::tempdir().unwrap();
    let upstream = TapProcess::start(upstream_dir.path().to_str().unwrap(), &[]);
    let dir = tempfile::tempdir().unwrap();
    let tap = TapProcess::start_with(
        dir.path().to_str().unwrap(),
        &[],
        &["--forward", &upstream.grpc, "--forward-protocol", "grpc"],
    );
    run_cli_ok(&["session", "start", "upstream-copy", "--tap", &upstream.base], &[]);
    run_cli_ok(&["session", "start", "tap-copy", "--tap", &tap.base], &[]);
    let over_grpc = emit_grpc(&tap.grpc, "checkout", 2);
    let over_http = emit(&tap.base, "checkout", 2);
    // OTLP/JSON to a gRPC upstream goes as protobuf; the JSON client gets a JSON answer.
    let json = Client::new()
        .post(format!("{}/v1/traces", tap.base))
        .header("content-type", "application/json")
        .body(crate::support::otlp::spec_example("trace.json"))
        .send()
        .unwrap();
    assert_eq!(json.status(), StatusCode::OK);
    assert_eq!(json.text().unwrap(), "{}");
    let spans = over_grpc.spans + over_http.spans + 1;
    wait_for_items(dir.path(), "tap-copy", spans, over_grpc.logs + over_http.logs);
    run_cli_ok(&["session", "stop", "tap-copy", "--tap", &tap.base], &[]);
    run_cli_ok(&["session", "stop", "upstream-copy", "--tap", &upstream.base], &[]);
    let (recorded, forwarded) = (stored(dir.path(), "tap-copy"), stored(upstream_dir.path(), "upstream-copy"));
    for signal in ["traces", "metrics", "logs"] {
        let (r, f) =
            (recorded.get(signal).cloned().unwrap_or_default(), forwarded.get(signal).cloned().unwrap_or_default());
        assert!(!r.is_empty(), "{signal} recorded");
        // Each tap batches on its own clock: compare items, not objects.
        assert_eq!(item_list(&r), item_list(&f), "{signal}: the upstream got exactly what the tap recorded");
    }
    assert_eq!(items(&recorded["traces"]), spans);
}

#[test]
fn the_session_header_routes_a_request_into_one_session() {
    let dir = tempfile::tempdir().unwrap();
    let tap = TapProcess::start(dir.path().to_str().unwrap(), &[]);
    for session in ["a", "b"] {
        run_cli_ok(&["session", "start", session, "--tap", &tap.base], &[]);
    }
    let payload = OtlpRequest::Logs(generate::logs("checkout", 4, 2, 1_700_000_000_000_000_000)).encode_protobuf();
    let post = |route: Option<&str>| {
        let mut request =
            Client::new().post(format!("{}/v1/logs", tap.base)).header("content-type", "application/x-protobuf");
        if let Some(route) = route {
            request = request.header("x-otlp-capture-session", route);
        }
        request.body(payload.clone()).send().unwrap().status()
    };
    assert_eq!(post(Some("a")), StatusCode::OK);
    assert_eq!(post(None), StatusCode::OK);
    assert_eq!(post(Some("nobody")), StatusCode::NOT_FOUND, "routed to a session this tap does not record: never 200");
    let a: Value = serde_json::from_str(&run_cli_ok(&["session", "stop", "a", "--tap", &tap.base], &[])).unwrap();
    let b: Value = serde_json::from_str(&run_cli_ok(&["session", "stop", "b", "--tap", &tap.base], &[])).unwrap();
    assert_eq!(a["logRecordCount"], 8, "routed, and unrouted");
    assert_eq!(b["logRecordCount"], 4, "unrouted only");
}

/// What an upstream saw of a header.
fn seen(received: &Received, name: &str) -> Option<String> {
    received.headers.get(name).map(|v| v.to_str().unwrap().to_owned())
}

#[test]
fn the_clients_headers_and_metadata_reach_the_upstream_over_http_and_grpc() {
    let payload = OtlpRequest::Traces(generate::traces("checkout", 1, 2, 1_700_000_000_000_000_000)).encode_protobuf();
    for protocol in ["http", "grpc"] {
        let upstream = Receiver::start(0);
        let dir = tempfile::tempdir().unwrap();
        let tap = TapProcess::start_with(
            dir.path().to_str().unwrap(),
            &[("OTEL_EXPORTER_OTLP_HEADERS".into(), "x-from-env=env%20value,x-overridden=env".into())],
            &["--forward", &upstream.base, "--forward-protocol", protocol, "--forward-header", "x-overridden=flag"],
        );
        // Over HTTP from the client, and over gRPC with the same headers as metadata.
        let answer = Client::new()
            .post(format!("{}/v1/traces", tap.base))
            .header("content-type", "application/x-protobuf")
            .header("authorization", "Bearer backend-secret")
            .header("x-scope-orgid", "tenant1")
            .header("x-overridden", "client")
            .body(payload.clone())
            .send()
            .unwrap();
        assert_eq!(answer.status(), StatusCode::OK, "{protocol}");
        let runtime = tokio::runtime::Builder::new_current_thread().enable_all().build().unwrap();
        runtime.block_on(async {
            let channel = tonic::transport::Endpoint::from_shared(tap.grpc.clone()).unwrap().connect().await.unwrap();
            let mut grpc = tonic::client::Grpc::new(channel);
            grpc.ready().await.unwrap();
            let mut request = tonic::Request::new(bytes::Bytes::from(payload.clone()));
            request.metadata_mut().insert("authorization", "Bearer backend-secret".parse().unwrap());
            request.metadata_mut().insert("x-scope-orgid", "tenant1".parse().unwrap());
            let path = tonic::codegen::http::uri::PathAndQuery::from_static(otlp_capture::otlp::grpc::TRACES_PATH);
            grpc.unary(request, path, otlp_capture::otlp::grpc::RawCodec).await.unwrap();
        });
        let received = upstream.accepted();
        assert_eq!(received.len(), 2, "{protocol}");
        for (n, request) in received.iter().enumerate() {
            let what = format!("{protocol} upstream, request {n}");
            assert_eq!(seen(request, "authorization").as_deref(), Some("Bearer backend-secret"), "{what}");
            assert_eq!(seen(request, "x-scope-orgid").as_deref(), Some("tenant1"), "{what}");
            assert_eq!(seen(request, "x-from-env").as_deref(), Some("env value"), "{what}");
            assert_eq!(seen(request, "x-overridden").as_deref(), Some("flag"), "{what}: flags over env over client");
            assert!(seen(request, "x-otlp-capture-via").is_some(), "{what}: the tap names itself");
            assert_eq!(request.body, payload, "{what}");
        }
        if protocol == "http" {
            assert_eq!(seen(&received[0], "content-type").as_deref(), Some("application/x-protobuf"));
        } else {
            assert!(seen(&received[0], "content-type").unwrap().starts_with("application/grpc"));
        }
    }
}

#[test]
fn a_tap_with_a_token_keeps_it_and_refuses_clients_without_it() {
    let upstream = Receiver::start(0);
    let dir = tempfile::tempdir().unwrap();
    let tap = TapProcess::start_with(
        dir.path().to_str().unwrap(),
        &[("OTLP_CAPTURE_TOKEN".into(), "tap-token".into())],
        &["--forward", &upstream.base, "--forward-header", "authorization=Bearer upstream-token"],
    );
    let post = |authorization: Option<&str>| {
        let mut request =
            Client::new().post(format!("{}/v1/logs", tap.base)).header("content-type", "application/x-protobuf");
        if let Some(value) = authorization {
            request = request.header("authorization", value);
        }
        request.send().unwrap().status()
    };
    assert_eq!(post(None), StatusCode::UNAUTHORIZED);
    assert_eq!(post(Some("Bearer wrong")), StatusCode::UNAUTHORIZED);
    assert!(upstream.accepted().is_empty(), "refused requests are not forwarded");
    assert_eq!(post(Some("Bearer tap-token")), StatusCode::OK);
    let received = upstream.accepted();
    assert_eq!(seen(&received[0], "authorization").as_deref(), Some("Bearer upstream-token"), "the tap's token stays");
    assert!(tap.log().iter().all(|line| !line.contains("tap-token")), "tokens are never logged");
}

#[test]
fn a_tap_refuses_to_forward_to_itself() {
    // OTEL_EXPORTER_OTLP_ENDPOINT exported for the SDKs, and a tap started in the same shell on that port.
    for _ in 0..5 {
        let port = std::net::TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port();
        let dir = tempfile::tempdir().unwrap();
        let own = format!("127.0.0.1:{port}");
        let output = run_cli(
            &["serve", "--store", dir.path().to_str().unwrap(), "--http", &own, "--grpc", "off"],
            &[("OTEL_EXPORTER_OTLP_ENDPOINT".into(), format!("http://localhost:{port}"))],
        );
        let stderr = String::from_utf8_lossy(&output.stderr);
        if stderr.contains("Address already in use") {
            continue;
        }
        assert_eq!(output.status.code(), Some(2), "{stderr}");
        assert!(stderr.contains("forward to itself"), "{stderr}");
        assert_eq!(stderr.lines().filter(|l| l.starts_with("otlp-capture:")).count(), 1, "one line: {stderr}");
        return;
    }
    panic!("no free port to try on");
}
