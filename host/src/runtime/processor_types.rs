//! The processor interface in the host's own types: what the component's
//! calls take and give besides sessions, and how a call fails. `bindings`
//! maps the WIT records onto these; nothing outside `runtime` sees WIT types.

use crate::otlp::{PayloadSummary, Signal};

/// A request decoded, sampled and tagged for a session but not stored yet;
/// a batch of these becomes one object through `store_batch`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PreparedCapture {
    /// The tagged protobuf `Export*ServiceRequest`. Protobuf messages
    /// concatenate into their merge, so a batch is the concatenation.
    pub protobuf: Vec<u8>,
    /// What it holds.
    pub summary: PayloadSummary,
    /// Bytes of the payload as received.
    pub bytes_in: u64,
    /// What the session's redaction rules changed in it.
    pub redaction: crate::session::RedactionCounts,
}

/// What a raw object key says about the object.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ObjectKeyInfo {
    /// The session the object belongs to.
    pub session_id: String,
    /// The signal it holds.
    pub signal: Signal,
    /// Capture time from the key, unix milliseconds.
    pub capture_unix_millis: u64,
}

/// How a replayed object's timestamps move. Zero stays zero; arithmetic
/// saturates.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum TimestampRewrite {
    /// As recorded.
    None,
    /// Every timestamp by this many nanoseconds (negative moves back).
    Shift(i64),
    /// Every timestamp by one offset that puts the object's newest at this
    /// unix-nanos instant.
    NewestAt(u64),
    /// Each trace and metric stream by its planned shift, the rest by one
    /// offset that puts its newest at the send time.
    Planned(PlannedShifts),
}

/// Shifts planned over a whole replay for the groups (traces, metric
/// streams) of one object; see `planned-shifts` in the WIT.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct PlannedShifts {
    /// `(group key, shift in nanoseconds)`, sorted by key.
    pub shifts: Vec<(u64, i64)>,
    /// Unix nanos where the newest ungrouped item lands.
    pub ungrouped_newest_at: u64,
}

/// What a replay planning pass learns of one object; see `object-timing`
/// in the WIT.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ObjectTiming {
    /// What the object holds after the filters, timestamps as recorded.
    pub summary: PayloadSummary,
    /// `(group key, newest timestamp of the group in the object)`, sorted by key.
    pub groups: Vec<(u64, u64)>,
    /// The newest timestamp of the ungrouped items, 0 for none.
    pub ungrouped_newest: u64,
}

/// What a replay keeps of an object and how it rewrites it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ReplayOptions {
    /// Timestamp rewriting for this object.
    pub rewrite: TimestampRewrite,
    /// Seed of the run's trace/span id remapping; `None` keeps ids.
    pub id_remap_seed: Option<u64>,
    /// Keep only resources whose `service.name` is one of these; empty keeps all.
    pub services: Vec<String>,
    /// Keep only items at or after this unix-nanos time; 0 for no bound.
    pub from_unix_nanos: u64,
    /// Keep only items at or before this time; 0 for no bound.
    pub to_unix_nanos: u64,
    /// Refuse an object that inflates to more than this many bytes.
    pub max_uncompressed_bytes: u64,
}

/// One stored object made ready to send.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ReplayBatch {
    /// The protobuf `Export*ServiceRequest`.
    pub payload: Vec<u8>,
    /// What it holds, with the rewritten time bounds.
    pub summary: PayloadSummary,
    /// The shift applied to its timestamps, in nanoseconds.
    pub applied_shift: i64,
}

/// An object the component put while its instance was staging puts: held
/// back for the caller to make durable before it goes to the store.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StagedPut {
    /// The object key, under `sessions/`.
    pub key: String,
    /// The object's bytes.
    pub body: bytes::Bytes,
    /// Its media type.
    pub content_type: String,
}

/// Why the storage import did not take an object.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum PutError {
    /// The store refuses new objects for now; nothing was written and the
    /// caller should push back.
    #[error("storage busy: {0}")]
    Busy(String),
    /// The key is not acceptable to the store; nothing was written.
    #[error("invalid object key: {0}")]
    InvalidKey(String),
    /// The backend failed; nothing can be assumed about the object.
    #[error("storage: {0}")]
    Backend(String),
}

/// An error the component returned from a call (its `processor-error`).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum GuestError {
    /// The session id breaks the layout's rules.
    #[error("invalid session id: {0}")]
    InvalidSessionId(String),
    /// The session configuration is unusable.
    #[error("invalid session config: {0}")]
    InvalidConfig(String),
    /// The payload is not a decodable OTLP request of the stated signal;
    /// retrying it cannot succeed.
    #[error("{0}")]
    InvalidPayload(String),
    /// A metadata.json document or object key that cannot be read.
    #[error("invalid metadata: {0}")]
    InvalidMetadata(String),
    /// The storage import refused or failed a put.
    #[error(transparent)]
    Storage(PutError),
}

/// Every way a processor call can fail, in one type.
#[derive(Debug, thiserror::Error)]
pub enum CallError {
    /// The pool's queue is full; the caller should push back.
    #[error("processor pool busy ({0} calls queued)")]
    Busy(usize),
    /// The pool's workers are gone (the tap is shutting down).
    #[error("the processor pool is shut down")]
    Closed,
    /// The call trapped or ran past its deadline; its instance was replaced.
    #[error("component trapped: {0:#}")]
    Trap(wasmtime::Error),
    /// The component answered with an error.
    #[error(transparent)]
    Guest(#[from] GuestError),
}
