//! The speed of the component's work, in one build: gzip alone and capture
//! (validate, tag, gzip) on the wire and by decoding; gunzip alone and the
//! replay transform (gunzip, rewrite every timestamp) both ways; the wire
//! scan and prost decoding alone; every miniz_oxide level.
//!
//! Built natively and for wasm32-wasip2 from the same source; the host's
//! `component_speed` bench runs both builds and prints the ratios. Prints
//! one JSON object per measurement. `--quick` shortens every measurement.
#![allow(missing_docs, clippy::unwrap_used, clippy::expect_used)]

use otlp_capture_test_support::generate;
use otlp_capture_test_support::timing;

use std::hint::black_box;
use std::time::Duration;

use otlp_capture_guest::capabilities::{Clock, HostImports, NoPseudonyms, ObjectSink, Randomness};
use otlp_capture_guest::codec::OtlpRequest;
use otlp_capture_guest::filter::Filter;
use otlp_capture_guest::records::{PayloadEncoding, SessionConfig, Signal, StorageError};
use otlp_capture_guest::replay::{self, ReplayOptions};
use otlp_capture_guest::timestamps::Rewrite;
use otlp_capture_guest::{gzip, processor, wire};

const BASE: u64 = 1_764_000_000_000_000_000;

struct Discard;
impl ObjectSink for Discard {
    fn put(&self, _key: &str, body: Vec<u8>, _content_type: &str) -> Result<(), StorageError> {
        black_box(body);
        Ok(())
    }
}

struct Fixed;
impl Clock for Fixed {
    fn now_unix_nanos(&self) -> u64 {
        BASE + 3_600_000_000_000
    }
}
impl Randomness for Fixed {
    fn random_bytes(&self, len: usize) -> Vec<u8> {
        vec![0x5a; len]
    }
}

fn config() -> SessionConfig {
    SessionConfig {
        session_id: "checkout-fault-7".into(),
        diagnostic_session_id: None,
        description: None,
        enabled_flags: vec!["paymentServiceFailure".into()],
        capture_traces: true,
        capture_metrics: true,
        capture_logs: true,
        sample_ratio: 1.0,
        created_by: "bench".into(),
        max_size_bytes: None,
        max_duration_millis: None,
        gzip_level: None,
        redaction: None,
    }
}

/// Realistic requests of about 1000 items each, with their signal.
fn payloads() -> Vec<(Signal, &'static str, Vec<u8>)> {
    Signal::ALL.into_iter().zip(generate::bench_requests(BASE)).map(|(s, (name, bytes))| (s, name, bytes)).collect()
}

fn report(kernel: &str, signal: &str, level: u32, bytes: usize, out_bytes: usize, median: Duration) {
    let line = serde_json::json!({
        "kernel": kernel,
        "signal": signal,
        "level": level,
        "bytes": bytes,
        "out_bytes": out_bytes,
        "nanos": median.as_nanos() as u64,
        "mb_per_s": bytes as f64 / median.as_secs_f64() / 1e6,
    });
    println!("{line}");
}

