//! The tap's HTTP surface: OTLP conventions and the control API.

use std::io::Write;

use prost::Message;
use reqwest_blocking::StatusCode;
use reqwest_blocking::blocking::Client;
use serde_json::{Value, json};

use crate::support::otlp::spec_example;
use crate::support::processes::TapProcess;

#[derive(Clone, PartialEq, Message)]
struct RpcStatus {
    #[prost(int32, tag = "1")]
    code: i32,
    #[prost(string, tag = "2")]
    message: String,
}

fn gzip(data: &[u8]) -> Vec<u8> {
    let mut encoder = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::fast());
    encoder.write_all(data).unwrap();
    encoder.finish().unwrap()
}

fn tap() -> (tempfile::TempDir, TapProcess) {
    let dir = tempfile::tempdir().unwrap();
    let tap = TapProcess::start_with(dir.path().to_str().unwrap(), &[], &["--max-request-mib", "1"]);
    (dir, tap)
}

#[test]
fn otlp_http_follows_the_specification() {
    let (_dir, tap) = tap();
    let client = Client::new();
    let post = |path: &str, content_type: &str, body: Vec<u8>| {
        client.post(format!("{}{path}", tap.base)).header("content-type", content_type).body(body).send().unwrap()
    };
    assert_eq!(client.get(format!("{}/health", tap.base)).send().unwrap().status(), StatusCode::OK);

    let ok = post("/v1/traces", "application/json", spec_example("trace.json"));
    assert_eq!(ok.status(), StatusCode::OK);
    assert_eq!(ok.headers()["content-type"], "application/json");
    assert_eq!(ok.text().unwrap(), "{}");

    let ok = post("/v1/logs", "application/x-protobuf", Vec::new());
    assert_eq!(ok.status(), StatusCode::OK);
    assert_eq!(ok.headers()["content-type"], "application/x-protobuf");

    let gzipped = client
        .post(format!("{}/v1/metrics", tap.base))
        .header("content-type", "application/json")
        .header("content-encoding", "gzip")
        .body(gzip(&spec_example("metrics.json")))
        .send()
        .unwrap();
    assert_eq!(gzipped.status(), StatusCode::OK);

    assert_eq!(post("/v1/traces", "text/plain", b"hello".to_vec()).status(), StatusCode::UNSUPPORTED_MEDIA_TYPE);

    let bad = post("/v1/metrics", "application/x-protobuf", b"\x0a\x05\x0a".to_vec());
    assert_eq!(bad.status(), StatusCode::BAD_REQUEST);
    let status = RpcStatus::decode(bad.bytes().unwrap()).unwrap();
    assert_eq!(status.code, 3, "INVALID_ARGUMENT");
    assert!(status.message.contains("protobuf"), "{}", status.message);
    let bad_json = post("/v1/logs", "application/json", b"{\"resourceLogs\":".to_vec());
    assert_eq!(bad_json.status(), StatusCode::BAD_REQUEST);
    assert_eq!(bad_json.json::<Value>().unwrap()["code"], 3);

    // 2 MiB of zeros compress to a few KiB: the limit applies after decompression.
    let bomb = client
        .post(format!("{}/v1/traces", tap.base))
        .header("content-type", "application/x-protobuf")
        .header("content-encoding", "gzip")
        .body(gzip(&vec![0u8; 2 << 20]))
        .send()
        .unwrap();
    assert_eq!(bomb.status(), StatusCode::PAYLOAD_TOO_LARGE);
    let big = post("/v1/traces", "application/x-protobuf", vec![0u8; 2 << 20]);
    assert_eq!(big.status(), StatusCode::PAYLOAD_TOO_LARGE);

    // A fresh connection: the server closes the one whose oversized body it refused unread.
    let metrics = Client::new().get(format!("{}/metrics", tap.base)).send().unwrap().text().unwrap();
    for line in [
        "otlp_capture_requests_total{signal=\"traces\",protocol=\"http\",outcome=\"ok\"} 1",
        "otlp_capture_requests_total{signal=\"metrics\",protocol=\"http\",outcome=\"ok\"} 1",
        "otlp_capture_requests_total{signal=\"metrics\",protocol=\"http\",outcome=\"invalid\"} 1",
        "otlp_capture_requests_total{signal=\"logs\",protocol=\"http\",outcome=\"invalid\"} 1",
        "otlp_capture_items_total{signal=\"traces\"} 1",
        "otlp_capture_active_sessions 0",
    ] {
        assert!(metrics.lines().any(|l| l == line), "{line} missing from\n{metrics}");
    }
}

