//! A second host: the same component under jco in Node (tests/jco/host.mjs)
//! with the same clock and randomness stores the same objects and prepares
//! the same replay payloads, byte for byte, as under the wasmtime host. It
//! is what the self-contained world buys: nothing outside the WIT decides an
//! output byte.

use std::path::Path;
use std::process::{Command, Stdio};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use bytes::Bytes;
use otlp_capture::otlp::{Encoding, Signal};
use otlp_capture::redaction_key::RedactionKey;
use otlp_capture::runtime::processor_types::{CallError, GuestError, PutError, ReplayOptions, TimestampRewrite};
use otlp_capture::runtime::state::InstanceLimits;
use otlp_capture::runtime::state::{Capabilities, FixedClock, ObjectSink, SequenceRandomness};
use otlp_capture::runtime::{EMBEDDED_COMPONENT, Instance, Runtime};
use otlp_capture::session::{SessionConfig, SessionStatus};
use otlp_capture_guest::codec::OtlpRequest;
use serde_json::{Value, json};

use crate::capture::config;
use crate::support::component::NOW;
use crate::support::generate;
use crate::support::otlp::hex;

const REFUSAL: &str = "the queue is full";
const REPLAY_AT: u64 = NOW + 3_600_000_000_000;
/// Node transpiling and running the component takes a few seconds; this
/// bounds a hung run.
const NODE_LIMIT: Duration = Duration::from_secs(180);

/// Every put in order; refuses while `refusing` holds a message.
#[derive(Default)]
struct RecordingSink {
    puts: Mutex<Vec<(String, String, Vec<u8>)>>,
    refusing: Mutex<Option<String>>,
}

impl ObjectSink for RecordingSink {
    fn put(&self, key: &str, body: Bytes, content_type: &str) -> Result<(), PutError> {
        if let Some(message) = self.refusing.lock().unwrap().clone() {
            return Err(PutError::Busy(message));
        }
        self.puts.lock().unwrap().push((key.to_owned(), content_type.to_owned(), body.to_vec()));
        Ok(())
    }
}

/// The requests both hosts capture: each signal, protobuf and OTLP/JSON.
fn requests(dir: &Path) -> Vec<(Signal, Encoding, Vec<u8>, &'static str)> {
    let base = NOW - 60_000_000_000;
    let traces = OtlpRequest::Traces(generate::traces("checkout", 6, 5, base));
    let metrics = OtlpRequest::Metrics(generate::metrics("checkout", 12, base));
    let logs = OtlpRequest::Logs(generate::logs("checkout", 20, 3, base));
    let requests = vec![
        (Signal::Traces, Encoding::Protobuf, traces.encode_protobuf(), "traces.bin"),
        (Signal::Metrics, Encoding::Protobuf, metrics.encode_protobuf(), "metrics.bin"),
        (Signal::Logs, Encoding::Protobuf, logs.encode_protobuf(), "logs.bin"),
        (Signal::Traces, Encoding::Json, crate::support::otlp::spec_example("trace.json"), "traces.json"),
    ];
    for (_, _, payload, file) in &requests {
        std::fs::write(dir.join(file), payload).unwrap();
    }
    requests
}

fn replay_options() -> ReplayOptions {
    ReplayOptions {
        rewrite: TimestampRewrite::NewestAt(REPLAY_AT),
        id_remap_seed: Some(7),
        services: vec![],
        from_unix_nanos: 0,
        to_unix_nanos: u64::MAX,
        max_uncompressed_bytes: 64 << 20,
    }
}

fn wit_name(signal: Signal) -> &'static str {
    match signal {
        Signal::Traces => "traces",
        Signal::Metrics => "metrics",
        Signal::Logs => "logs",
    }
}

/// The session's redaction rules: both hosts hash through their own
/// `pseudonyms` import (Rust's hmac crate, Node's crypto) with one key.
const RULES: &str = r#"{"blockedKeyPatterns": ["^enduser\\.id$", "^order\\.id$"], "hash": "hmac-sha256",
    "urlSanitizer": true, "detectors": ["email", "ipv4"], "summary": "info"}"#;