fn main() {
    let quick = std::env::args().any(|a| a == "--quick");
    let budget = Duration::from_millis(if quick { 150 } else { 600 });
    let config = config();
    let level = gzip::DEFAULT_LEVEL;
    for (signal, name, payload) in payloads() {
        let n = payload.len();
        let gz = gzip::compress(&payload, level);
        // The gzip trailer's checksum alone: flate2's (crc32fast) and zlib-rs's.
        report(
            "crc32-crc32fast",
            name,
            0,
            n,
            4,
            timing::median_time(budget, || {
                let mut hasher = flate2::Crc::new();
                hasher.update(&payload);
                black_box(hasher.sum());
            }),
        );
        report(
            "crc32-zlib-rs",
            name,
            0,
            n,
            4,
            timing::median_time(budget, || {
                black_box(zlib_rs::crc32::crc32(0, &payload));
            }),
        );
        let capture = || {
            black_box(processor::capture(
                &config,
                signal,
                PayloadEncoding::Protobuf,
                &payload,
                HostImports { clock: &Fixed, random: &Fixed, pseudonyms: &NoPseudonyms, sink: &Discard },
            ))
            .unwrap()
            .unwrap()
        };
        // Capture against gzip alone is a goal's ratio: measured taking turns.
        let [gzip_time, capture_time] = timing::paired_medians(
            budget,
            [&mut || drop(black_box(gzip::compress(&payload, level))), &mut || drop(capture())],
        );
        report("gzip", name, level, n, gz.len(), gzip_time);
        report("capture", name, level, n, capture().compressed_bytes as usize, capture_time);
        let by_decoding = || {
            let part =
                processor::prepare_by_decoding(&config, signal, PayloadEncoding::Protobuf, &payload, &NoPseudonyms)
                    .unwrap();
            gzip::compress(&part.unwrap().protobuf, level)
        };
        report(
            "capture-decoding",
            name,
            level,
            n,
            by_decoding().len(),
            timing::median_time(budget, || drop(black_box(by_decoding()))),
        );
        report(
            "scan",
            name,
            level,
            n,
            0,
            timing::median_time(budget, || drop(black_box(wire::Scan::of(signal, &payload, wire::Collect::Summary)))),
        );
        report(
            "decode",
            name,
            level,
            n,
            0,
            timing::median_time(budget, || {
                drop(black_box(OtlpRequest::decode(signal, PayloadEncoding::Protobuf, &payload)))
            }),
        );

        let stored = gzip::compress(
            &processor::prepare(&config, signal, PayloadEncoding::Protobuf, &payload, &NoPseudonyms)
                .unwrap()
                .unwrap()
                .protobuf,
            level,
        );
        let options = ReplayOptions {
            rewrite: Rewrite::Shift(86_400_000_000_000),
            id_remap_seed: None,
            filter: Filter::default(),
            max_uncompressed_bytes: 1 << 30,
        };
        let m = payload.len();
        // So is the replay transform against gunzip alone.
        let [gunzip_time, replay_time] = timing::paired_medians(
            budget,
            [&mut || drop(black_box(gzip::decompress(&stored, 1 << 30))), &mut || {
                drop(black_box(replay::prepare(signal, &stored, &options)))
            }],
        );
        report("gunzip", name, level, m, 0, gunzip_time);
        report("replay", name, level, m, 0, replay_time);
        report(
            "replay-decoding",
            name,
            level,
            m,
            0,
            timing::median_time(budget, || drop(black_box(replay::prepare_by_decoding(signal, &stored, &options)))),
        );
    }
    let (_, name, traces) = payloads().swap_remove(0);
    #[cfg(feature = "compare-zlib-rs")]
    zlib_rs_levels(name, &traces, budget);
    for level in 0..=9 {
        let out = gzip::compress(&traces, level).len();
        report(
            "gzip-level",
            name,
            level,
            traces.len(),
            out,
            timing::median_time(budget, || drop(black_box(gzip::compress(&traces, level)))),
        );
    }
}

/// zlib-rs at every level, gzip framing (window bits 31), for the record.
#[cfg(feature = "compare-zlib-rs")]
fn zlib_rs_levels(name: &str, data: &[u8], budget: Duration) {
    use zlib_rs::{DeflateConfig, InflateConfig, Method, ReturnCode, Strategy, compress_bound, compress_slice};
    let mut out = vec![0u8; compress_bound(data.len())];
    for level in 0..=9 {
        let config = DeflateConfig {
            level,
            method: Method::Deflated,
            window_bits: 31,
            mem_level: 8,
            strategy: Strategy::Default,
        };
        let (compressed, rc) = compress_slice(&mut out, data, config);
        assert_eq!(rc, ReturnCode::Ok);
        let size = compressed.len();
        // Same stream as gzip: miniz_oxide's decoder takes it.
        assert_eq!(gzip::decompress(&out[..size], 1 << 30).unwrap(), data);
        let median = timing::median_time(budget, || {
            let (compressed, _) = compress_slice(&mut out, data, config);
            black_box(compressed.len());
        });
        report("zlib-rs-level", name, level as u32, data.len(), size, median);
        if level == 1 {
            let mut inflated = vec![0u8; data.len()];
            let gz = gzip::compress(data, 1);
            let median = timing::median_time(budget, || {
                let (plain, rc) = zlib_rs::decompress_slice(&mut inflated, &gz, InflateConfig { window_bits: 31 });
                assert_eq!((plain.len(), rc), (data.len(), ReturnCode::Ok));
            });
            report("zlib-rs-gunzip", name, 1, data.len(), 0, median);
        }
    }
}