#[test]
fn the_control_api_manages_sessions() {
    let (_dir, tap) = tap();
    let client = Client::new();
    let sessions = format!("{}/api/capture/sessions", tap.base);
    let start = |body: Value| client.post(&sessions).json(&body).send().unwrap();

    let created = start(
        json!({"sessionId": "api-1", "enabledFlags": ["cartFailure"], "captureMetrics": false, "sampleRatio": 0.5}),
    );
    assert_eq!(created.status(), StatusCode::CREATED);
    let created: Value = created.json().unwrap();
    assert_eq!(
        (created["status"].as_str(), created["captureMetrics"].as_bool(), created["sampleRatio"].as_f64()),
        (Some("active"), Some(false), Some(0.5))
    );

    assert_eq!(start(json!({"sessionId": "api-1"})).status(), StatusCode::CONFLICT);
    for invalid in [
        json!({"sessionId": "../x"}),
        json!({"sessionId": "ok", "sampleRatio": 2.0}),
        json!({"nope": 1}),
        json!({"sessionId": "x", "captureTraces": false, "captureMetrics": false, "captureLogs": false}),
    ] {
        let refused = start(invalid.clone());
        assert_eq!(refused.status(), StatusCode::BAD_REQUEST, "{invalid}");
        assert!(refused.json::<Value>().unwrap()["error"].is_string());
    }
    let raw = client.post(&sessions).header("content-type", "application/json").body("not json").send().unwrap();
    assert_eq!(raw.status(), StatusCode::BAD_REQUEST);

    let shown: Value = client.get(format!("{sessions}/api-1")).send().unwrap().json().unwrap();
    assert_eq!(shown["sessionId"], "api-1");
    assert_eq!(client.get(format!("{sessions}/none")).send().unwrap().status(), StatusCode::NOT_FOUND);
    let listed: Value = client.get(&sessions).send().unwrap().json().unwrap();
    assert_eq!(listed["sessions"].as_array().unwrap().len(), 1);

    let stopped = client.delete(format!("{sessions}/api-1")).send().unwrap();
    assert_eq!(stopped.status(), StatusCode::OK);
    assert_eq!(stopped.json::<Value>().unwrap()["status"], "completed");
    assert_eq!(client.delete(format!("{sessions}/api-1")).send().unwrap().status(), StatusCode::NOT_FOUND);
}

#[test]
fn otlp_grpc_answers_with_otlp_status_codes() {
    use otlp_capture::grpc_wire::{RawCodec, TRACES_PATH};
    let (_dir, tap) = tap();
    let runtime = tokio::runtime::Builder::new_current_thread().enable_all().build().unwrap();
    runtime.block_on(async {
        let channel = tonic::transport::Endpoint::from_shared(tap.grpc.clone()).unwrap().connect().await.unwrap();
        let call = |payload: &'static [u8]| {
            let channel = channel.clone();
            async move {
                let mut grpc = tonic::client::Grpc::new(channel);
                grpc.ready().await.unwrap();
                let path = tonic::codegen::http::uri::PathAndQuery::from_static(TRACES_PATH);
                grpc.unary(tonic::Request::new(bytes::Bytes::from_static(payload)), path, RawCodec).await
            }
        };
        assert!(call(b"").await.is_ok(), "an empty request is a valid one");
        let refused = call(b"\x0a\x05\x0a").await.unwrap_err();
        assert_eq!(refused.code(), tonic::Code::InvalidArgument);
    });
}
