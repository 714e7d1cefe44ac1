//! One active session: its state and running totals, the gate that lets
//! its stop wait for captures under way, its limits, and its batches of
//! prepared requests waiting to become objects.

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use tokio::sync::RwLock as Gate;

use crate::error::{RETRY_AFTER, TapError};
use crate::runtime::bindings::{CaptureReceipt, PreparedCapture, SessionConfig, SessionState, Signal};

/// One active session.
pub struct ActiveSession {
    state: Mutex<SessionState>,
    /// Captures hold it shared; stop takes it exclusively so that every
    /// capture under way is counted before the final metadata is written.
    /// The flag says the session has stopped.
    pub(super) gate: Gate<bool>,
    pub(super) dirty: AtomicBool,
    /// A limit was reached: the session takes nothing more while it stops.
    pub(super) ending: AtomicBool,
    /// Prepared requests waiting to become one object, per signal.
    batches: Mutex<[Batch; 3]>,
}

/// Prepared requests of one session and signal, not stored yet.
#[derive(Default)]
struct Batch {
    parts: Vec<PreparedCapture>,
    bytes: usize,
    since: Option<Instant>,
}

/// When a batch becomes an object.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct BatchLimits {
    /// Store once the batch holds this many protobuf bytes; 0 stores every request alone.
    pub max_bytes: usize,
    /// Store once the oldest request in the batch has waited this long.
    pub max_age: Duration,
}

impl Default for BatchLimits {
    fn default() -> Self {
        BatchLimits { max_bytes: 1 << 20, max_age: Duration::from_secs(1) }
    }
}

fn slot(signal: Signal) -> usize {
    match signal {
        Signal::Traces => 0,
        Signal::Metrics => 1,
        Signal::Logs => 2,
    }
}

const SIGNALS: [Signal; 3] = [Signal::Traces, Signal::Metrics, Signal::Logs];

impl ActiveSession {
    pub(super) fn new(state: SessionState) -> Arc<Self> {
        Arc::new(ActiveSession {
            state: Mutex::new(state),
            gate: Gate::new(false),
            dirty: AtomicBool::new(false),
            ending: AtomicBool::new(false),
            batches: Mutex::default(),
        })
    }

    /// The session's id.
    pub fn id(&self) -> String {
        self.state.lock().unwrap_or_else(|p| p.into_inner()).config.session_id.clone()
    }

    /// The session's configuration.
    pub fn config(&self) -> SessionConfig {
        self.snapshot().config
    }

    /// A copy of the current state.
    pub fn snapshot(&self) -> SessionState {
        self.state.lock().unwrap_or_else(|p| p.into_inner()).clone()
    }

    /// Whether this session records `signal`.
    pub fn records(&self, signal: Signal) -> bool {
        let config = &self.state.lock().unwrap_or_else(|p| p.into_inner()).config;
        match signal {
            Signal::Traces => config.capture_traces,
            Signal::Metrics => config.capture_metrics,
            Signal::Logs => config.capture_logs,
        }
    }

    /// Adds a prepared request to its batch; returns the batch to store when
    /// it reached `limits`, or refuses when earlier batches could not be
    /// stored and too much waits already.
    pub fn add_to_batch(
        &self,
        part: PreparedCapture,
        limits: BatchLimits,
    ) -> Result<Option<Vec<PreparedCapture>>, TapError> {
        let signal = part.summary.signal;
        let mut batches = self.batches.lock().unwrap_or_else(|p| p.into_inner());
        let batch = &mut batches[slot(signal)];
        if limits.max_bytes > 0 && batch.bytes >= limits.max_bytes.saturating_mul(4) {
            return Err(TapError::Busy {
                reason: "the session's batches cannot be stored now".into(),
                retry_after: RETRY_AFTER,
            });
        }
        batch.bytes += part.protobuf.len();
        batch.since.get_or_insert_with(Instant::now);
        batch.parts.push(part);
        Ok((batch.bytes >= limits.max_bytes).then(|| take(batch)))
    }

