//! Decoding and encoding of OTLP export requests: protobuf, and OTLP/JSON per
//! the specification's JSON mapping, always stored as protobuf.

use crate::otlp::collector::logs::v1::ExportLogsServiceRequest;
use crate::otlp::collector::metrics::v1::ExportMetricsServiceRequest;
use crate::otlp::collector::trace::v1::ExportTraceServiceRequest;
use prost::Message;
use serde::de::DeserializeOwned;

use crate::json_spellings;
use crate::records::{PayloadEncoding, ProcessorError, Signal};

/// One decoded OTLP export request of any signal.
#[derive(Debug, Clone, PartialEq)]
pub enum OtlpRequest {
    /// A trace export.
    Traces(ExportTraceServiceRequest),
    /// A metrics export.
    Metrics(ExportMetricsServiceRequest),
    /// A logs export.
    Logs(ExportLogsServiceRequest),
}

impl OtlpRequest {
    /// Decodes `payload` as an export request of `signal`, then checks the
    /// trace and span ids it carries have OTLP's lengths.
    pub fn decode(signal: Signal, encoding: PayloadEncoding, payload: &[u8]) -> Result<Self, ProcessorError> {
        check_decode_cost(signal, encoding, payload)?;
        let request = match (signal, encoding) {
            (Signal::Traces, PayloadEncoding::Protobuf) => OtlpRequest::Traces(decode_protobuf(payload)?),
            (Signal::Metrics, PayloadEncoding::Protobuf) => OtlpRequest::Metrics(decode_protobuf(payload)?),
            (Signal::Logs, PayloadEncoding::Protobuf) => OtlpRequest::Logs(decode_protobuf(payload)?),
            (Signal::Traces, PayloadEncoding::Json) => OtlpRequest::Traces(decode_json(payload)?),
            (Signal::Metrics, PayloadEncoding::Json) => OtlpRequest::Metrics(decode_json(payload)?),
            (Signal::Logs, PayloadEncoding::Json) => OtlpRequest::Logs(decode_json(payload)?),
        };
        request.check_ids()?;
        Ok(request)
    }

    /// The signal of this request.
    pub fn signal(&self) -> Signal {
        match self {
            OtlpRequest::Traces(_) => Signal::Traces,
            OtlpRequest::Metrics(_) => Signal::Metrics,
            OtlpRequest::Logs(_) => Signal::Logs,
        }
    }

    /// The protobuf encoding of the request.
    pub fn encode_protobuf(&self) -> Vec<u8> {
        match self {
            OtlpRequest::Traces(r) => r.encode_to_vec(),
            OtlpRequest::Metrics(r) => r.encode_to_vec(),
            OtlpRequest::Logs(r) => r.encode_to_vec(),
        }
    }

    /// The OTLP/JSON encoding of the request (hex ids, 64-bit integers as
    /// strings).
    pub fn encode_json(&self) -> Result<String, ProcessorError> {
        let json = match self {
            OtlpRequest::Traces(r) => serde_json::to_string(r),
            OtlpRequest::Metrics(r) => serde_json::to_string(r),
            OtlpRequest::Logs(r) => serde_json::to_string(r),
        };
        json.map_err(|e| ProcessorError::InvalidPayload(format!("cannot write OTLP/JSON: {e}")))
    }

    /// Refuses trace ids that are not 16 bytes and span ids that are not 8
    /// (empty ids are allowed where OTLP allows them), as the Collector does.
    fn check_ids(&self) -> Result<(), ProcessorError> {
        match self {
            OtlpRequest::Traces(r) => {
                for span in r.resource_spans.iter().flat_map(|rs| &rs.scope_spans).flat_map(|ss| &ss.spans) {
                    check_id("traceId", &span.trace_id, 16)?;
                    check_id("spanId", &span.span_id, 8)?;
                    check_id("parentSpanId", &span.parent_span_id, 8)?;
                    for link in &span.links {
                        check_id("links.traceId", &link.trace_id, 16)?;
                        check_id("links.spanId", &link.span_id, 8)?;
                    }
                }
            }
            OtlpRequest::Logs(r) => {
                for record in r.resource_logs.iter().flat_map(|rl| &rl.scope_logs).flat_map(|sl| &sl.log_records) {
                    check_id("traceId", &record.trace_id, 16)?;
                    check_id("spanId", &record.span_id, 8)?;
                }
            }
            OtlpRequest::Metrics(_) => {}
        }
        Ok(())
    }
}

