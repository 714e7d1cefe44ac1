//! Hostile input against the real binary with default settings: gzip bombs
//! of empty resources in protobuf and in OTLP/JSON, two at a time, are
//! answered 400 and the tap's peak memory stays under 512 MiB.

use std::io::Write;

use reqwest::StatusCode;
use reqwest::blocking::Client;
use serde_json::json;

use crate::support::processes::TapProcess;

fn gzip(data: &[u8]) -> Vec<u8> {
    let mut encoder = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::best());
    encoder.write_all(data).unwrap();
    encoder.finish().unwrap()
}

/// The peak resident memory of process `pid`, in MiB.
fn peak_rss_mib(pid: u32) -> u64 {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).unwrap();
    let line = status.lines().find(|l| l.starts_with("VmHWM:")).unwrap();
    line.split_whitespace().nth(1).unwrap().parse::<u64>().unwrap() / 1024
}

#[test]
fn gzip_bombs_are_refused_and_memory_stays_bounded() {
    let dir = tempfile::tempdir().unwrap();
    let tap = TapProcess::start(dir.path().to_str().unwrap(), &[]);
    let client = Client::new();
    let started = client
        .post(format!("{}/api/capture/sessions", tap.base))
        .json(&json!({"sessionId": "bombed", "enabledFlags": ["paymentServiceFailure"]}))
        .send()
        .unwrap();
    assert_eq!(started.status(), StatusCode::CREATED);
    // 64 MiB inflated, the default request limit, from about 64 KiB each.
    let protobuf = gzip(&[0x0a, 0x00].repeat((32 << 20) - 8));
    let json = gzip(&[&b"{\"resourceSpans\":["[..], &b"{},".repeat((21 << 20) - 8), b"{}]}"].concat());
    assert!(protobuf.len() < 100 << 10 && json.len() < 100 << 10);
    for (body, content_type) in [(&protobuf, "application/x-protobuf"), (&json, "application/json")] {
        std::thread::scope(|scope| {
            let sends: Vec<_> = ["/v1/traces", "/v1/logs"]
                .into_iter()
                .map(|path| {
                    let (client, base) = (client.clone(), tap.base.clone());
                    scope.spawn(move || {
                        client
                            .post(format!("{base}{path}"))
                            .header("content-type", content_type)
                            .header("content-encoding", "gzip")
                            .body(body.clone())
                            .send()
                            .unwrap()
                    })
                })
                .collect();
            for send in sends {
                let answer = send.join().unwrap();
                assert_eq!(answer.status(), StatusCode::BAD_REQUEST, "{content_type}");
                assert!(!answer.text().unwrap().contains("wasm"));
            }
        });
    }
    let peak = peak_rss_mib(tap.pid());
    assert!(peak < 512, "peak RSS {peak} MiB");
    eprintln!("peak RSS under gzip bombs: {peak} MiB");
}
