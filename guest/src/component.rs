//! The WebAssembly glue: generates the bindings of the `capture-processor`
//! world and implements its export by converting between WIT types and the
//! domain types of [`crate::model`]. No logic lives here.
#![allow(missing_docs, unsafe_code)]

use crate::capabilities::{Clock, ObjectSink};
use crate::model;
use crate::{keys, metadata, processor};

wit_bindgen::generate!({
    world: "capture-processor",
    path: "../wit",
});

use exports::otlp::capture::otlp_processor::Guest;
use otlp::capture::types as wit;

struct Component;

export!(Component);

/// The clock import as a [`Clock`].
struct ImportedClock;

impl Clock for ImportedClock {
    fn now_unix_nanos(&self) -> u64 {
        otlp::capture::clock::now_unix_nanos()
    }
}

/// The storage import as an [`ObjectSink`].
struct ImportedStorage;

impl ObjectSink for ImportedStorage {
    fn put(&self, key: &str, body: Vec<u8>, content_type: &str) -> Result<(), model::StorageError> {
        otlp::capture::storage::put(key, &body, content_type).map_err(|e| match e {
            wit::StorageError::Busy(m) => model::StorageError::Busy(m),
            wit::StorageError::InvalidKey(m) => model::StorageError::InvalidKey(m),
            wit::StorageError::Backend(m) => model::StorageError::Backend(m),
        })
    }
}

impl Guest for Component {
    fn validate_session_id(session_id: String) -> Result<(), wit::ProcessorError> {
        crate::session_id::validate(&session_id).map_err(Into::into)
    }

    fn start_session(config: wit::SessionConfig) -> Result<wit::SessionState, wit::ProcessorError> {
        Ok(processor::start_session(config.into(), &ImportedClock, &ImportedStorage)?.into())
    }

    fn summarize(
        signal: wit::Signal,
        encoding: wit::PayloadEncoding,
        payload: Vec<u8>,
    ) -> Result<wit::PayloadSummary, wit::ProcessorError> {
        Ok(processor::summarize(signal.into(), encoding.into(), &payload)?.into())
    }

    fn capture(
        config: wit::SessionConfig,
        signal: wit::Signal,
        encoding: wit::PayloadEncoding,
        payload: Vec<u8>,
    ) -> Result<Option<wit::CaptureReceipt>, wit::ProcessorError> {
        let receipt = processor::capture(
            &config.into(),
            signal.into(),
            encoding.into(),
            &payload,
            &ImportedClock,
            &ImportedStorage,
        )?;
        Ok(receipt.map(Into::into))
    }

    fn refresh_metadata(state: wit::SessionState) -> Result<wit::SessionState, wit::ProcessorError> {
        Ok(processor::refresh_metadata(state.into(), &ImportedClock, &ImportedStorage)?.into())
    }

    fn stop_session(
        state: wit::SessionState,
        status: wit::SessionStatus,
        reason: Option<String>,
    ) -> Result<wit::SessionState, wit::ProcessorError> {
        Ok(processor::stop_session(state.into(), status.into(), reason, &ImportedClock, &ImportedStorage)?.into())
    }

    fn render_metadata(state: wit::SessionState) -> String {
        metadata::render(&state.into())
    }

    fn parse_metadata(document: String) -> Result<wit::SessionState, wit::ProcessorError> {
        Ok(metadata::parse(&document)?.into())
    }

    fn metadata_key(session_id: String) -> Result<String, wit::ProcessorError> {
        Ok(keys::metadata_key(&session_id)?)
    }

    fn parse_object_key(key: String) -> Result<wit::ObjectKeyInfo, wit::ProcessorError> {
        let info = keys::parse_object_key(&key)?;
        Ok(wit::ObjectKeyInfo {
            session_id: info.session_id,
            signal: info.signal.into(),
            capture_unix_millis: info.capture_unix_millis,
        })
    }
}

impl From<model::ProcessorError> for wit::ProcessorError {
    fn from(e: model::ProcessorError) -> Self {
        match e {
            model::ProcessorError::InvalidSessionId(m) => wit::ProcessorError::InvalidSessionId(m),
            model::ProcessorError::InvalidConfig(m) => wit::ProcessorError::InvalidConfig(m),
            model::ProcessorError::InvalidPayload(m) => wit::ProcessorError::InvalidPayload(m),
            model::ProcessorError::InvalidMetadata(m) => wit::ProcessorError::InvalidMetadata(m),
            model::ProcessorError::Storage(s) => wit::ProcessorError::Storage(match s {
                model::StorageError::Busy(m) => wit::StorageError::Busy(m),
                model::StorageError::InvalidKey(m) => wit::StorageError::InvalidKey(m),
                model::StorageError::Backend(m) => wit::StorageError::Backend(m),
            }),
        }
    }
}

impl From<wit::Signal> for model::Signal {
    fn from(s: wit::Signal) -> Self {
        match s {
            wit::Signal::Traces => model::Signal::Traces,
            wit::Signal::Metrics => model::Signal::Metrics,
            wit::Signal::Logs => model::Signal::Logs,
        }
    }
}

impl From<model::Signal> for wit::Signal {
    fn from(s: model::Signal) -> Self {
        match s {
            model::Signal::Traces => wit::Signal::Traces,
            model::Signal::Metrics => wit::Signal::Metrics,
            model::Signal::Logs => wit::Signal::Logs,
        }
    }
}

