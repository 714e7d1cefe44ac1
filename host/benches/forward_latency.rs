//! The latency the tap adds on the forward path: the same requests sent
//! straight to an upstream, through a forwarding tap with no session, and
//! through it while a session records them. Prints p50 and p99 of each and
//! the tap's added p99.
//!
//! `cargo bench -p otlp-capture --bench forward_latency` (or `make bench`).
#![allow(missing_docs, clippy::unwrap_used, clippy::expect_used)]

#[allow(dead_code)]
#[path = "../../tests/support/generate.rs"]
mod generate;
#[allow(dead_code)]
#[path = "../../tests/support/processes.rs"]
mod processes;
#[allow(dead_code)]
#[path = "../../tests/support/receiver.rs"]
mod receiver;

use std::time::{Duration, Instant};

use otlp_capture_guest::codec::OtlpRequest;
use reqwest_blocking::blocking::Client;

const REQUESTS: usize = 2000;

fn measure(client: &Client, url: &str, body: &[u8]) -> (Duration, Duration) {
    for _ in 0..100 {
        client.post(url).header("content-type", "application/x-protobuf").body(body.to_vec()).send().unwrap();
    }
    let mut latencies: Vec<Duration> = (0..REQUESTS)
        .map(|_| {
            let started = Instant::now();
            let response =
                client.post(url).header("content-type", "application/x-protobuf").body(body.to_vec()).send().unwrap();
            assert!(response.status().is_success(), "{}", response.status());
            started.elapsed()
        })
        .collect();
    latencies.sort();
    (latencies[REQUESTS / 2], latencies[REQUESTS * 99 / 100])
}

fn main() {
    let upstream = receiver::Receiver::start(0);
    let dir = tempfile::tempdir().unwrap();
    let tap = processes::TapProcess::start_with(dir.path().to_str().unwrap(), &[], &["--forward", &upstream.base]);
    let client = Client::new();
    let body = OtlpRequest::Traces(generate::traces("checkout", 25, 4, 1_700_000_000_000_000_000)).encode_protobuf();
    println!("forward_latency: {REQUESTS} sequential requests of {} bytes (100 spans) each", body.len());

    let direct = measure(&client, &format!("{}/v1/traces", upstream.base), &body);
    let forwarded = measure(&client, &format!("{}/v1/traces", tap.base), &body);
    processes::run_cli_ok(&["session", "start", "latency", "--tap", &tap.base], &[]);
    let recording = measure(&client, &format!("{}/v1/traces", tap.base), &body);
    processes::run_cli_ok(&["session", "stop", "latency", "--tap", &tap.base], &[]);

    for (name, (p50, p99)) in
        [("direct", direct), ("tap, forwarding", forwarded), ("tap, forwarding + recording", recording)]
    {
        println!("  {name:<28} p50 {:>8.3} ms   p99 {:>8.3} ms", p50.as_secs_f64() * 1e3, p99.as_secs_f64() * 1e3);
    }
    let added = |(_, p99): (Duration, Duration)| (p99.as_secs_f64() - direct.1.as_secs_f64()) * 1e3;
    println!(
        "forward_latency: added p99 {:.3} ms without recording, {:.3} ms while recording",
        added(forwarded),
        added(recording)
    );
}
