//! Session limits: maxSizeMB and maxDurationMinutes end a session as
//! completed, with the reason in metadata.json.

use std::time::Duration;

use otlp_capture_guest::codec::OtlpRequest;
use reqwest::blocking::Client;
use serde_json::{Value, json};

use crate::support::generate;
use crate::support::processes::TapProcess;
use crate::support::wait;

fn wait_until_completed(client: &Client, tap: &TapProcess, id: &str, mut between: impl FnMut()) -> Value {
    wait::until(&format!("{id} ending"), Duration::from_secs(15), || {
        let shown: Value =
            client.get(format!("{}/api/capture/sessions/{id}", tap.base)).send().unwrap().json().unwrap();
        if shown["status"] == "completed" {
            return Some(shown);
        }
        between();
        None
    })
}

#[test]
fn max_size_and_max_duration_end_sessions_with_a_reason() {
    let dir = tempfile::tempdir().unwrap();
    let tap = TapProcess::start(dir.path().to_str().unwrap(), &[]);
    let client = Client::new();
    let start = |body: Value| {
        let response = client.post(format!("{}/api/capture/sessions", tap.base)).json(&body).send().unwrap();
        assert_eq!(response.status(), reqwest::StatusCode::CREATED);
    };
    start(json!({"sessionId": "small", "maxSizeMB": 0.02, "captureLogs": false}));
    start(json!({"sessionId": "short", "maxDurationMinutes": 0.02, "captureTraces": false}));

    let payload = OtlpRequest::Traces(generate::traces("checkout", 40, 5, 1_700_000_000_000_000_000)).encode_protobuf();
    let send = || {
        let response = client
            .post(format!("{}/v1/traces", tap.base))
            .header("content-type", "application/x-protobuf")
            .body(payload.clone())
            .send()
            .unwrap();
        assert_eq!(response.status(), reqwest::StatusCode::OK);
    };
    let small = wait_until_completed(&client, &tap, "small", send);
    assert!(small["endReason"].as_str().unwrap().contains("maxSizeMB"), "{small}");
    assert!(small["totalSizeBytes"].as_u64().unwrap() >= 20_971, "{small}");
    let objects = small["objectCount"].clone();
    send();
    let again: Value = client.get(format!("{}/api/capture/sessions/small", tap.base)).send().unwrap().json().unwrap();
    assert_eq!(again["objectCount"], objects, "an ended session records nothing more");

    let short = wait_until_completed(&client, &tap, "short", || {});
    assert!(short["endReason"].as_str().unwrap().contains("maxDurationMinutes"), "{short}");
    assert_eq!(short["maxDurationMinutes"], 0.02);
    let refused = client
        .post(format!("{}/api/capture/sessions", tap.base))
        .json(&json!({"sessionId": "bad", "maxSizeMB": -1}))
        .send()
        .unwrap();
    assert_eq!(refused.status(), reqwest::StatusCode::BAD_REQUEST);
}
