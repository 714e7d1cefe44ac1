//! The processor's operations in plain Rust, over the [`Clock`],
//! [`Randomness`] and [`ObjectSink`] capabilities: session lifecycle, summarizing and capture.

use crate::capabilities::{Clock, HostImports, ObjectSink, Pseudonyms, Randomness};
use crate::codec::OtlpRequest;
use crate::records::{
    CaptureReceipt, PayloadEncoding, PayloadSummary, PreparedCapture, ProcessorError, RedactionCounts, SessionConfig,
    SessionCounts, SessionState, SessionStatus, Signal,
};
use crate::{gzip, keys, metadata, redaction, sampling, session_id, summary, tagging, wire};

/// Media type of stored telemetry objects.
pub const OBJECT_CONTENT_TYPE: &str = "application/gzip";
/// Media type of metadata.json.
pub const METADATA_CONTENT_TYPE: &str = "application/json";

/// Most enabled flags a session may have: each is written to every resource.
pub const MAX_FLAGS: usize = 64;
/// Longest enabled flag, in bytes.
pub const MAX_FLAG_BYTES: usize = 256;
/// Longest description, diagnostic session id or creator, in bytes.
pub const MAX_TEXT_BYTES: usize = 4096;
/// A tagged request may be at most this many times its input...
pub const MAX_GROWTH: usize = 4;
/// ... plus this many bytes, so that small requests with a resource or two
/// are always taken.
pub const GROWTH_SLACK: usize = 64 << 10;

/// Checks a configuration before a session may start: its rules must
/// compile, and rules that hash need a host that holds a key.
pub fn validate_config(config: &SessionConfig, pseudonyms: &dyn Pseudonyms) -> Result<(), ProcessorError> {
    if let Some(rules) = &config.redaction {
        let redactor = redaction::compiled(rules)?;
        if redactor.needs_key() && pseudonyms.hmac_sha256_hex(b"").is_none() {
            return Err(redaction::rules::invalid(
                "the rules hash with hmac-sha256, but this host holds no redaction key (serve --redaction-key-file)",
            ));
        }
    }
    session_id::validate(&config.session_id)?;
    let invalid = |why: &str| Err(ProcessorError::InvalidConfig(why.to_owned()));
    if !(config.capture_traces || config.capture_metrics || config.capture_logs) {
        return invalid("the session records no signal; enable traces, metrics or logs");
    }
    if !(config.sample_ratio > 0.0 && config.sample_ratio <= 1.0) {
        return invalid("sampleRatio must be greater than 0 and at most 1");
    }
    if config.enabled_flags.iter().any(|f| f.trim().is_empty()) {
        return invalid("an enabled flag is empty");
    }
    if config.enabled_flags.len() > MAX_FLAGS || config.enabled_flags.iter().any(|f| f.len() > MAX_FLAG_BYTES) {
        return Err(ProcessorError::InvalidConfig(format!(
            "at most {MAX_FLAGS} enabled flags of at most {MAX_FLAG_BYTES} bytes each: they are written to every resource"
        )));
    }
    let texts = [&config.description, &config.diagnostic_session_id, &Some(config.created_by.clone())];
    if texts.iter().any(|t| t.as_ref().is_some_and(|t| t.len() > MAX_TEXT_BYTES)) {
        return Err(ProcessorError::InvalidConfig(format!(
            "description, diagnosticSessionId and createdBy take at most {MAX_TEXT_BYTES} bytes each"
        )));
    }
    if config.max_size_bytes == Some(0) || config.max_duration_millis == Some(0) {
        return invalid("maxSizeMB and maxDurationMinutes must be greater than 0 when set");
    }
    if config.gzip_level.is_some_and(|level| level > 9) {
        return invalid("gzipLevel must be 0 to 9");
    }
    Ok(())
}

/// Starts a session and writes its first metadata.json.
pub fn start_session(
    config: SessionConfig,
    clock: &dyn Clock,
    pseudonyms: &dyn Pseudonyms,
    sink: &dyn ObjectSink,
) -> Result<SessionState, ProcessorError> {
    let state = new_session(config, clock, pseudonyms)?;
    write_metadata(&state, sink)?;
    Ok(state)
}

