//! The WebAssembly glue: generates the bindings of the `capture-processor`
//! world and implements its export by converting between WIT types and the
//! domain types of [`crate::records`]. No logic lives here.
#![allow(missing_docs, unsafe_code)]

use crate::capabilities::{Clock, HostImports, ObjectSink, Pseudonyms, Randomness};
use crate::filter::Filter;
use crate::records;
use crate::replay::{self, ReplayOptions};
use crate::timestamps::Rewrite;
use crate::timing::Planned;
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

/// The randomness import as [`Randomness`].
struct ImportedRandomness;

impl Randomness for ImportedRandomness {
    fn random_bytes(&self, len: usize) -> Vec<u8> {
        otlp::capture::randomness::random_bytes(u32::try_from(len).unwrap_or(u32::MAX))
    }
}

/// The pseudonyms import as [`Pseudonyms`].
struct ImportedPseudonyms;

impl Pseudonyms for ImportedPseudonyms {
    fn hmac_sha256_hex(&self, text: &[u8]) -> Option<String> {
        otlp::capture::pseudonyms::hmac_sha256(text)
    }
}

/// The storage import as an [`ObjectSink`].
struct ImportedStorage;

impl ObjectSink for ImportedStorage {
    fn put(&self, key: &str, body: Vec<u8>, content_type: &str) -> Result<(), records::StorageError> {
        otlp::capture::storage::put(key, &body, content_type).map_err(Into::into)
    }
}

impl Guest for Component {
    fn validate_session_id(session_id: String) -> Result<(), wit::ProcessorError> {
        crate::session_id::validate(&session_id).map_err(Into::into)
    }

    fn new_session(config: wit::SessionConfig) -> Result<wit::SessionState, wit::ProcessorError> {
        Ok(processor::new_session(config.into(), &ImportedClock, &ImportedPseudonyms)?.into())
    }

    fn start_session(config: wit::SessionConfig) -> Result<wit::SessionState, wit::ProcessorError> {
        Ok(processor::start_session(config.into(), &ImportedClock, &ImportedPseudonyms, &ImportedStorage)?.into())
    }

    fn summarize(
        signal: wit::Signal,
        encoding: wit::PayloadEncoding,
        payload: Vec<u8>,
    ) -> Result<wit::PayloadSummary, wit::ProcessorError> {
        Ok(processor::summarize(signal.into(), encoding.into(), &payload)?.into())
    }