impl From<wit::PayloadEncoding> for model::PayloadEncoding {
    fn from(e: wit::PayloadEncoding) -> Self {
        match e {
            wit::PayloadEncoding::Protobuf => model::PayloadEncoding::Protobuf,
            wit::PayloadEncoding::Json => model::PayloadEncoding::Json,
        }
    }
}

impl From<wit::SessionStatus> for model::SessionStatus {
    fn from(s: wit::SessionStatus) -> Self {
        match s {
            wit::SessionStatus::Active => model::SessionStatus::Active,
            wit::SessionStatus::Completed => model::SessionStatus::Completed,
            wit::SessionStatus::Failed => model::SessionStatus::Failed,
        }
    }
}

impl From<model::SessionStatus> for wit::SessionStatus {
    fn from(s: model::SessionStatus) -> Self {
        match s {
            model::SessionStatus::Active => wit::SessionStatus::Active,
            model::SessionStatus::Completed => wit::SessionStatus::Completed,
            model::SessionStatus::Failed => wit::SessionStatus::Failed,
        }
    }
}

impl From<wit::SessionConfig> for model::SessionConfig {
    fn from(c: wit::SessionConfig) -> Self {
        model::SessionConfig {
            session_id: c.session_id,
            diagnostic_session_id: c.diagnostic_session_id,
            description: c.description,
            enabled_flags: c.enabled_flags,
            capture_traces: c.capture_traces,
            capture_metrics: c.capture_metrics,
            capture_logs: c.capture_logs,
            sample_ratio: c.sample_ratio,
            created_by: c.created_by,
        }
    }
}

impl From<model::SessionConfig> for wit::SessionConfig {
    fn from(c: model::SessionConfig) -> Self {
        wit::SessionConfig {
            session_id: c.session_id,
            diagnostic_session_id: c.diagnostic_session_id,
            description: c.description,
            enabled_flags: c.enabled_flags,
            capture_traces: c.capture_traces,
            capture_metrics: c.capture_metrics,
            capture_logs: c.capture_logs,
            sample_ratio: c.sample_ratio,
            created_by: c.created_by,
        }
    }
}

impl From<wit::SessionCounts> for model::SessionCounts {
    fn from(c: wit::SessionCounts) -> Self {
        model::SessionCounts {
            trace_batches: c.trace_batches,
            metric_batches: c.metric_batches,
            log_batches: c.log_batches,
            spans: c.spans,
            data_points: c.data_points,
            log_records: c.log_records,
            compressed_bytes: c.compressed_bytes,
            uncompressed_bytes: c.uncompressed_bytes,
            first_telemetry_unix_nanos: c.first_telemetry_unix_nanos,
            last_telemetry_unix_nanos: c.last_telemetry_unix_nanos,
        }
    }
}

impl From<model::SessionCounts> for wit::SessionCounts {
    fn from(c: model::SessionCounts) -> Self {
        wit::SessionCounts {
            trace_batches: c.trace_batches,
            metric_batches: c.metric_batches,
            log_batches: c.log_batches,
            spans: c.spans,
            data_points: c.data_points,
            log_records: c.log_records,
            compressed_bytes: c.compressed_bytes,
            uncompressed_bytes: c.uncompressed_bytes,
            first_telemetry_unix_nanos: c.first_telemetry_unix_nanos,
            last_telemetry_unix_nanos: c.last_telemetry_unix_nanos,
        }
    }
}

impl From<wit::SessionState> for model::SessionState {
    fn from(s: wit::SessionState) -> Self {
        model::SessionState {
            config: s.config.into(),
            status: s.status.into(),
            start_unix_nanos: s.start_unix_nanos,
            end_unix_nanos: s.end_unix_nanos,
            updated_unix_nanos: s.updated_unix_nanos,
            end_reason: s.end_reason,
            counts: s.counts.into(),
        }
    }
}

impl From<model::SessionState> for wit::SessionState {
    fn from(s: model::SessionState) -> Self {
        wit::SessionState {
            config: s.config.into(),
            status: s.status.into(),
            start_unix_nanos: s.start_unix_nanos,
            end_unix_nanos: s.end_unix_nanos,
            updated_unix_nanos: s.updated_unix_nanos,
            end_reason: s.end_reason,
            counts: s.counts.into(),
        }
    }
}

impl From<model::PayloadSummary> for wit::PayloadSummary {
    fn from(s: model::PayloadSummary) -> Self {
        wit::PayloadSummary {
            signal: s.signal.into(),
            items: s.items,
            resources: s.resources,
            min_unix_nanos: s.min_unix_nanos,
            max_unix_nanos: s.max_unix_nanos,
        }
    }
}

impl From<model::CaptureReceipt> for wit::CaptureReceipt {
    fn from(r: model::CaptureReceipt) -> Self {
        wit::CaptureReceipt {
            key: r.key,
            capture_unix_nanos: r.capture_unix_nanos,
            bytes_in: r.bytes_in,
            uncompressed_bytes: r.uncompressed_bytes,
            compressed_bytes: r.compressed_bytes,
            summary: r.summary.into(),
        }
    }
}