/// A session's starting state (config validated, start stamped now),
/// written nowhere.
pub fn new_session(
    config: SessionConfig,
    clock: &dyn Clock,
    pseudonyms: &dyn Pseudonyms,
) -> Result<SessionState, ProcessorError> {
    validate_config(&config, pseudonyms)?;
    let now = clock.now_unix_nanos();
    Ok(SessionState {
        config,
        status: SessionStatus::Active,
        start_unix_nanos: now,
        end_unix_nanos: None,
        updated_unix_nanos: now,
        end_reason: None,
        counts: SessionCounts::default(),
        phases: Vec::new(),
    })
}

/// Writes metadata.json for a running session, stamped now.
pub fn refresh_metadata(
    mut state: SessionState,
    clock: &dyn Clock,
    sink: &dyn ObjectSink,
) -> Result<SessionState, ProcessorError> {
    state.updated_unix_nanos = clock.now_unix_nanos();
    write_metadata(&state, sink)?;
    Ok(state)
}

/// Ends a session with `status` and writes the final metadata.json.
pub fn stop_session(
    mut state: SessionState,
    status: SessionStatus,
    reason: Option<String>,
    clock: &dyn Clock,
    sink: &dyn ObjectSink,
) -> Result<SessionState, ProcessorError> {
    if status == SessionStatus::Active {
        return Err(ProcessorError::InvalidConfig("a session cannot be stopped into the active status".into()));
    }
    let now = clock.now_unix_nanos();
    state.status = status;
    state.end_unix_nanos = Some(now);
    state.updated_unix_nanos = now;
    state.end_reason = reason;
    write_metadata(&state, sink)?;
    Ok(state)
}

fn write_metadata(state: &SessionState, sink: &dyn ObjectSink) -> Result<(), ProcessorError> {
    let key = keys::metadata_key(&state.config.session_id)?;
    sink.put(&key, metadata::render(state).into_bytes(), METADATA_CONTENT_TYPE)?;
    Ok(())
}

/// Validates a payload and says what it holds: on the wire format for
/// protobuf, by decoding for OTLP/JSON and irregular requests.
pub fn summarize(signal: Signal, encoding: PayloadEncoding, payload: &[u8]) -> Result<PayloadSummary, ProcessorError> {
    if encoding == PayloadEncoding::Protobuf {
        let scan = wire::Scan::of(signal, payload, wire::Collect::Summary).map_err(invalid_protobuf)?;
        if !scan.irregular {
            return Ok(scan.summary(signal));
        }
    }
    let mut request = OtlpRequest::decode(signal, encoding, payload)?;
    Ok(summary::of(&mut request))
}

/// Validates, samples and tags one request for a session. Returns `None`
/// when the session does not record the signal or sampling left nothing.
///
/// Protobuf requests kept whole are handled on the wire format
/// ([`wire`]); OTLP/JSON, sampled sessions, sessions with redaction rules
/// and irregular requests go through [`prepare_by_decoding`], which gives
/// the same result.
pub fn prepare(
    config: &SessionConfig,
    signal: Signal,
    encoding: PayloadEncoding,
    payload: &[u8],
    pseudonyms: &dyn Pseudonyms,
) -> Result<Option<PreparedCapture>, ProcessorError> {
    if encoding != PayloadEncoding::Protobuf || config.sample_ratio < 1.0 || config.redaction.is_some() {
        return prepare_by_decoding(config, signal, encoding, payload, pseudonyms);
    }
    session_id::validate(&config.session_id)?;
    let scan = wire::Scan::of(signal, payload, wire::Collect::Summary).map_err(invalid_protobuf)?;
    if scan.irregular {
        return prepare_by_decoding(config, signal, encoding, payload, pseudonyms);
    }
    if !config.records(signal) {
        return Ok(None);
    }
    let attributes = wire::SessionAttributes::new(&config.session_id, &config.enabled_flags);
    check_growth(payload.len(), scan.summary(signal).resources, attributes.encoded_len())?;
    let protobuf = wire::tag(payload, &attributes).map_err(invalid_protobuf)?;
    Ok(Some(PreparedCapture {
        protobuf,
        summary: scan.summary(signal),
        bytes_in: payload.len() as u64,
        redaction: RedactionCounts::default(),
    }))
}

