//! What the fuzz targets in `fuzz/` check, one property per decoder that
//! the network or the store can reach: OTLP protobuf (the wire scanner and
//! prost, which must agree), OTLP/JSON, stored objects for replay, gzip,
//! metadata.json and object keys. Each property panics when it is broken.
//!
//! Inputs the fuzzer found to break one are kept in
//! `tests/fixtures/fuzz/<target>/` and replayed by the unit test below on
//! the stable toolchain, together with the OTLP specification's examples.

use crate::capabilities::NoPseudonyms;
use crate::codec::OtlpRequest;
use crate::filter::Filter;
use crate::records::{PayloadEncoding, SessionConfig, Signal};
use crate::replay::ReplayOptions;
use crate::timestamps::Rewrite;
use crate::timing::Planned;
use crate::{gzip, keys, metadata, processor, replay, session_id};

/// The signal an input's first byte picks, and the rest of the input.
fn signal_and_rest(data: &[u8]) -> (Signal, &[u8]) {
    let (first, rest) = data.split_first().map_or((0, data), |(f, r)| (*f, r));
    (Signal::ALL[usize::from(first) % 3], rest)
}

fn config() -> SessionConfig {
    SessionConfig {
        session_id: "fuzz-1".into(),
        diagnostic_session_id: None,
        description: None,
        enabled_flags: vec!["paymentFailure".into()],
        capture_traces: true,
        capture_metrics: true,
        capture_logs: true,
        sample_ratio: 1.0,
        created_by: "fuzz".into(),
        max_size_bytes: None,
        max_duration_millis: None,
        gzip_level: None,
        redaction: None,
    }
}

/// OTLP protobuf from the network: the wire path and the decoding path
/// accept and refuse the same requests and tag them into the same request.
pub fn otlp_protobuf(data: &[u8]) {
    let (signal, payload) = signal_and_rest(data);
    let config = config();
    let on_the_wire = processor::prepare(&config, signal, PayloadEncoding::Protobuf, payload, &NoPseudonyms);
    let by_decoding =
        processor::prepare_by_decoding(&config, signal, PayloadEncoding::Protobuf, payload, &NoPseudonyms);
    match (on_the_wire, by_decoding) {
        (Ok(Some(wire)), Ok(Some(decoded))) => {
            let decode = |bytes: &[u8]| OtlpRequest::decode(signal, PayloadEncoding::Protobuf, bytes);
            assert_eq!(decode(&wire.protobuf).ok(), decode(&decoded.protobuf).ok(), "tagged requests differ");
            assert_eq!(wire.summary, decoded.summary, "summaries differ");
        }
        (Ok(None), Ok(None)) | (Err(_), Err(_)) => {}
        (wire, decoded) => panic!("the wire path says {wire:?}, decoding says {decoded:?}"),
    }
}

/// OTLP/JSON from the network: decoding never panics, and what decodes is
/// stored as protobuf that decodes to the same request.
pub fn otlp_json(data: &[u8]) {
    let (signal, payload) = signal_and_rest(data);
    if let Ok(request) = OtlpRequest::decode(signal, PayloadEncoding::Json, payload) {
        let protobuf = request.encode_protobuf();
        let again = OtlpRequest::decode(signal, PayloadEncoding::Protobuf, &protobuf);
        assert_eq!(again.as_ref().ok(), Some(&request), "JSON stored as protobuf decodes differently");
        let _ = processor::prepare(&config(), signal, PayloadEncoding::Json, payload, &NoPseudonyms);
    }
}

/// A stored object read back for replay (the store is not trusted): every
/// rewrite and id remap, and rendering as JSON, refuse or succeed, never
/// panic, and stay within the inflate limit.
pub fn stored_object(data: &[u8]) {
    let (signal, object) = signal_and_rest(data);
    let planned = |object: &[u8]| {
        let options = ReplayOptions {
            rewrite: Rewrite::None,
            id_remap_seed: None,
            filter: Filter::default(),
            max_uncompressed_bytes: 1 << 20,
        };
        let groups = replay::timing(signal, object, &options).ok().flatten().map(|t| t.extents.groups);
        let shifts = groups.unwrap_or_default().into_iter().map(|(key, newest)| (key, newest as i64)).collect();
        Rewrite::Planned(Planned { shifts, ungrouped_newest_at: u64::MAX })
    };
    for (rewrite, seed) in [
        (Rewrite::None, None),
        (Rewrite::Shift(-7), Some(3)),
        (Rewrite::NewestAt(u64::MAX), None),
        (planned(object), Some(5)),
    ] {
        let options =
            ReplayOptions { rewrite, id_remap_seed: seed, filter: Filter::default(), max_uncompressed_bytes: 1 << 20 };
        if let Ok(Some(batch)) = replay::prepare(signal, object, &options) {
            assert!(OtlpRequest::decode(signal, PayloadEncoding::Protobuf, &batch.payload).is_ok(), "replayed garbage");
        }
    }
    let _ = replay::to_json(signal, object, 1 << 20);
}

