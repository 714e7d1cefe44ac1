//! The session a proxy records into, kept in the store: metadata.json is
//! read, changed and put back only if unchanged since the read (an ETag
//! condition, or "does not exist yet" for the first request), retried on a
//! conflict. Concurrent instances therefore never lose each other's counts
//! on a store that makes conditional writes atomic (AWS S3, MinIO).

use otlp_capture_proxy_wasi_host::setting;

use crate::bindings::otlp::capture::clock::now_unix_nanos;
use crate::bindings::otlp::capture::otlp_processor as processor;
use crate::bindings::otlp::capture::types::{
    CaptureReceipt, PayloadEncoding, ProcessorError, SessionConfig, SessionCounts, SessionState, SessionStatus, Signal,
};
use crate::bindings::otlp::capture_proxy::object_store::{self, StoreError};

/// How often a conditional metadata put is retried after a conflict.
const MAX_ATTEMPTS: u32 = 16;
/// The longest pause between attempts; pauses are random up to a bound that
/// doubles from 1 ms, so instances that collided spread out.
const MAX_BACKOFF_NANOS: u64 = 64_000_000;

/// The session the environment names (`OTLP_CAPTURE_SESSION`, with
/// `OTLP_CAPTURE_FLAGS` comma-separated, `OTLP_CAPTURE_SAMPLE_RATIO`,
/// `OTLP_CAPTURE_DESCRIPTION`, and redaction rules as JSON in
/// `OTLP_CAPTURE_REDACTION`); `None` when the proxy only forwards.
pub fn config() -> Result<Option<SessionConfig>, String> {
    let Some(session_id) = setting("OTLP_CAPTURE_SESSION") else { return Ok(None) };
    processor::validate_session_id(&session_id).map_err(|e| describe(&e))?;
    let sample_ratio = match setting("OTLP_CAPTURE_SAMPLE_RATIO") {
        Some(text) => text
            .parse::<f64>()
            .ok()
            .filter(|r| (0.0..=1.0).contains(r))
            .ok_or_else(|| format!("OTLP_CAPTURE_SAMPLE_RATIO={text:?} is not a ratio between 0 and 1"))?,
        None => 1.0,
    };
    let enabled_flags = setting("OTLP_CAPTURE_FLAGS")
        .map(|flags| flags.split(',').map(str::trim).filter(|f| !f.is_empty()).map(str::to_owned).collect())
        .unwrap_or_default();
    Ok(Some(SessionConfig {
        session_id,
        diagnostic_session_id: None,
        description: setting("OTLP_CAPTURE_DESCRIPTION"),
        enabled_flags,
        capture_traces: true,
        capture_metrics: true,
        capture_logs: true,
        sample_ratio,
        created_by: "otlp-capture-proxy".into(),
        max_size_bytes: None,
        max_duration_millis: None,
        gzip_level: None,
        redaction: setting("OTLP_CAPTURE_REDACTION"),
    }))
}

/// Records one decoded request into the session, unless the session was
/// stopped: the object through the processor, then the counts. Fails with
/// the HTTP status a client should see: 400 for a payload that is not OTLP
/// (retrying cannot help), 503 for a store that failed.
pub fn record(config: &SessionConfig, signal: Signal, json: bool, payload: &[u8]) -> Result<(), (u16, String)> {
    let unavailable = |message: String| (503, message);
    let key = processor::metadata_key(&config.session_id).map_err(|e| unavailable(describe(&e)))?;
    let current = read(&key).map_err(unavailable)?;
    if current.as_ref().is_some_and(|(state, _)| state.status != SessionStatus::Active) {
        return Ok(());
    }
    let encoding = if json { PayloadEncoding::Json } else { PayloadEncoding::Protobuf };
    let receipt = processor::capture(config, signal, encoding, payload).map_err(|e| match e {
        ProcessorError::InvalidPayload(_) => (400, describe(&e)),
        _ => unavailable(describe(&e)),
    })?;
    let Some(receipt) = receipt else { return Ok(()) };
    // The object is stored: a client told to retry would store it twice, so
    // a count that cannot be written is logged rather than failed.
    if let Err(message) = update(&key, config, current, |state| add(&mut state.counts, signal, &receipt)) {
        eprintln!("otlp-capture-proxy: {} stored, but not counted in metadata.json: {message}", receipt.key);
    }
    Ok(())
}