    /// Takes the batches of every signal that waited `max_age` (all when `None`).
    pub(super) fn take_batches(&self, max_age: Option<Duration>) -> Vec<(Signal, Vec<PreparedCapture>)> {
        let mut batches = self.batches.lock().unwrap_or_else(|p| p.into_inner());
        SIGNALS
            .into_iter()
            .filter_map(|signal| {
                let batch = &mut batches[slot(signal)];
                let due = match (max_age, batch.since) {
                    (_, None) => false,
                    (None, Some(_)) => true,
                    (Some(age), Some(since)) => since.elapsed() >= age,
                };
                due.then(|| (signal, take(batch)))
            })
            .collect()
    }

    /// Puts back a batch that could not be stored, ahead of newer requests.
    pub(super) fn restore_batch(&self, signal: Signal, mut parts: Vec<PreparedCapture>) {
        let mut batches = self.batches.lock().unwrap_or_else(|p| p.into_inner());
        let batch = &mut batches[slot(signal)];
        batch.bytes += parts.iter().map(|p| p.protobuf.len()).sum::<usize>();
        parts.append(&mut batch.parts);
        batch.parts = parts;
        batch.since = Some(batch.since.map_or_else(Instant::now, |s| s.min(Instant::now())));
    }

    /// Runs `capture` unless the session has stopped; `None` when it has.
    pub async fn while_active<F: Future>(&self, capture: F) -> Option<F::Output> {
        let stopped = self.gate.read().await;
        if *stopped {
            return None;
        }
        Some(capture.await)
    }

    /// Adds a receipt to the totals. Returns the reason to end the session
    /// when this receipt took it to its size limit.
    pub fn apply(&self, receipt: &CaptureReceipt) -> Option<String> {
        let mut state = self.state.lock().unwrap_or_else(|p| p.into_inner());
        let c = &mut state.counts;
        match receipt.summary.signal {
            Signal::Traces => (c.trace_batches += 1, c.spans += receipt.summary.items),
            Signal::Metrics => (c.metric_batches += 1, c.data_points += receipt.summary.items),
            Signal::Logs => (c.log_batches += 1, c.log_records += receipt.summary.items),
        };
        c.compressed_bytes += receipt.compressed_bytes;
        c.uncompressed_bytes += receipt.uncompressed_bytes;
        if receipt.summary.min_unix_nanos != 0 {
            c.first_telemetry_unix_nanos = match c.first_telemetry_unix_nanos {
                0 => receipt.summary.min_unix_nanos,
                first => first.min(receipt.summary.min_unix_nanos),
            };
        }
        c.last_telemetry_unix_nanos = c.last_telemetry_unix_nanos.max(receipt.summary.max_unix_nanos);
        self.dirty.store(true, Ordering::Release);
        let limit = state.config.max_size_bytes.filter(|max| state.counts.compressed_bytes >= *max)?;
        (!self.ending.swap(true, Ordering::AcqRel))
            .then(|| format!("maxSizeMB reached: {} of {limit} bytes stored", state.counts.compressed_bytes))
    }

    /// The reason to end the session when it has run past its duration limit at `now`.
    pub(super) fn expired(&self, now_unix_nanos: u64) -> Option<String> {
        let state = self.state.lock().unwrap_or_else(|p| p.into_inner());
        let max = state.config.max_duration_millis?;
        let ran = now_unix_nanos.saturating_sub(state.start_unix_nanos) / 1_000_000;
        (ran >= max && !self.ending.swap(true, Ordering::AcqRel))
            .then(|| format!("maxDurationMinutes reached after {ran} ms"))
    }
}

fn take(batch: &mut Batch) -> Vec<PreparedCapture> {
    batch.bytes = 0;
    batch.since = None;
    std::mem::take(&mut batch.parts)
}