/// Refuses a request whose tagging would grow it past [`MAX_GROWTH`] times
/// its size plus [`GROWTH_SLACK`]: a few KiB of gzip holding many empty
/// resources must not become gigabytes once each resource is tagged.
/// `per_resource` is what tagging adds to one resource, framing aside.
fn check_growth(input: usize, resources: u64, per_resource: usize) -> Result<(), ProcessorError> {
    // A resource field's own header and the attributes' framing: at most 16 bytes.
    let added = usize::try_from(resources).unwrap_or(usize::MAX).saturating_mul(per_resource.saturating_add(16));
    let allowed = input.saturating_mul(MAX_GROWTH).saturating_add(GROWTH_SLACK);
    if input.saturating_add(added) > allowed {
        return Err(ProcessorError::InvalidPayload(format!(
            "tagging {resources} resources would grow this {input}-byte request by {added} bytes, more than \
             {MAX_GROWTH} times its size; send fewer resources per request"
        )));
    }
    Ok(())
}

/// The error for a protobuf payload the wire scan refused.
pub(crate) fn invalid_protobuf(why: wire::WireError) -> ProcessorError {
    ProcessorError::InvalidPayload(format!("not an OTLP protobuf request: {why}"))
}

/// [`prepare`] by decoding the request into structs and encoding it again:
/// the reference the wire-format path is tested against, and the path that
/// applies redaction rules (before tagging, so the tap's own attributes are
/// never filtered).
pub fn prepare_by_decoding(
    config: &SessionConfig,
    signal: Signal,
    encoding: PayloadEncoding,
    payload: &[u8],
    pseudonyms: &dyn Pseudonyms,
) -> Result<Option<PreparedCapture>, ProcessorError> {
    session_id::validate(&config.session_id)?;
    let mut request = OtlpRequest::decode(signal, encoding, payload)?;
    if !config.records(signal) || !sampling::apply(&mut request, config.sample_ratio) {
        return Ok(None);
    }
    let redacted = match &config.redaction {
        Some(rules) => redaction::compiled(rules)?.apply(&mut request, pseudonyms)?,
        None => RedactionCounts::default(),
    };
    let per_resource = wire::SessionAttributes::new(&config.session_id, &config.enabled_flags).encoded_len();
    check_growth(payload.len(), summary::of(&mut request).resources, per_resource)?;
    tagging::tag(&mut request, &config.session_id, &config.enabled_flags);
    let summary = summary::of(&mut request);
    Ok(Some(PreparedCapture {
        protobuf: request.encode_protobuf(),
        summary,
        bytes_in: payload.len() as u64,
        redaction: redacted,
    }))
}

/// Stores prepared requests of one session and signal as one object: the
/// concatenation of their protobuf (which is their merge), gzipped.
pub fn store_batch(
    config: &SessionConfig,
    signal: Signal,
    parts: &[PreparedCapture],
    clock: &dyn Clock,
    random: &dyn Randomness,
    sink: &dyn ObjectSink,
) -> Result<CaptureReceipt, ProcessorError> {
    let Some(first) = parts.first() else {
        return Err(ProcessorError::InvalidConfig("a batch needs at least one request".into()));
    };
    let summary = parts[1..].iter().fold(first.summary, |merged, part| merged.merge(part.summary));
    let protobufs: Vec<&[u8]> = parts.iter().map(|p| p.protobuf.as_slice()).collect();
    let uncompressed_bytes = protobufs.iter().map(|p| p.len() as u64).sum();
    let object = gzip::compress_parts(&protobufs, config.gzip_level());
    let capture_unix_nanos = clock.now_unix_nanos();
    let key = keys::object_key(&config.session_id, signal, capture_unix_nanos, keys::object_id(random)?)?;
    let compressed_bytes = object.len() as u64;
    sink.put(&key, object, OBJECT_CONTENT_TYPE)?;
    Ok(CaptureReceipt {
        key,
        capture_unix_nanos,
        bytes_in: parts.iter().map(|p| p.bytes_in).sum(),
        uncompressed_bytes,
        compressed_bytes,
        summary,
        redaction: parts.iter().fold(RedactionCounts::default(), |sum, part| sum.plus(part.redaction)),
    })
}

/// Records one request into a session: decode, sample, tag, gzip, put.
/// Returns `None` when the session does not record the signal or sampling
/// left nothing.
pub fn capture(
    config: &SessionConfig,
    signal: Signal,
    encoding: PayloadEncoding,
    payload: &[u8],
    host: HostImports<'_>,
) -> Result<Option<CaptureReceipt>, ProcessorError> {
    match prepare(config, signal, encoding, payload, host.pseudonyms)? {
        Some(part) => store_batch(config, signal, &[part], host.clock, host.random, host.sink).map(Some),
        None => Ok(None),
    }
}

