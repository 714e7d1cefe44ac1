//! Sessions written straight into a store directory, with capture times
//! chosen by the caller, for replay tests that need exact capture gaps and
//! for benchmarks that need big sessions.

use std::path::Path;

use otlp_capture_guest::codec::OtlpRequest;
use otlp_capture_guest::records::{SessionConfig, SessionCounts, SessionState, SessionStatus, Signal};
use otlp_capture_guest::{gzip, keys, metadata, summary};

/// What [`write_session`] wrote.
#[derive(Debug, Clone, Copy, Default)]
pub struct Written {
    /// Objects.
    pub objects: u64,
    /// Protobuf bytes before gzip.
    pub uncompressed: u64,
    /// Gzip bytes stored.
    pub stored: u64,
}

/// Writes `objects` (capture unix millis, request), one at a time, as a
/// completed session with its metadata.json.
pub fn write_session(store: &Path, id: &str, objects: impl IntoIterator<Item = (u64, OtlpRequest)>) -> Written {
    let mut counts = SessionCounts::default();
    let mut written = Written::default();
    let (mut start, mut last) = (None, 0);
    for (millis, mut request) in objects {
        start.get_or_insert(millis * 1_000_000);
        last = last.max(millis * 1_000_000);
        let key = keys::object_key(id, request.signal(), millis * 1_000_000, uuid_for(written.objects)).unwrap();
        let protobuf = request.encode_protobuf();
        let object = gzip::compress(&protobuf, 1);
        let path = store.join(&key);
        std::fs::create_dir_all(path.parent().unwrap()).unwrap();
        std::fs::write(&path, &object).unwrap();
        let s = summary::of(&mut request);
        match request.signal() {
            Signal::Traces => (counts.trace_batches += 1, counts.spans += s.items),
            Signal::Metrics => (counts.metric_batches += 1, counts.data_points += s.items),
            Signal::Logs => (counts.log_batches += 1, counts.log_records += s.items),
        };
        if counts.first_telemetry_unix_nanos == 0 || s.min_unix_nanos < counts.first_telemetry_unix_nanos {
            counts.first_telemetry_unix_nanos = s.min_unix_nanos;
        }
        counts.last_telemetry_unix_nanos = counts.last_telemetry_unix_nanos.max(s.max_unix_nanos);
        counts.compressed_bytes += object.len() as u64;
        counts.uncompressed_bytes += protobuf.len() as u64;
        written.objects += 1;
        written.uncompressed += protobuf.len() as u64;
        written.stored += object.len() as u64;
    }
    let start = start.unwrap_or(1);
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
            max_size_bytes: None,
            max_duration_millis: None,
            gzip_level: None,
            redaction: None,
        },
        status: SessionStatus::Completed,
        start_unix_nanos: start,
        end_unix_nanos: Some(last.max(start) + 1),
        updated_unix_nanos: last.max(start) + 1,
        end_reason: None,
        counts,
        phases: Vec::new(),
    };
    let path = store.join(keys::metadata_key(id).unwrap());
    std::fs::create_dir_all(path.parent().unwrap()).unwrap();
    std::fs::write(path, metadata::render(&state)).unwrap();
    written
}

fn uuid_for(n: u64) -> uuid::Uuid {
    uuid::Uuid::from_u128(0x4000_0000_0000_4000_8000_0000_0000_0000 | u128::from(n))
}
