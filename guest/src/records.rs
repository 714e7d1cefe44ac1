//! Records of the processor: the plain-Rust mirror of the WIT records,
//! so the logic can be unit-tested natively without any bindings.

use thiserror::Error;

/// An OTLP signal.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Signal {
    /// Traces (spans).
    Traces,
    /// Metrics (data points).
    Metrics,
    /// Logs (log records).
    Logs,
}

impl Signal {
    /// All signals, in the order they are listed everywhere.
    pub const ALL: [Signal; 3] = [Signal::Traces, Signal::Metrics, Signal::Logs];

    /// The name used in object keys and on the command line.
    pub fn as_str(self) -> &'static str {
        match self {
            Signal::Traces => "traces",
            Signal::Metrics => "metrics",
            Signal::Logs => "logs",
        }
    }

    /// Parses a name as written by [`Signal::as_str`].
    pub fn from_name(name: &str) -> Option<Signal> {
        Signal::ALL.into_iter().find(|s| s.as_str() == name)
    }
}

/// How a payload is encoded on the wire.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PayloadEncoding {
    /// Binary protobuf.
    Protobuf,
    /// OTLP/JSON.
    Json,
}

/// The lifecycle state of a session.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SessionStatus {
    /// Recording.
    Active,
    /// Stopped normally or by a limit.
    Completed,
    /// Ended by an error.
    Failed,
}

impl SessionStatus {
    /// The name written to metadata.json.
    pub fn as_str(self) -> &'static str {
        match self {
            SessionStatus::Active => "active",
            SessionStatus::Completed => "completed",
            SessionStatus::Failed => "failed",
        }
    }

    /// Parses a metadata.json status.
    pub fn from_name(name: &str) -> Option<SessionStatus> {
        match name {
            "active" => Some(SessionStatus::Active),
            "completed" => Some(SessionStatus::Completed),
            "failed" => Some(SessionStatus::Failed),
            _ => None,
        }
    }
}

/// What a session records; fixed at start.
#[derive(Debug, Clone, PartialEq)]
pub struct SessionConfig {
    /// The validated session id.
    pub session_id: String,
    /// The diagnostic session this recording belongs to.
    pub diagnostic_session_id: Option<String>,
    /// Free text.
    pub description: Option<String>,
    /// Feature flags enabled during the session.
    pub enabled_flags: Vec<String>,
    /// Record traces.
    pub capture_traces: bool,
    /// Record metrics.
    pub capture_metrics: bool,
    /// Record logs.
    pub capture_logs: bool,
    /// Fraction of traces kept, in (0, 1].
    pub sample_ratio: f64,
    /// Who started the session.
    pub created_by: String,
    /// End the session once its objects reach this many compressed bytes.
    pub max_size_bytes: Option<u64>,
    /// End the session this many milliseconds after it started.
    pub max_duration_millis: Option<u64>,
    /// gzip level of the session's objects, 0 to 9; `None` for
    /// [`gzip::DEFAULT_LEVEL`](crate::gzip::DEFAULT_LEVEL).
    pub gzip_level: Option<u8>,
    /// Redaction rules (a JSON object, see [`crate::redaction::rules`]);
    /// `None` records requests as sent.
    pub redaction: Option<String>,
}

impl SessionConfig {
    /// The gzip level the session's objects are compressed with.
    pub fn gzip_level(&self) -> u32 {
        self.gzip_level.map_or(crate::gzip::DEFAULT_LEVEL, u32::from)
    }
}

impl SessionConfig {
    /// Whether this session records `signal`.
    pub fn records(&self, signal: Signal) -> bool {
        match signal {
            Signal::Traces => self.capture_traces,
            Signal::Metrics => self.capture_metrics,
            Signal::Logs => self.capture_logs,
        }
    }
}

/// Running totals of a session.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct SessionCounts {
    /// Trace objects written.
    pub trace_batches: u64,
    /// Metric objects written.
    pub metric_batches: u64,
    /// Log objects written.
    pub log_batches: u64,
    /// Spans written.
    pub spans: u64,
    /// Data points written.
    pub data_points: u64,
    /// Log records written.
    pub log_records: u64,
    /// Gzip bytes written.
    pub compressed_bytes: u64,
    /// Protobuf bytes before compression.
    pub uncompressed_bytes: u64,
    /// Earliest telemetry timestamp, 0 when none.
    pub first_telemetry_unix_nanos: u64,
    /// Latest telemetry timestamp, 0 when none.
    pub last_telemetry_unix_nanos: u64,
    /// Requests answered but not recorded.
    pub dropped_requests: u64,
    /// Items in those requests.
    pub dropped_items: u64,
    /// Values redaction masked or sanitized.
    pub masked_values: u64,
    /// Attributes redaction removed.
    pub removed_keys: u64,
}