#[cfg(test)]
mod tests {
    use std::cell::RefCell;

    use super::*;
    use crate::capabilities::NoPseudonyms;
    use crate::codec::tests::spec_example;
    use crate::records::StorageError;

    struct FixedClock(u64);
    impl Clock for FixedClock {
        fn now_unix_nanos(&self) -> u64 {
            self.0
        }
    }

    /// Distinct bytes on every call, as a real source's would be.
    #[derive(Default)]
    struct Counter(std::cell::Cell<u128>);
    impl Randomness for Counter {
        fn random_bytes(&self, len: usize) -> Vec<u8> {
            self.0.set(self.0.get() + 1);
            self.0.get().to_le_bytes().into_iter().cycle().take(len).collect()
        }
    }

    #[derive(Default)]
    struct MemorySink {
        objects: RefCell<Vec<(String, Vec<u8>, String)>>,
        refuse: bool,
    }
    impl ObjectSink for MemorySink {
        fn put(&self, key: &str, body: Vec<u8>, content_type: &str) -> Result<(), StorageError> {
            if self.refuse {
                return Err(StorageError::Busy("queue full".into()));
            }
            self.objects.borrow_mut().push((key.into(), body, content_type.into()));
            Ok(())
        }
    }

    fn config() -> SessionConfig {
        SessionConfig {
            session_id: "s1".into(),
            diagnostic_session_id: None,
            description: None,
            enabled_flags: vec!["f".into()],
            capture_traces: true,
            capture_metrics: true,
            capture_logs: false,
            sample_ratio: 1.0,
            created_by: "test".into(),
            max_size_bytes: None,
            max_duration_millis: None,
            gzip_level: None,
            redaction: None,
        }
    }

    const NOW: u64 = 1_764_000_000_000_000_000;

    #[test]
    fn capture_stores_tagged_gzipped_protobuf() {
        let sink = MemorySink::default();
        let payload = spec_example("trace.json");
        let receipt = capture_now(&config(), Signal::Traces, PayloadEncoding::Json, &payload, &sink).unwrap().unwrap();
        let objects = sink.objects.borrow();
        let (key, body, content_type) = &objects[0];
        assert_eq!(key, &receipt.key);
        assert!(key.starts_with("sessions/s1/raw/2025-11-24/16/traces-1764000000000-"), "{key}");
        assert_eq!(content_type, OBJECT_CONTENT_TYPE);
        let protobuf = gzip::decompress(body, 1 << 20).unwrap();
        let mut stored = OtlpRequest::decode(Signal::Traces, PayloadEncoding::Protobuf, &protobuf).unwrap();
        let mut expected = OtlpRequest::decode(Signal::Traces, PayloadEncoding::Json, &payload).unwrap();
        tagging::tag(&mut expected, "s1", &["f".into()]);
        assert_eq!(stored, expected);
        assert_eq!(receipt.summary, summary::of(&mut stored));
        assert_eq!(receipt.summary.items, 1);
        assert_eq!((receipt.uncompressed_bytes, receipt.compressed_bytes), (protobuf.len() as u64, body.len() as u64));
        assert_eq!(receipt.bytes_in, payload.len() as u64);
    }

    #[test]
    fn a_batch_is_one_object_holding_every_request() {
        let sink = MemorySink::default();
        let clock = FixedClock(NOW);
        let traces = spec_example("trace.json");
        let parts: Vec<_> = (0..3)
            .map(|_| {
                prepare(&config(), Signal::Traces, PayloadEncoding::Json, &traces, &NoPseudonyms).unwrap().unwrap()
            })
            .collect();
        let receipt = store_batch(&config(), Signal::Traces, &parts, &clock, &Counter::default(), &sink).unwrap();
        assert_eq!((receipt.summary.items, receipt.summary.resources), (3, 3));
        assert_eq!(receipt.bytes_in, 3 * traces.len() as u64);
        let objects = sink.objects.borrow();
        assert_eq!(objects.len(), 1);
        let stored = OtlpRequest::decode(
            Signal::Traces,
            PayloadEncoding::Protobuf,
            &gzip::decompress(&objects[0].1, 1 << 20).unwrap(),
        )
        .unwrap();
        let OtlpRequest::Traces(stored) = stored else { unreachable!() };
        assert_eq!(stored.resource_spans.len(), 3, "concatenated protobuf is the merged request");
        assert!(store_batch(&config(), Signal::Traces, &[], &clock, &Counter::default(), &sink).is_err());
    }

