//! Session lifecycle through the component: metadata.json at start, while
//! active and at stop, with counts that match what was stored.

use std::sync::Arc;

use bytes::Bytes;
use otlp_capture::capture::BatchLimits;
use otlp_capture::config::ServeSettings;
use otlp_capture::error::TapError;
use otlp_capture::otlp::{Encoding as PayloadEncoding, Signal};
use otlp_capture::runtime::state::FixedClock;
use otlp_capture::server::Tap;
use otlp_capture::session::SessionStatus;
use otlp_capture::storage::StoreLocation;
use serde_json::Value;

use crate::capture::config;
use crate::support::component::{NOW, runtime};
use crate::support::otlp::spec_example;

async fn metadata(tap: &Tap, id: &str) -> Value {
    tap.uploader.flush().await;
    let key = format!("sessions/{id}/metadata.json");
    let document = tap.uploader.storage().get(&key).await.unwrap().expect("metadata.json written");
    serde_json::from_slice(&document).unwrap()
}

/// A tap over an in-memory store that stores every request as its own object.
fn tap() -> Arc<Tap> {
    tap_batching(BatchLimits { max_bytes: 0, ..Default::default() })
}

fn tap_batching(batching: BatchLimits) -> Arc<Tap> {
    let mut settings = ServeSettings::new(StoreLocation::Memory);
    settings.batching = batching;
    Tap::start_with(settings, &runtime(), Arc::new(FixedClock(NOW))).unwrap()
}

#[tokio::test(flavor = "multi_thread")]
async fn metadata_is_written_at_start_refreshed_and_final_at_stop() {
    let tap = tap();
    let mut session = config("s1");
    session.description = Some("payment failure".into());
    session.diagnostic_session_id = Some("incident-42".into());
    tap.registry.start(session).await.unwrap();
    let started = metadata(&tap, "s1").await;
    assert_eq!(started["status"], "active");
    assert_eq!(started["startTime"], "2025-11-24T16:00:00.123Z");
    assert_eq!(started["capturedTraces"], 0);
    assert_eq!(started["enabledFlags"], serde_json::json!(["paymentServiceFailure"]));
    assert_eq!(started["s3Prefix"], "sessions/s1/");
    assert_eq!(started["diagnosticSessionId"], "incident-42");

    let (traces, metrics, logs) = (spec_example("trace.json"), spec_example("metrics.json"), spec_example("logs.json"));
    for _ in 0..3 {
        tap.recorder.record(Signal::Traces, PayloadEncoding::Json, Bytes::from(traces.clone()), None).await.unwrap();
    }
    for _ in 0..2 {
        tap.recorder.record(Signal::Metrics, PayloadEncoding::Json, Bytes::from(metrics.clone()), None).await.unwrap();
    }
    tap.recorder.record(Signal::Logs, PayloadEncoding::Json, Bytes::from(logs.clone()), None).await.unwrap();

    tap.registry.refresh().await;
    let live = metadata(&tap, "s1").await;
    assert_eq!(
        (live["status"].as_str(), live["capturedTraces"].as_u64(), live["spanCount"].as_u64()),
        (Some("active"), Some(3), Some(3))
    );

    let stopped = tap.registry.stop("s1", SessionStatus::Completed, None).await.unwrap();
    assert_eq!(stopped.status, SessionStatus::Completed);
    let last = metadata(&tap, "s1").await;
    assert_eq!(last["status"], "completed");
    assert_eq!(last["endTime"], "2025-11-24T16:00:00.123Z");
    assert_eq!(
        (last["capturedTraces"].as_u64(), last["capturedMetrics"].as_u64(), last["capturedLogs"].as_u64()),
        (Some(3), Some(2), Some(1))
    );
    assert_eq!(
        (last["spanCount"].as_u64(), last["dataPointCount"].as_u64(), last["logRecordCount"].as_u64()),
        (Some(3), Some(8), Some(1))
    );
    assert_eq!(last["firstTelemetryTimeUnixNano"], "1544712660000000000");
    assert_eq!(last["lastTelemetryTimeUnixNano"], "1544712661000000000");

    let raw = tap.uploader.storage().list("sessions/s1/raw/").await.unwrap();
    assert_eq!(raw.len() as u64, last["objectCount"].as_u64().unwrap());
    assert_eq!(raw.iter().map(|o| o.size).sum::<u64>(), last["totalSizeBytes"].as_u64().unwrap());
}

#[tokio::test(flavor = "multi_thread")]
async fn ids_are_unique_and_stopped_sessions_record_nothing() {
    let tap = tap();
    tap.registry.start(config("s1")).await.unwrap();
    assert!(matches!(tap.registry.start(config("s1")).await, Err(TapError::Conflict(_))));
    tap.registry.stop("s1", SessionStatus::Completed, None).await.unwrap();
    assert!(
        matches!(tap.registry.start(config("s1")).await, Err(TapError::Conflict(_))),
        "a stored session is not overwritten"
    );
    assert!(matches!(tap.registry.stop("s1", SessionStatus::Completed, None).await, Err(TapError::NotFound(_))));
    let recorded = tap
        .recorder
        .record(Signal::Traces, PayloadEncoding::Json, Bytes::from(spec_example("trace.json")), None)
        .await
        .unwrap();
    assert_eq!(recorded.sessions, 0);
    assert!(tap.uploader.storage().list("sessions/s1/raw/").await.unwrap().is_empty());
    let listed = tap.registry.list().await.unwrap();
    assert_eq!(listed.len(), 1);
    assert_eq!(listed[0].status, SessionStatus::Completed);
}