/// Most memory decoding one request may take, about: past it the instance
/// would run out of memory (and be replaced) instead of answering.
pub const DECODE_BUDGET_BYTES: u64 = 384 << 20;
/// What one decoded message (a resource, scope, span, data point, record or
/// attribute) takes in memory, about.
const BYTES_PER_MESSAGE: u64 = 160;

/// Refuses a request whose decoded form would outgrow
/// [`DECODE_BUDGET_BYTES`]: a few bytes of `{}` or of empty protobuf
/// messages each become a struct of a hundred bytes and more. JSON counts
/// its objects (braces inside strings too, which only errs on the safe
/// side); protobuf counts resources and items with the wire scan.
fn check_decode_cost(signal: Signal, encoding: PayloadEncoding, payload: &[u8]) -> Result<(), ProcessorError> {
    let messages = match encoding {
        PayloadEncoding::Json => payload.iter().filter(|b| **b == b'{').count() as u64,
        PayloadEncoding::Protobuf => match crate::wire::Scan::of(signal, payload, crate::wire::Collect::Summary) {
            Ok(scan) => scan.items.saturating_add(scan.resources),
            // Decoding refuses it with prost's own words.
            Err(_) => return Ok(()),
        },
    };
    if messages.saturating_mul(BYTES_PER_MESSAGE) > DECODE_BUDGET_BYTES {
        return Err(ProcessorError::InvalidPayload(format!(
            "this request holds about {messages} messages; decoding them would take more than {} MiB; send \
             smaller requests",
            DECODE_BUDGET_BYTES >> 20
        )));
    }
    Ok(())
}

pub(crate) fn check_id(field: &str, id: &[u8], len: usize) -> Result<(), ProcessorError> {
    if id.is_empty() || id.len() == len {
        Ok(())
    } else {
        Err(ProcessorError::InvalidPayload(format!("{field} is {} bytes long; OTLP requires {len}", id.len())))
    }
}

fn decode_protobuf<T: Message + Default>(payload: &[u8]) -> Result<T, ProcessorError> {
    T::decode(payload).map_err(|e| ProcessorError::InvalidPayload(format!("not an OTLP protobuf request: {e}")))
}