/// gzip as objects are stored: inflating never yields more than its limit.
pub fn gzip_stream(data: &[u8]) {
    if let Ok(inflated) = gzip::decompress(data, 1 << 16) {
        assert!(inflated.len() <= 1 << 16, "inflated past the limit");
    }
}

/// metadata.json from the store: parsing never panics, and what parses
/// renders to a document that parses to the same state.
pub fn metadata_json(data: &[u8]) {
    let Ok(text) = std::str::from_utf8(data) else { return };
    if let Ok(state) = metadata::parse(text) {
        assert_eq!(metadata::parse(&metadata::render(&state)).ok(), Some(state), "metadata does not round-trip");
    }
}

/// Object keys from a store listing: what parses names a valid session.
pub fn object_key(data: &[u8]) {
    let Ok(key) = std::str::from_utf8(data) else { return };
    if let Ok(info) = keys::parse_object_key(key) {
        assert!(session_id::validate(&info.session_id).is_ok(), "a key names an invalid session: {key:?}");
    }
}

/// A property: panics when `data` breaks it.
pub type Property = fn(&[u8]);

/// Every fuzz target by its name in `fuzz/fuzz_targets/` and `tests/fixtures/fuzz/`.
pub const TARGETS: [(&str, Property); 6] = [
    ("otlp_protobuf", otlp_protobuf),
    ("otlp_json", otlp_json),
    ("stored_object", stored_object),
    ("gzip_stream", gzip_stream),
    ("metadata_json", metadata_json),
    ("object_key", object_key),
];

#[cfg(test)]
mod tests {
    use super::*;
    use crate::codec::tests::spec_example;

    #[test]
    fn inputs_the_fuzzer_found_stay_fixed() {
        let root = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../tests/fixtures/fuzz");
        let mut replayed = 0;
        for (name, property) in TARGETS {
            let Ok(entries) = std::fs::read_dir(root.join(name)) else { continue };
            for entry in entries.flatten() {
                property(&std::fs::read(entry.path()).unwrap_or_default());
                replayed += 1;
            }
        }
        eprintln!("{replayed} inputs the fuzzer found replayed");
    }

    #[test]
    fn the_properties_hold_for_the_specification_examples() {
        for (file, signal) in [("trace.json", 0u8), ("metrics.json", 1), ("logs.json", 2), ("events.json", 2)] {
            let json = [vec![signal], spec_example(file)].concat();
            otlp_json(&json);
            let (signal_of, payload) = signal_and_rest(&json);
            let request = OtlpRequest::decode(signal_of, PayloadEncoding::Json, payload).unwrap();
            let protobuf = [vec![signal], request.encode_protobuf()].concat();
            otlp_protobuf(&protobuf);
            stored_object(&[vec![signal], gzip::compress(&protobuf[1..], 1)].concat());
        }
        object_key(b"sessions/s1/raw/2025-11-24/16/traces-1764000000123-4f1c6a2e-8b0d-4c1e-9a3b-2f6d7e8a9b0c.otlp.gz");
        let state = processor::start_session(config(), &FixedClock(1), &NoPseudonyms, &Discard).unwrap();
        metadata_json(metadata::render(&state).as_bytes());
        gzip_stream(&gzip::compress(b"hello", 1));
    }

    struct FixedClock(u64);

    impl crate::capabilities::Clock for FixedClock {
        fn now_unix_nanos(&self) -> u64 {
            self.0
        }
    }

    struct Discard;

    impl crate::capabilities::ObjectSink for Discard {
        fn put(&self, _key: &str, _body: Vec<u8>, _content_type: &str) -> Result<(), crate::records::StorageError> {
            Ok(())
        }
    }
}