#[tokio::test(flavor = "multi_thread")]
async fn every_active_session_records_and_invalid_payloads_are_refused() {
    let tap = tap();
    tap.registry.start(config("a")).await.unwrap();
    let mut metrics_only = config("b");
    (metrics_only.capture_traces, metrics_only.capture_logs) = (false, false);
    tap.registry.start(metrics_only).await.unwrap();
    let traces = tap
        .recorder
        .record(Signal::Traces, PayloadEncoding::Json, Bytes::from(spec_example("trace.json")), None)
        .await
        .unwrap();
    assert_eq!(traces.sessions, 1);
    let metrics = tap
        .recorder
        .record(Signal::Metrics, PayloadEncoding::Json, Bytes::from(spec_example("metrics.json")), None)
        .await
        .unwrap();
    assert_eq!(metrics.sessions, 2);
    let garbage =
        tap.recorder.record(Signal::Logs, PayloadEncoding::Protobuf, Bytes::from_static(b"\xff\xff"), None).await;
    assert!(matches!(garbage, Err(TapError::InvalidRequest(_))), "{garbage:?}");
}

#[tokio::test(flavor = "multi_thread")]
async fn small_requests_are_batched_by_size_and_age_and_flushed_at_stop() {
    let traces = Bytes::from(spec_example("trace.json"));
    let size_of_one = {
        let tap = tap();
        // Same id length as the session measured below, so the tagged size is the same.
        tap.registry.start(config("s0")).await.unwrap();
        tap.recorder.record(Signal::Traces, PayloadEncoding::Json, traces.clone(), None).await.unwrap();
        tap.registry.stop("s0", SessionStatus::Completed, None).await.unwrap().counts.uncompressed_bytes as usize
    };
    // Full at three requests; the age bound is far away.
    let tap = tap_batching(BatchLimits { max_bytes: 3 * size_of_one, max_age: std::time::Duration::from_secs(3600) });
    tap.registry.start(config("s1")).await.unwrap();
    for _ in 0..7 {
        tap.recorder.record(Signal::Traces, PayloadEncoding::Json, traces.clone(), None).await.unwrap();
    }
    tap.uploader.flush().await;
    let raw = tap.uploader.storage().list("sessions/s1/raw/").await.unwrap();
    assert_eq!(raw.len(), 2, "two full batches of three; the seventh request waits");
    let stopped = tap.registry.stop("s1", SessionStatus::Completed, None).await.unwrap();
    assert_eq!((stopped.counts.trace_batches, stopped.counts.spans), (3, 7), "the last batch is stored at stop");

    // The age bound stores a batch that never fills.
    let tap = tap_batching(BatchLimits { max_bytes: 1 << 30, max_age: std::time::Duration::from_millis(50) });
    tap.registry.start(config("s2")).await.unwrap();
    tap.recorder.record(Signal::Traces, PayloadEncoding::Json, traces.clone(), None).await.unwrap();
    tap.registry.flush_due().await;
    tap.uploader.flush().await;
    assert!(tap.uploader.storage().list("sessions/s2/raw/").await.unwrap().is_empty(), "not due yet");
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(5);
    loop {
        tap.registry.flush_due().await;
        tap.uploader.flush().await;
        if !tap.uploader.storage().list("sessions/s2/raw/").await.unwrap().is_empty() {
            break;
        }
        assert!(std::time::Instant::now() < deadline, "the batch was not stored at its age bound");
        tokio::time::sleep(std::time::Duration::from_millis(10)).await;
    }
    assert_eq!(tap.uploader.storage().list("sessions/s2/raw/").await.unwrap().len(), 1);
}

#[tokio::test(flavor = "multi_thread")]
async fn a_protobuf_request_that_fills_a_batch_is_stored_at_once_at_the_session_gzip_level() {
    let request = crate::support::generate::traces("checkout", 20, 10, NOW);
    let protobuf = Bytes::from(prost::Message::encode_to_vec(&request));
    let tap = tap_batching(BatchLimits { max_bytes: protobuf.len(), max_age: std::time::Duration::from_secs(3600) });
    let mut sizes = Vec::new();
    for (id, level) in [("fast", None), ("small", Some(9))] {
        let mut session = config(id);
        session.gzip_level = level;
        tap.registry.start(session).await.unwrap();
        tap.recorder.record(Signal::Traces, PayloadEncoding::Protobuf, protobuf.clone(), Some(id)).await.unwrap();
        tap.uploader.flush().await;
        let raw = tap.uploader.storage().list(&format!("sessions/{id}/raw/")).await.unwrap();
        assert_eq!(raw.len(), 1, "{id}: stored without waiting for the batch to age");
        let body = tap.uploader.storage().get(&raw[0].key).await.unwrap().unwrap();
        let stored = crate::support::otlp::decode_object(otlp_capture_guest::records::Signal::Traces, &body);
        assert_eq!(
            crate::support::otlp::untagged(stored),
            otlp_capture_guest::codec::OtlpRequest::Traces(request.clone())
        );
        let stopped = tap.registry.stop(id, SessionStatus::Completed, None).await.unwrap();
        assert_eq!(stopped.counts.spans, 200);
        sizes.push(body.len());
    }
    assert!(sizes[1] < sizes[0], "level 9 stores less than the default level 1: {sizes:?}");
    let mut invalid = config("bad-level");
    invalid.gzip_level = Some(10);
    assert!(matches!(tap.registry.start(invalid).await, Err(TapError::InvalidRequest(_))));
}