    #[test]
    fn a_short_answer_from_the_randomness_import_stores_nothing() {
        struct Short;
        impl Randomness for Short {
            fn random_bytes(&self, len: usize) -> Vec<u8> {
                vec![7; len / 2]
            }
        }
        let sink = MemorySink::default();
        let traces = spec_example("trace.json");
        let refused = capture(
            &config(),
            Signal::Traces,
            PayloadEncoding::Json,
            &traces,
            HostImports { clock: &FixedClock(NOW), random: &Short, pseudonyms: &NoPseudonyms, sink: &sink },
        );
        assert!(
            matches!(&refused, Err(ProcessorError::Storage(StorageError::Backend(m))) if m.contains("returned 8 bytes")),
            "{refused:?}"
        );
        assert!(sink.objects.borrow().is_empty());
    }

    #[test]
    fn object_keys_are_version_4_uuids_of_the_imported_bytes() {
        let sink = MemorySink::default();
        let traces = spec_example("trace.json");
        let random = Counter::default();
        let receipt = capture(
            &config(),
            Signal::Traces,
            PayloadEncoding::Json,
            &traces,
            HostImports { clock: &FixedClock(NOW), random: &random, pseudonyms: &NoPseudonyms, sink: &sink },
        );
        let key = receipt.unwrap().unwrap().key;
        let id =
            uuid::Uuid::parse_str(&key[key.len() - 36 - OBJECT_SUFFIX_LEN..key.len() - OBJECT_SUFFIX_LEN]).unwrap();
        assert_eq!(id.get_version_num(), 4);
        let mut expected = 1u128.to_le_bytes();
        expected[6] = (expected[6] & 0x0f) | 0x40;
        expected[8] = (expected[8] & 0x3f) | 0x80;
        assert_eq!(id.as_bytes(), &expected);
    }

    const OBJECT_SUFFIX_LEN: usize = keys::OBJECT_SUFFIX.len();

    /// `capture` at `NOW` with fresh random bytes.
    fn capture_now(
        config: &SessionConfig,
        signal: Signal,
        encoding: PayloadEncoding,
        payload: &[u8],
        sink: &MemorySink,
    ) -> Result<Option<CaptureReceipt>, ProcessorError> {
        capture(
            config,
            signal,
            encoding,
            payload,
            HostImports { clock: &FixedClock(NOW), random: &Counter::default(), pseudonyms: &NoPseudonyms, sink },
        )
    }

    #[test]
    fn disabled_signals_and_fully_sampled_out_requests_store_nothing() {
        let sink = MemorySink::default();
        let logs = spec_example("logs.json");
        assert_eq!(capture_now(&config(), Signal::Logs, PayloadEncoding::Json, &logs, &sink), Ok(None));

        let traces = spec_example("trace.json");
        let OtlpRequest::Traces(request) =
            OtlpRequest::decode(Signal::Traces, PayloadEncoding::Json, &traces).expect("the spec example decodes")
        else {
            panic!("a traces request")
        };
        let trace_id = request.resource_spans[0].scope_spans[0].spans[0].trace_id.clone();
        let sampled = SessionConfig { sample_ratio: 1e-9, ..config() };
        assert!(!crate::sampling::keeps(&trace_id, sampled.sample_ratio), "the example's one trace is sampled out");
        assert_eq!(capture_now(&sampled, Signal::Traces, PayloadEncoding::Json, &traces, &sink), Ok(None));
        assert!(sink.objects.borrow().is_empty());
        assert!(
            capture_now(&config(), Signal::Traces, PayloadEncoding::Json, &traces, &sink).is_ok_and(|r| r.is_some()),
            "kept at ratio 1"
        );
    }

