//! A session as the host sees it: the configuration it was started with,
//! its lifecycle status, its running totals and what one stored object adds
//! to them. metadata.json is this state rendered by the component; these
//! are the host's own types, mapped from the WIT records in `runtime`.

use serde::{Deserialize, Serialize};

use crate::otlp::{PayloadSummary, Signal};

/// What a session records, fixed when it starts.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct SessionConfig {
    /// 1-128 characters of `[A-Za-z0-9._-]`, starting with a letter or digit
    /// (checked by the component).
    pub session_id: String,
    /// The incident or load test this recording belongs to.
    pub diagnostic_session_id: Option<String>,
    /// Free text for people.
    pub description: Option<String>,
    /// Feature flags tagged on every captured resource when not empty.
    pub enabled_flags: Vec<String>,
    /// Whether trace payloads are recorded.
    pub capture_traces: bool,
    /// Whether metric payloads are recorded.
    pub capture_metrics: bool,
    /// Whether log payloads are recorded.
    pub capture_logs: bool,
    /// Fraction of traces kept, in (0, 1], decided by trace id.
    pub sample_ratio: f64,
    /// A user or tool name.
    pub created_by: String,
    /// End the session once its objects take this many compressed bytes.
    pub max_size_bytes: Option<u64>,
    /// End the session this many milliseconds after it started.
    pub max_duration_millis: Option<u64>,
    /// gzip level 0-9 of the session's objects; `None` for the component's default (1).
    pub gzip_level: Option<u8>,
    /// Redaction rules (a JSON object, applied by the component before
    /// anything is written); `None` records requests as sent.
    #[serde(default)]
    pub redaction: Option<String>,
}

impl SessionConfig {
    /// A session `id` with every default: all signals, every trace kept,
    /// created by `otlp-capture`, no flags, no limits, the component's gzip level.
    pub fn new(id: impl Into<String>) -> Self {
        SessionConfig {
            session_id: id.into(),
            diagnostic_session_id: None,
            description: None,
            enabled_flags: Vec::new(),
            capture_traces: true,
            capture_metrics: true,
            capture_logs: true,
            sample_ratio: 1.0,
            created_by: "otlp-capture".to_owned(),
            max_size_bytes: None,
            max_duration_millis: None,
            gzip_level: None,
            redaction: None,
        }
    }

    /// Whether the session records payloads of `signal`.
    pub fn records(&self, signal: Signal) -> bool {
        match signal {
            Signal::Traces => self.capture_traces,
            Signal::Metrics => self.capture_metrics,
            Signal::Logs => self.capture_logs,
        }
    }
}

/// Where a session is in its life, as metadata.json's `status` says.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum SessionStatus {
    /// Recording; metadata.json is refreshed while in this state.
    Active,
    /// Stopped, or ended by a limit.
    Completed,
    /// Ended by an error, with the reason in `end_reason`.
    Failed,
}

/// A session's running totals, summed from the receipts of its objects.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct SessionCounts {
    /// Trace objects (`capturedTraces`).
    pub trace_batches: u64,
    /// Metric objects (`capturedMetrics`).
    pub metric_batches: u64,
    /// Log objects (`capturedLogs`).
    pub log_batches: u64,
    /// Spans stored.
    pub spans: u64,
    /// Metric data points stored, every point type.
    pub data_points: u64,
    /// Log records stored.
    pub log_records: u64,
    /// Bytes of the gzip objects (`totalSizeBytes`).
    pub compressed_bytes: u64,
    /// Bytes of the protobuf requests before gzip.
    pub uncompressed_bytes: u64,
    /// Earliest non-zero telemetry timestamp stored, unix nanos; 0 before any.
    pub first_telemetry_unix_nanos: u64,
    /// Latest telemetry timestamp stored, unix nanos; 0 before any.
    pub last_telemetry_unix_nanos: u64,
    /// Requests answered (forwarded) but not recorded (`droppedRequests`).
    #[serde(default)]
    pub dropped_requests: u64,
    /// Items in those requests, as far as they could be counted (`droppedItems`).
    #[serde(default)]
    pub dropped_items: u64,
    /// Values redaction masked or sanitized (`redaction.maskedValues`).
    #[serde(default)]
    pub masked_values: u64,
    /// Attributes redaction removed (`redaction.removedKeys`).
    #[serde(default)]
    pub removed_keys: u64,
}

impl SessionCounts {
    /// Objects of every signal.
    pub fn objects(&self) -> u64 {
        self.trace_batches + self.metric_batches + self.log_batches
    }

