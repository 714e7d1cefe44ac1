//! The tap's HTTP surface in-process, through `Tap::app()` over an
//! in-memory store: OTLP/HTTP status codes, bodies and headers, `/metrics`,
//! and the control API.

use std::io::Write;
use std::net::SocketAddr;
use std::sync::Arc;

use axum::Router;
use axum::extract::connect_info::MockConnectInfo;
use axum::http::StatusCode;
use otlp_capture::auth::{ControlAccess, Peer, Token};
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
    tap_with(|_| {})
}

fn tap_with(adjust: impl FnOnce(&mut ServeSettings)) -> Arc<Tap> {
    let mut settings = ServeSettings::new(StoreLocation::Memory);
    settings.max_body_bytes = 1 << 20;
    adjust(&mut settings);
    Tap::start_with(settings, &runtime(), Arc::new(FixedClock(NOW))).unwrap()
}

/// The tap's routes as a client at `peer` reaches them.
fn app_from(tap: &Arc<Tap>, peer: [u8; 4]) -> Router {
    tap.app().layer(MockConnectInfo(Peer(SocketAddr::from((peer, 40000)))))
}

/// The tap's routes as a loopback client reaches them.
fn app(tap: &Arc<Tap>) -> Router {
    app_from(tap, [127, 0, 0, 1])
}

