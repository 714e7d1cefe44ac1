//! Replays a generated session of at least 1 GiB of uncompressed OTLP with
//! the real binary into a counting sink on loopback, and reports the replay
//! process's peak RSS: memory must not grow with the session's size.
//!
//! `cargo bench -p otlp-capture --bench replay_memory` (or `make bench`).
//! Set `REPLAY_MEMORY_GIB` to change the size.
#![allow(missing_docs, clippy::unwrap_used, clippy::expect_used)]

use otlp_capture_test_support::generate;
use otlp_capture_test_support::stored_sessions;

use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};

use otlp_capture_guest::codec::OtlpRequest;
use stored_sessions::{Written, write_session};

/// Objects of about 2 MiB (uncompressed) each, of every signal, until
/// `target` bytes; generated one at a time so the generator stays small too.
fn generate_session(store: &std::path::Path, id: &str, target: u64) -> Written {
    let base = 1_700_000_000_000_000_000u64;
    let mut budget = target as i64;
    let objects = (0u64..).map_while(|n| {
        let time = base + n * 1_000_000_000;
        let service = format!("service-{}", n % 7);
        let mut request = match n % 3 {
            0 => OtlpRequest::Traces(generate::traces(&service, 1200, 8, time)),
            1 => OtlpRequest::Metrics(generate::metrics(&service, 4000, time)),
            _ => OtlpRequest::Logs(generate::logs(&service, 20_000, 500, time)),
        };
        // New traces in every object (their logs follow them), so `current`'s plan holds many groups.
        distinct_traces(&mut request, n / 3);
        let size = request.encode_protobuf().len() as i64;
        (budget > 0).then(|| {
            budget -= size;
            (time / 1_000_000, request)
        })
    });
    // One object in memory at a time: the iterator is consumed as it is written.
    write_session(store, id, objects)
}

/// Makes the trace ids of `request` (spans and log records) those of round
/// `round`, so rounds do not share traces.
fn distinct_traces(request: &mut OtlpRequest, round: u64) {
    let mark = |id: &mut Vec<u8>| {
        if id.len() == 16 {
            id[..8].copy_from_slice(&round.to_be_bytes());
        }
    };
    match request {
        OtlpRequest::Traces(r) => r
            .resource_spans
            .iter_mut()
            .flat_map(|x| &mut x.scope_spans)
            .flat_map(|x| &mut x.spans)
            .for_each(|s| mark(&mut s.trace_id)),
        OtlpRequest::Logs(r) => r
            .resource_logs
            .iter_mut()
            .flat_map(|x| &mut x.scope_logs)
            .flat_map(|x| &mut x.log_records)
            .for_each(|l| mark(&mut l.trace_id)),
        OtlpRequest::Metrics(_) => {}
    }
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
    let written = generate_session(dir.path(), "big", target);
    println!(
        "generated {} objects: {:.2} GiB uncompressed, {:.1} MiB stored, in {:.1}s",
        written.objects,
        written.uncompressed as f64 / f64::from(1u32 << 30),
        written.stored as f64 / f64::from(1u32 << 20),
        started.elapsed().as_secs_f64()
    );
    let received = Arc::new(AtomicU64::new(0));
    let sink = start_sink(received.clone());
    // Compiles the component into the cache first, so no mode's peak includes compiling it.
    let warm = std::process::Command::new(otlp_capture_test_support::processes::binary())
        .args(["session", "list", "--store", dir.path().to_str().unwrap()])
        .output()
        .unwrap();
    assert!(warm.status.success());
    timeline(dir.path());
    // `none` sends what is stored; `current` (the default) and `relative` first read every object once to plan.
    // `--concurrency 1` is the replay of one object at a time; 4 is the default.
    let runs = [("none", 1), ("none", 4), ("current", 1), ("current", 4), ("relative", 4)];
    for (mode, concurrency) in runs {
        received.store(0, Ordering::Relaxed);
        let (elapsed, peak) = replay(dir.path(), &sink, mode, concurrency);
        let sent = received.load(Ordering::Relaxed);
        println!(
            "replay_memory --timestamps {mode} --concurrency {concurrency}: {:.2} GiB replayed in {elapsed:.1}s \
             ({:.0} MiB/s), peak RSS {:.1} MiB (goal: at most 64 MiB)",
            sent as f64 / f64::from(1u32 << 30),
            sent as f64 / f64::from(1u32 << 20) / elapsed,
            peak as f64 / 1024.0
        );
    }
}

/// Times the session's timeline through a tap on the store: first from the
/// objects themselves (the session has no index yet: every object is read
/// and summarized, then indexed), then from the index.
fn timeline(store: &std::path::Path) {
    let tap = otlp_capture_test_support::processes::TapProcess::start(store.to_str().unwrap(), &[]);
    let client = reqwest::blocking::Client::new();
    let url = format!("{}/api/capture/sessions/big/timeline?step=1s", tap.base);
    for pass in ["from the objects", "from the index"] {
        let started = Instant::now();
        let answer: serde_json::Value = client.get(&url).send().unwrap().json().unwrap();
        let sources = &answer["sources"];
        println!(
            "timeline of {} objects {pass}: {:.0} ms (indexed {}, summarized {})",
            sources["objects"],
            started.elapsed().as_secs_f64() * 1e3,
            sources["indexed"],
            sources["summarized"]
        );
    }
}

/// Replays the session with `mode` and `concurrency` at full speed; seconds
/// taken and peak RSS (KiB).
fn replay(store: &std::path::Path, sink: &str, mode: &str, concurrency: usize) -> (f64, u64) {
    let started = Instant::now();
    let args = ["replay", "big", "--store", store.to_str().unwrap(), "--endpoint", sink, "--speed", "max"];
    let mut child = std::process::Command::new(otlp_capture_test_support::processes::binary())
        .args(args)
        .args(["--timestamps", mode, "--compression", "none", "--concurrency", &concurrency.to_string()])
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
    assert!(status.success(), "replay failed: {status}");
    (started.elapsed().as_secs_f64(), peak)
}
