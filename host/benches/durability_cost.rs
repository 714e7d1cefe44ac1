//! What acknowledging only once a request is on local disk costs: the same
//! tap run in `--durability durable` (the default: journal, group commit)
//! and `--durability memory`, interleaved, on the same machine and store
//! kind. Per mode: the latency of 16 kB log requests sent one at a time
//! (p50, p99: one fsync each, nothing to share it with), and the throughput
//! of 4 clients posting 1000-span requests (requests share fsyncs).
//!
//! `cargo bench -p otlp-capture --bench durability_cost` (or `make bench`);
//! `DURABILITY_COST_SECONDS` sets each throughput run (default 8),
//! `DURABILITY_COST_ROUNDS` how many times the modes alternate (default 2).
#![allow(missing_docs, clippy::unwrap_used, clippy::expect_used)]

use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};

use otlp_capture_guest::codec::OtlpRequest;
use otlp_capture_test_support::{generate, processes};
use reqwest::blocking::Client;

const CLIENTS: u64 = 4;
const SEQUENTIAL: usize = 400;

struct Figures {
    p50_ms: f64,
    p99_ms: f64,
    requests_per_second: f64,
    spans_per_cpu_second: f64,
}

fn post(client: &Client, url: &str, body: &[u8]) {
    let answer = client.post(url).header("content-type", "application/x-protobuf").body(body.to_vec()).send().unwrap();
    assert!(answer.status().is_success(), "{}", answer.status());
}

fn measure(durability: &str, seconds: u64) -> Figures {
    let store = tempfile::tempdir().unwrap();
    let spool = tempfile::tempdir().unwrap();
    let args = ["--durability", durability, "--spool", spool.path().to_str().unwrap()];
    let tap = processes::TapProcess::start_with(store.path().to_str().unwrap(), &[], &args);
    processes::run_cli_ok(&["session", "start", "cost", "--tap", &tap.base], &[]);
    let client = Client::new();

    let logs_url = format!("{}/v1/logs", tap.base);
    let small: Vec<Vec<u8>> = (0..16)
        .map(|i| OtlpRequest::Logs(generate::logs("payments", 90, 10, 1_764_000_000_000_000_000 + i)).encode_protobuf())
        .collect();
    for body in &small {
        post(&client, &logs_url, body);
    }
    let mut latencies: Vec<Duration> = (0..SEQUENTIAL)
        .map(|i| {
            let started = Instant::now();
            post(&client, &logs_url, &small[i % small.len()]);
            started.elapsed()
        })
        .collect();
    latencies.sort();
    let at = |q: f64| latencies[((latencies.len() as f64 * q) as usize).min(latencies.len() - 1)].as_secs_f64() * 1e3;

    let traces_url = format!("{}/v1/traces", tap.base);
    let bodies: Arc<Vec<Vec<u8>>> = Arc::new(
        (0..8)
            .map(|i| {
                let request = generate::traces("checkout", 100, 10, 1_764_000_000_000_000_000 + i * 1_000_000_000);
                OtlpRequest::Traces(request).encode_protobuf()
            })
            .collect(),
    );
    let accepted = Arc::new(AtomicU64::new(0));
    let cpu_before = processes::cpu_seconds(tap.pid());
    let started = Instant::now();
    let deadline = started + Duration::from_secs(seconds);
    let clients: Vec<_> = (0..CLIENTS)
        .map(|c| {
            let (bodies, accepted, url) = (bodies.clone(), accepted.clone(), traces_url.clone());
            std::thread::spawn(move || {
                let client = Client::new();
                let mut i = c as usize;
                while Instant::now() < deadline {
                    post(&client, &url, &bodies[i % bodies.len()]);
                    accepted.fetch_add(1, Ordering::Relaxed);
                    i += CLIENTS as usize;
                }
            })
        })
        .collect();
    for client in clients {
        client.join().unwrap();
    }
    let wall = started.elapsed().as_secs_f64();
    let cpu = processes::cpu_seconds(tap.pid()) - cpu_before;
    let requests = accepted.load(Ordering::Relaxed) as f64;
    processes::run_cli_ok(&["session", "stop", "cost", "--tap", &tap.base], &[]);
    Figures {
        p50_ms: at(0.50),
        p99_ms: at(0.99),
        requests_per_second: requests / wall,
        spans_per_cpu_second: requests * 1000.0 / cpu,
    }
}

fn main() {
    let seconds = std::env::var("DURABILITY_COST_SECONDS").ok().and_then(|s| s.parse().ok()).unwrap_or(8);
    let rounds = std::env::var("DURABILITY_COST_ROUNDS").ok().and_then(|s| s.parse().ok()).unwrap_or(2);
    println!(
        "durability_cost: {SEQUENTIAL} sequential 16 kB log requests, then {CLIENTS} clients x 1000-span requests \
         for {seconds} s, per mode, {rounds} rounds interleaved, local store"
    );
    println!("  {:<8} {:>9} {:>9} {:>12} {:>16}", "mode", "p50 ms", "p99 ms", "requests/s", "spans/CPU-s");
    for round in 1..=rounds {
        let durable = measure("durable", seconds);
        let memory = measure("memory", seconds);
        for (mode, f) in [("durable", &durable), ("memory", &memory)] {
            println!(
                "  {mode:<8} {:>9.2} {:>9.2} {:>12.0} {:>16.0}",
                f.p50_ms, f.p99_ms, f.requests_per_second, f.spans_per_cpu_second
            );
        }
        println!(
            "durability_cost round {round}: durable/memory p50 {:.2}x, p99 {:.2}x, throughput {:.2}x, per CPU {:.2}x",
            durable.p50_ms / memory.p50_ms,
            durable.p99_ms / memory.p99_ms,
            durable.requests_per_second / memory.requests_per_second,
            durable.spans_per_cpu_second / memory.spans_per_cpu_second
        );
    }
}
