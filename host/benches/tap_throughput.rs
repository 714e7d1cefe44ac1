//! Spans per second through the tap into the local store: OTLP/HTTP
//! protobuf requests of 1000 spans from concurrent clients, a session
//! recording all of them. Prints the rate by wall time and per core: spans
//! per second of CPU time the tap process used (user + system), which is
//! what a core of the tap can take whatever the clients cost.
//!
//! `cargo bench -p otlp-capture --bench tap_throughput` (or `make bench`);
//! `TAP_THROUGHPUT_SECONDS` sets the length of the run (default 20).
#![allow(missing_docs, clippy::unwrap_used, clippy::expect_used)]

use otlp_capture_test_support::generate;
use otlp_capture_test_support::processes;

use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};

use otlp_capture_guest::codec::OtlpRequest;
use reqwest_blocking::blocking::Client;

const SPANS_PER_REQUEST: u64 = 1000;
const CLIENTS: usize = 4;

fn main() {
    let seconds: u64 = std::env::var("TAP_THROUGHPUT_SECONDS").ok().and_then(|s| s.parse().ok()).unwrap_or(20);
    let dir = tempfile::tempdir().unwrap();
    let tap = processes::TapProcess::start(dir.path().to_str().unwrap(), &[]);
    // Distinct requests, so nothing downstream sees the same bytes twice in a row.
    let bodies: Arc<Vec<Vec<u8>>> = Arc::new(
        (0..16)
            .map(|i| {
                let request = generate::traces("checkout", 100, 10, 1_764_000_000_000_000_000 + i * 1_000_000_000);
                OtlpRequest::Traces(request).encode_protobuf()
            })
            .collect(),
    );
    let url = format!("{}/v1/traces", tap.base);
    println!(
        "tap_throughput: {CLIENTS} clients posting OTLP/HTTP protobuf requests of {SPANS_PER_REQUEST} spans \
         ({} bytes) for {seconds} s into a recording session on a local store",
        bodies[0].len()
    );
    processes::run_cli_ok(&["session", "start", "throughput", "--tap", &tap.base], &[]);

    // Warm up: instances created, the store's directories made.
    let client = Client::new();
    for body in bodies.iter() {
        let response =
            client.post(&url).header("content-type", "application/x-protobuf").body(body.clone()).send().unwrap();
        assert!(response.status().is_success(), "{}", response.status());
    }

    let accepted = Arc::new(AtomicU64::new(0));
    let cpu_before = processes::cpu_seconds(tap.pid());
    let started = Instant::now();
    let deadline = started + Duration::from_secs(seconds);
    let clients: Vec<_> = (0..CLIENTS)
        .map(|c| {
            let (bodies, accepted, url) = (bodies.clone(), accepted.clone(), url.clone());
            std::thread::spawn(move || {
                let client = Client::new();
                let mut i = c;
                while Instant::now() < deadline {
                    let body = bodies[i % bodies.len()].clone();
                    let response =
                        client.post(&url).header("content-type", "application/x-protobuf").body(body).send().unwrap();
                    assert!(response.status().is_success(), "{}", response.status());
                    accepted.fetch_add(1, Ordering::Relaxed);
                    i += CLIENTS;
                }
            })
        })
        .collect();
    for client in clients {
        client.join().unwrap();
    }
    let wall = started.elapsed().as_secs_f64();
    let cpu = processes::cpu_seconds(tap.pid()) - cpu_before;
    let requests = accepted.load(Ordering::Relaxed);
    let spans = requests * SPANS_PER_REQUEST;
    let stopped = processes::run_cli_ok(&["session", "stop", "throughput", "--tap", &tap.base], &[]);
    let show = processes::run_cli_ok(&["session", "show", "throughput", "--store", dir.path().to_str().unwrap()], &[]);
    let cores = std::thread::available_parallelism().map(|n| n.get()).unwrap_or(1);
    println!("  requests accepted      {requests} in {wall:.1} s");
    println!("  spans per second       {:.0} (wall, {cores} cores shared with the clients)", spans as f64 / wall);
    println!("  tap CPU                {cpu:.1} s ({:.2} cores busy)", cpu / wall);
    println!("  spans per CPU-second   {:.0} (goal: at least 300000 per core)", spans as f64 / cpu);
    println!(
        "tap_throughput: {:.0} spans per core-second ({:.2}x the goal)",
        spans as f64 / cpu,
        spans as f64 / cpu / 300_000.0
    );
    let _ = stopped;
    let metadata: serde_json::Value = serde_json::from_str(&show).unwrap();
    let warm_up = bodies.len() as u64 * SPANS_PER_REQUEST;
    println!(
        "  session recorded       {} spans in {} objects ({} bytes stored)",
        metadata["spanCount"], metadata["objectCount"], metadata["totalSizeBytes"]
    );
    assert_eq!(metadata["spanCount"].as_u64(), Some(spans + warm_up), "every accepted span is recorded");
}