    #[test]
    fn many_flags_or_long_texts_are_refused_at_start() {
        let sink = MemorySink::default();
        let clock = FixedClock(NOW);
        let many = SessionConfig { enabled_flags: (0..=MAX_FLAGS).map(|n| format!("f{n}")).collect(), ..config() };
        assert!(matches!(start_session(many, &clock, &NoPseudonyms, &sink), Err(ProcessorError::InvalidConfig(_))));
        let long = SessionConfig { enabled_flags: vec!["x".repeat(MAX_FLAG_BYTES + 1)], ..config() };
        assert!(matches!(start_session(long, &clock, &NoPseudonyms, &sink), Err(ProcessorError::InvalidConfig(_))));
        let wordy = SessionConfig { description: Some("d".repeat(MAX_TEXT_BYTES + 1)), ..config() };
        assert!(matches!(start_session(wordy, &clock, &NoPseudonyms, &sink), Err(ProcessorError::InvalidConfig(_))));
        let most = SessionConfig {
            enabled_flags: (0..MAX_FLAGS).map(|n| "x".repeat(MAX_FLAG_BYTES - 3) + &n.to_string()).collect(),
            ..config()
        };
        assert!(start_session(most, &clock, &NoPseudonyms, &sink).is_ok(), "the bounds themselves are allowed");
    }

    #[test]
    fn empty_resources_cannot_amplify_a_request() {
        // 20,000 empty resource batches: two bytes each on the wire, about 60 once tagged.
        let payload: Vec<u8> = std::iter::repeat_n([0x0a, 0x00], 20_000).flatten().collect();
        let flags = SessionConfig { enabled_flags: vec!["paymentServiceFailure".into()], ..config() };
        for encoding_path in [prepare, prepare_by_decoding] {
            let refused = encoding_path(&flags, Signal::Traces, PayloadEncoding::Protobuf, &payload, &NoPseudonyms);
            assert!(
                matches!(&refused, Err(ProcessorError::InvalidPayload(m)) if m.contains("fewer resources")),
                "{refused:?}"
            );
        }
        // A few resources in a small request are always taken.
        let few: Vec<u8> = std::iter::repeat_n([0x0a, 0x00], 10).flatten().collect();
        assert!(prepare(&flags, Signal::Traces, PayloadEncoding::Protobuf, &few, &NoPseudonyms).unwrap().is_some());
    }

    #[test]
    fn invalid_payloads_and_storage_refusals_are_errors() {
        let sink = MemorySink { refuse: true, ..Default::default() };
        let garbage = capture_now(&config(), Signal::Metrics, PayloadEncoding::Protobuf, b"\x0a\xff", &sink);
        assert!(matches!(garbage, Err(ProcessorError::InvalidPayload(_))));
        let busy = capture_now(&config(), Signal::Metrics, PayloadEncoding::Json, &spec_example("metrics.json"), &sink);
        assert!(matches!(busy, Err(ProcessorError::Storage(StorageError::Busy(_)))));
    }

    #[test]
    fn lifecycle_writes_metadata_at_start_refresh_and_stop() {
        let sink = MemorySink::default();
        let started = start_session(config(), &FixedClock(NOW), &NoPseudonyms, &sink).unwrap();
        assert_eq!(started.status, SessionStatus::Active);
        let refreshed = refresh_metadata(started, &FixedClock(NOW + 5_000_000), &sink).unwrap();
        assert_eq!(refreshed.updated_unix_nanos, NOW + 5_000_000);
        assert!(stop_session(refreshed.clone(), SessionStatus::Active, None, &FixedClock(NOW), &sink).is_err());
        let stopped =
            stop_session(refreshed, SessionStatus::Completed, None, &FixedClock(NOW + 9_000_000), &sink).unwrap();
        assert_eq!(stopped.end_unix_nanos, Some(NOW + 9_000_000));
        let objects = sink.objects.borrow();
        assert_eq!(objects.len(), 3);
        assert!(objects.iter().all(|(k, _, t)| k == "sessions/s1/metadata.json" && t == METADATA_CONTENT_TYPE));
        let last = metadata::parse(std::str::from_utf8(&objects[2].1).unwrap()).unwrap();
        assert_eq!(last, stopped);
    }

    #[test]
    fn refuses_unusable_configs() {
        let sink = MemorySink::default();
        let clock = FixedClock(NOW);
        let mut none = config();
        (none.capture_traces, none.capture_metrics) = (false, false);
        let mut ratio = config();
        ratio.sample_ratio = 0.0;
        let mut id = config();
        id.session_id = "../etc".into();
        assert!(matches!(start_session(none, &clock, &NoPseudonyms, &sink), Err(ProcessorError::InvalidConfig(_))));
        assert!(matches!(start_session(ratio, &clock, &NoPseudonyms, &sink), Err(ProcessorError::InvalidConfig(_))));
        assert!(matches!(start_session(id, &clock, &NoPseudonyms, &sink), Err(ProcessorError::InvalidSessionId(_))));
        assert!(sink.objects.borrow().is_empty());
    }
}