    /// Adds another tap's counts of the same session.
    pub fn merge(&mut self, other: &SessionCounts) {
        self.trace_batches += other.trace_batches;
        self.metric_batches += other.metric_batches;
        self.log_batches += other.log_batches;
        self.spans += other.spans;
        self.data_points += other.data_points;
        self.log_records += other.log_records;
        self.compressed_bytes += other.compressed_bytes;
        self.uncompressed_bytes += other.uncompressed_bytes;
        self.dropped_requests += other.dropped_requests;
        self.dropped_items += other.dropped_items;
        self.masked_values += other.masked_values;
        self.removed_keys += other.removed_keys;
        self.first_telemetry_unix_nanos = match (self.first_telemetry_unix_nanos, other.first_telemetry_unix_nanos) {
            (0, theirs) => theirs,
            (ours, 0) => ours,
            (ours, theirs) => ours.min(theirs),
        };
        self.last_telemetry_unix_nanos = self.last_telemetry_unix_nanos.max(other.last_telemetry_unix_nanos);
    }

    /// Adds what one stored object holds.
    pub fn add(&mut self, receipt: &CaptureReceipt) {
        let summary = &receipt.summary;
        match summary.signal {
            Signal::Traces => (self.trace_batches += 1, self.spans += summary.items),
            Signal::Metrics => (self.metric_batches += 1, self.data_points += summary.items),
            Signal::Logs => (self.log_batches += 1, self.log_records += summary.items),
        };
        self.compressed_bytes += receipt.compressed_bytes;
        self.uncompressed_bytes += receipt.uncompressed_bytes;
        self.masked_values += receipt.redaction.masked_values;
        self.removed_keys += receipt.redaction.removed_keys;
        if summary.min_unix_nanos != 0 {
            self.first_telemetry_unix_nanos = match self.first_telemetry_unix_nanos {
                0 => summary.min_unix_nanos,
                first => first.min(summary.min_unix_nanos),
            };
        }
        self.last_telemetry_unix_nanos = self.last_telemetry_unix_nanos.max(summary.max_unix_nanos);
    }
}

/// Everything metadata.json says about a session.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct SessionState {
    /// The configuration it was started with.
    pub config: SessionConfig,
    /// Where it is in its life.
    pub status: SessionStatus,
    /// Unix nanos when it started.
    pub start_unix_nanos: u64,
    /// Unix nanos when it ended; `None` while active.
    pub end_unix_nanos: Option<u64>,
    /// Unix nanos of the last metadata write.
    pub updated_unix_nanos: u64,
    /// Why it ended when that was not a plain stop (a limit, an error).
    pub end_reason: Option<String>,
    /// Totals so far.
    pub counts: SessionCounts,
    /// Named phases, by start time (`phases` in metadata.json).
    #[serde(default)]
    pub phases: Vec<Phase>,
}

/// A named part of a session (baseline, anomaly, recovery, ...): it starts
/// at `start_unix_nanos` and ends where the next phase begins, the last at
/// the session's end.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Phase {
    /// Any name.
    pub name: String,
    /// Unix nanos (metadata.json keeps milliseconds).
    pub start_unix_nanos: u64,
    /// An optional JSON value, as JSON text.
    pub value: Option<String>,
}

impl SessionState {
    /// The session's id.
    pub fn id(&self) -> &str {
        &self.config.session_id
    }
}

/// What storing one object wrote.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct CaptureReceipt {
    /// The object key, `sessions/{id}/raw/YYYY-MM-DD/HH/{signal}-{epochMillis}-{uuid}.otlp.gz`.
    pub key: String,
    /// Unix nanos of the capture time in the key.
    pub capture_unix_nanos: u64,
    /// Bytes of the payloads as received, after transport decompression.
    pub bytes_in: u64,
    /// Bytes of the protobuf stored, before gzip.
    pub uncompressed_bytes: u64,
    /// Bytes of the gzip object.
    pub compressed_bytes: u64,
    /// Counts and time bounds of what was stored, after sampling.
    pub summary: PayloadSummary,
    /// What the session's redaction rules changed in it.
    #[serde(default)]
    pub redaction: RedactionCounts,
}

/// What redaction changed in a request or an object.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct RedactionCounts {
    /// Attribute values, log bodies and span names masked or sanitized.
    pub masked_values: u64,
    /// Attributes removed because their key was not allowed.
    pub removed_keys: u64,
}
