//! The tap's HTTP surface in-process, through `Tap::app()` over an
//! in-memory store: OTLP/HTTP status codes, bodies and headers, `/metrics`,
//! and the control API.

use std::io::Write;
use std::sync::Arc;

use axum::http::StatusCode;
use otlp_capture::config::ServeSettings;
use otlp_capture::runtime::state::FixedClock;
use otlp_capture::server::Tap;
use otlp_capture::storage::StoreLocation;
use prost::Message;
use serde_json::json;

use crate::support::app::{call, get, post_json};
use crate::support::component::{NOW, runtime};
use crate::support::otlp::spec_example;

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

/// A tap over memory that takes request bodies up to 1 MiB.
fn tap() -> Arc<Tap> {
    let mut settings = ServeSettings::new(StoreLocation::Memory);
    settings.max_body_bytes = 1 << 20;
    Tap::start_with(settings, &runtime(), Arc::new(FixedClock(NOW))).unwrap()
}

#[tokio::test(flavor = "multi_thread")]
async fn otlp_http_follows_the_specification() {
    let app = tap().app();
    let post = |path: &'static str, content_type: &'static str, body: Vec<u8>| {
        let app = app.clone();
        async move { call(&app, "POST", path, &[("content-type", content_type)], body).await }
    };
    assert_eq!(get(&app, "/health").await.status, StatusCode::OK);

    let ok = post("/v1/traces", "application/json", spec_example("trace.json")).await;
    assert_eq!(ok.status, StatusCode::OK);
    assert_eq!((ok.header("content-type"), &ok.body[..]), ("application/json", &b"{}"[..]));

    let ok = post("/v1/logs", "application/x-protobuf", Vec::new()).await;
    assert_eq!((ok.status, ok.header("content-type")), (StatusCode::OK, "application/x-protobuf"));

    let gzipped = call(
        &app,
        "POST",
        "/v1/metrics",
        &[("content-type", "application/json"), ("content-encoding", "gzip")],
        gzip(&spec_example("metrics.json")),
    )
    .await;
    assert_eq!(gzipped.status, StatusCode::OK);

    assert_eq!(post("/v1/traces", "text/plain", b"hello".to_vec()).await.status, StatusCode::UNSUPPORTED_MEDIA_TYPE);

    let bad = post("/v1/metrics", "application/x-protobuf", b"\x0a\x05\x0a".to_vec()).await;
    assert_eq!(bad.status, StatusCode::BAD_REQUEST);
    let status = RpcStatus::decode(bad.body).unwrap();
    assert_eq!(status.code, 3, "INVALID_ARGUMENT");
    assert!(status.message.contains("protobuf"), "{}", status.message);
    let bad_json = post("/v1/logs", "application/json", b"{\"resourceLogs\":".to_vec()).await;
    assert_eq!(bad_json.status, StatusCode::BAD_REQUEST);
    assert_eq!(bad_json.json()["code"], 3);

    // 2 MiB of zeros compress to a few KiB: the limit applies after decompression.
    let bomb = call(
        &app,
        "POST",
        "/v1/traces",
        &[("content-type", "application/x-protobuf"), ("content-encoding", "gzip")],
        gzip(&vec![0u8; 2 << 20]),
    )
    .await;
    assert_eq!(bomb.status, StatusCode::PAYLOAD_TOO_LARGE);
    let big = post("/v1/traces", "application/x-protobuf", vec![0u8; 2 << 20]).await;
    assert_eq!(big.status, StatusCode::PAYLOAD_TOO_LARGE);
    assert_eq!(RpcStatus::decode(big.body).unwrap().code, 8, "RESOURCE_EXHAUSTED");

    let metrics = get(&app, "/metrics").await;
    let metrics = String::from_utf8_lossy(&metrics.body);
    for line in [
        "otlp_capture_requests_total{signal=\"traces\",protocol=\"http\",outcome=\"ok\"} 1",
        "otlp_capture_requests_total{signal=\"traces\",protocol=\"http\",outcome=\"invalid\"} 3",
        "otlp_capture_requests_total{signal=\"metrics\",protocol=\"http\",outcome=\"ok\"} 1",
        "otlp_capture_requests_total{signal=\"metrics\",protocol=\"http\",outcome=\"invalid\"} 1",
        "otlp_capture_requests_total{signal=\"logs\",protocol=\"http\",outcome=\"invalid\"} 1",
        "otlp_capture_items_total{signal=\"traces\"} 1",
        "otlp_capture_active_sessions 0",
    ] {
        assert!(metrics.lines().any(|l| l == line), "{line} missing from\n{metrics}");
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn the_control_api_manages_sessions() {
    let app = tap().app();
    let sessions = "/api/capture/sessions";

    let created = post_json(
        &app,
        sessions,
        json!({"sessionId": "api-1", "enabledFlags": ["cartFailure"], "captureMetrics": false, "sampleRatio": 0.5}),
    )
    .await;
    assert_eq!(created.status, StatusCode::CREATED);
    let created = created.json();
    assert_eq!(
        (created["status"].as_str(), created["captureMetrics"].as_bool(), created["sampleRatio"].as_f64()),
        (Some("active"), Some(false), Some(0.5))
    );

    assert_eq!(post_json(&app, sessions, json!({"sessionId": "api-1"})).await.status, StatusCode::CONFLICT);
    for invalid in [
        json!({"sessionId": "../x"}),
        json!({"sessionId": "ok", "sampleRatio": 2.0}),
        json!({"nope": 1}),
        json!({"sessionId": "x", "captureTraces": false, "captureMetrics": false, "captureLogs": false}),
    ] {
        let refused = post_json(&app, sessions, invalid.clone()).await;
        assert_eq!(refused.status, StatusCode::BAD_REQUEST, "{invalid}");
        assert!(refused.json()["error"].is_string());
    }
    let raw = call(&app, "POST", sessions, &[("content-type", "application/json")], "not json").await;
    assert_eq!(raw.status, StatusCode::BAD_REQUEST);

    assert_eq!(get(&app, &format!("{sessions}/api-1")).await.json()["sessionId"], "api-1");
    assert_eq!(get(&app, &format!("{sessions}/none")).await.status, StatusCode::NOT_FOUND);
    assert_eq!(get(&app, sessions).await.json()["sessions"].as_array().unwrap().len(), 1);

    let stopped = call(&app, "DELETE", &format!("{sessions}/api-1"), &[], "").await;
    assert_eq!(stopped.status, StatusCode::OK);
    assert_eq!(stopped.json()["status"], "completed");
    assert_eq!(call(&app, "DELETE", &format!("{sessions}/api-1"), &[], "").await.status, StatusCode::NOT_FOUND);
}

#[tokio::test(flavor = "multi_thread")]
async fn replays_through_the_api_take_every_choice_and_refuse_nonsense() {
    let app = tap().app();
    let replay = |body| post_json(&app, "/api/replay", body);
    let unknown = replay(json!({"sessionId": "none", "endpoint": "http://127.0.0.1:9"})).await;
    assert_eq!(unknown.status, StatusCode::NOT_FOUND);
    for invalid in [
        json!({"sessionId": "none", "endpoint": "ftp://x"}),
        json!({"sessionId": "none", "endpoint": "http://127.0.0.1:9", "timestamps": "later"}),
        json!({"sessionId": "none", "endpoint": "http://127.0.0.1:9", "speed": 0}),
        json!({"sessionId": "none", "endpoint": "http://127.0.0.1:9", "loop": 0}),
        json!({"sessionId": "none", "endpoint": "http://127.0.0.1:9", "from": "yesterday"}),
    ] {
        assert_eq!(replay(invalid.clone()).await.status, StatusCode::BAD_REQUEST, "{invalid}");
    }
    assert_eq!(get(&app, "/api/replay/replay-0").await.status, StatusCode::NOT_FOUND);
}
