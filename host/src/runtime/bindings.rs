//! The only place `bindgen!` runs: host bindings of the `capture-processor`
//! world in `wit/`, and the `From` impls that map its types to the host's
//! own (`otlp`, `session`, `runtime::calls`) and back. Nothing outside
//! `runtime` names a generated type.
#![allow(missing_docs)]

wasmtime::component::bindgen!({
    world: "capture-processor",
    path: "../wit",
});

use otlp::capture::storage::StorageError as WitStorageError;
use otlp::capture::types as wit;

use super::processor_types::{
    GuestError, ObjectKeyInfo, ObjectTiming, PreparedCapture, PutError, ReplayBatch, ReplayOptions, TimestampRewrite,
};
use crate::otlp::{Encoding, PayloadSummary, Signal};
use crate::session::{
    CaptureReceipt, Phase, RedactionCounts, SessionConfig, SessionCounts, SessionState, SessionStatus,
};

impl From<Signal> for wit::Signal {
    fn from(signal: Signal) -> Self {
        match signal {
            Signal::Traces => wit::Signal::Traces,
            Signal::Metrics => wit::Signal::Metrics,
            Signal::Logs => wit::Signal::Logs,
        }
    }
}

impl From<wit::Signal> for Signal {
    fn from(signal: wit::Signal) -> Self {
        match signal {
            wit::Signal::Traces => Signal::Traces,
            wit::Signal::Metrics => Signal::Metrics,
            wit::Signal::Logs => Signal::Logs,
        }
    }
}

impl From<Encoding> for wit::PayloadEncoding {
    fn from(encoding: Encoding) -> Self {
        match encoding {
            Encoding::Protobuf => wit::PayloadEncoding::Protobuf,
            Encoding::Json => wit::PayloadEncoding::Json,
        }
    }
}

impl From<wit::PayloadSummary> for PayloadSummary {
    fn from(s: wit::PayloadSummary) -> Self {
        PayloadSummary {
            signal: s.signal.into(),
            items: s.items,
            resources: s.resources,
            min_unix_nanos: s.min_unix_nanos,
            max_unix_nanos: s.max_unix_nanos,
        }
    }
}

impl From<PayloadSummary> for wit::PayloadSummary {
    fn from(s: PayloadSummary) -> Self {
        wit::PayloadSummary {
            signal: s.signal.into(),
            items: s.items,
            resources: s.resources,
            min_unix_nanos: s.min_unix_nanos,
            max_unix_nanos: s.max_unix_nanos,
        }
    }
}

impl From<SessionStatus> for wit::SessionStatus {
    fn from(status: SessionStatus) -> Self {
        match status {
            SessionStatus::Active => wit::SessionStatus::Active,
            SessionStatus::Completed => wit::SessionStatus::Completed,
            SessionStatus::Failed => wit::SessionStatus::Failed,
        }
    }
}

impl From<wit::SessionStatus> for SessionStatus {
    fn from(status: wit::SessionStatus) -> Self {
        match status {
            wit::SessionStatus::Active => SessionStatus::Active,
            wit::SessionStatus::Completed => SessionStatus::Completed,
            wit::SessionStatus::Failed => SessionStatus::Failed,
        }
    }
}

impl From<SessionConfig> for wit::SessionConfig {
    fn from(c: SessionConfig) -> Self {
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
            max_size_bytes: c.max_size_bytes,
            max_duration_millis: c.max_duration_millis,
            gzip_level: c.gzip_level,
            redaction: c.redaction,
        }
    }
}

impl From<wit::SessionConfig> for SessionConfig {
    fn from(c: wit::SessionConfig) -> Self {
        SessionConfig {
            session_id: c.session_id,
            diagnostic_session_id: c.diagnostic_session_id,
            description: c.description,
            enabled_flags: c.enabled_flags,
            capture_traces: c.capture_traces,
            capture_metrics: c.capture_metrics,
            capture_logs: c.capture_logs,
            sample_ratio: c.sample_ratio,
            created_by: c.created_by,
            max_size_bytes: c.max_size_bytes,
            max_duration_millis: c.max_duration_millis,
            gzip_level: c.gzip_level,
            redaction: c.redaction,
        }
    }
}

impl From<SessionCounts> for wit::SessionCounts {
    fn from(c: SessionCounts) -> Self {
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
            dropped_requests: c.dropped_requests,
            dropped_items: c.dropped_items,
            masked_values: c.masked_values,
            removed_keys: c.removed_keys,
        }
    }
}

impl From<wit::SessionCounts> for SessionCounts {
    fn from(c: wit::SessionCounts) -> Self {
        SessionCounts {
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
            dropped_requests: c.dropped_requests,
            dropped_items: c.dropped_items,
            masked_values: c.masked_values,
            removed_keys: c.removed_keys,
        }
    }
}

impl From<SessionState> for wit::SessionState {
    fn from(s: SessionState) -> Self {
        wit::SessionState {
            config: s.config.into(),
            status: s.status.into(),
            start_unix_nanos: s.start_unix_nanos,
            end_unix_nanos: s.end_unix_nanos,
            updated_unix_nanos: s.updated_unix_nanos,
            end_reason: s.end_reason,
            counts: s.counts.into(),
            phases: s
                .phases
                .into_iter()
                .map(|p| wit::Phase { name: p.name, start_unix_nanos: p.start_unix_nanos, value: p.value })
                .collect(),
        }
    }
}

