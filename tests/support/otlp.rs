//! OTLP payloads for tests, and reading stored objects back.

use std::io::Read;

use otlp_capture_guest::codec::OtlpRequest;
use otlp_capture_guest::records::{PayloadEncoding, Signal};
use otlp_capture_guest::tag_keys::{ENABLED_FLAGS_KEY, SESSION_ID_KEY};

/// The OTLP specification's JSON example `name` (trace.json, metrics.json, logs.json, events.json).
pub fn spec_example(name: &str) -> Vec<u8> {
    let path = format!("{}/../fixtures/otlp-spec-examples/{name}", env!("CARGO_MANIFEST_DIR"));
    std::fs::read(&path).unwrap_or_else(|e| panic!("{path}: {e}"))
}

/// The spec example for a signal, decoded.
pub fn spec_request(signal: Signal) -> OtlpRequest {
    let file = match signal {
        Signal::Traces => "trace.json",
        Signal::Metrics => "metrics.json",
        Signal::Logs => "logs.json",
    };
    OtlpRequest::decode(signal, PayloadEncoding::Json, &spec_example(file)).unwrap()
}

/// Gunzips a stored object the way `gunzip` would, refusing anything but one gzip stream.
pub fn gunzip(object: &[u8]) -> Vec<u8> {
    assert_eq!(&object[..2], &[0x1f, 0x8b], "not gzip");
    let mut out = Vec::new();
    flate2::read::GzDecoder::new(object).read_to_end(&mut out).unwrap();
    out
}

/// Decodes a stored object into its request.
pub fn decode_object(signal: Signal, object: &[u8]) -> OtlpRequest {
    OtlpRequest::decode(signal, PayloadEncoding::Protobuf, &gunzip(object)).unwrap()
}

/// The resource attributes of every resource in a request, as (key, value-debug) pairs.
pub fn resource_attributes(request: &OtlpRequest) -> Vec<Vec<(String, String)>> {
    let to_pairs = |r: &Option<otlp_capture_guest::otlp::resource::v1::Resource>| {
        r.clone()
            .unwrap_or_default()
            .attributes
            .into_iter()
            .map(|kv| (kv.key, format!("{:?}", kv.value.and_then(|v| v.value))))
            .collect()
    };
    match request {
        OtlpRequest::Traces(r) => r.resource_spans.iter().map(|x| to_pairs(&x.resource)).collect(),
        OtlpRequest::Metrics(r) => r.resource_metrics.iter().map(|x| to_pairs(&x.resource)).collect(),
        OtlpRequest::Logs(r) => r.resource_logs.iter().map(|x| to_pairs(&x.resource)).collect(),
    }
}

/// The request with the session tag attributes taken off every resource.
pub fn untagged(mut request: OtlpRequest) -> OtlpRequest {
    let strip = |r: &mut Option<otlp_capture_guest::otlp::resource::v1::Resource>| {
        if let Some(resource) = r {
            resource.attributes.retain(|kv| kv.key != SESSION_ID_KEY && kv.key != ENABLED_FLAGS_KEY);
        }
    };
    match &mut request {
        OtlpRequest::Traces(r) => r.resource_spans.iter_mut().for_each(|x| strip(&mut x.resource)),
        OtlpRequest::Metrics(r) => r.resource_metrics.iter_mut().for_each(|x| strip(&mut x.resource)),
        OtlpRequest::Logs(r) => r.resource_logs.iter_mut().for_each(|x| strip(&mut x.resource)),
    }
    request
}

/// Whether every resource carries exactly one session id attribute with `session`.
pub fn tagged_with(request: &OtlpRequest, session: &str) -> bool {
    let expected =
        format!("{:?}", Some(otlp_capture_guest::otlp::common::v1::any_value::Value::StringValue(session.into())));
    resource_attributes(request).iter().all(|attributes| {
        let ids: Vec<_> = attributes.iter().filter(|(k, _)| k == SESSION_ID_KEY).collect();
        ids.len() == 1 && ids[0].1 == expected
    })
}

/// Every stored request of a session in a local store directory (or an
/// s3s-fs bucket directory), decoded, in no set order.
pub fn stored_requests(store: &std::path::Path, session: &str) -> Vec<OtlpRequest> {
    let mut requests = Vec::new();
    let mut dirs = vec![store.join("sessions").join(session).join("raw")];
    while let Some(dir) = dirs.pop() {
        let Ok(entries) = std::fs::read_dir(&dir) else { continue };
        for path in entries.map(|e| e.unwrap().path()) {
            if path.is_dir() {
                dirs.push(path);
                continue;
            }
            let name = path.file_name().unwrap().to_string_lossy().into_owned();
            // A write cut by a crash leaves the local store's staging file ("KEY#N"): no object.
            if !name.ends_with(".otlp.gz") {
                continue;
            }
            let signal = Signal::from_name(name.split('-').next().unwrap()).unwrap();
            requests.push(decode_object(signal, &std::fs::read(&path).unwrap()));
        }
    }
    requests
}

/// Lowercase hex of `bytes`, as OTLP/JSON writes ids.
pub fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}