/// Completes the session: its rendered metadata.json, or why not.
pub fn stop(config: &SessionConfig) -> Result<String, String> {
    let key = processor::metadata_key(&config.session_id).map_err(|e| describe(&e))?;
    let Some(current) = read(&key)? else {
        return Err(format!("session {} has recorded nothing yet", config.session_id));
    };
    update(&key, config, Some(current), |state| {
        if state.status == SessionStatus::Active {
            state.status = SessionStatus::Completed;
            state.end_unix_nanos = Some(now_unix_nanos());
            state.end_reason = Some("stopped through the proxy".into());
        }
    })
}

/// Changes metadata.json and puts it back if nobody else did since it was
/// read (`current`: the caller's read, `None` when there was no document,
/// which starts the session's); on a conflict, reads it again and retries.
/// Returns the document it wrote.
fn update(
    key: &str,
    config: &SessionConfig,
    mut current: Option<(SessionState, Option<String>)>,
    change: impl Fn(&mut SessionState),
) -> Result<String, String> {
    for attempt in 0..MAX_ATTEMPTS {
        if attempt > 0 {
            let bound = (1_000_000u64 << attempt.min(6)).min(MAX_BACKOFF_NANOS);
            let pause = wasip2::random::random::get_random_u64() % bound;
            wasip2::clocks::monotonic_clock::subscribe_duration(pause).block();
            current = read(key)?;
        }
        let (mut state, etag) = match current.take() {
            Some(read) => read,
            None => (processor::new_session(config).map_err(|e| describe(&e))?, None),
        };
        change(&mut state);
        state.updated_unix_nanos = now_unix_nanos();
        let document = processor::render_metadata(&state);
        match object_store::put_if(key, document.as_bytes(), "application/json", etag.as_deref()) {
            Ok(()) => return Ok(document),
            Err(StoreError::Conflict) => continue,
            Err(StoreError::Failed(message)) => return Err(message),
        }
    }
    Err(format!("{key} kept changing under concurrent updates: gave up after {MAX_ATTEMPTS} attempts"))
}

fn read(key: &str) -> Result<Option<(SessionState, Option<String>)>, String> {
    let stored = object_store::get(key).map_err(|e| match e {
        StoreError::Conflict => format!("{key}: unexpected conflict on a read"),
        StoreError::Failed(message) => message,
    })?;
    let Some(stored) = stored else { return Ok(None) };
    let document = String::from_utf8(stored.body).map_err(|_| format!("{key} is not UTF-8"))?;
    let state = processor::parse_metadata(&document).map_err(|e| describe(&e))?;
    Ok(Some((state, Some(stored.etag))))
}

/// Adds one stored object to the counts (0 is "no telemetry time yet").
fn add(counts: &mut SessionCounts, signal: Signal, receipt: &CaptureReceipt) {
    let items = receipt.summary.items;
    match signal {
        Signal::Traces => (counts.trace_batches += 1, counts.spans += items),
        Signal::Metrics => (counts.metric_batches += 1, counts.data_points += items),
        Signal::Logs => (counts.log_batches += 1, counts.log_records += items),
    };
    counts.compressed_bytes += receipt.compressed_bytes;
    counts.uncompressed_bytes += receipt.uncompressed_bytes;
    counts.masked_values += receipt.redaction.masked_values;
    counts.removed_keys += receipt.redaction.removed_keys;
    let (min, max) = (receipt.summary.min_unix_nanos, receipt.summary.max_unix_nanos);
    if min != 0 {
        counts.first_telemetry_unix_nanos = match counts.first_telemetry_unix_nanos {
            0 => min,
            first => first.min(min),
        };
    }
    counts.last_telemetry_unix_nanos = counts.last_telemetry_unix_nanos.max(max);
}

/// A processor error as a message.
pub fn describe(error: &ProcessorError) -> String {
    match error {
        ProcessorError::InvalidSessionId(m) => format!("invalid session id: {m}"),
        ProcessorError::InvalidConfig(m) => format!("invalid session config: {m}"),
        ProcessorError::InvalidPayload(m) => format!("invalid OTLP payload: {m}"),
        ProcessorError::InvalidMetadata(m) => format!("invalid metadata: {m}"),
        ProcessorError::Storage(e) => format!("storage: {e:?}"),
    }
}
