//! The `capture` and `summarize` exports: layout, content, receipts, errors.

use otlp_capture::otlp::{Encoding as PayloadEncoding, Signal as HostSignal};
use otlp_capture::runtime::processor_types::{CallError, GuestError, PutError};
use otlp_capture::session::SessionConfig;
use otlp_capture::storage::{Storage, StoreLocation};
use otlp_capture_guest::codec::OtlpRequest;
use otlp_capture_guest::records::{PayloadEncoding as Encoding, Signal};

use crate::support::component::{Harness, NOW};
use crate::support::otlp::{decode_object, gunzip, spec_example, spec_request, tagged_with, untagged};

pub fn config(id: &str) -> SessionConfig {
    SessionConfig {
        session_id: id.into(),
        diagnostic_session_id: None,
        description: None,
        enabled_flags: vec!["paymentServiceFailure".into()],
        capture_traces: true,
        capture_metrics: true,
        capture_logs: true,
        sample_ratio: 1.0,
        created_by: "tests".into(),
        max_size_bytes: None,
        max_duration_millis: None,
        gzip_level: None,
        redaction: None,
    }
}

fn host(signal: Signal) -> HostSignal {
    match signal {
        Signal::Traces => HostSignal::Traces,
        Signal::Metrics => HostSignal::Metrics,
        Signal::Logs => HostSignal::Logs,
    }
}

fn is_uuid(text: &str) -> bool {
    let groups: Vec<_> = text.split('-').map(str::len).collect();
    groups == [8, 4, 4, 4, 12] && text.chars().all(|c| c == '-' || c.is_ascii_hexdigit())
}

#[tokio::test(flavor = "multi_thread")]
async fn keys_follow_the_layout_exactly() {
    let mut h = Harness::new();
    for signal in Signal::ALL {
        let payload = spec_request(signal).encode_protobuf();
        let receipt =
            h.instance.capture(&config("s1"), host(signal), PayloadEncoding::Protobuf, &payload).unwrap().unwrap();
        let prefix = format!("sessions/s1/raw/2025-11-24/16/{}-1764000000123-", signal.as_str());
        let uuid = receipt.key.strip_prefix(&prefix).and_then(|rest| rest.strip_suffix(".otlp.gz"));
        assert!(uuid.is_some_and(is_uuid), "{}", receipt.key);
        assert_eq!(receipt.capture_unix_nanos, NOW);
    }
    let objects = h.objects().await;
    assert_eq!(objects.len(), 3);
}