#[tokio::test(flavor = "multi_thread")]
async fn otlp_http_follows_the_specification() {
    let app = app(&tap());
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
        "otlp_capture_requests_total{outcome=\"ok\",protocol=\"http\",signal=\"traces\"} 1",
        "otlp_capture_requests_total{outcome=\"invalid\",protocol=\"http\",signal=\"traces\"} 3",
        "otlp_capture_requests_total{outcome=\"ok\",protocol=\"http\",signal=\"metrics\"} 1",
        "otlp_capture_requests_total{outcome=\"invalid\",protocol=\"http\",signal=\"metrics\"} 1",
        "otlp_capture_requests_total{outcome=\"invalid\",protocol=\"http\",signal=\"logs\"} 1",
        "otlp_capture_items_total{signal=\"traces\"} 1",
        "otlp_capture_active_sessions 0",
    ] {
        assert!(metrics.lines().any(|l| l == line), "{line} missing from\n{metrics}");
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn the_control_api_manages_sessions() {
    let app = app(&tap());
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
    let app = app(&tap());
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

#[tokio::test(flavor = "multi_thread")]
async fn the_control_api_is_loopback_only_without_a_token_and_takes_json_only() {
    let tap = tap();
    let start = json!({"sessionId": "s1"});
    let remote = app_from(&tap, [192, 0, 2, 7]);
    for answer in
        [get(&remote, "/api/capture/sessions").await, post_json(&remote, "/api/capture/sessions", start.clone()).await]
    {
        assert_eq!(answer.status, StatusCode::FORBIDDEN);
        assert!(answer.json()["error"].as_str().unwrap().contains("loopback"));
    }
    assert_eq!(get(&remote, "/health").await.status, StatusCode::OK, "health is not control");
    let local = app(&tap);
    let text =
        call(&local, "POST", "/api/capture/sessions", &[("content-type", "text/plain")], start.to_string()).await;
    assert_eq!(text.status, StatusCode::UNSUPPORTED_MEDIA_TYPE, "a cross-origin form post cannot start anything");
    let replay = call(
        &local,
        "POST",
        "/api/replay",
        &[],
        json!({"sessionId": "s1", "endpoint": "http://127.0.0.1:9"}).to_string(),
    )
    .await;
    assert_eq!(replay.status, StatusCode::UNSUPPORTED_MEDIA_TYPE);
    assert_eq!(post_json(&local, "/api/capture/sessions", start).await.status, StatusCode::CREATED);
}

#[tokio::test(flavor = "multi_thread")]
async fn a_control_token_admits_any_peer_that_presents_it() {
    let tap = tap_with(|s| s.control = ControlAccess::Token(Token::new("c0ntrol").unwrap()));
    let remote = app_from(&tap, [192, 0, 2, 7]);
    let local = app(&tap);
    assert_eq!(get(&local, "/api/capture/sessions").await.status, StatusCode::UNAUTHORIZED, "loopback needs it too");
    let wrong = call(&remote, "GET", "/api/capture/sessions", &[("authorization", "Bearer nope")], "").await;
    assert_eq!(wrong.status, StatusCode::UNAUTHORIZED);
    let right = call(&remote, "GET", "/api/capture/sessions", &[("authorization", "Bearer c0ntrol")], "").await;
    assert_eq!(right.status, StatusCode::OK);
    let otlp = call(&remote, "POST", "/v1/logs", &[("content-type", "application/x-protobuf")], "").await;
    assert_eq!(otlp.status, StatusCode::OK, "the control token does not guard the receivers");
}

#[tokio::test(flavor = "multi_thread")]
async fn replays_through_the_api_go_to_loopback_or_allowed_prefixes_only() {
    let tap = tap();
    let local = app(&tap);
    post_json(&local, "/api/capture/sessions", json!({"sessionId": "s1"})).await;
    call(&local, "DELETE", "/api/capture/sessions/s1", &[], "").await;
    for endpoint in ["http://192.0.2.7:4318", "http://collector.example:4318", "http://169.254.169.254/latest"] {
        let refused = post_json(&local, "/api/replay", json!({"sessionId": "s1", "endpoint": endpoint})).await;
        assert_eq!(refused.status, StatusCode::FORBIDDEN, "{endpoint}");
    }
    for endpoint in ["http://127.0.0.1:9", "http://localhost:9", "http://[::1]:9"] {
        let started = post_json(&local, "/api/replay", json!({"sessionId": "s1", "endpoint": endpoint})).await;
        assert_eq!(started.status, StatusCode::ACCEPTED, "{endpoint}");
    }
    let allowing = tap_with(|s| s.replay_allow = vec!["http://collector.example:4318/".into()]);
    let local = app(&allowing);
    post_json(&local, "/api/capture/sessions", json!({"sessionId": "s1"})).await;
    let allowed =
        post_json(&local, "/api/replay", json!({"sessionId": "s1", "endpoint": "http://collector.example:4318"})).await;
    assert_eq!(allowed.status, StatusCode::ACCEPTED);
    let other = post_json(&local, "/api/replay", json!({"sessionId": "s1", "endpoint": "http://127.0.0.1:9"})).await;
    assert_eq!(other.status, StatusCode::FORBIDDEN, "the prefixes replace the loopback default");
}

#[tokio::test(flavor = "multi_thread")]
async fn a_receiver_token_is_required_of_every_otlp_client() {
    let tap = tap_with(|s| s.token = Token::new("t0ken"));
    let app = app(&tap);
    let post = |headers: &'static [(&'static str, &'static str)]| {
        let app = app.clone();
        async move {
            let mut all = vec![("content-type", "application/json")];
            all.extend_from_slice(headers);
            call(&app, "POST", "/v1/traces", &all, spec_example("trace.json")).await
        }
    };
    let missing = post(&[]).await;
    assert_eq!(missing.status, StatusCode::UNAUTHORIZED);
    assert_eq!(missing.json()["code"], 16, "UNAUTHENTICATED");
    assert_eq!(post(&[("authorization", "Bearer wrong")]).await.status, StatusCode::UNAUTHORIZED);
    assert_eq!(post(&[("authorization", "Bearer t0ken")]).await.status, StatusCode::OK);
}

#[tokio::test(flavor = "multi_thread")]
async fn a_request_that_already_passed_this_tap_is_a_loop() {
    let tap = tap();
    let app = app(&tap);
    let via = |value: String| {
        let app = app.clone();
        async move {
            let headers = [("content-type", "application/x-protobuf"), ("x-otlp-capture-via", value.as_str())];
            call(&app, "POST", "/v1/logs", &headers, "").await
        }
    };
    assert_eq!(via("another-tap".into()).await.status, StatusCode::OK, "another tap's name is no loop");
    let looped = via(format!("another-tap, {}", tap.id())).await;
    assert_eq!(looped.status, StatusCode::LOOP_DETECTED);
    assert_eq!(RpcStatus::decode(looped.body).unwrap().code, 9, "FAILED_PRECONDITION: not retried");
}

#[tokio::test(flavor = "multi_thread")]
async fn paths_the_tap_does_not_serve_are_404_whatever_their_body() {
    let app = app_from(&tap(), [192, 0, 2, 7]);
    let answer = call(&app, "POST", "/nowhere/v1/logs", &[("content-type", "application/x-protobuf")], "").await;
    assert_eq!(answer.status, StatusCode::NOT_FOUND, "not the control API's guard: {:?}", answer.body);
}

#[tokio::test(flavor = "multi_thread")]
async fn hostile_requests_are_refused_with_a_4xx_and_no_backtrace() {
    let tap = tap();
    let app = app(&tap);
    let flags: Vec<String> = (0..10_000).map(|n| format!("flag-{n}")).collect();
    let too_many = post_json(&app, "/api/capture/sessions", json!({"sessionId": "s1", "enabledFlags": flags})).await;
    assert_eq!(too_many.status, StatusCode::BAD_REQUEST);
    assert!(too_many.json()["error"].as_str().unwrap().contains("enabled flags"));
    let started = post_json(&app, "/api/capture/sessions", json!({"sessionId": "s1", "enabledFlags": ["cartFailure"]}));
    assert_eq!(started.await.status, StatusCode::CREATED);

    // A few KiB of gzip holding a MiB of empty resource batches: tagged, each would carry the session.
    let empty_resources: Vec<u8> = std::iter::repeat_n([0x0a_u8, 0x00], 500_000).flatten().collect();
    let bomb = gzip(&empty_resources);
    assert!(bomb.len() < 8 << 10, "{}", bomb.len());
    for path in ["/v1/traces", "/v1/metrics", "/v1/logs"] {
        let headers = [("content-type", "application/x-protobuf"), ("content-encoding", "gzip")];
        let refused = call(&app, "POST", path, &headers, bomb.clone()).await;
        assert_eq!(refused.status, StatusCode::BAD_REQUEST, "{path}");
        let status = RpcStatus::decode(refused.body).unwrap();
        assert!(status.message.contains("fewer resources"), "{path}: {}", status.message);
        assert!(!status.message.contains("wasm") && !status.message.contains("backtrace"), "{}", status.message);
    }
    tap.uploader.flush().await;
    assert!(tap.uploader.storage().list("sessions/s1/raw/").await.unwrap().is_empty(), "nothing stored");
}