const KEY: &[u8] = b"a key both hosts hold, 32 bytes or more";

fn redacted_config() -> SessionConfig {
    SessionConfig { redaction: Some(RULES.to_owned()), ..config("second-host") }
}

/// plan.json: what host.mjs calls, in the order the wasmtime side calls it.
fn plan(requests: &[(Signal, Encoding, Vec<u8>, &str)]) -> Value {
    let config = redacted_config();
    json!({
        "nowUnixNanos": NOW.to_string(),
        "config": {
            "sessionId": config.session_id,
            "diagnosticSessionId": null,
            "description": null,
            "enabledFlags": config.enabled_flags,
            "captureTraces": true,
            "captureMetrics": true,
            "captureLogs": true,
            "sampleRatio": 1.0,
            "createdBy": config.created_by,
            "maxSizeBytes": null,
            "maxDurationMillis": null,
            "gzipLevel": null,
            "redaction": RULES,
        },
        "redactionKey": hex(KEY),
        "requests": requests.iter().map(|(signal, encoding, _, file)| json!({
            "signal": wit_name(*signal),
            "encoding": if *encoding == Encoding::Json { "json" } else { "protobuf" },
            "file": file,
        })).collect::<Vec<_>>(),
        "refusal": { "message": REFUSAL },
        "replay": {
            "rewrite": { "tag": "newest-at", "val": REPLAY_AT.to_string() },
            "idRemapSeed": "7",
            "services": [],
            "fromUnixNanos": "0",
            "toUnixNanos": u64::MAX.to_string(),
            "maxUncompressedBytes": (64u64 << 20).to_string(),
        },
    })
}

/// The wasmtime host's run of the plan, in host.mjs's output shape.
fn wasmtime_run(requests: &[(Signal, Encoding, Vec<u8>, &str)]) -> Value {
    let sink = Arc::new(RecordingSink::default());
    let capabilities = Capabilities {
        sink: sink.clone(),
        clock: Arc::new(FixedClock(NOW)),
        random: Arc::new(SequenceRandomness::default()),
        pseudonyms: Some(Arc::new(RedactionKey::new(KEY.to_vec()).unwrap())),
    };
    let runtime = Runtime::from_bytes(EMBEDDED_COMPONENT, InstanceLimits::default()).unwrap();
    let mut instance: Instance = runtime.instantiate(capabilities).unwrap();
    let config = redacted_config();
    let started = instance.start_session(&config).unwrap();
    let mut receipts = Vec::new();
    for (signal, encoding, payload, _) in requests {
        let receipt = instance.capture(&config, *signal, *encoding, payload).unwrap().unwrap();
        receipts.push(json!({
            "key": receipt.key,
            "compressedBytes": receipt.compressed_bytes.to_string(),
            "uncompressedBytes": receipt.uncompressed_bytes.to_string(),
            "items": receipt.summary.items.to_string(),
            "maskedValues": receipt.redaction.masked_values.to_string(),
        }));
    }
    *sink.refusing.lock().unwrap() = Some(REFUSAL.to_owned());
    let (signal, encoding, payload, _) = &requests[0];
    let refused = match instance.capture(&config, *signal, *encoding, payload) {
        Err(CallError::Guest(GuestError::Storage(PutError::Busy(message)))) => {
            json!({ "tag": "storage", "val": { "tag": "busy", "val": message } })
        }
        other => panic!("a refused put is a storage error the caller sees: {other:?}"),
    };
    *sink.refusing.lock().unwrap() = None;
    instance.stop_session(&started, SessionStatus::Completed, Some("finished by the jco host")).unwrap();
    let puts = sink.puts.lock().unwrap().clone();
    let mut replays = Vec::new();
    for (key, _, body) in puts.iter().filter(|(_, content_type, _)| content_type == "application/gzip") {
        let signal = instance.parse_object_key(key).unwrap().signal;
        let batch = instance.prepare_replay(signal, body, &replay_options()).unwrap().unwrap();
        replays.push(json!({
            "key": key,
            "payload": hex(&batch.payload),
            "appliedShift": batch.applied_shift.to_string(),
        }));
    }
    json!({
        "puts": puts.iter().map(|(key, content_type, body)| json!({
            "key": key, "contentType": content_type, "body": hex(body),
        })).collect::<Vec<_>>(),
        "receipts": receipts,
        "refused": refused,
        "replays": replays,
    })
}

