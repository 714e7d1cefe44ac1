//! The latency the tap adds on the forward path: the same 16 kB requests,
//! 250 a second, sent straight to an upstream, through a forwarding tap
//! without recording them, and through it while a session records them.
//! The three paths take turns in rounds, so a noisy spell of a shared
//! machine falls on all of them. Prints p50 and p99 of each, the tap's added
//! p99, and any request the tap refused (counted, not fatal: the run always
//! completes and says so).
//!
//! `cargo bench -p otlp-capture --bench forward_latency` (or `make bench`).
#![allow(missing_docs, clippy::unwrap_used, clippy::expect_used)]

use otlp_capture_test_support::generate;
use otlp_capture_test_support::processes;
use otlp_capture_test_support::receiver;

use std::time::{Duration, Instant};

use otlp_capture::capture::SESSION_HEADER;
use otlp_capture_guest::codec::OtlpRequest;
use reqwest::blocking::Client;

const ROUNDS: usize = 20;
const PER_ROUND: usize = 150;
/// One request every 4 ms: 250 a second.
const INTERVAL: Duration = Duration::from_millis(4);

/// One way to send a request: its URL and, through the tap, the session it
/// is routed to (one that records only logs: traces are forwarded, not recorded).
struct Path {
    name: &'static str,
    url: String,
    route: Option<&'static str>,
    latencies: Vec<Duration>,
    /// Answers that were not a success (a 503 while recording backs up).
    refused: Vec<u16>,
}

impl Path {
    /// Sends one request; its latency, or `None` when it was refused.
    fn send(&mut self, client: &Client, body: &[u8]) -> Option<Duration> {
        let mut request = client.post(&self.url).header("content-type", "application/x-protobuf").body(body.to_vec());
        if let Some(route) = self.route {
            request = request.header(SESSION_HEADER, route);
        }
        let started = Instant::now();
        let response = request.send().unwrap();
        let elapsed = started.elapsed();
        if !response.status().is_success() {
            self.refused.push(response.status().as_u16());
            return None;
        }
        Some(elapsed)
    }

    fn percentiles(&mut self) -> (Duration, Duration) {
        self.latencies.sort();
        let n = self.latencies.len();
        (self.latencies[n / 2], self.latencies[n * 99 / 100])
    }
}

fn main() {
    let upstream = receiver::Receiver::start(0);
    let dir = tempfile::tempdir().unwrap();
    let tap = processes::TapProcess::start_with(dir.path().to_str().unwrap(), &[], &["--forward", &upstream.base]);
    let client = Client::new();
    let body = OtlpRequest::Traces(generate::traces("checkout", 8, 4, 1_700_000_000_000_000_000)).encode_protobuf();
    println!(
        "forward_latency: {ROUNDS} rounds of {PER_ROUND} requests of {} bytes (32 spans), one every {} ms, on each path",
        body.len(),
        INTERVAL.as_millis()
    );
    processes::run_cli_ok(&["session", "start", "latency", "--tap", &tap.base], &[]);
    // Traces routed to a session that records only logs are forwarded and not recorded.
    processes::run_cli_ok(&["session", "start", "logs-only", "--signals", "logs", "--tap", &tap.base], &[]);
    let mut paths = [
        Path {
            name: "direct",
            url: format!("{}/v1/traces", upstream.base),
            route: None,
            latencies: Vec::new(),
            refused: Vec::new(),
        },
        Path {
            name: "tap, forwarding",
            url: format!("{}/v1/traces", tap.base),
            route: Some("logs-only"),
            latencies: Vec::new(),
            refused: Vec::new(),
        },
        Path {
            name: "tap, forwarding + recording",
            url: format!("{}/v1/traces", tap.base),
            route: None,
            latencies: Vec::new(),
            refused: Vec::new(),
        },
    ];
    for path in &mut paths {
        for _ in 0..100 {
            path.send(&client, &body);
        }
        path.refused.clear();
    }
    for _ in 0..ROUNDS {
        for path in &mut paths {
            let mut next = Instant::now();
            for _ in 0..PER_ROUND {
                std::thread::sleep(next.saturating_duration_since(Instant::now()));
                next += INTERVAL;
                if let Some(latency) = path.send(&client, &body) {
                    path.latencies.push(latency);
                }
            }
        }
    }
    processes::run_cli_ok(&["session", "stop", "latency", "--tap", &tap.base], &[]);
    processes::run_cli_ok(&["session", "stop", "logs-only", "--tap", &tap.base], &[]);

    let results: Vec<(&str, (Duration, Duration))> = paths.iter_mut().map(|p| (p.name, p.percentiles())).collect();
    for (name, (p50, p99)) in &results {
        println!("  {name:<28} p50 {:>8.3} ms   p99 {:>8.3} ms", p50.as_secs_f64() * 1e3, p99.as_secs_f64() * 1e3);
    }
    let direct = results[0].1.1.as_secs_f64();
    let added = |i: usize| (results[i].1.1.as_secs_f64() - direct) * 1e3;
    println!(
        "forward_latency: added p99 {:.3} ms without recording, {:.3} ms while recording (goal: at most 0.5 ms)",
        added(1),
        added(2)
    );
    for path in &paths {
        let refused = path.refused.len();
        println!("forward_latency: {} refused {refused} requests (goal: none) {:?}", path.name, path.refused);
    }
}
