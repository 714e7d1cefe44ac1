//! Sessions written straight into a store directory, with capture times
//! chosen by the test, for replay tests that need exact capture gaps.

use std::path::Path;

use otlp_capture_guest::codec::OtlpRequest;
use otlp_capture_guest::model::{SessionConfig, SessionCounts, SessionState, SessionStatus};
use otlp_capture_guest::{gzip, keys, metadata, summary};

/// Writes `objects` (capture unix millis, request) as a completed session.
pub fn write_session(store: &Path, id: &str, objects: &[(u64, OtlpRequest)]) {
    let mut counts = SessionCounts::default();
    for (n, (millis, request)) in objects.iter().enumerate() {
        let key = keys::object_key(id, request.signal(), millis * 1_000_000, uuid_for(n)).unwrap();
        let object = gzip::compress(&request.encode_protobuf(), 1);
        let path = store.join(&key);
        std::fs::create_dir_all(path.parent().unwrap()).unwrap();
        std::fs::write(&path, &object).unwrap();
        let s = summary::of(&mut request.clone());
        if counts.first_telemetry_unix_nanos == 0 || s.min_unix_nanos < counts.first_telemetry_unix_nanos {
            counts.first_telemetry_unix_nanos = s.min_unix_nanos;
        }
        counts.last_telemetry_unix_nanos = counts.last_telemetry_unix_nanos.max(s.max_unix_nanos);
        counts.compressed_bytes += object.len() as u64;
    }
    let start = objects.first().map_or(1, |(millis, _)| millis * 1_000_000);
    let state = SessionState {
        config: SessionConfig {
            session_id: id.into(),
            diagnostic_session_id: None,
            description: None,
            enabled_flags: vec![],
            capture_traces: true,
            capture_metrics: true,
            capture_logs: true,
            sample_ratio: 1.0,
            created_by: "tests".into(),
        },
        status: SessionStatus::Completed,
        start_unix_nanos: start,
        end_unix_nanos: Some(start + 1),
        updated_unix_nanos: start + 1,
        end_reason: None,
        counts,
    };
    let path = store.join(keys::metadata_key(id).unwrap());
    std::fs::create_dir_all(path.parent().unwrap()).unwrap();
    std::fs::write(path, metadata::render(&state)).unwrap();
}

fn uuid_for(n: usize) -> uuid::Uuid {
    uuid::Uuid::from_u128(0x4000_0000_0000_4000_8000_0000_0000_0000 | n as u128)
}