impl SessionCounts {
    /// Objects written, all signals together.
    pub fn objects(&self) -> u64 {
        self.trace_batches + self.metric_batches + self.log_batches
    }
}

/// Everything metadata.json says about a session.
#[derive(Debug, Clone, PartialEq)]
pub struct SessionState {
    /// The configuration.
    pub config: SessionConfig,
    /// Lifecycle state.
    pub status: SessionStatus,
    /// Start, unix nanos.
    pub start_unix_nanos: u64,
    /// End, unix nanos; none while active.
    pub end_unix_nanos: Option<u64>,
    /// Last metadata write, unix nanos.
    pub updated_unix_nanos: u64,
    /// Why the session ended, when not a plain stop.
    pub end_reason: Option<String>,
    /// Totals.
    pub counts: SessionCounts,
    /// Named phases, by start time.
    pub phases: Vec<Phase>,
}

/// A named part of a session.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Phase {
    /// Any name: baseline, anomaly, recovery, ...
    pub name: String,
    /// Start, unix nanos.
    pub start_unix_nanos: u64,
    /// An optional JSON value, as JSON text.
    pub value: Option<String>,
}

/// What redaction changed.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct RedactionCounts {
    /// Attribute values, body values and span names masked or sanitized.
    pub masked_values: u64,
    /// Attributes removed because their key was not allowed.
    pub removed_keys: u64,
}

impl RedactionCounts {
    /// Both counts added.
    pub fn plus(self, other: RedactionCounts) -> RedactionCounts {
        RedactionCounts {
            masked_values: self.masked_values.saturating_add(other.masked_values),
            removed_keys: self.removed_keys.saturating_add(other.removed_keys),
        }
    }
}

/// Counts and time bounds of one OTLP request.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct PayloadSummary {
    /// The signal.
    pub signal: Signal,
    /// Spans, data points or log records.
    pub items: u64,
    /// Resources.
    pub resources: u64,
    /// Earliest non-zero timestamp, 0 when none.
    pub min_unix_nanos: u64,
    /// Latest timestamp, 0 when none.
    pub max_unix_nanos: u64,
}

impl PayloadSummary {
    /// The summary of two requests sent as one.
    pub fn merge(self, other: PayloadSummary) -> PayloadSummary {
        let min = match (self.min_unix_nanos, other.min_unix_nanos) {
            (0, m) | (m, 0) => m,
            (a, b) => a.min(b),
        };
        PayloadSummary {
            signal: self.signal,
            items: self.items + other.items,
            resources: self.resources + other.resources,
            min_unix_nanos: min,
            max_unix_nanos: self.max_unix_nanos.max(other.max_unix_nanos),
        }
    }
}

/// One request ready for a session but not stored yet.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PreparedCapture {
    /// The tagged protobuf request.
    pub protobuf: Vec<u8>,
    /// What it holds.
    pub summary: PayloadSummary,
    /// Payload bytes as received.
    pub bytes_in: u64,
    /// What redaction changed in it.
    pub redaction: RedactionCounts,
}

/// What one capture wrote.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CaptureReceipt {
    /// The object key.
    pub key: String,
    /// Capture time used in the key, unix nanos.
    pub capture_unix_nanos: u64,
    /// Payload bytes as received.
    pub bytes_in: u64,
    /// Protobuf bytes stored before gzip.
    pub uncompressed_bytes: u64,
    /// Gzip object bytes.
    pub compressed_bytes: u64,
    /// What was stored.
    pub summary: PayloadSummary,
    /// What redaction changed in it.
    pub redaction: RedactionCounts,
}

/// What a raw object key says about its object.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ObjectKeyInfo {
    /// Owning session.
    pub session_id: String,
    /// Signal held.
    pub signal: Signal,
    /// Capture time, unix millis.
    pub capture_unix_millis: u64,
}

/// Why the storage capability did not take an object.
#[derive(Debug, Clone, PartialEq, Eq, Error)]
pub enum StorageError {
    /// The store pushes back; retry later.
    #[error("store busy: {0}")]
    Busy(String),
    /// The key is not acceptable to the store.
    #[error("invalid key: {0}")]
    InvalidKey(String),
    /// Any other backend failure.
    #[error("storage backend: {0}")]
    Backend(String),
}

/// Every way a processor call can fail.
#[derive(Debug, Clone, PartialEq, Eq, Error)]
pub enum ProcessorError {
    /// The session id breaks the layout's rules.
    #[error("invalid session id: {0}")]
    InvalidSessionId(String),
    /// The session configuration is unusable.
    #[error("invalid session config: {0}")]
    InvalidConfig(String),
    /// The payload is not a decodable OTLP request.
    #[error("invalid OTLP payload: {0}")]
    InvalidPayload(String),
    /// A metadata document or key cannot be read.
    #[error("invalid metadata: {0}")]
    InvalidMetadata(String),
    /// The storage capability failed.
    #[error(transparent)]
    Storage(#[from] StorageError),
}