impl From<wit::SessionState> for SessionState {
    fn from(s: wit::SessionState) -> Self {
        SessionState {
            config: s.config.into(),
            status: s.status.into(),
            start_unix_nanos: s.start_unix_nanos,
            end_unix_nanos: s.end_unix_nanos,
            updated_unix_nanos: s.updated_unix_nanos,
            end_reason: s.end_reason,
            counts: s.counts.into(),
            phases: s
                .phases
                .into_iter()
                .map(|p| Phase { name: p.name, start_unix_nanos: p.start_unix_nanos, value: p.value })
                .collect(),
        }
    }
}

impl From<wit::CaptureReceipt> for CaptureReceipt {
    fn from(r: wit::CaptureReceipt) -> Self {
        CaptureReceipt {
            key: r.key,
            capture_unix_nanos: r.capture_unix_nanos,
            bytes_in: r.bytes_in,
            uncompressed_bytes: r.uncompressed_bytes,
            compressed_bytes: r.compressed_bytes,
            summary: r.summary.into(),
            redaction: r.redaction.into(),
        }
    }
}

impl From<wit::RedactionCounts> for RedactionCounts {
    fn from(r: wit::RedactionCounts) -> Self {
        RedactionCounts { masked_values: r.masked_values, removed_keys: r.removed_keys }
    }
}

impl From<RedactionCounts> for wit::RedactionCounts {
    fn from(r: RedactionCounts) -> Self {
        wit::RedactionCounts { masked_values: r.masked_values, removed_keys: r.removed_keys }
    }
}

impl From<wit::PreparedCapture> for PreparedCapture {
    fn from(p: wit::PreparedCapture) -> Self {
        PreparedCapture {
            protobuf: p.protobuf,
            summary: p.summary.into(),
            bytes_in: p.bytes_in,
            redaction: p.redaction.into(),
        }
    }
}

impl From<PreparedCapture> for wit::PreparedCapture {
    fn from(p: PreparedCapture) -> Self {
        wit::PreparedCapture {
            protobuf: p.protobuf,
            summary: p.summary.into(),
            bytes_in: p.bytes_in,
            redaction: p.redaction.into(),
        }
    }
}

impl From<wit::ObjectKeyInfo> for ObjectKeyInfo {
    fn from(i: wit::ObjectKeyInfo) -> Self {
        ObjectKeyInfo { session_id: i.session_id, signal: i.signal.into(), capture_unix_millis: i.capture_unix_millis }
    }
}

impl From<TimestampRewrite> for wit::TimestampRewrite {
    fn from(rewrite: TimestampRewrite) -> Self {
        match rewrite {
            TimestampRewrite::None => wit::TimestampRewrite::None,
            TimestampRewrite::Shift(nanos) => wit::TimestampRewrite::Shift(nanos),
            TimestampRewrite::NewestAt(at) => wit::TimestampRewrite::NewestAt(at),
            TimestampRewrite::Planned(p) => wit::TimestampRewrite::Planned(wit::PlannedShifts {
                shifts: p.shifts,
                ungrouped_newest_at: p.ungrouped_newest_at,
            }),
        }
    }
}

impl From<ReplayOptions> for wit::ReplayOptions {
    fn from(o: ReplayOptions) -> Self {
        wit::ReplayOptions {
            rewrite: o.rewrite.into(),
            id_remap_seed: o.id_remap_seed,
            services: o.services,
            from_unix_nanos: o.from_unix_nanos,
            to_unix_nanos: o.to_unix_nanos,
            max_uncompressed_bytes: o.max_uncompressed_bytes,
        }
    }
}

impl From<wit::ObjectTiming> for ObjectTiming {
    fn from(t: wit::ObjectTiming) -> Self {
        ObjectTiming { summary: t.summary.into(), groups: t.groups, ungrouped_newest: t.ungrouped_newest }
    }
}

impl From<wit::ReplayBatch> for ReplayBatch {
    fn from(b: wit::ReplayBatch) -> Self {
        ReplayBatch { payload: b.payload, summary: b.summary.into(), applied_shift: b.applied_shift }
    }
}

impl From<WitStorageError> for PutError {
    fn from(e: WitStorageError) -> Self {
        match e {
            WitStorageError::Busy(m) => PutError::Busy(m),
            WitStorageError::InvalidKey(m) => PutError::InvalidKey(m),
            WitStorageError::Backend(m) => PutError::Backend(m),
        }
    }
}

impl From<PutError> for WitStorageError {
    fn from(e: PutError) -> Self {
        match e {
            PutError::Busy(m) => WitStorageError::Busy(m),
            PutError::InvalidKey(m) => WitStorageError::InvalidKey(m),
            PutError::Backend(m) => WitStorageError::Backend(m),
        }
    }
}

impl From<wit::ProcessorError> for GuestError {
    fn from(e: wit::ProcessorError) -> Self {
        match e {
            wit::ProcessorError::InvalidSessionId(m) => GuestError::InvalidSessionId(m),
            wit::ProcessorError::InvalidConfig(m) => GuestError::InvalidConfig(m),
            wit::ProcessorError::InvalidPayload(m) => GuestError::InvalidPayload(m),
            wit::ProcessorError::InvalidMetadata(m) => GuestError::InvalidMetadata(m),
            wit::ProcessorError::Storage(e) => GuestError::Storage(e.into()),
        }
    }
}