fn decode_json<T: DeserializeOwned>(payload: &[u8]) -> Result<T, ProcessorError> {
    let invalid = |e: serde_json::Error| ProcessorError::InvalidPayload(format!("not an OTLP/JSON request: {e}"));
    if !json_spellings::needs_rewrite(payload) {
        return serde_json::from_slice(payload).map_err(invalid);
    }
    let mut value: serde_json::Value = serde_json::from_slice(payload).map_err(invalid)?;
    json_spellings::rewrite(&mut value);
    serde_json::from_value(value).map_err(invalid)
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;

    /// The OTLP specification's own JSON examples.
    pub(crate) fn spec_example(name: &str) -> Vec<u8> {
        let path = format!("{}/../tests/fixtures/otlp-spec-examples/{name}", env!("CARGO_MANIFEST_DIR"));
        std::fs::read(&path).unwrap_or_else(|e| panic!("{path}: {e}"))
    }

    #[test]
    fn requests_that_would_decode_into_gigabytes_are_refused() {
        let empty_resources = [b"{\"resourceSpans\":[".to_vec(), b"{},".repeat(3_000_000), b"{}]}".to_vec()].concat();
        let refused = OtlpRequest::decode(Signal::Traces, PayloadEncoding::Json, &empty_resources);
        assert!(
            matches!(&refused, Err(ProcessorError::InvalidPayload(m)) if m.contains("smaller requests")),
            "{refused:?}"
        );
        let protobuf: Vec<u8> = std::iter::repeat_n([0x0a_u8, 0x00], 3_000_000).flatten().collect();
        let refused = OtlpRequest::decode(Signal::Traces, PayloadEncoding::Protobuf, &protobuf);
        assert!(
            matches!(&refused, Err(ProcessorError::InvalidPayload(m)) if m.contains("smaller requests")),
            "{refused:?}"
        );
        let fine = [b"{\"resourceSpans\":[".to_vec(), b"{},".repeat(1000), b"{}]}".to_vec()].concat();
        assert!(OtlpRequest::decode(Signal::Traces, PayloadEncoding::Json, &fine).is_ok());
    }

    /// `json` with every object key in snake_case and enum numbers as names.
    fn other_spelling(json: &str) -> String {
        fn snake(value: &mut serde_json::Value) {
            match value {
                serde_json::Value::Object(map) => {
                    let entries = std::mem::take(map);
                    for (key, mut inner) in entries {
                        snake(&mut inner);
                        let name = match (key.as_str(), &inner) {
                            ("kind", serde_json::Value::Number(n)) => {
                                crate::otlp::trace::v1::span::SpanKind::try_from(n.as_i64().unwrap() as i32)
                                    .ok()
                                    .map(|k| k.as_str_name())
                            }
                            _ => None,
                        };
                        if let Some(name) = name {
                            inner = serde_json::Value::from(name);
                        }
                        let key: String = key
                            .chars()
                            .flat_map(
                                |c| if c.is_ascii_uppercase() { vec!['_', c.to_ascii_lowercase()] } else { vec![c] },
                            )
                            .collect();
                        map.insert(key, inner);
                    }
                }
                serde_json::Value::Array(items) => items.iter_mut().for_each(snake),
                _ => {}
            }
        }
        let mut value: serde_json::Value = serde_json::from_str(json).unwrap();
        snake(&mut value);
        value.to_string()
    }

    #[test]
    fn snake_case_keys_and_enum_names_decode_like_otlp_json() {
        for (signal, file) in
            [(Signal::Traces, "trace.json"), (Signal::Metrics, "metrics.json"), (Signal::Logs, "logs.json")]
        {
            let json = String::from_utf8(spec_example(file)).unwrap();
            let other = other_spelling(&json);
            assert!(other.contains("time_unix_nano"), "{other}");
            let expected = OtlpRequest::decode(signal, PayloadEncoding::Json, json.as_bytes()).unwrap();
            assert_eq!(
                OtlpRequest::decode(signal, PayloadEncoding::Json, other.as_bytes()).unwrap(),
                expected,
                "{file}"
            );
        }
    }

    #[test]
    fn decodes_every_spec_example_and_round_trips_protobuf() {
        for (file, signal) in [
            ("trace.json", Signal::Traces),
            ("metrics.json", Signal::Metrics),
            ("logs.json", Signal::Logs),
            ("events.json", Signal::Logs),
        ] {
            let request = OtlpRequest::decode(signal, PayloadEncoding::Json, &spec_example(file)).unwrap();
            let protobuf = request.encode_protobuf();
            let again = OtlpRequest::decode(signal, PayloadEncoding::Protobuf, &protobuf).unwrap();
            assert_eq!(request, again, "{file}");
            let json = request.encode_json().unwrap();
            let from_json = OtlpRequest::decode(signal, PayloadEncoding::Json, json.as_bytes()).unwrap();
            assert_eq!(request, from_json, "{file}");
        }
    }

    #[test]
    fn json_ids_are_hex_and_int64_are_strings() {
        let request = OtlpRequest::decode(Signal::Traces, PayloadEncoding::Json, &spec_example("trace.json")).unwrap();
        let OtlpRequest::Traces(traces) = &request else { unreachable!() };
        let span = &traces.resource_spans[0].scope_spans[0].spans[0];
        assert_eq!(span.trace_id.len(), 16);
        assert_eq!(span.span_id.len(), 8);
        assert_eq!(span.start_time_unix_nano, 1544712660000000000);
        let json = request.encode_json().unwrap();
        assert!(json.contains("\"startTimeUnixNano\":\"1544712660000000000\""), "{json}");
        assert!(json.contains("5b8efff798038103d269b633813fc60c"), "{json}");
    }

    #[test]
    fn refuses_garbage_and_wrong_id_lengths() {
        for payload in [&b"\xff\xff\xff"[..], b"not json"] {
            for encoding in [PayloadEncoding::Protobuf, PayloadEncoding::Json] {
                if encoding == PayloadEncoding::Json && payload[0] == 0xff {
                    continue;
                }
                let result = OtlpRequest::decode(Signal::Traces, encoding, payload);
                assert!(matches!(result, Err(ProcessorError::InvalidPayload(_))), "{payload:?} {encoding:?}");
            }
        }
        let bad_id =
            br#"{"resourceSpans":[{"scopeSpans":[{"spans":[{"traceId":"abcd","spanId":"0102030405060708"}]}]}]}"#;
        let result = OtlpRequest::decode(Signal::Traces, PayloadEncoding::Json, bad_id);
        assert!(matches!(result, Err(ProcessorError::InvalidPayload(m)) if m.contains("traceId")));
    }

    #[test]
    fn an_empty_request_is_valid() {
        for signal in Signal::ALL {
            assert!(OtlpRequest::decode(signal, PayloadEncoding::Protobuf, &[]).is_ok());
            assert!(OtlpRequest::decode(signal, PayloadEncoding::Json, b"{}").is_ok());
        }
    }
}