/// Runs host.mjs over `dir`; its output, or the test fails with Node's stderr.
fn jco_run(dir: &Path) -> Value {
    let jco = Path::new(env!("CARGO_MANIFEST_DIR")).join("../tests/jco");
    assert!(
        jco.join("node_modules/@bytecodealliance/jco").is_dir(),
        "jco is not installed: `make test` runs npm ci in tests/jco"
    );
    let mut node = Command::new("node")
        .arg(jco.join("host.mjs"))
        .arg(dir)
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .expect("node: the second host runs on Node.js");
    let started = Instant::now();
    let status = loop {
        if let Some(status) = node.try_wait().unwrap() {
            break status;
        }
        if started.elapsed() > NODE_LIMIT {
            let _ = node.kill();
            panic!("node host.mjs ran past {NODE_LIMIT:?}");
        }
        std::thread::sleep(Duration::from_millis(50));
    };
    let mut stderr = String::new();
    std::io::Read::read_to_string(&mut node.stderr.take().unwrap(), &mut stderr).unwrap();
    assert!(status.success(), "the jco host failed: {stderr}");
    serde_json::from_slice(&std::fs::read(dir.join("jco.json")).unwrap()).unwrap()
}

#[test]
fn jco_in_node_stores_and_replays_the_same_bytes_as_wasmtime() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join("component.wasm"), EMBEDDED_COMPONENT).unwrap();
    let requests = requests(dir.path());
    std::fs::write(dir.path().join("plan.json"), plan(&requests).to_string()).unwrap();
    let wasmtime = wasmtime_run(&requests);
    let jco = jco_run(dir.path());

    let puts = |run: &Value| run["puts"].as_array().unwrap().clone();
    assert_eq!(puts(&wasmtime).len(), 1 + requests.len() + 1, "metadata, one object per request, final metadata");
    for (ours, theirs) in puts(&wasmtime).iter().zip(puts(&jco).iter()) {
        assert_eq!(ours["key"], theirs["key"]);
        assert_eq!(ours["contentType"], theirs["contentType"]);
        assert!(ours["body"] == theirs["body"], "{}: the two hosts stored different bytes", ours["key"]);
    }
    assert_eq!(puts(&wasmtime).len(), puts(&jco).len());
    for (ours, theirs) in wasmtime["receipts"].as_array().unwrap().iter().zip(jco["receipts"].as_array().unwrap()) {
        for field in ["key", "compressedBytes", "uncompressedBytes"] {
            assert_eq!(ours[field], theirs[field], "receipt {field}");
        }
        assert_eq!(ours["items"], theirs["summary"]["items"]);
        assert_eq!(ours["maskedValues"], theirs["redaction"]["maskedValues"]);
    }
    let masked: u64 = wasmtime["receipts"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| r["maskedValues"].as_str().unwrap().parse::<u64>().unwrap())
        .sum();
    assert!(masked > 0, "the rules masked values in the session both hosts recorded");
    assert_eq!(wasmtime["refused"], jco["refused"], "a refused put is the same storage error on both hosts");
    assert_eq!(wasmtime["replays"].as_array().unwrap().len(), requests.len());
    assert!(wasmtime["replays"] == jco["replays"], "the two hosts prepared different replay payloads");
}