    fn to_protobuf(
        signal: wit::Signal,
        encoding: wit::PayloadEncoding,
        payload: Vec<u8>,
    ) -> Result<Vec<u8>, wit::ProcessorError> {
        Ok(crate::codec::OtlpRequest::decode(signal.into(), encoding.into(), &payload)?.encode_protobuf())
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
            HostImports {
                clock: &ImportedClock,
                random: &ImportedRandomness,
                pseudonyms: &ImportedPseudonyms,
                sink: &ImportedStorage,
            },
        )?;
        Ok(receipt.map(Into::into))
    }

    fn prepare_capture(
        config: wit::SessionConfig,
        signal: wit::Signal,
        encoding: wit::PayloadEncoding,
        payload: Vec<u8>,
    ) -> Result<Option<wit::PreparedCapture>, wit::ProcessorError> {
        let prepared =
            processor::prepare(&config.into(), signal.into(), encoding.into(), &payload, &ImportedPseudonyms)?;
        Ok(prepared.map(|p| wit::PreparedCapture {
            protobuf: p.protobuf,
            summary: p.summary.into(),
            bytes_in: p.bytes_in,
            redaction: p.redaction.into(),
        }))
    }

    fn store_batch(
        config: wit::SessionConfig,
        signal: wit::Signal,
        parts: Vec<wit::PreparedCapture>,
    ) -> Result<wit::CaptureReceipt, wit::ProcessorError> {
        let parts: Vec<records::PreparedCapture> = parts
            .into_iter()
            .map(|p| records::PreparedCapture {
                protobuf: p.protobuf,
                summary: p.summary.into(),
                bytes_in: p.bytes_in,
                redaction: p.redaction.into(),
            })
            .collect();
        Ok(processor::store_batch(
            &config.into(),
            signal.into(),
            &parts,
            &ImportedClock,
            &ImportedRandomness,
            &ImportedStorage,
        )?
        .into())
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

    fn prepare_replay(
        signal: wit::Signal,
        object: Vec<u8>,
        options: wit::ReplayOptions,
    ) -> Result<Option<wit::ReplayBatch>, wit::ProcessorError> {
        let batch = replay::prepare(signal.into(), &object, &options.into())?;
        Ok(batch.map(|b| wit::ReplayBatch {
            payload: b.payload,
            summary: b.summary.into(),
            applied_shift: b.applied_shift,
        }))
    }

    fn replay_timing(
        signal: wit::Signal,
        object: Vec<u8>,
        options: wit::ReplayOptions,
    ) -> Result<Option<wit::ObjectTiming>, wit::ProcessorError> {
        let timing = replay::timing(signal.into(), &object, &options.into())?;
        Ok(timing.map(|t| wit::ObjectTiming {
            summary: t.summary.into(),
            groups: t.extents.groups,
            ungrouped_newest: t.extents.ungrouped_newest,
        }))
    }

    fn object_to_json(
        signal: wit::Signal,
        object: Vec<u8>,
        max_uncompressed_bytes: u64,
    ) -> Result<String, wit::ProcessorError> {
        Ok(replay::to_json(signal.into(), &object, max_uncompressed_bytes)?)
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

impl From<wit::ReplayOptions> for ReplayOptions {
    fn from(o: wit::ReplayOptions) -> Self {
        ReplayOptions {
            rewrite: match o.rewrite {
                wit::TimestampRewrite::None => Rewrite::None,
                wit::TimestampRewrite::Shift(offset) => Rewrite::Shift(offset),
                wit::TimestampRewrite::NewestAt(instant) => Rewrite::NewestAt(instant),
                wit::TimestampRewrite::Planned(p) => {
                    Rewrite::Planned(Planned { shifts: p.shifts, ungrouped_newest_at: p.ungrouped_newest_at })
                }
            },
            id_remap_seed: o.id_remap_seed,
            filter: Filter { services: o.services, from_unix_nanos: o.from_unix_nanos, to_unix_nanos: o.to_unix_nanos },
            max_uncompressed_bytes: o.max_uncompressed_bytes,
        }
    }
}

impl From<records::ProcessorError> for wit::ProcessorError {
    fn from(e: records::ProcessorError) -> Self {
        match e {
            records::ProcessorError::InvalidSessionId(m) => wit::ProcessorError::InvalidSessionId(m),
            records::ProcessorError::InvalidConfig(m) => wit::ProcessorError::InvalidConfig(m),
            records::ProcessorError::InvalidPayload(m) => wit::ProcessorError::InvalidPayload(m),
            records::ProcessorError::InvalidMetadata(m) => wit::ProcessorError::InvalidMetadata(m),
            records::ProcessorError::Storage(s) => wit::ProcessorError::Storage(s.into()),
        }
    }
}

/// `From` both ways between a WIT record and its domain twin with the same
/// fields; nested records convert through their own `From`.
macro_rules! mirror_record {
    ($wit:ty, $records:ty { $($field:ident),* $(,)? } $(lists { $($list:ident),* $(,)? })?) => {
        impl From<$wit> for $records {
            fn from(r: $wit) -> Self {
                Self { $($field: r.$field.into(),)* $($($list: r.$list.into_iter().map(Into::into).collect(),)*)? }
            }
        }
        impl From<$records> for $wit {
            fn from(r: $records) -> Self {
                Self { $($field: r.$field.into(),)* $($($list: r.$list.into_iter().map(Into::into).collect(),)*)? }
            }
        }
    };
}

/// `From` both ways between a WIT enum and its domain twin.
macro_rules! mirror_enum {
    ($wit:ident, $records:ident { $($case:ident),* $(,)? }) => {
        impl From<wit::$wit> for records::$records {
            fn from(e: wit::$wit) -> Self {
                match e { $(wit::$wit::$case => records::$records::$case),* }
            }
        }
        impl From<records::$records> for wit::$wit {
            fn from(e: records::$records) -> Self {
                match e { $(records::$records::$case => wit::$wit::$case),* }
            }
        }
    };
}

impl From<wit::StorageError> for records::StorageError {
    fn from(e: wit::StorageError) -> Self {
        match e {
            wit::StorageError::Busy(m) => records::StorageError::Busy(m),
            wit::StorageError::InvalidKey(m) => records::StorageError::InvalidKey(m),
            wit::StorageError::Backend(m) => records::StorageError::Backend(m),
        }
    }
}

impl From<records::StorageError> for wit::StorageError {
    fn from(e: records::StorageError) -> Self {
        match e {
            records::StorageError::Busy(m) => wit::StorageError::Busy(m),
            records::StorageError::InvalidKey(m) => wit::StorageError::InvalidKey(m),
            records::StorageError::Backend(m) => wit::StorageError::Backend(m),
        }
    }
}

mirror_enum!(Signal, Signal { Traces, Metrics, Logs });
mirror_enum!(PayloadEncoding, PayloadEncoding { Protobuf, Json });
mirror_enum!(SessionStatus, SessionStatus { Active, Completed, Failed });

mirror_record!(
    wit::SessionConfig,
    records::SessionConfig {
        session_id,
        diagnostic_session_id,
        description,
        enabled_flags,
        capture_traces,
        capture_metrics,
        capture_logs,
        sample_ratio,
        created_by,
        max_size_bytes,
        max_duration_millis,
        gzip_level,
        redaction,
    }
);
mirror_record!(
    wit::SessionCounts,
    records::SessionCounts {
        trace_batches,
        metric_batches,
        log_batches,
        spans,
        data_points,
        log_records,
        compressed_bytes,
        uncompressed_bytes,
        first_telemetry_unix_nanos,
        last_telemetry_unix_nanos,
        dropped_requests,
        dropped_items,
        masked_values,
        removed_keys,
    }
);
mirror_record!(wit::RedactionCounts, records::RedactionCounts { masked_values, removed_keys });
mirror_record!(
    wit::SessionState,
    records::SessionState { config, status, start_unix_nanos, end_unix_nanos, updated_unix_nanos, end_reason, counts }
    lists { phases }
);
mirror_record!(wit::Phase, records::Phase { name, start_unix_nanos, value });

impl From<records::PayloadSummary> for wit::PayloadSummary {
    fn from(s: records::PayloadSummary) -> Self {
        wit::PayloadSummary {
            signal: s.signal.into(),
            items: s.items,
            resources: s.resources,
            min_unix_nanos: s.min_unix_nanos,
            max_unix_nanos: s.max_unix_nanos,
        }
    }
}

impl From<wit::PayloadSummary> for records::PayloadSummary {
    fn from(s: wit::PayloadSummary) -> Self {
        records::PayloadSummary {
            signal: s.signal.into(),
            items: s.items,
            resources: s.resources,
            min_unix_nanos: s.min_unix_nanos,
            max_unix_nanos: s.max_unix_nanos,
        }
    }
}

impl From<records::CaptureReceipt> for wit::CaptureReceipt {
    fn from(r: records::CaptureReceipt) -> Self {
        wit::CaptureReceipt {
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
