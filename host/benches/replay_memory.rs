//! Replays a generated session of at least 1 GiB of uncompressed OTLP with
//! the real binary into a counting sink on loopback, and reports the replay
//! process's peak RSS: memory must not grow with the session's size.
//!
//! `cargo bench -p otlp-capture --bench replay_memory` (or `make bench`).
//! Set `REPLAY_MEMORY_GIB` to change the size.
#![allow(missing_docs, clippy::unwrap_used, clippy::expect_used)]

#[path = "../../tests/support/generate.rs"]
mod generate;

use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};

use otlp_capture_guest::codec::OtlpRequest;
use otlp_capture_guest::model::{SessionConfig, SessionCounts, SessionState, SessionStatus};
use otlp_capture_guest::{gzip, keys, metadata};

const BIN: &str = env!("CARGO_BIN_EXE_otlp-capture");

/// Writes objects of about 4 MiB (uncompressed) until `target` bytes; returns (objects, uncompressed, stored).
fn generate_session(store: &std::path::Path, id: &str, target: u64) -> (u64, u64, u64) {
    let (mut objects, mut uncompressed, mut stored) = (0u64, 0u64, 0u64);
    let base = 1_700_000_000_000_000_000u64;
    let mut counts = SessionCounts::default();
    while uncompressed < target {
        let n = objects;
        let time = base + n * 1_000_000_000;
        let request = match n % 3 {
            0 => OtlpRequest::Traces(generate::traces(&format!("service-{}", n % 7), 1200, 8, time)),
            1 => OtlpRequest::Metrics(generate::metrics(&format!("service-{}", n % 7), 4000, time)),
            _ => OtlpRequest::Logs(generate::logs(&format!("service-{}", n % 7), 20_000, 500, time)),
        };
        let protobuf = request.encode_protobuf();
        let object = gzip::compress(&protobuf, 1);
        let key = keys::object_key(id, request.signal(), time / 1_000, uuid::Uuid::from_u128(u128::from(n) + 1)).unwrap();
        let path = store.join(&key);
        std::fs::create_dir_all(path.parent().unwrap()).unwrap();
        std::fs::write(path, &object).unwrap();
        objects += 1;
        uncompressed += protobuf.len() as u64;
        stored += object.len() as u64;
        counts.first_telemetry_unix_nanos = base;
        counts.last_telemetry_unix_nanos = time;
    }
    let state = SessionState {
        config: SessionConfig {
            session_id: id.into(),
            diagnostic_session_id: None,
            description: Some("generated for the replay memory benchmark".into()),
            enabled_flags: vec![],
            capture_traces: true,
            capture_metrics: true,
            capture_logs: true,
            sample_ratio: 1.0,
            created_by: "bench".into(),
        },
        status: SessionStatus::Completed,
        start_unix_nanos: base,
        end_unix_nanos: Some(base + 1),
        updated_unix_nanos: base + 1,
        end_reason: None,
        counts,
    };
    let path = store.join(keys::metadata_key(id).unwrap());
    std::fs::write(path, metadata::render(&state)).unwrap();
    (objects, uncompressed, stored)
}

/// A sink that counts the bytes it receives and answers 200.
fn start_sink(received: Arc<AtomicU64>) -> String {
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    listener.set_nonblocking(true).unwrap();
    let base = format!("http://{}", listener.local_addr().unwrap());
    std::thread::spawn(move || {
        let runtime = tokio::runtime::Builder::new_current_thread().enable_all().build().unwrap();
        runtime.block_on(async move {
            let app = axum::Router::new()
                .fallback(move |body: axum::body::Bytes| {
                    let received = received.clone();
                    async move {
                        received.fetch_add(body.len() as u64, Ordering::Relaxed);
                        ""
                    }
                })
                .layer(axum::extract::DefaultBodyLimit::disable());
            axum::serve(tokio::net::TcpListener::from_std(listener).unwrap(), app).await.unwrap();
        });
    });
    base
}

fn peak_rss_kib(pid: u32) -> Option<u64> {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).ok()?;
    status.lines().find(|l| l.starts_with("VmHWM:"))?.split_whitespace().nth(1)?.parse().ok()
}

fn main() {
    let gib: f64 = std::env::var("REPLAY_MEMORY_GIB").ok().and_then(|v| v.parse().ok()).unwrap_or(1.0);
    let target = (gib * f64::from(1u32 << 30)) as u64;
    let dir = tempfile::tempdir().unwrap();
    let started = Instant::now();
    let (objects, uncompressed, stored) = generate_session(dir.path(), "big", target);
    println!(
        "generated {objects} objects: {:.2} GiB uncompressed, {:.1} MiB stored, in {:.1}s",
        uncompressed as f64 / f64::from(1u32 << 30),
        stored as f64 / f64::from(1u32 << 20),
        started.elapsed().as_secs_f64()
    );
    let received = Arc::new(AtomicU64::new(0));
    let sink = start_sink(received.clone());
    let started = Instant::now();
    let mut child = std::process::Command::new(BIN)
        .args(["replay", "big", "--store", dir.path().to_str().unwrap(), "--endpoint", &sink, "--speed", "max"])
        .env("OTLP_CAPTURE_LOG", "warn")
        .spawn()
        .unwrap();
    let mut peak = 0;
    let status = loop {
        if let Some(rss) = peak_rss_kib(child.id()) {
            peak = peak.max(rss);
        }
        if let Some(status) = child.try_wait().unwrap() {
            break status;
        }
        std::thread::sleep(Duration::from_millis(5));
    };
    let elapsed = started.elapsed().as_secs_f64();
    assert!(status.success(), "replay failed: {status}");
    let sent = received.load(Ordering::Relaxed);
    println!(
        "replay_memory: {:.2} GiB replayed in {elapsed:.1}s ({:.0} MiB/s), peak RSS {:.1} MiB",
        sent as f64 / f64::from(1u32 << 30),
        sent as f64 / f64::from(1u32 << 20) / elapsed,
        peak as f64 / 1024.0
    );
}