#[tokio::test(flavor = "multi_thread")]
async fn objects_are_the_request_with_the_tag_and_nothing_else_changed() {
    let mut h = Harness::new();
    for signal in Signal::ALL {
        let original = spec_request(signal);
        let receipt = h
            .instance
            .capture(&config("s1"), host(signal), PayloadEncoding::Protobuf, &original.encode_protobuf())
            .unwrap()
            .unwrap();
        let objects = h.objects().await;
        let (_, object) = objects.iter().find(|(k, _)| *k == receipt.key).unwrap();
        let stored = decode_object(signal, object);
        assert!(tagged_with(&stored, "s1"), "{signal:?}");
        assert_eq!(untagged(stored), original, "{signal:?}");
        let protobuf = gunzip(object);
        assert_eq!(receipt.compressed_bytes, object.len() as u64);
        assert_eq!(receipt.uncompressed_bytes, protobuf.len() as u64);
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn json_is_stored_as_protobuf() {
    let mut h = Harness::new();
    for (file, signal) in [
        ("trace.json", Signal::Traces),
        ("metrics.json", Signal::Metrics),
        ("logs.json", Signal::Logs),
        ("events.json", Signal::Logs),
    ] {
        let json = spec_example(file);
        let receipt = h.instance.capture(&config("s1"), host(signal), PayloadEncoding::Json, &json).unwrap().unwrap();
        assert_eq!(receipt.bytes_in, json.len() as u64);
        let objects = h.objects().await;
        let (_, object) = objects.iter().find(|(k, _)| *k == receipt.key).unwrap();
        let expected = OtlpRequest::decode(signal, Encoding::Json, &json).unwrap();
        assert_eq!(untagged(decode_object(signal, object)), expected, "{file}");
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn receipts_count_items_and_time_bounds() {
    let mut h = Harness::new();
    let traces = spec_example("trace.json");
    let receipt =
        h.instance.capture(&config("s1"), HostSignal::Traces, PayloadEncoding::Json, &traces).unwrap().unwrap();
    assert_eq!(receipt.summary.items, 1);
    assert_eq!(receipt.summary.resources, 1);
    assert_eq!(
        (receipt.summary.min_unix_nanos, receipt.summary.max_unix_nanos),
        (1544712660000000000, 1544712661000000000)
    );
    let metrics = spec_example("metrics.json");
    let summary = h.instance.summarize(HostSignal::Metrics, PayloadEncoding::Json, &metrics).unwrap();
    assert_eq!(summary.items, 4, "one point each of sum, gauge, histogram, exponential histogram");
    assert!(h.objects().await.len() == 1, "summarize stores nothing");
}

#[tokio::test(flavor = "multi_thread")]
async fn disabled_signals_store_nothing() {
    let mut h = Harness::new();
    let mut traces_only = config("s1");
    (traces_only.capture_metrics, traces_only.capture_logs) = (false, false);
    let logs = spec_example("logs.json");
    assert!(matches!(h.instance.capture(&traces_only, HostSignal::Logs, PayloadEncoding::Json, &logs), Ok(None)));
    assert!(h.objects().await.is_empty());
}

#[tokio::test(flavor = "multi_thread")]
async fn hostile_ids_and_undecodable_payloads_give_documented_errors() {
    let mut h = Harness::new();
    let payload = spec_request(Signal::Traces).encode_protobuf();
    for id in ["", "../../etc", "a/b", ".x", "-x", "x y", "é", &"a".repeat(129)] {
        let result = h.instance.capture(&config(id), HostSignal::Traces, PayloadEncoding::Protobuf, &payload);
        assert!(matches!(result, Err(CallError::Guest(GuestError::InvalidSessionId(_)))), "{id:?}: {result:?}");
        let result = h.instance.start_session(&config(id));
        assert!(matches!(result, Err(CallError::Guest(GuestError::InvalidSessionId(_)))), "{id:?}: {result:?}");
    }
    for signal in Signal::ALL {
        for (encoding, garbage) in
            [(PayloadEncoding::Protobuf, &b"\x0a\x05\x0a"[..]), (PayloadEncoding::Json, b"{\"resourceSpans\": 7")]
        {
            let result = h.instance.capture(&config("s1"), host(signal), encoding, garbage);
            assert!(
                matches!(result, Err(CallError::Guest(GuestError::InvalidPayload(_)))),
                "{signal:?} {encoding:?}: {result:?}"
            );
        }
    }
    assert!(h.objects().await.is_empty(), "nothing stored for refused calls");
}

#[tokio::test(flavor = "multi_thread")]
async fn a_full_upload_queue_is_a_busy_storage_error() {
    // The store's root became a file, so uploads keep failing and the small queue stays full.
    let dir = tempfile::tempdir().unwrap();
    let root = dir.path().join("root");
    let storage = Storage::open(&StoreLocation::Directory(root.clone())).unwrap();
    std::fs::remove_dir(&root).unwrap();
    std::fs::write(&root, b"").unwrap();
    let mut h = Harness::over(storage, 2000);
    let payload = spec_example("trace.json");
    let first = h.instance.capture(&config("s1"), HostSignal::Traces, PayloadEncoding::Json, &payload);
    assert!(first.is_ok());
    let mut refused = None;
    for _ in 0..20 {
        match h.instance.capture(&config("s1"), HostSignal::Traces, PayloadEncoding::Json, &payload) {
            Err(e) => {
                refused = Some(e);
                break;
            }
            Ok(_) => continue,
        }
    }
    assert!(matches!(refused, Some(CallError::Guest(GuestError::Storage(PutError::Busy(_))))), "{refused:?}");
}

#[tokio::test(flavor = "multi_thread")]
async fn an_instance_grown_by_a_huge_request_is_replaced_afterwards() {
    use std::sync::Arc;

    use otlp_capture::runtime::Runtime;
    use otlp_capture::runtime::state::{Capabilities, FixedClock, InstanceLimits, SequenceRandomness};
    use otlp_capture::storage::uploader::{UploadSettings, Uploader};

    let limits = InstanceLimits { recycle_memory_bytes: 8 << 20, ..InstanceLimits::default() };
    let runtime = Runtime::load(None, limits).unwrap();
    let uploader = Uploader::start(Storage::open(&StoreLocation::Memory).unwrap(), UploadSettings::new(256 << 20));
    let capabilities = Capabilities {
        sink: Arc::new(uploader.clone()),
        clock: Arc::new(FixedClock(NOW)),
        random: Arc::new(SequenceRandomness::default()),
        pseudonyms: None,
    };
    let mut instance = runtime.instantiate(capabilities).unwrap();
    let small = spec_example("trace.json");
    instance.capture(&config("s1"), HostSignal::Traces, PayloadEncoding::Json, &small).unwrap();
    let baseline = instance.memory_high_water();
    assert!(baseline < 8 << 20, "{baseline}");
    let huge = crate::support::generate::traces("big", 4000, 10, 1_700_000_000_000_000_000);
    let huge = OtlpRequest::Traces(huge).encode_protobuf();
    assert!(huge.len() > 4 << 20);
    let receipt = instance.capture(&config("s1"), HostSignal::Traces, PayloadEncoding::Protobuf, &huge).unwrap();
    assert!(receipt.is_some(), "the huge request was stored");
    assert!(instance.memory_high_water() <= baseline, "a fresh instance took its place");
    assert!(instance.capture(&config("s1"), HostSignal::Traces, PayloadEncoding::Json, &small).is_ok());
}
