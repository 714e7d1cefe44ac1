//! Spans per second through the tap into the local store: OTLP/HTTP
//! protobuf requests of 1000 spans from concurrent clients, a session
//! recording all of them. Prints the rate by wall time and per core: spans
//! per second of CPU time the tap process used (user + system), which is
//! what a core of the tap can take whatever the clients cost.
//!
//! Then the same load into Rotel's blackhole exporter (`pip install rotel`,
//! or `$ROTEL_AGENT`), the figure the tap's is compared with; skipped, saying
//! so, where Rotel is not installed.
//!
//! `cargo bench -p otlp-capture --bench tap_throughput` (or `make bench`);
//! `TAP_THROUGHPUT_SECONDS` sets the length of each run (default 20);
//! `TAP_THROUGHPUT_SERVE_ARGS` adds arguments to the tap's `serve`.
#![allow(missing_docs, clippy::unwrap_used, clippy::expect_used)]

use otlp_capture_test_support::generate;
use otlp_capture_test_support::processes;

use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};

use otlp_capture_guest::codec::OtlpRequest;
use reqwest::blocking::Client;

const SPANS_PER_REQUEST: u64 = 1000;
const CLIENTS: usize = 4;

fn main() {
    let seconds: u64 = std::env::var("TAP_THROUGHPUT_SECONDS").ok().and_then(|s| s.parse().ok()).unwrap_or(20);
    let dir = tempfile::tempdir().unwrap();
    // Extra `serve` arguments, to compare settings (`--durability memory`, say).
    let extra = std::env::var("TAP_THROUGHPUT_SERVE_ARGS").unwrap_or_default();
    let extra: Vec<&str> = extra.split_whitespace().collect();
    let tap = processes::TapProcess::start_with(dir.path().to_str().unwrap(), &[], &extra);
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

    let (requests, wall, cpu) = load(&url, &bodies, seconds, tap.pid());
    let spans = requests * SPANS_PER_REQUEST;
    processes::run_cli_ok(&["session", "stop", "throughput", "--tap", &tap.base], &[]);
    let show = processes::run_cli_ok(&["session", "show", "throughput", "--store", dir.path().to_str().unwrap()], &[]);
    let cores = std::thread::available_parallelism().map(|n| n.get()).unwrap_or(1);
    println!("  requests accepted      {requests} in {wall:.1} s");
    println!("  spans per second       {:.0} (wall, {cores} cores shared with the clients)", spans as f64 / wall);
    println!("  tap CPU                {cpu:.1} s ({:.2} cores busy)", cpu / wall);
    println!("  spans per CPU-second   {:.0}", spans as f64 / cpu);
    let metadata: serde_json::Value = serde_json::from_str(&show).unwrap();
    let warm_up = bodies.len() as u64 * SPANS_PER_REQUEST;
    println!(
        "  session recorded       {} spans in {} objects ({} bytes stored)",
        metadata["spanCount"], metadata["objectCount"], metadata["totalSizeBytes"]
    );
    assert_eq!(metadata["spanCount"].as_u64(), Some(spans + warm_up), "every accepted span is recorded");
    let tap_rate = spans as f64 / cpu;
    println!(
        "tap_throughput: {tap_rate:.0} spans per CPU-second recording (goal: at least 550000; {:.2}x)",
        tap_rate / 550_000.0
    );
    match rotel_rate(&bodies, seconds) {
        Some(rotel) => println!(
            "tap_throughput: Rotel into its blackhole exporter {rotel:.0} spans per CPU-second; the tap recording is \
             {:.2}x that (goal: at least 0.9x)",
            tap_rate / rotel
        ),
        None => println!(
            "tap_throughput: Rotel is not installed (`pip install rotel`), so the comparison with it is skipped"
        ),
    }
}

/// Posts `bodies` from [`CLIENTS`] clients to `url` for `seconds`; the
/// requests accepted, the wall time, and the CPU seconds process `pid` used.
fn load(url: &str, bodies: &Arc<Vec<Vec<u8>>>, seconds: u64, pid: u32) -> (u64, f64, f64) {
    let accepted = Arc::new(AtomicU64::new(0));
    let cpu_before = processes::cpu_seconds(pid);
    let started = Instant::now();
    let deadline = started + Duration::from_secs(seconds);
    let clients: Vec<_> = (0..CLIENTS)
        .map(|c| {
            let (bodies, accepted, url) = (bodies.clone(), accepted.clone(), url.to_owned());
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
    (accepted.load(Ordering::Relaxed), wall, processes::cpu_seconds(pid) - cpu_before)
}

/// Rotel's agent, from `$ROTEL_AGENT` or the `rotel` Python package.
fn rotel_agent() -> Option<std::path::PathBuf> {
    if let Some(path) = std::env::var_os("ROTEL_AGENT") {
        return Some(path.into());
    }
    let found = std::process::Command::new("python3")
        .args(["-c", "import os, rotel; print(os.path.join(os.path.dirname(rotel.__file__), 'rotel-agent'))"])
        .output()
        .ok()?;
    let path = std::path::PathBuf::from(String::from_utf8_lossy(&found.stdout).trim());
    (found.status.success() && path.is_file()).then_some(path)
}

/// Spans per CPU-second of Rotel receiving the same load into its blackhole
/// exporter (no compression, nothing stored); `None` without Rotel.
fn rotel_rate(bodies: &Arc<Vec<Vec<u8>>>, seconds: u64) -> Option<f64> {
    let agent = rotel_agent()?;
    let free = || std::net::TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap();
    let (http, grpc) = (free(), free());
    let mut rotel = std::process::Command::new(agent)
        .args(["start", "--exporter", "blackhole"])
        .args(["--otlp-http-endpoint", &http.to_string(), "--otlp-grpc-endpoint", &grpc.to_string()])
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::null())
        .spawn()
        .ok()?;
    let url = format!("http://{http}/v1/traces");
    let client = Client::new();
    let ready = Instant::now();
    // Ready when it accepts a request; warm up with every body.
    while client.post(&url).header("content-type", "application/x-protobuf").body(bodies[0].clone()).send().is_err() {
        assert!(ready.elapsed() < Duration::from_secs(20), "Rotel did not start");
        std::thread::sleep(Duration::from_millis(20));
    }
    for body in bodies.iter() {
        client.post(&url).header("content-type", "application/x-protobuf").body(body.clone()).send().unwrap();
    }
    let (requests, wall, cpu) = load(&url, bodies, seconds, rotel.id());
    let _ = rotel.kill();
    let _ = rotel.wait();
    let spans = requests * SPANS_PER_REQUEST;
    println!(
        "  Rotel                  {requests} requests in {wall:.1} s, {cpu:.1} CPU-s, {:.0} spans per CPU-second",
        spans as f64 / cpu
    );
    Some(spans as f64 / cpu)
}
