//! The sandbox against a hostile component (tests/hostile) under the real
//! tap: a call that loops, hogs memory, traps, recurses or asks to store a
//! huge object is ended and answered 503 with Retry-After, without a
//! backtrace, and the tap goes on serving with a fresh instance.

use std::net::SocketAddr;
use std::sync::Arc;
use std::time::{Duration, Instant};

use axum::extract::connect_info::MockConnectInfo;
use axum::http::StatusCode;
use otlp_capture::auth::Peer;
use otlp_capture::config::ServeSettings;
use otlp_capture::runtime::Runtime;
use otlp_capture::runtime::state::{FixedClock, InstanceLimits};
use otlp_capture::server::Tap;
use otlp_capture::storage::StoreLocation;
use serde_json::json;

use crate::support::app::{call, get, post_json};
use crate::support::component::{NOW, hostile_component};

#[tokio::test(flavor = "multi_thread")]
async fn hostile_calls_are_contained_and_the_tap_keeps_serving() {
    let limits = InstanceLimits {
        max_memory_bytes: 512 << 20,
        call_deadline: Duration::from_secs(1),
        ..InstanceLimits::default()
    };
    let runtime = Runtime::load(Some(&hostile_component()), limits).unwrap();
    let mut settings = ServeSettings::new(StoreLocation::Memory);
    settings.workers = 2;
    let tap = Tap::start_with(settings, &runtime, Arc::new(FixedClock(NOW))).unwrap();
    let app = tap.app().layer(MockConnectInfo(Peer(SocketAddr::from(([127, 0, 0, 1], 40000)))));
    assert_eq!(post_json(&app, "/api/capture/sessions", json!({"sessionId": "h1"})).await.status, StatusCode::CREATED);

    let send = |payload: &'static [u8]| {
        let app = app.clone();
        async move {
            let started = Instant::now();
            let answer = call(&app, "POST", "/v1/traces", &[("content-type", "application/x-protobuf")], payload).await;
            (answer, started.elapsed())
        }
    };
    for (behaviour, payload) in [
        ("an endless loop", &b"L"[..]),
        ("a memory hog", b"M"),
        ("a trap", b"T"),
        ("deep recursion", b"R"),
        ("a 300 MiB put", b"P"),
    ] {
        let (answer, took) = send(payload).await;
        assert_eq!(answer.status, StatusCode::SERVICE_UNAVAILABLE, "{behaviour}: {:?}", answer.body);
        assert_eq!(answer.header("retry-after"), "1", "{behaviour}");
        let body = String::from_utf8_lossy(&answer.body);
        assert!(!body.contains("wasm") && !body.contains("backtrace"), "{behaviour}: {body}");
        assert!(took < Duration::from_secs(10), "{behaviour} took {took:?}");
        // The tap goes on: a well-behaved call right after is answered.
        let (fine, _) = send(b"x").await;
        assert_eq!(fine.status, StatusCode::OK, "after {behaviour}");
        assert_eq!(get(&app, "/health").await.status, StatusCode::OK, "after {behaviour}");
    }
    let (looped, took) = send(b"L").await;
    assert_eq!(looped.status, StatusCode::SERVICE_UNAVAILABLE);
    assert!(took >= Duration::from_millis(900), "the epoch deadline, not something else, ended it: {took:?}");
}
